// The ls/status state query: the schedule on a scripted batch with a virtual
// clock, the rows built from its answers, and curl's batch on loopback sockets.
#include "core/curl_http_client.h"
#include "core/machine_list.h"
#include "core/state_query.h"
#include "core/transport_error.h"

#include <catch2/catch.hpp>

#include <arpa/inet.h>
#include <map>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

using namespace std::chrono_literals;
using dm::HttpBatch;
using dm::HttpRequest;
using dm::HttpResponse;
using dm::MachineState;
using dm::Result;
using dm::StateQuery;

namespace {

using Clock = std::chrono::steady_clock;

// Answers by URL after a scripted delay, on a virtual clock that wait() advances.
// A URL without a script never answers: it ends with a timeout error when its
// connect timeout passes, as an unreachable host does.
class ScriptedBatch final : public HttpBatch {
public:
  struct Script {
    std::chrono::milliseconds delay;
    Result<HttpResponse> result;
  };
  struct Started {
    HttpRequest request;
    std::chrono::milliseconds at;
  };

  void answer(const std::string& url, std::chrono::milliseconds delay, Result<HttpResponse> result) {
    m_scripts.insert_or_assign(url, Script{delay, std::move(result)});
  }
  static HttpResponse ok(std::map<std::string, std::string> headers = {}, std::string body = "OK") {
    return HttpResponse{200, std::move(headers), std::move(body)};
  }
  static Result<HttpResponse> refused(const std::string& url) {
    return dm::fail("connect to " + url + ": " + std::string(dm::k_connection_refused));
  }
  static Result<HttpResponse> unreachable(const std::string& url) {
    return dm::fail("connect to " + url + ": " + std::string(dm::k_host_unreachable));
  }

  Id start(const HttpRequest& request) override {
    Id id = m_next++;
    m_started.push_back({request, elapsed()});
    auto script = m_scripts.find(request.url);
    // Scripted hosts connect: the whole timeout bounds them; silent ones never connect.
    auto limit = std::chrono::milliseconds(
        script != m_scripts.end() || request.connect_timeout_ms == 0 ? request.timeout_ms
                                                                     : request.connect_timeout_ms);
    if (script == m_scripts.end() || script->second.delay > limit) {
      m_running.emplace(id, Running{m_now + limit,
                                    dm::fail(dm::ErrorKind::timeout, request.url + ": timed out")});
    } else {
      m_running.emplace(id, Running{m_now + script->second.delay, script->second.result});
    }
    return id;
  }
  void cancel(Id id) override { m_running.erase(id); ++m_cancelled; }
  Finished wait(Clock::time_point until) override {
    Finished finished;
    if (m_running.empty()) {
      return finished;
    }
    auto first = std::min_element(m_running.begin(), m_running.end(), [](auto& a, auto& b) {
      return a.second.end < b.second.end;
    });
    if (first->second.end > until) {
      m_now = std::max(m_now, until);
      return finished;
    }
    m_now = std::max(m_now, first->second.end);
    for (auto it = m_running.begin(); it != m_running.end();) {
      if (it->second.end <= m_now) {
        finished.emplace_back(it->first, it->second.result);
        it = m_running.erase(it);
      } else {
        ++it;
      }
    }
    return finished;
  }
  [[nodiscard]] std::size_t in_flight() const override { return m_running.size(); }

  dm::NowFunction clock() {
    return [this] { return m_now; };
  }
  [[nodiscard]] std::chrono::milliseconds elapsed() const {
    return std::chrono::duration_cast<std::chrono::milliseconds>(m_now - m_t0);
  }
  [[nodiscard]] const std::vector<Started>& started() const { return m_started; }
  [[nodiscard]] int cancelled() const { return m_cancelled; }

private:
  struct Running {
    Clock::time_point end;
    Result<HttpResponse> result;
  };
  Clock::time_point m_t0 = Clock::time_point(1000h);
  Clock::time_point m_now = m_t0;
  std::map<std::string, Script> m_scripts;
  std::map<Id, Running> m_running;
  std::vector<Started> m_started;
  Id m_next = 0;
  int m_cancelled = 0;
};

dm::EngineEndpoint endpoint(const std::string& ip) {
  return {"tcp://" + ip + ":2376", "/s/ca.pem", "/s/cert.pem", "/s/key.pem"};
}

StateQuery network(const std::string& ip, bool with_engine = true) {
  StateQuery query;
  if (with_engine) {
    query.engine = endpoint(ip);
  }
  query.ssh_host = ip;
  query.ssh_port = 22;
  return query;
}

const std::map<std::string, std::string> k_docker_headers = {
    {"server", "Docker/20.10.24+dfsg1 (linux)"}, {"api-version", "1.41"}};

} // namespace

TEST_CASE("an engine that answers /_ping gives STATE and DOCKER in one request", "[state_query]") {
  ScriptedBatch batch;
  batch.answer("https://10.0.0.2:2376/_ping", 5ms, ScriptedBatch::ok(k_docker_headers));
  auto answers = dm::query_states(batch, {network("10.0.0.2")}, dm::query_budget(10), batch.clock());
  REQUIRE(answers.size() == 1);
  CHECK(answers[0].state == MachineState::running);
  CHECK(answers[0].docker_version == "20.10.24+dfsg1");
  CHECK(answers[0].error.empty());
  CHECK(answers[0].response_ms == 5);
  REQUIRE(batch.started().size() == 1); // no SSH connection at all
  const HttpRequest& ping = batch.started()[0].request;
  CHECK(ping.ca_cert_path == "/s/ca.pem");
  CHECK(ping.client_key_path == "/s/key.pem");
  CHECK(ping.proxy == dm::ProxyUse::direct);
  CHECK(ping.connect_timeout_ms == 2000);
}

TEST_CASE("an engine without a Server header is asked GET /version", "[state_query]") {
  ScriptedBatch batch;
  batch.answer("https://10.0.0.2:2376/_ping", 5ms, ScriptedBatch::ok());
  batch.answer("https://10.0.0.2:2376/version", 5ms,
               ScriptedBatch::ok({}, R"({"Version":"24.0.7","ApiVersion":"1.43"})"));
  auto answers = dm::query_states(batch, {network("10.0.0.2")}, dm::query_budget(10), batch.clock());
  CHECK(answers[0].state == MachineState::running);
  CHECK(answers[0].docker_version == "24.0.7");
  CHECK(batch.started().size() == 2);
}

TEST_CASE("unreachable machines cost the connect budget, whatever their number", "[state_query]") {
  ScriptedBatch batch;
  std::vector<StateQuery> queries;
  for (int i = 0; i < 80; ++i) {
    queries.push_back(network("10.0.0.2")); // 80 records of one reachable machine
  }
  for (int i = 0; i < 20; ++i) {
    queries.push_back(network("10.0.0." + std::to_string(200 + i))); // nothing answers
  }
  batch.answer("https://10.0.0.2:2376/_ping", 300ms, ScriptedBatch::ok(k_docker_headers));
  auto answers = dm::query_states(batch, queries, dm::query_budget(10), batch.clock());
  CHECK(batch.elapsed() == 2000ms);
  for (int i = 0; i < 80; ++i) {
    CHECK(answers[i].state == MachineState::running);
  }
  for (int i = 80; i < 100; ++i) {
    CHECK(answers[i].state == MachineState::timeout);
    CHECK_THAT(answers[i].error, Catch::Contains("did not answer within 2 s"));
  }
  // Every engine was asked at once (no pool of 16), and only the silent hosts got
  // an SSH-port check, started at the head start.
  size_t at_zero = 0;
  size_t ssh_checks = 0;
  for (const auto& started : batch.started()) {
    if (started.request.connect_only == HttpRequest::ConnectOnly::yes) {
      ++ssh_checks;
      CHECK(started.at == 1000ms);
      CHECK(started.request.connect_timeout_ms == 1000); // ends with the engine's budget
    } else if (started.at == 0ms) {
      ++at_zero;
    }
  }
  CHECK(at_zero == 100);
  CHECK(ssh_checks == 20);
}

TEST_CASE("-t bounds the whole query and each connect", "[state_query]") {
  auto budget = dm::query_budget(1);
  CHECK(budget.total == 1000ms);
  CHECK(budget.connect == 1000ms);
  CHECK(dm::query_budget(10).connect == 2000ms);
  CHECK(dm::query_budget(0).total == 1000ms);

  ScriptedBatch batch;
  auto answers = dm::query_states(batch, {network("10.0.0.9")}, budget, batch.clock());
  CHECK(answers[0].state == MachineState::timeout);
  CHECK(batch.elapsed() == 1000ms);
}

TEST_CASE("a refused engine port leads to the SSH port at once", "[state_query]") {
  ScriptedBatch batch;
  batch.answer("https://10.0.0.3:2376/_ping", 1ms,
               ScriptedBatch::refused("https://10.0.0.3:2376/_ping"));
  SECTION("SSH answers: Running, and ERRORS says what the engine did") {
    batch.answer("http://10.0.0.3:22", 1ms, HttpResponse{});
    auto answers =
        dm::query_states(batch, {network("10.0.0.3")}, dm::query_budget(10), batch.clock());
    CHECK(answers[0].state == MachineState::running);
    CHECK(answers[0].docker_version.empty());
    CHECK_THAT(answers[0].error, Catch::StartsWith("engine: ") && Catch::Contains("refused"));
    REQUIRE(batch.started().size() == 2);
    CHECK(batch.started()[1].at == 1ms);
  }
  SECTION("SSH refused too: Stopped") {
    batch.answer("http://10.0.0.3:22", 1ms, ScriptedBatch::refused("http://10.0.0.3:22"));
    auto answers =
        dm::query_states(batch, {network("10.0.0.3")}, dm::query_budget(10), batch.clock());
    CHECK(answers[0].state == MachineState::stopped);
    CHECK(answers[0].error == "SSH port 10.0.0.3:22 refused the connection");
  }
}

TEST_CASE("no route to the host is a Timeout row that says so", "[state_query]") {
  ScriptedBatch batch;
  batch.answer("https://10.0.0.9:2376/_ping", 900ms,
               ScriptedBatch::unreachable("https://10.0.0.9:2376/_ping"));
  batch.answer("http://10.0.0.9:22", 900ms, ScriptedBatch::unreachable("http://10.0.0.9:22"));
  auto answers = dm::query_states(batch, {network("10.0.0.9")}, dm::query_budget(10), batch.clock());
  CHECK(answers[0].state == MachineState::timeout);
  CHECK(answers[0].error == "SSH port 10.0.0.9:22: host unreachable");
  CHECK(batch.elapsed() == 1800ms);
}

TEST_CASE("an engine error status is a note on a Running row", "[state_query]") {
  ScriptedBatch batch;
  batch.answer("https://10.0.0.4:2376/_ping", 1ms, HttpResponse{500, {}, "daemon broken\n"});
  batch.answer("http://10.0.0.4:22", 1ms, HttpResponse{});
  auto answers = dm::query_states(batch, {network("10.0.0.4")}, dm::query_budget(10), batch.clock());
  CHECK(answers[0].state == MachineState::running);
  CHECK(answers[0].error == "engine: HTTP 500: daemon broken");
}

TEST_CASE("a machine without certificates gets only the SSH-port connect", "[state_query]") {
  ScriptedBatch batch;
  batch.answer("http://[fd00::5]:2222", 2ms, HttpResponse{});
  StateQuery query = network("fd00::5", false);
  query.ssh_port = 2222;
  auto answers = dm::query_states(batch, {query}, dm::query_budget(10), batch.clock());
  CHECK(answers[0].state == MachineState::running);
  REQUIRE(batch.started().size() == 1);
  CHECK(batch.started()[0].at == 0ms);
  CHECK(batch.started()[0].request.connect_only == HttpRequest::ConnectOnly::yes);
}

TEST_CASE("a state known locally is asked nothing unless it runs an engine", "[state_query]") {
  ScriptedBatch batch;
  StateQuery stopped;
  stopped.known_state = MachineState::stopped;
  stopped.engine = endpoint("10.0.0.6");
  StateQuery running;
  running.known_state = MachineState::running;
  running.engine = endpoint("10.0.0.7");
  StateQuery bare;
  bare.known_state = MachineState::running;
  batch.answer("https://10.0.0.7:2376/_ping", 3ms, ScriptedBatch::ok(k_docker_headers));
  auto answers =
      dm::query_states(batch, {stopped, running, bare}, dm::query_budget(10), batch.clock());
  CHECK(answers[0].state == MachineState::stopped);
  CHECK(answers[1].state == MachineState::running);
  CHECK(answers[1].docker_version == "20.10.24+dfsg1");
  CHECK(answers[2].state == MachineState::running);
  CHECK(answers[2].docker_version.empty());
  CHECK(batch.started().size() == 1);
}

TEST_CASE("an engine that accepts but never answers ends at the deadline", "[state_query]") {
  ScriptedBatch batch;
  batch.answer("https://10.0.0.8:2376/_ping", 60s, ScriptedBatch::ok(k_docker_headers));
  batch.answer("http://10.0.0.8:22", 1ms, HttpResponse{});
  auto answers =
      dm::query_states(batch, {network("10.0.0.8")}, dm::query_budget(3), batch.clock());
  CHECK(answers[0].state == MachineState::running); // SSH answered after the head start
  CHECK_THAT(answers[0].error, Catch::StartsWith("engine: "));
  CHECK(batch.elapsed() == 3000ms);
}

TEST_CASE("docker_version_from_server_header", "[state_query]") {
  CHECK(dm::docker_version_from_server_header("Docker/20.10.24+dfsg1 (linux)") == "20.10.24+dfsg1");
  CHECK(dm::docker_version_from_server_header("Docker/24.0.7") == "24.0.7");
  CHECK(dm::docker_version_from_server_header("nginx/1.2").empty());
  CHECK(dm::docker_version_from_server_header("Docker/").empty());
  CHECK(dm::docker_version_from_server_header("Docker/1.0;rm -rf").empty());
}

TEST_CASE("ls asks the machines only when the output needs a state", "[machine_list]") {
  auto none = dm::parse_ls_filters({"name=web", "driver=generic", "label=a=b"});
  REQUIRE(none);
  auto state = dm::parse_ls_filters({"state=Running"});
  REQUIRE(state);
  CHECK_FALSE(dm::ls_needs_state(*none, dm::LsOutput::quiet, ""));
  CHECK(dm::ls_needs_state(*state, dm::LsOutput::quiet, ""));
  CHECK(dm::ls_needs_state(*none, dm::LsOutput::table, ""));
  CHECK_FALSE(dm::ls_needs_state(*none, dm::LsOutput::format, "{{.Name}}\t{{.DriverName}}"));
  CHECK_FALSE(dm::ls_needs_state(*none, dm::LsOutput::format, "table {{ .Name }} {{.Swarm}}"));
  CHECK(dm::ls_needs_state(*none, dm::LsOutput::format, "{{.Name}} {{.State}}"));
  CHECK(dm::ls_needs_state(*none, dm::LsOutput::format, "{{.NameX}}"));
  CHECK(dm::ls_needs_state(*none, dm::LsOutput::format, "{{json .}}"));
  CHECK(dm::ls_needs_state(*none, dm::LsOutput::format, "json"));
  CHECK(dm::ls_needs_state(*none, dm::LsOutput::format, "{{.Name}} {{.URL"));
}

TEST_CASE("ls -q reads the records only for filters on what they hold", "[machine_list]") {
  auto no_filter = dm::parse_ls_filters({});
  auto by_name = dm::parse_ls_filters({"name=web"});
  auto by_driver = dm::parse_ls_filters({"driver=generic"});
  auto by_label = dm::parse_ls_filters({"label=a=b"});
  auto by_swarm = dm::parse_ls_filters({"swarm=m1"});
  REQUIRE((no_filter && by_name && by_driver && by_label && by_swarm));
  CHECK_FALSE(dm::ls_needs_records(*no_filter, dm::LsOutput::quiet));
  CHECK_FALSE(dm::ls_needs_records(*by_name, dm::LsOutput::quiet));
  CHECK(dm::ls_needs_records(*by_driver, dm::LsOutput::quiet));
  CHECK(dm::ls_needs_records(*by_label, dm::LsOutput::quiet));
  CHECK(dm::ls_needs_records(*by_swarm, dm::LsOutput::quiet));
  CHECK(dm::ls_needs_records(*no_filter, dm::LsOutput::table));
  CHECK(dm::ls_needs_records(*no_filter, dm::LsOutput::format));
}

TEST_CASE("a row from a state answer", "[machine_list]") {
  dm::LsRow row;
  row.name = "web";
  SECTION("running, active") {
    dm::apply_state_answer(row, {MachineState::running, "20.10.24", "", 42}, "tcp://10.0.0.2:2376",
                           "tcp://10.0.0.2:2376");
    CHECK(row.state == "Running");
    CHECK(row.url == "tcp://10.0.0.2:2376");
    CHECK(row.active == "*");
    CHECK(row.docker_version == "v20.10.24");
    CHECK(row.response_time_ms == 42);
  }
  SECTION("timeout: no URL, DOCKER Unknown, the reason in ERRORS") {
    dm::apply_state_answer(row, {MachineState::timeout, "", "SSH port x did not answer", 2000},
                           "tcp://10.0.0.9:2376", "tcp://10.0.0.9:2376");
    CHECK(row.state == "Timeout");
    CHECK(row.url.empty());
    CHECK(row.active == "-");
    CHECK(row.docker_version == "Unknown");
    CHECK(row.error == "SSH port x did not answer");
  }
}

namespace {

// A loopback listener on an ephemeral port; closed with the object.
class Listener {
public:
  Listener() : m_fd(::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0)) {
    sockaddr_in address{};
    address.sin_family = AF_INET;
    address.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    socklen_t length = sizeof(address);
    if (::bind(m_fd, reinterpret_cast<sockaddr*>(&address), length) == 0 &&
        ::listen(m_fd, 128) == 0 &&
        ::getsockname(m_fd, reinterpret_cast<sockaddr*>(&address), &length) == 0) {
      m_port = ntohs(address.sin_port);
    }
  }
  Listener(const Listener&) = delete;
  Listener& operator=(const Listener&) = delete;
  ~Listener() { ::close(m_fd); }
  [[nodiscard]] int port() const { return m_port; }

private:
  int m_fd;
  int m_port = 0;
};

} // namespace

TEST_CASE("curl's batch checks many ports at once with connect-only requests", "[state_query][curl]") {
  std::vector<std::unique_ptr<Listener>> listeners;
  for (int i = 0; i < 40; ++i) {
    listeners.push_back(std::make_unique<Listener>());
    REQUIRE(listeners.back()->port() > 0);
  }
  int closed_port = 0;
  {
    Listener gone;
    closed_port = gone.port();
  }
  std::vector<StateQuery> queries;
  for (const auto& listener : listeners) {
    StateQuery query;
    query.ssh_host = "127.0.0.1";
    query.ssh_port = listener->port();
    queries.push_back(query);
  }
  StateQuery refused;
  refused.ssh_host = "127.0.0.1";
  refused.ssh_port = closed_port;
  queries.push_back(refused);

  dm::CurlHttpClient http;
  auto batch = http.batch();
  auto started = Clock::now();
  auto answers = dm::query_states(*batch, queries, dm::query_budget(5));
  CHECK(Clock::now() - started < 2s);
  for (size_t i = 0; i < listeners.size(); ++i) {
    INFO(answers[i].error);
    CHECK(answers[i].state == MachineState::running);
  }
  CHECK(answers.back().state == MachineState::stopped);
  CHECK_THAT(answers.back().error, Catch::Contains("refused the connection"));
}
