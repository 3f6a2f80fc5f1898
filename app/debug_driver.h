#pragma once
// With --debug, a driver whose every call is logged (name, outcome, duration);
// otherwise the driver itself.
#include "core/driver.h"

#include <memory>
#include <string>

namespace dm {

std::unique_ptr<Driver> with_debug_log(std::unique_ptr<Driver> driver,
                                       const std::string& driver_name);

} // namespace dm
