#pragma once
// Shell completion scripts for bash, zsh and fish, generated from the described
// commands (cmd/command_spec.h), the global flags, the driver table and the shell
// names: nothing here lists a command or a flag by hand. Machine and cluster names
// come from `dmachine ls -q` / `dmachine cluster ls -q`, which read only the store.
#include "cmd/command_spec.h"
#include "core/driver.h"

#include <string>
#include <vector>

namespace dm {

struct CompletionInput {
  std::vector<CommandSpec> commands;
  std::vector<GlobalFlag> globals;
  std::vector<DriverEntry> drivers;
  std::vector<std::string> env_shells; // what --shell accepts
};

// The shells `dmachine completion` writes scripts for.
const std::vector<std::string>& completion_shells();

std::string bash_completion_script(const CompletionInput& input);
// zsh runs the bash script through bashcompinit (one implementation to keep right).
std::string zsh_completion_script(const CompletionInput& input);
std::string fish_completion_script(const CompletionInput& input);

} // namespace dm
