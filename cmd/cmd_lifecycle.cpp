// start, stop, restart, kill: the same shape over several machines, in parallel,
// with output in argument order.
#include "app/lifecycle.h"
#include "app/machine_context.h"
#include "cmd/commands.h"
#include "core/parallel.h"

#include <fmt/format.h>
#include <ostream>

namespace dm {

namespace {

Result<int> run_action(AppContext& context, std::vector<std::string> args, Action action) {
  ActionWords words = words_for(action);
  std::string name = std::string(action == Action::start     ? "start"
                                 : action == Action::stop    ? "stop"
                                 : action == Action::restart ? "restart"
                                                             : "kill");
  CLI::App app{fmt::format("{}.\n\nUsage: dmachine {} [arg...]", words.summary, name),
               "dmachine " + name};
  std::vector<std::string> names;
  app.add_option("names", names, "Machine names")->type_name(k_machine_arg);
  if (auto early = parse_command_line(app, std::move(args), context.out)) {
    return *early;
  }
  auto targets = names_or_default(context, names);
  DM_TRY(targets);
  std::vector<ActionOutcome> outcomes(targets->size());
  parallel_for(targets->size(), 8,
               [&](size_t i) { outcomes[i] = apply_action(context, (*targets)[i], action); });
  int exit_code = 0;
  for (size_t i = 0; i < outcomes.size(); ++i) {
    context.out << outcomes[i].text;
    if (!outcomes[i].error.empty()) {
      context.err << outcomes[i].error << "\n";
      exit_code = 1;
    } else if (action == Action::start || action == Action::restart) {
      refresh_machine_contexts(context, {(*targets)[i]}); // a new IP moves the context too
    }
  }
  return exit_code;
}

} // namespace

Result<int> cmd_start(AppContext& context, std::vector<std::string> args) {
  return run_action(context, std::move(args), Action::start);
}
Result<int> cmd_stop(AppContext& context, std::vector<std::string> args) {
  return run_action(context, std::move(args), Action::stop);
}
Result<int> cmd_restart(AppContext& context, std::vector<std::string> args) {
  return run_action(context, std::move(args), Action::restart);
}
Result<int> cmd_kill(AppContext& context, std::vector<std::string> args) {
  return run_action(context, std::move(args), Action::kill);
}

} // namespace dm
