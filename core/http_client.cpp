#include "core/http_client.h"

#include <algorithm>
#include <deque>

namespace dm {

namespace {

// Requests run one at a time, in order, when wait() is called: enough for fakes
// that answer at once; the real client overrides batch() with an event loop.
class SequentialBatch final : public HttpBatch {
public:
  explicit SequentialBatch(HttpClient& client) : m_client(client) {}

  Id start(const HttpRequest& request) override {
    m_queue.emplace_back(m_next_id, request);
    return m_next_id++;
  }

  void cancel(Id id) override {
    std::erase_if(m_queue, [id](const auto& queued) { return queued.first == id; });
  }

  Finished wait(Clock::time_point /*until*/) override {
    Finished finished;
    if (!m_queue.empty()) {
      auto [id, request] = std::move(m_queue.front());
      m_queue.pop_front();
      finished.emplace_back(id, m_client.send(request));
    }
    return finished;
  }

  [[nodiscard]] std::size_t in_flight() const override { return m_queue.size(); }

private:
  HttpClient& m_client;
  std::deque<std::pair<Id, HttpRequest>> m_queue;
  Id m_next_id = 0;
};

} // namespace

std::unique_ptr<HttpBatch> HttpClient::batch() { return std::make_unique<SequentialBatch>(*this); }

} // namespace dm
