#pragma once
// The `dmachine cluster` subcommands (dispatched by cmd_cluster in cmd_cluster.cpp).
#include "cmd/cli.h"

namespace dm {

struct ClusterSubcommand {
  const char* name;
  const char* summary;
  CommandFn run;
};
// The table of `dmachine cluster` subcommands, one line each.
const std::vector<ClusterSubcommand>& cluster_subcommands();

Result<int> cluster_create(AppContext& context, std::vector<std::string> args);
Result<int> cluster_add(AppContext& context, std::vector<std::string> args);
Result<int> cluster_remove_node(AppContext& context, std::vector<std::string> args);
Result<int> cluster_promote(AppContext& context, std::vector<std::string> args);
Result<int> cluster_demote(AppContext& context, std::vector<std::string> args);
Result<int> cluster_rm(AppContext& context, std::vector<std::string> args);
Result<int> cluster_ls(AppContext& context, std::vector<std::string> args);
Result<int> cluster_status(AppContext& context, std::vector<std::string> args);
Result<int> cluster_env(AppContext& context, std::vector<std::string> args);

} // namespace dm
