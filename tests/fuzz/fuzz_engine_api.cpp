// Answers of a machine's Docker engine (untrusted: the remote host controls them),
// fed through the recording fake HTTP client to every function that reads them:
// none aborts. Input: one status byte (mostly 200), then the body; a JSON body is also
// tried with one value at a time of another type (fuzz_support.h).
#include "core/engine_api.h"
#include "tests/fakes/recording_http_client.h"
#include "tests/fuzz/fuzz_support.h"

namespace {

int status_from(uint8_t byte) {
  constexpr int k_statuses[] = {200, 200, 200, 200, 201, 204, 304, 400, 404, 409, 500, 503};
  return k_statuses[byte % (sizeof k_statuses / sizeof k_statuses[0])];
}

} // namespace

namespace {

void check_answer(int status, const std::string& body) {
  const dm::EngineEndpoint endpoint{"tcp://10.0.0.2:2376", "ca.pem", "cert.pem", "key.pem"};
  dm::testing::RecordingHttpClient http;
  for (int i = 0; i < 5; ++i) {
    http.push_response(status, body);
  }
  (void)dm::engine_ping(http, endpoint, 1);
  auto version = dm::engine_version(http, endpoint, 1);
  if (version) {
    dm::fuzz::check(status >= 200 && status <= 299, "a version only from a 2xx answer");
  }
  (void)dm::engine_get(http, endpoint, "/info", 1);
  (void)dm::engine_post(http, endpoint, "/swarm/init", nlohmann::json::object(), 1);
  (void)dm::engine_delete(http, endpoint, "/nodes/x", 1);
}

} // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (size == 0) {
    return 0;
  }
  const int status = status_from(data[0]);
  const std::string body = dm::fuzz::as_text(data + 1, size - 1);
  check_answer(status, body);
  dm::fuzz::with_retyped_values(body, [&](const std::string& variant) { check_answer(status, variant); });
  return 0;
}
