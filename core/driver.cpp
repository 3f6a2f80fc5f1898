#include "core/driver.h"

namespace dm {

std::string DriverOptions::get(const std::string& name, const std::string& fallback) const {
  auto it = values.find(name);
  if (it == values.end() || it->second.empty()) {
    return fallback;
  }
  return it->second.back(); // the last occurrence wins, as with any CLI flag
}

std::vector<std::string> DriverOptions::get_list(const std::string& name) const {
  auto it = values.find(name);
  return it == values.end() ? std::vector<std::string>{} : it->second;
}

bool DriverOptions::has(const std::string& name) const {
  auto it = values.find(name);
  return it != values.end() && !it->second.empty();
}

} // namespace dm
