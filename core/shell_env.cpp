#include "core/shell_env.h"

#include <fmt/format.h>
#include <sstream>

namespace dm {

Result<ShellKind> parse_shell_kind(const std::string& name) {
  if (name == "bash" || name == "zsh" || name == "sh" || name == "ksh" || name == "dash") {
    return ShellKind::posix;
  }
  if (name == "fish") {
    return ShellKind::fish;
  }
  if (name == "powershell" || name == "pwsh") {
    return ShellKind::powershell;
  }
  if (name == "cmd") {
    return ShellKind::cmd;
  }
  if (name == "emacs") {
    return ShellKind::emacs;
  }
  if (name == "tcsh" || name == "csh") {
    return ShellKind::tcsh;
  }
  return fail(ErrorKind::usage,
              fmt::format("Error: Unknown shell \"{}\": use one of bash, zsh, sh, fish, "
                          "powershell, cmd, emacs, tcsh",
                          name));
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

std::string set_line(ShellKind shell, const std::string& key, const std::string& value) {
  switch (shell) {
  case ShellKind::posix:
    return fmt::format("export {}=\"{}\"\n", key, value);
  case ShellKind::fish:
    return fmt::format("set -gx {} \"{}\";\n", key, value);
  case ShellKind::powershell:
    return fmt::format("$Env:{} = \"{}\"\n", key, value);
  case ShellKind::cmd:
    return fmt::format("SET {}={}\n", key, value);
  case ShellKind::emacs:
    return fmt::format("(setenv \"{}\" \"{}\")\n", key, value);
  case ShellKind::tcsh:
    return fmt::format("setenv {} \"{}\";\n", key, value);
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

} // namespace dm
