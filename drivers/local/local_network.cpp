#include "drivers/local/local_network.h"

#include "drivers/local/local_cgroup.h"

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

// iptables argv for one rule with an action (-C, -A, -I, -D).
std::vector<std::string> iptables_argv(const std::vector<std::string>& rule,
                                       const std::string& action) {
  std::vector<std::string> argv = {"iptables", "-w", "30", rule[0], rule[1], action, rule[2]};
  argv.insert(argv.end(), rule.begin() + 3, rule.end());
  return argv;
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
  const auto stale = std::erase_if(leases, [](const Lease& lease) {
    std::error_code ec;
    return !fs::exists(lease.machine_dir, ec) &&
           !fs::exists(fs::path("/run/netns") / ("dm-" + fnv1a_hex(lease.machine_dir)), ec);
  });
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
  auto lock = lock_leases();
  DM_TRY(lock);
  auto leases = read_leases();
  auto me = m_spec.machine_dir.string();
  std::erase_if(leases, [&](const Lease& lease) { return lease.machine_dir == me; });
  DM_TRY(write_leases(leases));
  if (leases.empty()) {
    DM_TRY_CTX(remove_bridge(), "remove bridge " + m_spec.bridge);
    // The last machine on the bridge also tidies the cgroup level all machines share.
    for (const auto& dir : cgroup_dirs(m_spec.id)) {
      ::rmdir(dir.parent_path().c_str()); // the shared "dmachine" level; busy if still used
    }
  }
  return {};
}

std::vector<std::vector<std::string>> HostNetwork::nat_rules() const {
  const auto& subnet = m_spec.subnet;
  const auto& bridge = m_spec.bridge;
  return {{"-t", "nat", "POSTROUTING", "-s", subnet, "!", "-o", bridge, "-j", "MASQUERADE"},
          {"-t", "filter", "FORWARD", "-i", bridge, "-j", "ACCEPT"},
          {"-t", "filter", "FORWARD", "-o", bridge, "-m", "conntrack", "--ctstate",
           "RELATED,ESTABLISHED", "-j", "ACCEPT"}};
}

Result<void> HostNetwork::ensure_bridge() const {
  const auto& bridge = m_spec.bridge;
  auto prefix = subnet_prefix(m_spec.subnet);
  DM_TRY(prefix);
  auto gateway = *prefix + "1";
  auto shown = m_tools.run({"ip", "link", "show", "dev", bridge});
  DM_TRY(shown);
  if (shown->exit_status != 0) {
    DM_TRY(m_tools.run_ok({"ip", "link", "add", "name", bridge, "type", "bridge"}));
  }
  auto addresses = m_tools.run({"ip", "-4", "-o", "addr", "show", "dev", bridge});
  DM_TRY(addresses);
  if (addresses->out.find(" " + gateway + "/24") == std::string::npos) {
    DM_TRY(m_tools.run_ok({"ip", "addr", "add", gateway + "/24", "dev", bridge}));
  }
  DM_TRY(m_tools.run_ok({"ip", "link", "set", "dev", bridge, "up"}));
  if (!write_proc_value("/proc/sys/net/ipv4/ip_forward", "1")) {
    return fail("cannot enable IPv4 forwarding (/proc/sys/net/ipv4/ip_forward)");
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

Result<void> HostNetwork::remove_bridge() const {
  for (const auto& rule : nat_rules()) {
    for (int attempt = 0; attempt < 5; ++attempt) {
      auto check = m_tools.run(iptables_argv(rule, "-C"));
      DM_TRY(check);
      if (check->exit_status != 0) {
        break;
      }
      DM_TRY(m_tools.run_ok(iptables_argv(rule, "-D")));
    }
  }
  auto shown = m_tools.run({"ip", "link", "show", "dev", m_spec.bridge});
  DM_TRY(shown);
  if (shown->exit_status == 0) {
    DM_TRY(m_tools.run_ok({"ip", "link", "del", "dev", m_spec.bridge}));
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
  DM_TRY(m_tools.run_ok({"ip", "-n", netns, "link", "set", "dev", "eth0", "up"}));
  DM_TRY(m_tools.run_ok({"ip", "-n", netns, "link", "set", "dev", "lo", "up"}));
  DM_TRY(m_tools.run_ok({"ip", "-n", netns, "route", "add", "default", "via", *prefix + "1"}));
  DM_TRY(m_tools.run_ok({"ip", "link", "set", "dev", veth, "master", m_spec.bridge}));
  DM_TRY(m_tools.run_ok({"ip", "link", "set", "dev", veth, "up"}));
  return {};
}

Result<void> HostNetwork::remove_links() const {
  auto shown = m_tools.run({"ip", "link", "show", "dev", m_spec.veth});
  DM_TRY(shown);
  if (shown->exit_status == 0) {
    DM_TRY(m_tools.run_ok({"ip", "link", "del", "dev", m_spec.veth}));
  }
  if (fs::exists(fs::path("/run/netns") / m_spec.netns)) {
    DM_TRY(m_tools.run_ok({"ip", "netns", "del", m_spec.netns}));
  }
  return {};
}

} // namespace dm::local
