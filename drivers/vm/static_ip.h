#pragma once
// Static addresses of VM machines on their private network: strict IPv4 and CIDR parsing,
// the host's address and the next free machine address in a network, VirtualBox's
// allowed host-only range, and a stable MAC address per machine. Pure functions.
#include "core/result.h"

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace dm::vm {

struct Ipv4Address {
  std::uint32_t value = 0;

  [[nodiscard]] std::string to_string() const;
  friend bool operator==(const Ipv4Address&, const Ipv4Address&) = default;
};

// "a.b.c.d": four decimal octets 0-255, no sign, space or leading zero ("010" is refused
// because inet_aton reads it as octal); nullopt for anything else.
std::optional<Ipv4Address> parse_ipv4(std::string_view text);

// A network with the address it was written with: "192.168.56.1/24" keeps .1 in address.
struct Ipv4Network {
  Ipv4Address address;
  int prefix = 32;

  [[nodiscard]] std::uint32_t mask() const;
  [[nodiscard]] Ipv4Address network() const;
  [[nodiscard]] Ipv4Address broadcast() const;
  [[nodiscard]] bool contains(Ipv4Address ip) const;
  // True for an address of the network that is neither its network nor broadcast address.
  [[nodiscard]] bool is_host(Ipv4Address ip) const;
  // "192.168.56.0/21": the network address and the prefix.
  [[nodiscard]] std::string to_string() const;
};

// "a.b.c.d/n" with 0 <= n <= 32; nullopt for anything else.
std::optional<Ipv4Network> parse_ipv4_network(std::string_view text);

// A network for machines' static addresses, given with a flag (named in every error, as
// "--virtualbox-hostonly-cidr"): a prefix of /8 to /30, not loopback, link-local,
// multicast, 0.0.0.0/8 or reserved, and a written address that is the network or a host
// of it (never the broadcast address). Usage errors.
Result<Ipv4Network> parse_private_network(std::string_view text, std::string_view flag);

// VirtualBox 6.1.28 and later allow host-only networks only inside this range unless
// /etc/vbox/networks.conf says otherwise.
inline constexpr std::string_view k_virtualbox_allowed_range = "192.168.56.0/21";
// Usage error naming the allowed range and the flag when network is not inside it.
// Only the virtualbox driver calls it (qemu bridges may use any private network).
Result<void> check_virtualbox_range(const Ipv4Network& network, std::string_view flag);

// The host's address on the network: the written address when it is a host address
// ("192.168.99.1/24", docker-machine's style), else the network's first address (.1).
Ipv4Address host_address(const Ipv4Network& network);

// The lowest host address of network after the host's own that is not in used (the
// addresses the store's machines already hold; unparsable entries are ignored). An error
// naming the network, its size and the flag when every address is taken.
Result<Ipv4Address> next_free_address(const Ipv4Network& network,
                                      const std::vector<std::string>& used, std::string_view flag);

// A stable MAC address for a machine: 52:54:00 (locally administered, unicast) and three
// bytes of a 64-bit FNV-1a hash of key (the machine's name, or its store path and name).
std::string machine_mac(std::string_view key);

// "52:54:00:ab:cd:ef" for a MAC written as six colon- or dash-separated hex pairs or as 12
// hex digits (VirtualBox's form); nullopt for anything else, and for a multicast or
// all-zero address (no NIC can have one).
std::optional<std::string> normalize_mac(std::string_view text);

} // namespace dm::vm
