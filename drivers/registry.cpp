#include "drivers/registry.h"

#include "drivers/amazonec2/amazonec2_driver.h"
#include "drivers/generic/generic_driver.h"
#include "drivers/google/google_driver.h"
#include "drivers/local/local_driver.h"
#include "drivers/qemu/qemu_driver.h"
#include "drivers/virtualbox/virtualbox_driver.h"

#include <fmt/format.h>

namespace dm {

const std::vector<DriverEntry>& driver_table() {
  static const std::vector<DriverEntry> table = {
      {"local", "A Debian host on this computer (namespaces, systemd, sshd); needs root",
       local_driver_flags(), make_local_driver, ""},
      {"generic", "An existing Linux server reached over SSH", generic_driver_flags(),
       make_generic_driver,
       "The server itself was left as it is: the generic driver only forgets it."},
      {"virtualbox", "A VirtualBox VM from a cloud image, driven through VBoxManage",
       virtualbox_driver_flags(), make_virtualbox_driver, ""},
      {"qemu", "A VM from a cloud image run by QEMU (bridge network as root, else user networking)",
       qemu_driver_flags(), make_qemu_driver, ""},
      {"amazonec2", "An Amazon EC2 instance (EC2 Query API; key pair and security group made "
                    "and removed with it)",
       amazonec2_driver_flags(), make_amazonec2_driver, ""},
      {"google", "A Google Compute Engine instance (Compute Engine API)", google_driver_flags(),
       make_google_driver, ""},
  };
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

Result<const DriverEntry*> find_driver_or_fail(const std::string& name) {
  const DriverEntry* entry = find_driver(name);
  if (entry == nullptr) {
    return fail(ErrorKind::usage,
                fmt::format("Driver \"{}\" not found. Run 'dmachine create --help' for the "
                            "list of drivers.",
                            name));
  }
  return entry;
}

DriverOptions with_driver_defaults(const DriverEntry& driver, const DriverOptions& options) {
  DriverOptions result = options;
  for (const auto& flag : driver.flags) {
    if (!result.has(flag.name) && !flag.default_value.empty()) {
      result.values[flag.name] = {flag.default_value};
    }
  }
  return result;
}

} // namespace dm
