#pragma once
// The pure logic of `ls`: rows, --filter, sorting and rendering (table, Go
// template, json, -q). The command gathers the rows; nothing here does I/O.
#include "core/result.h"
#include "core/state_query.h"

#include <nlohmann/json.hpp>
#include <regex>
#include <string>
#include <string_view>
#include <vector>

namespace dm {

struct LsRow {
  std::string name;
  std::string active = "-"; // "-", "*" or "* (swarm)"
  std::string driver_name;
  std::string state;        // "Running", "Stopped", "Timeout", ...; "" when unknown
  std::string url;
  std::string swarm;        // "master-name" or "master-name (master)"
  std::string docker_version = "Unknown"; // "v20.10.24" or "Unknown"
  std::string error;
  long response_time_ms = 0;
  std::vector<std::string> labels; // engine labels, "k=v"
};

// --filter values by key; the same key ORs, different keys AND.
struct LsFilters {
  std::vector<std::string> driver;     // case-insensitive
  std::vector<std::string> state;      // case-insensitive
  std::vector<std::string> name_texts; // as given, for messages
  std::vector<std::regex> name;        // unanchored search, like Go's regexp.MatchString
  std::vector<std::string> label;      // "k=v" matches that label, "k" any label with key k
  std::vector<std::string> swarm;      // the swarm master's name
};

// Parses "key=value" filters; unknown key: "Unsupported filter key 'X'".
Result<LsFilters> parse_ls_filters(const std::vector<std::string>& filters);
[[nodiscard]] bool row_matches(const LsRow& row, const LsFilters& filters);
std::vector<LsRow> filter_rows(const std::vector<LsRow>& rows, const LsFilters& filters);
// By name, case-insensitively (ties by exact name, so the order is deterministic).
void sort_rows(std::vector<LsRow>& rows);

// The fields a --format template sees: .Name .Active .ActiveHost .ActiveSwarm
// .DriverName .State .URL .Swarm .DockerVersion .Error .ResponseTime
nlohmann::ordered_json ls_row_json(const LsRow& row);
// Go's time.Duration text for a millisecond count ("0s", "12ms", "1.5s", "1m2s").
std::string go_duration_ms(long ms);

// The default table (NAME ACTIVE DRIVER STATE URL SWARM DOCKER ERRORS), rows sorted.
std::string render_ls_table(std::vector<LsRow> rows);
// --format: a Go template (a "table" prefix adds a header row and aligns columns;
// \t and \n are unescaped) or "json" (one compact object per line, as the docker CLI
// prints lists). Rows sorted.
Result<std::string> render_ls_format(std::vector<LsRow> rows, std::string_view format);
// The --format errors render_ls_format would give, found before any host is asked.
Result<void> check_ls_format(std::string_view format);
// -q: one name per line, rows sorted.
std::string render_ls_quiet(std::vector<LsRow> rows);

// Whether ls must ask the machines: a state filter, or output that shows a field
// only a query can fill (everything but .Name, .DriverName and .Swarm). -q and
// name/driver/label/swarm filters read the store alone.
enum class LsOutput { quiet, table, format };
[[nodiscard]] bool ls_needs_state(const LsFilters& filters, LsOutput output,
                                  std::string_view format);
// Whether ls must read the records: anything but -q with no filter or name filters
// only (the names are the store's directory listing).
[[nodiscard]] bool ls_needs_records(const LsFilters& filters, LsOutput output);
// A state query's answer on a row made from the record: STATE, URL (running
// machines only), ACTIVE (URL equals DOCKER_HOST), DOCKER, ERRORS, RESPONSE.
void apply_state_answer(LsRow& row, const StateAnswer& answer, const std::string& url,
                        const std::string& docker_host);

// Go's text/tabwriter over tab-separated cells (flags 0, padchar ' '); the cell
// after a line's last tab is not padded.
std::string tabwriter_format(std::string_view text, int min_width, int padding);

} // namespace dm
