// dmachine ssh: runs a command over the native SSH client and exits with its
// status; with no command, hands the terminal to the system ssh with the
// machine's pinned known_hosts.
#include "cmd/commands.h"
#include "ssh/ssh_shell.h"

#include <cerrno>
#include <cstdio>
#include <cstring>
#include <fmt/format.h>
#include <iostream>
#include <iterator>
#include <sys/stat.h>
#include <unistd.h>

namespace dm {

namespace {

const char* const k_ssh_help =
    "Log into or run a command on a machine with SSH.\n\n"
    "Usage: dmachine ssh [NAME] [--] [COMMAND...]\n\n"
    "Everything after the machine name is run on the machine; dmachine exits with the\n"
    "command's exit status. With no command, an interactive shell opens (system ssh,\n"
    "host key checked against the machine's pinned key).\n";

// Standard input is forwarded when it is a pipe or a file; a terminal or
// /dev/null is not read, so that a command never waits for input by accident.
std::string stdin_to_forward() {
  struct stat info {};
  if (fstat(STDIN_FILENO, &info) != 0 || isatty(STDIN_FILENO) != 0) {
    return "";
  }
  if (!S_ISFIFO(info.st_mode) && !S_ISREG(info.st_mode) && !S_ISSOCK(info.st_mode)) {
    return "";
  }
  return std::string(std::istreambuf_iterator<char>(std::cin), std::istreambuf_iterator<char>());
}

std::string join_command(const std::vector<std::string>& words) {
  std::string line;
  for (const auto& word : words) {
    line += (line.empty() ? "" : " ") + word;
  }
  return line;
}

} // namespace

Result<int> cmd_ssh(CommandContext& context, std::vector<std::string> args) {
  if (!args.empty() && (args[0] == "--help" || args[0] == "-h")) {
    context.out << k_ssh_help;
    return 0;
  }
  std::vector<std::string> names;
  size_t command_start = 0;
  if (!args.empty() && args[0] != "--") {
    names.push_back(args[0]);
    command_start = 1;
  }
  if (command_start < args.size() && args[command_start] == "--") {
    ++command_start;
  }
  std::vector<std::string> command(args.begin() + static_cast<long>(command_start), args.end());
  auto machine = load_one_machine(context, names);
  DM_TRY(machine);
  const std::string& name = machine->record.name;
  DM_TRY(require_running(
      *machine, fmt::format("Error: Cannot run SSH command: Host \"{}\" is not running", name)));
  auto target = machine_ssh_target(*machine);
  DM_TRY(target);
  // Connecting natively first pins the host key on first contact and refuses a changed one.
  auto shell = open_ssh_shell(*target, ConnectOptions{});
  DM_TRY_CTX(shell, fmt::format("ssh to machine \"{}\"", name));

  if (command.empty()) {
    shell->reset();
    std::vector<std::string> argv = {"ssh",
                                     "-o", "UserKnownHostsFile=" + target->known_hosts_path.string(),
                                     "-o", "StrictHostKeyChecking=yes",
                                     "-o", "LogLevel=ERROR",
                                     "-p", std::to_string(target->port)};
    if (!target->key_path.empty()) {
      argv.insert(argv.end(), {"-o", "IdentitiesOnly=yes", "-i", target->key_path.string()});
    }
    argv.push_back(target->user + "@" + target->host);
    std::vector<char*> raw;
    for (auto& word : argv) {
      raw.push_back(word.data());
    }
    raw.push_back(nullptr);
    std::cout.flush();
    execvp("ssh", raw.data());
    return fail(fmt::format("run the system ssh for an interactive session: {} (install "
                            "openssh-client, or give a command to run)",
                            std::strerror(errno)));
  }

  ExecOptions options;
  options.stdin_data = stdin_to_forward();
  options.on_stdout = [&](std::string_view data) { context.out << data << std::flush; };
  options.on_stderr = [&](std::string_view data) { context.err << data << std::flush; };
  auto result = (*shell)->exec(join_command(command), options);
  DM_TRY_CTX(result, fmt::format("ssh to machine \"{}\"", name));
  return result->exit_status;
}

} // namespace dm
