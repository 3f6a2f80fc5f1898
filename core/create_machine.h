#pragma once
// The create workflow: store entry, key, driver create, SSH with host-key
// pinning, engine provisioning. Transactional: on any failure (or Ctrl-C) what
// was made is removed again unless the caller asked to keep it.
#include "core/driver.h"
#include "core/http_client.h"
#include "core/machine_store.h"
#include "core/progress.h"

#include <functional>

namespace dm {

enum class ProvisionEngine { yes, no };
enum class KeepOnFailure { no, yes };

struct CreateRequest {
  std::string name;
  std::string driver_name;
  DriverOptions driver_options;
  EngineOptions engine;
  std::vector<std::string> tls_sans;
  ProvisionEngine provision = ProvisionEngine::yes;
  KeepOnFailure keep_on_failure = KeepOnFailure::no;
  // dmachine-only top-level keys of the new record, there from its first write (a cluster's
  // ownership tag).
  nlohmann::json record_extra = nlohmann::json::object();
};

// Writes a new key pair at the path (private) and path + ".pub".
using KeyGenerator = std::function<Result<void>(const std::filesystem::path&, const std::string&)>;

// Installs and configures the engine on a reachable machine (core/engine_setup.h).
using EngineSetup = std::function<Result<void>(RemoteShell&, MachineRecord&, Progress&)>;

struct CreateDeps {
  const MachineStore& store;
  Driver& driver;              // made from the driver table with an empty config
  ShellFactory open_shell;     // waits until SSH answers (bounded)
  KeyGenerator generate_key;
  EngineSetup setup_engine;    // used when request.provision is yes
  Progress& progress;
};

// What can be refused before anything is made or printed: the name (as a host
// name), an existing machine of that name, engine options and SANs.
Result<void> check_create_request(const MachineStore& store, const CreateRequest& request);

Result<MachineRecord> create_machine(CreateDeps& deps, const CreateRequest& request);

} // namespace dm
