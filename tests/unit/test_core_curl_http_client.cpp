// The streaming side of CurlHttpClient against a real HTTP server on 127.0.0.1.
#include "core/curl_http_client.h"
#include "tests/fakes/loopback_http_server.h"

#include <catch2/catch.hpp>

using namespace dm;
using dm::testing::LoopbackHttpServer;

namespace {

// Records what it is given; fails on the write that would pass fail_after bytes.
class RecordingSink final : public HttpBodySink {
public:
  Result<void> begin(int code, const std::map<std::string, std::string>& headers) override {
    ++begins;
    status = code;
    length = headers.count("content-length") != 0 ? headers.at("content-length") : "";
    return {};
  }
  Result<void> write(std::string_view chunk) override {
    if (body.size() + chunk.size() > fail_after) {
      return fail("disk full (test)");
    }
    body.append(chunk);
    return {};
  }
  int begins = 0;
  int status = 0;
  std::string length;
  std::string body;
  std::size_t fail_after = std::string::npos;
};

} // namespace

TEST_CASE("curl client: a 2xx body streams to the sink, an error page stays small",
          "[http][vm_image]") {
  LoopbackHttpServer server;
  std::string big(300'000, 'x');
  server.route("/ok", {.body = big});
  server.route("/empty", {.body = ""});
  server.route("/gone", {.status = 404, .body = big});
  CurlHttpClient http;

  RecordingSink sink;
  HttpRequest request;
  request.url = server.url("/ok");
  request.body_sink = &sink;
  request.stall_timeout_seconds = 5;
  auto ok = http.send(request);
  REQUIRE(ok);
  CHECK(ok->status == 200);
  CHECK(ok->body.empty());
  CHECK(sink.begins == 1);
  CHECK(sink.status == 200);
  CHECK(sink.length == "300000");
  CHECK(sink.body == big);

  RecordingSink empty_sink;
  request.url = server.url("/empty");
  request.body_sink = &empty_sink;
  auto empty = http.send(request);
  REQUIRE(empty);
  CHECK(empty_sink.begins == 1); // begin() also for an empty body

  RecordingSink unused;
  request.url = server.url("/gone");
  request.body_sink = &unused;
  auto gone = http.send(request);
  REQUIRE(gone);
  CHECK(gone->status == 404);
  CHECK(gone->body.size() == 64 * 1024);
  CHECK(unused.begins == 0);

  // Without a sink, nothing changed for the existing callers.
  HttpRequest plain;
  plain.url = server.url("/ok");
  auto whole = http.send(plain);
  REQUIRE(whole);
  CHECK(whole->body == big);
}

TEST_CASE("curl client: a sink's error ends the transfer and is what send returns",
          "[http][vm_image]") {
  LoopbackHttpServer server;
  server.route("/ok", {.body = std::string(1'000'000, 'y')});
  CurlHttpClient http;
  RecordingSink sink;
  sink.fail_after = 100'000;
  HttpRequest request;
  request.url = server.url("/ok");
  request.body_sink = &sink;
  auto result = http.send(request);
  REQUIRE_FALSE(result);
  CHECK(result.error().message == "GET " + server.url("/ok") + ": disk full (test)");
  CHECK(sink.body.size() <= 100'000);
}
