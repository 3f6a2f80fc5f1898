#pragma once
// The generic driver: an existing Linux server reached over SSH. dmachine
// provisions its engine but never manages its power or deletes it.
#include "core/driver.h"

namespace dm {

std::vector<DriverFlag> generic_driver_flags();
std::unique_ptr<Driver> make_generic_driver(const DriverContext& context,
                                            const nlohmann::json& config);

} // namespace dm
