#pragma once
// A fake HttpClient for tests: records every request and answers from a queue
// (an empty queue answers with a transport error); 2xx bodies go to a request's body_sink.
#include "core/http_client.h"

#include <deque>
#include <vector>

namespace dm::testing {

class RecordingHttpClient final : public HttpClient {
public:
  Result<HttpResponse> send(const HttpRequest& request) override;

  void push_response(int status, std::string body);
  void push_error(Error error);

  const std::vector<HttpRequest>& requests() const { return m_requests; }

private:
  std::vector<HttpRequest> m_requests;
  std::deque<Result<HttpResponse>> m_responses;
};

} // namespace dm::testing
