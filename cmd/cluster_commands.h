#pragma once
// The `dmachine cluster` subcommands (dispatched by cmd_cluster in cmd_cluster.cpp).
#include "cmd/cli.h"

namespace dm {

Result<int> cluster_create(CommandContext& context, std::vector<std::string> args);
Result<int> cluster_add(CommandContext& context, std::vector<std::string> args);
Result<int> cluster_remove_node(CommandContext& context, std::vector<std::string> args);
Result<int> cluster_promote(CommandContext& context, std::vector<std::string> args);
Result<int> cluster_demote(CommandContext& context, std::vector<std::string> args);
Result<int> cluster_rm(CommandContext& context, std::vector<std::string> args);
Result<int> cluster_ls(CommandContext& context, std::vector<std::string> args);
Result<int> cluster_status(CommandContext& context, std::vector<std::string> args);
Result<int> cluster_env(CommandContext& context, std::vector<std::string> args);

} // namespace dm
