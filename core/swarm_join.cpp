#include "core/swarm_join.h"

#include "core/interrupt.h"

#include <algorithm>
#include <fmt/format.h>
#include <optional>
#include <thread>

namespace dm {

namespace {

constexpr int k_info_timeout = 5;
constexpr int k_leave_timeout = 20;

Result<void> check_interrupted() {
  if (interrupted()) {
    return fail(ErrorKind::interrupted, "interrupted");
  }
  return {};
}

// What one poll says: done (a value), keep waiting (nullopt, with why), or a failure.
template <typename T> struct Poll {
  std::optional<T> value;
  std::string waiting_for;
};

// Calls check every poll until it gives a value, fails, or seconds pass; bounded in time and
// in count. The timeout error keeps what the last poll was waiting for.
template <typename T>
Result<T> poll_until(int seconds, std::chrono::milliseconds poll, const std::string& what,
                     const std::function<Result<Poll<T>>()>& check) {
  using Clock = std::chrono::steady_clock;
  const auto deadline = Clock::now() + std::chrono::seconds(std::max(seconds, 0));
  const long long step = std::max<long long>(poll.count(), 1);
  const long long max_polls = std::max<long long>(seconds, 1) * 1000 / step + 1;
  std::string last;
  for (long long i = 0; i < max_polls; ++i) {
    DM_TRY(check_interrupted());
    auto polled = check();
    DM_TRY(polled);
    if (polled->value) {
      return *polled->value;
    }
    last = polled->waiting_for;
    if (Clock::now() + poll >= deadline) {
      break;
    }
    std::this_thread::sleep_for(poll);
  }
  return fail(ErrorKind::timeout, fmt::format("{}: not done after {} s{}", what, seconds,
                                              last.empty() ? "" : " (" + last + ")"));
}

bool is_ready(const SwarmNode& node) {
  return node.state == "ready" && (node.role != "manager" || node.reachability == "reachable");
}

} // namespace

std::vector<std::string> rotated(const std::vector<std::string>& items, size_t first) {
  std::vector<std::string> out;
  for (size_t i = 0; i < items.size(); ++i) {
    out.push_back(items[(first + i) % items.size()]);
  }
  return out;
}

Result<std::string> wait_swarm_active(HttpClient& http, const EngineEndpoint& endpoint,
                                      int seconds, std::chrono::milliseconds poll) {
  return poll_until<std::string>(
      seconds, poll, "wait until the engine is an active swarm member",
      [&]() -> Result<Poll<std::string>> {
        auto info = swarm_info(http, endpoint, k_info_timeout);
        if (!info) {
          if (info.error().kind == ErrorKind::interrupted) {
            return fail(info.error());
          }
          return Poll<std::string>{std::nullopt, "last error: " + info.error().message};
        }
        if (info->local_state == "active" && !info->node_id.empty()) {
          return Poll<std::string>{info->node_id, ""};
        }
        if (info->local_state == "error" || info->local_state == "inactive") {
          return fail(fmt::format("the engine gave up joining (swarm state \"{}\"{})",
                                  info->local_state,
                                  info->error.empty() ? "" : ": " + info->error));
        }
        return Poll<std::string>{std::nullopt, "swarm state \"" + info->local_state + "\""};
      });
}

Result<std::string> join_node(HttpClient& http, const JoinRequest& request,
                              const JoinTiming& timing,
                              const std::function<void(const std::string&)>& note) {
  if (request.managers.empty()) {
    return fail(ErrorKind::usage, "join: no manager address to join through");
  }
  const int attempts = std::max(timing.attempts, 1);
  Error last{ErrorKind::generic, ""};
  for (int attempt = 0; attempt < attempts; ++attempt) {
    DM_TRY(check_interrupted());
    const auto remotes = rotated(request.managers, request.first + static_cast<size_t>(attempt));
    if (attempt > 0) {
      note(fmt::format("join attempt {} of {} through {} (the last one: {})", attempt + 1,
                       attempts, remotes.front(), last.message));
      // Whatever the engine still tries in the background is stopped first.
      (void)swarm_leave(http, request.node, true, k_leave_timeout);
    }
    auto answer = swarm_join(http, request.node, request.advertise, remotes, request.token,
                             timing.call_timeout_seconds);
    if (!answer) {
      if (answer.error().kind == ErrorKind::interrupted) {
        return fail(answer.error());
      }
      last = answer.error();
      continue;
    }
    if (*answer == JoinAnswer::in_background) {
      note(fmt::format("the engine's join timeout passed; the join continues in the "
                       "background: waiting for it (up to {} s)",
                       timing.settle_seconds));
    }
    auto id = wait_swarm_active(http, request.node, timing.settle_seconds, timing.poll);
    if (id) {
      return *id;
    }
    if (id.error().kind == ErrorKind::interrupted) {
      return fail(id.error());
    }
    last = id.error();
  }
  return fail(last.kind, fmt::format("join the swarm: {} attempt(s) failed; the last: {}",
                                     attempts, last.message));
}

Result<std::set<std::string>> wait_nodes_ready(HttpClient& http, const EngineEndpoint& manager,
                                               const std::set<std::string>& ids, int seconds,
                                               std::chrono::milliseconds poll) {
  std::set<std::string> waiting = ids;
  bool answered = false;
  std::string last_error;
  auto all_ready = poll_until<bool>(
      seconds, poll, "wait until the nodes are Ready", [&]() -> Result<Poll<bool>> {
        auto nodes = swarm_nodes(http, manager, k_info_timeout);
        if (!nodes) {
          last_error = nodes.error().message;
          return Poll<bool>{std::nullopt, "last error: " + last_error};
        }
        answered = true;
        std::set<std::string> still;
        for (const auto& id : ids) {
          auto it = std::find_if(nodes->begin(), nodes->end(),
                                 [&](const SwarmNode& node) { return node.id == id; });
          if (it == nodes->end() || !is_ready(*it)) {
            still.insert(id);
          }
        }
        waiting = still;
        if (still.empty()) {
          return Poll<bool>{true, ""};
        }
        return Poll<bool>{std::nullopt, fmt::format("{} node(s) not Ready", still.size())};
      });
  if (all_ready) {
    return std::set<std::string>{};
  }
  if (all_ready.error().kind == ErrorKind::interrupted) {
    return fail(all_ready.error());
  }
  if (!answered) {
    return fail(all_ready.error().kind,
                "the manager's node list never answered: " + last_error);
  }
  return waiting;
}

} // namespace dm
