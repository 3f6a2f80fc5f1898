#include "cmd/cli.h"

#include "drivers/registry.h"

#include <algorithm>
#include <fmt/format.h>
#include <memory>
#include <ostream>

namespace dm {

namespace {

const char* const k_no_machine_name =
    "Error: No machine name(s) specified and no \"default\" machine exists";

// The descriptions carry docker-machine's usage line; CLI11's own would repeat it.
class DescribedUsageFormatter : public CLI::Formatter {
public:
  std::string make_usage(const CLI::App* app, std::string name) const override {
    if (app->get_description().find("Usage: ") != std::string::npos) {
      return "";
    }
    return CLI::Formatter::make_usage(app, std::move(name));
  }
};

} // namespace

std::optional<Result<int>> parse_command_line(CLI::App& app, std::vector<std::string> args,
                                              std::ostream& out) {
  // A repeatable flag takes one value per occurrence (`--engine-label a NAME`
  // must not swallow NAME), as docker-machine's flags do.
  for (CLI::Option* option : app.get_options()) {
    if (!option->get_positional()) {
      option->allow_extra_args(false);
    }
  }
  app.formatter(std::make_shared<DescribedUsageFormatter>());
  // CLI11 takes its arguments in reverse order.
  std::reverse(args.begin(), args.end());
  try {
    app.parse(args);
  } catch (const CLI::CallForHelp&) {
    out << app.help();
    return Result<int>(0);
  } catch (const CLI::ParseError& error) {
    return Result<int>(fail(ErrorKind::usage, fmt::format("{}\nRun '{} --help' for usage.",
                                                          error.what(), app.get_name())));
  }
  return std::nullopt;
}

Result<std::vector<std::string>> names_or_default(const CommandContext& context,
                                                  const std::vector<std::string>& names) {
  if (!names.empty()) {
    return names;
  }
  if (context.store.exists("default")) {
    return std::vector<std::string>{"default"};
  }
  return fail(ErrorKind::usage, k_no_machine_name);
}

Result<std::string> one_name_or_default(const CommandContext& context,
                                        const std::vector<std::string>& names) {
  if (names.size() > 1) {
    return fail(ErrorKind::usage, "Error: Expected one machine name as an argument");
  }
  auto resolved = names_or_default(context, names);
  DM_TRY(resolved);
  return resolved->front();
}

DriverContext make_driver_context(CommandContext& context, const std::string& name) {
  DriverContext driver_context;
  driver_context.machine_name = name;
  driver_context.store_path = context.store.root();
  driver_context.machine_dir = context.store.machine_dir(name);
  driver_context.process_runner = &context.process_runner;
  driver_context.http_client = &context.http_client;
  driver_context.open_shell = context.open_shell;
  return driver_context;
}

Result<LoadedMachine> load_machine(CommandContext& context, const std::string& name) {
  auto record = context.store.load(name);
  DM_TRY(record);
  const DriverEntry* entry = find_driver(record->driver_name);
  if (entry == nullptr) {
    return fail(fmt::format("machine \"{}\" uses driver \"{}\", which this dmachine does not have "
                            "(see 'dmachine create --help' for the drivers it has)",
                            name, record->driver_name));
  }
  auto driver = entry->make(make_driver_context(context, name), record->driver);
  return LoadedMachine{context.store.machine_dir(name), std::move(*record), std::move(driver)};
}

Result<LoadedMachine> load_one_machine(CommandContext& context,
                                       const std::vector<std::string>& names) {
  auto name = one_name_or_default(context, names);
  DM_TRY(name);
  return load_machine(context, *name);
}

Result<void> require_running(LoadedMachine& machine, const std::string& message) {
  if (machine.driver->state_check() == StateCheck::network) {
    return {};
  }
  auto state = machine.driver->state();
  DM_TRY(state);
  if (*state != MachineState::running) {
    return fail(ErrorKind::not_running, message);
  }
  return {};
}

Result<SshTarget> machine_ssh_target(LoadedMachine& machine) {
  auto target = machine.driver->ssh_target();
  DM_TRY(target);
  if (target->known_hosts_path.empty()) {
    target->known_hosts_path = machine.dir / "known_hosts";
  }
  return target;
}

} // namespace dm
