// dmachine completion SHELL: prints the completion script for bash, zsh or fish,
// generated from the command table, the driver table and the shell names.
#include "cmd/commands.h"
#include "cmd/completion_scripts.h"
#include "core/shell_env.h"
#include "drivers/registry.h"

#include <fmt/format.h>
#include <ostream>

namespace dm {

Result<int> cmd_completion(AppContext& context, std::vector<std::string> args) {
  CLI::App app{"Print a shell completion script for dmachine.\n\n"
               "Usage: dmachine completion bash|zsh|fish\n\n"
               "bash: source <(dmachine completion bash), or save it as\n"
               "/usr/share/bash-completion/completions/dmachine. zsh: save it as _dmachine in\n"
               "a directory of $fpath. fish: dmachine completion fish | source.",
               "dmachine completion"};
  std::string shell;
  app.add_option("shell", shell, "bash, zsh or fish");
  if (auto early = parse_command_line(app, std::move(args), context.out)) {
    return *early;
  }
  CompletionInput input;
  input.commands = describe_commands(context);
  input.globals = global_flags();
  input.drivers = driver_table();
  for (auto name : shell_names()) {
    input.env_shells.emplace_back(name);
  }
  if (shell == "bash") {
    context.out << bash_completion_script(input);
  } else if (shell == "zsh") {
    context.out << zsh_completion_script(input);
  } else if (shell == "fish") {
    context.out << fish_completion_script(input);
  } else {
    return fail(ErrorKind::usage,
                fmt::format("Error: completion: expected one of bash, zsh, fish{}",
                            shell.empty() ? "" : fmt::format(" (got \"{}\")", shell)));
  }
  return 0;
}

} // namespace dm
