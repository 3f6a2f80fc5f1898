#include "core/curl_http_client.h"

#include <curl/curl.h>

#include <algorithm>
#include <array>
#include <cctype>
#include <memory>
#include <mutex>

namespace dm {

namespace {

std::once_flag g_curl_init_once;
CURLcode g_curl_init_result = CURLE_OK;

void init_curl_once() {
  std::call_once(g_curl_init_once,
                 [] { g_curl_init_result = curl_global_init(CURL_GLOBAL_DEFAULT); });
}

struct EasyFree {
  void operator()(CURL* p) const { curl_easy_cleanup(p); }
};
struct SlistFree {
  void operator()(curl_slist* p) const { curl_slist_free_all(p); }
};

size_t write_body(char* data, size_t size, size_t count, void* user) {
  auto* body = static_cast<std::string*>(user);
  body->append(data, size * count);
  return size * count;
}

std::string trim(std::string s) {
  auto not_space = [](unsigned char c) { return std::isspace(c) == 0; };
  s.erase(s.begin(), std::find_if(s.begin(), s.end(), not_space));
  s.erase(std::find_if(s.rbegin(), s.rend(), not_space).base(), s.end());
  return s;
}

size_t write_header(char* data, size_t size, size_t count, void* user) {
  auto* headers = static_cast<std::map<std::string, std::string>*>(user);
  std::string line(data, size * count);
  // A new status line (after a redirect or 100 Continue) starts a new header block.
  if (line.rfind("HTTP/", 0) == 0) {
    headers->clear();
    return size * count;
  }
  auto colon = line.find(':');
  if (colon != std::string::npos) {
    std::string name = line.substr(0, colon);
    std::transform(name.begin(), name.end(), name.begin(),
                   [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
    (*headers)[trim(name)] = trim(line.substr(colon + 1));
  }
  return size * count;
}

} // namespace

CurlHttpClient::CurlHttpClient() { init_curl_once(); }

Result<HttpResponse> CurlHttpClient::send(const HttpRequest& request) {
  init_curl_once();
  const std::string what = request.method + " " + request.url;
  if (g_curl_init_result != CURLE_OK) {
    return fail(what + ": libcurl initialisation failed: " +
                curl_easy_strerror(g_curl_init_result));
  }
  std::unique_ptr<CURL, EasyFree> curl(curl_easy_init());
  if (!curl) {
    return fail(what + ": cannot create a libcurl handle");
  }
  CURL* h = curl.get();
  HttpResponse response;
  std::array<char, CURL_ERROR_SIZE> error_buffer{};

  curl_easy_setopt(h, CURLOPT_ERRORBUFFER, error_buffer.data());
  curl_easy_setopt(h, CURLOPT_URL, request.url.c_str());
  curl_easy_setopt(h, CURLOPT_NOSIGNAL, 1L);
  curl_easy_setopt(h, CURLOPT_PROTOCOLS_STR, "http,https");
  curl_easy_setopt(h, CURLOPT_WRITEFUNCTION, &write_body);
  curl_easy_setopt(h, CURLOPT_WRITEDATA, &response.body);
  curl_easy_setopt(h, CURLOPT_HEADERFUNCTION, &write_header);
  curl_easy_setopt(h, CURLOPT_HEADERDATA, &response.headers);
  long timeout = request.timeout_seconds > 0 ? request.timeout_seconds : 10;
  curl_easy_setopt(h, CURLOPT_TIMEOUT, timeout);
  curl_easy_setopt(h, CURLOPT_CONNECTTIMEOUT, timeout);

  if (request.proxy == ProxyUse::direct) {
    // An empty proxy string disables every proxy, including the environment's.
    curl_easy_setopt(h, CURLOPT_PROXY, "");
  }

  if (request.method == "GET") {
    curl_easy_setopt(h, CURLOPT_HTTPGET, 1L);
  } else if (request.method == "HEAD") {
    curl_easy_setopt(h, CURLOPT_NOBODY, 1L);
  } else {
    curl_easy_setopt(h, CURLOPT_CUSTOMREQUEST, request.method.c_str());
  }
  if (!request.body.empty() || request.method == "POST" || request.method == "PUT" ||
      request.method == "PATCH") {
    curl_easy_setopt(h, CURLOPT_POSTFIELDS, request.body.data());
    curl_easy_setopt(h, CURLOPT_POSTFIELDSIZE_LARGE,
                     static_cast<curl_off_t>(request.body.size()));
  }

  std::unique_ptr<curl_slist, SlistFree> headers;
  for (const auto& [name, value] : request.headers) {
    std::string line = name + ": " + value;
    curl_slist* next = curl_slist_append(headers.get(), line.c_str());
    if (next == nullptr) {
      return fail(what + ": out of memory building headers");
    }
    headers.release();
    headers.reset(next);
  }
  if (headers) {
    curl_easy_setopt(h, CURLOPT_HTTPHEADER, headers.get());
  }

  // Verification is always on; a CA path narrows trust to that CA.
  curl_easy_setopt(h, CURLOPT_SSL_VERIFYPEER, 1L);
  curl_easy_setopt(h, CURLOPT_SSL_VERIFYHOST, 2L);
  if (!request.ca_cert_path.empty()) {
    curl_easy_setopt(h, CURLOPT_CAINFO, request.ca_cert_path.c_str());
    curl_easy_setopt(h, CURLOPT_CAPATH, nullptr);
  }
  if (!request.client_cert_path.empty()) {
    curl_easy_setopt(h, CURLOPT_SSLCERT, request.client_cert_path.c_str());
    curl_easy_setopt(h, CURLOPT_SSLCERTTYPE, "PEM");
  }
  if (!request.client_key_path.empty()) {
    curl_easy_setopt(h, CURLOPT_SSLKEY, request.client_key_path.c_str());
    curl_easy_setopt(h, CURLOPT_SSLKEYTYPE, "PEM");
  }

  CURLcode rc = curl_easy_perform(h);
  if (rc != CURLE_OK) {
    std::string text = error_buffer[0] != '\0' ? std::string(error_buffer.data())
                                               : std::string(curl_easy_strerror(rc));
    ErrorKind kind = rc == CURLE_OPERATION_TIMEDOUT ? ErrorKind::timeout : ErrorKind::generic;
    return fail(kind, what + ": " + text);
  }
  long status = 0;
  curl_easy_getinfo(h, CURLINFO_RESPONSE_CODE, &status);
  response.status = static_cast<int>(status);
  return response;
}

} // namespace dm
