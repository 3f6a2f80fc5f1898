// dmachine rm: frees each machine's infrastructure, then its store entry.
#include "cmd/commands.h"
#include "app/machine_context.h"
#include "core/cluster_record.h"

#include <fmt/format.h>
#include <iostream>

namespace dm {

Result<int> cmd_rm(AppContext& context, std::vector<std::string> args) {
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
  app.add_option("names", names, "Machine names")->type_name(k_machine_arg);
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
    if (auto unregistered = unregister_machine_context(context, name); !unregistered) {
      context.err << fmt::format("Warning: docker context of \"{}\" not removed: {}\n", name,
                                 unregistered.error().message);
    }
    context.out << fmt::format("Successfully removed {}\n", name);
    if (!removed->empty()) {
      context.out << *removed << "\n";
    }
  }
  return exit_code;
}

} // namespace dm
