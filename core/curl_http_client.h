#pragma once
// HttpClient over libcurl: one easy handle per request; with a CA path the peer and host name
// are always verified (never disabled); transport and TLS failures are errors naming the URL.
#include "core/http_client.h"

namespace dm {

class CurlHttpClient final : public HttpClient {
public:
  CurlHttpClient();
  Result<HttpResponse> send(const HttpRequest& request) override;
  // curl's multi interface: every request of the batch on one event loop.
  std::unique_ptr<HttpBatch> batch() override;
};

} // namespace dm
