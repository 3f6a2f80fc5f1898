#pragma once
// Calls of the Compute Engine v1 JSON API with a bearer token: bounded retries with
// backoff on 429 and 5xx (one new token after a 401), Google's error message and reason
// in every error (a 404 is ErrorKind::not_found), and operations polled with
// zoneOperations.wait / globalOperations.wait until DONE, bounded in time.
#include "core/http_client.h"
#include "drivers/google/gce_json.h"
#include "drivers/google/oauth.h"

#include <chrono>
#include <functional>
#include <string>

namespace dm::google {

constexpr const char* k_compute_endpoint = "https://compute.googleapis.com/compute/v1/";

// The API base ending in "/": the default, or an override (https, or http to a loopback
// address for an emulator).
Result<std::string> compute_endpoint(const std::string& override_url);

// A random version-4 UUID, for requestId (a retried insert is not made twice).
std::string random_request_id();

struct ComputeCaller {
  HttpClient& http;
  TokenProvider& tokens;
  std::string endpoint; // from compute_endpoint
  int attempts = 6;     // the first call and up to 5 retries
  std::chrono::seconds budget{120};
  std::function<void(std::chrono::milliseconds)> sleep;
};

// One call; path is relative to the endpoint ("projects/P/zones/Z/instances/N"), body is
// JSON text or "". The body of a 2xx answer.
Result<std::string> compute_call(ComputeCaller& caller, const std::string& method,
                                 const std::string& path, const std::string& body = "");

// Polls an operation (zonal when operation.zone is set, else global) until DONE or
// timeout; an error inside the DONE operation becomes an error with its message and code.
Result<void> wait_operation(ComputeCaller& caller, const std::string& project,
                            GceOperation operation, std::chrono::seconds timeout,
                            const std::string& what);

// compute_call then wait_operation on the operation it returns.
Result<void> compute_operation(ComputeCaller& caller, const std::string& project,
                               const std::string& method, const std::string& path,
                               const std::string& body, std::chrono::seconds timeout,
                               const std::string& what);

// "zones/us-central1-a" or a full zone URL -> "us-central1-a".
std::string last_segment(const std::string& url);

} // namespace dm::google
