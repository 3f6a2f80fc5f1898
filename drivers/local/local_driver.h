#pragma once
// The local driver: a Debian 12 host on this computer, made of Linux namespaces
// (net, pid, mount, uts, cgroup), systemd as PID 1 and sshd, with an overlay
// root over a cached debootstrap image and its own IP on a NATed bridge.
#include "core/driver.h"

namespace dm {

std::vector<DriverFlag> local_driver_flags();
std::unique_ptr<Driver> make_local_driver(const DriverContext& context,
                                          const nlohmann::json& config);

} // namespace dm
