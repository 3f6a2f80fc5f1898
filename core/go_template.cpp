#include "core/go_template.h"

#include <algorithm>
#include <array>
#include <cctype>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <optional>

namespace dm {

namespace {

using nlohmann::ordered_json;
using Value = std::optional<ordered_json>; // nullopt: Go's "<no value>"

constexpr std::array<std::string_view, 4> k_functions = {"json", "prettyjson", "upper", "lower"};
constexpr std::array<std::string_view, 10> k_keywords = {
    "if", "else", "end", "range", "with", "define", "template", "block", "break", "continue"};

tl::unexpected<Error> template_error(const std::string& message) {
  return fail(ErrorKind::usage, "template: " + message);
}

bool is_space(char c) { return c == ' ' || c == '\t' || c == '\n' || c == '\r'; }

bool is_identifier(std::string_view word) {
  if (word.empty() || std::isdigit(static_cast<unsigned char>(word.front())) != 0) {
    return false;
  }
  return std::all_of(word.begin(), word.end(), [](char c) {
    return std::isalnum(static_cast<unsigned char>(c)) != 0 || c == '_' ||
           static_cast<unsigned char>(c) >= 0x80;
  });
}

// ".A.B" -> {"A", "B"}; "." -> {}.
Result<std::vector<std::string>> parse_field(std::string_view token, std::string_view action) {
  std::vector<std::string> path;
  if (token == ".") {
    return path;
  }
  std::size_t pos = 0;
  while (pos < token.size()) {
    if (token[pos] != '.') {
      return template_error("bad field \"" + std::string(token) + "\" in {{" +
                            std::string(action) + "}}");
    }
    std::size_t next = token.find('.', pos + 1);
    std::string_view part = token.substr(pos + 1, next == std::string_view::npos
                                                      ? std::string_view::npos
                                                      : next - pos - 1);
    if (!is_identifier(part)) {
      return template_error("bad field \"" + std::string(token) + "\" in {{" +
                            std::string(action) + "}}");
    }
    path.emplace_back(part);
    pos = next == std::string_view::npos ? token.size() : next;
  }
  return path;
}

struct Token {
  std::string text;
  std::size_t offset = 0; // in the action
};

std::vector<Token> tokenize(std::string_view action) {
  std::vector<Token> tokens;
  Token current;
  for (std::size_t i = 0; i < action.size(); ++i) {
    char c = action[i];
    if (is_space(c) || c == '|') {
      if (!current.text.empty()) {
        tokens.push_back(current);
        current = Token{};
      }
      if (c == '|') {
        tokens.push_back(Token{"|", i});
      }
    } else {
      if (current.text.empty()) {
        current.offset = i;
      }
      current.text += c;
    }
  }
  if (!current.text.empty()) {
    tokens.push_back(current);
  }
  return tokens;
}

// Go's ErrorContext: line from 1; the column counts bytes from 0 after the last newline
// (on the first line, the offset itself).
std::string location_of(std::string_view text, std::size_t offset) {
  std::string_view before = text.substr(0, offset);
  std::size_t line = 1 + static_cast<std::size_t>(std::count(before.begin(), before.end(), '\n'));
  std::size_t newline = before.rfind('\n');
  std::size_t column = newline == std::string_view::npos ? offset : offset - newline - 1;
  return std::to_string(line) + ":" + std::to_string(column);
}

// action_offset: where action starts in whole (the template text), for locations.
Result<std::vector<GoTemplate::Command>> parse_action(std::string_view action,
                                                      std::string_view whole = {},
                                                      std::size_t action_offset = 0) {
  auto tokens = tokenize(action);
  const std::string shown = "{{" + std::string(action) + "}}";
  if (tokens.empty()) {
    return template_error("missing value for command in " + shown);
  }
  if (std::find(k_keywords.begin(), k_keywords.end(), tokens.front().text) != k_keywords.end()) {
    return template_error("unsupported action " + shown +
                          " (dmachine supports fields, json, prettyjson, upper, lower and |)");
  }
  std::vector<GoTemplate::Command> pipeline;
  GoTemplate::Command command;
  bool empty_command = true;
  auto finish = [&]() -> Result<void> {
    if (empty_command) {
      return template_error("missing command in " + shown);
    }
    pipeline.push_back(std::move(command));
    command = GoTemplate::Command{};
    empty_command = true;
    return {};
  };
  for (const auto& [token, offset] : tokens) {
    if (token == "|") {
      DM_TRY(finish());
      continue;
    }
    if (token.front() == '.') {
      if (!empty_command && command.function.empty()) {
        return template_error("can't give argument to non-function in " + shown);
      }
      auto path = parse_field(token, action);
      DM_TRY(path);
      command.args.push_back(std::move(*path));
      command.arg_texts.push_back(token);
      command.arg_locations.push_back(location_of(whole, action_offset + offset));
      empty_command = false;
      continue;
    }
    if (empty_command && is_identifier(token)) {
      if (std::find(k_functions.begin(), k_functions.end(), token) == k_functions.end()) {
        return template_error("function \"" + token + "\" not defined");
      }
      command.function = token;
      empty_command = false;
      continue;
    }
    return template_error("unsupported action " + shown + " (at \"" + token +
                          "\"; dmachine supports fields, json, prettyjson, upper, lower and |)");
  }
  DM_TRY(finish());
  for (std::size_t i = 0; i < pipeline.size(); ++i) {
    const auto& cmd = pipeline[i];
    std::size_t args = cmd.args.size() + (i > 0 ? 1 : 0);
    if (cmd.function.empty() && i > 0) {
      return template_error("can't pipe into a field in " + shown);
    }
    if (!cmd.function.empty() && args != 1) {
      return template_error("wrong number of args for " + cmd.function + ": want 1 got " +
                            std::to_string(args) + " in " + shown);
    }
  }
  return pipeline;
}

std::string type_name(const ordered_json& value) {
  switch (value.type()) {
  case ordered_json::value_t::string:
    return "string";
  case ordered_json::value_t::boolean:
    return "bool";
  case ordered_json::value_t::array:
    return "[]interface {}";
  case ordered_json::value_t::number_float:
    return "float64";
  case ordered_json::value_t::number_integer:
  case ordered_json::value_t::number_unsigned:
    return "int";
  default:
    return "interface {}";
  }
}

// Where a field is evaluated, for Go's "template: NAME:L:C: executing ..." prefix.
struct FieldSite {
  const TemplateRun& run;
  const std::string& text;     // ".A.B"
  const std::string& location; // "1:2"
};

tl::unexpected<Error> execution_error(const FieldSite& site, const std::string& message) {
  if (site.run.name.empty()) {
    return template_error(message);
  }
  return template_error(site.run.name + ":" + site.location + ": executing \"" + site.run.name +
                        "\" at <" + site.text + ">: " + message);
}

Result<Value> lookup(const ordered_json& data, const std::vector<std::string>& path,
                     const FieldSite& site) {
  const ordered_json* current = &data;
  for (std::size_t i = 0; i < path.size(); ++i) {
    const std::string& key = path[i];
    if (current->is_null()) {
      return Value{}; // Go: a missing map entry, printed "<no value>"
    }
    if (!current->is_object()) {
      return execution_error(site, "can't evaluate field " + key + " in type " +
                                       type_name(*current));
    }
    auto it = current->find(key);
    if (it == current->end()) {
      if (i == 0 && !site.run.struct_type.empty()) {
        return execution_error(site, "can't evaluate field " + key + " in type " +
                                         site.run.struct_type);
      }
      if (site.run.missing == MissingKey::error) {
        return execution_error(site, "map has no entry for key \"" + key + "\"");
      }
      return Value{};
    }
    current = &*it;
  }
  return Value{*current};
}

std::string go_float(double value) {
  if (std::isnan(value)) {
    return "NaN";
  }
  if (std::isinf(value)) {
    return value > 0 ? "+Inf" : "-Inf";
  }
  // strconv.FormatFloat(v, 'g', -1, 64): the shortest digits that round-trip;
  // exponent form when exp < -4 or exp >= 6 (fmt's %v).
  char buffer[64];
  int digits = 1;
  for (; digits <= 17; ++digits) {
    std::snprintf(buffer, sizeof buffer, "%.*e", digits - 1, value);
    if (std::strtod(buffer, nullptr) == value) {
      break;
    }
  }
  std::string text(buffer);
  int exponent = std::atoi(text.c_str() + text.find('e') + 1);
  if (exponent < -4 || exponent >= 6) {
    return text;
  }
  int decimals = std::max(0, digits - 1 - exponent);
  std::snprintf(buffer, sizeof buffer, "%.*f", decimals, value);
  return buffer;
}

std::string call_function(const std::string& function, const Value& value) {
  if (function == "json" || function == "prettyjson") {
    ordered_json doc = value ? *value : ordered_json(nullptr);
    return function == "json" ? go_json(doc) : go_pretty_json(doc);
  }
  std::string text = value ? go_print(*value) : "<no value>";
  for (char& c : text) {
    auto u = static_cast<unsigned char>(c);
    c = static_cast<char>(function == "upper" ? std::toupper(u) : std::tolower(u));
  }
  return text;
}

// Go's encoding/json escapes <, > and & (and U+2028/2029) for safe embedding in HTML.
std::string go_escape(const std::string& dumped) {
  std::string out;
  out.reserve(dumped.size());
  for (std::size_t i = 0; i < dumped.size(); ++i) {
    char c = dumped[i];
    if (c == '<') {
      out += "\\u003c";
    } else if (c == '>') {
      out += "\\u003e";
    } else if (c == '&') {
      out += "\\u0026";
    } else if (dumped.compare(i, 3, "\xE2\x80\xA8") == 0) {
      out += "\\u2028";
      i += 2;
    } else if (dumped.compare(i, 3, "\xE2\x80\xA9") == 0) {
      out += "\\u2029";
      i += 2;
    } else {
      out += c;
    }
  }
  return out;
}

} // namespace

std::string go_print(const ordered_json& value) {
  switch (value.type()) {
  case ordered_json::value_t::null:
  case ordered_json::value_t::discarded:
    return "<nil>";
  case ordered_json::value_t::string:
    return value.get<std::string>();
  case ordered_json::value_t::boolean:
    return value.get<bool>() ? "true" : "false";
  case ordered_json::value_t::number_integer:
    return std::to_string(value.get<std::int64_t>());
  case ordered_json::value_t::number_unsigned:
    return std::to_string(value.get<std::uint64_t>());
  case ordered_json::value_t::number_float:
    return go_float(value.get<double>());
  case ordered_json::value_t::array: {
    std::string out = "[";
    for (std::size_t i = 0; i < value.size(); ++i) {
      out += (i > 0 ? " " : "") + go_print(value[i]);
    }
    return out + "]";
  }
  case ordered_json::value_t::object: {
    // fmt prints map keys sorted.
    std::vector<std::string> keys;
    for (const auto& item : value.items()) {
      keys.push_back(item.key());
    }
    std::sort(keys.begin(), keys.end());
    std::string out = "map[";
    for (std::size_t i = 0; i < keys.size(); ++i) {
      out += (i > 0 ? " " : "") + keys[i] + ":" + go_print(value.at(keys[i]));
    }
    return out + "]";
  }
  case ordered_json::value_t::binary:
    return "[binary]";
  }
  return "";
}

Result<std::string> render_object_format(std::string_view format, const ordered_json& doc,
                                         const TemplateRun& run) {
  if (format == "json") {
    return go_json(doc) + "\n";
  }
  auto parsed = parse_go_template(unescape_format(format));
  DM_TRY(parsed);
  auto text = parsed->render(doc, run);
  DM_TRY(text);
  return *text + "\n";
}

std::string go_json(const ordered_json& value) {
  return go_escape(value.dump(-1, ' ', false, ordered_json::error_handler_t::replace));
}

std::string go_pretty_json(const ordered_json& value) {
  return go_escape(value.dump(4, ' ', false, ordered_json::error_handler_t::replace));
}

Result<GoTemplate> parse_go_template(std::string_view text) {
  GoTemplate parsed;
  std::size_t pos = 0;
  bool trim_next_text = false;
  auto add_text = [&](std::string_view literal) {
    std::string chunk(literal);
    if (trim_next_text) {
      chunk.erase(0, std::min(chunk.size(), chunk.find_first_not_of(" \t\r\n")));
      trim_next_text = false;
    }
    if (!chunk.empty()) {
      parsed.nodes.push_back(GoTemplate::Node{chunk, {}});
    }
  };
  while (pos < text.size()) {
    std::size_t open = text.find("{{", pos);
    if (open == std::string_view::npos) {
      add_text(text.substr(pos));
      break;
    }
    std::size_t close = text.find("}}", open + 2);
    if (close == std::string_view::npos) {
      return template_error("unclosed action (missing \"}}\")");
    }
    std::string_view action = text.substr(open + 2, close - open - 2);
    bool trim_left = action.size() >= 2 && action[0] == '-' && is_space(action[1]);
    bool trim_right = action.size() >= 2 && action.back() == '-' && is_space(action[action.size() - 2]);
    std::string literal(text.substr(pos, open - pos));
    if (trim_left) {
      auto end = literal.find_last_not_of(" \t\r\n");
      literal.erase(end == std::string::npos ? 0 : end + 1);
      action.remove_prefix(1);
    }
    add_text(literal);
    if (trim_right) {
      action.remove_suffix(1);
    }
    trim_next_text = trim_right;
    pos = close + 2;

    std::string_view inner = action;
    while (!inner.empty() && is_space(inner.front())) {
      inner.remove_prefix(1);
    }
    while (!inner.empty() && is_space(inner.back())) {
      inner.remove_suffix(1);
    }
    if (inner.size() >= 4 && inner.substr(0, 2) == "/*" && inner.substr(inner.size() - 2) == "*/") {
      continue; // a comment
    }
    const std::size_t action_offset =
        static_cast<std::size_t>(action.data() - text.data()); // after a trimmed "-"
    auto pipeline = parse_action(action, text, action_offset);
    DM_TRY(pipeline);
    parsed.nodes.push_back(GoTemplate::Node{"", std::move(*pipeline)});
  }
  return parsed;
}

Result<std::string> GoTemplate::render(const ordered_json& data) const {
  return render(data, TemplateRun{});
}

Result<std::string> GoTemplate::render(const ordered_json& data, const TemplateRun& run) const {
  static const std::string k_unknown;
  auto site = [&](const Command& command) {
    return FieldSite{run, command.arg_texts.empty() ? k_unknown : command.arg_texts.front(),
                     command.arg_locations.empty() ? k_unknown : command.arg_locations.front()};
  };
  std::string out;
  for (const auto& node : nodes) {
    if (node.pipeline.empty()) {
      out += node.text;
      continue;
    }
    Value value;
    bool is_text = false; // function results are text, printed as they are
    std::string text;
    for (std::size_t i = 0; i < node.pipeline.size(); ++i) {
      const auto& command = node.pipeline[i];
      if (command.function.empty()) {
        auto looked_up = lookup(data, command.args.front(), site(command));
        DM_TRY(looked_up);
        value = std::move(*looked_up);
        continue;
      }
      Value argument;
      if (!command.args.empty()) {
        auto looked_up = lookup(data, command.args.front(), site(command));
        DM_TRY(looked_up);
        argument = std::move(*looked_up);
      } else if (is_text) {
        argument = ordered_json(text);
      } else {
        argument = value;
      }
      text = call_function(command.function, argument);
      is_text = true;
    }
    if (is_text) {
      out += text;
    } else {
      out += value ? go_print(*value) : "<no value>";
    }
  }
  return out;
}

Result<std::string> GoTemplate::render(const nlohmann::json& data) const {
  return render(ordered_json(data));
}

std::string unescape_format(std::string_view text) {
  std::string out;
  out.reserve(text.size());
  for (std::size_t i = 0; i < text.size(); ++i) {
    if (text[i] == '\\' && i + 1 < text.size() && (text[i + 1] == 't' || text[i + 1] == 'n')) {
      out += text[i + 1] == 't' ? '\t' : '\n';
      ++i;
    } else {
      out += text[i];
    }
  }
  return out;
}

} // namespace dm
