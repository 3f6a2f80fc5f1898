#pragma once
// Untrusted text (a remote file name, a line of a downloaded file) as it may be shown in a
// message: control characters as \xNN, at most max characters.
#include <cstddef>
#include <string>
#include <string_view>

namespace dm {

std::string printable(std::string_view text, std::size_t max = 200);

} // namespace dm
