#include "drivers/vm/static_ip.h"

#include "core/machine_record.h"

#include <array>
#include <cctype>
#include <cstdint>
#include <fmt/format.h>
#include <set>

namespace dm::vm {

namespace {

constexpr int k_min_prefix = 8;
constexpr int k_max_prefix = 30; // the host's address and one machine

// Networks no machine address may come from: "this network", loopback, link-local (the
// cloud metadata address lives there), multicast and the reserved block with broadcast.
struct Reserved {
  const char* cidr;
  const char* what;
};
constexpr std::array<Reserved, 5> k_reserved = {{
    {"0.0.0.0/8", "\"this network\""},
    {"127.0.0.0/8", "loopback"},
    {"169.254.0.0/16", "link-local"},
    {"224.0.0.0/4", "multicast"},
    {"240.0.0.0/4", "reserved"},
}};

// One decimal number of 1 to max_digits digits without a leading zero; nullopt otherwise.
std::optional<unsigned> parse_decimal(std::string_view text, size_t max_digits) {
  if (text.empty() || text.size() > max_digits || (text.size() > 1 && text[0] == '0')) {
    return std::nullopt;
  }
  unsigned value = 0;
  for (char c : text) {
    if (c < '0' || c > '9') {
      return std::nullopt;
    }
    value = value * 10 + static_cast<unsigned>(c - '0');
  }
  return value;
}

bool overlaps(const Ipv4Network& a, const Ipv4Network& b) {
  const Ipv4Network& wider = a.prefix < b.prefix ? a : b;
  return wider.contains(a.network()) && wider.contains(b.network());
}

// An untrusted value for a message: quoted, control characters escaped, cut at 80 bytes.
std::string shown(std::string_view text) {
  return quoted_for_display(std::string(text.substr(0, 80))) + (text.size() > 80 ? "..." : "");
}

} // namespace

std::string Ipv4Address::to_string() const {
  return fmt::format("{}.{}.{}.{}", value >> 24, (value >> 16) & 0xff, (value >> 8) & 0xff,
                     value & 0xff);
}

std::optional<Ipv4Address> parse_ipv4(std::string_view text) {
  Ipv4Address address;
  for (int index = 0; index < 4; ++index) {
    size_t dot = text.find('.');
    if ((index < 3) != (dot != std::string_view::npos)) {
      return std::nullopt;
    }
    auto octet = parse_decimal(text.substr(0, dot), 3);
    if (!octet || *octet > 255) {
      return std::nullopt;
    }
    address.value = (address.value << 8) | *octet;
    text = dot == std::string_view::npos ? std::string_view() : text.substr(dot + 1);
  }
  return address;
}

std::uint32_t Ipv4Network::mask() const {
  return prefix == 0 ? 0 : ~std::uint32_t{0} << (32 - prefix);
}

Ipv4Address Ipv4Network::network() const {
  return {address.value & mask()};
}

Ipv4Address Ipv4Network::broadcast() const {
  return {address.value | ~mask()};
}

bool Ipv4Network::contains(Ipv4Address ip) const {
  return (ip.value & mask()) == network().value;
}

bool Ipv4Network::is_host(Ipv4Address ip) const {
  return contains(ip) && ip != network() && ip != broadcast();
}

std::string Ipv4Network::to_string() const {
  return fmt::format("{}/{}", network().to_string(), prefix);
}

std::optional<Ipv4Network> parse_ipv4_network(std::string_view text) {
  size_t slash = text.find('/');
  if (slash == std::string_view::npos) {
    return std::nullopt;
  }
  auto address = parse_ipv4(text.substr(0, slash));
  auto prefix = parse_decimal(text.substr(slash + 1), 2);
  if (!address || !prefix || *prefix > 32) {
    return std::nullopt;
  }
  return Ipv4Network{*address, static_cast<int>(*prefix)};
}

Result<Ipv4Network> parse_private_network(std::string_view text, std::string_view flag) {
  auto network = parse_ipv4_network(text);
  if (!network) {
    return fail(
        ErrorKind::usage,
        fmt::format("{} {} is not an IPv4 network such as 192.168.56.1/24", flag, shown(text)));
  }
  if (network->prefix < k_min_prefix || network->prefix > k_max_prefix) {
    return fail(ErrorKind::usage,
                fmt::format("{} {}: the prefix length must be /{} to /{} (a /30 holds the "
                            "host's address and one machine's)",
                            flag, text, k_min_prefix, k_max_prefix));
  }
  for (const auto& reserved : k_reserved) {
    if (overlaps(*network, *parse_ipv4_network(reserved.cidr))) {
      return fail(ErrorKind::usage,
                  fmt::format("{} {} overlaps the {} range {}; use a private network such as "
                              "192.168.56.1/24",
                              flag, text, reserved.what, reserved.cidr));
    }
  }
  if (network->address == network->broadcast()) {
    return fail(ErrorKind::usage,
                fmt::format("{} {}: {} is the broadcast address of {}; write the host's "
                            "address, e.g. {}/{}",
                            flag, text, network->address.to_string(), network->to_string(),
                            Ipv4Address{network->network().value + 1}.to_string(),
                            network->prefix));
  }
  return *network;
}

Result<void> check_virtualbox_range(const Ipv4Network& network, std::string_view flag) {
  auto allowed = *parse_ipv4_network(k_virtualbox_allowed_range);
  if (network.prefix >= allowed.prefix && allowed.contains(network.network())) {
    return {};
  }
  return fail(ErrorKind::usage,
              fmt::format("{} {} is outside the range VirtualBox 6.1.28 and later allow for "
                          "host-only networks, {}: use a network inside it, such as "
                          "192.168.56.1/24 (or list yours in /etc/vbox/networks.conf)",
                          flag, network.to_string(), k_virtualbox_allowed_range));
}

Ipv4Address host_address(const Ipv4Network& network) {
  if (network.is_host(network.address)) {
    return network.address;
  }
  return {network.network().value + 1};
}

Result<Ipv4Address> next_free_address(const Ipv4Network& network,
                                      const std::vector<std::string>& used, std::string_view flag) {
  std::set<std::uint32_t> taken{host_address(network).value};
  for (const auto& text : used) {
    if (auto ip = parse_ipv4(text)) {
      taken.insert(ip->value);
    }
  }
  for (std::uint32_t value = network.network().value + 1; value < network.broadcast().value;
       ++value) {
    if (!taken.contains(value)) {
      return Ipv4Address{value};
    }
  }
  std::uint32_t hosts = network.broadcast().value - network.network().value - 1;
  return fail(ErrorKind::usage,
              fmt::format("no free address left in {}: its {} host addresses are taken by the "
                          "host ({}) and other machines; remove a machine or choose a larger "
                          "network with {}",
                          network.to_string(), hosts, host_address(network).to_string(), flag));
}

std::string machine_mac(std::string_view key) {
  std::uint64_t hash = 14695981039346656037ull;
  for (char c : key) {
    hash ^= static_cast<unsigned char>(c);
    hash *= 1099511628211ull;
  }
  // Fold the hash so that every input byte reaches the three bytes used.
  hash ^= hash >> 32;
  hash ^= hash >> 16;
  return fmt::format("52:54:00:{:02x}:{:02x}:{:02x}", (hash >> 16) & 0xff, (hash >> 8) & 0xff,
                     hash & 0xff);
}

std::optional<std::string> normalize_mac(std::string_view text) {
  std::string digits;
  if (text.size() == 17) {
    char separator = text[2];
    if (separator != ':' && separator != '-') {
      return std::nullopt;
    }
    for (size_t i = 0; i < text.size(); ++i) {
      if (i % 3 == 2) {
        if (text[i] != separator) {
          return std::nullopt;
        }
      } else {
        digits += text[i];
      }
    }
  } else if (text.size() == 12) {
    digits = text;
  } else {
    return std::nullopt;
  }
  std::array<unsigned, 6> bytes{};
  for (size_t i = 0; i < digits.size(); ++i) {
    char c = static_cast<char>(std::tolower(static_cast<unsigned char>(digits[i])));
    unsigned nibble = 0;
    if (c >= '0' && c <= '9') {
      nibble = static_cast<unsigned>(c - '0');
    } else if (c >= 'a' && c <= 'f') {
      nibble = static_cast<unsigned>(c - 'a' + 10);
    } else {
      return std::nullopt;
    }
    bytes[i / 2] = bytes[i / 2] * 16 + nibble;
  }
  bool all_zero = bytes == std::array<unsigned, 6>{};
  if (all_zero || (bytes[0] & 1u) != 0) {
    return std::nullopt;
  }
  return fmt::format("{:02x}:{:02x}:{:02x}:{:02x}:{:02x}:{:02x}", bytes[0], bytes[1], bytes[2],
                     bytes[3], bytes[4], bytes[5]);
}

} // namespace dm::vm
