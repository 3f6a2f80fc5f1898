#include "drivers/vm/image_progress.h"

#include <algorithm>
#include <fmt/format.h>

namespace dm::vm {

namespace {

constexpr double k_megabyte = 1000.0 * 1000.0;
constexpr auto k_live_interval = std::chrono::milliseconds(200);
// Without a total, plain output reports every this many bytes.
constexpr std::uint64_t k_plain_step_unknown = 100 * 1000 * 1000;

std::string format_duration(double seconds) {
  auto total = static_cast<long long>(seconds + 0.5);
  if (total >= 3600) {
    return fmt::format("{}:{:02}:{:02}", total / 3600, total / 60 % 60, total % 60);
  }
  return fmt::format("{}:{:02}", total / 60, total % 60);
}

std::uint64_t plain_step(std::uint64_t total) {
  return total > 0 ? std::max<std::uint64_t>(total / 10, 1) : k_plain_step_unknown;
}

} // namespace

std::string format_transfer(std::uint64_t done, std::uint64_t total, double bytes_per_second) {
  std::string rate = bytes_per_second > 0
                         ? fmt::format(", {:.1f} MB/s", bytes_per_second / k_megabyte)
                         : std::string();
  if (total == 0) {
    return fmt::format("{:.1f} MB{}", static_cast<double>(done) / k_megabyte, rate);
  }
  auto percent = static_cast<int>(100.0 * static_cast<double>(std::min(done, total)) /
                                  static_cast<double>(total));
  std::string eta;
  if (bytes_per_second > 0 && done < total) {
    eta = ", ETA " + format_duration(static_cast<double>(total - done) / bytes_per_second);
  }
  return fmt::format("{}% of {:.1f} MB{}{}", percent, static_cast<double>(total) / k_megabyte, rate,
                     eta);
}

TransferMeter::TransferMeter(Progress& progress, std::string verb, const std::string& subject)
    : m_progress(progress), m_verb(std::move(verb)),
      m_plain_verb(subject.empty() ? m_verb : m_verb + " " + subject) {}

void TransferMeter::start(std::uint64_t done, std::uint64_t total) {
  m_start_bytes = done;
  m_total = total;
  m_started = Clock::now();
  m_last_live = Clock::time_point{};
  std::uint64_t step = plain_step(total);
  m_next_plain = (done / step + 1) * step;
  if (m_progress.style() == ProgressStyle::live) {
    m_progress.update(m_verb + " " + format_transfer(done, total, 0));
  }
}

void TransferMeter::update(std::uint64_t done) {
  auto now = Clock::now();
  double seconds = std::chrono::duration<double>(now - m_started).count();
  double rate =
      seconds > 0.05 ? static_cast<double>(done - std::min(done, m_start_bytes)) / seconds : 0.0;
  if (m_progress.style() == ProgressStyle::live) {
    if (now - m_last_live >= k_live_interval || (m_total > 0 && done >= m_total)) {
      m_last_live = now;
      m_progress.update(m_verb + " " + format_transfer(done, m_total, rate));
    }
    return;
  }
  if (done >= m_next_plain) {
    std::uint64_t step = plain_step(m_total);
    m_next_plain = (done / step + 1) * step;
    m_progress.note(m_plain_verb + ": " + format_transfer(done, m_total, rate));
  }
}

} // namespace dm::vm
