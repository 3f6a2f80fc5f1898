#include "drivers/local/local_network.h"

#include "drivers/local/local_cgroup.h"

#include <algorithm>
#include <array>
#include <fmt/format.h>
#include <set>
#include <sstream>
#include <unistd.h>

namespace dm::local {

namespace fs = std::filesystem;

namespace {

constexpr const char* k_leases_root = "/var/lib/dmachine/local";
constexpr int k_lease_lock_timeout_seconds = 120;
constexpr const char* k_ip_forward = "/proc/sys/net/ipv4/ip_forward";
// Present while dmachine holds ip_forward at 1 after finding it 0: the last machine
// on this computer sets it back.
constexpr const char* k_ip_forward_mark = "ip_forward.dmachine";
// In a bridge's lease directory: the gateway address dmachine added to a bridge it did
// not make (removed again with the last machine).
constexpr const char* k_gateway_mark = "gateway";
constexpr int k_rule_delete_rounds = 20;

// iptables argv for one rule with an action (-C, -A, -I, -D).
std::vector<std::string> iptables_argv(const std::vector<std::string>& rule,
                                       const std::string& action) {
  std::vector<std::string> argv = {"iptables", "-w", "30", rule[0], rule[1], action, rule[2]};
  argv.insert(argv.end(), rule.begin() + 3, rule.end());
  return argv;
}

// A value from a record, safe to quote in a message: printable, at most 64 characters.
std::string shown(const std::string& value) {
  std::string out = value.substr(0, 64);
  std::replace_if(
      out.begin(), out.end(), [](char c) { return c < 0x20 || c == 0x7f; }, '?');
  return "\"" + out + (value.size() > 64 ? "...\"" : "\"");
}

std::string sysfs_net(const std::string& device, const char* file) {
  return trim(read_text(fs::path("/sys/class/net") / device / file));
}

bool is_dmachine_alias(const std::string& alias) { return alias.rfind("dmachine ", 0) == 0; }

// The machine directory spelled canonically (symlinks resolved), absolutely, and as given:
// a lease or netns name made from any of them is this machine's.
std::vector<std::string> spellings(const fs::path& machine_dir) {
  std::vector<std::string> out;
  auto add = [&](fs::path path) {
    if (!path.empty() && !path.has_filename()) {
      path = path.parent_path(); // no trailing separator
    }
    auto text = path.string();
    if (!text.empty() && std::find(out.begin(), out.end(), text) == out.end()) {
      out.push_back(text);
    }
  };
  std::error_code error;
  auto absolute = fs::absolute(machine_dir, error).lexically_normal();
  if (!error) {
    auto canonical = fs::weakly_canonical(absolute, error);
    if (!error) {
      add(canonical);
    }
    add(absolute);
  }
  add(machine_dir);
  return out;
}

MachineNetIds ids_for(const std::string& key) {
  auto id = fnv1a_hex(key);
  return {id, "dm-" + id, "dmv" + id, key};
}

// True while a lease's machine still exists (its directory or its network namespace).
bool lease_alive(const std::string& machine_dir) {
  std::error_code ec;
  return fs::exists(machine_dir, ec) ||
         fs::exists(fs::path("/run/netns") / ("dm-" + fnv1a_hex(machine_dir)), ec);
}

// True when any bridge's lease file names a machine that still exists.
bool any_live_lease() {
  std::error_code error;
  for (const auto& entry : fs::directory_iterator(k_leases_root, error)) {
    std::istringstream in(read_text(entry.path() / "leases"));
    std::string line;
    while (std::getline(in, line)) {
      auto space = line.find(' ');
      if (space != std::string::npos && lease_alive(line.substr(space + 1))) {
        return true;
      }
    }
  }
  return false;
}

Result<FileLock> lock_global() {
  DM_TRY(make_dir(k_leases_root, 0755));
  auto lock = lock_file(fs::path(k_leases_root) / ".lock", k_lease_lock_timeout_seconds);
  DM_TRY_CTX(lock, "lock the local driver's network state");
  return std::move(*lock);
}

} // namespace

Result<std::string> subnet_prefix(const std::string& subnet) {
  auto slash = subnet.find('/');
  std::array<int, 4> octets{};
  if (slash == std::string::npos || subnet.substr(slash + 1) != "24" ||
      !parse_ipv4(subnet.substr(0, slash), octets)) {
    return fail(ErrorKind::usage,
                fmt::format("--local-subnet: \"{}\" is not an IPv4 /24 network such as "
                            "10.213.0.0/24 (only /24 subnets are supported)",
                            subnet));
  }
  return fmt::format("{}.{}.{}.", octets[0], octets[1], octets[2]);
}

bool valid_interface_name(const std::string& name) {
  return !name.empty() && name.size() <= 15 && name != "." && name != ".." &&
         name.find_first_not_of("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789_.-") ==
             std::string::npos;
}

std::optional<Ipv4Net> parse_ipv4_net(const std::string& text) {
  auto slash = text.find('/');
  std::array<int, 4> octets{};
  if (!parse_ipv4(text.substr(0, slash), octets)) {
    return std::nullopt;
  }
  Ipv4Net net;
  for (int octet : octets) {
    net.address = (net.address << 8) | static_cast<std::uint32_t>(octet);
  }
  if (slash != std::string::npos) {
    long prefix = 0;
    if (!parse_int(text.substr(slash + 1), prefix) || prefix < 0 || prefix > 32) {
      return std::nullopt;
    }
    net.prefix = static_cast<int>(prefix);
  }
  return net;
}

bool overlaps(const Ipv4Net& a, const Ipv4Net& b) {
  // Two networks overlap when they agree on the bits of the shorter prefix.
  int prefix = std::min(a.prefix, b.prefix);
  std::uint32_t mask = prefix == 0 ? 0 : ~std::uint32_t{0} << (32 - prefix);
  return (a.address & mask) == (b.address & mask);
}

std::vector<NetUse> parse_ip_addresses(const std::string& text) {
  std::vector<NetUse> out;
  std::istringstream in(text);
  std::string line;
  while (std::getline(in, line)) {
    auto words = split_ws(line);
    if (words.size() < 4 || words[2] != "inet") {
      continue;
    }
    auto device = words[1].substr(0, words[1].find('@'));
    if (!device.empty() && device.back() == ':') {
      device.pop_back();
    }
    out.push_back({device, words[3]});
  }
  return out;
}

std::vector<NetUse> parse_ip_routes(const std::string& text) {
  static const std::set<std::string> k_skipped = {"local", "broadcast", "multicast", "anycast",
                                                  "throw", "nat"};
  static const std::set<std::string> k_kept = {"unicast", "unreachable", "blackhole",
                                               "prohibit"};
  std::vector<NetUse> out;
  std::istringstream in(text);
  std::string line;
  while (std::getline(in, line)) {
    auto words = split_ws(line);
    if (words.empty() || k_skipped.count(words[0]) > 0) {
      continue;
    }
    size_t at = k_kept.count(words[0]) > 0 ? 1 : 0;
    if (at >= words.size() || words[at] == "default" || !parse_ipv4_net(words[at])) {
      continue;
    }
    NetUse use{"", words[at]};
    for (size_t i = at + 1; i + 1 < words.size(); ++i) {
      if (words[i] == "dev") {
        use.device = words[i + 1];
      }
    }
    out.push_back(use);
  }
  return out;
}

std::string mac_for_ip(const std::string& ip) {
  std::array<int, 4> octets{};
  if (!parse_ipv4(ip, octets)) {
    return "";
  }
  return fmt::format("02:dc:{:02x}:{:02x}:{:02x}:{:02x}", octets[0], octets[1], octets[2],
                     octets[3]);
}

std::string bridge_alias(const std::string& subnet) { return "dmachine " + subnet; }

std::string rule_tag(const std::string& bridge) { return "dmachine:" + bridge; }

std::string subnet_conflict(const std::string& subnet, const std::string& bridge,
                            const HostNetState& state) {
  auto net = parse_ipv4_net(subnet);
  auto prefix = subnet_prefix(subnet);
  if (!net || !prefix) {
    return prefix ? fmt::format("--local-subnet: {} is not an IPv4 /24 network", shown(subnet))
                  : prefix.error().message;
  }
  if (state.bridge_exists && !state.bridge_is_bridge) {
    return fmt::format("--local-bridge: an interface named {} exists and is not a bridge; name "
                       "a bridge, or a name not in use (dmachine then makes the bridge)",
                       shown(bridge));
  }
  if (is_dmachine_alias(state.bridge_alias) && state.bridge_alias != bridge_alias(subnet)) {
    auto other = state.bridge_alias.substr(std::string("dmachine ").size());
    return fmt::format("bridge {} was made by dmachine for the subnet {}; use --local-subnet {} "
                       "with it, or another --local-bridge",
                       bridge, other, other);
  }
  auto gateway = *prefix + "1/24";
  auto alias_of = [&](const std::string& device) {
    for (const auto& [name, alias] : state.aliases) {
      if (name == device) {
        return alias;
      }
    }
    return std::string();
  };
  for (const auto& address : state.addresses) {
    auto used = parse_ipv4_net(address.cidr);
    if (!used || !overlaps(*used, *net)) {
      continue;
    }
    if (address.device == bridge) {
      if (address.cidr == gateway) {
        continue;
      }
      return fmt::format("bridge {} has the address {}, inside --local-subnet {}: dmachine gives "
                         "the bridge {} and the hosts .2-.254; choose another --local-subnet, or "
                         "remove that address",
                         bridge, address.cidr, subnet, gateway);
    }
    if (is_dmachine_alias(alias_of(address.device))) {
      return fmt::format("--local-subnet {} is already served by bridge {} (made by dmachine); "
                         "two bridges cannot share a subnet: use --local-bridge {}, or another "
                         "--local-subnet",
                         subnet, address.device, address.device);
    }
    return fmt::format("--local-subnet {} overlaps {} on interface {}: hosts would get addresses "
                       "this computer reaches through {}; choose another --local-subnet",
                       subnet, address.cidr, address.device, address.device);
  }
  for (const auto& route : state.routes) {
    auto used = parse_ipv4_net(route.cidr);
    if (route.device == bridge || !used || !overlaps(*used, *net)) {
      continue;
    }
    return fmt::format("--local-subnet {} overlaps the route to {}{}; choose another "
                       "--local-subnet",
                       subnet, route.cidr, route.device.empty() ? "" : " via " + route.device);
  }
  return "";
}

MachineNetIds machine_net_ids(const fs::path& machine_dir) {
  return ids_for(spellings(machine_dir).front());
}

Result<NetworkFields> validate_network_fields(const nlohmann::json& driver,
                                              const fs::path& machine_dir,
                                              const std::string& default_bridge,
                                              const std::string& default_subnet) {
  auto text = [&](const char* key, const std::string& fallback) -> Result<std::string> {
    if (!driver.is_object() || !driver.contains(key) || driver[key].is_null()) {
      return fallback;
    }
    if (!driver[key].is_string()) {
      return fail(fmt::format("config.json: Driver.{} is not a string", key));
    }
    return driver[key].get<std::string>();
  };
  auto netns = text("Netns", "");
  auto veth = text("Veth", "");
  auto bridge = text("Bridge", default_bridge);
  auto subnet = text("Subnet", default_subnet);
  auto ip = text("IPAddress", "");
  for (const auto* field : {&netns, &veth, &bridge, &subnet, &ip}) {
    DM_TRY(*field);
  }
  const std::string forget = "the record was edited, or the store moved; `dmachine rm -f` "
                             "forgets the machine without touching anything outside the store";
  NetworkFields fields{machine_net_ids(machine_dir), *bridge, *subnet, *ip};
  if (!netns->empty() || !veth->empty()) {
    bool found = false;
    for (const auto& spelling : spellings(machine_dir)) {
      auto ids = ids_for(spelling);
      if ((netns->empty() || *netns == ids.netns) && (veth->empty() || *veth == ids.veth)) {
        fields.ids = ids;
        found = true;
        break;
      }
    }
    if (!found) {
      const bool netns_bad = !netns->empty() && *netns != fields.ids.netns;
      return fail(fmt::format("config.json: Driver.{} {} is not this machine's {} (dmachine names "
                              "it {}, after the machine's directory): {}",
                              netns_bad ? "Netns" : "Veth", shown(netns_bad ? *netns : *veth),
                              netns_bad ? "network namespace" : "veth interface",
                              netns_bad ? fields.ids.netns : fields.ids.veth, forget));
    }
  }
  if (!valid_interface_name(*bridge)) {
    return fail(fmt::format("config.json: Driver.Bridge {} is not an interface name: {}",
                            shown(*bridge), forget));
  }
  auto prefix = subnet_prefix(*subnet);
  if (!prefix || *subnet != *prefix + "0/24") {
    return fail(fmt::format("config.json: Driver.Subnet {} is not an IPv4 /24 network: {}",
                            shown(*subnet), forget));
  }
  if (!ip->empty()) {
    long host = 0;
    if (ip->rfind(*prefix, 0) != 0 || !parse_int(ip->substr(prefix->size()), host) || host < 2 ||
        host > 254 || *ip != *prefix + std::to_string(host)) {
      return fail(fmt::format("config.json: Driver.IPAddress {} is not a host address of {}: {}",
                              shown(*ip), *subnet, forget));
    }
  }
  return fields;
}

fs::path HostNetwork::leases_dir() const {
  return fs::path(k_leases_root) / m_spec.bridge;
}

std::vector<HostNetwork::Lease> HostNetwork::read_leases() const {
  std::vector<Lease> leases;
  std::istringstream in(read_text(leases_dir() / "leases"));
  std::string line;
  while (std::getline(in, line)) {
    auto space = line.find(' ');
    if (space == std::string::npos) {
      continue;
    }
    leases.push_back({line.substr(0, space), line.substr(space + 1)});
  }
  return leases;
}

Result<void> HostNetwork::write_leases(const std::vector<Lease>& leases) const {
  std::string text;
  for (const auto& lease : leases) {
    text += lease.ip + " " + lease.machine_dir + "\n";
  }
  return write_file(leases_dir() / "leases", text, 0644);
}

Result<FileLock> HostNetwork::lock_leases() const {
  DM_TRY(make_dir(leases_dir(), 0755));
  auto lock = lock_file(leases_dir() / ".lock", k_lease_lock_timeout_seconds);
  DM_TRY_CTX(lock, "lock the IP leases of bridge " + m_spec.bridge);
  return std::move(*lock);
}

Result<void> HostNetwork::check_subnet() const {
  HostNetState state;
  auto addresses = m_tools.run({"ip", "-4", "-o", "addr", "show"});
  DM_TRY(addresses);
  auto routes = m_tools.run({"ip", "-4", "route", "show", "table", "all"});
  DM_TRY(routes);
  state.addresses = parse_ip_addresses(addresses->out);
  state.routes = parse_ip_routes(routes->out);
  std::error_code error;
  const auto& bridge = m_spec.bridge;
  state.bridge_exists = fs::exists(fs::path("/sys/class/net") / bridge, error);
  state.bridge_is_bridge = fs::exists(fs::path("/sys/class/net") / bridge / "bridge", error);
  state.bridge_alias = state.bridge_exists ? sysfs_net(bridge, "ifalias") : "";
  for (const auto& address : state.addresses) {
    if (valid_interface_name(address.device)) {
      state.aliases.emplace_back(address.device, sysfs_net(address.device, "ifalias"));
    }
  }
  auto conflict = subnet_conflict(m_spec.subnet, bridge, state);
  if (!conflict.empty()) {
    return fail(ErrorKind::precreate, conflict);
  }
  return {};
}

Result<std::string> HostNetwork::allocate_ip() const {
  auto prefix = subnet_prefix(m_spec.subnet);
  DM_TRY(prefix);
  auto lock = lock_leases();
  DM_TRY(lock);
  auto leases = read_leases();
  auto me = m_spec.machine_dir.string();
  // A create killed before it could clean up, or a store deleted by hand, leaves
  // leases nobody frees: one whose machine directory and network namespace are
  // both gone is nobody's, and its address is free again.
  const auto stale = std::erase_if(
      leases, [](const Lease& lease) { return !lease_alive(lease.machine_dir); });
  if (stale > 0) {
    DM_TRY(write_leases(leases));
  }
  std::set<std::string> taken;
  for (const auto& lease : leases) {
    if (lease.machine_dir == me && lease.ip.rfind(*prefix, 0) == 0) {
      return lease.ip;
    }
    taken.insert(lease.ip);
  }
  for (int host = 2; host <= 254; ++host) {
    auto candidate = *prefix + std::to_string(host);
    if (taken.count(candidate) == 0) {
      leases.push_back({candidate, me});
      DM_TRY(write_leases(leases));
      return candidate;
    }
  }
  return fail(fmt::format("no free IP address left in {} on bridge {}; remove machines or use "
                          "another --local-subnet/--local-bridge",
                          m_spec.subnet, m_spec.bridge));
}

Result<void> HostNetwork::free_ip() const {
  std::error_code error;
  if (!fs::exists(leases_dir() / "leases", error)) {
    return {}; // no lease was ever made on this bridge: nothing of it is ours
  }
  auto lock = lock_leases();
  DM_TRY(lock);
  auto leases = read_leases();
  auto me = m_spec.machine_dir.string();
  std::vector<std::string> freed;
  std::erase_if(leases, [&](const Lease& lease) {
    if (lease.machine_dir != me) {
      return false;
    }
    freed.push_back(lease.ip);
    return true;
  });
  if (freed.empty()) {
    return {}; // the machine held no address on this bridge: leave the bridge alone
  }
  DM_TRY(write_leases(leases));
  // The next machine gets this address with another MAC: without this, this computer
  // keeps talking to the old MAC until its neighbour entry ages out (about 30 s).
  for (const auto& ip : freed) {
    DM_TRY(flush_neighbour(ip));
  }
  if (leases.empty()) {
    DM_TRY_CTX(release_bridge(), "remove bridge " + m_spec.bridge);
    // The last machine on the bridge also tidies the cgroup level all machines share.
    for (const auto& dir : cgroup_dirs(m_spec.id)) {
      ::rmdir(dir.parent_path().c_str()); // the shared "dmachine" level; busy if still used
    }
  }
  return {};
}

Result<void> HostNetwork::flush_neighbour(const std::string& ip) const {
  std::error_code error;
  if (!fs::exists(fs::path("/sys/class/net") / m_spec.bridge, error)) {
    return {};
  }
  return m_tools.run_ok({"ip", "neigh", "flush", "to", ip, "dev", m_spec.bridge});
}

std::vector<std::vector<std::string>> HostNetwork::nat_rules() const {
  const auto& subnet = m_spec.subnet;
  const auto& bridge = m_spec.bridge;
  auto tag = rule_tag(bridge);
  // Scoped to the hosts' own addresses, and tagged so that only these are ever removed.
  return {{"-t", "nat", "POSTROUTING", "-s", subnet, "!", "-o", bridge, "-m", "comment",
           "--comment", tag, "-j", "MASQUERADE"},
          {"-t", "filter", "FORWARD", "-i", bridge, "-s", subnet, "-m", "comment", "--comment",
           tag, "-j", "ACCEPT"},
          {"-t", "filter", "FORWARD", "-o", bridge, "-d", subnet, "-m", "conntrack", "--ctstate",
           "RELATED,ESTABLISHED", "-m", "comment", "--comment", tag, "-j", "ACCEPT"}};
}

Result<void> HostNetwork::ensure_bridge() const {
  const auto& bridge = m_spec.bridge;
  auto prefix = subnet_prefix(m_spec.subnet);
  DM_TRY(prefix);
  auto gateway = *prefix + "1/24";
  // One bridge at a time on this computer: the subnet check and what it allows are atomic.
  auto lock = lock_global();
  DM_TRY(lock);
  DM_TRY(check_subnet());
  auto link = m_tools.run({"ip", "link", "show", "dev", bridge});
  DM_TRY(link);
  if (link->exit_status != 0) {
    DM_TRY(m_tools.run_ok({"ip", "link", "add", "name", bridge, "type", "bridge"}));
    DM_TRY(m_tools.run_ok({"ip", "link", "set", "dev", bridge, "alias", bridge_alias(m_spec.subnet)}));
  }
  auto addresses = m_tools.run({"ip", "-4", "-o", "addr", "show", "dev", bridge});
  DM_TRY(addresses);
  if (addresses->out.find(" " + gateway) == std::string::npos) {
    if (!is_dmachine_alias(sysfs_net(bridge, "ifalias"))) {
      // Recorded before it is made, so that a crash in between cannot orphan it.
      DM_TRY(write_file(leases_dir() / k_gateway_mark, gateway + "\n", 0644));
    }
    DM_TRY(m_tools.run_ok({"ip", "addr", "add", gateway, "dev", bridge}));
  }
  DM_TRY(m_tools.run_ok({"ip", "link", "set", "dev", bridge, "up"}));
  if (trim(read_text(k_ip_forward)) != "1") {
    DM_TRY(write_file(fs::path(k_leases_root) / k_ip_forward_mark, "0\n", 0644));
    if (!write_proc_value(k_ip_forward, "1")) {
      return fail("cannot enable IPv4 forwarding (/proc/sys/net/ipv4/ip_forward)");
    }
  }
  bool first = true;
  for (const auto& rule : nat_rules()) {
    auto check = m_tools.run(iptables_argv(rule, "-C"));
    DM_TRY(check);
    if (check->exit_status != 0) {
      // MASQUERADE is appended; the FORWARD accepts go first, before any DROP.
      DM_TRY(m_tools.run_ok(iptables_argv(rule, first ? "-A" : "-I")));
    }
    first = false;
  }
  return {};
}

Result<void> HostNetwork::remove_tagged_rules() const {
  auto tag = rule_tag(m_spec.bridge);
  for (const auto& [table, chain] : {std::pair{"nat", "POSTROUTING"}, std::pair{"filter", "FORWARD"}}) {
    for (int round = 0; round < k_rule_delete_rounds; ++round) {
      auto listed = m_tools.run({"iptables", "-w", "30", "-t", table, "-S", chain});
      DM_TRY(listed);
      std::vector<std::string> ours;
      std::istringstream in(listed->out);
      std::string line;
      while (std::getline(in, line)) {
        auto words = split_ws(line);
        // iptables-nft quotes the comment, iptables-legacy does not; dmachine's rules
        // have no other quoted word.
        for (auto& word : words) {
          if (word.size() >= 2 && word.front() == '"' && word.back() == '"') {
            word = word.substr(1, word.size() - 2);
          }
        }
        for (size_t i = 0; i + 1 < words.size(); ++i) {
          if (words[0] == "-A" && words[i] == "--comment" && words[i + 1] == tag) {
            ours = words;
            break;
          }
        }
        if (!ours.empty()) {
          break;
        }
      }
      if (ours.empty()) {
        break;
      }
      std::vector<std::string> argv = {"iptables", "-w", "30", "-t", table, "-D"};
      argv.insert(argv.end(), ours.begin() + 1, ours.end());
      DM_TRY(m_tools.run_ok(argv));
    }
  }
  return {};
}

Result<void> HostNetwork::release_bridge() const {
  const auto& bridge = m_spec.bridge;
  auto lock = lock_global();
  DM_TRY(lock);
  DM_TRY(remove_tagged_rules());
  std::error_code error;
  if (fs::exists(fs::path("/sys/class/net") / bridge, error)) {
    if (is_dmachine_alias(sysfs_net(bridge, "ifalias"))) {
      DM_TRY(m_tools.run_ok({"ip", "link", "del", "dev", bridge}));
    } else {
      // Adopted: give back only the gateway address dmachine added.
      auto gateway = trim(read_text(leases_dir() / k_gateway_mark));
      auto net = parse_ipv4_net(gateway);
      if (net && net->prefix == 24) {
        (void)m_tools.run({"ip", "addr", "del", gateway, "dev", bridge});
      }
    }
  }
  fs::remove(leases_dir() / k_gateway_mark, error);
  // ip_forward goes back to 0 when dmachine turned it on and no machine is left anywhere.
  if (fs::exists(fs::path(k_leases_root) / k_ip_forward_mark, error) && !any_live_lease()) {
    if (trim(read_text(k_ip_forward)) == "1" && !write_proc_value(k_ip_forward, "0")) {
      return fail("cannot set /proc/sys/net/ipv4/ip_forward back to 0");
    }
    fs::remove(fs::path(k_leases_root) / k_ip_forward_mark, error);
  }
  return {};
}

Result<void> HostNetwork::setup() const {
  const auto& netns = m_spec.netns;
  const auto& veth = m_spec.veth;
  auto prefix = subnet_prefix(m_spec.subnet);
  DM_TRY(prefix);
  auto lock = lock_leases();
  DM_TRY(lock);
  DM_TRY(ensure_bridge());
  auto peer = "dmp" + m_spec.id;
  (void)m_tools.run({"ip", "link", "del", "dev", peer});
  DM_TRY(m_tools.run_ok({"ip", "netns", "add", netns}));
  DM_TRY(m_tools.run_ok({"ip", "link", "add", "name", veth, "type", "veth", "peer", "name", peer}));
  DM_TRY(m_tools.run_ok({"ip", "link", "set", "dev", peer, "netns", netns}));
  DM_TRY(m_tools.run_ok({"ip", "-n", netns, "link", "set", "dev", peer, "name", "eth0"}));
  DM_TRY(m_tools.run_ok({"ip", "-n", netns, "addr", "add", m_spec.ip + "/24", "dev", "eth0"}));
  // The MAC follows the IP (as Docker does): a host made again, or restarted, with an
  // address others have cached answers at the MAC they cached.
  DM_TRY(m_tools.run_ok(
      {"ip", "-n", netns, "link", "set", "dev", "eth0", "address", mac_for_ip(m_spec.ip)}));
  DM_TRY(m_tools.run_ok({"ip", "-n", netns, "link", "set", "dev", "eth0", "up"}));
  DM_TRY(m_tools.run_ok({"ip", "-n", netns, "link", "set", "dev", "lo", "up"}));
  DM_TRY(m_tools.run_ok({"ip", "-n", netns, "route", "add", "default", "via", *prefix + "1"}));
  DM_TRY(m_tools.run_ok({"ip", "link", "set", "dev", veth, "master", m_spec.bridge}));
  DM_TRY(m_tools.run_ok({"ip", "link", "set", "dev", veth, "up"}));
  DM_TRY(flush_neighbour(m_spec.ip)); // an entry from before (another MAC) goes too
  return {};
}

Result<void> HostNetwork::remove_links() const {
  auto link = m_tools.run({"ip", "link", "show", "dev", m_spec.veth});
  DM_TRY(link);
  if (link->exit_status == 0) {
    DM_TRY(m_tools.run_ok({"ip", "link", "del", "dev", m_spec.veth}));
  }
  if (fs::exists(fs::path("/run/netns") / m_spec.netns)) {
    DM_TRY(m_tools.run_ok({"ip", "netns", "del", m_spec.netns}));
  }
  return {};
}

} // namespace dm::local
