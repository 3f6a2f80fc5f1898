#include "core/certs.h"
#include "core/curl_http_client.h"
#include "core/engine_api.h"
#include "core/machine_store.h"
#include "tests/fakes/recording_http_client.h"

#include <catch2/catch.hpp>

#include <chrono>
#include <csignal>
#include <cstdlib>
#include <filesystem>
#include <random>
#include <sys/wait.h>
#include <thread>
#include <unistd.h>

namespace fs = std::filesystem;
using dm::testing::RecordingHttpClient;

namespace {

dm::EngineEndpoint test_endpoint() {
  return dm::EngineEndpoint{"tcp://192.168.99.100:2376", "/s/certs/ca.pem", "/s/certs/cert.pem",
                            "/s/certs/key.pem"};
}

} // namespace

TEST_CASE("engine_https_base maps tcp URLs to https", "[engine_api]") {
  CHECK(dm::engine_https_base("tcp://1.2.3.4:2376") == "https://1.2.3.4:2376");
  CHECK(dm::engine_https_base("tcp://[fd00::1]:2376") == "https://[fd00::1]:2376");
  CHECK(dm::engine_https_base("tcp://host.example:2376/") == "https://host.example:2376");
  CHECK(dm::engine_https_base("https://1.2.3.4:2376") == "https://1.2.3.4:2376");
}

TEST_CASE("engine_ping sends GET /_ping with the TLS paths", "[engine_api]") {
  RecordingHttpClient http;
  auto endpoint = test_endpoint();

  http.push_response(200, "OK");
  REQUIRE(dm::engine_ping(http, endpoint, 7));
  REQUIRE(http.requests().size() == 1);
  const auto& req = http.requests()[0];
  CHECK(req.method == "GET");
  CHECK(req.url == "https://192.168.99.100:2376/_ping");
  CHECK(req.ca_cert_path == "/s/certs/ca.pem");
  CHECK(req.client_cert_path == "/s/certs/cert.pem");
  CHECK(req.client_key_path == "/s/certs/key.pem");
  CHECK(req.timeout_seconds == 7);
  CHECK(req.proxy == dm::ProxyUse::direct); // https_proxy never applies to a machine's engine

  http.push_response(200, "nope");
  auto bad_body = dm::engine_ping(http, endpoint, 7);
  REQUIRE_FALSE(bad_body);
  CHECK_THAT(bad_body.error().message, Catch::Contains("nope"));

  http.push_response(500, R"({"message":"daemon is sad"})");
  auto bad_status = dm::engine_ping(http, endpoint, 7);
  REQUIRE_FALSE(bad_status);
  CHECK_THAT(bad_status.error().message, Catch::Contains("500"));
  CHECK_THAT(bad_status.error().message, Catch::Contains("daemon is sad"));

  http.push_error(dm::Error{dm::ErrorKind::timeout, "GET https://x: timed out"});
  auto transport = dm::engine_ping(http, endpoint, 7);
  REQUIRE_FALSE(transport);
  CHECK(transport.error().kind == dm::ErrorKind::timeout);
}

TEST_CASE("wait_for_engine retries until the engine answers", "[engine_api]") {
  RecordingHttpClient http;
  auto endpoint = test_endpoint();
  http.push_error(dm::Error{dm::ErrorKind::generic, "connection refused"});
  http.push_response(200, "OK");
  REQUIRE(dm::wait_for_engine(http, endpoint, 10));
  CHECK(http.requests().size() == 2);
}

TEST_CASE("wait_for_engine gives up with the last error and advice", "[engine_api]") {
  RecordingHttpClient http;
  auto endpoint = test_endpoint();
  for (int i = 0; i < 10; ++i) {
    http.push_error(dm::Error{dm::ErrorKind::generic, "connection refused " + std::to_string(i)});
  }
  auto start = std::chrono::steady_clock::now();
  auto r = dm::wait_for_engine(http, endpoint, 2);
  auto elapsed = std::chrono::steady_clock::now() - start;
  REQUIRE_FALSE(r);
  CHECK(elapsed < std::chrono::seconds(4));
  CHECK(http.requests().size() >= 2);
  CHECK(http.requests().size() <= 3);
  CHECK_THAT(r.error().message,
             Catch::Contains("the Docker daemon is not answering over TLS on "
                             "tcp://192.168.99.100:2376"));
  CHECK_THAT(r.error().message,
             Catch::Contains("connection refused " + std::to_string(http.requests().size() - 1)));
}

TEST_CASE("engine_version, engine_get and engine_post", "[engine_api]") {
  RecordingHttpClient http;
  auto endpoint = test_endpoint();

  http.push_response(200, R"({"Version":"24.0.7","ApiVersion":"1.43"})");
  auto version = dm::engine_version(http, endpoint, 5);
  REQUIRE(version);
  CHECK(*version == "24.0.7");
  CHECK(http.requests().back().url == "https://192.168.99.100:2376/version");

  http.push_response(200, R"({"ApiVersion":"1.43"})");
  CHECK_FALSE(dm::engine_version(http, endpoint, 5));

  http.push_response(200, R"({"ID":"abc"})");
  auto swarm = dm::engine_get(http, endpoint, "/swarm", 5);
  REQUIRE(swarm);
  CHECK((*swarm)["ID"] == "abc");
  CHECK(http.requests().back().method == "GET");
  CHECK(http.requests().back().url == "https://192.168.99.100:2376/swarm");

  http.push_response(503, R"({"message":"This node is not a swarm manager."})");
  auto not_manager = dm::engine_get(http, endpoint, "/swarm", 5);
  REQUIRE_FALSE(not_manager);
  CHECK_THAT(not_manager.error().message, Catch::Contains("This node is not a swarm manager."));
  CHECK_THAT(not_manager.error().message, Catch::Contains("503"));

  http.push_response(200, R"("node-id-123")");
  nlohmann::json init{{"ListenAddr", "0.0.0.0:2377"}, {"AdvertiseAddr", "192.168.99.100"}};
  auto posted = dm::engine_post(http, endpoint, "/swarm/init", init, 30);
  REQUIRE(posted);
  CHECK(*posted == "node-id-123");
  const auto& req = http.requests().back();
  CHECK(req.method == "POST");
  CHECK(req.url == "https://192.168.99.100:2376/swarm/init");
  CHECK(req.headers.at("Content-Type") == "application/json");
  CHECK(nlohmann::json::parse(req.body) == init);
  CHECK(req.ca_cert_path == "/s/certs/ca.pem");
  CHECK(req.timeout_seconds == 30);

  http.push_response(200, "");
  auto empty = dm::engine_post(http, endpoint, "/swarm/leave?force=1", nullptr, 5);
  REQUIRE(empty);
  CHECK(empty->is_null());

  http.push_response(200, "not json");
  CHECK_FALSE(dm::engine_get(http, endpoint, "/info", 5));
}

namespace {

const char* const k_server_script = R"PY(
import http.server, socketserver, ssl, sys, json
cert, key, ca, port_file = sys.argv[1:5]
class H(http.server.BaseHTTPRequestHandler):
    def do_GET(self):
        if self.path == "/_ping":
            body = b"OK"
        elif self.path == "/version":
            body = json.dumps({"Version": "24.0.7-test"}).encode()
        else:
            self.send_response(404)
            msg = json.dumps({"message": "page not found"}).encode()
            self.send_header("Content-Length", str(len(msg)))
            self.end_headers()
            self.wfile.write(msg)
            return
        self.send_response(200)
        self.send_header("Content-Length", str(len(body)))
        self.send_header("X-Test-Header", "Yes")
        self.end_headers()
        self.wfile.write(body)
    def log_message(self, *args):
        pass
class S(socketserver.ThreadingMixIn, http.server.HTTPServer):
    daemon_threads = True
ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
ctx.load_cert_chain(cert, key)
ctx.load_verify_locations(ca)
ctx.verify_mode = ssl.CERT_REQUIRED
srv = S(("127.0.0.1", 0), H)
srv.socket = ctx.wrap_socket(srv.socket, server_side=True)
with open(port_file + ".tmp", "w") as f:
    f.write(str(srv.server_address[1]))
import os
os.rename(port_file + ".tmp", port_file)
srv.serve_forever()
)PY";

class EngineTempDir {
public:
  EngineTempDir() {
    std::random_device rd;
    m_path = fs::temp_directory_path() / ("dm-engine-test-" + std::to_string(rd()));
    fs::create_directories(m_path);
  }
  ~EngineTempDir() {
    std::error_code ec;
    fs::remove_all(m_path, ec);
  }
  EngineTempDir(const EngineTempDir&) = delete;
  EngineTempDir& operator=(const EngineTempDir&) = delete;
  const fs::path& path() const { return m_path; }

private:
  fs::path m_path;
};

// A python3 HTTPS server on 127.0.0.1 requiring a client certificate; killed by the destructor.
class LoopbackTlsServer {
public:
  LoopbackTlsServer(const fs::path& dir, const fs::path& cert, const fs::path& key,
                    const fs::path& ca) {
    fs::path script = dir / "server.py";
    fs::path port_file = dir / "port";
    REQUIRE(dm::write_file_atomic(script, k_server_script, 0600));
    m_pid = ::fork();
    REQUIRE(m_pid >= 0);
    if (m_pid == 0) {
      ::execlp("python3", "python3", script.c_str(), cert.c_str(), key.c_str(), ca.c_str(),
               port_file.c_str(), static_cast<char*>(nullptr));
      ::_exit(127);
    }
    for (int i = 0; i < 100 && !fs::exists(port_file); ++i) {
      std::this_thread::sleep_for(std::chrono::milliseconds(100));
    }
    auto port = dm::read_file(port_file);
    if (port) {
      m_port = std::stoi(*port);
    }
  }
  ~LoopbackTlsServer() {
    if (m_pid > 0) {
      ::kill(m_pid, SIGTERM);
      int status = 0;
      ::waitpid(m_pid, &status, 0);
    }
  }
  LoopbackTlsServer(const LoopbackTlsServer&) = delete;
  LoopbackTlsServer& operator=(const LoopbackTlsServer&) = delete;
  int port() const { return m_port; }

private:
  pid_t m_pid = -1;
  int m_port = 0;
};

bool python3_has_ssl() {
  return std::system("python3 -c 'import ssl, http.server' >/dev/null 2>&1") == 0;
}

} // namespace

TEST_CASE("CurlHttpClient talks mutual TLS to a loopback server", "[engine_api][curl]") {
  if (!python3_has_ssl()) {
    WARN("SKIPPED: python3 with the ssl module is not available for the loopback TLS server");
    return;
  }
  EngineTempDir tmp;
  fs::path certs = tmp.path() / "certs";
  REQUIRE(dm::ensure_ca_and_client(certs, "dmtest", dm::RegenerateClient::no));
  auto server_cert =
      dm::make_server_cert(certs / "ca.pem", certs / "ca-key.pem", {"127.0.0.1"}, "dmtest");
  REQUIRE(server_cert);
  REQUIRE(dm::write_file_atomic(tmp.path() / "server.pem", server_cert->cert_pem, 0600));
  REQUIRE(dm::write_file_atomic(tmp.path() / "server-key.pem", server_cert->key_pem, 0600));

  LoopbackTlsServer server(tmp.path(), tmp.path() / "server.pem", tmp.path() / "server-key.pem",
                           certs / "ca.pem");
  REQUIRE(server.port() > 0);
  const std::string port = std::to_string(server.port());

  dm::CurlHttpClient http;
  dm::EngineEndpoint endpoint{"tcp://127.0.0.1:" + port, (certs / "ca.pem").string(),
                              (certs / "cert.pem").string(), (certs / "key.pem").string()};

  SECTION("ping, version, headers and engine errors") {
    auto ping = dm::engine_ping(http, endpoint, 5);
    INFO((ping ? std::string("ok") : ping.error().message));
    REQUIRE(ping);
    REQUIRE(dm::wait_for_engine(http, endpoint, 5));
    auto version = dm::engine_version(http, endpoint, 5);
    REQUIRE(version);
    CHECK(*version == "24.0.7-test");

    dm::HttpRequest req;
    req.url = "https://127.0.0.1:" + port + "/_ping";
    req.ca_cert_path = endpoint.ca_cert_path;
    req.client_cert_path = endpoint.client_cert_path;
    req.client_key_path = endpoint.client_key_path;
    auto raw = http.send(req);
    REQUIRE(raw);
    CHECK(raw->status == 200);
    CHECK(raw->body == "OK");
    CHECK(raw->headers.count("x-test-header") == 1);
    CHECK(raw->headers["content-length"] == "2");

    auto missing = dm::engine_get(http, endpoint, "/nothing", 5);
    REQUIRE_FALSE(missing);
    CHECK_THAT(missing.error().message, Catch::Contains("page not found"));
  }
  SECTION("https_proxy (a closed port) does not apply to the engine") {
    ::setenv("https_proxy", "http://127.0.0.1:1", 1);
    ::setenv("HTTPS_PROXY", "http://127.0.0.1:1", 1);
    ::setenv("ALL_PROXY", "http://127.0.0.1:1", 1);
    auto ping = dm::engine_ping(http, endpoint, 5);
    ::unsetenv("https_proxy");
    ::unsetenv("HTTPS_PROXY");
    ::unsetenv("ALL_PROXY");
    INFO((ping ? std::string("ok") : ping.error().message));
    CHECK(ping);
  }
  SECTION("no client certificate is refused") {
    dm::EngineEndpoint anonymous = endpoint;
    anonymous.client_cert_path.clear();
    anonymous.client_key_path.clear();
    auto r = dm::engine_ping(http, anonymous, 5);
    REQUIRE_FALSE(r);
    CHECK_THAT(r.error().message, Catch::Contains("https://127.0.0.1:" + port + "/_ping"));
  }
  SECTION("a server not signed by our CA is refused") {
    fs::path other = tmp.path() / "other";
    REQUIRE(dm::ensure_ca_and_client(other, "other", dm::RegenerateClient::no));
    dm::EngineEndpoint wrong_ca = endpoint;
    wrong_ca.ca_cert_path = (other / "ca.pem").string();
    auto r = dm::engine_ping(http, wrong_ca, 5);
    REQUIRE_FALSE(r);
    CHECK_THAT(r.error().message, Catch::Contains("GET https://127.0.0.1:" + port));
  }
  SECTION("the host name is verified against the SANs") {
    dm::EngineEndpoint by_name = endpoint;
    by_name.url = "tcp://localhost:" + port; // the certificate only names 127.0.0.1
    auto r = dm::engine_ping(http, by_name, 5);
    REQUIRE_FALSE(r);
  }
}

TEST_CASE("CurlHttpClient reports connection failures with the URL", "[curl]") {
  dm::CurlHttpClient http;
  dm::HttpRequest req;
  req.url = "https://127.0.0.1:1/_ping"; // nothing listens on port 1
  req.timeout_seconds = 3;
  auto r = http.send(req);
  REQUIRE_FALSE(r);
  CHECK_THAT(r.error().message, Catch::StartsWith("GET https://127.0.0.1:1/_ping: "));
}
