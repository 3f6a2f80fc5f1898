#include "core/engine_api.h"

#include <algorithm>
#include <chrono>
#include <thread>

namespace dm {

namespace {

constexpr int k_default_wait_ping_timeout = 5;

HttpRequest make_request(const EngineEndpoint& endpoint, const std::string& method,
                         const std::string& path, int timeout_seconds) {
  HttpRequest request;
  request.method = method;
  request.url = engine_https_base(endpoint.url) + path;
  request.ca_cert_path = endpoint.ca_cert_path;
  request.client_cert_path = endpoint.client_cert_path;
  request.client_key_path = endpoint.client_key_path;
  request.timeout_seconds = timeout_seconds;
  // A machine's engine is on a network the user reaches directly (docker-machine's
  // `env --no-proxy` exists for the same reason): a corporate proxy cannot reach it.
  request.proxy = ProxyUse::direct;
  return request;
}

std::string body_excerpt(const std::string& body) {
  constexpr size_t k_max = 200;
  std::string text = body.size() > k_max ? body.substr(0, k_max) + "..." : body;
  while (!text.empty() && (text.back() == '\n' || text.back() == '\r')) {
    text.pop_back();
  }
  return text;
}

// The engine's {"message": ...} when the body has one, else the body itself.
std::string engine_message(const std::string& body) {
  try {
    auto json = nlohmann::json::parse(body);
    if (json.is_object() && json.contains("message") && json["message"].is_string()) {
      return json["message"].get<std::string>();
    }
  } catch (const nlohmann::json::exception&) {
    // Not JSON: fall through to the raw body.
  }
  return body_excerpt(body);
}

Result<nlohmann::json> json_call(HttpClient& http, const HttpRequest& request) {
  const std::string what = request.method + " " + request.url;
  auto response = http.send(request);
  if (!response) {
    return fail(response.error());
  }
  if (response->status < 200 || response->status > 299) {
    return fail(what + ": HTTP " + std::to_string(response->status) + ": " +
                engine_message(response->body));
  }
  if (response->body.empty()) {
    return nlohmann::json(nullptr);
  }
  try {
    return nlohmann::json::parse(response->body);
  } catch (const nlohmann::json::exception& e) {
    return fail(what + ": the engine answered with invalid JSON (" + e.what() + ")");
  }
}

} // namespace

std::string engine_https_base(const std::string& tcp_url) {
  std::string rest = tcp_url;
  const std::string tcp = "tcp://";
  const std::string https = "https://";
  if (rest.rfind(tcp, 0) == 0) {
    rest = rest.substr(tcp.size());
  } else if (rest.rfind(https, 0) == 0) {
    rest = rest.substr(https.size());
  }
  while (!rest.empty() && rest.back() == '/') {
    rest.pop_back();
  }
  return https + rest;
}

Result<void> engine_ping(HttpClient& http, const EngineEndpoint& endpoint, int timeout_seconds) {
  HttpRequest request = make_request(endpoint, "GET", "/_ping", timeout_seconds);
  auto response = http.send(request);
  if (!response) {
    return fail(response.error());
  }
  if (response->status != 200) {
    return fail("GET " + request.url + ": HTTP " + std::to_string(response->status) + ": " +
                engine_message(response->body));
  }
  if (response->body != "OK") {
    return fail("GET " + request.url + ": expected \"OK\", got \"" +
                body_excerpt(response->body) + "\"");
  }
  return {};
}

Result<void> wait_for_engine(HttpClient& http, const EngineEndpoint& endpoint,
                             int total_seconds) {
  using Clock = std::chrono::steady_clock;
  const int budget = total_seconds > 0 ? total_seconds : 1;
  const auto deadline = Clock::now() + std::chrono::seconds(budget);
  const int max_attempts = budget + 1;
  Error last{ErrorKind::timeout, "no attempt made"};
  for (int attempt = 0; attempt < max_attempts; ++attempt) {
    auto remaining =
        std::chrono::duration_cast<std::chrono::seconds>(deadline - Clock::now()).count();
    int timeout = static_cast<int>(
        std::clamp<long long>(remaining, 1, k_default_wait_ping_timeout));
    auto ping = engine_ping(http, endpoint, timeout);
    if (ping) {
      return {};
    }
    last = ping.error();
    if (Clock::now() + std::chrono::seconds(1) >= deadline) {
      break;
    }
    std::this_thread::sleep_for(std::chrono::seconds(1));
  }
  return fail(ErrorKind::timeout, "the Docker daemon is not answering over TLS on " +
                                      endpoint.url + " after " + std::to_string(budget) +
                                      "s (last error: " + last.message + ")");
}

Result<std::string> engine_version(HttpClient& http, const EngineEndpoint& endpoint,
                                   int timeout_seconds) {
  auto json = json_call(http, make_request(endpoint, "GET", "/version", timeout_seconds));
  if (!json) {
    return fail(json.error());
  }
  if (!json->is_object() || !json->contains("Version") || !(*json)["Version"].is_string()) {
    return fail("GET " + engine_https_base(endpoint.url) +
                "/version: the answer has no \"Version\" string");
  }
  return (*json)["Version"].get<std::string>();
}

Result<nlohmann::json> engine_get(HttpClient& http, const EngineEndpoint& endpoint,
                                  const std::string& path, int timeout_seconds) {
  return json_call(http, make_request(endpoint, "GET", path, timeout_seconds));
}

Result<nlohmann::json> engine_post(HttpClient& http, const EngineEndpoint& endpoint,
                                   const std::string& path, const nlohmann::json& body,
                                   int timeout_seconds) {
  HttpRequest request = make_request(endpoint, "POST", path, timeout_seconds);
  request.headers["Content-Type"] = "application/json";
  request.body = body.is_null() ? std::string() : body.dump();
  return json_call(http, request);
}

Result<nlohmann::json> engine_delete(HttpClient& http, const EngineEndpoint& endpoint,
                                     const std::string& path, int timeout_seconds) {
  return json_call(http, make_request(endpoint, "DELETE", path, timeout_seconds));
}

} // namespace dm
