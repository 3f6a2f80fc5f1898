#pragma once
// The hosts' network: IP leases per bridge (/var/lib/dmachine/local/<bridge>), the
// bridge with its gateway and NAT rules, and each host's netns and veth pair.
// Ownership: dmachine deletes only what it made — a bridge carrying its alias, a
// gateway address it recorded adding, iptables rules tagged "dmachine:<bridge>",
// and ip_forward when it recorded turning it on.
#include "core/machine_store.h"
#include "core/result.h"
#include "drivers/local/local_util.h"

#include <cstdint>
#include <filesystem>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <vector>

namespace dm::local {

// "a.b.c." for the subnet "a.b.c.0/24"; a usage error for anything but an IPv4 /24.
Result<std::string> subnet_prefix(const std::string& subnet);

// True when name can be a Linux interface name: 1 to 15 of [A-Za-z0-9_.-], not "." or "..".
bool valid_interface_name(const std::string& name);

// An IPv4 network "a.b.c.d/n" (host bits kept in address).
struct Ipv4Net {
  std::uint32_t address = 0;
  int prefix = 32;
};
// Parses "a.b.c.d/n" or "a.b.c.d" (a /32); nullopt for anything else.
std::optional<Ipv4Net> parse_ipv4_net(const std::string& text);
// True when the two networks share at least one address.
bool overlaps(const Ipv4Net& a, const Ipv4Net& b);

// One IPv4 address or route of this computer, from `ip` output.
struct NetUse {
  std::string device; // "" for routes without a device (unreachable, blackhole)
  std::string cidr;   // "10.0.0.5/24" (address) or "10.0.0.0/8" (route)
};
// The addresses in `ip -4 -o addr show` output.
std::vector<NetUse> parse_ip_addresses(const std::string& text);
// The unicast routes in `ip -4 route show table all` output (default, local and
// broadcast routes left out).
std::vector<NetUse> parse_ip_routes(const std::string& text);

// What this computer has that a subnet on a bridge must not collide with.
struct HostNetState {
  std::vector<NetUse> addresses;
  std::vector<NetUse> routes;
  bool bridge_exists = false;
  bool bridge_is_bridge = false;
  std::string bridge_alias; // "dmachine <subnet>" on a bridge dmachine made
  // Aliases of the other devices that have addresses, by device ("" when none).
  std::vector<std::pair<std::string, std::string>> aliases;
};
// "" when subnet can serve hosts on bridge; else why not and what to do (a precreate error
// text): an address or route of another device in the subnet (two bridges with one subnet),
// an address of the bridge in the subnet other than its gateway .1/24, a bridge made by
// dmachine for another subnet, or an interface of that name that is no bridge.
std::string subnet_conflict(const std::string& subnet, const std::string& bridge,
                            const HostNetState& state);

// The host's MAC for its IP: 02:dc (locally administered) and the four octets; "" when ip
// is no IPv4 address.
std::string mac_for_ip(const std::string& ip);
// The alias dmachine gives a bridge it makes (the proof it may delete it).
std::string bridge_alias(const std::string& subnet);
// The comment that tags dmachine's iptables rules for a bridge.
std::string rule_tag(const std::string& bridge);

// The names of a machine's network objects, derived from its directory, never read as-is.
struct MachineNetIds {
  std::string id;        // 8 hex digits: fnv1a of lease_key
  std::string netns;     // dm-<id>
  std::string veth;      // dmv<id>
  std::string lease_key; // the machine directory as spelled in its lease
};
// The ids for a new machine: from machine_dir made absolute with symlinks resolved, so that
// two spellings of one store share them and two stores never do.
MachineNetIds machine_net_ids(const std::filesystem::path& machine_dir);
// The network fields of a stored "Driver" object, checked against what this driver
// produces for machine_dir. Netns and Veth must be this machine's own names (of its
// canonical, absolute or given directory), Bridge an interface name, Subnet an IPv4 /24,
// IPAddress empty or a host .2-.254 of Subnet. Anything else is an error naming the field.
struct NetworkFields {
  MachineNetIds ids;
  std::string bridge;
  std::string subnet;
  std::string ip;
};
Result<NetworkFields> validate_network_fields(const nlohmann::json& driver,
                                              const std::filesystem::path& machine_dir,
                                              const std::string& default_bridge,
                                              const std::string& default_subnet);

struct NetworkSpec {
  std::string id; // the machine's short id (names the veth peer)
  std::string ip; // the host's address; "" until allocated
  std::string bridge;
  std::string subnet; // an IPv4 /24, e.g. 10.213.0.0/24
  std::string netns;
  std::string veth;                  // the host side of the veth pair
  std::filesystem::path machine_dir; // owner of a lease (MachineNetIds::lease_key)
};

class HostNetwork {
public:
  HostNetwork(const ToolRunner& tools, NetworkSpec spec)
      : m_tools(tools), m_spec(std::move(spec)) {}

  // Reads this computer's addresses, routes and the bridge, then refuses (precreate
  // error) a subnet or bridge that subnet_conflict() objects to.
  Result<void> check_subnet() const;
  // The machine's leased IP on the bridge, or a new lease on the lowest free .2-.254.
  Result<std::string> allocate_ip() const;
  // Drops the machine's lease and the host's neighbour entry for its IP; when it held
  // the last lease, also removes what dmachine made for the bridge (see the top).
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
  Result<void> release_bridge() const;
  Result<void> remove_tagged_rules() const;
  Result<void> flush_neighbour(const std::string& ip) const;

  const ToolRunner& m_tools;
  NetworkSpec m_spec;
};

} // namespace dm::local
