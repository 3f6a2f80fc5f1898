#pragma once
// The table of drivers: every driver on one line in registry.cpp.
#include "core/driver.h"

#include <string>
#include <vector>

namespace dm {

const std::vector<DriverEntry>& driver_table();
// nullptr when no driver has that name.
const DriverEntry* find_driver(const std::string& name);

} // namespace dm
