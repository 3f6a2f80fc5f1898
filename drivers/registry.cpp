#include "drivers/registry.h"

namespace dm {

const std::vector<DriverEntry>& driver_table() {
  static const std::vector<DriverEntry> table = {};
  return table;
}

const DriverEntry* find_driver(const std::string& name) {
  for (const auto& entry : driver_table()) {
    if (entry.name == name) {
      return &entry;
    }
  }
  return nullptr;
}

} // namespace dm
