// env, config, url, active: how a Docker client reaches a machine's engine.
// Each checks that the machine runs and that its engine answers over TLS first.
#include "cmd/commands.h"
#include "app/engine.h"
#include "app/machine_status.h"
#include "core/shell_env.h"

#include <cstdlib>
#include <fmt/format.h>
#include <ostream>

namespace dm {

namespace {

std::string join_words(const std::vector<std::string>& words) {
  std::string line;
  for (const auto& word : words) {
    line += " " + word;
  }
  return line;
}

} // namespace

Result<int> cmd_env(AppContext& context, std::vector<std::string> args) {
  const std::string hint_command = "dmachine env" + join_words(args);
  CLI::App app{"Display the commands to set up the environment for the Docker client.\n\n"
               "Usage: dmachine env [OPTIONS] [arg...]",
               "dmachine env"};
  std::string shell;
  bool unset = false;
  bool no_proxy = false;
  bool swarm = false;
  std::vector<std::string> names;
  app.add_option("--shell", shell,
                 "Force environment to be configured for a specified shell: [fish, cmd, "
                 "powershell, tcsh, emacs], default is auto-detect");
  app.add_flag("-u,--unset", unset, "Unset variables instead of setting them");
  app.add_flag("--no-proxy", no_proxy, "Add machine IP to NO_PROXY environment variable");
  app.add_flag("--swarm", swarm, "Display the Swarm config instead of the Docker daemon");
  app.add_option("names", names, "Machine name")->type_name(k_machine_arg);
  if (auto early = parse_command_line(app, std::move(args), context.out)) {
    return *early;
  }
  ShellKind kind = shell_kind_from_env(std::getenv("SHELL"));
  if (!shell.empty()) {
    auto parsed = parse_shell_kind(shell);
    DM_TRY(parsed);
    kind = *parsed;
  }
  if (unset) {
    if (!names.empty()) {
      return fail(ErrorKind::usage, "Error: Expected no machine name when the -u flag is present");
    }
    std::vector<std::string> vars = {"DOCKER_TLS_VERIFY", "DOCKER_HOST", "DOCKER_CERT_PATH",
                                     "DOCKER_MACHINE_NAME"};
    if (no_proxy) {
      vars.emplace_back("NO_PROXY");
    }
    context.out << render_env_unset(kind, vars, hint_command);
    return 0;
  }
  if (swarm) {
    return fail(ErrorKind::unsupported,
                "Error: --swarm is for docker-machine's old standalone Swarm, which dmachine does "
                "not make; for swarm-mode clusters use 'dmachine cluster env NAME'");
  }
  auto machine = load_one_machine(context, names);
  DM_TRY(machine);
  auto code = machine_env_code(context, *machine, EnvRequest{shell, no_proxy, hint_command});
  DM_TRY(code);
  context.out << *code;
  return 0;
}

Result<int> cmd_config(AppContext& context, std::vector<std::string> args) {
  CLI::App app{"Print the connection config for a machine.\n\nUsage: dmachine config [arg...]",
               "dmachine config"};
  std::vector<std::string> names;
  app.add_option("names", names, "Machine name")->type_name(k_machine_arg);
  if (auto early = parse_command_line(app, std::move(args), context.out)) {
    return *early;
  }
  auto machine = load_one_machine(context, names);
  DM_TRY(machine);
  auto endpoint = checked_engine_endpoint(context, *machine);
  DM_TRY(endpoint);
  const AuthOptions& auth = machine->record.auth;
  context.out << fmt::format("--tlsverify\n--tlscacert=\"{}\"\n--tlscert=\"{}\"\n--tlskey=\"{}\"\n"
                             "-H={}\n",
                             auth.ca_cert_path, auth.client_cert_path, auth.client_key_path,
                             engine_url(endpoint->host, endpoint->port));
  return 0;
}

Result<int> cmd_url(AppContext& context, std::vector<std::string> args) {
  CLI::App app{"Get the URL of a machine.\n\nUsage: dmachine url [arg...]", "dmachine url"};
  std::vector<std::string> names;
  app.add_option("names", names, "Machine name")->type_name(k_machine_arg);
  if (auto early = parse_command_line(app, std::move(args), context.out)) {
    return *early;
  }
  auto machine = load_one_machine(context, names);
  DM_TRY(machine);
  auto endpoint = running_engine_endpoint(*machine);
  DM_TRY(endpoint);
  context.out << engine_url(endpoint->host, endpoint->port) << "\n";
  return 0;
}

Result<int> cmd_active(AppContext& context, std::vector<std::string> args) {
  CLI::App app{"Print which machine is active (its URL equals $DOCKER_HOST).\n\n"
               "Usage: dmachine active",
               "dmachine active"};
  if (auto early = parse_command_line(app, std::move(args), context.out)) {
    return *early;
  }
  const std::string docker_host = env_value("DOCKER_HOST");
  if (!docker_host.empty()) {
    for (const auto& entry : context.store.load_all()) {
      if (!entry.record) {
        continue;
      }
      auto machine = load_machine(context, entry.name);
      if (!machine) {
        continue;
      }
      auto endpoint = running_engine_endpoint(*machine);
      if (endpoint && engine_url(endpoint->host, endpoint->port) == docker_host) {
        context.out << entry.name << "\n";
        return 0;
      }
    }
  }
  return fail("No active host found");
}

} // namespace dm
