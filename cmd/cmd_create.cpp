// dmachine create: parses the flags (the common ones and every driver's), then
// hands over to the create workflow in core/.
#include "cmd/commands.h"
#include "cmd/engine_wiring.h"
#include "core/create_machine.h"
#include "drivers/registry.h"

#include <cstdlib>
#include <fmt/format.h>
#include <map>
#include <ostream>

namespace dm {

namespace {

std::string default_driver_name() {
  const char* from_env = std::getenv("MACHINE_DRIVER");
  if (from_env != nullptr && *from_env != '\0') {
    return from_env;
  }
  return "local";
}

std::string driver_help(const DriverEntry& entry) {
  std::string text = fmt::format("\nOptions of the \"{}\" driver ({}):\n", entry.name, entry.summary);
  for (const auto& flag : entry.flags) {
    std::string left = "  --" + flag.name;
    if (flag.type != FlagType::boolean) {
      left += " value";
    }
    text += fmt::format("{:<36} {}", left, flag.help);
    if (!flag.default_value.empty()) {
      text += fmt::format(" (default \"{}\")", flag.default_value);
    }
    if (!flag.env_var.empty()) {
      text += fmt::format(" [${}]", flag.env_var);
    }
    text += "\n";
  }
  return text;
}

// Which driver the arguments ask for (before full parsing, to show its flags in --help).
std::string requested_driver(const std::vector<std::string>& args) {
  for (size_t i = 0; i < args.size(); ++i) {
    const std::string& arg = args[i];
    if ((arg == "-d" || arg == "--driver") && i + 1 < args.size()) {
      return args[i + 1];
    }
    if (arg.rfind("--driver=", 0) == 0) {
      return arg.substr(9);
    }
    if (arg.rfind("-d=", 0) == 0) {
      return arg.substr(3);
    }
  }
  return default_driver_name();
}

} // namespace

Result<int> cmd_create(CommandContext& context, std::vector<std::string> args) {
  CLI::App app{"Create a machine.\n\nUsage: dmachine create [OPTIONS] [arg...]", "dmachine create"};
  std::string driver_name = default_driver_name();
  std::string name;
  std::string install_url;
  std::vector<std::string> engine_opts, insecure_registries, registry_mirrors, labels, engine_env,
      tls_sans;
  std::string storage_driver;
  bool no_provision = false;
  bool keep_on_failure = false;
  app.add_option("-d,--driver", driver_name, "Driver to create machine with.")
      ->envname("MACHINE_DRIVER");
  app.add_option("--engine-install-url", install_url,
                 "Script that installs the engine (default: the distribution's packages)")
      ->envname("MACHINE_DOCKER_INSTALL_URL");
  app.add_option("--engine-opt", engine_opts, "Specify arbitrary flags to include with the "
                                              "created engine in the form flag=value");
  app.add_option("--engine-insecure-registry", insecure_registries,
                 "Specify insecure registries to allow with the created engine");
  app.add_option("--engine-registry-mirror", registry_mirrors,
                 "Specify registry mirrors to use")
      ->envname("ENGINE_REGISTRY_MIRROR");
  app.add_option("--engine-label", labels, "Specify labels for the created engine");
  app.add_option("--engine-storage-driver", storage_driver,
                 "Specify a storage driver to use with the engine");
  app.add_option("--engine-env", engine_env, "Specify environment variables to set in the engine");
  app.add_option("--tls-san", tls_sans, "Support extra SANs for TLS certs");
  app.add_flag("--no-provision", no_provision,
               "Only make the machine and pin its SSH host key; install no engine");
  app.add_flag("--keep-on-failure", keep_on_failure,
               "Keep what was made when create fails, for inspection");
  app.add_option("name", name, "Machine name");

  // Every driver's flags are known to the parser; only the chosen driver's are used.
  std::map<std::string, std::vector<std::string>> driver_values;
  std::map<std::string, bool> driver_bools;
  for (const auto& entry : driver_table()) {
    for (const auto& flag : entry.flags) {
      CLI::Option* option = nullptr;
      if (flag.type == FlagType::boolean) {
        option = app.add_flag("--" + flag.name, driver_bools[flag.name], flag.help);
      } else {
        option = app.add_option("--" + flag.name, driver_values[flag.name], flag.help);
      }
      if (!flag.env_var.empty()) {
        option->envname(flag.env_var);
      }
      option->group("");
    }
  }

  const DriverEntry* help_driver = find_driver(requested_driver(args));
  std::string footer = "\nDrivers:";
  for (const auto& entry : driver_table()) {
    footer += fmt::format("\n  {:<12} {}", entry.name, entry.summary);
  }
  footer += "\n";
  if (help_driver != nullptr) {
    footer += driver_help(*help_driver);
  }
  app.footer(footer);
  if (auto early = parse_command_line(app, std::move(args), context.out)) {
    return *early;
  }
  const DriverEntry* driver_entry = find_driver(driver_name);
  if (driver_entry == nullptr) {
    return fail(ErrorKind::usage,
                fmt::format("Driver \"{}\" not found. Run 'dmachine create --help' for the "
                            "list of drivers.",
                            driver_name));
  }
  if (name.empty()) {
    return fail(ErrorKind::usage, "Error: No machine name specified");
  }

  CreateRequest request;
  request.name = name;
  request.driver_name = driver_entry->name;
  for (const auto& flag : driver_entry->flags) {
    if (flag.type == FlagType::boolean) {
      if (driver_bools[flag.name]) {
        request.driver_options.values[flag.name] = {"true"};
      }
    } else if (!driver_values[flag.name].empty()) {
      request.driver_options.values[flag.name] = driver_values[flag.name];
    } else if (!flag.default_value.empty()) {
      request.driver_options.values[flag.name] = {flag.default_value};
    }
  }
  request.engine.install_url = install_url;
  request.engine.arbitrary_flags = engine_opts;
  request.engine.insecure_registry = insecure_registries;
  request.engine.registry_mirror = registry_mirrors;
  request.engine.labels = labels;
  request.engine.storage_driver = storage_driver;
  request.engine.env = engine_env;
  request.tls_sans = tls_sans;
  request.provision = no_provision ? ProvisionEngine::no : ProvisionEngine::yes;
  request.keep_on_failure = keep_on_failure ? KeepOnFailure::yes : KeepOnFailure::no;

  Progress progress(context.err, progress_style_for_stderr());
  context.err << fmt::format("Creating machine \"{}\" with the {} driver...\n", name,
                             driver_entry->name);
  auto created = create_from_context(context, request, progress, LiveRestore::yes);
  DM_TRY(created);
  context.out << fmt::format("To see how to connect your Docker Client to the Docker Engine "
                             "running on this virtual machine, run: dmachine env {}\n",
                             name);
  return 0;
}

} // namespace dm
