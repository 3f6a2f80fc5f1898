#include "drivers/vm/static_ip.h"

#include <catch2/catch.hpp>
#include <set>
#include <string>

using namespace dm;
using namespace dm::vm;

namespace {

constexpr const char* k_flag = "--virtualbox-hostonly-cidr";

std::string error_of(const Result<Ipv4Network>& result) {
  REQUIRE_FALSE(result);
  CHECK(result.error().kind == ErrorKind::usage);
  return result.error().message;
}

} // namespace

TEST_CASE("IPv4 addresses parse strictly", "[vm_seed]") {
  CHECK(parse_ipv4("192.168.56.1")->value == 0xc0a83801u);
  CHECK(parse_ipv4("0.0.0.0")->value == 0u);
  CHECK(parse_ipv4("255.255.255.255")->value == 0xffffffffu);
  CHECK(parse_ipv4("10.0.2.15")->to_string() == "10.0.2.15");
  for (const char* hostile :
       {"",          ".",          "1.2.3",     "1.2.3.4.",   ".1.2.3.4",
        "1.2.3.4.5", "1..3.4",     "256.1.1.1", "1.2.3.-1",   "+1.2.3.4",
        " 1.2.3.4",  "1.2.3.4 ",   "1.2.3.4\n", "01.2.3.4",   "1.2.3.010",
        "0x1.2.3.4", "1.2.3.4/24", "1.2.3.4a",  "1234.2.3.4", "99999999999999999999.1.1.1",
        "::1",       "localhost",  "1,2,3,4",   "١.٢.٣.٤"}) {
    INFO(hostile);
    CHECK_FALSE(parse_ipv4(hostile));
  }
  // An embedded NUL is not the end of the text.
  CHECK_FALSE(parse_ipv4(std::string_view("1.2.3.4\0.5", 10)));
}

TEST_CASE("IPv4 networks: network, broadcast and hosts", "[vm_seed]") {
  auto net = parse_ipv4_network("192.168.56.1/21");
  REQUIRE(net);
  CHECK(net->network().to_string() == "192.168.56.0");
  CHECK(net->broadcast().to_string() == "192.168.63.255");
  CHECK(net->to_string() == "192.168.56.0/21");
  CHECK(net->is_host(*parse_ipv4("192.168.63.254")));
  CHECK_FALSE(net->is_host(*parse_ipv4("192.168.63.255")));
  CHECK_FALSE(net->is_host(*parse_ipv4("192.168.56.0")));
  CHECK_FALSE(net->contains(*parse_ipv4("192.168.64.1")));
  CHECK(parse_ipv4_network("0.0.0.0/0")->mask() == 0u);
  CHECK(parse_ipv4_network("10.0.0.1/32")->mask() == 0xffffffffu);
  for (const char* hostile :
       {"192.168.56.0", "192.168.56.0/", "192.168.56.0/33", "192.168.56.0/-1", "192.168.56.0/024",
        "192.168.56.0/2 4", "192.168.56.0/24/24", "/24", "192.168.56.0/+8", "a/24"}) {
    INFO(hostile);
    CHECK_FALSE(parse_ipv4_network(hostile));
  }
}

TEST_CASE("Private networks: prefix, reserved ranges, broadcast", "[vm_seed]") {
  auto net = parse_private_network("192.168.56.0/21", k_flag);
  REQUIRE(net);
  CHECK(host_address(*net).to_string() == "192.168.56.1");
  // docker-machine's style: the host's address written with the prefix.
  auto dm_style = parse_private_network("192.168.99.1/24", k_flag);
  REQUIRE(dm_style);
  CHECK(host_address(*dm_style).to_string() == "192.168.99.1");
  CHECK(host_address(*parse_private_network("10.0.5.7/24", k_flag)).to_string() == "10.0.5.7");

  CHECK_THAT(error_of(parse_private_network("192.168.56.0/31", k_flag)),
             Catch::Contains("--virtualbox-hostonly-cidr 192.168.56.0/31: the prefix length "
                             "must be /8 to /30"));
  CHECK_THAT(error_of(parse_private_network("10.0.0.0/7", k_flag)),
             Catch::Contains("must be /8 to /30"));
  CHECK_THAT(error_of(parse_private_network("169.254.169.0/24", k_flag)),
             Catch::Contains("overlaps the link-local range 169.254.0.0/16"));
  CHECK_THAT(error_of(parse_private_network("127.0.0.1/8", k_flag)), Catch::Contains("loopback"));
  CHECK_THAT(error_of(parse_private_network("224.0.0.0/24", k_flag)), Catch::Contains("multicast"));
  CHECK_THAT(error_of(parse_private_network("240.1.0.0/16", k_flag)), Catch::Contains("reserved"));
  CHECK_THAT(error_of(parse_private_network("0.1.2.0/24", k_flag)),
             Catch::Contains("\"this network\""));
  CHECK_THAT(error_of(parse_private_network("192.168.56.255/24", k_flag)),
             Catch::Contains("192.168.56.255 is the broadcast address of 192.168.56.0/24; "
                             "write the host's address, e.g. 192.168.56.1/24"));
  CHECK_THAT(error_of(parse_private_network("192.168.56.1\n/24", k_flag)),
             Catch::Contains("--virtualbox-hostonly-cidr \"192.168.56.1\\n/24\" is not an "
                             "IPv4 network"));
}

TEST_CASE("VirtualBox's allowed host-only range is a separate check", "[vm_seed]") {
  for (const char* inside :
       {"192.168.56.1/24", "192.168.56.0/21", "192.168.63.1/24", "192.168.60.1/30"}) {
    INFO(inside);
    CHECK(check_virtualbox_range(*parse_private_network(inside, k_flag), k_flag));
  }
  // docker-machine's default is refused by VirtualBox 6.1.28+, and so by the check.
  auto refused = check_virtualbox_range(*parse_private_network("192.168.99.1/24", k_flag), k_flag);
  REQUIRE_FALSE(refused);
  CHECK(refused.error().kind == ErrorKind::usage);
  CHECK(refused.error().message ==
        "--virtualbox-hostonly-cidr 192.168.99.0/24 is outside the range VirtualBox 6.1.28 and "
        "later allow for host-only networks, 192.168.56.0/21: use a network inside it, such as "
        "192.168.56.1/24 (or list yours in /etc/vbox/networks.conf)");
  // Wider than the range, or straddling it.
  CHECK_FALSE(check_virtualbox_range(*parse_private_network("192.168.0.1/16", k_flag), k_flag));
  CHECK_FALSE(check_virtualbox_range(*parse_private_network("192.168.64.1/24", k_flag), k_flag));
  // qemu skips it: any private network parses.
  CHECK(parse_private_network("10.213.7.1/24", "--qemu-network"));
}

TEST_CASE("Next free machine address skips the host and the store's machines", "[vm_seed]") {
  auto net = *parse_private_network("192.168.56.0/21", k_flag);
  CHECK(next_free_address(net, {}, k_flag)->to_string() == "192.168.56.2");
  CHECK(next_free_address(net, {"192.168.56.2", "192.168.56.3"}, k_flag)->to_string() ==
        "192.168.56.4");
  // Gaps are reused; garbage and addresses of other networks are ignored.
  CHECK(next_free_address(net, {"192.168.56.3", "", "bogus\n", "10.0.0.2", "192.168.56.02"}, k_flag)
            ->to_string() == "192.168.56.2");
  // A host written as .7 leaves .1 free for a machine.
  auto dm_style = *parse_private_network("192.168.56.7/24", k_flag);
  CHECK(next_free_address(dm_style, {}, k_flag)->to_string() == "192.168.56.1");
  CHECK(next_free_address(dm_style, {"192.168.56.1"}, k_flag)->to_string() == "192.168.56.2");
  // Crossing an octet boundary inside a /21.
  std::vector<std::string> used;
  for (int i = 2; i <= 255; ++i) {
    used.push_back("192.168.56." + std::to_string(i));
  }
  CHECK(next_free_address(net, used, k_flag)->to_string() == "192.168.57.0");
}

TEST_CASE("A /30 holds the host and one machine, then is exhausted", "[vm_seed]") {
  auto net = *parse_private_network("192.168.56.4/30", k_flag);
  CHECK(host_address(net).to_string() == "192.168.56.5");
  auto first = next_free_address(net, {}, k_flag);
  REQUIRE(first);
  CHECK(first->to_string() == "192.168.56.6");
  auto none = next_free_address(net, {first->to_string()}, k_flag);
  REQUIRE_FALSE(none);
  CHECK(none.error().kind == ErrorKind::usage);
  CHECK(none.error().message ==
        "no free address left in 192.168.56.4/30: its 2 host addresses are taken by the host "
        "(192.168.56.5) and other machines; remove a machine or choose a larger network with "
        "--virtualbox-hostonly-cidr");
}

TEST_CASE("Machine MACs are stable, locally administered and unicast", "[vm_seed]") {
  CHECK(machine_mac("default") == machine_mac("default"));
  CHECK(machine_mac("default") != machine_mac("default2"));
  std::set<std::string> seen;
  for (int i = 0; i < 1000; ++i) {
    auto mac = machine_mac("node" + std::to_string(i));
    REQUIRE(mac.size() == 17);
    CHECK(mac.rfind("52:54:00:", 0) == 0);
    CHECK(normalize_mac(mac) == mac);
    seen.insert(mac);
  }
  CHECK(seen.size() >= 995); // 24 bits of hash: collisions are rare, not impossible
  CHECK(machine_mac("") != machine_mac(std::string(1, '\0')));
}

TEST_CASE("MAC addresses normalize and hostile ones are refused", "[vm_seed]") {
  CHECK(normalize_mac("52:54:00:AB:cd:0F") == "52:54:00:ab:cd:0f");
  CHECK(normalize_mac("52-54-00-ab-cd-0f") == "52:54:00:ab:cd:0f");
  CHECK(normalize_mac("080027ABCDEF") == "08:00:27:ab:cd:ef"); // VBoxManage's form
  for (const char* hostile :
       {"", "52:54:00:ab:cd", "52:54:00:ab:cd:0f:11", "52:54:00:ab:cd:0g", "52:54-00:ab:cd:0f",
        "52.54.00.ab.cd.0f", "52:54:00:ab:cd:0f\n", " 52:54:00:ab:cd:0f", "01:00:5e:00:00:01",
        "ff:ff:ff:ff:ff:ff", "00:00:00:00:00:00", "5254 00abcd0f", "52:54:00:ab:c:d0f"}) {
    INFO(hostile);
    CHECK_FALSE(normalize_mac(hostile));
  }
}
