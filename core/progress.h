#pragma once
// Progress of a multi-step operation on stderr: one line per step with its
// duration; a live line on a terminal, plain timestamped lines otherwise.
#include "core/result.h"

#include <chrono>
#include <functional>
#include <iosfwd>
#include <string>

namespace dm {

enum class ProgressStyle { plain, live };

class Progress {
public:
  Progress(std::ostream& out, ProgressStyle style, std::string prefix = "");
  // Ends the previous step (if any) and starts this one.
  void step(const std::string& name);
  // Ends the current step as done / failed.
  void done();
  void failed();
  // A line of its own (not a step).
  void note(const std::string& text);
  // Live style: redraws the current step's line with detail after its name (a download's
  // percent and speed); plain style: nothing (plain output reports with note()).
  void update(const std::string& detail);
  [[nodiscard]] ProgressStyle style() const { return m_style; }

private:
  void finish(const char* mark, const char* word);

  std::ostream& m_out;
  ProgressStyle m_style;
  std::string m_prefix;
  std::string m_current;
  std::chrono::steady_clock::time_point m_started;
};

// live when fd 2 is a terminal and TERM is not "dumb".
ProgressStyle progress_style_for_stderr();

// Runs one named step: shows it, runs body, marks it done or failed; a failure
// comes back with the step's name in front.
Result<void> run_step(Progress& progress, const std::string& name,
                      const std::function<Result<void>()>& body);

} // namespace dm
