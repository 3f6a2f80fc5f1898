#pragma once
// The google driver: a Compute Engine instance made over the Compute v1 JSON API, with
// dmachine's firewall rules (SSH + engine from anywhere, swarm ports between dmachine
// machines only); a failed create and rm remove exactly what it made.
#include "core/driver.h"

namespace dm {

std::vector<DriverFlag> google_driver_flags();
std::unique_ptr<Driver> make_google_driver(const DriverContext& context,
                                           const nlohmann::json& config);

} // namespace dm
