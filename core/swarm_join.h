#pragma once
// Joining a node to a swarm, bounded and interruptible, over the engines' API: a
// join that "continues in the background" is waited for, a failed attempt is
// left and tried again through the next manager; then the wait until nodes are
// Ready in a manager's node list. The caller picks the engines and the managers.
#include "core/swarm.h"

#include <chrono>
#include <functional>
#include <set>
#include <string>
#include <vector>

namespace dm {

struct JoinTiming {
  int call_timeout_seconds = 60; // POST /swarm/join (the engine answers 503 after its own 20 s)
  int settle_seconds = 60;       // then until the node's engine says it is an active member
  int attempts = 3;              // joins tried per node, each through the next manager
  std::chrono::milliseconds poll{1000};
};

struct JoinRequest {
  EngineEndpoint node; // the joining node's engine
  std::string advertise;
  std::vector<std::string> managers; // "IP:2377" of the managers that can take joins
  size_t first = 0;                  // attempt k goes through managers[(first + k) % size]
  std::string token;
};

// items rotated to start at items[first % size] (empty stays empty).
std::vector<std::string> rotated(const std::vector<std::string>& items, size_t first);

// Polls GET /info until the engine is an active swarm member; returns its node ID.
// "error" or "inactive" (the engine gave up) fails at once; "pending" is waited for.
Result<std::string> wait_swarm_active(HttpClient& http, const EngineEndpoint& endpoint,
                                      int seconds, std::chrono::milliseconds poll);

// Joins one node (note gets a line for a background join and for each retry);
// returns its swarm node ID. ErrorKind::interrupted after Ctrl-C.
Result<std::string> join_node(HttpClient& http, const JoinRequest& request,
                              const JoinTiming& timing,
                              const std::function<void(const std::string&)>& note);

// Polls a manager's GET /nodes until every node of ids is Ready (a manager also
// reachable) or seconds pass. Returns the IDs still not Ready (empty: all Ready);
// an error only when the manager never answered or after Ctrl-C.
Result<std::set<std::string>> wait_nodes_ready(HttpClient& http, const EngineEndpoint& manager,
                                               const std::set<std::string>& ids, int seconds,
                                               std::chrono::milliseconds poll);

} // namespace dm
