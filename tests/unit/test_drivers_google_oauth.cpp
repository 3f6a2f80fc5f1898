// The token source: one exchange per token lifetime, refreshed before expiry, and
// Google's refusals said with their reason and without secrets.
#include "drivers/google/oauth.h"
#include "tests/fakes/recording_http_client.h"
#include "tests/fakes/vectors.h"

#include <catch2/catch.hpp>
#include <filesystem>

namespace fs = std::filesystem;
using namespace dm::google;

namespace {

std::string auth_vector(const std::string& name) {
  return dm::testing::vector_file(fs::path("gce") / "auth" / name);
}

ServiceAccountKey test_key() {
  auto key = parse_service_account_key(auth_vector("service-account-key.json"));
  REQUIRE(key);
  return *key;
}

} // namespace

TEST_CASE("an access token is asked once and reused until a minute before expiry",
          "[google_oauth]") {
  dm::testing::RecordingHttpClient http;
  long long now = 1700000000;
  TokenSource tokens(http, test_key(), k_compute_scope, [&] { return now; });
  http.push_response(200, auth_vector("token-response.json"));
  auto first = tokens.access_token();
  REQUIRE(first);
  CHECK(*first == "ya29.c.EXAMPLE-access-token-not-real");
  REQUIRE(http.requests().size() == 1);
  const auto& request = http.requests()[0];
  CHECK(request.method == "POST");
  CHECK(request.url == "https://oauth2.googleapis.com/token");
  CHECK(request.headers.at("Content-Type") == "application/x-www-form-urlencoded");
  std::string expected_body = auth_vector("token-request-body.txt");
  while (!expected_body.empty() && expected_body.back() == '\n') {
    expected_body.pop_back();
  }
  CHECK(request.body == expected_body); // the known-answer assertion at iat 1700000000
  now += 3599 - 61;
  CHECK(tokens.access_token());
  CHECK(http.requests().size() == 1);
  now += 2; // within the last minute: a new token
  http.push_response(200, auth_vector("token-response-google-doc-example.json"));
  CHECK(tokens.access_token());
  CHECK(http.requests().size() == 2);
  CHECK(bearer("t") == "Bearer t");
}

TEST_CASE("Google's refusal is said with its reason, never with a secret", "[google_oauth]") {
  dm::testing::RecordingHttpClient http;
  TokenSource tokens(http, test_key(), k_compute_scope, [] { return 1700000000LL; });
  http.push_response(400, auth_vector("token-error-invalid-signature.json"));
  auto refused = tokens.access_token();
  REQUIRE_FALSE(refused);
  CHECK(refused.error().message ==
        "Google refused the service account provisioner@example-project.iam.gserviceaccount.com "
        "(https://oauth2.googleapis.com/token): invalid_grant: Invalid JWT Signature.");
  CHECK(refused.error().message.find("eyJ") == std::string::npos);
  CHECK(refused.error().message.find("PRIVATE KEY") == std::string::npos);
  http.push_response(200, R"({"token_type":"Bearer"})");
  auto empty = tokens.access_token();
  REQUIRE_FALSE(empty);
  CHECK(empty.error().message.find("has no access_token") != std::string::npos);
  auto unreachable = tokens.access_token(); // the fake's empty queue: a transport error
  REQUIRE_FALSE(unreachable);
  CHECK(unreachable.error().message.find("get a Google access token") == 0);
}
