// dmachine version: this program's version, or with a machine name the
// version of the Docker engine running there.
#include "cmd/commands.h"

#include <ostream>

namespace dm {

Result<int> cmd_version(CommandContext& context, std::vector<std::string> args) {
  CLI::App app{"Show the dmachine version, or a machine's Docker engine version.\n\n"
               "Usage: dmachine version [NAME]",
               "dmachine version"};
  std::vector<std::string> names;
  app.add_option("name", names, "Machine name");
  if (auto early = parse_command_line(app, std::move(args), context.out)) {
    return *early;
  }
  if (names.empty()) {
    context.out << "dmachine version " << DMACHINE_VERSION << "\n";
    return 0;
  }
  auto name = one_name_or_default(context, names);
  DM_TRY(name);
  return fail(ErrorKind::unsupported, "engine versions come with engine provisioning");
}

} // namespace dm
