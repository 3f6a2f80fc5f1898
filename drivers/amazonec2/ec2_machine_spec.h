#pragma once
// Pure pieces of the amazonec2 driver: docker-machine's state mapping, its flag
// formats (--amazonec2-tags, --amazonec2-open-port), the security group's rules and
// the default image's query (publisher's owner id and name pattern, never an AMI table).
#include "core/machine_state.h"
#include "core/result.h"
#include "drivers/amazonec2/ec2_requests.h"

#include <string>
#include <vector>

namespace dm::aws {

// pending Starting, running Running, stopping and shutting-down Stopping, stopped
// Stopped, anything else (terminated) Error: docker-machine's GetState.
MachineState machine_state_of(const std::string& ec2_state_name);

// "key1,value1,key2,value2" (docker-machine's --amazonec2-tags); "" gives no tags.
Result<std::vector<Ec2Tag>> parse_tags_flag(const std::string& text);

struct OpenPort {
  int port = 0;
  std::string protocol = "tcp";
};
// "8080" (tcp) or "8080/udp", as docker-machine's --amazonec2-open-port.
Result<OpenPort> parse_open_port(const std::string& text);

// SSH, the engine and the open ports from anywhere; swarm's ports (2377/tcp, 7946/tcp+udp,
// 4789/udp) only from members of the group itself.
std::vector<IpPermission> machine_group_rules(const std::string& group_id, int ssh_port,
                                              int engine_port,
                                              const std::vector<OpenPort>& open_ports);

struct ImageQuery {
  std::string owner;        // the publisher's account id
  std::string name_pattern; // DescribeImages name filter
  std::string architecture; // x86_64 or arm64
  std::string ssh_user;     // the image's default user
};
// Debian 12 from Debian's own account, for the instance type's architecture (t4g, m7g...
// are arm64).
ImageQuery default_image_query(const std::string& instance_type);

// Names EC2 accepts for what the driver makes: letters, digits, . _ - (at most 255).
bool valid_ec2_name(const std::string& name);
// i-0123abcd..., sg-..., and so on: prefix "-" and hex digits.
bool valid_ec2_id(const std::string& id, const std::string& prefix);

} // namespace dm::aws
