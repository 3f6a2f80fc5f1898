#include "core/shell_env.h"

#include "core/machine_record.h"

#include <algorithm>
#include <cstdlib>
#include <fmt/format.h>
#include <sstream>

namespace dm {

namespace {

struct ShellNameKind {
  std::string_view name;
  ShellKind kind;
};

// Every name --shell accepts, in the order messages and completion list them.
constexpr ShellNameKind k_shell_names[] = {
    {"bash", ShellKind::posix},     {"zsh", ShellKind::posix},   {"sh", ShellKind::posix},
    {"ksh", ShellKind::posix},      {"dash", ShellKind::posix},  {"fish", ShellKind::fish},
    {"powershell", ShellKind::powershell}, {"pwsh", ShellKind::powershell},
    {"cmd", ShellKind::cmd},        {"emacs", ShellKind::emacs}, {"tcsh", ShellKind::tcsh},
    {"csh", ShellKind::tcsh},
};

} // namespace

std::vector<std::string_view> shell_names() {
  std::vector<std::string_view> names;
  for (const auto& entry : k_shell_names) {
    names.push_back(entry.name);
  }
  return names;
}

Result<ShellKind> parse_shell_kind(const std::string& name) {
  for (const auto& entry : k_shell_names) {
    if (entry.name == name) {
      return entry.kind;
    }
  }
  return fail(ErrorKind::usage,
              fmt::format("Error: Unknown shell \"{}\": use one of bash, zsh, sh, fish, "
                          "powershell, cmd, emacs, tcsh",
                          name));
}

std::string_view shell_name(ShellKind shell) {
  switch (shell) {
  case ShellKind::posix:
    return "sh";
  case ShellKind::fish:
    return "fish";
  case ShellKind::powershell:
    return "powershell";
  case ShellKind::cmd:
    return "cmd";
  case ShellKind::emacs:
    return "emacs";
  case ShellKind::tcsh:
    return "tcsh";
  }
  return "sh";
}

ShellKind shell_kind_from_env(const char* shell_env) {
  if (shell_env == nullptr || *shell_env == '\0') {
    return ShellKind::posix;
  }
  std::string path = shell_env;
  auto kind = parse_shell_kind(path.substr(path.rfind('/') + 1));
  return kind ? *kind : ShellKind::posix;
}

namespace {

// Inside "...": a backslash before each character of escaped.
std::string escape_in_double_quotes(const std::string& value, std::string_view escaped) {
  std::string out;
  for (char c : value) {
    if (escaped.find(c) != std::string_view::npos) {
      out += '\\';
    }
    out += c;
  }
  return "\"" + out + "\"";
}

bool has_any(const std::string& value, std::string_view characters) {
  return value.find_first_of(characters) != std::string::npos;
}

// PowerShell also takes the typographic quotes U+2018-201B as ' and U+201C-201E as ".
bool has_powershell_quote(const std::string& value) {
  for (std::size_t i = 0; i + 2 < value.size(); ++i) {
    if (value.compare(i, 2, "\xE2\x80") == 0) {
      auto third = static_cast<unsigned char>(value[i + 2]);
      if (third >= 0x98 && third <= 0x9E) {
        return true;
      }
    }
  }
  return false;
}

// A single-quoted PowerShell string: only ' (and its typographic forms) is special,
// written twice.
std::string powershell_single_quoted(const std::string& value) {
  std::string out = "'";
  for (std::size_t i = 0; i < value.size(); ++i) {
    if (value[i] == '\'') {
      out += "''";
      continue;
    }
    if (i + 2 < value.size() && value.compare(i, 2, "\xE2\x80") == 0) {
      auto third = static_cast<unsigned char>(value[i + 2]);
      if (third >= 0x98 && third <= 0x9B) {
        out += value.substr(i, 3) + value.substr(i, 3);
        i += 2;
        continue;
      }
    }
    out += value[i];
  }
  return out + "'";
}

// csh has no escape inside "..." for $, ` or !, and no newline inside quotes at all:
// a value with any of these is written as '...' pieces, with ' as \' and ! as \!.
std::string tcsh_quoted(const std::string& value) {
  if (!has_any(value, "$`!\"\\'\n")) {
    return "\"" + value + "\"";
  }
  std::string out = "'";
  for (char c : value) {
    if (c == '\'') {
      out += "'\\''";
    } else if (c == '!') {
      out += "'\\!'";
    } else {
      out += c;
    }
  }
  return out + "'";
}

constexpr std::string_view k_cmd_special = "&|<>^%\"!()";

// A value as a literal for the shell; each form keeps docker-machine's bytes for
// plain values and cannot be broken out of by quotes, $(...), backticks or newlines.
std::string quoted_value(ShellKind shell, const std::string& value) {
  switch (shell) {
  case ShellKind::posix:
    return escape_in_double_quotes(value, "\\\"$`");
  case ShellKind::fish:
    return escape_in_double_quotes(value, "\\\"$");
  case ShellKind::powershell:
    if (has_any(value, "$`\"") || has_powershell_quote(value)) {
      return powershell_single_quoted(value);
    }
    return "\"" + value + "\"";
  case ShellKind::cmd:
    return value; // checked by unsafe_value: cmd has no quoting to rely on
  case ShellKind::emacs:
    return escape_in_double_quotes(value, "\\\"");
  case ShellKind::tcsh:
    return tcsh_quoted(value);
  }
  return value;
}

std::string set_line(ShellKind shell, const std::string& key, const std::string& value) {
  const std::string quoted = quoted_value(shell, value);
  switch (shell) {
  case ShellKind::posix:
    return fmt::format("export {}={}\n", key, quoted);
  case ShellKind::fish:
    return fmt::format("set -gx {} {};\n", key, quoted);
  case ShellKind::powershell:
    return fmt::format("$Env:{} = {}\n", key, quoted);
  case ShellKind::cmd:
    return fmt::format("SET {}={}\n", key, quoted);
  case ShellKind::emacs:
    return fmt::format("(setenv \"{}\" {})\n", key, quoted);
  case ShellKind::tcsh:
    return fmt::format("setenv {} {};\n", key, quoted);
  }
  return "";
}

std::string unset_line(ShellKind shell, const std::string& key) {
  switch (shell) {
  case ShellKind::posix:
    return fmt::format("unset {}\n", key);
  case ShellKind::fish:
    return fmt::format("set -e {};\n", key);
  case ShellKind::powershell:
    return fmt::format("Remove-Item Env:\\\\{}\n", key);
  case ShellKind::cmd:
    return fmt::format("SET {}=\n", key);
  case ShellKind::emacs:
    return fmt::format("(setenv \"{}\" nil)\n", key);
  case ShellKind::tcsh:
    return fmt::format("unsetenv {};\n", key);
  }
  return "";
}

std::string usage_hint(ShellKind shell, const std::string& command) {
  std::string comment = "#";
  std::string line;
  switch (shell) {
  case ShellKind::posix:
    line = fmt::format("eval $({})", command);
    break;
  case ShellKind::fish:
    line = fmt::format("eval ({})", command);
    break;
  case ShellKind::powershell:
    line = fmt::format("& {} | Invoke-Expression", command);
    break;
  case ShellKind::cmd:
    comment = "REM";
    line = fmt::format("\t@FOR /f \"tokens=*\" %i IN ('{}') DO @%i", command);
    break;
  case ShellKind::emacs:
    comment = ";;";
    line = fmt::format(
        "(with-temp-buffer (shell-command \"{}\" (current-buffer)) (eval-buffer))", command);
    break;
  case ShellKind::tcsh:
    comment = ":";
    line = fmt::format("eval `{}`", command);
    break;
  }
  return fmt::format("{} Run this command to configure your shell: \n{} {}\n", comment, comment,
                     line);
}

} // namespace

Result<void> check_env_values(ShellKind shell, const EnvVars& vars) {
  for (const auto& [key, value] : vars) {
    bool control = std::any_of(value.begin(), value.end(), [&](char c) {
      auto u = static_cast<unsigned char>(c);
      // A newline is quoted safely except where the shell cannot hold one.
      bool newline_ok = c == '\n' && shell != ShellKind::tcsh && shell != ShellKind::cmd;
      return (u < 0x20 && !newline_ok) || u == 0x7f;
    });
    if (control) {
      return fail(fmt::format("Error: the value of {} ({}) has a control character, which "
                              "cannot be written safely as {} code",
                              key, quoted_for_display(value), shell_name(shell)));
    }
    if (shell == ShellKind::cmd && has_any(value, k_cmd_special)) {
      return fail(fmt::format("Error: the value of {} ({}) has one of {} , which cmd would "
                              "run as code; use another shell",
                              key, quoted_for_display(value), k_cmd_special));
    }
  }
  return {};
}

std::string render_env_set(ShellKind shell, const EnvVars& vars, const std::string& hint_command) {
  std::string text;
  for (const auto& [key, value] : vars) {
    text += set_line(shell, key, value);
  }
  return text + usage_hint(shell, hint_command);
}

std::string render_env_unset(ShellKind shell, const std::vector<std::string>& names,
                             const std::string& hint_command) {
  std::string text;
  for (const auto& name : names) {
    text += unset_line(shell, name);
  }
  return text + usage_hint(shell, hint_command);
}

std::string no_proxy_value(const std::string& existing, const std::string& ip) {
  if (existing.empty()) {
    return ip;
  }
  std::stringstream items(existing);
  std::string item;
  while (std::getline(items, item, ',')) {
    if (item == ip) {
      return existing;
    }
  }
  return existing + "," + ip;
}

std::string env_value(const char* name) {
  const char* value = std::getenv(name);
  return value != nullptr ? value : "";
}

} // namespace dm
