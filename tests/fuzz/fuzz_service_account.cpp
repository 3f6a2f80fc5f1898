// A Google service-account key file (untrusted: the user's file, or one put in its
// place): parsing never crashes, and a key it accepts has every field and a safe token_uri.
#include "drivers/google/service_account.h"
#include "tests/fuzz/fuzz_support.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const std::string text = dm::fuzz::as_text(data, size);
  auto key = dm::google::parse_service_account_key(text);
  if (key) {
    dm::fuzz::check(!key->client_email.empty() && !key->private_key.empty(),
                    "an accepted key has an email and a private key");
    dm::fuzz::check(key->token_uri.rfind("https://", 0) == 0 ||
                        key->token_uri.rfind("http://127.0.0.1", 0) == 0 ||
                        key->token_uri.rfind("http://localhost", 0) == 0,
                    "token_uri is https or loopback", key->token_uri);
    (void)dm::google::jwt_bearer_assertion(*key, "scope", 1700000000);
  }
  auto decoded = dm::google::base64url_decode(text);
  if (decoded) {
    dm::fuzz::check(dm::google::base64url(*decoded).size() <= text.size() + 3,
                    "base64url round trip keeps the size");
  }
  return 0;
}
