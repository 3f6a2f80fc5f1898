#include "drivers/google/gce_api.h"

#include "core/interrupt.h"

#include <fmt/format.h>
#include <random>
#include <regex>
#include <thread>

namespace dm::google {

namespace {

constexpr int k_call_timeout_seconds = 60;
// operations.wait blocks up to about two minutes on Google's side.
constexpr int k_wait_call_timeout_seconds = 150;
constexpr std::chrono::milliseconds k_backoff_base{500};
constexpr std::chrono::milliseconds k_backoff_cap{16000};

bool retryable(int status) {
  return status == 429 || status >= 500;
}

std::chrono::milliseconds backoff(int attempt) {
  thread_local std::mt19937 random(std::random_device{}());
  const std::chrono::milliseconds scaled = k_backoff_base * (1LL << std::min(attempt, 10));
  const std::chrono::milliseconds ceiling = std::min(k_backoff_cap, scaled);
  std::uniform_int_distribution<long long> pick(ceiling.count() / 2, ceiling.count());
  return std::chrono::milliseconds(pick(random));
}

Error api_error(const std::string& method, const std::string& path, const HttpResponse& response) {
  auto parsed = parse_gce_error(response.body);
  std::string text = parsed && !parsed->message.empty()
                         ? parsed->message
                         : fmt::format("HTTP {} without an error document", response.status);
  if (parsed && !parsed->reason.empty()) {
    text += fmt::format(" (reason {}, HTTP {})", parsed->reason, response.status);
  } else if (parsed) {
    text += fmt::format(" (HTTP {})", response.status);
  }
  return Error{response.status == 404 ? ErrorKind::not_found : ErrorKind::generic,
               fmt::format("Compute Engine {} {}: {}", method, path, text)};
}

} // namespace

Result<std::string> compute_endpoint(const std::string& override_url) {
  if (override_url.empty()) {
    return std::string(k_compute_endpoint);
  }
  // The bearer token goes there: Google's own hosts, or a local emulator.
  static const std::regex allowed(
      R"((https://([a-z0-9-]+\.)*googleapis\.com|http://(127\.0\.0\.1|localhost)(:[0-9]{1,5})?)(/[A-Za-z0-9._~/-]*)?)");
  if (!std::regex_match(override_url, allowed)) {
    return fail(ErrorKind::usage,
                fmt::format("--google-endpoint \"{}\" is neither an https URL of "
                            "googleapis.com nor http to 127.0.0.1 or localhost (an emulator)",
                            override_url));
  }
  std::string url = override_url;
  if (url.back() != '/') {
    url += '/';
  }
  return url;
}

std::string random_request_id() {
  thread_local std::mt19937_64 random(std::random_device{}());
  std::uniform_int_distribution<unsigned> byte(0, 255);
  unsigned char bytes[16];
  for (auto& b : bytes) {
    b = static_cast<unsigned char>(byte(random));
  }
  bytes[6] = static_cast<unsigned char>((bytes[6] & 0x0fU) | 0x40U);
  bytes[8] = static_cast<unsigned char>((bytes[8] & 0x3fU) | 0x80U);
  std::string text;
  for (int i = 0; i < 16; ++i) {
    if (i == 4 || i == 6 || i == 8 || i == 10) {
      text += '-';
    }
    text += fmt::format("{:02x}", bytes[i]);
  }
  return text;
}

Result<std::string> compute_call(ComputeCaller& caller, const std::string& method,
                                 const std::string& path, const std::string& body) {
  const auto started = std::chrono::steady_clock::now();
  bool renewed_token = false;
  const std::string shown_path = path.substr(0, path.find('?'));
  for (int attempt = 1;; ++attempt) {
    if (interrupted()) {
      return fail(ErrorKind::interrupted, "interrupted");
    }
    auto token = caller.tokens.access_token();
    DM_TRY(token);
    HttpRequest request;
    request.method = method;
    request.url = caller.endpoint + path;
    request.headers["Authorization"] = bearer(*token);
    if (!body.empty()) {
      request.headers["Content-Type"] = "application/json";
      request.body = body;
    }
    request.timeout_seconds = path.size() > 5 && path.compare(path.size() - 5, 5, "/wait") == 0
                                  ? k_wait_call_timeout_seconds
                                  : k_call_timeout_seconds;
    auto response = caller.http.send(request);
    const bool out_of_time =
        attempt >= caller.attempts || std::chrono::steady_clock::now() - started > caller.budget;
    if (!response) {
      if (response.error().kind == ErrorKind::interrupted || out_of_time) {
        return fail(response.error().with_context("Compute Engine " + method + " " + shown_path));
      }
    } else if (response->status >= 200 && response->status < 300) {
      return std::move(response->body);
    } else if (response->status == 401 && !renewed_token) {
      // An expired or revoked token: one new one, then the answer stands.
      renewed_token = true;
      caller.tokens.forget_token();
      continue;
    } else if (!retryable(response->status) || out_of_time) {
      return fail(api_error(method, shown_path, *response));
    }
    caller.sleep(backoff(attempt));
  }
}

Result<void> wait_operation(ComputeCaller& caller, const std::string& project,
                            GceOperation operation, std::chrono::seconds timeout,
                            const std::string& what) {
  const auto deadline = std::chrono::steady_clock::now() + timeout;
  while (!operation.done()) {
    if (std::chrono::steady_clock::now() > deadline) {
      return fail(ErrorKind::timeout,
                  fmt::format("{}: Compute Engine operation {} not DONE after {} s (status {})",
                              what, operation.name, timeout.count(), operation.status));
    }
    const std::string path =
        operation.zone.empty()
            ? fmt::format("projects/{}/global/operations/{}/wait", project, operation.name)
            : fmt::format("projects/{}/zones/{}/operations/{}/wait", project,
                          last_segment(operation.zone), operation.name);
    auto body = compute_call(caller, "POST", path);
    DM_TRY_CTX(body, what);
    auto next = parse_gce_operation(*body);
    DM_TRY_CTX(next, what);
    operation = std::move(*next);
  }
  if (!operation.errors.empty()) {
    const auto& first = operation.errors.front();
    std::string text = fmt::format("{}: {} ({}", what, first.message, first.code);
    if (operation.http_error_status != 0) {
      text += fmt::format(", HTTP {}", operation.http_error_status);
    }
    return fail(text + ")");
  }
  return {};
}

Result<void> compute_operation(ComputeCaller& caller, const std::string& project,
                               const std::string& method, const std::string& path,
                               const std::string& body, std::chrono::seconds timeout,
                               const std::string& what) {
  auto answer = compute_call(caller, method, path, body);
  DM_TRY_CTX(answer, what);
  auto operation = parse_gce_operation(*answer);
  DM_TRY_CTX(operation, what);
  return wait_operation(caller, project, std::move(*operation), timeout, what);
}

std::string last_segment(const std::string& url) {
  auto slash = url.find_last_of('/');
  return slash == std::string::npos ? url : url.substr(slash + 1);
}

} // namespace dm::google
