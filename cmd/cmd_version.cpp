// dmachine version: this program's version, or with a machine name the
// version of the Docker engine running there.
#include "cmd/commands.h"
#include "app/engine.h"
#include "core/go_template.h"

#include <fmt/format.h>
#include <ostream>

namespace dm {

Result<int> cmd_version(AppContext& context, std::vector<std::string> args) {
  CLI::App app{"Show the dmachine version, or a machine's Docker engine version.\n\n"
               "Usage: dmachine version [NAME]",
               "dmachine version"};
  std::vector<std::string> names;
  std::string format;
  app.add_option("-f,--format", format,
                 "\"json\" for {\"Name\",\"Version\"} on one line (Name is \"dmachine\" without a "
                 "machine), or a Go template over those fields");
  app.add_option("name", names, "Machine name")->type_name(k_machine_arg);
  if (auto early = parse_command_line(app, std::move(args), context.out)) {
    return *early;
  }
  auto print = [&](const std::string& name, const std::string& version,
                   const std::string& plain) -> Result<int> {
    if (format.empty()) {
      context.out << plain << "\n";
      return 0;
    }
    auto rendered = render_object_format(format, {{"Name", name}, {"Version", version}},
                                         TemplateRun{"version", MissingKey::error, ""});
    DM_TRY(rendered);
    context.out << *rendered;
    return 0;
  };
  if (names.empty()) {
    return print("dmachine", DMACHINE_VERSION, std::string("dmachine version ") + DMACHINE_VERSION);
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
  return print(name, *version, *version);
}

} // namespace dm
