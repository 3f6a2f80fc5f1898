#pragma once
// OAuth 2.0 access tokens for Compute Engine from a service-account key: the signed
// assertion is exchanged at the key's token_uri; the token is kept in memory only
// and asked again a minute before it expires.
#include "core/http_client.h"
#include "drivers/google/service_account.h"

#include <functional>
#include <mutex>
#include <string>

namespace dm::google {

constexpr const char* k_compute_scope = "https://www.googleapis.com/auth/compute";

class TokenSource {
public:
  // now: unix seconds (injected for tests).
  TokenSource(HttpClient& http, ServiceAccountKey key, std::string scope,
              std::function<long long()> now);
  // A valid access token; an error names Google's reason ("invalid_grant: Invalid JWT
  // Signature.") and never contains the assertion or a token.
  Result<std::string> access_token();

private:
  HttpClient& m_http;
  ServiceAccountKey m_key;
  std::string m_scope;
  std::function<long long()> m_now;
  std::mutex m_mutex;
  std::string m_token;
  long long m_expires_at = 0;
};

// The Authorization header value for a token.
std::string bearer(const std::string& token);

} // namespace dm::google
