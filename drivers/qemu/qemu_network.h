#pragma once
// The qemu driver's bridge network (root only): one bridge per private network with the
// host's address, one tap per machine; the bridge goes with its last tap. Host-wide lock.
#include "core/result.h"
#include "drivers/local/local_util.h"

#include <string>

namespace dm::qemu {

struct BridgeSpec {
  std::string bridge;    // bridge_name(host_cidr)
  std::string host_cidr; // "10.213.244.1/24"
  std::string tap;       // tap_name(machine dir)
};

// Fails (saying which) when another interface of this computer has an address inside the
// network of host_cidr: the VMs' addresses would collide with it.
Result<void> check_network_free(const local::ToolRunner& tools, const BridgeSpec& spec);
// Makes the bridge if missing (address, up; traffic between its ports allowed when
// br_netfilter would send it through iptables) and the machine's tap on it (made anew).
Result<void> setup_bridge_network(const local::ToolRunner& tools, const BridgeSpec& spec);
// Deletes the tap if present, then the bridge when no port is left on it.
Result<void> teardown_bridge_network(const local::ToolRunner& tools, const BridgeSpec& spec);
// True when the interface exists.
bool interface_exists(const std::string& name);

} // namespace dm::qemu
