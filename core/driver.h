#pragma once
// Driver: infrastructure lifecycle only (no Docker knowledge). A driver keeps
// its own settings as the JSON object stored under "Driver" in config.json.
#include "core/machine_state.h"
#include "core/remote_shell.h"
#include "core/result.h"

#include <filesystem>
#include <map>
#include <memory>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

namespace dm {

class ProcessRunner;
class HttpClient;

enum class FlagType { string, integer, boolean, string_list };

// How a driver learns a machine's state: from this computer (cheap), or by
// reaching the host over the network (then an SSH connection is the check).
enum class StateCheck { local, network };

// One `--<driver>-<name>` flag of a driver, described as data.
struct DriverFlag {
  std::string name;          // full flag name without dashes, e.g. "generic-ip-address"
  std::string help;
  std::string default_value; // as text; "" for none
  std::string env_var;       // e.g. "GENERIC_IP_ADDRESS"
  FlagType type = FlagType::string;
};

// Flag values given to create, by full flag name; lists hold every occurrence.
struct DriverOptions {
  std::map<std::string, std::vector<std::string>> values;

  [[nodiscard]] std::string get(const std::string& name, const std::string& fallback = "") const;
  [[nodiscard]] std::vector<std::string> get_list(const std::string& name) const;
  [[nodiscard]] bool has(const std::string& name) const;
};

// What a driver may use; passed in by cmd/, never found through globals.
struct DriverContext {
  std::string machine_name;
  std::filesystem::path store_path;   // the store root
  std::filesystem::path machine_dir;  // <store>/machines/<name>
  ProcessRunner* process_runner = nullptr;
  HttpClient* http_client = nullptr;
  ShellFactory open_shell;            // for drivers that probe hosts over SSH
};

class Driver {
public:
  virtual ~Driver() = default;

  // The "Driver" object of config.json (MachineName, IPAddress, SSHUser, ...).
  [[nodiscard]] virtual nlohmann::json config() const = 0;

  // create only: take flag values, then check that create can work (exit 3 on failure).
  virtual Result<void> set_options(const DriverOptions& options) = 0;
  virtual Result<void> pre_create_check() = 0;

  // Makes the infrastructure. On failure it leaves nothing behind that remove() cannot clear.
  virtual Result<void> create() = 0;
  virtual Result<void> start() = 0;
  virtual Result<void> stop() = 0;
  virtual Result<void> restart() = 0;
  virtual Result<void> kill() = 0;
  // Frees everything the driver made (the store entry is removed by the caller).
  virtual Result<void> remove() = 0;
  virtual Result<MachineState> state() = 0;

  virtual Result<std::string> ip() = 0;
  virtual Result<SshTarget> ssh_target() = 0;
  [[nodiscard]] virtual int engine_port() const { return 2376; }
  [[nodiscard]] virtual StateCheck state_check() const { return StateCheck::local; }
  // How long create waits for SSH to answer after the driver made the machine.
  [[nodiscard]] virtual int ssh_wait_seconds() const { return 120; }

  // Drivers that learn state from a remote API answer for many machines in one call:
  // ls asks together the machines whose batch key is equal and not empty (e.g. one
  // per endpoint, region and credentials) through learn_states on one of them, which
  // hands every member its answer (remember_state); members' state() and ip() then
  // answer from it without asking again.
  [[nodiscard]] virtual std::string state_batch_key() const { return ""; }
  virtual void learn_states(const std::vector<Driver*>& members) { (void)members; }
  virtual void remember_state(const Result<MachineState>& state, const std::string& ip) {
    (void)state;
    (void)ip;
  }
};

// One row of the driver table in drivers/registry.cpp.
struct DriverEntry {
  std::string name;
  std::string summary;
  std::vector<DriverFlag> flags;
  // Builds a driver from its stored "Driver" JSON (empty object at create).
  std::unique_ptr<Driver> (*make)(const DriverContext& context, const nlohmann::json& config);
  // Said by `rm` after a successful removal, when the driver leaves something behind on purpose.
  std::string remove_note;
};

} // namespace dm
