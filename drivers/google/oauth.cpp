#include "drivers/google/oauth.h"

#include "drivers/amazonec2/sigv4.h"

#include <fmt/format.h>
#include <nlohmann/json.hpp>

namespace dm::google {

namespace {

constexpr long long k_refresh_margin_seconds = 60;
constexpr int k_token_timeout_seconds = 30;
constexpr const char* k_google_token_uri = "https://oauth2.googleapis.com/token";
// The link-local address is used, not a name: no DNS lookup leaves the instance.
constexpr const char* k_metadata_token_url =
    "http://169.254.169.254/computeMetadata/v1/instance/service-accounts/default/token";

std::string form_value(const std::string& text) {
  return aws::sigv4_encode(text, aws::KeepSlash::no);
}

HttpRequest form_post(const std::string& url, std::string body) {
  HttpRequest request;
  request.method = "POST";
  request.url = url;
  request.headers["Content-Type"] = "application/x-www-form-urlencoded";
  request.body = std::move(body);
  request.timeout_seconds = k_token_timeout_seconds;
  return request;
}

} // namespace

TokenProvider::TokenProvider(HttpClient& http, std::function<long long()> now)
    : m_http(http), m_now(std::move(now)) {}

Result<std::string> TokenProvider::access_token() {
  std::lock_guard lock(m_mutex);
  const long long now = m_now();
  if (!m_token.empty() && now + k_refresh_margin_seconds < m_expires_at) {
    return m_token;
  }
  auto request = token_request(now);
  DM_TRY(request);
  auto response = m_http.send(*request);
  DM_TRY_CTX(response, "get a Google access token from " + request->url);
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
                fmt::format("Google refused {} ({}): {}", who(), request->url, reason));
  }
  if (!doc.is_object() || !doc.contains("access_token") || !doc["access_token"].is_string() ||
      doc["access_token"].get<std::string>().empty() || !doc.contains("expires_in") ||
      !doc["expires_in"].is_number_integer()) {
    return fail(
        fmt::format("the token answer of {} has no access_token and expires_in", request->url));
  }
  m_token = doc["access_token"].get<std::string>();
  m_expires_at = now + doc["expires_in"].get<long long>();
  return m_token;
}

void TokenProvider::forget_token() {
  std::lock_guard lock(m_mutex);
  m_token.clear();
  m_expires_at = 0;
}

TokenSource::TokenSource(HttpClient& http, ServiceAccountKey key, std::string scope,
                         std::function<long long()> now)
    : TokenProvider(http, std::move(now)), m_key(std::move(key)), m_scope(std::move(scope)) {}

Result<HttpRequest> TokenSource::token_request(long long now) {
  auto assertion = jwt_bearer_assertion(m_key, m_scope, now);
  DM_TRY(assertion);
  return form_post(m_key.token_uri, token_request_body(*assertion));
}

std::string TokenSource::who() const {
  return "the service account " + m_key.client_email;
}

Result<AuthorizedUser> parse_authorized_user(std::string_view json_text) {
  auto doc = nlohmann::json::parse(json_text, nullptr, false);
  if (doc.is_discarded() || !doc.is_object()) {
    return fail(ErrorKind::usage, "the application-default credentials file is not a JSON object");
  }
  AuthorizedUser user;
  for (auto [name, field] :
       {std::pair{"client_id", &user.client_id}, std::pair{"client_secret", &user.client_secret},
        std::pair{"refresh_token", &user.refresh_token}}) {
    auto it = doc.find(name);
    if (it == doc.end() || !it->is_string() || it->get<std::string>().empty()) {
      return fail(ErrorKind::usage,
                  fmt::format("the application-default credentials file has no \"{}\" (run "
                              "'gcloud auth application-default login' again)",
                              name));
    }
    *field = it->get<std::string>();
  }
  user.token_uri = k_google_token_uri;
  if (auto it = doc.find("token_uri"); it != doc.end()) {
    if (!it->is_string() || !secure_or_loopback_url(it->get<std::string>())) {
      return fail(ErrorKind::usage,
                  "the application-default credentials file's token_uri is not an https URL");
    }
    user.token_uri = it->get<std::string>();
  }
  return user;
}

RefreshTokenSource::RefreshTokenSource(HttpClient& http, AuthorizedUser user,
                                       std::function<long long()> now)
    : TokenProvider(http, std::move(now)), m_user(std::move(user)) {}

Result<HttpRequest> RefreshTokenSource::token_request(long long /*now*/) {
  return form_post(m_user.token_uri,
                   "grant_type=refresh_token&client_id=" + form_value(m_user.client_id) +
                       "&client_secret=" + form_value(m_user.client_secret) +
                       "&refresh_token=" + form_value(m_user.refresh_token));
}

std::string RefreshTokenSource::who() const {
  return "the application-default credentials of client " + m_user.client_id;
}

MetadataTokenSource::MetadataTokenSource(HttpClient& http, std::function<long long()> now)
    : TokenProvider(http, std::move(now)) {}

Result<HttpRequest> MetadataTokenSource::token_request(long long /*now*/) {
  HttpRequest request;
  request.url = k_metadata_token_url;
  request.headers["Metadata-Flavor"] = "Google";
  request.timeout_seconds = 5;
  request.proxy = ProxyUse::direct;
  return request;
}

std::string MetadataTokenSource::who() const {
  return "the instance's default service account (metadata server)";
}

std::string bearer(const std::string& token) {
  return "Bearer " + token;
}

} // namespace dm::google
