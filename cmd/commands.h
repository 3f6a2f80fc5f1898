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

// rm of one machine: the driver frees it, then its store entry goes. Returns the
// driver's note (e.g. "the server was left alone"). force: remove the entry even
// when the machine cannot be removed or its record is unreadable.
Result<std::string> remove_machine(CommandContext& context, const std::string& name, bool force);

// The env variables of a running machine whose engine answered, as shell code.
struct EnvRequest {
  std::string shell; // "" = from $SHELL
  bool no_proxy = false;
  std::string hint_command; // "dmachine env NAME"
};
Result<std::string> machine_env_code(CommandContext& context, LoadedMachine& machine,
                                     const EnvRequest& request);

// Command bodies, one file each under cmd/.
Result<int> cmd_active(CommandContext& context, std::vector<std::string> args);
Result<int> cmd_cluster(CommandContext& context, std::vector<std::string> args);
Result<int> cmd_config(CommandContext& context, std::vector<std::string> args);
Result<int> cmd_create(CommandContext& context, std::vector<std::string> args);
Result<int> cmd_env(CommandContext& context, std::vector<std::string> args);
Result<int> cmd_inspect(CommandContext& context, std::vector<std::string> args);
Result<int> cmd_ip(CommandContext& context, std::vector<std::string> args);
Result<int> cmd_kill(CommandContext& context, std::vector<std::string> args);
Result<int> cmd_ls(CommandContext& context, std::vector<std::string> args);
Result<int> cmd_mount(CommandContext& context, std::vector<std::string> args);
Result<int> cmd_provision(CommandContext& context, std::vector<std::string> args);
Result<int> cmd_regenerate_certs(CommandContext& context, std::vector<std::string> args);
Result<int> cmd_restart(CommandContext& context, std::vector<std::string> args);
Result<int> cmd_rm(CommandContext& context, std::vector<std::string> args);
Result<int> cmd_scp(CommandContext& context, std::vector<std::string> args);
Result<int> cmd_ssh(CommandContext& context, std::vector<std::string> args);
Result<int> cmd_start(CommandContext& context, std::vector<std::string> args);
Result<int> cmd_status(CommandContext& context, std::vector<std::string> args);
Result<int> cmd_stop(CommandContext& context, std::vector<std::string> args);
Result<int> cmd_upgrade(CommandContext& context, std::vector<std::string> args);
Result<int> cmd_url(CommandContext& context, std::vector<std::string> args);
Result<int> cmd_version(CommandContext& context, std::vector<std::string> args);

} // namespace dm
