// EC2 responses and errors read as botocore reads them: every XML file of
// tests/vectors/ec2 against its entry in expected.json.
#include "drivers/amazonec2/ec2_xml.h"

#include "tests/fakes/vectors.h"

#include <catch2/catch.hpp>
#include <filesystem>
#include <nlohmann/json.hpp>

namespace fs = std::filesystem;
using nlohmann::json;

namespace {

const fs::path k_ec2 = fs::path(DM_VECTORS_DIR) / "ec2";

json or_null(const std::string& text) { return text.empty() ? json(nullptr) : json(text); }
json or_null(const std::optional<int>& number) { return number ? json(*number) : json(nullptr); }

json instances_json(const std::vector<dm::aws::Ec2Instance>& instances) {
  json list = json::array();
  for (const auto& i : instances) {
    list.push_back({{"groupIds", i.group_ids},
                    {"instanceId", i.instance_id},
                    {"ipAddress", or_null(i.ip_address)},
                    {"keyName", or_null(i.key_name)},
                    {"privateIpAddress", or_null(i.private_ip_address)},
                    {"stateCode", i.state_code},
                    {"stateName", i.state_name},
                    {"subnetId", or_null(i.subnet_id)},
                    {"vpcId", or_null(i.vpc_id)}});
  }
  return list;
}

// What the parser gives for one file, in expected.json's shape.
json parsed_as_expected(const std::string& name, const std::string& body) {
  using namespace dm::aws;
  if (name.rfind("errors/", 0) == 0) {
    auto error = parse_ec2_error(body);
    REQUIRE(error);
    return {{"code", error->code}, {"message", error->message}, {"requestId", error->request_id}};
  }
  if (name == "responses/describe-instances.xml" || name == "responses/describe-instances-empty.xml" ||
      name == "responses/run-instances.xml") {
    auto reservation = parse_instances(body);
    REQUIRE(reservation);
    json doc = {{"instances", instances_json(reservation->instances)}};
    if (name == "responses/run-instances.xml") {
      doc["reservationId"] = reservation->reservation_id;
    }
    return doc;
  }
  if (name == "responses/start-instances.xml" || name == "responses/stop-instances.xml" ||
      name == "responses/terminate-instances.xml") {
    auto changes = parse_state_changes(body);
    REQUIRE(changes);
    json list = json::array();
    for (const auto& c : *changes) {
      list.push_back({{"currentState", {{"Code", c.current_code}, {"Name", c.current_name}}},
                      {"instanceId", c.instance_id},
                      {"previousState", {{"Code", c.previous_code}, {"Name", c.previous_name}}}});
    }
    return {{"instances", list}};
  }
  if (name == "responses/describe-security-groups.xml") {
    auto groups = parse_security_groups(body);
    REQUIRE(groups);
    json list = json::array();
    for (const auto& g : *groups) {
      json ingress = json::array();
      for (const auto& p : g.ingress) {
        ingress.push_back({{"cidrs", p.cidrs},
                           {"fromPort", or_null(p.from_port)},
                           {"ipProtocol", p.ip_protocol},
                           {"toPort", or_null(p.to_port)}});
      }
      list.push_back({{"groupId", g.group_id}, {"groupName", g.group_name}, {"ingress", ingress},
                      {"vpcId", g.vpc_id}});
    }
    return {{"groups", list}};
  }
  if (name == "responses/describe-subnets.xml") {
    auto subnets = parse_subnets(body);
    REQUIRE(subnets);
    json list = json::array();
    for (const auto& s : *subnets) {
      list.push_back({{"availabilityZone", s.availability_zone},
                      {"cidrBlock", s.cidr_block},
                      {"defaultForAz", s.default_for_az},
                      {"mapPublicIpOnLaunch", s.map_public_ip_on_launch},
                      {"subnetId", s.subnet_id},
                      {"vpcId", s.vpc_id}});
    }
    return {{"subnets", list}};
  }
  if (name == "responses/describe-vpcs.xml") {
    auto vpcs = parse_vpcs(body);
    REQUIRE(vpcs);
    json list = json::array();
    for (const auto& v : *vpcs) {
      list.push_back({{"cidrBlock", v.cidr_block}, {"isDefault", v.is_default}, {"vpcId", v.vpc_id}});
    }
    return {{"vpcs", list}};
  }
  if (name == "responses/import-key-pair.xml") {
    auto key = parse_import_key_pair(body);
    REQUIRE(key);
    return {{"keyFingerprint", key->key_fingerprint},
            {"keyName", key->key_name},
            {"keyPairId", key->key_pair_id}};
  }
  if (name == "responses/create-security-group.xml") {
    auto id = parse_group_id(body);
    REQUIRE(id);
    auto result = parse_return(body);
    REQUIRE(result);
    return {{"groupId", *id}, {"return", result->value}};
  }
  auto result = parse_return(body);
  REQUIRE(result);
  json doc = {{"return", result->value}};
  if (!result->rule_ids.empty()) {
    doc["ruleIds"] = result->rule_ids;
  }
  return doc;
}

} // namespace

TEST_CASE("every EC2 response and error vector parses to botocore's values", "[ec2_xml]") {
  const json expected = json::parse(dm::testing::read_bytes(k_ec2 / "expected.json"));
  REQUIRE(expected.size() == 23);
  for (const auto& [name, values] : expected.items()) {
    INFO(name);
    json want = values;
    want.erase("httpStatus"); // the status comes with the HTTP answer, not the document
    CHECK(parsed_as_expected(name, dm::testing::read_bytes(k_ec2 / name)) == want);
  }
}

TEST_CASE("EC2 documents of the wrong shape are errors, never guesses", "[ec2_xml]") {
  using namespace dm::aws;
  CHECK_FALSE(parse_instances("not xml"));
  CHECK_FALSE(parse_instances("<DescribeVpcsResponse/>"));
  CHECK_FALSE(parse_group_id("<CreateSecurityGroupResponse><return>true</return>"
                             "</CreateSecurityGroupResponse>"));
  CHECK_FALSE(parse_return("<RebootInstancesResponse/>"));
  CHECK_FALSE(parse_ec2_error("<DescribeInstancesResponse/>"));
  CHECK_FALSE(parse_ec2_error(""));
  auto error = parse_ec2_error(dm::testing::read_bytes(k_ec2 / "errors" / "request-limit-exceeded.xml"));
  REQUIRE(error);
  CHECK(error->code == "RequestLimitExceeded");
  // An instance's own public IP, not the one nested in its network interfaces.
  auto described = parse_instances(dm::testing::read_bytes(k_ec2 / "responses" / "describe-instances.xml"));
  REQUIRE(described);
  REQUIRE(described->instances.size() == 2);
  CHECK(described->instances[0].ip_address.empty());
}

TEST_CASE("the default image is the newest available one the publisher lists", "[ec2_xml]") {
  const std::string body = R"(<?xml version="1.0" encoding="UTF-8"?>
<DescribeImagesResponse xmlns="http://ec2.amazonaws.com/doc/2016-11-15/">
  <requestId>59dbff89-35bd-4eac-99ed-be587EXAMPLE</requestId>
  <imagesSet>
    <item><imageId>ami-old</imageId><imageState>available</imageState>
      <creationDate>2023-06-10T12:00:00.000Z</creationDate><name>debian-12-amd64-20230610-1380</name>
      <architecture>x86_64</architecture></item>
    <item><imageId>ami-new</imageId><imageState>available</imageState>
      <creationDate>2024-11-02T08:00:00.000Z</creationDate><name>debian-12-amd64-20241102-1920</name>
      <architecture>x86_64</architecture></item>
    <item><imageId>ami-pending</imageId><imageState>pending</imageState>
      <creationDate>2025-01-01T00:00:00.000Z</creationDate><name>debian-12-amd64-20250101-2000</name>
      <architecture>x86_64</architecture></item>
  </imagesSet>
</DescribeImagesResponse>)";
  auto images = dm::aws::parse_images(body);
  REQUIRE(images);
  REQUIRE(images->size() == 3);
  auto newest = dm::aws::newest_available_image(*images, "debian-12-amd64-*");
  REQUIRE(newest);
  CHECK(newest->image_id == "ami-new");
  auto none = dm::aws::newest_available_image({}, "debian-12-amd64-* of 136693071363");
  REQUIRE_FALSE(none);
  CHECK(none.error().message.find("--amazonec2-ami") != std::string::npos);
}
