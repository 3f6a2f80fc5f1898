// dmachine inspect: the machine record as JSON, or rendered through a Go-style template.
#include "cmd/commands.h"
#include "core/go_template.h"

#include <ostream>

namespace dm {

Result<int> cmd_inspect(AppContext& context, std::vector<std::string> args) {
  CLI::App app{"Inspect information about a machine.\n\nUsage: dmachine inspect [OPTIONS] [arg...]",
               "dmachine inspect"};
  std::string format;
  std::vector<std::string> names;
  app.add_option("-f,--format", format,
                 "Format the output using the given Go template (or \"json\")");
  app.add_option("names", names, "Machine name")->type_name(k_machine_arg);
  if (auto early = parse_command_line(app, std::move(args), context.out)) {
    return *early;
  }
  auto name = one_name_or_default(context, names);
  DM_TRY(name);
  auto record = context.store.load(*name);
  DM_TRY(record);
  if (format.empty() || format == "json") {
    context.out << render_machine_record(*record);
    return 0;
  }
  auto parsed = parse_go_template(format);
  DM_TRY(parsed);
  // docker-machine renders over the record as a map (keys sorted); a key that is
  // not there is an error rather than "<no value>".
  auto rendered = parsed->render(nlohmann::ordered_json(to_json(*record)),
                                 TemplateRun{"inspect", MissingKey::error, ""});
  DM_TRY(rendered);
  context.out << *rendered << "\n";
  return 0;
}

} // namespace dm
