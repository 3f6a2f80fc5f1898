#include "tests/fakes/recording_http_client.h"

namespace dm::testing {

Result<HttpResponse> RecordingHttpClient::send(const HttpRequest& request) {
  m_requests.push_back(request);
  if (m_responses.empty()) {
    return fail(request.method + " " + request.url + ": no queued response in the fake");
  }
  Result<HttpResponse> next = std::move(m_responses.front());
  m_responses.pop_front();
  // As the real client: a 2xx body goes to the request's sink, not into the response.
  if (next && request.body_sink != nullptr && next->status >= 200 && next->status < 300) {
    DM_TRY(request.body_sink->begin(next->status, next->headers));
    if (!next->body.empty()) {
      DM_TRY(request.body_sink->write(next->body));
    }
    next->body.clear();
  }
  return next;
}

void RecordingHttpClient::push_response(int status, std::string body) {
  HttpResponse response;
  response.status = status;
  response.body = std::move(body);
  m_responses.emplace_back(std::move(response));
}

void RecordingHttpClient::push_error(Error error) {
  m_responses.emplace_back(tl::unexpected<Error>(std::move(error)));
}

} // namespace dm::testing
