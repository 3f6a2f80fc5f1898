#pragma once
// The table of commands: every command on one line in commands.cpp. Help and
// "did you mean" read it.
#include "cmd/cli.h"

#include <string>
#include <vector>

namespace dm {

struct CommandEntry {
  std::string name;
  std::string summary;
  CommandFn run;
};

const std::vector<CommandEntry>& command_table();
const CommandEntry* find_command(const std::string& name);
// The closest command name within a small edit distance, or "".
std::string suggest_command(const std::string& name);

// Command bodies, one file each under cmd/.
Result<int> cmd_active(AppContext& context, std::vector<std::string> args);
Result<int> cmd_cluster(AppContext& context, std::vector<std::string> args);
Result<int> cmd_completion(AppContext& context, std::vector<std::string> args);
Result<int> cmd_config(AppContext& context, std::vector<std::string> args);
Result<int> cmd_create(AppContext& context, std::vector<std::string> args);
Result<int> cmd_env(AppContext& context, std::vector<std::string> args);
Result<int> cmd_inspect(AppContext& context, std::vector<std::string> args);
Result<int> cmd_ip(AppContext& context, std::vector<std::string> args);
Result<int> cmd_kill(AppContext& context, std::vector<std::string> args);
Result<int> cmd_ls(AppContext& context, std::vector<std::string> args);
Result<int> cmd_mount(AppContext& context, std::vector<std::string> args);
Result<int> cmd_provision(AppContext& context, std::vector<std::string> args);
Result<int> cmd_regenerate_certs(AppContext& context, std::vector<std::string> args);
Result<int> cmd_restart(AppContext& context, std::vector<std::string> args);
Result<int> cmd_rm(AppContext& context, std::vector<std::string> args);
Result<int> cmd_scp(AppContext& context, std::vector<std::string> args);
Result<int> cmd_ssh(AppContext& context, std::vector<std::string> args);
Result<int> cmd_start(AppContext& context, std::vector<std::string> args);
Result<int> cmd_status(AppContext& context, std::vector<std::string> args);
Result<int> cmd_stop(AppContext& context, std::vector<std::string> args);
Result<int> cmd_upgrade(AppContext& context, std::vector<std::string> args);
Result<int> cmd_url(AppContext& context, std::vector<std::string> args);
Result<int> cmd_use(AppContext& context, std::vector<std::string> args);
Result<int> cmd_version(AppContext& context, std::vector<std::string> args);

} // namespace dm
