#pragma once
// The table of drivers: every driver on one line in registry.cpp.
#include "core/driver.h"

#include <string>
#include <vector>

namespace dm {

const std::vector<DriverEntry>& driver_table();
// nullptr when no driver has that name.
const DriverEntry* find_driver(const std::string& name);
// The driver named by name; a usage error naming the help command otherwise.
Result<const DriverEntry*> find_driver_or_fail(const std::string& name);
// options over the driver's defaults.
DriverOptions with_driver_defaults(const DriverEntry& driver, const DriverOptions& options);

} // namespace dm
