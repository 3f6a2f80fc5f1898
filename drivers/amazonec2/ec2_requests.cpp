#include "drivers/amazonec2/ec2_requests.h"

#include "core/digest.h"

#include <fmt/format.h>

namespace dm::aws {

namespace {

void add_list(Pairs& params, const std::string& prefix, const std::vector<std::string>& values) {
  for (size_t i = 0; i < values.size(); ++i) {
    params.emplace_back(fmt::format("{}.{}", prefix, i + 1), values[i]);
  }
}

void add_filters(Pairs& params, const std::vector<Ec2Filter>& filters) {
  for (size_t i = 0; i < filters.size(); ++i) {
    const std::string prefix = fmt::format("Filter.{}", i + 1);
    params.emplace_back(prefix + ".Name", filters[i].name);
    add_list(params, prefix + ".Value", filters[i].values);
  }
}

void add_tags(Pairs& params, const std::string& prefix, const std::vector<Ec2Tag>& tags) {
  for (size_t i = 0; i < tags.size(); ++i) {
    params.emplace_back(fmt::format("{}.Tag.{}.Key", prefix, i + 1), tags[i].key);
    params.emplace_back(fmt::format("{}.Tag.{}.Value", prefix, i + 1), tags[i].value);
  }
}

} // namespace

Pairs run_instances_params(const RunInstancesSpec& spec) {
  Pairs params = {{"ImageId", spec.image_id},
                  {"InstanceType", spec.instance_type},
                  {"MinCount", "1"},
                  {"MaxCount", "1"}};
  if (!spec.key_name.empty()) {
    params.emplace_back("KeyName", spec.key_name);
  }
  add_list(params, "SecurityGroupId", spec.security_group_ids);
  if (!spec.subnet_id.empty()) {
    params.emplace_back("SubnetId", spec.subnet_id);
  }
  if (!spec.user_data_base64.empty()) {
    params.emplace_back("UserData", spec.user_data_base64);
  }
  if (spec.root_disk) {
    params.emplace_back("BlockDeviceMapping.1.DeviceName", spec.root_disk->device_name);
    params.emplace_back("BlockDeviceMapping.1.Ebs.VolumeSize",
                        std::to_string(spec.root_disk->size_gb));
    params.emplace_back("BlockDeviceMapping.1.Ebs.VolumeType", spec.root_disk->volume_type);
    params.emplace_back("BlockDeviceMapping.1.Ebs.DeleteOnTermination", "true");
  }
  if (!spec.iam_instance_profile.empty()) {
    params.emplace_back("IamInstanceProfile.Name", spec.iam_instance_profile);
  }
  if (spec.monitoring) {
    params.emplace_back("Monitoring.Enabled", "true");
  }
  if (spec.ebs_optimized) {
    params.emplace_back("EbsOptimized", "true");
  }
  if (!spec.tags.empty()) {
    auto instance_tags = tag_specification_params(1, "instance", spec.tags);
    params.insert(params.end(), instance_tags.begin(), instance_tags.end());
    if (spec.root_disk) {
      auto volume_tags = tag_specification_params(2, "volume", spec.tags);
      params.insert(params.end(), volume_tags.begin(), volume_tags.end());
    }
  }
  if (!spec.client_token.empty()) {
    params.emplace_back("ClientToken", spec.client_token);
  }
  return params;
}

Pairs describe_instances_params(const std::vector<std::string>& instance_ids,
                                const std::vector<Ec2Filter>& filters) {
  Pairs params;
  add_list(params, "InstanceId", instance_ids);
  add_filters(params, filters);
  return params;
}

Pairs instance_ids_params(const std::vector<std::string>& instance_ids) {
  return describe_instances_params(instance_ids, {});
}

Pairs stop_instances_params(const std::vector<std::string>& instance_ids, ForceStop force) {
  Pairs params = instance_ids_params(instance_ids);
  params.emplace_back("Force", force == ForceStop::yes ? "true" : "false");
  return params;
}

Pairs import_key_pair_params(const std::string& key_name, const std::string& public_key_line) {
  return {{"KeyName", key_name}, {"PublicKeyMaterial", base64(public_key_line)}};
}

Pairs create_security_group_params(const std::string& name, const std::string& description,
                                   const std::string& vpc_id) {
  Pairs params = {{"GroupName", name}, {"GroupDescription", description}};
  if (!vpc_id.empty()) {
    params.emplace_back("VpcId", vpc_id);
  }
  return params;
}

Pairs authorize_ingress_params(const std::string& group_id,
                               const std::vector<IpPermission>& permissions) {
  Pairs params = {{"GroupId", group_id}};
  for (size_t i = 0; i < permissions.size(); ++i) {
    const IpPermission& permission = permissions[i];
    const std::string prefix = fmt::format("IpPermissions.{}", i + 1);
    params.emplace_back(prefix + ".IpProtocol", permission.protocol);
    if (permission.protocol != "-1") {
      params.emplace_back(prefix + ".FromPort", std::to_string(permission.from_port));
      params.emplace_back(prefix + ".ToPort", std::to_string(permission.to_port));
    }
    for (size_t r = 0; r < permission.ranges.size(); ++r) {
      const std::string range = fmt::format("{}.IpRanges.{}", prefix, r + 1);
      params.emplace_back(range + ".CidrIp", permission.ranges[r].cidr);
      if (!permission.ranges[r].description.empty()) {
        params.emplace_back(range + ".Description", permission.ranges[r].description);
      }
    }
    for (size_t g = 0; g < permission.source_group_ids.size(); ++g) {
      params.emplace_back(fmt::format("{}.Groups.{}.GroupId", prefix, g + 1),
                          permission.source_group_ids[g]);
    }
  }
  return params;
}

Pairs describe_security_groups_params(const std::vector<std::string>& group_ids,
                                      const std::vector<Ec2Filter>& filters) {
  Pairs params;
  add_list(params, "GroupId", group_ids);
  add_filters(params, filters);
  return params;
}

Pairs filter_params(const std::vector<Ec2Filter>& filters) {
  Pairs params;
  add_filters(params, filters);
  return params;
}

Pairs tag_specification_params(int index, const std::string& resource_type,
                               const std::vector<Ec2Tag>& tags) {
  const std::string prefix = fmt::format("TagSpecification.{}", index);
  Pairs params = {{prefix + ".ResourceType", resource_type}};
  add_tags(params, prefix, tags);
  return params;
}

} // namespace dm::aws
