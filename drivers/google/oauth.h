#pragma once
// OAuth 2.0 access tokens for Compute Engine, kept in memory only and asked again a
// minute before they expire: from a service-account key (signed JWT assertion), from
// gcloud's application-default authorized-user file (refresh token), or from the GCE
// metadata server. Errors name Google's reason and never contain a secret.
#include "core/http_client.h"
#include "drivers/google/service_account.h"

#include <functional>
#include <mutex>
#include <string>

namespace dm::google {

constexpr const char* k_compute_scope = "https://www.googleapis.com/auth/compute";

class TokenProvider {
public:
  virtual ~TokenProvider() = default;
  // A valid access token (cached until a minute before it expires).
  Result<std::string> access_token();
  // Drops the cached token (after a 401): the next access_token() asks again.
  void forget_token();

protected:
  // now: unix seconds (injected for tests).
  TokenProvider(HttpClient& http, std::function<long long()> now);
  // The request that gets a new token (it holds a secret; never logged).
  virtual Result<HttpRequest> token_request(long long now) = 0;
  // Who is refused, for errors: "the service account a@b".
  [[nodiscard]] virtual std::string who() const = 0;

private:
  HttpClient& m_http;
  std::function<long long()> m_now;
  std::mutex m_mutex;
  std::string m_token;
  long long m_expires_at = 0;
};

// A service account's key: the RS256 assertion exchanged at the key's token_uri.
class TokenSource final : public TokenProvider {
public:
  TokenSource(HttpClient& http, ServiceAccountKey key, std::string scope,
              std::function<long long()> now);

private:
  Result<HttpRequest> token_request(long long now) override;
  [[nodiscard]] std::string who() const override;
  ServiceAccountKey m_key;
  std::string m_scope;
};

// gcloud's application_default_credentials.json of type "authorized_user".
struct AuthorizedUser {
  std::string client_id;
  std::string client_secret;
  std::string refresh_token;
  std::string token_uri; // the file's, else https://oauth2.googleapis.com/token
};
// The file's text (untrusted): every field a non-empty string; token_uri https (or http
// to a loopback address).
Result<AuthorizedUser> parse_authorized_user(std::string_view json_text);

class RefreshTokenSource final : public TokenProvider {
public:
  RefreshTokenSource(HttpClient& http, AuthorizedUser user, std::function<long long()> now);

private:
  Result<HttpRequest> token_request(long long now) override;
  [[nodiscard]] std::string who() const override;
  AuthorizedUser m_user;
};

// The instance's default service account through the metadata server; only to be made
// when running on GCE (see running_on_gce in credentials.h).
class MetadataTokenSource final : public TokenProvider {
public:
  MetadataTokenSource(HttpClient& http, std::function<long long()> now);

private:
  Result<HttpRequest> token_request(long long now) override;
  [[nodiscard]] std::string who() const override;
};

// The Authorization header value for a token.
std::string bearer(const std::string& token);

} // namespace dm::google
