#include "drivers/amazonec2/amazonec2_driver.h"
#include "drivers/amazonec2/ec2_machine_spec.h"
#include "drivers/amazonec2/ec2_settings.h"
#include "drivers/registry.h"

#include <catch2/catch.hpp>

using namespace dm;
using namespace dm::aws;

TEST_CASE("amazonec2: EC2 states map to docker-machine's", "[amazonec2]") {
  CHECK(machine_state_of("pending") == MachineState::starting);
  CHECK(machine_state_of("running") == MachineState::running);
  CHECK(machine_state_of("stopping") == MachineState::stopping);
  CHECK(machine_state_of("shutting-down") == MachineState::stopping);
  CHECK(machine_state_of("stopped") == MachineState::stopped);
  CHECK(machine_state_of("terminated") == MachineState::error);
  CHECK(machine_state_of("what") == MachineState::error);
}

TEST_CASE("amazonec2: --amazonec2-tags pairs", "[amazonec2]") {
  auto tags = parse_tags_flag("team,web,env,prod");
  REQUIRE(tags);
  REQUIRE(tags->size() == 2);
  CHECK(tags->at(1).key == "env");
  CHECK(tags->at(1).value == "prod");
  CHECK(parse_tags_flag("")->empty());
  CHECK_FALSE(parse_tags_flag("odd"));
  CHECK_FALSE(parse_tags_flag("aws:x,1"));
  CHECK_FALSE(parse_tags_flag(",v"));
}

TEST_CASE("amazonec2: --amazonec2-open-port", "[amazonec2]") {
  CHECK(parse_open_port("8080")->port == 8080);
  CHECK(parse_open_port("8080")->protocol == "tcp");
  CHECK(parse_open_port("53/udp")->protocol == "udp");
  CHECK_FALSE(parse_open_port("0"));
  CHECK_FALSE(parse_open_port("70000"));
  CHECK_FALSE(parse_open_port("80/icmp"));
  CHECK_FALSE(parse_open_port("x"));
}

TEST_CASE("amazonec2: swarm ports only from the group, SSH and engine from anywhere",
          "[amazonec2]") {
  auto rules = machine_group_rules("sg-1", 22, 2376, {{8080, "tcp"}, {22, "tcp"}});
  int anywhere = 0;
  int from_group = 0;
  for (const auto& rule : rules) {
    if (rule.from_port == 2377 || rule.from_port == 7946 || rule.from_port == 4789) {
      CHECK(rule.ranges.empty());
      CHECK(rule.source_group_ids == std::vector<std::string>{"sg-1"});
      ++from_group;
    } else {
      REQUIRE(rule.ranges.size() == 1);
      CHECK(rule.ranges[0].cidr == "0.0.0.0/0");
      ++anywhere;
    }
  }
  CHECK(anywhere == 3); // 22 once (the duplicate open port is dropped), 2376, 8080
  CHECK(from_group == 4);
}

TEST_CASE("amazonec2: the default image is Debian 12 of Debian's account, by architecture",
          "[amazonec2]") {
  auto amd = default_image_query("t3.micro");
  CHECK(amd.owner == "136693071363");
  CHECK(amd.name_pattern == "debian-12-amd64-*");
  CHECK(amd.ssh_user == "admin");
  CHECK(default_image_query("t4g.small").name_pattern == "debian-12-arm64-*");
  CHECK(default_image_query("m7gd.large").architecture == "arm64");
  CHECK(default_image_query("g5.xlarge").architecture == "x86_64");
}

TEST_CASE("amazonec2: settings from flags, defaults and errors", "[amazonec2]") {
  const DriverEntry* entry = find_driver("amazonec2");
  REQUIRE(entry != nullptr);
  DriverOptions given;
  given.values["amazonec2-open-port"] = {"8080", "53/udp"};
  given.values["amazonec2-tags"] = {"a,b"};
  auto settings = settings_from_options(with_driver_defaults(*entry, given));
  REQUIRE(settings);
  CHECK(settings->region == "us-east-1");
  CHECK(settings->instance_type == "t3.micro");
  CHECK(settings->root_size == 16);
  CHECK(settings->group_names == std::vector<std::string>{"docker-machine"});
  CHECK(settings->open_ports.size() == 2);
  CHECK(settings->retries == 5);

  auto bad = [&](const char* flag, const char* value) {
    DriverOptions options = given;
    options.values[flag] = {value};
    return !settings_from_options(with_driver_defaults(*entry, options));
  };
  CHECK(bad("amazonec2-insecure-transport", "true")); // without --amazonec2-endpoint
  CHECK(bad("amazonec2-keypair-name", "mine"));       // without --amazonec2-ssh-keypath
  CHECK(bad("amazonec2-ami", "ubuntu"));
  CHECK(bad("amazonec2-zone", "ab"));
  CHECK(bad("amazonec2-root-size", "-1"));
  CHECK(bad("amazonec2-block-duration-minutes", "61"));
  CHECK(bad("amazonec2-security-group", "a b"));
  CHECK(bad("amazonec2-open-port", "x"));
  CHECK(bad("amazonec2-retries", "many"));
}

TEST_CASE("amazonec2: the record has docker-machine's keys and no secret", "[amazonec2]") {
  Ec2Settings settings;
  settings.instance_id = "i-0123456789abcdef0";
  settings.credential_source = "environment";
  auto json = settings_to_json(settings, "m1", "/store", "/store/machines/m1/id_rsa");
  for (const char* key : {"InstanceId", "Region", "AMI", "KeyName", "SecurityGroupIds",
                          "SecurityGroupNames", "RootSize", "SSHUser", "IPAddress", "Endpoint"}) {
    CHECK(json.contains(key));
  }
  CHECK_FALSE(json.contains("AccessKey"));
  CHECK_FALSE(json.contains("SecretKey"));
  CHECK_FALSE(json.contains("SessionToken"));
  auto back = settings_from_json(json);
  CHECK(back.instance_id == "i-0123456789abcdef0");
  CHECK(back.credential_source == "environment");
}

TEST_CASE("amazonec2: a stored record's ids and names are checked", "[amazonec2]") {
  nlohmann::json stored = {{"InstanceId", "i-../../x"},
                           {"SecurityGroupIds", {"sg-0a1", "sg-;rm"}},
                           {"KeyName", "a b"},
                           {"SecurityGroupId", "sg-0b2"}};
  auto settings = settings_from_json(stored);
  CHECK(settings.instance_id.empty());
  CHECK(settings.group_ids == std::vector<std::string>{"sg-0a1"});
  CHECK(settings.key_name.empty());
  CHECK(valid_ec2_id("i-0123abcd", "i"));
  CHECK_FALSE(valid_ec2_id("i-", "i"));
  CHECK_FALSE(valid_ec2_id("sg-0123", "i"));
  CHECK_FALSE(valid_ec2_id("i-0123ABCD", "i"));
}
