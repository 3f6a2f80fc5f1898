#include "drivers/amazonec2/ec2_settings.h"

#include "core/json_fields.h"
#include "core/machine_record.h"
#include "drivers/amazonec2/ec2_machine_spec.h"

#include <algorithm>
#include <fmt/format.h>
#include <iterator>

namespace dm::aws {

namespace {

using nlohmann::json;

Result<int> parse_int(const std::string& text, const std::string& flag, int low, int high) {
  try {
    size_t used = 0;
    const int value = std::stoi(text, &used);
    if (used == text.size() && value >= low && value <= high) {
      return value;
    }
  } catch (const std::exception&) {
  }
  return fail(ErrorKind::usage, fmt::format("--{}: {} is not a whole number from {} to {}", flag,
                                            quoted_for_display(text), low, high));
}

bool flag_on(const DriverOptions& options, const std::string& name) {
  const std::string value = options.get(name);
  return value == "true" || value == "1";
}

std::string text_of(const json& config, const char* key, const std::string& fallback = "") {
  auto it = config.find(key);
  return it != config.end() && it->is_string() ? it->get<std::string>() : fallback;
}

int int_of(const json& config, const char* key, int fallback) {
  auto it = config.find(key);
  return it != config.end() && it->is_number_integer() ? it->get<int>() : fallback;
}

bool bool_of(const json& config, const char* key) {
  auto it = config.find(key);
  return it != config.end() && it->is_boolean() && it->get<bool>();
}

std::string id_or_empty(const std::string& id, const char* prefix) {
  return valid_ec2_id(id, prefix) ? id : "";
}

std::vector<std::string> ids_only(const std::vector<std::string>& ids, const char* prefix) {
  std::vector<std::string> kept;
  std::copy_if(ids.begin(), ids.end(), std::back_inserter(kept),
               [prefix](const std::string& id) { return valid_ec2_id(id, prefix); });
  return kept;
}

} // namespace

Result<Ec2Settings> settings_from_options(const DriverOptions& options) {
  Ec2Settings s;
  s.region = options.get("amazonec2-region", s.region);
  s.endpoint = options.get("amazonec2-endpoint");
  s.insecure_transport = flag_on(options, "amazonec2-insecure-transport");
  if (s.insecure_transport && s.endpoint.empty()) {
    return fail(ErrorKind::usage,
                "using --amazonec2-insecure-transport also requires --amazonec2-endpoint");
  }
  auto retries = parse_int(options.get("amazonec2-retries", "5"), "amazonec2-retries", -1, 20);
  DM_TRY(retries);
  s.retries = *retries;
  s.ami = options.get("amazonec2-ami");
  if (!s.ami.empty() && !valid_ec2_id(s.ami, "ami")) {
    return fail(ErrorKind::usage, fmt::format("--amazonec2-ami {}: an AMI id looks like "
                                              "ami-0123456789abcdef0",
                                              quoted_for_display(s.ami)));
  }
  s.instance_type = options.get("amazonec2-instance-type", s.instance_type);
  s.zone = options.get("amazonec2-zone", s.zone);
  if (s.zone.size() != 1 || s.zone[0] < 'a' || s.zone[0] > 'z') {
    return fail(ErrorKind::usage, fmt::format("--amazonec2-zone {}: give the zone's letter (a, "
                                              "b, c...)",
                                              quoted_for_display(s.zone)));
  }
  s.vpc_id = options.get("amazonec2-vpc-id");
  s.subnet_id = options.get("amazonec2-subnet-id");
  if ((!s.vpc_id.empty() && !valid_ec2_id(s.vpc_id, "vpc")) ||
      (!s.subnet_id.empty() && !valid_ec2_id(s.subnet_id, "subnet"))) {
    return fail(ErrorKind::usage, "--amazonec2-vpc-id and --amazonec2-subnet-id take ids "
                                  "(vpc-..., subnet-...)");
  }
  if (options.has("amazonec2-security-group")) {
    s.group_names = options.get_list("amazonec2-security-group");
  }
  for (const auto& name : s.group_names) {
    if (!valid_ec2_name(name)) {
      return fail(ErrorKind::usage, fmt::format("--amazonec2-security-group {}: letters, digits, "
                                                ". _ - only",
                                                quoted_for_display(name)));
    }
  }
  s.group_readonly = flag_on(options, "amazonec2-security-group-readonly");
  s.open_ports = options.get_list("amazonec2-open-port");
  for (const auto& port : s.open_ports) {
    DM_TRY(parse_open_port(port));
  }
  s.tags = options.get("amazonec2-tags");
  DM_TRY(parse_tags_flag(s.tags));
  s.device_name = options.get("amazonec2-device-name", s.device_name);
  auto root_size =
      parse_int(options.get("amazonec2-root-size", "16"), "amazonec2-root-size", 1, 16384);
  DM_TRY(root_size);
  s.root_size = *root_size;
  s.volume_type = options.get("amazonec2-volume-type", s.volume_type);
  s.iam_instance_profile = options.get("amazonec2-iam-instance-profile");
  s.spot = flag_on(options, "amazonec2-request-spot-instance");
  s.spot_price = options.get("amazonec2-spot-price", s.spot_price);
  auto duration = parse_int(options.get("amazonec2-block-duration-minutes", "0"),
                            "amazonec2-block-duration-minutes", 0, 360);
  DM_TRY(duration);
  if (*duration % 60 != 0) {
    return fail(ErrorKind::usage, "--amazonec2-block-duration-minutes: 60, 120, 180, 240, 300 "
                                  "or 360");
  }
  s.block_duration_minutes = *duration;
  s.private_address_only = flag_on(options, "amazonec2-private-address-only");
  s.use_private_address = flag_on(options, "amazonec2-use-private-address");
  s.monitoring = flag_on(options, "amazonec2-monitoring");
  s.ebs_optimized = flag_on(options, "amazonec2-use-ebs-optimized-instance");
  s.user_data_file = options.get("amazonec2-userdata");
  s.ssh_user = options.get("amazonec2-ssh-user");
  auto ssh_port =
      parse_int(options.get("amazonec2-ssh-port", "22"), "amazonec2-ssh-port", 1, 65535);
  DM_TRY(ssh_port);
  s.ssh_port = *ssh_port;
  s.ssh_private_key_path = options.get("amazonec2-ssh-keypath");
  s.key_name = options.get("amazonec2-keypair-name");
  s.existing_key = !s.key_name.empty();
  if (s.existing_key && s.ssh_private_key_path.empty()) {
    return fail(ErrorKind::usage,
                "using --amazonec2-keypair-name also requires --amazonec2-ssh-keypath");
  }
  if (s.existing_key && !valid_ec2_name(s.key_name)) {
    return fail(ErrorKind::usage, fmt::format("--amazonec2-keypair-name {}: letters, digits, . "
                                              "_ - only",
                                              quoted_for_display(s.key_name)));
  }
  return s;
}

Ec2Settings settings_from_json(const json& config) {
  Ec2Settings s;
  s.id = text_of(config, "Id");
  s.store_id = text_of(config, "StoreId");
  s.region = text_of(config, "Region", s.region);
  s.endpoint = text_of(config, "Endpoint");
  s.insecure_transport = bool_of(config, "DisableSSL");
  s.credential_source = text_of(config, "CredentialSource");
  s.retries = int_of(config, "RetryCount", s.retries);
  s.ami = id_or_empty(text_of(config, "AMI"), "ami");
  s.instance_type = text_of(config, "InstanceType", s.instance_type);
  s.zone = text_of(config, "Zone", s.zone);
  s.vpc_id = id_or_empty(text_of(config, "VpcId"), "vpc");
  s.subnet_id = id_or_empty(text_of(config, "SubnetId"), "subnet");
  s.group_names = string_list_field(config, "SecurityGroupNames");
  s.group_ids = ids_only(string_list_field(config, "SecurityGroupIds"), "sg");
  if (s.group_ids.empty() && valid_ec2_id(text_of(config, "SecurityGroupId"), "sg")) {
    s.group_ids = {text_of(config, "SecurityGroupId")}; // records older than Feb 2016
  }
  s.group_readonly = bool_of(config, "SecurityGroupReadOnly");
  s.open_ports = string_list_field(config, "OpenPorts");
  s.tags = text_of(config, "Tags");
  s.device_name = text_of(config, "DeviceName", s.device_name);
  s.root_size = int_of(config, "RootSize", s.root_size);
  s.volume_type = text_of(config, "VolumeType", s.volume_type);
  s.iam_instance_profile = text_of(config, "IamInstanceProfile");
  s.spot = bool_of(config, "RequestSpotInstance");
  s.spot_price = text_of(config, "SpotPrice", s.spot_price);
  s.block_duration_minutes = int_of(config, "BlockDurationMinutes", 0);
  s.private_address_only = bool_of(config, "PrivateIPOnly");
  s.use_private_address = bool_of(config, "UsePrivateIP");
  s.monitoring = bool_of(config, "Monitoring");
  s.ebs_optimized = bool_of(config, "UseEbsOptimizedInstance");
  s.user_data_file = text_of(config, "UserDataFile");
  s.ssh_user = text_of(config, "SSHUser");
  s.ssh_port = int_of(config, "SSHPort", s.ssh_port);
  s.ssh_private_key_path = text_of(config, "SSHPrivateKeyPath");
  s.key_name = text_of(config, "KeyName");
  if (!valid_ec2_name(s.key_name)) {
    s.key_name.clear();
  }
  s.existing_key = bool_of(config, "ExistingKey");
  s.instance_id = id_or_empty(text_of(config, "InstanceId"), "i");
  s.reservation_id = text_of(config, "ReservationId");
  s.ip_address = text_of(config, "IPAddress");
  s.private_ip_address = text_of(config, "PrivateIPAddress");
  return s;
}

json settings_to_json(const Ec2Settings& s, const std::string& machine_name,
                      const std::string& store_path, const std::string& key_path) {
  return {{"IPAddress", s.ip_address},
          {"MachineName", machine_name},
          {"SSHUser", s.ssh_user},
          {"SSHPort", s.ssh_port},
          {"SSHKeyPath", key_path},
          {"StorePath", store_path},
          {"SwarmMaster", false},
          {"SwarmHost", ""},
          {"SwarmDiscovery", ""},
          {"Id", s.id},
          {"StoreId", s.store_id},
          {"CredentialSource", s.credential_source},
          {"Region", s.region},
          {"AMI", s.ami},
          {"SSHKeyID", 0},
          {"ExistingKey", s.existing_key},
          {"KeyName", s.key_name},
          {"InstanceId", s.instance_id},
          {"InstanceType", s.instance_type},
          {"PrivateIPAddress", s.private_ip_address},
          {"SecurityGroupId", s.group_ids.empty() ? "" : s.group_ids.front()},
          {"SecurityGroupIds", s.group_ids},
          {"SecurityGroupName", s.group_names.empty() ? "" : s.group_names.front()},
          {"SecurityGroupNames", s.group_names},
          {"SecurityGroupReadOnly", s.group_readonly},
          {"OpenPorts", s.open_ports},
          {"Tags", s.tags},
          {"ReservationId", s.reservation_id},
          {"DeviceName", s.device_name},
          {"RootSize", s.root_size},
          {"VolumeType", s.volume_type},
          {"IamInstanceProfile", s.iam_instance_profile},
          {"VpcId", s.vpc_id},
          {"SubnetId", s.subnet_id},
          {"Zone", s.zone},
          {"RequestSpotInstance", s.spot},
          {"SpotPrice", s.spot_price},
          {"BlockDurationMinutes", s.block_duration_minutes},
          {"PrivateIPOnly", s.private_address_only},
          {"UsePrivateIP", s.use_private_address},
          {"UseEbsOptimizedInstance", s.ebs_optimized},
          {"Monitoring", s.monitoring},
          {"SSHPrivateKeyPath", s.ssh_private_key_path},
          {"RetryCount", s.retries},
          {"Endpoint", s.endpoint},
          {"DisableSSL", s.insecure_transport},
          {"UserDataFile", s.user_data_file}};
}

} // namespace dm::aws
