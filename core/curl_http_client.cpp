#include "core/curl_http_client.h"

#include "core/debug_log.h"
#include "core/transport_error.h"

#include "core/interrupt.h"

#include <curl/curl.h>

#include <algorithm>
#include <array>
#include <fmt/format.h>
#include <cctype>
#include <cerrno>
#include <cstdint>
#include <string_view>
#include <map>
#include <memory>
#include <mutex>
#include <sys/resource.h>

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

// Ctrl-C ends a transfer within about a second instead of after its timeout: libcurl calls
// this at least once a second, also while it waits for an answer.
int abort_on_interrupt(void* /*user*/, curl_off_t /*dltotal*/, curl_off_t /*dlnow*/,
                       curl_off_t /*ultotal*/, curl_off_t /*ulnow*/) {
  return interrupted() ? 1 : 0;
}

// One request's handle and everything it points to while it runs.
struct Transfer {
  std::unique_ptr<CURL, EasyFree> easy;
  std::unique_ptr<curl_slist, SlistFree> headers;
  std::array<char, CURL_ERROR_SIZE> error_buffer{};
  HttpResponse response;
  std::string what; // "GET https://..." for messages
  HttpRequest::ConnectOnly connect_only = HttpRequest::ConnectOnly::no;
  HttpBodySink* sink = nullptr;
  bool sink_begun = false;
  Result<void> sink_result; // the sink's error that stopped the transfer
};

// What a response that bypasses the sink (an error page) keeps of its body.
constexpr std::size_t k_unsunk_body_limit = 64 * 1024;

bool is_success(long status) { return status >= 200 && status < 300; }

// Hands a 2xx body to the sink (begin() once first); returns false when the sink failed.
bool feed_sink(Transfer& transfer, std::string_view chunk) {
  if (!transfer.sink_begun) {
    transfer.sink_begun = true;
    transfer.sink_result =
        transfer.sink->begin(transfer.response.status, transfer.response.headers);
    if (!transfer.sink_result) {
      return false;
    }
  }
  if (!chunk.empty()) {
    transfer.sink_result = transfer.sink->write(chunk);
  }
  return static_cast<bool>(transfer.sink_result);
}

size_t write_body(char* data, size_t size, size_t count, void* user) {
  auto* transfer = static_cast<Transfer*>(user);
  std::size_t bytes = size * count;
  if (transfer->sink == nullptr) {
    transfer->response.body.append(data, bytes);
    return bytes;
  }
  long status = 0;
  curl_easy_getinfo(transfer->easy.get(), CURLINFO_RESPONSE_CODE, &status);
  transfer->response.status = static_cast<int>(status);
  if (is_success(status)) {
    return feed_sink(*transfer, std::string_view(data, bytes)) ? bytes : 0;
  }
  std::string& body = transfer->response.body;
  std::size_t room = k_unsunk_body_limit - std::min(body.size(), k_unsunk_body_limit);
  body.append(data, std::min(bytes, room));
  return bytes;
}

Result<std::unique_ptr<Transfer>> make_transfer(const HttpRequest& request) {
  init_curl_once();
  auto transfer = std::make_unique<Transfer>();
  transfer->what = request.connect_only == HttpRequest::ConnectOnly::yes
                       ? "connect to " + request.url
                       : request.method + " " + request.url;
  transfer->connect_only = request.connect_only;
  const std::string& what = transfer->what;
  if (g_curl_init_result != CURLE_OK) {
    return fail(what + ": libcurl initialisation failed: " +
                curl_easy_strerror(g_curl_init_result));
  }
  transfer->easy.reset(curl_easy_init());
  if (!transfer->easy) {
    return fail(what + ": cannot create a libcurl handle");
  }
  CURL* h = transfer->easy.get();

  curl_easy_setopt(h, CURLOPT_ERRORBUFFER, transfer->error_buffer.data());
  curl_easy_setopt(h, CURLOPT_URL, request.url.c_str());
  curl_easy_setopt(h, CURLOPT_NOSIGNAL, 1L);
  curl_easy_setopt(h, CURLOPT_PROTOCOLS_STR, "http,https");
  transfer->sink = request.body_sink;
  curl_easy_setopt(h, CURLOPT_WRITEFUNCTION, &write_body);
  curl_easy_setopt(h, CURLOPT_WRITEDATA, transfer.get());
  curl_easy_setopt(h, CURLOPT_HEADERFUNCTION, &write_header);
  curl_easy_setopt(h, CURLOPT_HEADERDATA, &transfer->response.headers);
  long timeout_ms = request.timeout_ms > 0
                        ? request.timeout_ms
                        : 1000L * (request.timeout_seconds > 0 ? request.timeout_seconds : 10);
  if (request.stall_timeout_seconds > 0) {
    // A big download has no fair total deadline; a stalled one still ends.
    curl_easy_setopt(h, CURLOPT_TIMEOUT_MS, 0L);
    curl_easy_setopt(h, CURLOPT_LOW_SPEED_LIMIT, 1024L);
    curl_easy_setopt(h, CURLOPT_LOW_SPEED_TIME, static_cast<long>(request.stall_timeout_seconds));
  } else {
    curl_easy_setopt(h, CURLOPT_TIMEOUT_MS, timeout_ms);
  }
  if (request.redirects == HttpRequest::Redirects::follow) {
    curl_easy_setopt(h, CURLOPT_FOLLOWLOCATION, 1L);
    curl_easy_setopt(h, CURLOPT_MAXREDIRS, 5L);
    // Never from https down to plain http.
    auto same_letter = [](char a, char b) {
      return std::tolower(static_cast<unsigned char>(a)) == b;
    };
    bool secure = request.url.size() >= 8 &&
                  std::equal(request.url.begin(), request.url.begin() + 8, "https://", same_letter);
    curl_easy_setopt(h, CURLOPT_REDIR_PROTOCOLS_STR, secure ? "https" : "http,https");
  }
  curl_easy_setopt(h, CURLOPT_CONNECTTIMEOUT_MS,
                   request.connect_timeout_ms > 0 ? static_cast<long>(request.connect_timeout_ms)
                                                  : timeout_ms);
  curl_easy_setopt(h, CURLOPT_XFERINFOFUNCTION, &abort_on_interrupt);
  curl_easy_setopt(h, CURLOPT_NOPROGRESS, 0L);
  if (request.proxy == ProxyUse::direct) {
    // An empty proxy string disables every proxy, including the environment's.
    curl_easy_setopt(h, CURLOPT_PROXY, "");
  }
  if (request.connect_only == HttpRequest::ConnectOnly::yes) {
    curl_easy_setopt(h, CURLOPT_CONNECT_ONLY, 1L);
    return transfer;
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
    // COPYPOSTFIELDS: the batch outlives the caller's request object.
    curl_easy_setopt(h, CURLOPT_POSTFIELDSIZE_LARGE,
                     static_cast<curl_off_t>(request.body.size()));
    curl_easy_setopt(h, CURLOPT_COPYPOSTFIELDS, request.body.data());
  }

  for (const auto& [name, value] : request.headers) {
    std::string line = name + ": " + value;
    curl_slist* next = curl_slist_append(transfer->headers.get(), line.c_str());
    if (next == nullptr) {
      return fail(what + ": out of memory building headers");
    }
    transfer->headers.release();
    transfer->headers.reset(next);
  }
  if (transfer->headers) {
    curl_easy_setopt(h, CURLOPT_HTTPHEADER, transfer->headers.get());
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
  return transfer;
}

Result<HttpResponse> transfer_outcome(Transfer& transfer, CURLcode rc);

// The outcome of a finished transfer: the response, or an error naming what failed.
Result<HttpResponse> finish_transfer(Transfer& transfer, CURLcode rc) {
  auto outcome = transfer_outcome(transfer, rc);
  if (debug_enabled()) {
    double seconds = 0;
    curl_easy_getinfo(transfer.easy.get(), CURLINFO_TOTAL_TIME, &seconds);
    debug_log("http", fmt::format("{} -> {} in {} ms", transfer.what,
                                  outcome ? std::to_string(outcome->status)
                                          : "error: " + outcome.error().message,
                                  static_cast<long>(seconds * 1000)));
  }
  return outcome;
}

Result<HttpResponse> transfer_outcome(Transfer& transfer, CURLcode rc) {
  CURL* h = transfer.easy.get();
  if (rc == CURLE_ABORTED_BY_CALLBACK) {
    return fail(ErrorKind::interrupted, transfer.what + ": interrupted");
  }
  if (rc == CURLE_WRITE_ERROR && !transfer.sink_result) {
    return fail(transfer.sink_result.error().with_context(transfer.what));
  }
  if (rc != CURLE_OK) {
    long os_errno = 0;
    curl_easy_getinfo(h, CURLINFO_OS_ERRNO, &os_errno);
    std::string text = transfer.error_buffer[0] != '\0'
                           ? std::string(transfer.error_buffer.data())
                           : std::string(curl_easy_strerror(rc));
    // curl says "Couldn't connect to server" for a refusal; say it plainly.
    if (rc == CURLE_COULDNT_CONNECT && os_errno == ECONNREFUSED) {
      text = std::string(k_connection_refused);
    } else if (rc == CURLE_COULDNT_CONNECT && (os_errno == EHOSTUNREACH || os_errno == ENETUNREACH)) {
      text = std::string(k_host_unreachable);
    }
    ErrorKind kind = rc == CURLE_OPERATION_TIMEDOUT ? ErrorKind::timeout : ErrorKind::generic;
    return fail(kind, transfer.what + ": " + text);
  }
  if (transfer.connect_only == HttpRequest::ConnectOnly::yes) {
    return HttpResponse{};
  }
  long status = 0;
  curl_easy_getinfo(h, CURLINFO_RESPONSE_CODE, &status);
  transfer.response.status = static_cast<int>(status);
  if (transfer.sink != nullptr && is_success(status) && !feed_sink(transfer, {})) {
    return fail(transfer.sink_result.error().with_context(transfer.what));
  }
  return std::move(transfer.response);
}

// A batch holds a socket per machine: lift the soft descriptor limit (often
// 1024) to the hard one, so a store of thousands of machines does not run out.
void raise_descriptor_limit() {
  rlimit limit{};
  if (getrlimit(RLIMIT_NOFILE, &limit) == 0 && limit.rlim_cur < limit.rlim_max) {
    limit.rlim_cur = limit.rlim_max;
    setrlimit(RLIMIT_NOFILE, &limit);
  }
}

struct MultiFree {
  void operator()(CURLM* p) const { curl_multi_cleanup(p); }
};

// Every request of the batch on one curl multi handle, driven by curl_multi_poll.
class CurlBatch final : public HttpBatch {
public:
  CurlBatch() : m_multi(curl_multi_init()) { raise_descriptor_limit(); }
  CurlBatch(const CurlBatch&) = delete;
  CurlBatch& operator=(const CurlBatch&) = delete;
  ~CurlBatch() override {
    for (auto& [id, transfer] : m_running) {
      curl_multi_remove_handle(m_multi.get(), transfer->easy.get());
    }
  }

  Id start(const HttpRequest& request) override {
    Id id = m_next_id++;
    auto transfer = make_transfer(request);
    if (!transfer) {
      m_failed.emplace_back(id, fail(transfer.error()));
      return id;
    }
    if (!m_multi) {
      m_failed.emplace_back(id, fail((*transfer)->what + ": cannot create a libcurl multi handle"));
      return id;
    }
    curl_easy_setopt((*transfer)->easy.get(), CURLOPT_PRIVATE, reinterpret_cast<void*>(id));
    curl_multi_add_handle(m_multi.get(), (*transfer)->easy.get());
    m_running.emplace(id, std::move(*transfer));
    return id;
  }

  void cancel(Id id) override {
    auto found = m_running.find(id);
    if (found != m_running.end()) {
      curl_multi_remove_handle(m_multi.get(), found->second->easy.get());
      m_running.erase(found);
    }
    std::erase_if(m_failed, [id](const auto& failed) { return failed.first == id; });
  }

  Finished wait(Clock::time_point until) override {
    Finished finished;
    finished.swap(m_failed);
    while (finished.empty() && !m_running.empty()) {
      int still_running = 0;
      curl_multi_perform(m_multi.get(), &still_running);
      collect(finished);
      auto left = std::chrono::duration_cast<std::chrono::milliseconds>(until - Clock::now());
      if (!finished.empty() || left.count() <= 0) {
        break;
      }
      int ready = 0;
      curl_multi_poll(m_multi.get(), nullptr, 0, static_cast<int>(std::min<long>(left.count(), 1000)),
                      &ready);
    }
    return finished;
  }

  [[nodiscard]] std::size_t in_flight() const override {
    return m_running.size() + m_failed.size();
  }

private:
  void collect(Finished& finished) {
    int queued = 0;
    while (CURLMsg* message = curl_multi_info_read(m_multi.get(), &queued)) {
      if (message->msg != CURLMSG_DONE) {
        continue;
      }
      void* cookie = nullptr;
      curl_easy_getinfo(message->easy_handle, CURLINFO_PRIVATE, &cookie);
      auto id = static_cast<Id>(reinterpret_cast<std::uintptr_t>(cookie));
      CURLcode rc = message->data.result;
      auto found = m_running.find(id);
      if (found == m_running.end()) {
        continue;
      }
      curl_multi_remove_handle(m_multi.get(), found->second->easy.get());
      finished.emplace_back(id, finish_transfer(*found->second, rc));
      m_running.erase(found);
    }
  }

  std::unique_ptr<CURLM, MultiFree> m_multi;
  std::map<Id, std::unique_ptr<Transfer>> m_running;
  Finished m_failed; // requests that could not start, returned by the next wait()
  Id m_next_id = 0;
};

} // namespace

CurlHttpClient::CurlHttpClient() { init_curl_once(); }

Result<HttpResponse> CurlHttpClient::send(const HttpRequest& request) {
  auto transfer = make_transfer(request);
  DM_TRY(transfer);
  CURLcode rc = curl_easy_perform((*transfer)->easy.get());
  return finish_transfer(**transfer, rc);
}

std::unique_ptr<HttpBatch> CurlHttpClient::batch() {
  init_curl_once();
  return std::make_unique<CurlBatch>();
}

} // namespace dm
