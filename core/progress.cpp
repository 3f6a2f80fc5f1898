#include "core/progress.h"

#include <array>
#include <atomic>
#include <cstdlib>
#include <ctime>
#include <fmt/format.h>
#include <ostream>
#include <unistd.h>

namespace dm {

namespace {

constexpr auto k_tick = std::chrono::milliseconds(200);
constexpr std::array<const char*, 4> k_spinner = {"-", "\\", "|", "/"};

std::string timestamp() {
  std::time_t now = std::time(nullptr);
  std::tm local{};
  localtime_r(&now, &local);
  char text[16];
  std::strftime(text, sizeof(text), "%H:%M:%S", &local);
  return text;
}

std::string painted(ProgressColor color, const char* sgr, const char* text) {
  return color == ProgressColor::on ? fmt::format("\033[{}m{}\033[0m", sgr, text) : text;
}

} // namespace

Progress::Progress(std::ostream& out, ProgressStyle style, std::string prefix,
                   ProgressTicker ticker, ProgressColor color)
    : m_out(out), m_style(style), m_color(style == ProgressStyle::live ? color : ProgressColor::off),
      m_prefix(std::move(prefix)) {
  if (m_style == ProgressStyle::live && ticker == ProgressTicker::on) {
    m_ticker = std::thread([this] { tick_loop(); });
  }
}

Progress::Progress(Progress& parent, std::string prefix)
    : m_out(parent.m_out), m_parent(&parent), m_style(parent.m_style), m_color(parent.m_color),
      m_prefix(std::move(prefix)) {}

Progress::~Progress() {
  {
    std::lock_guard lock(m_mutex);
    m_stopping = true;
  }
  m_wake.notify_all();
  if (m_ticker.joinable()) {
    m_ticker.join();
  }
}

void Progress::tick_loop() {
  std::unique_lock lock(m_mutex);
  while (!m_stopping) {
    m_wake.wait_for(lock, k_tick);
    if (!m_stopping && !m_current.empty()) {
      ++m_frame;
      draw_live();
    }
  }
}

void Progress::draw_live() {
  auto elapsed = std::chrono::duration_cast<std::chrono::seconds>(
                     std::chrono::steady_clock::now() - m_started)
                     .count();
  std::string line = fmt::format("\r\033[K  {} {}{}", k_spinner[m_frame % k_spinner.size()],
                                 m_prefix, m_current);
  if (!m_detail.empty()) {
    line += ": " + m_detail;
  }
  if (elapsed > 0) {
    line += fmt::format(" ({}s)", elapsed);
  }
  m_out << line << std::flush;
}

void Progress::write_plain(const std::string& line) {
  // Another Progress may own a live line on the same stream (a cluster's nodes under the
  // command's line): the line then goes above it instead of into it.
  Progress* live = active_live_progress();
  if (live != nullptr && live != this && &live->m_out == &m_out) {
    live->note(line);
    return;
  }
  m_out << line << "\n" << std::flush;
}

void Progress::step(const std::string& name) {
  if (!m_current.empty()) {
    done();
  }
  std::lock_guard lock(m_mutex);
  m_current = name;
  m_detail.clear();
  m_frame = 0;
  m_started = std::chrono::steady_clock::now();
  if (m_parent != nullptr && m_style == ProgressStyle::live) {
    m_parent->update(m_prefix + name);
  } else if (m_style == ProgressStyle::live) {
    draw_live();
  }
}

void Progress::finish(bool ok) {
  std::lock_guard lock(m_mutex);
  if (m_current.empty()) {
    return;
  }
  double seconds =
      std::chrono::duration<double>(std::chrono::steady_clock::now() - m_started).count();
  if (m_parent != nullptr && m_style == ProgressStyle::live) {
    std::string mark = ok ? painted(m_color, "32", "ok") : painted(m_color, "31", "!!");
    std::string line = fmt::format("    {} {}{} ({:.1f}s)", mark, m_prefix, m_current, seconds);
    m_current.clear();
    m_detail.clear();
    m_parent->update("");
    m_parent->note(line); // the parent's mutex, not ours, guards the shared line
    return;
  }
  if (m_style == ProgressStyle::live) {
    std::string mark = ok ? painted(m_color, "32", "ok") : painted(m_color, "31", "!!");
    m_out << fmt::format("\r\033[K  {} {}{} ({:.1f}s)\n", mark, m_prefix, m_current, seconds);
  } else {
    write_plain(fmt::format("[{}] {}{}: {} ({:.1f}s)", timestamp(), m_prefix, m_current,
                            ok ? "done" : "failed", seconds));
  }
  m_out << std::flush;
  m_current.clear();
  m_detail.clear();
}

void Progress::done() { finish(true); }

void Progress::failed() { finish(false); }

void Progress::note(const std::string& text) {
  if (m_parent != nullptr && m_style == ProgressStyle::live) {
    m_parent->note(text);
    return;
  }
  std::lock_guard lock(m_mutex);
  if (m_style == ProgressStyle::live) {
    m_out << "\r\033[K" << text << "\n" << std::flush;
    if (!m_current.empty()) {
      draw_live();
    }
  } else {
    write_plain(fmt::format("[{}] {}{}", timestamp(), m_prefix, text));
  }
}

void Progress::update(const std::string& detail) {
  if (m_parent != nullptr) {
    if (m_style == ProgressStyle::live && !m_current.empty()) {
      m_parent->update(m_prefix + m_current + (detail.empty() ? "" : ": " + detail));
    }
    return;
  }
  std::lock_guard lock(m_mutex);
  if (m_style == ProgressStyle::live && !m_current.empty()) {
    m_detail = detail;
    draw_live();
  }
}

ProgressStyle progress_style_for_stderr() {
  const char* term = std::getenv("TERM");
  bool dumb = term == nullptr || std::string(term) == "dumb";
  return isatty(STDERR_FILENO) != 0 && !dumb ? ProgressStyle::live : ProgressStyle::plain;
}

ProgressColor progress_color(ProgressStyle style, const char* no_color_env) {
  bool refused = no_color_env != nullptr && *no_color_env != '\0';
  return style == ProgressStyle::live && !refused ? ProgressColor::on : ProgressColor::off;
}

namespace {
std::atomic<Progress*> g_active_live{nullptr};
} // namespace

StderrProgress::StderrProgress(std::ostream& err, std::string prefix)
    : Progress(err, progress_style_for_stderr(), std::move(prefix), ProgressTicker::on,
               progress_color(progress_style_for_stderr(), std::getenv("NO_COLOR"))) {
  if (style() == ProgressStyle::live) {
    Progress* none = nullptr;
    g_active_live.compare_exchange_strong(none, this);
  }
}

StderrProgress::~StderrProgress() {
  Progress* self = this;
  g_active_live.compare_exchange_strong(self, nullptr);
}

Progress* active_live_progress() { return g_active_live.load(); }

Result<void> run_step(Progress& progress, const std::string& name,
                      const std::function<Result<void>()>& body) {
  progress.step(name);
  auto result = body();
  if (!result) {
    progress.failed();
    return fail(result.error().with_context(name));
  }
  progress.done();
  return {};
}

} // namespace dm
