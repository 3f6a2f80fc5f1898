// start, stop, restart, kill: the same shape over several machines, in parallel,
// with output in argument order.
#include "cmd/commands.h"
#include "core/parallel.h"
#include "ssh/ssh_shell.h"

#include <cctype>
#include <fmt/format.h>
#include <ostream>

namespace dm {

namespace {

constexpr int k_ssh_wait_seconds = 120;

enum class Action { start, stop, restart, kill };

struct ActionWords {
  const char* summary;
  const char* progressive; // "Starting"
  const char* past;        // "started"
};

ActionWords words_for(Action action) {
  switch (action) {
  case Action::start:
    return {"Start a machine", "Starting", "started"};
  case Action::stop:
    return {"Stop a machine", "Stopping", "stopped"};
  case Action::restart:
    return {"Restart a machine", "Restarting", "restarted"};
  case Action::kill:
    return {"Kill (abruptly force stop) a machine", "Killing", "killed"};
  }
  return {"", "", ""};
}

struct Outcome {
  std::string text;  // lines for stdout
  std::string error; // empty on success
};

Outcome act_on(CommandContext& context, const std::string& name, Action action) {
  ActionWords words = words_for(action);
  Outcome outcome;
  if (!context.store.exists(name)) { // docker-machine's first and only line
    outcome.error = machine_not_found_message(name);
    return outcome;
  }
  outcome.text = fmt::format("{} \"{}\"...\n", words.progressive, name);
  auto lock = context.store.lock_machine(name, 30);
  if (!lock) {
    outcome.error = lock.error().message;
    return outcome;
  }
  auto machine = load_machine(context, name);
  if (!machine) {
    outcome.error = machine.error().message;
    return outcome;
  }
  Driver& driver = *machine->driver;
  auto state = driver.state();
  if (state && action == Action::start && *state == MachineState::running) {
    outcome.text += fmt::format("Machine \"{}\" is already running.\n", name);
    return outcome;
  }
  if (state && (action == Action::stop || action == Action::kill) &&
      *state == MachineState::stopped) {
    outcome.text += fmt::format("Machine \"{}\" is already stopped.\n", name);
    return outcome;
  }
  Result<void> result;
  switch (action) {
  case Action::start:
    result = driver.start();
    break;
  case Action::stop:
    result = driver.stop();
    break;
  case Action::restart:
    result = driver.restart();
    break;
  case Action::kill:
    result = driver.kill();
    break;
  }
  if (!result) {
    std::string verb = words.progressive;
    verb[0] = static_cast<char>(std::tolower(static_cast<unsigned char>(verb[0])));
    outcome.error = fmt::format("Error {} machine \"{}\": {}", verb, name, result.error().message);
    return outcome;
  }
  if (action == Action::start || action == Action::restart) {
    // Started means reachable: wait (bounded) until SSH answers with the pinned key.
    auto target = machine_ssh_target(*machine);
    ConnectOptions options;
    options.wait_seconds = k_ssh_wait_seconds;
    auto shell = target ? open_ssh_session(*target, options)
                        : Result<std::unique_ptr<SshShell>>(fail(target.error()));
    if (!shell) {
      outcome.error = fmt::format("Machine \"{}\" was {}, but SSH does not answer: {}", name,
                                  words.past, shell.error().message);
      return outcome;
    }
  }
  outcome.text += fmt::format("Machine \"{}\" was {}.\n", name, words.past);
  if (action == Action::start || action == Action::restart) {
    outcome.text += "Started machines may have new IP addresses. You may need to re-run the "
                    "`dmachine env` command.\n";
  }
  return outcome;
}

Result<int> run_action(CommandContext& context, std::vector<std::string> args, Action action) {
  ActionWords words = words_for(action);
  std::string name = std::string(action == Action::start     ? "start"
                                 : action == Action::stop    ? "stop"
                                 : action == Action::restart ? "restart"
                                                             : "kill");
  CLI::App app{fmt::format("{}.\n\nUsage: dmachine {} [arg...]", words.summary, name),
               "dmachine " + name};
  std::vector<std::string> names;
  app.add_option("names", names, "Machine names");
  if (auto early = parse_command_line(app, std::move(args), context.out)) {
    return *early;
  }
  auto targets = names_or_default(context, names);
  DM_TRY(targets);
  std::vector<Outcome> outcomes(targets->size());
  parallel_for(targets->size(), 8,
               [&](size_t i) { outcomes[i] = act_on(context, (*targets)[i], action); });
  int exit_code = 0;
  for (const auto& outcome : outcomes) {
    context.out << outcome.text;
    if (!outcome.error.empty()) {
      context.err << outcome.error << "\n";
      exit_code = 1;
    }
  }
  return exit_code;
}

} // namespace

Result<int> cmd_start(CommandContext& context, std::vector<std::string> args) {
  return run_action(context, std::move(args), Action::start);
}
Result<int> cmd_stop(CommandContext& context, std::vector<std::string> args) {
  return run_action(context, std::move(args), Action::stop);
}
Result<int> cmd_restart(CommandContext& context, std::vector<std::string> args) {
  return run_action(context, std::move(args), Action::restart);
}
Result<int> cmd_kill(CommandContext& context, std::vector<std::string> args) {
  return run_action(context, std::move(args), Action::kill);
}

} // namespace dm
