#include "core/parallel.h"

#include <algorithm>
#include <atomic>
#include <thread>
#include <vector>

namespace dm {

void parallel_for(size_t count, size_t max_workers, const std::function<void(size_t)>& body) {
  size_t workers = std::min(count, std::max<size_t>(1, max_workers));
  if (workers <= 1) {
    for (size_t i = 0; i < count; ++i) {
      body(i);
    }
    return;
  }
  std::atomic<size_t> next{0};
  std::vector<std::thread> threads;
  threads.reserve(workers);
  for (size_t w = 0; w < workers; ++w) {
    threads.emplace_back([&] {
      for (size_t i = next.fetch_add(1); i < count; i = next.fetch_add(1)) {
        body(i);
      }
    });
  }
  for (auto& thread : threads) {
    thread.join();
  }
}

} // namespace dm
