#include "drivers/google/oauth.h"

#include <fmt/format.h>
#include <nlohmann/json.hpp>

namespace dm::google {

namespace {

constexpr long long k_refresh_margin_seconds = 60;
constexpr int k_token_timeout_seconds = 30;

} // namespace

TokenSource::TokenSource(HttpClient& http, ServiceAccountKey key, std::string scope,
                         std::function<long long()> now)
    : m_http(http), m_key(std::move(key)), m_scope(std::move(scope)), m_now(std::move(now)) {}

Result<std::string> TokenSource::access_token() {
  std::lock_guard lock(m_mutex);
  const long long now = m_now();
  if (!m_token.empty() && now + k_refresh_margin_seconds < m_expires_at) {
    return m_token;
  }
  auto assertion = jwt_bearer_assertion(m_key, m_scope, now);
  DM_TRY(assertion);
  HttpRequest request;
  request.method = "POST";
  request.url = m_key.token_uri;
  request.headers["Content-Type"] = "application/x-www-form-urlencoded";
  request.body = token_request_body(*assertion);
  request.timeout_seconds = k_token_timeout_seconds;
  auto response = m_http.send(request);
  DM_TRY_CTX(response, "get a Google access token from " + m_key.token_uri);
  auto doc = nlohmann::json::parse(response->body, nullptr, false);
  if (response->status != 200) {
    std::string reason = fmt::format("HTTP {}", response->status);
    if (doc.is_object() && doc.contains("error") && doc["error"].is_string()) {
      reason = doc["error"].get<std::string>();
      if (doc.contains("error_description") && doc["error_description"].is_string()) {
        reason += ": " + doc["error_description"].get<std::string>();
      }
    }
    return fail(ErrorKind::usage,
                fmt::format("Google refused the service account {} ({}): {}", m_key.client_email,
                            m_key.token_uri, reason));
  }
  if (!doc.is_object() || !doc.contains("access_token") || !doc["access_token"].is_string() ||
      doc["access_token"].get<std::string>().empty() || !doc.contains("expires_in") ||
      !doc["expires_in"].is_number_integer()) {
    return fail(fmt::format("the token answer of {} has no access_token and expires_in",
                            m_key.token_uri));
  }
  m_token = doc["access_token"].get<std::string>();
  m_expires_at = now + doc["expires_in"].get<long long>();
  return m_token;
}

std::string bearer(const std::string& token) { return "Bearer " + token; }

} // namespace dm::google
