#include "core/cluster_spec.h"

#include <algorithm>
#include <fmt/format.h>
#include <set>
#include <yaml-cpp/yaml.h>

namespace dm {

namespace {

constexpr int k_max_nodes = 100;

// A scalar or a list of scalars, as a list.
Result<std::vector<std::string>> scalar_list(const YAML::Node& node, const std::string& where) {
  std::vector<std::string> values;
  if (!node) {
    return values;
  }
  if (node.IsScalar()) {
    values.push_back(node.as<std::string>());
  } else if (node.IsSequence()) {
    for (const auto& item : node) {
      if (!item.IsScalar()) {
        return fail(ErrorKind::usage, where + ": expected a value or a list of values");
      }
      values.push_back(item.as<std::string>());
    }
  } else if (!node.IsNull()) {
    return fail(ErrorKind::usage, where + ": expected a value or a list of values");
  }
  return values;
}

Result<std::string> scalar(const YAML::Node& node, const std::string& where) {
  // A missing key is an invalid node: IsScalar() on it would throw (and read as bad YAML).
  if (!node) {
    return fail(ErrorKind::usage, where + " is missing");
  }
  if (!node.IsScalar()) {
    return fail(ErrorKind::usage, where + ": expected a single value");
  }
  return node.as<std::string>();
}

Result<bool> boolean(const YAML::Node& node, const std::string& where) {
  auto text = scalar(node, where);
  DM_TRY(text);
  if (*text == "true" || *text == "yes") {
    return true;
  }
  if (*text == "false" || *text == "no") {
    return false;
  }
  return fail(ErrorKind::usage, where + ": expected true or false, got \"" + *text + "\"");
}

Result<int> count(const YAML::Node& node, const std::string& where) {
  auto text = scalar(node, where);
  DM_TRY(text);
  try {
    size_t used = 0;
    int value = std::stoi(*text, &used);
    if (used == text->size() && value >= 0 && value <= k_max_nodes) {
      return value;
    }
  } catch (const std::exception&) {
    // Reported below.
  }
  return fail(ErrorKind::usage,
              fmt::format("{}: expected a number from 0 to {}, got \"{}\"", where, k_max_nodes, *text));
}

// Keys of a map must be known; a typo is an error, not an ignored line.
Result<void> known_keys(const YAML::Node& map, const std::set<std::string>& known,
                        const std::string& where) {
  for (const auto& item : map) {
    auto key = item.first.as<std::string>();
    if (known.count(key) == 0) {
      std::string list;
      for (const auto& name : known) {
        list += (list.empty() ? "" : ", ") + name;
      }
      return fail(ErrorKind::usage,
                  fmt::format("{}: unknown key \"{}\" (known: {})", where, key, list));
    }
  }
  return {};
}

Result<DriverOptions> driver_options(const YAML::Node& node, const std::string& where) {
  DriverOptions options;
  if (!node || node.IsNull()) {
    return options;
  }
  if (!node.IsMap()) {
    return fail(ErrorKind::usage, where + ": expected a map of driver flag: value");
  }
  for (const auto& item : node) {
    auto key = item.first.as<std::string>();
    auto values = scalar_list(item.second, where + "." + key);
    DM_TRY(values);
    options.values[key] = *values;
  }
  return options;
}

Result<NodeLabels> labels(const YAML::Node& node, const std::string& where) {
  NodeLabels result;
  if (!node || node.IsNull()) {
    return result;
  }
  if (!node.IsMap()) {
    return fail(ErrorKind::usage, where + ": expected a map of label: value");
  }
  for (const auto& item : node) {
    auto value = scalar(item.second, where + "." + item.first.as<std::string>());
    DM_TRY(value);
    result[item.first.as<std::string>()] = *value;
  }
  return result;
}

Result<EngineOptions> engine_options(const YAML::Node& node) {
  EngineOptions engine;
  if (!node || node.IsNull()) {
    return engine;
  }
  if (!node.IsMap()) {
    return fail(ErrorKind::usage, "engine: expected a map");
  }
  DM_TRY(known_keys(node,
                    {"opt", "insecure_registry", "registry_mirror", "label", "storage_driver",
                     "env", "install_url"},
                    "engine"));
  const std::vector<std::pair<const char*, std::vector<std::string>*>> lists = {
      {"opt", &engine.arbitrary_flags},
      {"insecure_registry", &engine.insecure_registry},
      {"registry_mirror", &engine.registry_mirror},
      {"label", &engine.labels},
      {"env", &engine.env}};
  for (const auto& [key, target] : lists) {
    auto values = scalar_list(node[key], std::string("engine.") + key);
    DM_TRY(values);
    *target = *values;
  }
  if (node["storage_driver"]) {
    auto value = scalar(node["storage_driver"], "engine.storage_driver");
    DM_TRY(value);
    engine.storage_driver = *value;
  }
  if (node["install_url"]) {
    auto value = scalar(node["install_url"], "engine.install_url");
    DM_TRY(value);
    engine.install_url = *value;
  }
  return engine;
}

Result<std::vector<NodeSpec>> group_nodes(const std::string& cluster, const YAML::Node& group,
                                          const std::string& where,
                                          std::map<NodeRole, int>& numbered) {
  if (!group.IsMap()) {
    return fail(ErrorKind::usage, where + ": expected a map with role and count or names");
  }
  DM_TRY(known_keys(group, {"role", "count", "names", "labels"}, where));
  if (!group["role"]) {
    return fail(ErrorKind::usage, where + ": role is missing (manager or worker)");
  }
  auto role_text = scalar(group["role"], where + ".role");
  DM_TRY(role_text);
  auto role = parse_role(*role_text);
  DM_TRY_CTX(role, where + ".role");
  auto group_labels = labels(group["labels"], where + ".labels");
  DM_TRY(group_labels);
  if (group["count"] && group["names"]) {
    return fail(ErrorKind::usage, where + ": give count or names, not both");
  }
  if (group["count"]) {
    auto n = count(group["count"], where + ".count");
    DM_TRY(n);
    auto nodes = numbered_nodes(cluster, *role, *n, numbered[*role] + 1, *group_labels);
    numbered[*role] += *n;
    return nodes;
  }
  if (!group["names"] || !group["names"].IsSequence()) {
    return fail(ErrorKind::usage, where + ": give count: N or names: [...]");
  }
  std::vector<NodeSpec> nodes;
  for (size_t i = 0; i < group["names"].size(); ++i) {
    const YAML::Node& item = group["names"][i];
    const std::string item_where = fmt::format("{}.names[{}]", where, i);
    NodeSpec node{"", *role, *group_labels, {}};
    if (item.IsScalar()) {
      node.name = item.as<std::string>();
    } else if (item.IsMap()) {
      DM_TRY(known_keys(item, {"name", "driver_options"}, item_where));
      auto name = scalar(item["name"], item_where + ".name");
      DM_TRY(name);
      node.name = *name;
      auto options = driver_options(item["driver_options"], item_where + ".driver_options");
      DM_TRY(options);
      node.driver_options = *options;
    } else {
      return fail(ErrorKind::usage, item_where + ": expected a name or {name, driver_options}");
    }
    nodes.push_back(std::move(node));
  }
  return nodes;
}

Result<ClusterSpec> parse_document(const YAML::Node& root, const std::string& given_name) {
  if (!root.IsMap()) {
    return fail(ErrorKind::usage, "expected a map at the top (name, driver, groups, ...)");
  }
  DM_TRY(known_keys(root,
                    {"name", "driver", "driver_options", "engine", "advertise", "drain_managers",
                     "groups"},
                    "cluster file"));
  ClusterSpec spec;
  if (root["name"]) {
    auto name = scalar(root["name"], "name");
    DM_TRY(name);
    spec.name = *name;
  }
  if (!given_name.empty()) {
    if (!spec.name.empty() && spec.name != given_name) {
      return fail(ErrorKind::usage, fmt::format("the file names the cluster \"{}\", the command "
                                                "line \"{}\": give one name",
                                                spec.name, given_name));
    }
    spec.name = given_name;
  }
  if (root["driver"]) {
    auto driver = scalar(root["driver"], "driver");
    DM_TRY(driver);
    spec.driver_name = *driver;
  }
  auto options = driver_options(root["driver_options"], "driver_options");
  DM_TRY(options);
  spec.driver_options = *options;
  auto engine = engine_options(root["engine"]);
  DM_TRY(engine);
  spec.engine = *engine;
  if (root["advertise"]) {
    auto advertise = scalar(root["advertise"], "advertise");
    DM_TRY(advertise);
    spec.advertise = *advertise == "ip" ? "" : *advertise;
  }
  if (root["drain_managers"]) {
    auto drain = boolean(root["drain_managers"], "drain_managers");
    DM_TRY(drain);
    spec.drain_managers = *drain;
  }
  const YAML::Node groups = root["groups"];
  if (!groups || !groups.IsSequence() || groups.size() == 0) {
    return fail(ErrorKind::usage, "groups: expected a list of node groups (role, count or names)");
  }
  std::map<NodeRole, int> numbered;
  std::vector<NodeSpec> managers;
  std::vector<NodeSpec> workers;
  for (size_t i = 0; i < groups.size(); ++i) {
    auto nodes = group_nodes(spec.name, groups[i], fmt::format("groups[{}]", i), numbered);
    DM_TRY(nodes);
    for (auto& node : *nodes) {
      (node.role == NodeRole::manager ? managers : workers).push_back(std::move(node));
    }
  }
  spec.nodes = std::move(managers);
  spec.nodes.insert(spec.nodes.end(), workers.begin(), workers.end());
  return spec;
}

} // namespace

std::string role_name(NodeRole role) { return role == NodeRole::manager ? "manager" : "worker"; }

Result<NodeRole> parse_role(const std::string& text) {
  if (text == "manager" || text == "managers") {
    return NodeRole::manager;
  }
  if (text == "worker" || text == "workers") {
    return NodeRole::worker;
  }
  return fail(ErrorKind::usage, "unknown role \"" + text + "\" (manager or worker)");
}

std::vector<NodeSpec> numbered_nodes(const std::string& cluster, NodeRole role, int count,
                                     int first, const NodeLabels& labels) {
  std::vector<NodeSpec> nodes;
  for (int i = 0; i < count; ++i) {
    nodes.push_back(
        NodeSpec{fmt::format("{}-{}-{}", cluster, role_name(role), first + i), role, labels, {}});
  }
  return nodes;
}

Result<ClusterSpec> parse_cluster_file(const std::string& yaml_text, const std::string& name) {
  try {
    return parse_document(YAML::Load(yaml_text), name);
  } catch (const YAML::Exception& e) {
    return fail(ErrorKind::usage, std::string("not valid YAML: ") + e.what());
  }
}

void set_role_count(ClusterSpec& spec, NodeRole role, int count) {
  std::vector<NodeSpec> kept;
  std::vector<NodeSpec> others;
  for (auto& node : spec.nodes) {
    if (node.role != role) {
      others.push_back(std::move(node));
    } else if (static_cast<int>(kept.size()) < count) {
      kept.push_back(std::move(node));
    }
  }
  std::set<std::string> used;
  for (const auto& node : kept) {
    used.insert(node.name);
  }
  for (const auto& node : others) {
    used.insert(node.name);
  }
  const NodeLabels labels = kept.empty() ? NodeLabels{} : kept.back().labels;
  for (int i = 1; static_cast<int>(kept.size()) < count; ++i) {
    std::string name = fmt::format("{}-{}-{}", spec.name, role_name(role), i);
    if (used.insert(name).second) {
      kept.push_back(NodeSpec{name, role, labels, {}});
    }
  }
  std::vector<NodeSpec>& managers = role == NodeRole::manager ? kept : others;
  std::vector<NodeSpec>& workers = role == NodeRole::manager ? others : kept;
  spec.nodes = std::move(managers);
  spec.nodes.insert(spec.nodes.end(), workers.begin(), workers.end());
}

namespace {

Result<void> check_option_values(const DriverFlag& flag, const std::vector<std::string>& values,
                                 const std::string& where) {
  const std::string key = where + "." + flag.name;
  if (flag.type != FlagType::string_list && values.size() > 1) {
    return fail(ErrorKind::precreate,
                fmt::format("{}: expected one value, got a list of {}", key, values.size()));
  }
  for (const auto& value : values) {
    if (flag.type == FlagType::integer) {
      size_t used = 0;
      bool ok = !value.empty();
      try {
        (void)std::stoll(value, &used);
      } catch (const std::exception&) {
        ok = false;
      }
      if (!ok || used != value.size()) {
        return fail(ErrorKind::precreate,
                    fmt::format("{}: \"{}\" is not a whole number", key, value));
      }
    } else if (flag.type == FlagType::boolean && value != "true" && value != "false") {
      return fail(ErrorKind::precreate,
                  fmt::format("{}: expected true or false, got \"{}\"", key, value));
    }
  }
  return {};
}

Result<void> check_options(const DriverOptions& options, const DriverEntry& driver,
                           const std::string& where) {
  for (const auto& [key, values] : options.values) {
    const std::string& name = key; // clang 14 cannot capture a structured binding
    auto flag = std::find_if(driver.flags.begin(), driver.flags.end(),
                             [&](const DriverFlag& f) { return f.name == name; });
    if (flag == driver.flags.end()) {
      std::string known;
      for (const auto& f : driver.flags) {
        known += (known.empty() ? "" : ", ") + f.name;
      }
      return fail(ErrorKind::usage,
                  fmt::format("{}: unknown key \"{}\": not an option of the {} driver (its "
                              "options: {})",
                              where, key, driver.name, known.empty() ? "none" : known));
    }
    DM_TRY(check_option_values(*flag, values, where));
  }
  return {};
}

} // namespace

Result<void> check_driver_options(const ClusterSpec& spec, const DriverEntry& driver) {
  DM_TRY(check_options(spec.driver_options, driver, "driver_options"));
  for (const auto& node : spec.nodes) {
    DM_TRY(check_options(node.driver_options, driver,
                         "node \"" + node.name + "\": driver_options"));
  }
  return {};
}

Result<void> validate_cluster_spec(const ClusterSpec& spec) {
  if (spec.name.empty()) {
    return fail(ErrorKind::usage, "Error: No cluster name specified");
  }
  if (!is_valid_machine_name(spec.name)) {
    return fail(ErrorKind::usage, "Invalid cluster name \"" + spec.name +
                                      "\". Allowed chars are: 0-9a-zA-Z . - (it starts every "
                                      "node's machine name)");
  }
  int managers = 0;
  std::set<std::string> seen;
  for (const auto& node : spec.nodes) {
    if (!is_valid_machine_name(node.name)) {
      return fail(ErrorKind::usage, "Invalid node name \"" + node.name +
                                        "\". Allowed hostname chars are: 0-9a-zA-Z . -");
    }
    if (!seen.insert(node.name).second) {
      return fail(ErrorKind::usage, "node \"" + node.name + "\" is listed twice");
    }
    managers += node.role == NodeRole::manager ? 1 : 0;
  }
  if (managers == 0) {
    return fail(ErrorKind::usage, "a cluster needs at least one manager (--managers 1 or more)");
  }
  if (spec.nodes.size() > static_cast<size_t>(k_max_nodes)) {
    return fail(ErrorKind::usage, fmt::format("at most {} nodes per cluster", k_max_nodes));
  }
  return {};
}

int quorum_size(int managers) { return managers / 2 + 1; }

int failures_tolerated(int managers) { return managers > 0 ? (managers - 1) / 2 : 0; }

std::string quorum_warning(int managers) {
  if (managers > 7) {
    return fmt::format("Warning: {} managers. Raft needs a majority ({}) of them for every "
                       "change, so more than 7 managers slow the cluster down without adding "
                       "much: {} managers tolerate {} failures. Docker recommends at most 7.",
                       managers, quorum_size(managers), managers, failures_tolerated(managers));
  }
  if (managers > 0 && managers % 2 == 0) {
    return fmt::format("Warning: an even number of managers ({}). Raft needs a majority ({}) "
                       "reachable, so {} managers tolerate {} failure(s), no more than {} would; "
                       "use an odd number.",
                       managers, quorum_size(managers), managers, failures_tolerated(managers),
                       managers - 1);
  }
  return "";
}

size_t tolerated_worker_losses(size_t workers) { return workers / 10; }

ClusterPlan plan_cluster(const std::vector<NodeSpec>& nodes) {
  ClusterPlan plan;
  for (const auto& node : nodes) {
    if (node.role == NodeRole::manager) {
      if (plan.init_node.empty()) {
        plan.init_node = node.name;
      } else {
        plan.manager_joins.push_back(node.name);
      }
    } else {
      plan.worker_joins.push_back(node.name);
    }
  }
  return plan;
}

} // namespace dm
