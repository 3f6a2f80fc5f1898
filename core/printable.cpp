#include "core/printable.h"

#include <fmt/format.h>

namespace dm {

std::string printable(std::string_view text, std::size_t max) {
  std::string out;
  for (char c : text.substr(0, max)) {
    auto byte = static_cast<unsigned char>(c);
    out += byte < 0x20 || byte == 0x7f ? fmt::format("\\x{:02x}", byte) : std::string(1, c);
  }
  if (text.size() > max) {
    out += "...";
  }
  return out;
}

} // namespace dm
