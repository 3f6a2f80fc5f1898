#pragma once
// Docker swarm mode through a node's engine API (mutual TLS): init, join,
// tokens, the node list, node updates (role, availability, labels), removal,
// leave, and the tasks running on a node. dmachine bootstraps and operates the
// swarm; the swarm itself (Raft, scheduling, routing mesh) is Docker's.
#include "core/engine_api.h"

#include <map>
#include <string>
#include <vector>

namespace dm {

// GET /info -> Swarm: this engine's view of its own membership.
struct SwarmInfo {
  std::string local_state; // "inactive", "pending", "active", "error", "locked"
  std::string node_id;
  bool control_available = false; // a manager
  std::string error;
};
Result<SwarmInfo> swarm_info(HttpClient& http, const EngineEndpoint& endpoint, int timeout_seconds);

// POST /swarm/init; advertise is "IP", "IP:PORT" or an interface name. Returns the node ID.
Result<std::string> swarm_init(HttpClient& http, const EngineEndpoint& endpoint,
                               const std::string& advertise, int timeout_seconds);

struct JoinTokens {
  std::string worker;
  std::string manager;
};
// GET /swarm on a manager.
Result<JoinTokens> swarm_join_tokens(HttpClient& http, const EngineEndpoint& endpoint,
                                     int timeout_seconds);

// How an engine answered POST /swarm/join: joined, or (HTTP 503 "Timeout was reached before
// node joined. The attempt to join the swarm will continue in the background") still joining,
// as Docker's CLI reads it.
enum class JoinAnswer { joined, in_background };
// POST /swarm/join: remotes are managers' "IP:2377"; the engine joins through the first.
Result<JoinAnswer> swarm_join(HttpClient& http, const EngineEndpoint& endpoint,
                              const std::string& advertise, const std::vector<std::string>& remotes,
                              const std::string& token, int timeout_seconds);

// POST /swarm/leave[?force=true].
Result<void> swarm_leave(HttpClient& http, const EngineEndpoint& endpoint, bool force,
                         int timeout_seconds);

struct SwarmNode {
  std::string id;
  std::string hostname;
  std::string role;         // "manager" / "worker"
  std::string availability; // "active" / "pause" / "drain"
  std::string state;        // "ready" / "down" / "unknown" / "disconnected"
  std::string addr;
  bool leader = false;
  std::string reachability; // managers: "reachable" / "unreachable" / "unknown"
  std::string manager_addr; // managers: "IP:2377", where other nodes join
  std::string engine_version;
  long long version = 0;    // for updates
  nlohmann::json spec;      // the node's Spec, for updates
};
// GET /nodes on a manager.
Result<std::vector<SwarmNode>> swarm_nodes(HttpClient& http, const EngineEndpoint& endpoint,
                                           int timeout_seconds);
SwarmNode parse_swarm_node(const nlohmann::json& item);

// What to change in a node's spec; unset fields stay as they are.
struct NodeChange {
  std::string role;         // "" = keep
  std::string availability; // "" = keep
  std::map<std::string, std::string> labels; // added (existing labels kept)
};
nlohmann::json changed_node_spec(const nlohmann::json& spec, const NodeChange& change);
// POST /nodes/ID/update?version=N with the changed spec.
Result<void> swarm_update_node(HttpClient& http, const EngineEndpoint& endpoint,
                               const SwarmNode& node, const NodeChange& change,
                               int timeout_seconds);
// DELETE /nodes/ID[?force=true].
Result<void> swarm_remove_node(HttpClient& http, const EngineEndpoint& endpoint,
                               const std::string& node_id, bool force, int timeout_seconds);

// GET /tasks: tasks on the node that the swarm still wants running or that have not
// finished yet (a drain is over when this is 0).
Result<int> swarm_tasks_on_node(HttpClient& http, const EngineEndpoint& endpoint,
                                const std::string& node_id, int timeout_seconds);

} // namespace dm
