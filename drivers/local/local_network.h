#pragma once
// The hosts' network: IP leases per bridge (/var/lib/dmachine/local/<bridge>), the
// bridge with its gateway and NAT rules, and each host's netns and veth pair.
#include "core/machine_store.h"
#include "core/result.h"
#include "drivers/local/local_util.h"

#include <filesystem>
#include <string>
#include <vector>

namespace dm::local {

// "a.b.c." for the subnet "a.b.c.0/24"; a usage error for anything but an IPv4 /24.
Result<std::string> subnet_prefix(const std::string& subnet);

struct NetworkSpec {
  std::string id; // the machine's short id (names the veth peer)
  std::string ip; // the host's address; "" until allocated
  std::string bridge;
  std::string subnet; // an IPv4 /24, e.g. 10.213.0.0/24
  std::string netns;
  std::string veth;                  // the host side of the veth pair
  std::filesystem::path machine_dir; // owner of a lease
};

class HostNetwork {
public:
  HostNetwork(const ToolRunner& tools, NetworkSpec spec)
      : m_tools(tools), m_spec(std::move(spec)) {}

  // The machine's leased IP on the bridge, or a new lease on the lowest free .2-.254.
  Result<std::string> allocate_ip() const;
  // Drops the machine's lease; when no lease is left, also removes the bridge, its NAT
  // rules and the shared "dmachine" cgroup level.
  Result<void> free_ip() const;
  // Makes the bridge (gateway .1, forwarding, NAT) if missing, then the host's netns and
  // veth pair with its IP and default route. Expects no netns or veth left from before.
  Result<void> setup() const;
  // Deletes the host's veth and netns when they exist.
  Result<void> remove_links() const;

private:
  struct Lease {
    std::string ip;
    std::string machine_dir;
  };

  [[nodiscard]] std::filesystem::path leases_dir() const;
  [[nodiscard]] std::vector<Lease> read_leases() const;
  Result<void> write_leases(const std::vector<Lease>& leases) const;
  Result<FileLock> lock_leases() const;
  [[nodiscard]] std::vector<std::vector<std::string>> nat_rules() const;
  Result<void> ensure_bridge() const;
  Result<void> remove_bridge() const;

  const ToolRunner& m_tools;
  NetworkSpec m_spec;
};

} // namespace dm::local
