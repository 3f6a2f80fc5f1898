#pragma once
// VBoxManage's outputs read as data (pure functions): showvminfo --machinereadable, list
// hostonlyifs / hostonlynets / dhcpservers, --version, "hostonlyif create", VBox.log lines,
// /proc/cpuinfo. Every output is untrusted: unknown lines are skipped, values are checked.
#include "core/machine_state.h"
#include "core/result.h"

#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace dm::virtualbox {

// key=value lines of `showvminfo --machinereadable`; quoted keys and values are unquoted and
// their \\ and \" escapes undone (VirtualBox 6.1+ escapes both; 5.x printed some paths raw).
std::map<std::string, std::string> parse_machine_readable(std::string_view text);

// VMState mapped as docker-machine does: running, paused, saved; poweroff and aborted are
// stopped; anything else (or no VMState line) is none.
MachineState vm_state(const std::map<std::string, std::string>& info);

// True when VBoxManage's stderr says the VM is not registered.
bool is_machine_not_found(std::string_view stderr_text);

// One host-only interface of `list hostonlyifs` (VirtualBox 6.1; 7 on Linux and Windows).
struct HostOnlyInterface {
  std::string name;          // "vboxnet0"
  std::string ip;            // "192.168.56.1"
  std::string netmask;       // "255.255.255.0"
  bool dhcp = false;
  std::string status;        // "Up"
  std::string network_name;  // "HostInterfaceNetworking-vboxnet0"
};
// Records start at "Name:"; an error when two share a name or an IP (docker-machine's rule:
// VirtualBox would route to one of them at random).
Result<std::vector<HostOnlyInterface>> parse_hostonly_ifs(std::string_view text);

// One host-only network of `list hostonlynets` (VirtualBox 7, required on macOS).
struct HostOnlyNetwork {
  std::string name;
  std::string netmask;
  std::string lower_ip;
  std::string upper_ip;
  bool enabled = false;
  std::string network_name;
};
std::vector<HostOnlyNetwork> parse_hostonly_nets(std::string_view text);

// One DHCP server of `list dhcpservers`.
struct DhcpServer {
  std::string network_name; // "HostInterfaceNetworking-vboxnet0"
  std::string ip;
  std::string netmask;
  std::string lower_ip;
  std::string upper_ip;
  bool enabled = false;
};
std::vector<DhcpServer> parse_dhcp_servers(std::string_view text);

// The interface name of "Interface 'vboxnet1' was successfully created"; nullopt otherwise.
std::optional<std::string> parse_created_interface(std::string_view text);

// `VBoxManage --version`: the last non-empty line (warnings about the kernel module come
// first), "7.0.20r163906" -> {7, 0}.
struct VBoxVersion {
  int major = 0;
  int minor = 0;
  std::string text; // the version line as printed
};
Result<VBoxVersion> parse_version(std::string_view output);
// A pre-create error unless version >= 6.1 (the first with the host-only range rule and the
// modifyvm/storage options the driver uses).
Result<void> check_version(const VBoxVersion& version);

// VirtualBox 7 on macOS has no host-only interfaces, only host-only networks.
enum class HostOs { linux_or_windows, macos };
bool use_hostonly_networks(const VBoxVersion& version, HostOs os);

// docker-machine's check of the CPU: VT-x (vmx) or AMD-V (svm) among the flags.
bool cpu_has_virtualization(std::string_view cpuinfo);
// docker-machine's check of a started VM's VBox.log for a disabled VT-x.
bool log_says_vtx_disabled(std::string_view log);

// --virtualbox-share-folder "DIR:NAME" (DIR may hold colons: C:\dir:name).
struct ShareFolder {
  std::string dir;
  std::string name;
};
ShareFolder parse_share_folder(std::string_view value);

// "52:54:00:ab:cd:ef" -> "525400ABCDEF" (modifyvm --macaddressN); the input must be normalized.
std::string vbox_mac(std::string_view mac);

} // namespace dm::virtualbox
