// `env` output with arbitrary values (a value comes from an untrusted record, e.g.
// its IP address or store path). For sh, fish and emacs every variable is one
// statement `<set K >"..."` whose double-quoted string reads back as exactly the value,
// with no unescaped quote, $ or backtick to break out (a newline inside the quotes is
// fine there). For every shell, values without control characters (which tcsh and cmd
// cannot hold, so `env` refuses them before rendering) give one line per variable
// starting with its set statement, then the two hint lines.
// Input: up to four values separated by NUL.
#include "core/shell_env.h"
#include "tests/fuzz/fuzz_support.h"

#include <algorithm>
#include <fmt/format.h>
#include <optional>

namespace {

constexpr dm::ShellKind k_shells[] = {dm::ShellKind::posix, dm::ShellKind::fish,
                                      dm::ShellKind::powershell, dm::ShellKind::cmd,
                                      dm::ShellKind::emacs, dm::ShellKind::tcsh};
constexpr const char* k_keys[] = {"DOCKER_TLS_VERIFY", "DOCKER_HOST", "DOCKER_CERT_PATH",
                                  "DOCKER_MACHINE_NAME"};

std::string set_prefix(dm::ShellKind shell, const std::string& key) {
  switch (shell) {
  case dm::ShellKind::posix:
    return fmt::format("export {}=", key);
  case dm::ShellKind::fish:
    return fmt::format("set -gx {} ", key);
  case dm::ShellKind::powershell:
    return fmt::format("$Env:{} = ", key);
  case dm::ShellKind::cmd:
    return fmt::format("SET {}=", key);
  case dm::ShellKind::emacs:
    return fmt::format("(setenv \"{}\" ", key);
  case dm::ShellKind::tcsh:
    return fmt::format("setenv {} ", key);
  }
  return "";
}

// What follows the closing quote of a set statement.
std::string set_suffix(dm::ShellKind shell) {
  switch (shell) {
  case dm::ShellKind::fish:
    return ";\n";
  case dm::ShellKind::emacs:
    return ")\n";
  default:
    return "\n";
  }
}

// Characters that end or expand inside "..." unless a backslash precedes them.
std::string_view special_in_quotes(dm::ShellKind shell) {
  switch (shell) {
  case dm::ShellKind::posix:
    return "\"$`";
  case dm::ShellKind::fish:
    return "\"$";
  default:
    return "\"";
  }
}

// Reads a double-quoted string at text[pos] (backslash escapes the next character);
// nullopt when it is not closed or has an unescaped special character. pos moves past it.
std::optional<std::string> read_quoted(const std::string& text, std::size_t& pos,
                                       std::string_view special) {
  if (pos >= text.size() || text[pos] != '"') {
    return std::nullopt;
  }
  std::string value;
  for (++pos; pos < text.size(); ++pos) {
    char c = text[pos];
    if (c == '\\' && pos + 1 < text.size()) {
      value += text[++pos];
    } else if (c == '"') {
      ++pos;
      return value;
    } else if (special.find(c) != std::string_view::npos) {
      return std::nullopt;
    } else {
      value += c;
    }
  }
  return std::nullopt;
}

void check_quoted_statements(dm::ShellKind shell, const dm::EnvVars& vars,
                             const std::string& text) {
  std::size_t pos = 0;
  for (const auto& [key, value] : vars) {
    const std::string prefix = set_prefix(shell, key);
    dm::fuzz::check(text.compare(pos, prefix.size(), prefix) == 0,
                    "each variable's statement starts with its set statement", text);
    pos += prefix.size();
    auto read = read_quoted(text, pos, special_in_quotes(shell));
    dm::fuzz::check(read.has_value(), "a value stays inside its quotes", text);
    dm::fuzz::check(*read == value, "the quoted value reads back as the value", text);
    const std::string suffix = set_suffix(shell);
    dm::fuzz::check(text.compare(pos, suffix.size(), suffix) == 0,
                    "the statement ends after the quoted value", text);
    pos += suffix.size();
  }
}

std::size_t line_count(const std::string& text) {
  return static_cast<std::size_t>(std::count(text.begin(), text.end(), '\n'));
}

bool has_control(const std::string& value) {
  return std::any_of(value.begin(), value.end(), [](char c) {
    auto u = static_cast<unsigned char>(c);
    return u < 0x20 || u == 0x7f;
  });
}

} // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  auto values = dm::fuzz::split_parts(dm::fuzz::as_text(data, size), 4);
  dm::EnvVars vars;
  for (std::size_t i = 0; i < values.size(); ++i) {
    vars.emplace_back(k_keys[i], values[i]);
  }
  const bool plain = std::none_of(values.begin(), values.end(), has_control);
  for (auto shell : k_shells) {
    std::string text = dm::render_env_set(shell, vars, "dmachine env web1");
    if (shell == dm::ShellKind::posix || shell == dm::ShellKind::fish ||
        shell == dm::ShellKind::emacs) {
      check_quoted_statements(shell, vars, text);
    }
    if (plain) {
      dm::fuzz::check(line_count(text) == vars.size() + 2,
                      "env prints one line per variable plus two hint lines", text);
    }
  }
  return 0;
}
