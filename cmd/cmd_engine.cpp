// provision, regenerate-certs, upgrade: engine work on existing machines, each
// over one SSH session (the work itself is app/engine.h).
#include "cmd/commands.h"
#include "app/engine.h"
#include "app/machine_context.h"

#include <fmt/format.h>
#include <fmt/ranges.h>
#include <iostream>
#include <ostream>
#include <unistd.h>

namespace dm {

namespace {

// Every name must be a machine of the store before anything is asked or changed.
Result<std::vector<std::string>> existing_targets(AppContext& context,
                                                  const std::vector<std::string>& names) {
  auto targets = names_or_default(context, names);
  DM_TRY(targets);
  for (const auto& name : *targets) {
    DM_TRY(context.store.load(name));
  }
  return targets;
}

// Runs work on each named machine in turn, under its lock, saving the record after.
int for_each_machine(AppContext& context, const std::vector<std::string>& targets,
                     const char* verb, StartStopped start, const MachineWork& work) {
  int exit_code = 0;
  for (const auto& name : targets) {
    auto done = with_machine_shell(context, name, start, work);
    if (!done) {
      context.err << fmt::format("Error {} machine \"{}\": {}\n", verb, name, done.error().message);
      exit_code = 1;
      continue;
    }
    refresh_machine_contexts(context, {name});
  }
  return exit_code;
}

bool confirm(AppContext& context, const std::string& question) {
  context.err << question << " (y/n): " << std::flush;
  std::string answer;
  if (!std::getline(std::cin, answer)) {
    return false;
  }
  return answer == "y" || answer == "Y" || answer == "yes";
}

} // namespace

Result<int> cmd_provision(AppContext& context, std::vector<std::string> args) {
  CLI::App app{"Re-provision the engine on existing machines (idempotent: an installed engine is "
               "kept, certificates and dockerd configuration are renewed).\n\n"
               "Usage: dmachine provision [arg...]",
               "dmachine provision"};
  std::vector<std::string> names;
  app.add_option("names", names, "Machine names")->type_name(k_machine_arg);
  if (auto early = parse_command_line(app, std::move(args), context.out)) {
    return *early;
  }
  auto targets = existing_targets(context, names);
  DM_TRY(targets);
  return for_each_machine(context, *targets, "provisioning", StartStopped::no,
                          provision_work(context));
}

Result<int> cmd_regenerate_certs(AppContext& context, std::vector<std::string> args) {
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
  app.add_option("names", names, "Machine names")->type_name(k_machine_arg);
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
      regenerate_certs_work(context));
  if (!left_behind.empty()) {
    context.err << fmt::format(
        "The CA changed: {} still {} certificates from the old CA and cannot be reached until "
        "you run: dmachine regenerate-certs -f {}\n",
        fmt::join(left_behind, ", "), left_behind.size() == 1 ? "has" : "have",
        fmt::join(left_behind, " "));
  }
  return exit_code;
}

Result<int> cmd_upgrade(AppContext& context, std::vector<std::string> args) {
  CLI::App app{"Upgrade the Docker engine of machines to the newest version their OS "
               "packages offer.\n\nUsage: dmachine upgrade [arg...]",
               "dmachine upgrade"};
  std::vector<std::string> names;
  app.add_option("names", names, "Machine names")->type_name(k_machine_arg);
  if (auto early = parse_command_line(app, std::move(args), context.out)) {
    return *early;
  }
  auto targets = existing_targets(context, names);
  DM_TRY(targets);
  return for_each_machine(context, *targets, "upgrading", StartStopped::yes,
                          upgrade_work(context));
}

} // namespace dm
