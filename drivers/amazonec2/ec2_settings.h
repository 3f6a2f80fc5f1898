#pragma once
// The amazonec2 driver's settings: from create's flags, and to and from the "Driver"
// object of config.json in docker-machine's field names (plus CredentialSource and
// StoreId). No secret is among them: credentials are read at run time.
#include "core/driver.h"

#include <nlohmann/json.hpp>
#include <string>
#include <vector>

namespace dm::aws {

struct Ec2Settings {
  // Who and where.
  std::string id;       // random; names the key pair and tags everything made
  std::string store_id; // tags what this store made (a shared group is deleted by the last user)
  std::string region = "us-east-1";
  std::string endpoint;
  bool insecure_transport = false;
  std::string credential_source; // "flags", "environment" or "profile NAME"
  int retries = 5;
  // The instance.
  std::string ami; // "" until resolved at create (newest Debian 12)
  std::string instance_type = "t3.micro";
  std::string zone = "a";
  std::string vpc_id;
  std::string subnet_id;
  std::vector<std::string> group_names = {"docker-machine"};
  std::vector<std::string> group_ids;
  bool group_readonly = false;
  std::vector<std::string> open_ports;
  std::string tags; // key1,value1,...
  std::string device_name = "/dev/sda1";
  int root_size = 16;
  std::string volume_type = "gp2";
  std::string iam_instance_profile;
  bool spot = false;
  std::string spot_price = "0.50";
  int block_duration_minutes = 0;
  bool private_address_only = false;
  bool use_private_address = false;
  bool monitoring = false;
  bool ebs_optimized = false;
  std::string user_data_file;
  // Access.
  std::string ssh_user; // "" until chosen: the image's user (admin for Debian)
  int ssh_port = 22;
  std::string ssh_private_key_path; // --amazonec2-ssh-keypath (with --amazonec2-keypair-name)
  std::string key_name;
  bool existing_key = false; // the key pair was the user's: never deleted
  // What create made.
  std::string instance_id;
  std::string reservation_id;
  std::string ip_address;
  std::string private_ip_address;
};

// From create's flags (defaults already applied); usage errors name the flag.
Result<Ec2Settings> settings_from_options(const DriverOptions& options);
// From a stored "Driver" object (untrusted: ids and names that EC2 would not make are dropped).
Ec2Settings settings_from_json(const nlohmann::json& config);
nlohmann::json settings_to_json(const Ec2Settings& settings, const std::string& machine_name,
                                const std::string& store_path, const std::string& key_path);

} // namespace dm::aws
