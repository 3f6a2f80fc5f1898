#pragma once
// The flags of `create` (driver, engine, every driver's own flags), shared by
// `create`, `cluster create` and `cluster add`.
#include "cmd/cli.h"
#include "core/create_machine.h"
#include "drivers/registry.h"

#include <map>
#include <string>
#include <vector>

namespace dm {

struct CreateFlags {
  std::string driver_name;
  std::string install_url;
  std::vector<std::string> engine_opts, insecure_registries, registry_mirrors, labels, engine_env,
      tls_sans;
  std::string storage_driver;
  bool keep_on_failure = false;
  std::map<std::string, std::vector<std::string>> driver_values;
  std::map<std::string, bool> driver_bools;
};

// $MACHINE_DRIVER, else "local".
std::string default_driver_name();

// Adds -d/--driver, the engine flags, --tls-san, --keep-on-failure and every
// driver's flags (hidden from the option list; the footer lists them).
void add_create_flags(CLI::App& app, CreateFlags& flags);
// The list of drivers and the options of the one the arguments ask for.
std::string drivers_footer(const std::vector<std::string>& args);

// A flag of another driver on the command line is an error, as in docker-machine
// (which defines only the chosen driver's flags); their env variables are ignored.
Result<void> reject_other_driver_flags(const DriverEntry& driver,
                                       const std::vector<std::string>& args);
// The chosen driver's flags that were given on the command line (or by env).
DriverOptions given_driver_options(const DriverEntry& driver, const CreateFlags& flags);
// The engine flags that were given (empty lists when none).
EngineOptions given_engine_options(const CreateFlags& flags);
// Lists from more are appended; scalars from more win when set.
EngineOptions merged_engine_options(const EngineOptions& base, const EngineOptions& more);

} // namespace dm
