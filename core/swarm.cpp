#include "core/swarm.h"

#include <fmt/format.h>

namespace dm {

using nlohmann::json;

namespace {

constexpr const char* k_listen_addr = "0.0.0.0:2377";

std::string text_at(const json& object, const json::json_pointer& pointer) {
  if (!object.contains(pointer) || !object.at(pointer).is_string()) {
    return "";
  }
  return object.at(pointer).get<std::string>();
}

// "version" / "filters" values go in a query string: percent-encode what is not safe.
std::string url_encode(const std::string& text) {
  std::string out;
  for (unsigned char c : text) {
    if (std::isalnum(c) != 0 || c == '-' || c == '_' || c == '.' || c == '~') {
      out += static_cast<char>(c);
    } else {
      out += fmt::format("%{:02X}", c);
    }
  }
  return out;
}

} // namespace

Result<SwarmInfo> swarm_info(HttpClient& http, const EngineEndpoint& endpoint,
                             int timeout_seconds) {
  auto info = engine_get(http, endpoint, "/info", timeout_seconds);
  DM_TRY(info);
  SwarmInfo swarm;
  swarm.local_state = text_at(*info, "/Swarm/LocalNodeState"_json_pointer);
  swarm.node_id = text_at(*info, "/Swarm/NodeID"_json_pointer);
  swarm.error = text_at(*info, "/Swarm/Error"_json_pointer);
  const auto control = "/Swarm/ControlAvailable"_json_pointer;
  swarm.control_available = info->contains(control) && info->at(control).is_boolean() &&
                            info->at(control).get<bool>();
  return swarm;
}

Result<std::string> swarm_init(HttpClient& http, const EngineEndpoint& endpoint,
                               const std::string& advertise, int timeout_seconds) {
  json body = {{"ListenAddr", k_listen_addr}, {"AdvertiseAddr", advertise}};
  auto answer = engine_post(http, endpoint, "/swarm/init", body, timeout_seconds);
  DM_TRY(answer);
  if (!answer->is_string()) {
    return fail("POST /swarm/init: expected the node ID, got " + answer->dump());
  }
  return answer->get<std::string>();
}

Result<JoinTokens> swarm_join_tokens(HttpClient& http, const EngineEndpoint& endpoint,
                                     int timeout_seconds) {
  auto swarm = engine_get(http, endpoint, "/swarm", timeout_seconds);
  DM_TRY(swarm);
  JoinTokens tokens{text_at(*swarm, "/JoinTokens/Worker"_json_pointer),
                    text_at(*swarm, "/JoinTokens/Manager"_json_pointer)};
  if (tokens.worker.empty() || tokens.manager.empty()) {
    return fail("GET /swarm: the answer has no join tokens (is this node a manager?)");
  }
  return tokens;
}

Result<JoinAnswer> swarm_join(HttpClient& http, const EngineEndpoint& endpoint,
                              const std::string& advertise, const std::vector<std::string>& remotes,
                              const std::string& token, int timeout_seconds) {
  json body = {{"ListenAddr", k_listen_addr},
               {"AdvertiseAddr", advertise},
               {"RemoteAddrs", remotes},
               {"JoinToken", token}};
  auto answer = engine_post(http, endpoint, "/swarm/join", body, timeout_seconds);
  if (!answer) {
    // The engine's own join timeout (20 s) passed; the node keeps joining (moby's
    // errSwarmJoinTimeoutReached, a 503). Docker's CLI reports it and exits 0.
    const std::string& message = answer.error().message;
    if (message.find("HTTP 503") != std::string::npos &&
        message.find("continue in the background") != std::string::npos) {
      return JoinAnswer::in_background;
    }
    return fail(answer.error());
  }
  return JoinAnswer::joined;
}

Result<void> swarm_leave(HttpClient& http, const EngineEndpoint& endpoint, bool force,
                         int timeout_seconds) {
  auto answer = engine_post(http, endpoint, force ? "/swarm/leave?force=true" : "/swarm/leave",
                            json(nullptr), timeout_seconds);
  if (!answer) {
    return fail(answer.error());
  }
  return {};
}

SwarmNode parse_swarm_node(const json& item) {
  SwarmNode node;
  node.id = text_at(item, "/ID"_json_pointer);
  node.hostname = text_at(item, "/Description/Hostname"_json_pointer);
  node.role = text_at(item, "/Spec/Role"_json_pointer);
  node.availability = text_at(item, "/Spec/Availability"_json_pointer);
  node.state = text_at(item, "/Status/State"_json_pointer);
  node.addr = text_at(item, "/Status/Addr"_json_pointer);
  node.reachability = text_at(item, "/ManagerStatus/Reachability"_json_pointer);
  node.manager_addr = text_at(item, "/ManagerStatus/Addr"_json_pointer);
  node.engine_version = text_at(item, "/Description/Engine/EngineVersion"_json_pointer);
  const auto leader = "/ManagerStatus/Leader"_json_pointer;
  node.leader = item.contains(leader) && item.at(leader).is_boolean() && item.at(leader).get<bool>();
  const auto index = "/Version/Index"_json_pointer;
  if (item.contains(index) && item.at(index).is_number_integer()) {
    node.version = item.at(index).get<long long>();
  }
  node.spec = item.contains("Spec") ? item["Spec"] : json::object();
  return node;
}

Result<std::vector<SwarmNode>> swarm_nodes(HttpClient& http, const EngineEndpoint& endpoint,
                                           int timeout_seconds) {
  auto list = engine_get(http, endpoint, "/nodes", timeout_seconds);
  DM_TRY(list);
  if (!list->is_array()) {
    return fail("GET /nodes: expected a list");
  }
  std::vector<SwarmNode> nodes;
  for (const auto& item : *list) {
    nodes.push_back(parse_swarm_node(item));
  }
  return nodes;
}

json changed_node_spec(const json& spec, const NodeChange& change) {
  json changed = spec.is_object() ? spec : json::object();
  if (!change.role.empty()) {
    changed["Role"] = change.role;
  }
  if (!change.availability.empty()) {
    changed["Availability"] = change.availability;
  }
  if (!change.labels.empty()) {
    if (!changed.contains("Labels") || !changed["Labels"].is_object()) {
      changed["Labels"] = json::object();
    }
    for (const auto& [key, value] : change.labels) {
      changed["Labels"][key] = value;
    }
  }
  return changed;
}

Result<void> swarm_update_node(HttpClient& http, const EngineEndpoint& endpoint,
                               const SwarmNode& node, const NodeChange& change,
                               int timeout_seconds) {
  auto answer = engine_post(http, endpoint,
                            fmt::format("/nodes/{}/update?version={}", url_encode(node.id),
                                        node.version),
                            changed_node_spec(node.spec, change), timeout_seconds);
  if (!answer) {
    return fail(answer.error().with_context("update node " + node.hostname));
  }
  return {};
}

Result<void> swarm_remove_node(HttpClient& http, const EngineEndpoint& endpoint,
                               const std::string& node_id, bool force, int timeout_seconds) {
  auto answer = engine_delete(http, endpoint,
                              "/nodes/" + url_encode(node_id) + (force ? "?force=true" : ""),
                              timeout_seconds);
  if (!answer) {
    return fail(answer.error());
  }
  return {};
}

Result<int> swarm_tasks_on_node(HttpClient& http, const EngineEndpoint& endpoint,
                                const std::string& node_id, int timeout_seconds) {
  json filters = {{"node", json::array({node_id})}};
  auto tasks = engine_get(http, endpoint, "/tasks?filters=" + url_encode(filters.dump()),
                          timeout_seconds);
  DM_TRY(tasks);
  if (!tasks->is_array()) {
    return fail("GET /tasks: expected a list");
  }
  int active = 0;
  for (const auto& task : *tasks) {
    std::string desired = text_at(task, "/DesiredState"_json_pointer);
    std::string state = text_at(task, "/Status/State"_json_pointer);
    bool finished = state == "shutdown" || state == "complete" || state == "failed" ||
                    state == "rejected" || state == "orphaned" || state == "remove";
    if (desired == "running" || !finished) {
      ++active;
    }
  }
  return active;
}

} // namespace dm
