// The google driver's pure parts: request bodies, firewall rules, credentials order,
// the authorized-user refresh exchange and the Compute API caller's errors and retries.
#include "drivers/google/credentials.h"
#include "drivers/google/gce_api.h"
#include "drivers/google/gce_requests.h"
#include "tests/fakes/recording_http_client.h"

#include <catch2/catch.hpp>
#include <filesystem>
#include <fstream>
#include <map>

namespace fs = std::filesystem;
using namespace dm::google;
using nlohmann::json;

namespace {

EnvLookup env_of(std::map<std::string, std::string> values) {
  return [values](const std::string& name) -> std::optional<std::string> {
    auto it = values.find(name);
    if (it == values.end()) {
      return std::nullopt;
    }
    return it->second;
  };
}

struct TempDir {
  fs::path path;
  TempDir() {
    path = fs::temp_directory_path() / ("gcedrv-unit-" + random_request_id());
    fs::create_directories(path);
  }
  ~TempDir() {
    std::error_code ignored;
    fs::remove_all(path, ignored);
  }
};

void write(const fs::path& path, const std::string& text) {
  fs::create_directories(path.parent_path());
  std::ofstream(path) << text;
}

class FixedToken final : public TokenProvider {
public:
  explicit FixedToken(dm::HttpClient& http) : TokenProvider(http, [] { return 0LL; }) {}

private:
  dm::Result<dm::HttpRequest> token_request(long long /*now*/) override {
    dm::HttpRequest request;
    request.url = "http://127.0.0.1:1/token";
    return request;
  }
  [[nodiscard]] std::string who() const override { return "test"; }
};

} // namespace

TEST_CASE("instance insert body: image, disk, network, key, tags", "[google_driver]") {
  GceInstanceSpec spec;
  spec.name = "g1";
  spec.zone = "us-central1-a";
  spec.machine_type = "n1-standard-1";
  spec.source_image = "projects/debian-cloud/global/images/debian-12-bookworm-v20231115";
  spec.disk_type = "pd-standard";
  spec.network = "default";
  spec.subnetwork = "sub";
  spec.tags = {"dmachine", "web"};
  spec.ssh_user = "docker-user";
  spec.ssh_public_key = "ssh-rsa AAAA dmachine-g1";
  spec.service_account = "default";
  spec.scopes = {"https://www.googleapis.com/auth/logging.write"};
  json body = instance_insert_body(spec);
  CHECK(body["machineType"] == "zones/us-central1-a/machineTypes/n1-standard-1");
  CHECK(body["disks"][0]["initializeParams"]["diskSizeGb"] == "10"); // int64 as a string
  CHECK(body["disks"][0]["initializeParams"]["diskType"] ==
        "zones/us-central1-a/diskTypes/pd-standard");
  CHECK(body["networkInterfaces"][0]["network"] == "global/networks/default");
  CHECK(body["networkInterfaces"][0]["subnetwork"] == "regions/us-central1/subnetworks/sub");
  CHECK(body["networkInterfaces"][0]["accessConfigs"][0]["type"] == "ONE_TO_ONE_NAT");
  CHECK(body["metadata"]["items"][0]["value"] == "docker-user:ssh-rsa AAAA dmachine-g1");
  CHECK(body["tags"]["items"] == json({"dmachine", "web"}));
  CHECK_FALSE(body.contains("scheduling"));
  spec.external_ip = false;
  spec.preemptible = true;
  body = instance_insert_body(spec);
  CHECK_FALSE(body["networkInterfaces"][0].contains("accessConfigs"));
  CHECK(body["scheduling"]["automaticRestart"] == false);
}

TEST_CASE("firewall rules: engine from anywhere, swarm between members only", "[google_driver]") {
  auto engine = engine_rule("default", 2376);
  CHECK(engine.name == "dmachine-engine");
  CHECK(engine.body["sourceRanges"] == json({"0.0.0.0/0"}));
  CHECK(engine.body["allowed"][0]["ports"] == json({"22", "2376"}));
  auto swarm = swarm_rule("default");
  CHECK(swarm.name == "dmachine-swarm");
  CHECK(swarm.body["sourceTags"] == json({"dmachine"}));
  CHECK(swarm.body["targetTags"] == json({"dmachine"}));
  CHECK_FALSE(swarm.body.contains("sourceRanges"));
  CHECK(swarm_rule("other").name.rfind("dmachine-swarm-", 0) == 0);
  CHECK(swarm_rule("other").name.size() <= 63);
  auto a = open_ports_rule("default", {{"tcp", "8080"}, {"udp", "53"}});
  auto b = open_ports_rule("default", {{"udp", "53"}, {"tcp", "8080"}});
  CHECK(a.name == b.name); // the same set of ports shares one rule
  CHECK(a.target_tag == a.name);
  CHECK(a.body["allowed"].size() == 2);
  CHECK(a.body["description"].get<std::string>().rfind(k_rule_marker, 0) == 0);
}

TEST_CASE("open ports and tags are checked", "[google_driver]") {
  CHECK(parse_open_port("8080")->protocol == "tcp");
  CHECK(parse_open_port("53/udp")->port == "53");
  CHECK(parse_open_port("1000-2000/tcp")->port == "1000-2000");
  CHECK_FALSE(parse_open_port("70000"));
  CHECK_FALSE(parse_open_port("80/icmp"));
  CHECK_FALSE(parse_open_port("80; rm"));
  CHECK(parse_tags("a,b-2")->size() == 2);
  CHECK(parse_tags("")->empty());
  CHECK_FALSE(parse_tags("Upper"));
  CHECK_FALSE(parse_tags("a,,b"));
}

TEST_CASE("credentials: flag, then GOOGLE_APPLICATION_CREDENTIALS, then gcloud's file",
          "[google_driver]") {
  TempDir dir;
  const fs::path not_gce = dir.path / "product_name";
  write(not_gce, "Standard PC (Q35 + ICH9, 2009)\n");
  auto env = env_of({{"GOOGLE_APPLICATION_CREDENTIALS", "/env/key.json"},
                     {"HOME", (dir.path / "home").string()}});
  CHECK(find_credentials("/flag/key.json", env, not_gce)->source == "--google-credentials");
  CHECK(find_credentials("", env, not_gce)->path == "/env/key.json");
  auto home_only = env_of({{"HOME", (dir.path / "home").string()}});
  auto none = find_credentials("", home_only, not_gce);
  REQUIRE_FALSE(none);
  CHECK(none.error().message.find("GOOGLE_APPLICATION_CREDENTIALS") != std::string::npos);
  write(dir.path / "home/.config/gcloud/application_default_credentials.json", "{}");
  CHECK(find_credentials("", home_only, not_gce)->source == "application-default");
  auto cloudsdk = env_of({{"CLOUDSDK_CONFIG", (dir.path / "sdk").string()}});
  const fs::path gce = dir.path / "gce_product_name";
  write(gce, "Google Compute Engine\n");
  CHECK(find_credentials("", cloudsdk, gce)->source == "metadata-server");
  CHECK_FALSE(running_on_gce(dir.path / "missing"));
}

TEST_CASE("authorized user: the refresh-token exchange", "[google_driver]") {
  auto bad = parse_authorized_user(R"({"type":"authorized_user","client_id":"c"})");
  REQUIRE_FALSE(bad);
  CHECK(bad.error().message.find("client_secret") != std::string::npos);
  CHECK_FALSE(parse_authorized_user(
      R"({"client_id":"c","client_secret":"s","refresh_token":"r","token_uri":"http://evil/"})"));
  auto user = parse_authorized_user(
      R"({"client_id":"c id","client_secret":"s&x","refresh_token":"1//r","type":"authorized_user"})");
  REQUIRE(user);
  CHECK(user->token_uri == "https://oauth2.googleapis.com/token");
  dm::testing::RecordingHttpClient http;
  RefreshTokenSource tokens(http, *user, [] { return 1000LL; });
  http.push_response(200, R"({"access_token":"ya29.x","expires_in":3599,"token_type":"Bearer"})");
  CHECK(*tokens.access_token() == "ya29.x");
  CHECK(http.requests()[0].body ==
        "grant_type=refresh_token&client_id=c%20id&client_secret=s%26x&refresh_token=1%2F%2Fr");
  http.push_response(400, R"({"error":"invalid_grant","error_description":"Bad Request"})");
  tokens.forget_token();
  auto refused = tokens.access_token();
  REQUIRE_FALSE(refused);
  CHECK(refused.error().message.find("invalid_grant: Bad Request") != std::string::npos);
  CHECK(refused.error().message.find("1//r") == std::string::npos);
}

TEST_CASE("Compute API: Google's message and reason, 404 as not_found, retries bounded",
          "[google_driver]") {
  dm::testing::RecordingHttpClient http;
  FixedToken tokens(http);
  int sleeps = 0;
  ComputeCaller caller{http,
                       tokens,
                       "http://127.0.0.1:9/compute/v1/",
                       3,
                       std::chrono::seconds(60),
                       [&](std::chrono::milliseconds) { ++sleeps; }};
  http.push_response(200, R"({"access_token":"ya29.t","expires_in":3599})");
  http.push_response(404, R"({"error":{"code":404,"message":"The resource 'x' was not found",)"
                          R"("errors":[{"reason":"notFound","message":"m"}]}})");
  auto missing = compute_call(caller, "GET", "projects/p/zones/z/instances/x");
  REQUIRE_FALSE(missing);
  CHECK(missing.error().kind == dm::ErrorKind::not_found);
  CHECK(missing.error().message ==
        "Compute Engine GET projects/p/zones/z/instances/x: The resource 'x' was not found "
        "(reason notFound, HTTP 404)");
  CHECK(http.requests()[1].headers.at("Authorization") == "Bearer ya29.t");
  for (int i = 0; i < 3; ++i) {
    http.push_response(
        503, R"({"error":{"code":503,"message":"backend","errors":[{"reason":"backendError"}]}})");
  }
  auto busy = compute_call(caller, "GET", "projects/p/zones/z/instances/x");
  REQUIRE_FALSE(busy);
  CHECK(busy.error().message.find("backendError") != std::string::npos);
  CHECK(sleeps == 2);
  // A DONE operation with an error: its message and code.
  http.push_response(
      200, R"({"kind":"compute#operation","name":"op","status":"DONE",)"
           R"("zone":"https://x/zones/z","httpErrorStatusCode":403,)"
           R"("error":{"errors":[{"code":"QUOTA_EXCEEDED","message":"Quota 'CPUS' exceeded."}]}})");
  auto quota = compute_operation(caller, "p", "POST", "projects/p/zones/z/instances", "{}",
                                 std::chrono::seconds(10), "create instance \"g\"");
  REQUIRE_FALSE(quota);
  CHECK(quota.error().message ==
        "create instance \"g\": Quota 'CPUS' exceeded. (QUOTA_EXCEEDED, HTTP 403)");
  CHECK_FALSE(compute_endpoint("http://10.0.0.1/"));
  CHECK_FALSE(compute_endpoint("http://example.com/"));
  CHECK_FALSE(compute_endpoint("https://example.com/compute/v1/")); // the token would go there
  CHECK_FALSE(compute_endpoint("https://googleapis.com.evil.example/"));
  CHECK_FALSE(compute_endpoint("http://127.0.0.1.evil.example/"));
  CHECK(compute_endpoint("https://compute.googleapis.com/compute/v1/"));
  CHECK(*compute_endpoint("http://127.0.0.1:5/compute/v1") == "http://127.0.0.1:5/compute/v1/");
  CHECK(random_request_id().size() == 36);
}
