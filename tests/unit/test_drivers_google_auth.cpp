// RS256 and the service-account JWT bearer flow against the known answers in
// tests/vectors (RFC 7515 A.2; the GCE assertion made with the same key).
#include "drivers/google/service_account.h"

#include "tests/fakes/vectors.h"

#include <catch2/catch.hpp>
#include <filesystem>
#include <nlohmann/json.hpp>

namespace fs = std::filesystem;

namespace {

const fs::path k_vectors = fs::path(DM_VECTORS_DIR);

std::string trimmed(std::string text) {
  while (!text.empty() && (text.back() == '\n' || text.back() == '\r')) {
    text.pop_back();
  }
  return text;
}

} // namespace

TEST_CASE("base64url turns RFC 7515 A.2's header and payload into its signing input",
          "[google_auth]") {
  const fs::path jws = k_vectors / "jws";
  const std::string input = dm::google::base64url(dm::testing::read_bytes(jws / "rfc7515-a2-protected-header.json")) +
                            "." + dm::google::base64url(dm::testing::read_bytes(jws / "rfc7515-a2-payload.bin"));
  CHECK(input == trimmed(dm::testing::read_bytes(jws / "rfc7515-a2-signing-input.txt")));
  auto payload = dm::google::base64url_decode(input.substr(input.find('.') + 1));
  REQUIRE(payload);
  CHECK(*payload == dm::testing::read_bytes(jws / "rfc7515-a2-payload.bin"));
  CHECK_FALSE(dm::google::base64url_decode("ab+c"));
  CHECK_FALSE(dm::google::base64url_decode("ab\nc"));
  CHECK(*dm::google::base64url_decode("YQ") == "a");
  CHECK(*dm::google::base64url_decode("YQ==") == "a");
  CHECK(*dm::google::base64url_decode("YWI") == "ab");
  CHECK(dm::google::base64url_decode("").value() == "");
  // Found by fuzz_service_account: '=' inside the text, and lengths no encoder makes.
  CHECK_FALSE(dm::google::base64url_decode("e=======5===="));
  CHECK_FALSE(dm::google::base64url_decode("===="));
  CHECK_FALSE(dm::google::base64url_decode("YQ==="));
  CHECK_FALSE(dm::google::base64url_decode("YWJjZ"));
}

TEST_CASE("RS256 reproduces RFC 7515 A.2's signature with PKCS#8 and PKCS#1 keys",
          "[google_auth]") {
  const fs::path jws = k_vectors / "jws";
  const std::string input = trimmed(dm::testing::read_bytes(jws / "rfc7515-a2-signing-input.txt"));
  const std::string expected = trimmed(dm::testing::read_bytes(jws / "rfc7515-a2-signature.b64url"));
  for (const char* pem : {"rfc7515-a2-rsa-private.pkcs8.pem", "rfc7515-a2-rsa-private.pkcs1.pem"}) {
    auto signature = dm::google::rs256_sign(dm::testing::read_bytes(jws / pem), input);
    REQUIRE(signature);
    CHECK(dm::google::base64url(*signature) == expected);
  }
  CHECK(input + "." + expected == trimmed(dm::testing::read_bytes(jws / "rfc7515-a2-compact.txt")));
  auto wrong = dm::google::rs256_sign("-----BEGIN PRIVATE KEY-----\nnot a key\n", input);
  REQUIRE_FALSE(wrong);
  CHECK(wrong.error().message.find("not an RSA private key") != std::string::npos);
}

TEST_CASE("the JWT-bearer assertion of a service-account key matches the known answer",
          "[google_auth]") {
  const fs::path auth = k_vectors / "gce" / "auth";
  auto key = dm::google::parse_service_account_key(dm::testing::read_bytes(auth / "service-account-key.json"));
  REQUIRE(key);
  CHECK(key->client_email == "provisioner@example-project.iam.gserviceaccount.com");
  CHECK(key->project_id == "example-project");
  auto assertion = dm::google::jwt_bearer_assertion(*key, "https://www.googleapis.com/auth/compute",
                                                    1700000000);
  REQUIRE(assertion);
  CHECK(*assertion == trimmed(dm::testing::read_bytes(auth / "jwt-assertion.txt")));
  CHECK(dm::google::token_request_body(*assertion) == trimmed(dm::testing::read_bytes(auth / "token-request-body.txt")));
}

TEST_CASE("a service-account key file is checked before it is used", "[google_auth]") {
  const std::string good = dm::testing::read_bytes(k_vectors / "gce" / "auth" / "service-account-key.json");
  auto with = [&](const std::string& field, const nlohmann::json& value) {
    auto doc = nlohmann::json::parse(good);
    if (value.is_null()) {
      doc.erase(field);
    } else {
      doc[field] = value;
    }
    return dm::google::parse_service_account_key(doc.dump());
  };
  CHECK_FALSE(dm::google::parse_service_account_key("not json"));
  CHECK_FALSE(dm::google::parse_service_account_key("[]"));
  auto user = with("type", "authorized_user");
  REQUIRE_FALSE(user);
  CHECK(user.error().message.find("not \"service_account\"") != std::string::npos);
  auto missing = with("client_email", nullptr);
  REQUIRE_FALSE(missing);
  CHECK(missing.error().message.find("\"client_email\"") != std::string::npos);
  CHECK_FALSE(with("private_key", 5));
  CHECK_FALSE(with("token_uri", "http://evil.example/token"));
  CHECK_FALSE(with("token_uri", "http://127.0.0.1.evil.example/token"));
  CHECK(with("token_uri", "http://127.0.0.1:8080/token"));
}
