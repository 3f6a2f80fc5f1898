// dmachine create: parses the flags (the common ones and every driver's), then
// hands over to the create workflow (app/engine.h).
#include "cmd/commands.h"
#include "cmd/create_flags.h"
#include "app/engine.h"
#include "app/machine_context.h"

#include <fmt/format.h>
#include <ostream>

namespace dm {

Result<int> cmd_create(AppContext& context, std::vector<std::string> args) {
  CLI::App app{"Create a machine.\n\nUsage: dmachine create [OPTIONS] [arg...]", "dmachine create"};
  CreateFlags flags;
  std::string name;
  bool no_provision = false;
  bool docker_context = true;
  add_create_flags(app, flags);
  app.add_flag("--no-provision", no_provision,
               "Only make the machine and pin its SSH host key; install no engine");
  app.add_flag("--docker-context", docker_context,
               "Register a docker context named after the machine (--docker-context=false: "
               "do not)");
  app.add_option("name", name, "Machine name");
  app.footer(drivers_footer(args));
  const std::vector<std::string> given = args;
  if (auto early = parse_command_line(app, std::move(args), context.out)) {
    return *early;
  }
  auto driver = find_driver_or_fail(flags.driver_name);
  DM_TRY(driver);
  DM_TRY(reject_other_driver_flags(**driver, given));
  if (name.empty()) {
    return fail(ErrorKind::usage, "Error: No machine name specified");
  }

  CreateRequest request;
  request.name = name;
  request.driver_name = (*driver)->name;
  request.driver_options = with_driver_defaults(**driver, given_driver_options(**driver, flags));
  request.engine = given_engine_options(flags);
  request.tls_sans = flags.tls_sans;
  request.provision = no_provision ? ProvisionEngine::no : ProvisionEngine::yes;
  request.keep_on_failure = flags.keep_on_failure ? KeepOnFailure::yes : KeepOnFailure::no;

  DM_TRY(check_create_request(context.store, request)); // before the first line of output
  StderrProgress progress(context.err);
  context.err << fmt::format("Creating machine \"{}\" with the {} driver...\n", name,
                             (*driver)->name);
  auto created = create_from_context(context, request, progress, LiveRestore::yes);
  DM_TRY(created);
  if (docker_context && !no_provision) {
    if (auto registered = register_machine_context(context, *created); registered) {
      context.err << fmt::format("Docker context \"{}\" registered: docker --context {} ..., "
                                 "or dmachine use {}\n",
                                 machine_context_name(name), machine_context_name(name), name);
    } else {
      context.err << "Warning: no docker context registered: " << registered.error().message
                  << "\n";
    }
  }
  context.out << fmt::format("To see how to connect your Docker Client to the Docker Engine "
                             "running on this virtual machine, run: dmachine env {}\n",
                             name);
  return 0;
}

} // namespace dm
