// status, ip: small read-only queries of the driver. They never write the store.
#include "cmd/commands.h"
#include "app/machine_status.h"
#include "core/go_template.h"
#include "core/parallel.h"

#include <fmt/format.h>
#include <ostream>

namespace dm {

namespace {
constexpr int k_status_timeout_seconds = 10;
} // namespace

Result<int> cmd_status(AppContext& context, std::vector<std::string> args) {
  CLI::App app{"Get the status of a machine.\n\nUsage: dmachine status [OPTIONS] [arg...]",
               "dmachine status"};
  std::vector<std::string> names;
  std::string format;
  app.add_option("-f,--format", format,
                 "\"json\" for {\"Name\",\"DriverName\",\"State\",\"Error\"} on one line, or a Go "
                 "template over those fields");
  app.add_option("names", names, "Machine name")->type_name(k_machine_arg);
  if (auto early = parse_command_line(app, std::move(args), context.out)) {
    return *early;
  }
  auto machine = load_one_machine(context, names);
  DM_TRY(machine);
  const std::string& name = machine->record.name;
  MachineState state = MachineState::none;
  std::string error;
  if (machine->driver->state_check() == StateCheck::network) {
    // The same cheap check as ls: no SSH session, one connection in the usual case.
    StateAnswer answer = machine_state(context, *machine, k_status_timeout_seconds);
    state = answer.state;
    if (state != MachineState::running && !answer.error.empty()) {
      error = answer.error;
      if (format.empty()) {
        context.err << answer.error << "\n"; // why it is not Running; stdout keeps the state
      }
    }
  } else {
    auto local = machine->driver->state();
    DM_TRY(local);
    state = *local;
  }
  if (format.empty()) {
    context.out << to_string(state) << "\n";
    return 0;
  }
  const nlohmann::ordered_json doc = {{"Name", name},
                                      {"DriverName", machine->record.driver_name},
                                      {"State", std::string(to_string(state))},
                                      {"Error", error}};
  auto rendered = render_object_format(format, doc, TemplateRun{"status", MissingKey::error, ""});
  DM_TRY(rendered);
  context.out << *rendered;
  return 0;
}

Result<int> cmd_ip(AppContext& context, std::vector<std::string> args) {
  CLI::App app{"Get the IP address of one or more machines.\n\nUsage: dmachine ip [arg...]",
               "dmachine ip"};
  std::vector<std::string> names;
  app.add_option("names", names, "Machine names")->type_name(k_machine_arg);
  if (auto early = parse_command_line(app, std::move(args), context.out)) {
    return *early;
  }
  auto targets = names_or_default(context, names);
  DM_TRY(targets);
  std::vector<Result<std::string>> ips(targets->size(), fail("not queried"));
  parallel_for(targets->size(), 8, [&](size_t i) {
    auto machine = load_machine(context, (*targets)[i]);
    if (!machine) {
      ips[i] = fail(machine.error());
      return;
    }
    ips[i] = machine->driver->ip();
  });
  int exit_code = 0;
  for (const auto& ip : ips) {
    if (ip) {
      context.out << *ip << "\n";
    } else {
      context.err << ip.error().message << "\n";
      exit_code = 1;
    }
  }
  return exit_code;
}

} // namespace dm
