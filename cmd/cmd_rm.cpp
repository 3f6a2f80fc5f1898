// dmachine rm: frees each machine's infrastructure, then its store entry.
#include "cmd/commands.h"
#include "core/cluster_record.h"
#include "drivers/registry.h"

#include <fmt/format.h>
#include <iostream>

namespace dm {

Result<std::string> remove_machine(CommandContext& context, const std::string& name, bool force) {
  if (!context.store.exists(name)) {
    return fail(ErrorKind::not_found, machine_not_found_message(name));
  }
  auto lock = context.store.lock_machine(name, 60);
  DM_TRY(lock);
  if (!context.store.exists(name)) { // removed by another process while we waited
    return fail(ErrorKind::not_found, machine_not_found_message(name));
  }
  std::string note;
  auto machine = load_machine(context, name);
  if (!machine) {
    if (!force) {
      return fail(machine.error().with_context(
          "Error removing host \"" + name + "\"; use -f to remove the store entry anyway"));
    }
    context.err << fmt::format("Warning: {}; removing the store entry only\n",
                               machine.error().message);
  } else {
    const DriverEntry* entry = find_driver(machine->record.driver_name);
    note = entry != nullptr ? entry->remove_note : "";
    auto removed = machine->driver->remove();
    if (!removed) {
      if (!force) {
        return fail(removed.error().with_context(
            "Error removing host \"" + name +
            "\" (use -f to remove the local configuration even if the machine cannot be removed)"));
      }
      context.err << fmt::format("Warning: could not remove the machine itself: {}\n",
                                 removed.error().message);
    }
  }
  DM_TRY(context.store.remove_machine_dir(name));
  return note;
}

Result<int> cmd_rm(CommandContext& context, std::vector<std::string> args) {
  CLI::App app{"Remove a machine.\n\nUsage: dmachine rm [OPTIONS] [arg...]", "dmachine rm"};
  bool force = false;
  bool assume_yes = false;
  std::vector<std::string> names;
  app.add_flag("-f,--force", force,
               "Remove local configuration even if machine cannot be removed, also implies an "
               "automatic yes (`-y`)");
  app.add_flag("-y", assume_yes,
               "Assumes automatic yes to proceed with remove, without prompting further user "
               "confirmation");
  app.add_option("names", names, "Machine names");
  if (auto early = parse_command_line(app, std::move(args), context.out)) {
    return *early;
  }
  if (names.empty()) {
    return fail(ErrorKind::usage, "Error: Expected to get one or more machine names as arguments");
  }
  for (const auto& name : names) {
    for (const auto& cluster : clusters_with_only_manager(ClusterStore(context.store), name)) {
      context.err << fmt::format("Warning: {} is the only manager of cluster \"{}\": without it "
                                 "the cluster's swarm cannot be managed or changed. To remove "
                                 "the whole cluster: dmachine cluster rm {}\n",
                                 name, cluster, cluster);
    }
  }
  if (!force && !assume_yes) {
    std::string list;
    for (const auto& name : names) {
      list += (list.empty() ? "" : ", ") + name;
    }
    context.out << fmt::format("About to remove {}\nWARNING: This action will delete both local "
                               "reference and remote instance.\nAre you sure? (y/n): ",
                               list)
                << std::flush;
    std::string answer;
    if (!std::getline(std::cin, answer) || (answer != "y" && answer != "Y" && answer != "yes")) {
      context.err << "Aborted: nothing was removed.\n";
      return 1;
    }
  }
  int exit_code = 0;
  for (const auto& name : names) {
    auto removed = remove_machine(context, name, force);
    if (!removed) {
      context.err << removed.error().message << "\n";
      exit_code = 1;
      continue;
    }
    context.out << fmt::format("Successfully removed {}\n", name);
    if (!removed->empty()) {
      context.out << *removed << "\n";
    }
  }
  return exit_code;
}

} // namespace dm
