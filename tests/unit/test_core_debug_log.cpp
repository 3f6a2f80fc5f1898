// --debug lines never carry a secret: each kind the tool handles is redacted.
#include "core/debug_log.h"

#include <catch2/catch.hpp>
#include <sstream>

TEST_CASE("secrets are redacted from debug text", "[debug_log]") {
  using dm::redact_secrets;
  CHECK(redact_secrets("docker swarm join --token SWMTKN-1-3pu6hszjas19xyp7ghgosyx9k8atbfcr8p2is99znpy26u2lkl-1awxwuwd3z9j1z3puu7rcgdbx 10.0.0.2:2377") ==
        "docker swarm join --token SWMTKN-<redacted> 10.0.0.2:2377");
  CHECK(redact_secrets("key: -----BEGIN EC PRIVATE KEY-----\nMHcCAQEE\n-----END EC PRIVATE KEY-----\nrest") ==
        "key: <redacted private key>\nrest");
  CHECK(redact_secrets("-----BEGIN PRIVATE KEY-----\ncut off") == "<redacted private key>");
  CHECK(redact_secrets("Authorization: Bearer ya29.c.abc-DEF_1") == "Authorization: <redacted>");
  CHECK(redact_secrets("curl -H 'x: Bearer ya29.abc'") == "curl -H 'x: Bearer <redacted>'");
  CHECK(redact_secrets("AWS4-HMAC-SHA256 Credential=AKID/x, Signature=5fa00fa31553b73ebf1942676e86291e") ==
        "AWS4-HMAC-SHA256 Credential=AKID/x, Signature=<redacted>");
  CHECK(redact_secrets("X-Amz-Security-Token=AQoDYXdzEPT//////////wEXAMPLE&Action=X") ==
        "X-Amz-Security-Token=<redacted>&Action=X");
  CHECK(redact_secrets(R"({"access_token":"ya29.secret","expires_in":3599})") ==
        R"({"access_token":"<redacted>","expires_in":3599})");
  CHECK(redact_secrets("grant_type=jwt&assertion=eyJhbGciOi.eyJ.sig") ==
        "grant_type=jwt&assertion=<redacted>");
  CHECK(redact_secrets("systemctl restart docker") == "systemctl restart docker");
}

TEST_CASE("debug lines are off by default, then one redacted line each", "[debug_log]") {
  CHECK_FALSE(dm::debug_enabled());
  std::ostringstream out;
  dm::enable_debug_log(out);
  struct Off {
    ~Off() { dm::disable_debug_log(); } // out ends with this test, even a failed one
  } off;
  dm::debug_log("ssh", "join SWMTKN-1-abc-def");
  CHECK(out.str() == "[debug] ssh: join SWMTKN-<redacted>\n");
  CHECK(dm::debug_excerpt(std::string(400, 'a') + "\nb").size() < 340);
  CHECK(dm::debug_excerpt("a\nb") == "a b");
}
