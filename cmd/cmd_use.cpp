// dmachine use: makes a machine's docker context the docker CLI's current one
// (currentContext in config.json), or with -u the default context again.
#include "app/machine_context.h"
#include "cmd/commands.h"
#include "core/docker_context.h"

#include <fmt/format.h>
#include <ostream>

namespace dm {

Result<int> cmd_use(AppContext& context, std::vector<std::string> args) {
  CLI::App app{"Make a machine's docker context the current one, so that plain 'docker' "
               "commands reach it (registers the context first when it is missing).\n\n"
               "Usage: dmachine use NAME\n       dmachine use -u",
               "dmachine use"};
  bool unset = false;
  std::vector<std::string> names;
  app.add_flag("-u,--unset", unset, "Go back to the docker CLI's default context");
  app.add_option("names", names, "Machine name")->type_name(k_machine_arg);
  if (auto early = parse_command_line(app, std::move(args), context.out)) {
    return *early;
  }
  const auto config_dir = docker_config_dir();
  if (config_dir.empty()) {
    return fail("use: neither $DOCKER_CONFIG nor $HOME is set");
  }
  if (unset) {
    if (!names.empty()) {
      return fail(ErrorKind::usage, "Error: Expected no machine name when the -u flag is present");
    }
    DM_TRY_CTX(set_current_docker_context(config_dir, ""), "use -u");
    context.out << "default\n";
    context.err << "Current docker context is now \"default\"\n";
    return 0;
  }
  auto machine = load_one_machine(context, names);
  DM_TRY(machine);
  const std::string context_name = machine_context_name(machine->record.name);
  if (docker_context_owner(config_dir, context_name, context.store.root().string()) ==
      ContextOwner::none) {
    DM_TRY_CTX(register_machine_context(context, machine->record), "use");
  }
  // Our own context, freshly written, or one that someone else made: refuse the latter.
  if (docker_context_owner(config_dir, context_name, context.store.root().string()) !=
      ContextOwner::dmachine) {
    return fail(fmt::format("use: docker context \"{}\" was not made by this dmachine store; "
                            "use 'docker context use {}' if you mean it",
                            context_name, context_name));
  }
  DM_TRY_CTX(set_current_docker_context(config_dir, context_name), "use");
  context.out << context_name << "\n";
  context.err << fmt::format("Current docker context is now \"{}\"\n", context_name);
  return 0;
}

} // namespace dm
