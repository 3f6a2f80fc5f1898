#include "core/machine_record.h"

#include <algorithm>
#include <array>
#include <string_view>

namespace dm {

namespace {

using nlohmann::json;
using nlohmann::ordered_json;

constexpr std::string_view k_file = "config.json";

tl::unexpected<Error> bad_key(const std::string& path, std::string_view expected) {
  return fail(std::string(k_file) + ": " + path + ": expected " + std::string(expected));
}

std::string join_path(const std::string& parent, std::string_view key) {
  return parent.empty() ? std::string(key) : parent + "." + std::string(key);
}

// Readers for one object: a missing key or null gives the zero value, as Go's
// encoding/json does; a value of the wrong type names the key.
class ObjectReader {
public:
  ObjectReader(const json& object, std::string path) : m_object(object), m_path(std::move(path)) {}

  Result<std::string> string(std::string_view key) const {
    const json* value = find(key);
    if (value == nullptr) {
      return std::string();
    }
    if (!value->is_string()) {
      return bad_key(join_path(m_path, key), "string");
    }
    return value->get<std::string>();
  }

  Result<bool> boolean(std::string_view key, bool fallback) const {
    const json* value = find(key);
    if (value == nullptr) {
      return fallback;
    }
    if (!value->is_boolean()) {
      return bad_key(join_path(m_path, key), "true or false");
    }
    return value->get<bool>();
  }

  Result<int> integer(std::string_view key) const {
    const json* value = find(key);
    if (value == nullptr) {
      return 0;
    }
    if (!value->is_number_integer()) {
      return bad_key(join_path(m_path, key), "integer");
    }
    auto number = value->get<std::int64_t>();
    if (number < INT32_MIN || number > INT32_MAX) {
      return bad_key(join_path(m_path, key), "integer in 32-bit range");
    }
    return static_cast<int>(number);
  }

  Result<std::vector<std::string>> string_list(std::string_view key) const {
    std::vector<std::string> list;
    const json* value = find(key);
    if (value == nullptr) {
      return list;
    }
    std::string path = join_path(m_path, key);
    if (!value->is_array()) {
      return bad_key(path, "array");
    }
    for (std::size_t i = 0; i < value->size(); ++i) {
      if (!(*value)[i].is_string()) {
        return bad_key(path + "[" + std::to_string(i) + "]", "string");
      }
      list.push_back((*value)[i].get<std::string>());
    }
    return list;
  }

  // An object member; a missing key or null gives an empty object.
  Result<json> object(std::string_view key) const {
    const json* value = find(key);
    if (value == nullptr) {
      return json::object();
    }
    if (!value->is_object()) {
      return bad_key(join_path(m_path, key), "object");
    }
    return *value;
  }

  // Every member whose key is not in known, for writing back unchanged.
  template <std::size_t N> json extra(const std::array<std::string_view, N>& known) const {
    json rest = json::object();
    for (const auto& [key, value] : m_object.items()) {
      if (std::find(known.begin(), known.end(), key) == known.end()) {
        rest[key] = value;
      }
    }
    return rest;
  }

private:
  const json* find(std::string_view key) const {
    auto it = m_object.find(std::string(key));
    if (it == m_object.end() || it->is_null()) {
      return nullptr;
    }
    return &*it;
  }

  const json& m_object;
  std::string m_path;
};

// Key order as docker-machine 0.16 writes them (Go struct declaration order).
constexpr std::array<std::string_view, 5> k_top_keys = {"ConfigVersion", "Driver", "DriverName",
                                                         "HostOptions", "Name"};
constexpr std::array<std::string_view, 7> k_host_keys = {
    "Driver", "Memory", "Disk", "EngineOptions", "SwarmOptions", "AuthOptions", "Name"};
constexpr std::array<std::string_view, 13> k_engine_keys = {
    "ArbitraryFlags", "Dns",        "GraphDir",       "Env",       "Ipv6",
    "InsecureRegistry", "Labels",   "LogLevel",       "StorageDriver", "SelinuxEnabled",
    "TlsVerify",      "RegistryMirror", "InstallURL"};
constexpr std::array<std::string_view, 12> k_auth_keys = {
    "CertDir",        "CaCertPath",           "CaPrivateKeyPath",    "CaCertRemotePath",
    "ServerCertPath", "ServerKeyPath",        "ClientKeyPath",       "ServerCertRemotePath",
    "ServerKeyRemotePath", "ClientCertPath",  "ServerCertSANs",      "StorePath"};
constexpr std::array<std::string_view, 14> k_swarm_keys = {
    "IsSwarm",  "Address",    "Discovery",  "Agent",          "Master",
    "Host",     "Image",      "Strategy",   "Heartbeat",      "Overcommit",
    "ArbitraryFlags", "ArbitraryJoinFlags", "Env",            "IsExperimental"};
// drivers.BaseDriver, embedded first in every docker-machine driver.
constexpr std::array<std::string_view, 9> k_base_driver_keys = {
    "IPAddress", "MachineName", "SSHUser",     "SSHPort",       "SSHKeyPath",
    "StorePath", "SwarmMaster", "SwarmHost",   "SwarmDiscovery"};

// What a reader of a value of expected's kind needs; "" when any value will do.
std::string_view expected_kind(const json& expected) {
  switch (expected.type()) {
  case json::value_t::string:
    return "string";
  case json::value_t::boolean:
    return "true or false";
  case json::value_t::number_integer:
  case json::value_t::number_unsigned:
    return "integer";
  case json::value_t::number_float:
    return "number";
  case json::value_t::array:
    return "array";
  case json::value_t::object:
    return "object";
  default:
    return "";
  }
}

bool same_kind(const json& value, const json& expected) {
  if (expected.is_number_integer()) { // covers unsigned too
    return value.is_number_integer();
  }
  if (expected.is_number()) {
    return value.is_number();
  }
  return value.type() == expected.type();
}

// stored with its members checked against the kinds of the same keys in defaults.
Result<json> checked_members(const json& stored, const json& defaults, const std::string& path) {
  json checked = stored;
  for (const auto& [key, expected] : defaults.items()) {
    auto it = checked.find(key);
    if (it == checked.end() || expected_kind(expected).empty()) {
      continue;
    }
    if (it->is_null()) {
      checked.erase(it); // Go's encoding/json: null leaves the zero value
      continue;
    }
    if (!same_kind(*it, expected)) {
      return bad_key(join_path(path, key), expected_kind(expected));
    }
  }
  return checked;
}

// drivers.BaseDriver's fields (and EnginePort, which dmachine's engine setup reads).
const json& base_driver_kinds() {
  static const json kinds = {{"IPAddress", ""},   {"MachineName", ""},    {"SSHUser", ""},
                             {"SSHPort", 0},      {"SSHKeyPath", ""},     {"StorePath", ""},
                             {"SwarmMaster", false}, {"SwarmHost", ""},   {"SwarmDiscovery", ""},
                             {"EnginePort", 0}};
  return kinds;
}

Result<EngineOptions> parse_engine(const json& object) {
  ObjectReader in(object, "HostOptions.EngineOptions");
  EngineOptions engine;
  auto arbitrary_flags = in.string_list("ArbitraryFlags");
  DM_TRY(arbitrary_flags);
  engine.arbitrary_flags = *arbitrary_flags;
  auto dns = in.string_list("Dns");
  DM_TRY(dns);
  engine.dns = *dns;
  auto graph_dir = in.string("GraphDir");
  DM_TRY(graph_dir);
  engine.graph_dir = *graph_dir;
  auto env = in.string_list("Env");
  DM_TRY(env);
  engine.env = *env;
  auto ipv6 = in.boolean("Ipv6", false);
  DM_TRY(ipv6);
  engine.ipv6 = *ipv6;
  auto insecure = in.string_list("InsecureRegistry");
  DM_TRY(insecure);
  engine.insecure_registry = *insecure;
  auto labels = in.string_list("Labels");
  DM_TRY(labels);
  engine.labels = *labels;
  auto log_level = in.string("LogLevel");
  DM_TRY(log_level);
  engine.log_level = *log_level;
  auto storage_driver = in.string("StorageDriver");
  DM_TRY(storage_driver);
  engine.storage_driver = *storage_driver;
  auto selinux = in.boolean("SelinuxEnabled", false);
  DM_TRY(selinux);
  engine.selinux_enabled = *selinux;
  // Go's zero value would be false, but every record docker-machine writes says true.
  auto tls_verify = in.boolean("TlsVerify", true);
  DM_TRY(tls_verify);
  engine.tls_verify = *tls_verify;
  auto mirrors = in.string_list("RegistryMirror");
  DM_TRY(mirrors);
  engine.registry_mirror = *mirrors;
  auto install_url = in.string("InstallURL");
  DM_TRY(install_url);
  engine.install_url = *install_url;
  engine.extra = in.extra(k_engine_keys);
  return engine;
}

Result<AuthOptions> parse_auth(const json& object) {
  ObjectReader in(object, "HostOptions.AuthOptions");
  AuthOptions auth;
  const std::array<std::pair<std::string_view, std::string*>, 11> strings = {{
      {"CertDir", &auth.cert_dir},
      {"CaCertPath", &auth.ca_cert_path},
      {"CaPrivateKeyPath", &auth.ca_private_key_path},
      {"CaCertRemotePath", &auth.ca_cert_remote_path},
      {"ServerCertPath", &auth.server_cert_path},
      {"ServerKeyPath", &auth.server_key_path},
      {"ClientKeyPath", &auth.client_key_path},
      {"ServerCertRemotePath", &auth.server_cert_remote_path},
      {"ServerKeyRemotePath", &auth.server_key_remote_path},
      {"ClientCertPath", &auth.client_cert_path},
      {"StorePath", &auth.store_path},
  }};
  for (const auto& [key, target] : strings) {
    auto value = in.string(key);
    DM_TRY(value);
    *target = *value;
  }
  auto sans = in.string_list("ServerCertSANs");
  DM_TRY(sans);
  auth.server_cert_sans = *sans;
  auth.extra = in.extra(k_auth_keys);
  return auth;
}

// Known keys first in the given order, then the rest (alphabetical, as json keeps them).
template <std::size_t N>
ordered_json ordered_object(const json& object, const std::array<std::string_view, N>& order) {
  ordered_json out = ordered_json::object();
  for (std::string_view key : order) {
    auto it = object.find(std::string(key));
    if (it != object.end()) {
      out[std::string(key)] = ordered_json(*it);
    }
  }
  for (const auto& [key, value] : object.items()) {
    if (!out.contains(key)) {
      out[key] = ordered_json(value);
    }
  }
  return out;
}

template <std::size_t N>
void append_extra(ordered_json& out, const json& extra, const std::array<std::string_view, N>& known) {
  if (!extra.is_object()) {
    return;
  }
  for (const auto& [key, value] : extra.items()) {
    if (std::find(known.begin(), known.end(), key) == known.end()) {
      out[key] = ordered_json(value);
    }
  }
}

ordered_json string_array(const std::vector<std::string>& list) {
  ordered_json array = ordered_json::array();
  for (const auto& item : list) {
    array.push_back(item);
  }
  return array;
}

ordered_json engine_json(const EngineOptions& engine) {
  ordered_json out = ordered_json::object();
  out["ArbitraryFlags"] = string_array(engine.arbitrary_flags);
  // docker-machine leaves Dns as a nil slice, which Go writes as null.
  out["Dns"] = engine.dns.empty() ? ordered_json(nullptr) : string_array(engine.dns);
  out["GraphDir"] = engine.graph_dir;
  out["Env"] = string_array(engine.env);
  out["Ipv6"] = engine.ipv6;
  out["InsecureRegistry"] = string_array(engine.insecure_registry);
  out["Labels"] = string_array(engine.labels);
  out["LogLevel"] = engine.log_level;
  out["StorageDriver"] = engine.storage_driver;
  out["SelinuxEnabled"] = engine.selinux_enabled;
  out["TlsVerify"] = engine.tls_verify;
  out["RegistryMirror"] = string_array(engine.registry_mirror);
  out["InstallURL"] = engine.install_url;
  append_extra(out, engine.extra, k_engine_keys);
  return out;
}

ordered_json auth_json(const AuthOptions& auth) {
  ordered_json out = ordered_json::object();
  out["CertDir"] = auth.cert_dir;
  out["CaCertPath"] = auth.ca_cert_path;
  out["CaPrivateKeyPath"] = auth.ca_private_key_path;
  out["CaCertRemotePath"] = auth.ca_cert_remote_path;
  out["ServerCertPath"] = auth.server_cert_path;
  out["ServerKeyPath"] = auth.server_key_path;
  out["ClientKeyPath"] = auth.client_key_path;
  out["ServerCertRemotePath"] = auth.server_cert_remote_path;
  out["ServerKeyRemotePath"] = auth.server_key_remote_path;
  out["ClientCertPath"] = auth.client_cert_path;
  out["ServerCertSANs"] = string_array(auth.server_cert_sans);
  out["StorePath"] = auth.store_path;
  append_extra(out, auth.extra, k_auth_keys);
  return out;
}

// "syntax error while parsing object - unexpected end of input; expected '}'" -> the part after " - ".
std::string parse_error_reason(const std::string& what) {
  auto dash = what.find(" - ");
  if (dash != std::string::npos) {
    return what.substr(dash + 3);
  }
  auto colon = what.rfind(": ");
  return colon == std::string::npos ? what : what.substr(colon + 2);
}

} // namespace

Result<MachineRecord> parse_machine_record(const std::string& text) {
  if (text.find_first_not_of(" \t\r\n") == std::string::npos) {
    return fail(std::string(k_file) + ": empty file (truncated write?)");
  }
  json doc;
  try {
    doc = json::parse(text);
  } catch (const json::parse_error& e) {
    return fail(std::string(k_file) + ": invalid JSON at byte " + std::to_string(e.byte) + ": " +
                parse_error_reason(e.what()));
  } catch (const json::exception& e) {
    return fail(std::string(k_file) + ": invalid JSON: " + e.what());
  }
  if (!doc.is_object()) {
    return fail(std::string(k_file) + ": expected a JSON object at the top level");
  }

  MachineRecord record;
  ObjectReader top(doc, "");
  if (!doc.contains("ConfigVersion")) {
    return fail(std::string(k_file) + ": ConfigVersion: missing (dmachine reads version 3)");
  }
  auto version = top.integer("ConfigVersion");
  DM_TRY(version);
  if (*version != 3) {
    return fail(std::string(k_file) + ": ConfigVersion: version " + std::to_string(*version) +
                " is not supported (dmachine reads version 3; docker-machine 0.16 migrates older "
                "records when it loads them)");
  }
  record.config_version = *version;
  auto driver = top.object("Driver");
  DM_TRY(driver);
  auto driver_checked = checked_members(*driver, base_driver_kinds(), "Driver");
  DM_TRY(driver_checked);
  record.driver = std::move(*driver_checked);
  auto driver_name = top.string("DriverName");
  DM_TRY(driver_name);
  record.driver_name = *driver_name;
  auto name = top.string("Name");
  DM_TRY(name);
  record.name = *name;
  record.extra = top.extra(k_top_keys);

  auto host = top.object("HostOptions");
  DM_TRY(host);
  ObjectReader host_in(*host, "HostOptions");
  auto host_driver = host_in.string("Driver");
  DM_TRY(host_driver);
  record.host_options_driver = *host_driver;
  auto memory = host_in.integer("Memory");
  DM_TRY(memory);
  record.memory = *memory;
  auto disk = host_in.integer("Disk");
  DM_TRY(disk);
  record.disk = *disk;

  auto engine_object = host_in.object("EngineOptions");
  DM_TRY(engine_object);
  auto engine = parse_engine(*engine_object);
  DM_TRY(engine);
  record.engine = std::move(*engine);

  auto swarm = host_in.object("SwarmOptions");
  DM_TRY(swarm);
  record.swarm_options = *swarm;

  auto auth_object = host_in.object("AuthOptions");
  DM_TRY(auth_object);
  auto auth = parse_auth(*auth_object);
  DM_TRY(auth);
  record.auth = std::move(*auth);
  record.host_options_extra = host_in.extra(k_host_keys);
  return record;
}

nlohmann::ordered_json to_ordered_json(const MachineRecord& record) {
  ordered_json host = ordered_json::object();
  host["Driver"] = record.host_options_driver;
  host["Memory"] = record.memory;
  host["Disk"] = record.disk;
  host["EngineOptions"] = engine_json(record.engine);
  host["SwarmOptions"] = record.swarm_options.is_object()
                             ? ordered_object(record.swarm_options, k_swarm_keys)
                             : ordered_json::object();
  host["AuthOptions"] = auth_json(record.auth);
  append_extra(host, record.host_options_extra, k_host_keys);

  ordered_json out = ordered_json::object();
  out["ConfigVersion"] = record.config_version;
  out["Driver"] = record.driver.is_object() ? ordered_object(record.driver, k_base_driver_keys)
                                            : ordered_json::object();
  out["DriverName"] = record.driver_name;
  out["HostOptions"] = std::move(host);
  out["Name"] = record.name;
  append_extra(out, record.extra, k_top_keys);
  return out;
}

Result<EngineOptions> parse_engine_options(const nlohmann::json& object) {
  return parse_engine(object);
}

nlohmann::ordered_json engine_options_json(const EngineOptions& engine) {
  return engine_json(engine);
}

nlohmann::json to_json(const MachineRecord& record) { return json(to_ordered_json(record)); }

std::string render_machine_record(const MachineRecord& record) {
  // replace: a stray invalid UTF-8 byte must not turn a save into an exception.
  return to_ordered_json(record).dump(4, ' ', false, json::error_handler_t::replace);
}

MachineRecord new_machine_record(const std::string& name, const std::string& driver_name,
                                 const std::string& store_root) {
  const std::string certs = store_root + "/certs";
  const std::string machine_dir = store_root + "/machines/" + name;
  MachineRecord record;
  record.config_version = 3;
  record.name = name;
  record.driver_name = driver_name;
  record.engine.tls_verify = true;
  record.engine.install_url = ""; // dmachine installs the distribution's engine package
  record.swarm_options = json{
      {"IsSwarm", false},         {"Address", ""},
      {"Discovery", ""},          {"Agent", false},
      {"Master", false},          {"Host", "tcp://0.0.0.0:3376"},
      {"Image", "swarm:latest"},  {"Strategy", "spread"},
      {"Heartbeat", 0},           {"Overcommit", 0},
      {"ArbitraryFlags", json::array()}, {"ArbitraryJoinFlags", json::array()},
      {"Env", nullptr},           {"IsExperimental", false},
  };
  record.auth.cert_dir = certs;
  record.auth.ca_cert_path = certs + "/ca.pem";
  record.auth.ca_private_key_path = certs + "/ca-key.pem";
  record.auth.client_key_path = certs + "/key.pem";
  record.auth.client_cert_path = certs + "/cert.pem";
  record.auth.server_cert_path = machine_dir + "/server.pem";
  record.auth.server_key_path = machine_dir + "/server-key.pem";
  record.auth.store_path = machine_dir;
  return record;
}

bool is_machine_dir_name(const std::string& name) {
  auto alnum = [](char c) {
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9');
  };
  if (name.empty() || !alnum(name.front())) {
    return false;
  }
  return std::all_of(name.begin(), name.end(),
                     [&](char c) { return alnum(c) || c == '.' || c == '-'; });
}

bool is_valid_machine_name(const std::string& name) {
  return is_machine_dir_name(name) && name.size() <= k_max_machine_name_length;
}

std::string invalid_machine_name_message(const std::string& name) {
  std::string message = "Invalid hostname specified. Allowed hostname chars are: 0-9a-zA-Z . -";
  if (is_machine_dir_name(name)) {
    message += " (and a host name has at most " + std::to_string(k_max_machine_name_length) +
               " characters; this one has " + std::to_string(name.size()) + ")";
  }
  return message;
}

std::string quoted_for_display(const std::string& text) {
  return json(text).dump(-1, ' ', false, json::error_handler_t::replace);
}

Result<nlohmann::json> checked_driver_config(const nlohmann::json& stored,
                                             const nlohmann::json& defaults) {
  if (!stored.is_object() || !defaults.is_object()) {
    return fail(std::string(k_file) + ": Driver: expected object");
  }
  return checked_members(stored, defaults, "Driver");
}

} // namespace dm
