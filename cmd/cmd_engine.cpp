// provision, regenerate-certs, upgrade: engine work on existing machines, each
// over one SSH session.
#include "cmd/commands.h"
#include "cmd/engine_wiring.h"

#include "ssh/ssh_shell.h"

#include <fmt/format.h>
#include <fmt/ranges.h>
#include <iostream>
#include <ostream>
#include <unistd.h>

namespace dm {

namespace {

using MachineWork = std::function<Result<void>(RemoteShell&, LoadedMachine&, Progress&)>;

constexpr int k_start_ssh_wait_seconds = 120;

enum class StartStopped { no, yes };

// A shell to the machine; a stopped machine is started first when asked
// (docker-machine's upgrade does) and left running.
Result<std::unique_ptr<RemoteShell>> shell_for(CommandContext& context, LoadedMachine& machine,
                                               StartStopped start) {
  if (start == StartStopped::yes && machine.driver->state_check() != StateCheck::network) {
    auto state = machine.driver->state();
    DM_TRY(state);
    if (*state == MachineState::stopped) {
      context.out << "Starting machine so machine can be upgraded...\n" << std::flush;
      DM_TRY_CTX(machine.driver->start(), "start the machine");
      auto target = machine_ssh_target(machine);
      DM_TRY(target);
      ConnectOptions options;
      options.wait_seconds = k_start_ssh_wait_seconds;
      auto shell = open_ssh_shell(*target, options);
      DM_TRY_CTX(shell, "the machine was started, but SSH does not answer");
      return shell;
    }
  }
  return open_machine_shell(context, machine);
}

// Every name must be a machine of the store before anything is asked or changed.
Result<std::vector<std::string>> existing_targets(CommandContext& context,
                                                  const std::vector<std::string>& names) {
  auto targets = names_or_default(context, names);
  DM_TRY(targets);
  for (const auto& name : *targets) {
    DM_TRY(context.store.load(name));
  }
  return targets;
}

// Runs work on each named machine in turn, under its lock, saving the record after.
int for_each_machine(CommandContext& context, const std::vector<std::string>& targets,
                     const char* verb, StartStopped start, const MachineWork& work) {
  int exit_code = 0;
  for (const auto& name : targets) {
    auto done = [&]() -> Result<void> {
      auto lock = context.store.lock_machine(name, 60);
      DM_TRY(lock);
      auto machine = load_machine(context, name);
      DM_TRY(machine);
      auto shell = shell_for(context, *machine, start);
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

// --client-certs renews the CA once; every named machine must be reachable
// first, or the renewal would leave it behind.
Result<void> require_all_running(CommandContext& context, const std::vector<std::string>& targets) {
  for (const auto& name : targets) {
    auto machine = load_machine(context, name);
    DM_TRY(machine);
    DM_TRY_CTX(require_running(*machine, "Host is not running"),
               fmt::format("machine \"{}\" (nothing was changed; start it first)", name));
  }
  return {};
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
  auto targets = existing_targets(context, names);
  DM_TRY(targets);
  return for_each_machine(context, *targets, "provisioning", StartStopped::no,
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
  // Check first (the machines exist, the CA is there or is being renewed), then ask.
  auto targets = existing_targets(context, names);
  DM_TRY(targets);
  if (client_certs) {
    DM_TRY(require_all_running(context, *targets));
  } else {
    DM_TRY(require_store_ca(context.store));
  }
  if (!force && !confirm(context, "Regenerate TLS machine certs?  Warning: this is irreversible.")) {
    context.err << "Aborted: no certificates were changed.\n";
    return 1;
  }
  std::vector<std::string> left_behind;
  if (client_certs) {
    context.out << "Regenerating the CA and client certificates\n";
    auto renewed = renew_store_ca(context.store, *targets);
    DM_TRY(renewed);
    left_behind = std::move(*renewed);
  }
  int exit_code = for_each_machine(
      context, *targets, "regenerating certificates for", StartStopped::no,
      [&](RemoteShell& shell, LoadedMachine& machine, Progress& progress) {
        context.out << fmt::format("Regenerating TLS certificates\n");
        EngineSetupDeps deps{context.store, context.http_client};
        return rotate_engine_certs(shell, machine.record, deps, RegenerateClient::no, progress);
      });
  if (!left_behind.empty()) {
    context.err << fmt::format(
        "The CA changed: {} still {} certificates from the old CA and cannot be reached until "
        "you run: dmachine regenerate-certs -f {}\n",
        fmt::join(left_behind, ", "), left_behind.size() == 1 ? "has" : "have",
        fmt::join(left_behind, " "));
  }
  return exit_code;
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
  auto targets = existing_targets(context, names);
  DM_TRY(targets);
  return for_each_machine(context, *targets, "upgrading", StartStopped::yes,
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
