// dmachine ssh: runs a command over the native SSH client and exits with its
// status; with no command, or with ssh options after the name, hands over to the
// system ssh with the machine's pinned known_hosts.
#include "app/ssh_access.h"
#include "cmd/commands.h"
#include "cmd/exec_program.h"

#include <fmt/format.h>
#include <sys/stat.h>
#include <unistd.h>

namespace dm {

namespace {

const char* const k_ssh_help =
    "Log into or run a command on a machine with SSH.\n\n"
    "Usage: dmachine ssh [NAME] [--] [COMMAND...]\n"
    "       dmachine ssh NAME -OPTION... [COMMAND...]\n\n"
    "A command after the machine name (or after --) runs on the machine over one SSH\n"
    "session; dmachine exits with its exit status and streams standard input to it.\n"
    "With no command, an interactive shell opens. When the first word after the name\n"
    "is an option (-L 8080:localhost:80 -N, -t, -C, -o ...), that word and the rest\n"
    "go to the system ssh client, as with docker-machine (with --native-ssh they are\n"
    "run on the machine instead). Either way the host key is checked against the\n"
    "machine's pinned key.\n";

// Standard input is forwarded when it is a pipe, a socket or a file; a terminal
// or /dev/null is not read, so that a command never waits for input by accident.
int stdin_to_forward() {
  struct stat info {};
  if (fstat(STDIN_FILENO, &info) != 0 || isatty(STDIN_FILENO) != 0) {
    return -1;
  }
  if (!S_ISFIFO(info.st_mode) && !S_ISREG(info.st_mode) && !S_ISSOCK(info.st_mode)) {
    return -1;
  }
  return STDIN_FILENO;
}

bool is_help(const std::string& word) { return word == "--help" || word == "-h" || word == "-help"; }

std::string join_command(const std::vector<std::string>& words) {
  std::string line;
  for (const auto& word : words) {
    line += (line.empty() ? "" : " ") + word;
  }
  return line;
}

} // namespace

Result<int> cmd_ssh(AppContext& context, std::vector<std::string> args) {
  std::string ignored_name; // declared for help, completion and the man page
  if (!args.empty() && (is_help(args[0]) || (args.size() > 1 && is_help(args[1])))) {
    CLI::App app{k_ssh_help, "dmachine ssh"};
    app.add_option("name", ignored_name, "Machine name")->type_name(k_machine_arg);
    auto help = parse_command_line(app, {"--help"}, context.out);
    return help ? *help : Result<int>(0);
  }
  std::vector<std::string> names;
  size_t command_start = 0;
  if (!args.empty() && args[0] != "--") {
    names.push_back(args[0]);
    command_start = 1;
  }
  // An option right after the name means "these are ssh's arguments" (docker-machine);
  // with --native-ssh, as with docker-machine's native client, they are a remote command.
  bool openssh_args = !context.globals.native_ssh && command_start < args.size() &&
                      args[command_start].size() > 1 &&
                      args[command_start][0] == '-' && args[command_start] != "--";
  if (!openssh_args && command_start < args.size() && args[command_start] == "--") {
    ++command_start;
  }
  std::vector<std::string> command(args.begin() + static_cast<long>(command_start), args.end());
  auto machine = load_one_machine(context, names);
  DM_TRY(machine);
  const std::string& name = machine->record.name;
  DM_TRY(require_running(
      *machine, fmt::format("Error: Cannot run SSH command: Host \"{}\" is not running", name)));

  if (command.empty() || openssh_args) {
    // The system ssh checks the pinned key; a first contact pins it natively.
    auto argv = machine_openssh_argv(*machine, command);
    DM_TRY_CTX(argv, fmt::format("ssh to machine \"{}\"", name));
    context.out.flush();
    context.err.flush();
    return exec_program(*argv, "run the system ssh: it is not installed (apt install "
                               "openssh-client), or give a command after -- to use dmachine's "
                               "own SSH client");
  }

  auto shell = open_machine_session(*machine);
  DM_TRY_CTX(shell, fmt::format("ssh to machine \"{}\"", name));
  ExecOptions options;
  options.stdin_fd = stdin_to_forward();
  options.on_stdout = [&](std::string_view data) { context.out << data << std::flush; };
  options.on_stderr = [&](std::string_view data) { context.err << data << std::flush; };
  auto result = (*shell)->exec(join_command(command), options);
  DM_TRY_CTX(result, fmt::format("ssh to machine \"{}\"", name));
  return result->exit_status;
}

} // namespace dm
