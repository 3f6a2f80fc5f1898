#pragma once
// A machine as plain data, persisted as docker-machine's ConfigVersion 3
// config.json. Keys docker-machine wrote that dmachine does not model are
// kept in `extra` and written back unchanged.
#include "core/result.h"

#include <nlohmann/json.hpp>
#include <string>
#include <vector>

namespace dm {

struct EngineOptions {
  std::vector<std::string> arbitrary_flags; // "k=v" from --engine-opt
  std::vector<std::string> dns;
  std::string graph_dir;
  std::vector<std::string> env;
  bool ipv6 = false;
  std::vector<std::string> insecure_registry;
  std::vector<std::string> labels;
  std::string log_level;
  std::string storage_driver;
  bool selinux_enabled = false;
  bool tls_verify = true;
  std::vector<std::string> registry_mirror;
  std::string install_url;
  nlohmann::json extra = nlohmann::json::object();
};

struct AuthOptions {
  std::string cert_dir;
  std::string ca_cert_path;
  std::string ca_private_key_path;
  std::string ca_cert_remote_path;
  std::string server_cert_path;
  std::string server_key_path;
  std::string client_key_path;
  std::string server_cert_remote_path;
  std::string server_key_remote_path;
  std::string client_cert_path;
  std::vector<std::string> server_cert_sans;
  std::string store_path;
  nlohmann::json extra = nlohmann::json::object();
};

struct MachineRecord {
  int config_version = 3;
  std::string name;
  std::string driver_name;
  nlohmann::json driver = nlohmann::json::object(); // the driver's own fields
  std::string host_options_driver;                  // HostOptions.Driver
  int memory = 0;
  int disk = 0;
  EngineOptions engine;
  nlohmann::json swarm_options = nlohmann::json::object();
  AuthOptions auth;
  nlohmann::json host_options_extra = nlohmann::json::object();
  nlohmann::json extra = nlohmann::json::object(); // top-level unknown keys
  // Not stored: the directory MachineStore::load read this record from; save()
  // refuses to write the record under any other name.
  std::string loaded_from;
};

// Parses a config.json document; errors say which key is wrong.
Result<MachineRecord> parse_machine_record(const std::string& text);
nlohmann::json to_json(const MachineRecord& record);
// The same document with docker-machine's key order (for inspect and templates).
nlohmann::ordered_json to_ordered_json(const MachineRecord& record);
// The JSON text as written to disk (4-space indent, like docker-machine).
std::string render_machine_record(const MachineRecord& record);

// The EngineOptions object alone (cluster records keep one for machines made later).
Result<EngineOptions> parse_engine_options(const nlohmann::json& object);
nlohmann::ordered_json engine_options_json(const EngineOptions& engine);

// A fresh record for a new machine in store_root with docker-machine's defaults.
MachineRecord new_machine_record(const std::string& name, const std::string& driver_name,
                                 const std::string& store_root);

// The longest machine name: a name is the machine's host name (HOST_NAME_MAX is 64
// with the NUL; one DNS label is at most 63).
constexpr std::size_t k_max_machine_name_length = 63;

// A name a new machine may take: ^[a-zA-Z0-9][a-zA-Z0-9.-]*$, at most 63 characters.
bool is_valid_machine_name(const std::string& name);
// A directory name the store treats as a machine: the same characters, any length
// (so a machine made before the length rule can still be listed and removed).
bool is_machine_dir_name(const std::string& name);
// docker-machine's text for a name create refuses, saying why when it is the length.
std::string invalid_machine_name_message(const std::string& name);

// An untrusted text for a message: JSON-quoted, control characters escaped.
std::string quoted_for_display(const std::string& text);

// The stored "Driver" object checked against the types of the same keys in
// defaults (what the driver itself writes): a value of another type is an error
// naming the key; a null becomes absent (Go's zero value), so readers never throw.
Result<nlohmann::json> checked_driver_config(const nlohmann::json& stored,
                                             const nlohmann::json& defaults);

} // namespace dm
