#include "drivers/qemu/qemu_network.h"

#include "core/machine_store.h"
#include "drivers/local/local_util.h"
#include "drivers/vm/static_ip.h"

#include <filesystem>
#include <fmt/format.h>
#include <nlohmann/json.hpp>
#include <system_error>

namespace dm::qemu {

namespace fs = std::filesystem;

namespace {

constexpr int k_lock_timeout_seconds = 120;

Result<FileLock> lock_network(const BridgeSpec& spec) {
  std::error_code ignored;
  fs::create_directories("/run/lock", ignored);
  auto lock = lock_file(fs::path("/run/lock") / ("dmachine-qemu-" + spec.bridge + ".lock"),
                        k_lock_timeout_seconds);
  DM_TRY_CTX(lock, "lock the network of bridge " + spec.bridge);
  return std::move(*lock);
}

bool bridge_has_ports(const std::string& bridge) {
  std::error_code error;
  fs::directory_iterator ports(fs::path("/sys/class/net") / bridge / "brif", error);
  return !error && ports != fs::directory_iterator();
}

bool br_netfilter_on() {
  auto value = read_file("/proc/sys/net/bridge/bridge-nf-call-iptables");
  return value && !value->empty() && (*value)[0] == '1';
}

std::vector<std::string> forward_rule(const std::string& action, const std::string& bridge) {
  return {"iptables", "-w", "5", action, "FORWARD", "-i", bridge, "-o", bridge, "-m", "comment",
          "--comment", "dmachine qemu " + bridge, "-j", "ACCEPT"};
}

Result<void> remove_forward_rule(const local::ToolRunner& tools, const std::string& bridge) {
  for (int i = 0; i < 4; ++i) { // bounded: a rule added twice by a crash is removed too
    auto check = tools.run(forward_rule("-C", bridge));
    if (!check || check->exit_status != 0) {
      return {};
    }
    DM_TRY(tools.run_ok(forward_rule("-D", bridge)));
  }
  return {};
}

} // namespace

bool interface_exists(const std::string& name) {
  std::error_code error;
  return fs::exists(fs::path("/sys/class/net") / name, error);
}

Result<void> check_network_free(const local::ToolRunner& tools, const BridgeSpec& spec) {
  auto network = vm::parse_ipv4_network(spec.host_cidr);
  if (!network) {
    return fail("not a network: " + spec.host_cidr);
  }
  auto listed = tools.run({"ip", "-j", "-4", "addr", "show"});
  DM_TRY(listed);
  auto json = nlohmann::json::parse(listed->out, nullptr, false);
  if (listed->exit_status != 0 || !json.is_array()) {
    return {}; // an old ip without -j: nothing to compare with
  }
  for (const auto& link : json) {
    auto name = link.value("ifname", "");
    if (name == spec.bridge || !link.contains("addr_info") || !link["addr_info"].is_array()) {
      continue;
    }
    for (const auto& info : link["addr_info"]) {
      auto local = vm::parse_ipv4(info.value("local", ""));
      int prefix = info.value("prefixlen", 32);
      if (!local || prefix < 0 || prefix > 32) {
        continue;
      }
      vm::Ipv4Network other{*local, prefix};
      if (network->contains(*local) || other.contains(network->network())) {
        return fail(ErrorKind::usage,
                    fmt::format("the network {} overlaps {}/{} of interface {} on this computer; "
                                "choose another with --qemu-network-cidr",
                                network->to_string(), local->to_string(), prefix, name));
      }
    }
  }
  return {};
}

Result<void> setup_bridge_network(const local::ToolRunner& tools, const BridgeSpec& spec) {
  auto lock = lock_network(spec);
  DM_TRY(lock);
  if (!interface_exists(spec.bridge)) {
    DM_TRY(tools.run_ok({"ip", "link", "add", spec.bridge, "type", "bridge"}));
  }
  DM_TRY(tools.run_ok({"ip", "addr", "replace", spec.host_cidr, "dev", spec.bridge}));
  DM_TRY(tools.run_ok({"ip", "link", "set", spec.bridge, "up"}));
  if (br_netfilter_on()) {
    auto check = tools.run(forward_rule("-C", spec.bridge));
    if (check && check->exit_status != 0) {
      DM_TRY(tools.run_ok(forward_rule("-I", spec.bridge)));
    }
  }
  if (interface_exists(spec.tap)) {
    DM_TRY(tools.run_ok({"ip", "link", "del", spec.tap}));
  }
  DM_TRY(tools.run_ok({"ip", "tuntap", "add", "dev", spec.tap, "mode", "tap"}));
  DM_TRY(tools.run_ok({"ip", "link", "set", spec.tap, "master", spec.bridge}));
  DM_TRY(tools.run_ok({"ip", "link", "set", spec.tap, "up"}));
  return {};
}

Result<void> teardown_bridge_network(const local::ToolRunner& tools, const BridgeSpec& spec) {
  auto lock = lock_network(spec);
  DM_TRY(lock);
  if (interface_exists(spec.tap)) {
    DM_TRY(tools.run_ok({"ip", "link", "del", spec.tap}));
  }
  if (interface_exists(spec.bridge) && !bridge_has_ports(spec.bridge)) {
    DM_TRY(tools.run_ok({"ip", "link", "del", spec.bridge}));
  }
  if (!interface_exists(spec.bridge)) {
    DM_TRY(remove_forward_rule(tools, spec.bridge));
  }
  return {};
}

} // namespace dm::qemu
