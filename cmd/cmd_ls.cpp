// dmachine ls: the store's machines, and (when the output shows it) every
// machine's state asked at once; filtering and rendering are pure functions in
// core/machine_list, the query schedule is core/state_query.
#include "cmd/commands.h"
#include "app/machine_status.h"
#include "core/machine_list.h"

#include <cstdlib>
#include <ostream>

namespace dm {

namespace {

Result<int> print_rows(AppContext& context, std::vector<LsRow> rows, const LsFilters& filters,
                       LsOutput output, const std::string& format) {
  rows = filter_rows(rows, filters);
  if (output == LsOutput::quiet) {
    context.out << render_ls_quiet(rows);
  } else if (output == LsOutput::table) {
    context.out << render_ls_table(rows);
  } else {
    auto rendered = render_ls_format(rows, format);
    DM_TRY(rendered);
    context.out << *rendered;
  }
  context.out.flush();
  return 0;
}

} // namespace

Result<int> cmd_ls(AppContext& context, std::vector<std::string> args) {
  CLI::App app{"List machines.\n\nUsage: dmachine ls [OPTIONS]", "dmachine ls"};
  bool quiet = false;
  std::vector<std::string> filters;
  int timeout_seconds = 10;
  std::string format;
  app.add_flag("-q,--quiet", quiet, "Enable quiet mode");
  app.add_option("--filter", filters,
                 "Filter output based on conditions provided (driver, state, name, label, swarm)");
  app.add_option("-t,--timeout", timeout_seconds,
                 "Timeout in seconds for the whole listing, default to 10s (each unreachable "
                 "machine costs at most 2s)");
  app.add_option("-f,--format", format, "Pretty-print machines using a Go template, or \"json\"");
  if (auto early = parse_command_line(app, std::move(args), context.out)) {
    return *early;
  }
  auto parsed_filters = parse_ls_filters(filters);
  DM_TRY(parsed_filters);
  LsOutput output = quiet ? LsOutput::quiet : format.empty() ? LsOutput::table : LsOutput::format;
  if (!format.empty() && !quiet) {
    DM_TRY(check_ls_format(format)); // before any worker thread exists
  }

  std::vector<LsRow> rows;
  auto names = context.store.list_names();
  if (names && !ls_needs_records(*parsed_filters, output)) {
    for (auto& name : *names) { // ls -q prints a record it cannot read too: no need to read any
      rows.push_back(LsRow{.name = std::move(name)});
    }
    return print_rows(context, rows, *parsed_filters, output, format);
  }
  std::vector<StoreEntry> entries = context.store.load_all();
  if (ls_needs_state(*parsed_filters, output, format)) {
    const char* docker_host_env = std::getenv("DOCKER_HOST");
    rows = status_rows(context, entries, docker_host_env != nullptr ? docker_host_env : "",
                       timeout_seconds);
  } else {
    for (const auto& entry : entries) {
      rows.push_back(record_row(entry));
    }
  }
  return print_rows(context, rows, *parsed_filters, output, format);
}

} // namespace dm
