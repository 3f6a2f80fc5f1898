#include "core/progress.h"

#include <cstdlib>
#include <ctime>
#include <fmt/format.h>
#include <ostream>
#include <unistd.h>

namespace dm {

namespace {

std::string timestamp() {
  std::time_t now = std::time(nullptr);
  std::tm local{};
  localtime_r(&now, &local);
  char text[16];
  std::strftime(text, sizeof(text), "%H:%M:%S", &local);
  return text;
}

} // namespace

Progress::Progress(std::ostream& out, ProgressStyle style, std::string prefix)
    : m_out(out), m_style(style), m_prefix(std::move(prefix)) {}

void Progress::step(const std::string& name) {
  if (!m_current.empty()) {
    done();
  }
  m_current = name;
  m_started = std::chrono::steady_clock::now();
  if (m_style == ProgressStyle::live) {
    m_out << fmt::format("\r\033[K  ... {}{}", m_prefix, name) << std::flush;
  }
}

void Progress::finish(const char* mark, const char* word) {
  if (m_current.empty()) {
    return;
  }
  double seconds =
      std::chrono::duration<double>(std::chrono::steady_clock::now() - m_started).count();
  if (m_style == ProgressStyle::live) {
    m_out << fmt::format("\r\033[K  {} {}{} ({:.1f}s)\n", mark, m_prefix, m_current, seconds);
  } else {
    m_out << fmt::format("[{}] {}{}: {} ({:.1f}s)\n", timestamp(), m_prefix, m_current, word,
                         seconds);
  }
  m_out << std::flush;
  m_current.clear();
}

void Progress::done() { finish("ok", "done"); }

void Progress::failed() { finish("!!", "failed"); }

void Progress::note(const std::string& text) {
  if (m_style == ProgressStyle::live) {
    m_out << "\r\033[K" << text << "\n" << std::flush;
  } else {
    m_out << fmt::format("[{}] {}{}\n", timestamp(), m_prefix, text) << std::flush;
  }
}

void Progress::update(const std::string& detail) {
  if (m_style == ProgressStyle::live && !m_current.empty()) {
    m_out << fmt::format("\r\033[K  ... {}{}: {}", m_prefix, m_current, detail) << std::flush;
  }
}

ProgressStyle progress_style_for_stderr() {
  const char* term = std::getenv("TERM");
  bool dumb = term == nullptr || std::string(term) == "dumb";
  return isatty(STDERR_FILENO) != 0 && !dumb ? ProgressStyle::live : ProgressStyle::plain;
}

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
