#pragma once
// A bounded pool: runs body(i) for i in [0, count) on at most max_workers threads
// and returns when all are done. Callers store results by index, so output
// order never depends on timing.
#include <cstddef>
#include <functional>

namespace dm {

void parallel_for(size_t count, size_t max_workers, const std::function<void(size_t)>& body);

} // namespace dm
