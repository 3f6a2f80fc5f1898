#pragma once
// The state query of `ls` and `status`: every machine at once on one HttpBatch
// (no thread per host, no SSH session). A machine with certificates is asked
// GET /_ping on its engine, which answers STATE and DOCKER in one connection;
// a network machine whose engine does not answer (or that has none) is checked
// with a TCP connect to its SSH port, docker-machine's check.
#include "core/engine_api.h"
#include "core/http_client.h"
#include "core/machine_state.h"

#include <chrono>
#include <functional>
#include <optional>
#include <string>
#include <vector>

namespace dm {

struct StateQuery {
  // The state when this computer knows it (a local driver); none: ask the network.
  MachineState known_state = MachineState::none;
  std::optional<EngineEndpoint> engine; // asked only when the state is running or unknown
  std::string ssh_host;                 // the network check; empty when known_state is set
  int ssh_port = 22;
};

struct StateAnswer {
  MachineState state = MachineState::none;
  std::string docker_version; // "20.10.24+dfsg1"; "" when the engine did not say
  std::string error;          // why the row could not be checked, or what the engine said
  long response_ms = 0;
};

// connect bounds each TCP connect (an unreachable host costs this much, whatever
// their number); total bounds the whole query (ls -t); an SSH-port check starts
// when the engine fails, or after ssh_head_start if the engine has not answered.
struct QueryBudget {
  std::chrono::milliseconds connect{2000};
  std::chrono::milliseconds total{10000};
  std::chrono::milliseconds ssh_head_start{1000};
};
inline constexpr std::chrono::milliseconds k_default_connect_budget{2000};
// -t SECONDS: the whole command; each connect gets min(2 s, that).
QueryBudget query_budget(int timeout_seconds);

using NowFunction = std::function<std::chrono::steady_clock::time_point()>;
// One answer per query, in the same order. Returns by the total deadline.
std::vector<StateAnswer> query_states(HttpBatch& batch, const std::vector<StateQuery>& queries,
                                      const QueryBudget& budget,
                                      const NowFunction& now = std::chrono::steady_clock::now);

// "Docker/20.10.24+dfsg1 (linux)" -> "20.10.24+dfsg1"; "" for anything else.
std::string docker_version_from_server_header(const std::string& server);

} // namespace dm
