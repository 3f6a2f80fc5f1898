#pragma once
// HttpClient: HTTPS requests for the TLS engine check and the cloud drivers.
// Exactly one file (core/curl_http_client.cpp) includes <curl/curl.h>.
#include "core/result.h"

#include <chrono>
#include <cstddef>
#include <map>
#include <memory>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace dm {

// direct: never through a proxy, whatever https_proxy/HTTPS_PROXY/ALL_PROXY say (a
// machine's engine is reached directly); environment: libcurl's usual proxy variables.
enum class ProxyUse { environment, direct };

// Receives a 2xx response body as it arrives instead of HttpResponse::body (large downloads);
// an error from either call aborts the transfer and is what send() returns.
class HttpBodySink {
public:
  virtual ~HttpBodySink() = default;
  // Once, before the first byte (also for an empty body): the status and lower-case headers.
  virtual Result<void> begin(int status, const std::map<std::string, std::string>& headers) = 0;
  virtual Result<void> write(std::string_view chunk) = 0;
};

struct HttpRequest {
  std::string method = "GET";
  std::string url;
  std::map<std::string, std::string> headers;
  std::string body;
  // Mutual TLS: verify the server against ca_cert_path, present client cert/key.
  std::string ca_cert_path;
  std::string client_cert_path;
  std::string client_key_path;
  int timeout_seconds = 10;
  // When > 0, these replace timeout_seconds: the whole transfer, and the TCP connect alone.
  int timeout_ms = 0;
  int connect_timeout_ms = 0;
  ProxyUse proxy = ProxyUse::environment;
  // Streaming (not owned; outlives the request): 2xx bodies go there, other statuses keep
  // at most 64 KiB of their body in HttpResponse::body.
  HttpBodySink* body_sink = nullptr;
  // When > 0, there is no total timeout: the transfer fails (kind timeout) once it stays
  // under 1 KiB/s for this many seconds. For downloads of unknown length and duration.
  int stall_timeout_seconds = 0;
  // follow: up to 5 redirects, to http or https URLs (from https: to https only).
  enum class Redirects { no, follow } redirects = Redirects::no;
  // ConnectOnly::yes opens the TCP connection to url's host and port and sends nothing:
  // a reachability check (the response is empty, status 0).
  enum class ConnectOnly { no, yes } connect_only = ConnectOnly::no;
};

struct HttpResponse {
  int status = 0;
  std::map<std::string, std::string> headers; // lower-case names
  std::string body;
};

// Many requests in flight at once on one event loop, without a thread per request.
// A connect timeout is an error of kind timeout; a refused connection names "refused".
class HttpBatch {
public:
  using Id = std::size_t;
  using Clock = std::chrono::steady_clock;
  using Finished = std::vector<std::pair<Id, Result<HttpResponse>>>;
  virtual ~HttpBatch() = default;
  virtual Id start(const HttpRequest& request) = 0;
  // Drops a request still in flight (its result is never returned).
  virtual void cancel(Id id) = 0;
  // Runs until at least one request ends or `until` passes; returns those that ended.
  virtual Finished wait(Clock::time_point until) = 0;
  [[nodiscard]] virtual std::size_t in_flight() const = 0;
};

class HttpClient {
public:
  virtual ~HttpClient() = default;
  // Transport and TLS failures are errors; any HTTP status is a response.
  virtual Result<HttpResponse> send(const HttpRequest& request) = 0;
  // A batch; the default runs the requests one after another through send() (for fakes).
  virtual std::unique_ptr<HttpBatch> batch();
};

} // namespace dm
