#pragma once
// Shell code for `env` and `cluster env`, byte for byte as docker-machine
// prints it, for bash/zsh/sh, fish, powershell, cmd, emacs and tcsh.
#include "core/result.h"

#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace dm {

enum class ShellKind { posix, fish, powershell, cmd, emacs, tcsh };

// "bash", "zsh", "sh", "fish", ... ; an unknown name is an error listing the known ones.
Result<ShellKind> parse_shell_kind(const std::string& name);
// Every name parse_shell_kind accepts.
std::vector<std::string_view> shell_names();
// From $SHELL's base name; posix when unset or unknown (docker-machine failed there).
ShellKind shell_kind_from_env(const char* shell_env);

using EnvVars = std::vector<std::pair<std::string, std::string>>;

// "sh", "fish", ... for messages.
std::string_view shell_name(ShellKind shell);

// Values that cannot be quoted for the shell are an error: control characters
// (a newline only in tcsh and cmd, which cannot hold one) and, for cmd, its
// metacharacters. Call before render_env_set.
Result<void> check_env_values(ShellKind shell, const EnvVars& vars);
// Lines setting vars (each value quoted for the shell; plain values print exactly
// as docker-machine prints them), then the two-line hint running hint_command.
std::string render_env_set(ShellKind shell, const EnvVars& vars, const std::string& hint_command);
// Lines unsetting names, then the hint.
std::string render_env_unset(ShellKind shell, const std::vector<std::string>& names,
                             const std::string& hint_command);

// NO_PROXY's value: the existing list (no_proxy preferred, as docker-machine does)
// with ip appended once.
std::string no_proxy_value(const std::string& existing, const std::string& ip);

// The value of this process's environment variable name; "" when it is unset.
std::string env_value(const char* name);

} // namespace dm
