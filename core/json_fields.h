#pragma once
// Reading fields of a stored record's JSON, which is untrusted: a field of the wrong
// type reads as empty instead of throwing.
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

namespace dm {

// The strings of the array at key; a missing key, another type, or other elements are skipped.
inline std::vector<std::string> string_list_field(const nlohmann::json& config, const char* key) {
  std::vector<std::string> values;
  auto it = config.find(key);
  if (it != config.end() && it->is_array()) {
    for (const auto& item : *it) {
      if (item.is_string()) {
        values.push_back(item.get<std::string>());
      }
    }
  }
  return values;
}

} // namespace dm
