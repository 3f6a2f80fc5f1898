#pragma once
// The amazonec2 driver: an EC2 instance made over the EC2 Query API (SigV4, no SDK),
// with docker-machine's --amazonec2-* flags. Credentials are never stored; the key pair,
// security group and instance it makes are tagged and removed again by rm or a failed create.
#include "core/driver.h"

namespace dm {

std::vector<DriverFlag> amazonec2_driver_flags();
std::unique_ptr<Driver> make_amazonec2_driver(const DriverContext& context,
                                              const nlohmann::json& config);

} // namespace dm
