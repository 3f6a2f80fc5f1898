#pragma once
// The virtualbox driver: a VirtualBox VM from a cloud image (drivers/vm), driven through
// VBoxManage with docker-machine's flags; NIC 1 NAT with an SSH forward on 127.0.0.1, NIC 2
// host-only with the machine's static IP, which is where SSH and the engine are reached.
#include "core/driver.h"
#include "drivers/virtualbox/vbox_output.h"

#include <filesystem>
#include <functional>
#include <optional>

namespace dm {

// What the driver asks of this computer besides VBoxManage; tests pass their own.
struct VirtualBoxHost {
  std::function<std::optional<std::filesystem::path>()> find_vboxmanage;
  std::function<std::string()> read_cpuinfo; // "" when the CPU flags cannot be read
  std::function<Result<int>()> free_port;    // a free TCP port on 127.0.0.1
  std::function<void(int)> sleep_ms;
  std::function<bool(const std::filesystem::path&)> is_directory;
  virtualbox::HostOs os = virtualbox::HostOs::linux_or_windows;
};
// The real computer: PATH / VBOX_MSI_INSTALL_PATH / VBOX_INSTALL_PATH, /proc/cpuinfo, ...
VirtualBoxHost system_virtualbox_host();

std::vector<DriverFlag> virtualbox_driver_flags();
std::unique_ptr<Driver> make_virtualbox_driver(const DriverContext& context,
                                               const nlohmann::json& config);
std::unique_ptr<Driver> make_virtualbox_driver_on(const DriverContext& context,
                                                  const nlohmann::json& config,
                                                  VirtualBoxHost host);

} // namespace dm
