#include "core/cluster_record.h"

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <fmt/format.h>
#include <nlohmann/json.hpp>
#include <random>
#include <sys/stat.h>

namespace dm {

namespace fs = std::filesystem;
using nlohmann::json;
using nlohmann::ordered_json;

namespace {

constexpr mode_t k_dir_mode = 0700;
constexpr const char* k_owner_key = "DmachineOwner";

std::string lower(std::string text) {
  std::transform(text.begin(), text.end(), text.begin(),
                 [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
  return text;
}

Result<std::string> string_key(const json& object, const char* key, bool required) {
  if (!object.contains(key)) {
    if (required) {
      return fail(std::string("cluster.json: \"") + key + "\" is missing");
    }
    return std::string();
  }
  if (!object[key].is_string()) {
    return fail(std::string("cluster.json: \"") + key + "\" is not a string");
  }
  return object[key].get<std::string>();
}

Result<ClusterMember> parse_member(const json& item) {
  if (!item.is_object()) {
    return fail("cluster.json: a member is not an object");
  }
  ClusterMember member;
  auto machine = string_key(item, "Machine", true);
  DM_TRY(machine);
  member.machine = *machine;
  auto role_text = string_key(item, "Role", true);
  DM_TRY(role_text);
  auto role = parse_role(*role_text);
  DM_TRY_CTX(role, "cluster.json: member \"" + member.machine + "\"");
  member.role = *role;
  auto node_id = string_key(item, "NodeID", false);
  DM_TRY(node_id);
  member.node_id = *node_id;
  if (item.contains("Labels") && item["Labels"].is_object()) {
    for (const auto& [key, value] : item["Labels"].items()) {
      if (value.is_string()) {
        member.labels[key] = value.get<std::string>();
      }
    }
  }
  return member;
}

} // namespace

std::vector<const ClusterMember*> ClusterRecord::with_role(NodeRole role) const {
  std::vector<const ClusterMember*> found;
  for (const auto& member : members) {
    if (member.role == role) {
      found.push_back(&member);
    }
  }
  return found;
}

const ClusterMember* ClusterRecord::find(const std::string& machine) const {
  auto it = std::find_if(members.begin(), members.end(),
                         [&](const ClusterMember& member) { return member.machine == machine; });
  return it == members.end() ? nullptr : &*it;
}

Result<ClusterRecord> parse_cluster_record(const std::string& text) {
  json doc;
  try {
    doc = json::parse(text);
  } catch (const json::exception& e) {
    return fail(std::string("cluster.json is not valid JSON (") + e.what() + ")");
  }
  if (!doc.is_object()) {
    return fail("cluster.json: expected an object");
  }
  ClusterRecord record;
  auto name = string_key(doc, "Name", true);
  DM_TRY(name);
  record.name = *name;
  auto id = string_key(doc, "ID", false);
  DM_TRY(id);
  record.id = *id;
  auto driver = string_key(doc, "DriverName", true);
  DM_TRY(driver);
  record.driver_name = *driver;
  auto advertise = string_key(doc, "Advertise", false);
  DM_TRY(advertise);
  record.advertise = *advertise;
  if (doc.contains("DrainManagers") && !doc["DrainManagers"].is_null()) {
    if (!doc["DrainManagers"].is_boolean()) {
      return fail("cluster.json: \"DrainManagers\" is not true or false");
    }
    record.drain_managers = doc["DrainManagers"].get<bool>();
  }
  auto phase = string_key(doc, "Phase", false);
  DM_TRY(phase);
  record.phase = *phase == "ready" ? ClusterPhase::ready : ClusterPhase::creating;
  if (doc.contains("DriverOptions") && doc["DriverOptions"].is_object()) {
    for (const auto& [key, value] : doc["DriverOptions"].items()) {
      if (!value.is_array()) {
        return fail(fmt::format("cluster.json: DriverOptions \"{}\" is not a list", key));
      }
      for (const auto& item : value) {
        if (!item.is_string()) {
          return fail(
              fmt::format("cluster.json: DriverOptions \"{}\" holds a value that is not text", key));
        }
        record.driver_options.values[key].push_back(item.get<std::string>());
      }
    }
  }
  if (doc.contains("EngineOptions")) {
    auto engine = parse_engine_options(doc["EngineOptions"]);
    DM_TRY_CTX(engine, "cluster.json");
    record.engine = *engine;
  }
  if (!doc.contains("Members") || !doc["Members"].is_array()) {
    return fail("cluster.json: \"Members\" is missing or not a list");
  }
  for (const auto& item : doc["Members"]) {
    auto member = parse_member(item);
    DM_TRY(member);
    record.members.push_back(*member);
  }
  return record;
}

std::string render_cluster_record(const ClusterRecord& record) {
  ordered_json doc;
  doc["Name"] = record.name;
  doc["ID"] = record.id;
  doc["DriverName"] = record.driver_name;
  doc["Phase"] = record.phase == ClusterPhase::ready ? "ready" : "creating";
  doc["Advertise"] = record.advertise;
  doc["DrainManagers"] = record.drain_managers;
  doc["DriverOptions"] = ordered_json::object();
  for (const auto& [key, values] : record.driver_options.values) {
    doc["DriverOptions"][key] = values;
  }
  doc["EngineOptions"] = engine_options_json(record.engine);
  doc["Members"] = ordered_json::array();
  for (const auto& member : record.members) {
    ordered_json item;
    item["Machine"] = member.machine;
    item["Role"] = role_name(member.role);
    item["NodeID"] = member.node_id;
    item["Labels"] = ordered_json::object();
    for (const auto& [key, value] : member.labels) {
      item["Labels"][key] = value;
    }
    doc["Members"].push_back(item);
  }
  return doc.dump(4) + "\n";
}

std::string new_cluster_id() {
  std::random_device device; // /dev/urandom on Linux
  std::uniform_int_distribution<unsigned> hex(0, 15);
  std::string id;
  for (int i = 0; i < 16; ++i) {
    id += "0123456789abcdef"[hex(device)];
  }
  return id;
}

std::string owner_tag(const ClusterRecord& record) {
  return fmt::format("cluster/{}/{}", record.name, record.id);
}

nlohmann::json owner_keys(const ClusterRecord& record) {
  return json{{k_owner_key, owner_tag(record)}};
}

std::string machine_owner(const MachineRecord& machine) {
  if (machine.extra.is_object() && machine.extra.contains(k_owner_key) &&
      machine.extra[k_owner_key].is_string()) {
    return machine.extra[k_owner_key].get<std::string>();
  }
  return "";
}

bool made_by(const MachineRecord& machine, const ClusterRecord& record) {
  const std::string owner = machine_owner(machine);
  return record.id.empty() ? owner.empty() : owner == owner_tag(record);
}

std::vector<std::string> clusters_with_only_manager(const ClusterStore& clusters,
                                                    const std::string& machine) {
  std::vector<std::string> found;
  auto names = clusters.list_names();
  if (!names) {
    return found;
  }
  for (const auto& name : *names) {
    auto record = clusters.load(name);
    if (!record) {
      continue;
    }
    auto managers = record->with_role(NodeRole::manager);
    if (managers.size() == 1 && managers[0]->machine == machine) {
      found.push_back(name);
    }
  }
  return found;
}

std::string cluster_not_found_message(const std::string& name) {
  return "Cluster \"" + name + "\" does not exist. Run 'dmachine cluster ls' to see the clusters.";
}

bool ClusterStore::exists(const std::string& name) const {
  std::error_code ec;
  return is_valid_machine_name(name) && fs::exists(dir(name) / "cluster.json", ec);
}

Result<std::vector<std::string>> ClusterStore::list_names() const {
  std::vector<std::string> names;
  std::error_code ec;
  if (!fs::exists(m_root, ec)) {
    return names;
  }
  fs::directory_iterator it(m_root, ec);
  for (; !ec && it != fs::directory_iterator(); it.increment(ec)) {
    std::string name = it->path().filename().string();
    if (is_valid_machine_name(name) && exists(name)) {
      names.push_back(name);
    }
  }
  if (ec) {
    return fail("list " + m_root.string() + ": " + ec.message());
  }
  std::sort(names.begin(), names.end(),
            [](const std::string& a, const std::string& b) { return lower(a) < lower(b); });
  return names;
}

Result<ClusterRecord> ClusterStore::load(const std::string& name) const {
  if (!exists(name)) {
    return fail(ErrorKind::not_found, cluster_not_found_message(name));
  }
  auto text = read_file(dir(name) / "cluster.json");
  DM_TRY(text);
  auto record = parse_cluster_record(*text);
  DM_TRY_CTX(record, "cluster \"" + name + "\"");
  return record;
}

Result<void> ClusterStore::save(const ClusterRecord& record) const {
  return write_file_atomic(dir(record.name) / "cluster.json", render_cluster_record(record), 0600);
}

Result<void> ClusterStore::create(const std::string& name) const {
  if (!is_valid_machine_name(name)) {
    return fail(ErrorKind::usage, "Invalid cluster name \"" + name + "\"");
  }
  DM_TRY(m_machines.ensure_layout());
  for (const fs::path& path : {m_root, dir(name)}) {
    if (::mkdir(path.c_str(), k_dir_mode) != 0 && !(errno == EEXIST && path == m_root)) {
      if (errno == EEXIST) {
        return fail(ErrorKind::already_exists, "Cluster \"" + name + "\" already exists");
      }
      return fail("mkdir " + path.string() + ": " + std::strerror(errno));
    }
    // 0700 whatever the umask is.
    if (::chmod(path.c_str(), k_dir_mode) != 0) {
      return fail("chmod " + path.string() + ": " + std::strerror(errno));
    }
  }
  return {};
}

Result<void> ClusterStore::remove(const std::string& name) const {
  // A name is one path component: never "", "." or "..", which would reach the store itself.
  if (!is_valid_machine_name(name)) {
    return fail(ErrorKind::usage, "Invalid cluster name \"" + name + "\"");
  }
  std::error_code ec;
  fs::remove_all(dir(name), ec);
  if (ec) {
    return fail("remove " + dir(name).string() + ": " + ec.message());
  }
  return {};
}

Result<FileLock> ClusterStore::lock(const std::string& name, int timeout_seconds) const {
  return m_machines.lock_named("cluster-" + name, timeout_seconds);
}

} // namespace dm
