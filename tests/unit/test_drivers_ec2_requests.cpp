// The EC2 actions' parameters, flattened as botocore flattens them: every form body of
// tests/vectors/ec2/requests/form-bodies.json, compared as decoded name=value pairs
// (botocore writes a space as "+", we write "%20").
#include "drivers/amazonec2/ec2_api.h"
#include "drivers/amazonec2/ec2_requests.h"
#include "tests/fakes/vectors.h"

#include <catch2/catch.hpp>
#include <map>
#include <nlohmann/json.hpp>

using namespace dm::aws;

namespace {

std::string form_decoded(const std::string& text) {
  std::string out;
  for (size_t i = 0; i < text.size(); ++i) {
    if (text[i] == '+') {
      out += ' ';
    } else if (text[i] == '%' && i + 2 < text.size()) {
      out += static_cast<char>(std::stoi(text.substr(i + 1, 2), nullptr, 16));
      i += 2;
    } else {
      out += text[i];
    }
  }
  return out;
}

Pairs decoded_pairs(const std::string& body) {
  Pairs pairs;
  size_t start = 0;
  while (start <= body.size()) {
    size_t amp = body.find('&', start);
    std::string pair = body.substr(start, amp == std::string::npos ? std::string::npos : amp - start);
    auto eq = pair.find('=');
    pairs.emplace_back(form_decoded(pair.substr(0, eq)), form_decoded(pair.substr(eq + 1)));
    if (amp == std::string::npos) {
      break;
    }
    start = amp + 1;
  }
  return pairs;
}

// Our parameters for each vector's SDK-style request.
std::map<std::string, Pairs> ours() {
  RunInstancesSpec run;
  run.image_id = "ami-0abcdef1234567890";
  run.instance_type = "t3.micro";
  run.key_name = "my-key";
  run.security_group_ids = {"sg-0123456789abcdef0"};
  run.subnet_id = "subnet-0123456789abcdef0";
  run.user_data_base64 = "IyEvYmluL2Jhc2gKZWNobyBoaQo=";
  run.tags = {{"Name", "web-1"}};
  run.client_token = "token-123";
  const std::vector<std::string> one = {"i-1234567890abcdef0"};
  return {
      {"RunInstances", run_instances_params(run)},
      {"DescribeInstances",
       describe_instances_params(one, {{"instance-state-name", {"pending", "running"}}})},
      {"TerminateInstances", instance_ids_params(one)},
      {"StartInstances", instance_ids_params(one)},
      {"StopInstances", stop_instances_params(one, ForceStop::no)},
      {"RebootInstances", instance_ids_params(one)},
      {"ImportKeyPair",
       import_key_pair_params("my-key", "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIExampleExampleExampl"
                                        "eExampleExampleExample user@host")},
      {"CreateSecurityGroup", create_security_group_params("web-sg", "web servers", "vpc-1a2b3c4d")},
      {"AuthorizeSecurityGroupIngress",
       authorize_ingress_params("sg-0123456789abcdef0",
                                {{"tcp", 22, 22, {{"203.0.113.0/24", "ssh"}}, {}}})},
      {"DescribeSecurityGroups", describe_security_groups_params({"sg-0123456789abcdef0"}, {})},
      {"DescribeSubnets", filter_params({{"vpc-id", {"vpc-1a2b3c4d"}}})},
      {"DescribeVpcs", filter_params({{"is-default", {"true"}}})},
  };
}

} // namespace

TEST_CASE("every action's form body is botocore's", "[ec2_requests]") {
  auto vectors = nlohmann::json::parse(dm::testing::vector_file("ec2/requests/form-bodies.json"));
  auto built = ours();
  REQUIRE(vectors.size() == built.size());
  for (const auto& entry : vectors) {
    const std::string action = entry["action"].get<std::string>();
    INFO(action);
    REQUIRE(built.count(action) == 1);
    CHECK(decoded_pairs(ec2_form_body(action, built[action])) ==
          decoded_pairs(entry["form_body"].get<std::string>()));
  }
}

TEST_CASE("RunInstances carries the root disk, tags on volumes, and options", "[ec2_requests]") {
  RunInstancesSpec spec;
  spec.image_id = "ami-1";
  spec.instance_type = "t3.small";
  spec.root_disk = RootDisk{"/dev/xvda", 16, "gp3"};
  spec.tags = {{"Name", "m1"}, {"dmachine-store", "s1"}};
  spec.monitoring = true;
  spec.ebs_optimized = true;
  spec.iam_instance_profile = "role";
  auto params = run_instances_params(spec);
  auto has = [&](const std::string& name, const std::string& value) {
    return std::find(params.begin(), params.end(), std::pair{name, value}) != params.end();
  };
  CHECK(has("BlockDeviceMapping.1.DeviceName", "/dev/xvda"));
  CHECK(has("BlockDeviceMapping.1.Ebs.VolumeSize", "16"));
  CHECK(has("BlockDeviceMapping.1.Ebs.VolumeType", "gp3"));
  CHECK(has("BlockDeviceMapping.1.Ebs.DeleteOnTermination", "true"));
  CHECK(has("TagSpecification.2.ResourceType", "volume"));
  CHECK(has("TagSpecification.2.Tag.2.Key", "dmachine-store"));
  CHECK(has("Monitoring.Enabled", "true"));
  CHECK(has("EbsOptimized", "true"));
  CHECK(has("IamInstanceProfile.Name", "role"));
  CHECK_FALSE(has("KeyName", ""));
}

TEST_CASE("ingress for members of a group names the group, not a range", "[ec2_requests]") {
  auto params = authorize_ingress_params(
      "sg-1", {{"tcp", 2377, 2377, {}, {"sg-1"}}, {"-1", 0, 0, {{"10.0.0.0/8", ""}}, {}}});
  CHECK(params == Pairs{{"GroupId", "sg-1"},
                        {"IpPermissions.1.IpProtocol", "tcp"},
                        {"IpPermissions.1.FromPort", "2377"},
                        {"IpPermissions.1.ToPort", "2377"},
                        {"IpPermissions.1.Groups.1.GroupId", "sg-1"},
                        {"IpPermissions.2.IpProtocol", "-1"},
                        {"IpPermissions.2.IpRanges.1.CidrIp", "10.0.0.0/8"}});
}
