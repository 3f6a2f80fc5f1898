#pragma once
// Progress of a long byte transfer (an image download or hash) on a Progress: a live
// line (percent, MB/s, ETA) at most 5 times a second on a terminal, else a line per 10%.
#include "core/progress.h"

#include <chrono>
#include <cstdint>
#include <string>

namespace dm::vm {

// "42% of 350.2 MB, 35.1 MB/s, ETA 0:07"; without a total: "120.0 MB, 35.1 MB/s".
std::string format_transfer(std::uint64_t done, std::uint64_t total, double bytes_per_second);

class TransferMeter {
public:
  // verb names the work ("downloading"); plain lines, which have no step line around them,
  // also name its subject ("downloading disk.qcow2: 10% of ...").
  TransferMeter(Progress& progress, std::string verb, const std::string& subject = "");
  // done bytes are already there (a resumed download); total 0 = unknown.
  void start(std::uint64_t done, std::uint64_t total);
  void update(std::uint64_t done);

private:
  using Clock = std::chrono::steady_clock;
  Progress& m_progress;
  std::string m_verb;
  std::string m_plain_verb;
  std::uint64_t m_start_bytes = 0;
  std::uint64_t m_total = 0;
  std::uint64_t m_next_plain = 0; // the byte count of the next plain line
  Clock::time_point m_started;
  Clock::time_point m_last_live;
};

} // namespace dm::vm
