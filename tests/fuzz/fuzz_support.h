#pragma once
// Shared pieces of the libFuzzer targets: the input as text, splitting it into
// parts, and a check that aborts (a crash for libFuzzer) when an invariant breaks.
#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <string>
#include <string_view>
#include <vector>

namespace dm::fuzz {

inline std::string as_text(const uint8_t* data, size_t size) {
  return {reinterpret_cast<const char*>(data), size};
}

// Splits at NUL bytes into at most max_parts parts (the last keeps the rest).
inline std::vector<std::string> split_parts(std::string_view text, size_t max_parts) {
  std::vector<std::string> parts;
  while (parts.size() + 1 < max_parts) {
    auto nul = text.find('\0');
    if (nul == std::string_view::npos) {
      break;
    }
    parts.emplace_back(text.substr(0, nul));
    text.remove_prefix(nul + 1);
  }
  parts.emplace_back(text);
  return parts;
}

// An invariant of the code under test; a broken one is reported like a crash.
inline void check(bool condition, const char* what, std::string_view detail = {}) {
  if (!condition) {
    std::fprintf(stderr, "fuzz invariant broken: %s\n%.*s\n", what,
                 static_cast<int>(detail.size()), detail.data());
    std::abort();
  }
}

} // namespace dm::fuzz
