// provision, regenerate-certs, upgrade: engine work on existing machines, each
// over one SSH session.
#include "cmd/commands.h"
#include "cmd/engine_wiring.h"

#include <fmt/format.h>
#include <iostream>
#include <ostream>
#include <unistd.h>

namespace dm {

namespace {

using MachineWork = std::function<Result<void>(RemoteShell&, LoadedMachine&, Progress&)>;

// Runs work on each named machine in turn, under its lock, saving the record after.
Result<int> for_each_machine(CommandContext& context, const std::vector<std::string>& names,
                             const char* verb, const MachineWork& work) {
  auto targets = names_or_default(context, names);
  DM_TRY(targets);
  int exit_code = 0;
  for (const auto& name : *targets) {
    auto done = [&]() -> Result<void> {
      auto lock = context.store.lock_machine(name, 60);
      DM_TRY(lock);
      auto machine = load_machine(context, name);
      DM_TRY(machine);
      auto shell = open_machine_shell(context, *machine);
      DM_TRY(shell);
      Progress progress(context.err, progress_style_for_stderr(), name + ": ");
      DM_TRY(work(**shell, *machine, progress));
      return context.store.save(machine->record);
    }();
    if (!done) {
      context.err << fmt::format("Error {} machine \"{}\": {}\n", verb, name, done.error().message);
      exit_code = 1;
    }
  }
  return exit_code;
}

bool confirm(CommandContext& context, const std::string& question) {
  context.err << question << " (y/n): " << std::flush;
  std::string answer;
  if (!std::getline(std::cin, answer)) {
    return false;
  }
  return answer == "y" || answer == "Y" || answer == "yes";
}

} // namespace

Result<int> cmd_provision(CommandContext& context, std::vector<std::string> args) {
  CLI::App app{"Re-provision the engine on existing machines (idempotent: an installed engine is "
               "kept, certificates and dockerd configuration are renewed).\n\n"
               "Usage: dmachine provision [arg...]",
               "dmachine provision"};
  std::vector<std::string> names;
  app.add_option("names", names, "Machine names");
  if (auto early = parse_command_line(app, std::move(args), context.out)) {
    return *early;
  }
  return for_each_machine(context, names, "provisioning",
                          [&](RemoteShell& shell, LoadedMachine& machine, Progress& progress) {
                            EngineSetupDeps deps{context.store, context.http_client};
                            return setup_engine(shell, machine.record, deps, progress);
                          });
}

Result<int> cmd_regenerate_certs(CommandContext& context, std::vector<std::string> args) {
  CLI::App app{"Regenerate TLS certificates for machines and restart dockerd (nothing is "
               "reinstalled; containers keep running).\n\n"
               "Usage: dmachine regenerate-certs [OPTIONS] [arg...]",
               "dmachine regenerate-certs"};
  bool force = false;
  bool client_certs = false;
  std::vector<std::string> names;
  app.add_flag("-f,--force", force, "Forces the creation of new certificates without asking");
  app.add_flag("--client-certs", client_certs,
               "Also regenerate the CA and client certificates (every other machine then needs "
               "'dmachine regenerate-certs' too)");
  app.add_option("names", names, "Machine names");
  if (auto early = parse_command_line(app, std::move(args), context.out)) {
    return *early;
  }
  if (!force && !confirm(context, "Regenerate TLS machine certs?  Warning: this is irreversible.")) {
    return 0;
  }
  auto regenerate = client_certs ? RegenerateClient::yes : RegenerateClient::no;
  return for_each_machine(context, names, "regenerating certificates for",
                          [&](RemoteShell& shell, LoadedMachine& machine, Progress& progress) {
                            context.out << fmt::format("Regenerating TLS certificates\n");
                            EngineSetupDeps deps{context.store, context.http_client};
                            return rotate_engine_certs(shell, machine.record, deps, regenerate,
                                                       progress);
                          });
}

Result<int> cmd_upgrade(CommandContext& context, std::vector<std::string> args) {
  CLI::App app{"Upgrade the Docker engine of machines to the newest version their OS "
               "packages offer.\n\nUsage: dmachine upgrade [arg...]",
               "dmachine upgrade"};
  std::vector<std::string> names;
  app.add_option("names", names, "Machine names");
  if (auto early = parse_command_line(app, std::move(args), context.out)) {
    return *early;
  }
  return for_each_machine(context, names, "upgrading",
                          [&](RemoteShell& shell, LoadedMachine& machine,
                              Progress& progress) -> Result<void> {
                            DM_TRY(upgrade_engine(shell, progress));
                            return wait_for_engine(
                                context.http_client,
                                machine_engine_endpoint(machine.record, record_ip(machine.record),
                                                        record_engine_port(machine.record)),
                                60);
                          });
}

} // namespace dm
