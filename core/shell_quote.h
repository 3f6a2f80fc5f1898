#pragma once
// POSIX shell quoting for commands sent to a remote shell.
#include <string>
#include <string_view>

namespace dm {

// Returns text unchanged when it is only safe characters, else single-quoted.
std::string shell_quote(std::string_view text);

} // namespace dm
