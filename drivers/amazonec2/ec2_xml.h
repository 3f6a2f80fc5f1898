#pragma once
// EC2 Query API responses (XML, any namespace date) read into plain structs. Only
// direct children are read where EC2 nests the same names deeper (an instance's
// ipAddress, not its network interfaces'). A document of another shape is an error.
#include "core/result.h"

#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace dm::aws {

// <Response><Errors><Error><Code/><Message/></Error></Errors><RequestID/></Response>
struct Ec2Error {
  std::string code;
  std::string message;
  std::string request_id;
};
// The error document, or nothing when body is not one.
std::optional<Ec2Error> parse_ec2_error(std::string_view body);

struct Ec2Instance {
  std::string instance_id;
  int state_code = 0; // low byte only: 0 pending, 16 running, 32 shutting-down, 48 terminated,
                      // 64 stopping, 80 stopped
  std::string state_name;
  std::string ip_address;         // public; "" when it has none (stopped)
  std::string private_ip_address; // "" when it has none
  std::string key_name;
  std::string subnet_id;
  std::string vpc_id;
  std::vector<std::string> group_ids;
};
struct Ec2Reservation {
  std::string reservation_id; // RunInstances only
  std::vector<Ec2Instance> instances;
};
// DescribeInstances (every reservation's instances) and RunInstances.
Result<Ec2Reservation> parse_instances(std::string_view body);

struct Ec2StateChange {
  std::string instance_id;
  int current_code = 0;
  std::string current_name;
  int previous_code = 0;
  std::string previous_name;
};
// StartInstances, StopInstances, TerminateInstances.
Result<std::vector<Ec2StateChange>> parse_state_changes(std::string_view body);

struct Ec2Permission {
  std::string ip_protocol;
  std::optional<int> from_port;
  std::optional<int> to_port;
  std::vector<std::string> cidrs;
};
struct Ec2SecurityGroup {
  std::string group_id;
  std::string group_name;
  std::string vpc_id;
  std::vector<Ec2Permission> ingress;
};
Result<std::vector<Ec2SecurityGroup>> parse_security_groups(std::string_view body);

struct Ec2Subnet {
  std::string subnet_id;
  std::string vpc_id;
  std::string availability_zone;
  std::string cidr_block;
  bool default_for_az = false;
  bool map_public_ip_on_launch = false;
};
Result<std::vector<Ec2Subnet>> parse_subnets(std::string_view body);

struct Ec2Vpc {
  std::string vpc_id;
  std::string cidr_block;
  bool is_default = false;
};
Result<std::vector<Ec2Vpc>> parse_vpcs(std::string_view body);

struct Ec2KeyPair {
  std::string key_name;
  std::string key_fingerprint;
  std::string key_pair_id;
};
Result<Ec2KeyPair> parse_import_key_pair(std::string_view body);

struct Ec2Image {
  std::string image_id;
  std::string name;
  std::string creation_date; // ISO 8601, UTC: compares as text
  std::string state;         // available, pending, ...
  std::string architecture;
};
Result<std::vector<Ec2Image>> parse_images(std::string_view body);
// The newest available image, or an error naming what was looked for.
Result<Ec2Image> newest_available_image(const std::vector<Ec2Image>& images,
                                        const std::string& looked_for);

// CreateSecurityGroup's groupId.
Result<std::string> parse_group_id(std::string_view body);
// <return>true</return> (RebootInstances, AuthorizeSecurityGroupIngress, ...); the
// rule ids AuthorizeSecurityGroupIngress made, when it lists them.
struct Ec2Return {
  bool value = false;
  std::vector<std::string> rule_ids;
};
Result<Ec2Return> parse_return(std::string_view body);

} // namespace dm::aws
