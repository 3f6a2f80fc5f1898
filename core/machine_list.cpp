#include "core/machine_list.h"

#include "core/go_template.h"

#include <algorithm>
#include <cctype>

namespace dm {

namespace {

using nlohmann::ordered_json;

// DM's default: the same template that `ls --format` would take.
constexpr std::string_view k_default_format =
    "table {{.Name}}\t{{.Active}}\t{{.DriverName}}\t{{.State}}\t{{.URL}}\t{{.Swarm}}\t"
    "{{.DockerVersion}}\t{{.Error}}";
constexpr std::string_view k_table_prefix = "table";
// tabwriter.NewWriter(os.Stdout, 5, 1, 3, ' ', 0), as docker-machine used.
constexpr int k_min_width = 5;
constexpr int k_padding = 3;

std::string lower(std::string_view text) {
  std::string out(text);
  std::transform(out.begin(), out.end(), out.begin(),
                 [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
  return out;
}

bool equal_fold(std::string_view a, std::string_view b) { return lower(a) == lower(b); }

// Header titles by field name; the header row runs the row template over these.
ordered_json header_json() {
  return ordered_json{
      {"Name", "NAME"},         {"Active", "ACTIVE"},       {"ActiveHost", "ACTIVE_HOST"},
      {"ActiveSwarm", "ACTIVE_SWARM"}, {"DriverName", "DRIVER"}, {"State", "STATE"},
      {"URL", "URL"},           {"Swarm", "SWARM"},         {"DockerVersion", "DOCKER"},
      {"Error", "ERRORS"},      {"ResponseTime", "RESPONSE"},
  };
}

std::size_t rune_count(std::string_view text) {
  return static_cast<std::size_t>(std::count_if(text.begin(), text.end(), [](char c) {
    return (static_cast<unsigned char>(c) & 0xC0) != 0x80;
  }));
}

std::vector<std::string> split(std::string_view text, char separator) {
  std::vector<std::string> parts;
  std::size_t start = 0;
  while (true) {
    std::size_t end = text.find(separator, start);
    if (end == std::string_view::npos) {
      parts.emplace_back(text.substr(start));
      return parts;
    }
    parts.emplace_back(text.substr(start, end - start));
    start = end + 1;
  }
}

// Go's tabwriter.Writer.format: a column block is a run of consecutive lines that
// have a tab-terminated cell in that column; its width is the widest cell plus padding.
class TabFormatter {
public:
  TabFormatter(std::vector<std::vector<std::string>> lines, std::size_t min_width,
               std::size_t padding)
      : m_lines(std::move(lines)), m_min_width(min_width), m_padding(padding) {}

  std::string run() {
    format(0, m_lines.size());
    return m_out;
  }

private:
  void format(std::size_t line0, std::size_t line1) {
    std::size_t column = m_widths.size();
    for (std::size_t current = line0; current < line1; ++current) {
      if (column + 1 >= m_lines[current].size()) {
        continue;
      }
      write_lines(line0, current);
      line0 = current;
      std::size_t width = m_min_width;
      for (; current < line1; ++current) {
        const auto& line = m_lines[current];
        if (column + 1 >= line.size()) {
          break;
        }
        width = std::max(width, rune_count(line[column]) + m_padding);
      }
      m_widths.push_back(width);
      format(line0, current);
      m_widths.pop_back();
      line0 = current; // like Go, the loop's ++ then skips the line that ended the block
    }
    write_lines(line0, line1);
  }

  void write_lines(std::size_t line0, std::size_t line1) {
    for (std::size_t i = line0; i < line1; ++i) {
      const auto& line = m_lines[i];
      for (std::size_t j = 0; j < line.size(); ++j) {
        m_out += line[j];
        if (j < m_widths.size()) {
          std::size_t used = rune_count(line[j]);
          m_out.append(m_widths[j] > used ? m_widths[j] - used : 0, ' ');
        }
      }
      if (i + 1 < m_lines.size()) {
        m_out += '\n';
      }
    }
  }

  std::vector<std::vector<std::string>> m_lines;
  std::size_t m_min_width;
  std::size_t m_padding;
  std::vector<std::size_t> m_widths;
  std::string m_out;
};

std::string swarm_master_name(const std::string& swarm) {
  auto space = swarm.find(" (");
  return space == std::string::npos ? swarm : swarm.substr(0, space);
}

bool label_matches(const std::vector<std::string>& labels, const std::string& filter) {
  bool key_only = filter.find('=') == std::string::npos;
  return std::any_of(labels.begin(), labels.end(), [&](const std::string& label) {
    return key_only ? label.substr(0, label.find('=')) == filter : label == filter;
  });
}

template <typename T, typename Match>
bool any_or_empty(const std::vector<T>& wanted, Match match) {
  return wanted.empty() || std::any_of(wanted.begin(), wanted.end(), match);
}

} // namespace

Result<LsFilters> parse_ls_filters(const std::vector<std::string>& filters) {
  LsFilters parsed;
  for (const auto& filter : filters) {
    auto eq = filter.find('=');
    if (eq == std::string::npos) {
      return fail(ErrorKind::usage, "Unsupported filter syntax.");
    }
    std::string key = filter.substr(0, eq);
    std::string value = filter.substr(eq + 1);
    if (key == "driver") {
      parsed.driver.push_back(value);
    } else if (key == "state") {
      parsed.state.push_back(value);
    } else if (key == "name") {
      try {
        parsed.name.emplace_back(value, std::regex::ECMAScript);
      } catch (const std::regex_error& e) {
        return fail(ErrorKind::usage, "Invalid name filter '" + value + "': " + e.what());
      }
      parsed.name_texts.push_back(value);
    } else if (key == "label") {
      parsed.label.push_back(value);
    } else if (key == "swarm") {
      parsed.swarm.push_back(value);
    } else {
      return fail(ErrorKind::usage, "Unsupported filter key '" + key + "'");
    }
  }
  return parsed;
}

bool row_matches(const LsRow& row, const LsFilters& filters) {
  return any_or_empty(filters.driver,
                      [&](const std::string& d) { return equal_fold(d, row.driver_name); }) &&
         any_or_empty(filters.state,
                      [&](const std::string& s) { return equal_fold(s, row.state); }) &&
         any_or_empty(filters.name,
                      [&](const std::regex& re) { return std::regex_search(row.name, re); }) &&
         any_or_empty(filters.label,
                      [&](const std::string& l) { return label_matches(row.labels, l); }) &&
         any_or_empty(filters.swarm, [&](const std::string& s) {
           return !row.swarm.empty() && swarm_master_name(row.swarm) == s;
         });
}

std::vector<LsRow> filter_rows(const std::vector<LsRow>& rows, const LsFilters& filters) {
  std::vector<LsRow> kept;
  std::copy_if(rows.begin(), rows.end(), std::back_inserter(kept),
               [&](const LsRow& row) { return row_matches(row, filters); });
  return kept;
}

void sort_rows(std::vector<LsRow>& rows) {
  std::stable_sort(rows.begin(), rows.end(), [](const LsRow& a, const LsRow& b) {
    auto la = lower(a.name);
    auto lb = lower(b.name);
    return la != lb ? la < lb : a.name < b.name;
  });
}

std::string go_duration_ms(long ms) {
  if (ms == 0) {
    return "0s";
  }
  std::string sign = ms < 0 ? "-" : "";
  long value = ms < 0 ? -ms : ms;
  if (value < 1000) {
    return sign + std::to_string(value) + "ms";
  }
  long hours = value / 3600000;
  long minutes = (value / 60000) % 60;
  long seconds = (value / 1000) % 60;
  long millis = value % 1000;
  std::string out = sign;
  if (hours > 0) {
    out += std::to_string(hours) + "h";
  }
  if (hours > 0 || minutes > 0) {
    out += std::to_string(minutes) + "m";
  }
  out += std::to_string(seconds);
  if (millis > 0) {
    std::string fraction = std::to_string(1000 + millis).substr(1);
    fraction.erase(fraction.find_last_not_of('0') + 1);
    out += "." + fraction;
  }
  return out + "s";
}

ordered_json ls_row_json(const LsRow& row) {
  return ordered_json{
      {"Name", row.name},
      {"Active", row.active},
      {"ActiveHost", row.active == "*"},
      {"ActiveSwarm", row.active == "* (swarm)"},
      {"DriverName", row.driver_name},
      {"State", row.state},
      {"URL", row.url},
      {"Swarm", row.swarm},
      {"DockerVersion", row.docker_version},
      {"Error", row.error},
      {"ResponseTime", go_duration_ms(row.response_time_ms)},
  };
}

std::string tabwriter_format(std::string_view text, int min_width, int padding) {
  std::vector<std::vector<std::string>> lines;
  for (const auto& line : split(text, '\n')) {
    lines.push_back(split(line, '\t'));
  }
  return TabFormatter(std::move(lines), static_cast<std::size_t>(std::max(min_width, 0)),
                      static_cast<std::size_t>(std::max(padding, 0)))
      .run();
}

std::string render_ls_table(std::vector<LsRow> rows) {
  auto rendered = render_ls_format(std::move(rows), k_default_format);
  return rendered ? *rendered : std::string(); // the built-in template always parses
}

Result<std::string> render_ls_format(std::vector<LsRow> rows, std::string_view format) {
  sort_rows(rows);
  if (format == "json") { // one object per line, as the docker CLI's list commands print it
    std::string lines;
    for (const auto& row : rows) {
      lines += go_json(ls_row_json(row)) + "\n";
    }
    return lines;
  }
  std::string text = unescape_format(format);
  const bool table = text.rfind(k_table_prefix, 0) == 0;
  if (table) {
    text.erase(0, k_table_prefix.size());
    auto first = text.find_first_not_of(' ');
    text.erase(0, first == std::string::npos ? text.size() : first);
  }
  auto parsed = parse_go_template(text);
  DM_TRY(parsed);
  // docker-machine runs the template over a struct: an unknown field is an error.
  const TemplateRun run{"ls", MissingKey::error, "commands.HostListItem"};
  std::string out;
  if (table) {
    auto header = parsed->render(header_json(), run);
    DM_TRY(header);
    out += *header + "\n";
  }
  for (const auto& row : rows) {
    auto line = parsed->render(ls_row_json(row), run);
    DM_TRY(line);
    out += *line + "\n";
  }
  if (table) {
    return tabwriter_format(out, k_min_width, k_padding);
  }
  return out;
}

Result<void> check_ls_format(std::string_view format) {
  // The header row (or nothing) alone: every field name is checked against a row.
  auto rendered = render_ls_format({LsRow{}}, format);
  DM_TRY(rendered);
  return {};
}

std::string render_ls_quiet(std::vector<LsRow> rows) {
  sort_rows(rows);
  std::string out;
  for (const auto& row : rows) {
    out += row.name + "\n";
  }
  return out;
}

namespace {

bool identifier_char(char c) {
  return std::isalnum(static_cast<unsigned char>(c)) != 0 || c == '_';
}

// True when an action of the template names a field beyond the stateless ones
// (or the whole row, `.`); words inside string literals count too (harmless: ls queries).
bool template_needs_state(std::string_view text) {
  static const std::vector<std::string_view> k_stateless = {"Name", "DriverName", "Swarm"};
  for (size_t open = text.find("{{"); open != std::string_view::npos;
       open = text.find("{{", open + 2)) {
    size_t close = text.find("}}", open + 2);
    std::string_view action =
        text.substr(open + 2, close == std::string_view::npos ? std::string_view::npos
                                                              : close - open - 2);
    for (size_t dot = action.find('.'); dot != std::string_view::npos;
         dot = action.find('.', dot + 1)) {
      size_t end = dot + 1;
      while (end < action.size() && identifier_char(action[end])) {
        ++end;
      }
      std::string_view field = action.substr(dot + 1, end - dot - 1);
      if (std::find(k_stateless.begin(), k_stateless.end(), field) == k_stateless.end()) {
        return true;
      }
    }
    if (close == std::string_view::npos) {
      break;
    }
  }
  return false;
}

} // namespace

bool ls_needs_state(const LsFilters& filters, LsOutput output, std::string_view format) {
  if (!filters.state.empty()) {
    return true;
  }
  switch (output) {
  case LsOutput::quiet:
    return false;
  case LsOutput::table:
    return true;
  case LsOutput::format:
    return format == "json" || template_needs_state(format);
  }
  return true;
}

bool ls_needs_records(const LsFilters& filters, LsOutput output) {
  return output != LsOutput::quiet || !filters.driver.empty() || !filters.state.empty() ||
         !filters.label.empty() || !filters.swarm.empty();
}

void apply_state_answer(LsRow& row, const StateAnswer& answer, const std::string& url,
                        const std::string& docker_host) {
  row.state = std::string(to_string(answer.state));
  if (answer.state == MachineState::running) {
    row.url = url;
    if (!docker_host.empty() && docker_host == url) {
      row.active = "*";
    }
  }
  if (!answer.docker_version.empty()) {
    row.docker_version = "v" + answer.docker_version;
  }
  row.error = answer.error;
  row.response_time_ms = answer.response_ms;
}

} // namespace dm
