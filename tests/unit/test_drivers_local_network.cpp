#include "drivers/local/local_network.h"

#include <catch2/catch.hpp>
#include <filesystem>
#include <unistd.h>

namespace fs = std::filesystem;
using namespace dm::local;

namespace {

// What `ip -4 -o addr show` and `ip -4 route show table all` print on a computer with
// eth0, a dmachine bridge dmachine0 (10.213.0.0/24) and a user's bridge br0.
constexpr const char* k_addresses =
    "1: lo    inet 127.0.0.1/8 scope host lo\\       valid_lft forever preferred_lft forever\n"
    "4: eth0    inet 192.0.2.2/24 brd 192.0.2.255 scope global eth0\\       valid_lft forever\n"
    "7: dmachine0    inet 10.213.0.1/24 scope global dmachine0\\       valid_lft forever\n"
    "9: br0    inet 172.30.0.1/16 scope global br0\\       valid_lft forever\n";
constexpr const char* k_routes =
    "default via 192.0.2.1 dev eth0 \n"
    "10.213.0.0/24 dev dmachine0 proto kernel scope link src 10.213.0.1 \n"
    "172.30.0.0/16 dev br0 proto kernel scope link src 172.30.0.1 \n"
    "192.0.2.0/24 dev eth0 proto kernel scope link src 192.0.2.2 \n"
    "blackhole 10.99.0.0/16 \n"
    "10.50.0.0/16 via 192.0.2.9 dev eth0 table 100 \n"
    "local 10.213.0.1 dev dmachine0 table local proto kernel scope host src 10.213.0.1 \n"
    "broadcast 10.213.0.255 dev dmachine0 table local proto kernel scope link src 10.213.0.1 \n"
    "local 127.0.0.0/8 dev lo table local proto kernel scope host src 127.0.0.1 \n";

HostNetState state_of_this_computer() {
  HostNetState state;
  state.addresses = parse_ip_addresses(k_addresses);
  state.routes = parse_ip_routes(k_routes);
  state.aliases = {{"dmachine0", "dmachine 10.213.0.0/24"}, {"br0", ""}, {"eth0", ""}};
  return state;
}

} // namespace

TEST_CASE("IPv4 networks parse and overlap", "[local][network]") {
  auto a = parse_ipv4_net("10.213.0.0/24");
  REQUIRE(a);
  CHECK(a->prefix == 24);
  CHECK(a->address == 0x0AD50000u);
  CHECK(parse_ipv4_net("10.213.0.7")->prefix == 32);
  CHECK_FALSE(parse_ipv4_net("10.213.0.0/33"));
  CHECK_FALSE(parse_ipv4_net("10.213.0/24"));
  CHECK_FALSE(parse_ipv4_net("default"));
  CHECK(overlaps(*parse_ipv4_net("10.0.0.0/8"), *a));
  CHECK(overlaps(*a, *parse_ipv4_net("10.213.0.77/32")));
  CHECK(overlaps(*a, *parse_ipv4_net("10.213.0.5/16")));
  CHECK_FALSE(overlaps(*a, *parse_ipv4_net("10.213.1.0/24")));
  CHECK(overlaps(*a, *parse_ipv4_net("0.0.0.0/0")));
}

TEST_CASE("ip output parses into addresses and unicast routes", "[local][network]") {
  auto addresses = parse_ip_addresses(k_addresses);
  REQUIRE(addresses.size() == 4);
  CHECK(addresses[1].device == "eth0");
  CHECK(addresses[1].cidr == "192.0.2.2/24");
  auto routes = parse_ip_routes(k_routes);
  // default, local and broadcast routes are left out.
  REQUIRE(routes.size() == 5);
  CHECK(routes[0].cidr == "10.213.0.0/24");
  CHECK(routes[0].device == "dmachine0");
  CHECK(routes[3].cidr == "10.99.0.0/16");
  CHECK(routes[3].device.empty());
  CHECK(routes[4].cidr == "10.50.0.0/16");
}

TEST_CASE("a free subnet on a new or dmachine bridge has no conflict", "[local][network]") {
  auto state = state_of_this_computer();
  CHECK(subnet_conflict("10.213.5.0/24", "dmachine1", state).empty());
  // The bridge's own gateway and route are no conflict.
  state.bridge_exists = state.bridge_is_bridge = true;
  state.bridge_alias = "dmachine 10.213.0.0/24";
  CHECK(subnet_conflict("10.213.0.0/24", "dmachine0", state).empty());
}

TEST_CASE("a subnet another bridge serves is refused (two bridges, one subnet)",
          "[local][network]") {
  auto state = state_of_this_computer();
  auto made_by_dmachine = subnet_conflict("10.213.0.0/24", "dmachine9", state);
  CHECK_THAT(made_by_dmachine, Catch::Contains("already served by bridge dmachine0 (made by "
                                               "dmachine)"));
  CHECK_THAT(subnet_conflict("172.30.4.0/24", "dmachine9", state),
             Catch::Contains("overlaps 172.30.0.1/16 on interface br0"));
  CHECK_THAT(subnet_conflict("192.0.2.0/24", "dmachine9", state),
             Catch::Contains("overlaps 192.0.2.2/24 on interface eth0"));
  CHECK_THAT(subnet_conflict("127.0.0.0/24", "dmachine9", state),
             Catch::Contains("on interface lo"));
}

TEST_CASE("a subnet under another route is refused", "[local][network]") {
  auto state = state_of_this_computer();
  CHECK_THAT(subnet_conflict("10.99.3.0/24", "dmachine9", state),
             Catch::Contains("overlaps the route to 10.99.0.0/16;"));
  CHECK_THAT(subnet_conflict("10.50.1.0/24", "dmachine9", state),
             Catch::Contains("overlaps the route to 10.50.0.0/16 via eth0"));
}

TEST_CASE("an adopted bridge is checked: its addresses, its kind, its maker's subnet",
          "[local][network]") {
  auto state = state_of_this_computer();
  state.bridge_exists = state.bridge_is_bridge = true;
  // br0 carries 172.30.0.1/16: a subnet inside it would put hosts on its network.
  CHECK_THAT(subnet_conflict("172.30.0.0/24", "br0", state),
             Catch::Contains("bridge br0 has the address 172.30.0.1/16, inside --local-subnet "
                             "172.30.0.0/24"));
  // A subnet apart from its addresses is fine: dmachine adds the gateway.
  CHECK(subnet_conflict("10.213.7.0/24", "br0", state).empty());
  // A bridge made by dmachine serves the one subnet it was made for.
  state.bridge_alias = "dmachine 10.213.0.0/24";
  CHECK_THAT(subnet_conflict("10.213.7.0/24", "dmachine0", state),
             Catch::Contains("was made by dmachine for the subnet 10.213.0.0/24"));
  // An interface that is no bridge is refused.
  state.bridge_alias.clear();
  state.bridge_is_bridge = false;
  CHECK_THAT(subnet_conflict("10.213.7.0/24", "eth0", state),
             Catch::Contains("exists and is not a bridge"));
}

TEST_CASE("a host's MAC follows its IP", "[local][network]") {
  CHECK(mac_for_ip("10.213.0.2") == "02:dc:0a:d5:00:02");
  CHECK(mac_for_ip("10.213.102.254") == "02:dc:0a:d5:66:fe");
  CHECK(mac_for_ip("nope").empty());
}

TEST_CASE("interface names follow the kernel's rules", "[local][network]") {
  CHECK(valid_interface_name("dmachine0"));
  CHECK(valid_interface_name("br-lan.10"));
  CHECK(valid_interface_name("abcdefghijklmno"));
  CHECK_FALSE(valid_interface_name("abcdefghijklmnop"));
  CHECK_FALSE(valid_interface_name(""));
  CHECK_FALSE(valid_interface_name("."));
  CHECK_FALSE(valid_interface_name(".."));
  CHECK_FALSE(valid_interface_name("a b"));
  CHECK_FALSE(valid_interface_name("a/b"));
  CHECK_FALSE(valid_interface_name("eth0:1"));
}

TEST_CASE("network ids come from the absolute, resolved machine directory", "[local][network]") {
  auto base = fs::temp_directory_path() / ("dm-unit-net-" + std::to_string(::getpid()));
  fs::remove_all(base);
  fs::create_directories(base / "real" / "machines" / "a");
  fs::create_directory_symlink(base / "real", base / "link");
  auto ids = machine_net_ids(base / "real" / "machines" / "a");
  CHECK(ids.lease_key == (base / "real" / "machines" / "a").string());
  CHECK(ids.netns == "dm-" + ids.id);
  CHECK(ids.veth == "dmv" + ids.id);
  CHECK(ids.veth.size() <= 15);
  // Another spelling of the same directory: a symlink, "..", a relative path.
  CHECK(machine_net_ids(base / "link" / "machines" / "a").id == ids.id);
  CHECK(machine_net_ids(base / "real" / "machines" / ".." / "machines" / "a").id == ids.id);
  auto cwd = fs::current_path();
  fs::current_path(base);
  CHECK(machine_net_ids("real/machines/a").id == ids.id);
  fs::current_path(cwd);
  // Another store never shares them.
  CHECK(machine_net_ids(base / "other" / "machines" / "a").id != ids.id);
  fs::remove_all(base);
}

TEST_CASE("stored network fields are checked against what the driver makes",
          "[local][network]") {
  const fs::path dir = "/nonexistent-dm-unit/store/machines/a";
  auto ids = machine_net_ids(dir);
  nlohmann::json good = {{"Netns", ids.netns},        {"Veth", ids.veth},
                         {"Bridge", "dmachine0"},     {"Subnet", "10.213.0.0/24"},
                         {"IPAddress", "10.213.0.7"}};
  auto fields = validate_network_fields(good, dir, "dmachine0", "10.213.0.0/24");
  REQUIRE(fields);
  CHECK(fields->ids.netns == ids.netns);
  CHECK(fields->ip == "10.213.0.7");
  // A record without the fields (as at create) gets the derived ones and the defaults.
  auto empty = validate_network_fields(nlohmann::json::object(), dir, "dmachine0",
                                       "10.213.0.0/24");
  REQUIRE(empty);
  CHECK(empty->ids.veth == ids.veth);
  CHECK(empty->bridge == "dmachine0");

  auto refused = [&](const char* key, const nlohmann::json& value, const char* says) {
    auto bad = good;
    bad[key] = value;
    auto result = validate_network_fields(bad, dir, "dmachine0", "10.213.0.0/24");
    INFO(key << " = " << value.dump());
    REQUIRE_FALSE(result);
    CHECK_THAT(result.error().message, Catch::Contains(says));
  };
  refused("Veth", "eth0", "Driver.Veth \"eth0\" is not this machine's veth interface");
  refused("Veth", "dmv12345678", "is not this machine's veth");
  refused("Netns", "dm-12345678", "Driver.Netns \"dm-12345678\" is not this machine's network");
  refused("Netns", "../../etc", "is not this machine's network namespace");
  refused("Netns", 7, "Driver.Netns is not a string");
  refused("Bridge", "eth0 up", "Driver.Bridge \"eth0 up\" is not an interface name");
  refused("Bridge", "..", "is not an interface name");
  refused("Bridge", "", "is not an interface name");
  refused("Subnet", "10.0.0.0/8", "Driver.Subnet \"10.0.0.0/8\" is not an IPv4 /24");
  refused("Subnet", " 10.213.0.0/24", "is not an IPv4 /24");
  refused("IPAddress", "192.0.2.2", "Driver.IPAddress \"192.0.2.2\" is not a host address");
  refused("IPAddress", "10.213.0.1", "is not a host address");
  refused("IPAddress", "10.213.0.255", "is not a host address");
  refused("IPAddress", "10.213.0.07", "is not a host address");
  // The message says how to get rid of it.
  refused("Veth", "eth0", "rm -f");
}
