#pragma once
// The qemu driver: a cloud image booted by qemu-system-x86_64 (daemonized, QMP socket, pid
// file in the machine directory) on a qcow2 overlay, seeded by cloud-init with a static IP on
// a bridge (root) or reached through user-networking forwards on 127.0.0.1 (no root).
#include "core/driver.h"

namespace dm {

std::vector<DriverFlag> qemu_driver_flags();
std::unique_ptr<Driver> make_qemu_driver(const DriverContext& context,
                                         const nlohmann::json& config);

} // namespace dm
