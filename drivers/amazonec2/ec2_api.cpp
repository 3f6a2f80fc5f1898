#include "drivers/amazonec2/ec2_api.h"

#include "core/debug_log.h"
#include "core/interrupt.h"
#include "core/machine_record.h"

#include <algorithm>
#include <fmt/format.h>
#include <random>
#include <thread>

namespace dm::aws {

namespace {

constexpr const char* k_api_version = "2016-11-15";
constexpr int k_call_timeout_seconds = 60;

bool valid_host(const std::string& host) {
  return !host.empty() && std::all_of(host.begin(), host.end(), [](unsigned char c) {
    return std::isalnum(c) != 0 || c == '.' || c == '-' || c == ':' || c == '[' || c == ']';
  });
}

} // namespace

Result<Ec2Endpoint> ec2_endpoint(const std::string& region, const std::string& override_url,
                                 InsecureTransport insecure) {
  if (region.empty() || !std::all_of(region.begin(), region.end(), [](unsigned char c) {
        return std::islower(c) != 0 || std::isdigit(c) != 0 || c == '-';
      })) {
    return fail(ErrorKind::usage,
                fmt::format("invalid region {}: a region looks like us-east-1 "
                            "(--amazonec2-region, $AWS_DEFAULT_REGION)",
                            quoted_for_display(region)));
  }
  if (override_url.empty()) {
    const std::string host = "ec2." + region + ".amazonaws.com";
    return Ec2Endpoint{"https://" + host + "/", host, region};
  }
  std::string rest;
  if (override_url.rfind("https://", 0) == 0) {
    rest = override_url.substr(8);
  } else if (override_url.rfind("http://", 0) == 0 && insecure == InsecureTransport::yes) {
    rest = override_url.substr(7);
  } else {
    return fail(ErrorKind::usage,
                fmt::format("--amazonec2-endpoint {}: use an https:// URL (http:// only with "
                            "--amazonec2-insecure-transport)",
                            quoted_for_display(override_url)));
  }
  const std::string host = rest.substr(0, rest.find('/'));
  if (!valid_host(host) || (rest.find('/') != std::string::npos && rest.substr(rest.find('/')) != "/")) {
    return fail(ErrorKind::usage,
                fmt::format("--amazonec2-endpoint {}: give scheme://host[:port] and no path",
                            quoted_for_display(override_url)));
  }
  const std::string scheme = override_url.substr(0, override_url.find("://") + 3);
  return Ec2Endpoint{scheme + host + "/", host, region};
}

std::string ec2_form_body(const std::string& action, const Pairs& params) {
  std::string body = "Action=" + sigv4_encode(action, KeepSlash::no) + "&Version=" + k_api_version;
  for (const auto& [name, value] : params) {
    body += "&" + sigv4_encode(name, KeepSlash::no) + "=" + sigv4_encode(value, KeepSlash::no);
  }
  return body;
}

HttpRequest ec2_request(const Ec2Endpoint& endpoint, const std::string& action,
                        const Pairs& params, const AwsCredentials& credentials,
                        const std::string& amz_date) {
  SigV4Request signing;
  signing.method = "POST";
  signing.path = "/";
  signing.headers = {{"Content-Type", "application/x-www-form-urlencoded; charset=utf-8"},
                     {"Host", endpoint.host},
                     {"X-Amz-Date", amz_date}};
  signing.body = ec2_form_body(action, params);
  auto signature = sigv4_sign(signing, credentials, {endpoint.region, "ec2", amz_date});
  HttpRequest request;
  request.method = "POST";
  request.url = endpoint.url;
  for (const auto& [name, value] : signing.headers) {
    request.headers[name] = value;
  }
  for (const auto& [name, value] : signature.added_headers) {
    request.headers[name] = value;
  }
  request.headers["Authorization"] = signature.authorization;
  request.body = std::move(signing.body);
  request.timeout_seconds = k_call_timeout_seconds;
  return request;
}

bool ec2_retryable(int http_status, const std::string& error_code) {
  return http_status >= 500 || error_code == "RequestLimitExceeded" ||
         error_code == "Throttling" || error_code == "ThrottlingException";
}

std::chrono::milliseconds ec2_backoff(int attempt, const RetryPolicy& policy, double unit_random) {
  const long long ceiling = std::min<long long>(
      policy.cap.count(), policy.base.count() << std::min(attempt, 20));
  return std::chrono::milliseconds(static_cast<long long>(unit_random * static_cast<double>(ceiling)));
}

Ec2Caller ec2_caller(HttpClient& http, Ec2Endpoint endpoint, AwsCredentials credentials,
                     RetryPolicy policy) {
  auto engine = std::make_shared<std::mt19937_64>(std::random_device{}());
  return Ec2Caller{
      http,
      std::move(endpoint),
      std::move(credentials),
      policy,
      [] {
        return static_cast<long long>(std::chrono::duration_cast<std::chrono::seconds>(
                                          std::chrono::system_clock::now().time_since_epoch())
                                          .count());
      },
      [](std::chrono::milliseconds wait) {
        // In small steps, so Ctrl-C ends the wait.
        const auto until = std::chrono::steady_clock::now() + wait;
        while (!interrupted() && std::chrono::steady_clock::now() < until) {
          std::this_thread::sleep_for(std::min<std::chrono::steady_clock::duration>(
              std::chrono::milliseconds(100), until - std::chrono::steady_clock::now()));
        }
      },
      [engine] { return std::uniform_real_distribution<double>(0.0, 1.0)(*engine); }};
}

Result<std::string> ec2_call(Ec2Caller& caller, const std::string& action, const Pairs& params) {
  const long long started = caller.now();
  Error last{ErrorKind::generic, ""};
  for (int attempt = 1; attempt <= caller.policy.attempts; ++attempt) {
    if (interrupted()) {
      return fail(ErrorKind::interrupted, action + ": interrupted");
    }
    const auto sent = std::chrono::steady_clock::now();
    auto response = caller.http.send(ec2_request(caller.endpoint, action, params,
                                                 caller.credentials, amz_date_of(caller.now())));
    if (debug_enabled()) {
      // The action and its outcome only: parameters can hold user data.
      auto error = response ? parse_ec2_error(response->body) : std::nullopt;
      debug_log("ec2", fmt::format("{} (attempt {}) -> {} in {}", action, attempt,
                                   !response ? response.error().message
                                   : error   ? fmt::format("{} {}", response->status, error->code)
                                             : std::to_string(response->status),
                                   elapsed_since(sent)));
    }
    std::string code;
    if (!response) {
      last = response.error().with_context(action);
      if (response.error().kind == ErrorKind::interrupted) {
        return fail(last);
      }
      code = "connection"; // a transport failure is tried again like a 5xx
    } else if (response->status >= 200 && response->status < 300) {
      return std::move(response->body);
    } else {
      auto error = parse_ec2_error(response->body);
      code = error ? error->code : "";
      last = Error{response->status == 401 || response->status == 403 ? ErrorKind::usage
                                                                       : ErrorKind::generic,
                   error ? fmt::format("{}: {}: {}", action, error->code, error->message)
                         : fmt::format("{}: HTTP {} from {}", action, response->status,
                                       caller.endpoint.url)};
    }
    const bool retry = code == "connection" || ec2_retryable(response ? response->status : 0, code);
    const bool time_left = caller.now() - started < caller.policy.budget.count();
    if (!retry || attempt == caller.policy.attempts || !time_left) {
      if (retry) {
        last.message += fmt::format(" (gave up after {} attempt{})", attempt, attempt == 1 ? "" : "s");
      }
      return fail(last);
    }
    caller.sleep(ec2_backoff(attempt, caller.policy, caller.random()));
  }
  return fail(last);
}

} // namespace dm::aws
