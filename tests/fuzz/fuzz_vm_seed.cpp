// The cloud-init seed's untrusted values (machine name, SSH user, public key file, MACs,
// addresses, --*-cidr flags): checking and rendering never abort; a rendered document is
// YAML that gives back exactly the values it was made from (nothing injected); the
// IPv4, MAC and key normalizations are fixed points.
#include "drivers/vm/cloud_init_seed.h"
#include "drivers/vm/static_ip.h"
#include "tests/fuzz/fuzz_support.h"

#include <yaml-cpp/yaml.h>

namespace {

using namespace dm::vm;

// The document parsed, or an invariant failure naming it.
YAML::Node load(const std::string& document) {
  try {
    return YAML::Load(document);
  } catch (const YAML::Exception&) {
    dm::fuzz::check(false, "a rendered seed document is YAML", document);
  }
  return {};
}

void check_value(const YAML::Node& node, const std::string& expected, const char* what,
                 const std::string& document) {
  dm::fuzz::check(node.IsScalar() && node.as<std::string>() == expected, what, document);
}

void check_parsers(const std::vector<std::string>& parts) {
  for (const auto& part : parts) {
    if (auto ip = parse_ipv4(part)) {
      dm::fuzz::check(ip->to_string() == part, "a parsed IPv4 address prints as written", part);
    }
    if (auto mac = normalize_mac(part)) {
      dm::fuzz::check(normalize_mac(*mac) == mac, "a normalized MAC stays the same", part);
    }
    if (auto key = check_ssh_public_key(part)) {
      auto again = check_ssh_public_key(*key);
      dm::fuzz::check(again && *again == *key, "a checked SSH key checks to itself", part);
    }
    if (auto network = parse_private_network(part, "--flag")) {
      dm::fuzz::check(network->prefix >= 8 && network->prefix <= 30, "prefix /8 to /30", part);
      auto next = next_free_address(*network, parts, "--flag");
      if (next) {
        dm::fuzz::check(network->is_host(*next) && *next != host_address(*network),
                        "a free address is another host of the network", part);
      }
      (void)check_virtualbox_range(*network, "--flag");
    }
  }
}

} // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  auto parts = dm::fuzz::split_parts(dm::fuzz::as_text(data, size), 10);
  check_parsers(parts);
  parts.resize(10);
  SeedSpec spec;
  spec.instance_id = parts[0];
  spec.hostname = parts[1];
  spec.user = parts[2];
  spec.ssh_public_key = parts[3];
  spec.private_nic.mac = parts[4];
  spec.private_nic.address = parts[5];
  spec.private_nic.network = parts[6];
  spec.private_nic.gateway = parts[7];
  if (!parts[8].empty()) {
    spec.private_nic.nameservers = {parts[8]};
  }
  spec.dhcp_nic_mac = parts[9];

  if (auto meta = render_meta_data(spec)) {
    auto doc = load(*meta);
    check_value(doc["instance-id"], spec.instance_id, "meta-data keeps the instance-id", *meta);
    check_value(doc["local-hostname"], spec.hostname, "meta-data keeps the hostname", *meta);
  }
  if (auto user = render_user_data(spec)) {
    auto doc = load(*user);
    check_value(doc["users"][0]["name"], spec.user, "user-data keeps the user", *user);
    check_value(doc["users"][0]["ssh_authorized_keys"][0],
                *check_ssh_public_key(spec.ssh_public_key), "user-data keeps the key", *user);
    dm::fuzz::check(doc["users"].size() == 1 && doc["ssh_pwauth"].as<std::string>() == "false",
                    "user-data has one user and no password logins", *user);
  }
  if (auto network = render_network_config(spec)) {
    auto doc = load(*network);
    auto lan = doc["ethernets"][std::string(k_private_nic_name)];
    check_value(lan["match"]["macaddress"], *normalize_mac(spec.private_nic.mac),
                "network-config keeps the MAC", *network);
    dm::fuzz::check(
        lan["addresses"].size() == 1 &&
            lan["addresses"][0].as<std::string>().starts_with(spec.private_nic.address + "/"),
        "network-config keeps the address", *network);
  }
  return 0;
}
