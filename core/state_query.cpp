#include "core/state_query.h"

#include "core/transport_error.h"

#include <algorithm>
#include <cctype>
#include <fmt/format.h>
#include <map>
#include <nlohmann/json.hpp>

namespace dm {

namespace {

using Clock = std::chrono::steady_clock;
using std::chrono::milliseconds;

constexpr milliseconds k_min_connect{200}; // an SSH check started late still gets this much

enum class Ask { ping, version, ssh };
enum class SshOutcome { not_yet, answered, refused, silent, failed };

int ms_between(Clock::time_point from, Clock::time_point to) {
  return static_cast<int>(std::max<long>(
      1, std::chrono::duration_cast<milliseconds>(to - from).count()));
}

std::string seconds_text(milliseconds ms) {
  if (ms.count() % 1000 == 0) {
    return fmt::format("{} s", ms.count() / 1000);
  }
  return fmt::format("{:.1f} s", static_cast<double>(ms.count()) / 1000.0);
}

bool ends_with(const std::string& text, std::string_view tail) {
  return text.size() >= tail.size() && text.compare(text.size() - tail.size(), tail.size(), tail) == 0;
}

std::string host_port(const std::string& host, int port) {
  return host.find(':') != std::string::npos ? fmt::format("[{}]:{}", host, port)
                                             : fmt::format("{}:{}", host, port);
}

HttpRequest engine_request(const EngineEndpoint& endpoint, const std::string& path) {
  HttpRequest request;
  request.url = engine_https_base(endpoint.url) + path;
  request.ca_cert_path = endpoint.ca_cert_path;
  request.client_cert_path = endpoint.client_cert_path;
  request.client_key_path = endpoint.client_key_path;
  request.proxy = ProxyUse::direct;
  return request;
}

// "engine: HTTP 500: ..." or the transport error, which names the URL.
std::string engine_failure(const Result<HttpResponse>& result) {
  if (!result) {
    return "engine: " + result.error().message;
  }
  std::string body = result->body.substr(0, 120);
  while (!body.empty() && (body.back() == '\n' || body.back() == '\r')) {
    body.pop_back();
  }
  return fmt::format("engine: HTTP {}{}", result->status, body.empty() ? "" : ": " + body);
}

// One machine's progress through the schedule.
struct Host {
  const StateQuery* query = nullptr;
  bool done = false;
  bool engine_pending = false;
  bool ssh_started = false;
  SshOutcome ssh = SshOutcome::not_yet;
  std::string ssh_error;
  std::optional<std::string> engine_error; // set when the engine failed
  std::vector<HttpBatch::Id> ids;
  StateAnswer answer;
};

class Schedule {
public:
  Schedule(HttpBatch& batch, const std::vector<StateQuery>& queries, const QueryBudget& budget,
           const NowFunction& now)
      : m_batch(batch), m_budget(budget), m_now(now), m_t0(now()),
        m_connect(std::min(budget.connect, budget.total)),
        m_deadline(m_t0 + budget.total), m_hosts(queries.size()) {
    for (size_t i = 0; i < queries.size(); ++i) {
      m_hosts[i].query = &queries[i];
    }
  }

  std::vector<StateAnswer> run() {
    for (size_t i = 0; i < m_hosts.size(); ++i) {
      begin(i);
    }
    while (pending() > 0) {
      Clock::time_point now = m_now();
      if (now >= m_deadline) {
        break;
      }
      start_due_ssh_checks(now);
      Clock::time_point until = m_deadline;
      if (now < m_t0 + m_budget.ssh_head_start && any_ssh_waiting()) {
        until = std::min(until, m_t0 + m_budget.ssh_head_start);
      }
      auto finished = m_batch.wait(until);
      for (auto& [id, result] : finished) {
        dispatch(id, result);
      }
      if (finished.empty() && m_batch.in_flight() == 0) {
        if (!any_ssh_waiting()) {
          break; // nothing can change any more
        }
        start_due_ssh_checks(m_t0 + m_budget.ssh_head_start); // nothing else to wait for
      }
    }
    std::vector<StateAnswer> answers;
    for (size_t i = 0; i < m_hosts.size(); ++i) {
      if (!m_hosts[i].done) {
        give_up(i);
      }
      answers.push_back(std::move(m_hosts[i].answer));
    }
    return answers;
  }

private:
  void begin(size_t i) {
    Host& host = m_hosts[i];
    const StateQuery& query = *host.query;
    if (query.known_state != MachineState::none) {
      host.answer.state = query.known_state;
      if (query.known_state == MachineState::running && query.engine) {
        start_ping(i);
      } else {
        finish(i);
      }
      return;
    }
    if (query.engine) {
      start_ping(i);
    }
    if (query.ssh_host.empty()) {
      if (!query.engine) {
        host.answer.state = MachineState::error;
        host.answer.error = "no address to check";
        finish(i);
      }
      return;
    }
    if (!query.engine) {
      start_ssh(i, m_t0);
    }
  }

  void start_ping(size_t i) { start_engine(i, Ask::ping, "/_ping"); }
  void start_version(size_t i) { start_engine(i, Ask::version, "/version"); }

  void start_engine(size_t i, Ask ask, const std::string& path) {
    HttpRequest request = engine_request(*m_hosts[i].query->engine, path);
    request.timeout_ms = ms_between(m_now(), m_deadline);
    request.connect_timeout_ms = static_cast<int>(m_connect.count());
    track(i, ask, request);
    m_hosts[i].engine_pending = true;
  }

  void start_ssh(size_t i, Clock::time_point now) {
    Host& host = m_hosts[i];
    HttpRequest request;
    request.url = "http://" + host_port(host.query->ssh_host, host.query->ssh_port);
    request.connect_only = HttpRequest::ConnectOnly::yes;
    request.proxy = ProxyUse::direct;
    // Unreachable hosts cost the connect budget from the start, not from this moment.
    Clock::time_point connect_end = std::max(m_t0 + m_connect, now + k_min_connect);
    connect_end = std::min(connect_end, m_deadline);
    request.timeout_ms = ms_between(now, connect_end);
    request.connect_timeout_ms = request.timeout_ms;
    track(i, Ask::ssh, request);
    host.ssh_started = true;
  }

  void track(size_t i, Ask ask, const HttpRequest& request) {
    HttpBatch::Id id = m_batch.start(request);
    m_asks[id] = {i, ask};
    m_hosts[i].ids.push_back(id);
  }

  [[nodiscard]] bool ssh_waiting(const Host& host) const {
    return !host.done && !host.ssh_started && !host.query->ssh_host.empty() &&
           host.query->known_state == MachineState::none;
  }
  [[nodiscard]] bool any_ssh_waiting() const {
    return std::any_of(m_hosts.begin(), m_hosts.end(),
                       [this](const Host& host) { return ssh_waiting(host); });
  }

  void start_due_ssh_checks(Clock::time_point now) {
    if (now < m_t0 + m_budget.ssh_head_start) {
      return;
    }
    for (size_t i = 0; i < m_hosts.size(); ++i) {
      if (ssh_waiting(m_hosts[i])) {
        start_ssh(i, now);
      }
    }
  }

  [[nodiscard]] size_t pending() const {
    return static_cast<size_t>(
        std::count_if(m_hosts.begin(), m_hosts.end(), [](const Host& h) { return !h.done; }));
  }

  void dispatch(HttpBatch::Id id, const Result<HttpResponse>& result) {
    auto found = m_asks.find(id);
    if (found == m_asks.end()) {
      return;
    }
    auto [i, ask] = found->second;
    m_asks.erase(found);
    Host& host = m_hosts[i];
    if (host.done) {
      return;
    }
    switch (ask) {
    case Ask::ping:
      on_ping(i, result);
      break;
    case Ask::version:
      on_version(i, result);
      break;
    case Ask::ssh:
      on_ssh(i, result);
      break;
    }
  }

  void on_ping(size_t i, const Result<HttpResponse>& result) {
    Host& host = m_hosts[i];
    host.engine_pending = false;
    if (result && result->status == 200) {
      auto server = result->headers.find("server");
      std::string version =
          server == result->headers.end() ? "" : docker_version_from_server_header(server->second);
      if (version.empty()) {
        start_version(i); // an engine that does not name itself in Server:
        return;
      }
      engine_answered(i, version);
      return;
    }
    engine_failed(i, engine_failure(result));
  }

  void on_version(size_t i, const Result<HttpResponse>& result) {
    Host& host = m_hosts[i];
    host.engine_pending = false;
    if (result && result->status == 200) {
      try {
        auto json = nlohmann::json::parse(result->body);
        if (json.is_object() && json.contains("Version") && json["Version"].is_string()) {
          engine_answered(i, json["Version"].get<std::string>());
          return;
        }
      } catch (const nlohmann::json::exception&) {
        // Falls through: the engine runs, its version is unknown.
      }
      engine_answered(i, "");
      host.answer.error = "engine: GET /version answered without a version";
      return;
    }
    engine_failed(i, engine_failure(result));
  }

  void engine_answered(size_t i, const std::string& version) {
    Host& host = m_hosts[i];
    host.answer.state = MachineState::running;
    host.answer.docker_version = version;
    finish(i);
  }

  void engine_failed(size_t i, const std::string& message) {
    Host& host = m_hosts[i];
    host.engine_error = message;
    if (host.query->known_state != MachineState::none || host.query->ssh_host.empty()) {
      // The state is known (or cannot be checked otherwise); the engine's failure is the note.
      if (host.answer.state == MachineState::none) {
        host.answer.state = MachineState::error;
      }
      host.answer.error = message;
      finish(i);
      return;
    }
    if (!host.ssh_started) {
      start_ssh(i, m_now());
      return;
    }
    if (host.ssh != SshOutcome::not_yet) {
      conclude_from_ssh(i);
    }
  }

  void on_ssh(size_t i, const Result<HttpResponse>& result) {
    Host& host = m_hosts[i];
    host.ssh = SshOutcome::answered;
    if (!result) {
      const StateQuery& query = *host.query;
      std::string where = host_port(query.ssh_host, query.ssh_port);
      if (result.error().kind == ErrorKind::timeout) {
        host.ssh = SshOutcome::silent;
        host.ssh_error = fmt::format("SSH port {} did not answer within {}", where,
                                     seconds_text(std::chrono::duration_cast<milliseconds>(
                                         m_now() - m_t0)));
      } else if (ends_with(result.error().message, k_connection_refused)) {
        host.ssh = SshOutcome::refused;
        host.ssh_error = fmt::format("SSH port {} refused the connection", where);
      } else if (ends_with(result.error().message, k_host_unreachable)) {
        host.ssh = SshOutcome::silent; // nothing answers there: the same as silence
        host.ssh_error = fmt::format("SSH port {}: host unreachable", where);
      } else {
        host.ssh = SshOutcome::failed;
        host.ssh_error = result.error().message;
      }
    }
    if (host.engine_pending) {
      return; // the engine may still answer, and then it says more
    }
    conclude_from_ssh(i);
  }

  // The engine failed or was never asked: the SSH port decides the state.
  void conclude_from_ssh(size_t i) {
    Host& host = m_hosts[i];
    std::string engine = host.engine_error.value_or("");
    switch (host.ssh) {
    case SshOutcome::answered:
      host.answer.state = MachineState::running;
      host.answer.error = engine;
      break;
    case SshOutcome::silent:
      host.answer.state = MachineState::timeout;
      break;
    case SshOutcome::refused:
      host.answer.state = MachineState::stopped;
      break;
    case SshOutcome::not_yet:
    case SshOutcome::failed:
      host.answer.state = MachineState::error;
      break;
    }
    if (host.ssh != SshOutcome::answered) {
      host.answer.error = host.ssh_error;
    }
    finish(i);
  }

  void give_up(size_t i) {
    Host& host = m_hosts[i];
    std::string limit = seconds_text(m_budget.total);
    if (host.ssh == SshOutcome::answered) {
      host.answer.state = MachineState::running;
      host.answer.error = host.engine_error.value_or("engine: no answer within " + limit);
    } else if (host.answer.state == MachineState::running) {
      host.answer.error = "engine: no answer within " + limit; // a local machine
    } else {
      host.answer.state = MachineState::timeout;
      host.answer.error = "no answer within " + limit;
    }
    finish(i);
  }

  void finish(size_t i) {
    Host& host = m_hosts[i];
    host.done = true;
    host.answer.response_ms =
        std::chrono::duration_cast<milliseconds>(m_now() - m_t0).count();
    for (HttpBatch::Id id : host.ids) {
      if (m_asks.erase(id) > 0) {
        m_batch.cancel(id);
      }
    }
  }

  HttpBatch& m_batch;
  QueryBudget m_budget;
  const NowFunction& m_now;
  Clock::time_point m_t0;
  milliseconds m_connect;
  Clock::time_point m_deadline;
  std::vector<Host> m_hosts;
  std::map<HttpBatch::Id, std::pair<size_t, Ask>> m_asks;
};

} // namespace

QueryBudget query_budget(int timeout_seconds) {
  QueryBudget budget;
  budget.total = milliseconds(1000L * std::max(1, timeout_seconds));
  budget.connect = std::min(k_default_connect_budget, budget.total);
  budget.ssh_head_start = budget.connect / 2;
  return budget;
}

std::vector<StateAnswer> query_states(HttpBatch& batch, const std::vector<StateQuery>& queries,
                                      const QueryBudget& budget, const NowFunction& now) {
  return Schedule(batch, queries, budget, now).run();
}

std::string docker_version_from_server_header(const std::string& server) {
  const std::string prefix = "Docker/";
  if (server.rfind(prefix, 0) != 0) {
    return "";
  }
  std::string version = server.substr(prefix.size());
  version = version.substr(0, version.find(' '));
  bool sane = !version.empty() && version.size() <= 64 &&
              std::all_of(version.begin(), version.end(), [](unsigned char c) {
                return std::isalnum(c) != 0 || c == '.' || c == '-' || c == '+' || c == '~' ||
                       c == '_';
              });
  return sane ? version : "";
}

} // namespace dm
