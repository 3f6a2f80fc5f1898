#include "cmd/create_flags.h"

#include <cstdlib>
#include <fmt/format.h>

namespace dm {

namespace {

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

void append(std::vector<std::string>& to, const std::vector<std::string>& more) {
  to.insert(to.end(), more.begin(), more.end());
}

} // namespace

std::string default_driver_name() {
  const char* from_env = std::getenv("MACHINE_DRIVER");
  if (from_env != nullptr && *from_env != '\0') {
    return from_env;
  }
  return "local";
}

void add_create_flags(CLI::App& app, CreateFlags& flags) {
  flags.driver_name = default_driver_name();
  app.add_option("-d,--driver", flags.driver_name, "Driver to create machine with.")
      ->envname("MACHINE_DRIVER");
  app.add_option("--engine-install-url", flags.install_url,
                 "Script that installs the engine (default: the distribution's packages)")
      ->envname("MACHINE_DOCKER_INSTALL_URL");
  app.add_option("--engine-opt", flags.engine_opts,
                 "Specify arbitrary flags to include with the created engine in the form "
                 "flag=value");
  app.add_option("--engine-insecure-registry", flags.insecure_registries,
                 "Specify insecure registries to allow with the created engine");
  app.add_option("--engine-registry-mirror", flags.registry_mirrors,
                 "Specify registry mirrors to use")
      ->envname("ENGINE_REGISTRY_MIRROR");
  app.add_option("--engine-label", flags.labels, "Specify labels for the created engine");
  app.add_option("--engine-storage-driver", flags.storage_driver,
                 "Specify a storage driver to use with the engine");
  app.add_option("--engine-env", flags.engine_env,
                 "Specify environment variables to set in the engine");
  app.add_option("--tls-san", flags.tls_sans, "Support extra SANs for TLS certs");
  app.add_flag("--keep-on-failure", flags.keep_on_failure,
               "Keep what was made when create fails, for inspection");
  // Every driver's flags are known to the parser; only the chosen driver's are used.
  for (const auto& entry : driver_table()) {
    for (const auto& flag : entry.flags) {
      CLI::Option* option = nullptr;
      if (flag.type == FlagType::boolean) {
        option = app.add_flag("--" + flag.name, flags.driver_bools[flag.name], flag.help);
      } else {
        option = app.add_option("--" + flag.name, flags.driver_values[flag.name], flag.help);
      }
      if (!flag.env_var.empty()) {
        option->envname(flag.env_var);
      }
      option->group("");
    }
  }
}

std::string drivers_footer(const std::vector<std::string>& args) {
  std::string footer = "\nDrivers:";
  for (const auto& entry : driver_table()) {
    footer += fmt::format("\n  {:<12} {}", entry.name, entry.summary);
  }
  footer += "\n";
  if (const DriverEntry* help_driver = find_driver(requested_driver(args))) {
    footer += driver_help(*help_driver);
  }
  return footer;
}

Result<void> reject_other_driver_flags(const DriverEntry& driver,
                                       const std::vector<std::string>& args) {
  for (const auto& arg : args) {
    if (arg == "--") {
      break;
    }
    if (arg.rfind("--", 0) != 0) {
      continue;
    }
    const std::string flag = arg.substr(2, arg.find('=') == std::string::npos
                                               ? std::string::npos
                                               : arg.find('=') - 2);
    for (const auto& entry : driver_table()) {
      if (entry.name == driver.name) {
        continue;
      }
      for (const auto& other : entry.flags) {
        if (other.name == flag) {
          return fail(ErrorKind::usage,
                      fmt::format("flag provided but not defined: --{} (a flag of the \"{}\" "
                                  "driver; this machine uses the \"{}\" driver)\nRun "
                                  "'dmachine create --driver {} --help' for its flags.",
                                  flag, entry.name, driver.name, driver.name));
        }
      }
    }
  }
  return {};
}

DriverOptions given_driver_options(const DriverEntry& driver, const CreateFlags& flags) {
  DriverOptions options;
  for (const auto& flag : driver.flags) {
    if (flag.type == FlagType::boolean) {
      auto it = flags.driver_bools.find(flag.name);
      if (it != flags.driver_bools.end() && it->second) {
        options.values[flag.name] = {"true"};
      }
    } else if (auto it = flags.driver_values.find(flag.name);
               it != flags.driver_values.end() && !it->second.empty()) {
      options.values[flag.name] = it->second;
    }
  }
  return options;
}

EngineOptions given_engine_options(const CreateFlags& flags) {
  EngineOptions engine;
  engine.install_url = flags.install_url;
  engine.arbitrary_flags = flags.engine_opts;
  engine.insecure_registry = flags.insecure_registries;
  engine.registry_mirror = flags.registry_mirrors;
  engine.labels = flags.labels;
  engine.storage_driver = flags.storage_driver;
  engine.env = flags.engine_env;
  return engine;
}

EngineOptions merged_engine_options(const EngineOptions& base, const EngineOptions& more) {
  EngineOptions merged = base;
  append(merged.arbitrary_flags, more.arbitrary_flags);
  append(merged.insecure_registry, more.insecure_registry);
  append(merged.registry_mirror, more.registry_mirror);
  append(merged.labels, more.labels);
  append(merged.env, more.env);
  if (!more.install_url.empty()) {
    merged.install_url = more.install_url;
  }
  if (!more.storage_driver.empty()) {
    merged.storage_driver = more.storage_driver;
  }
  return merged;
}

} // namespace dm
