#pragma once
// The parameters of each EC2 action the driver calls, flattened as the Query API
// wants them (1-based lists: InstanceId.1, Filter.1.Value.2, TagSpecification.1.Tag.1.Key).
#include "drivers/amazonec2/sigv4.h"

#include <optional>
#include <string>
#include <vector>

namespace dm::aws {

struct Ec2Filter {
  std::string name;
  std::vector<std::string> values;
};
struct Ec2Tag {
  std::string key;
  std::string value;
};

struct RootDisk {
  std::string device_name; // /dev/sda1
  int size_gb = 0;
  std::string volume_type; // gp2, gp3, ...
};

struct RunInstancesSpec {
  std::string image_id;
  std::string instance_type;
  std::string key_name;
  std::vector<std::string> security_group_ids;
  std::string subnet_id;
  std::string user_data_base64;
  std::vector<Ec2Tag> tags; // on the instance and its volumes
  std::string client_token; // makes a retried RunInstances start one instance only
  std::optional<RootDisk> root_disk;
  std::string iam_instance_profile;
  bool monitoring = false;
  bool ebs_optimized = false;
};
Pairs run_instances_params(const RunInstancesSpec& spec);

Pairs describe_instances_params(const std::vector<std::string>& instance_ids,
                                const std::vector<Ec2Filter>& filters);
// TerminateInstances, StartInstances, RebootInstances.
Pairs instance_ids_params(const std::vector<std::string>& instance_ids);
enum class ForceStop { no, yes };
Pairs stop_instances_params(const std::vector<std::string>& instance_ids, ForceStop force);

// public_key_line: the OpenSSH public key ("ssh-ed25519 AAAA... comment"), sent base64.
Pairs import_key_pair_params(const std::string& key_name, const std::string& public_key_line);
Pairs create_security_group_params(const std::string& name, const std::string& description,
                                   const std::string& vpc_id);

struct IpRange {
  std::string cidr;
  std::string description;
};
struct IpPermission {
  std::string protocol; // tcp, udp, -1
  int from_port = 0;
  int to_port = 0;
  std::vector<IpRange> ranges;
  std::vector<std::string> source_group_ids; // members of these groups only
};
Pairs authorize_ingress_params(const std::string& group_id,
                               const std::vector<IpPermission>& permissions);
Pairs describe_security_groups_params(const std::vector<std::string>& group_ids,
                                      const std::vector<Ec2Filter>& filters);
// DescribeSubnets, DescribeVpcs, DescribeImages (and the filters of any action).
Pairs filter_params(const std::vector<Ec2Filter>& filters);
// TagSpecification.<index>.ResourceType and its tags, for actions that tag what they make.
Pairs tag_specification_params(int index, const std::string& resource_type,
                               const std::vector<Ec2Tag>& tags);

} // namespace dm::aws
