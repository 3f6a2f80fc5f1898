#pragma once
// HttpClient: HTTPS requests for the TLS engine check and the cloud drivers.
// Exactly one file (core/curl_http_client.cpp) includes <curl/curl.h>.
#include "core/result.h"

#include <map>
#include <string>

namespace dm {

// direct: never through a proxy, whatever https_proxy/HTTPS_PROXY/ALL_PROXY say (a
// machine's engine is reached directly); environment: libcurl's usual proxy variables.
enum class ProxyUse { environment, direct };

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
  ProxyUse proxy = ProxyUse::environment;
};

struct HttpResponse {
  int status = 0;
  std::map<std::string, std::string> headers; // lower-case names
  std::string body;
};

class HttpClient {
public:
  virtual ~HttpClient() = default;
  // Transport and TLS failures are errors; any HTTP status is a response.
  virtual Result<HttpResponse> send(const HttpRequest& request) = 0;
};

} // namespace dm
