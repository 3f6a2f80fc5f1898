// dmachine version: this program's version, or with a machine name the
// version of the Docker engine running there.
#include "cmd/commands.h"
#include "app/engine.h"

#include <fmt/format.h>
#include <ostream>

namespace dm {

Result<int> cmd_version(AppContext& context, std::vector<std::string> args) {
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
  auto machine = load_one_machine(context, names);
  DM_TRY(machine);
  const std::string& name = machine->record.name;
  auto address = running_engine_endpoint(*machine);
  DM_TRY(address);
  auto version = engine_version(
      context.http_client, machine_engine_endpoint(machine->record, address->host, address->port),
      10);
  DM_TRY_CTX(version, fmt::format("machine \"{}\"", name));
  context.out << *version << "\n";
  return 0;
}

} // namespace dm
