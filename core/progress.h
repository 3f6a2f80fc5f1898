#pragma once
// Progress of a multi-step operation on stderr: one line per step with its
// duration; a live line on a terminal (a spinner and the elapsed time, redrawn
// by a ticker thread), plain timestamped lines otherwise. NO_COLOR turns colour off.
#include "core/result.h"

#include <chrono>
#include <condition_variable>
#include <functional>
#include <iosfwd>
#include <mutex>
#include <string>
#include <thread>

namespace dm {

enum class ProgressStyle { plain, live };
// Whether a live Progress redraws its line by itself while a step runs.
enum class ProgressTicker { off, on };
enum class ProgressColor { off, on };

class Progress {
public:
  Progress(std::ostream& out, ProgressStyle style, std::string prefix = "",
           ProgressTicker ticker = ProgressTicker::off, ProgressColor color = ProgressColor::off);
  // Steps inside the parent's current step (a driver's steps inside "create machine"): on a
  // live line they show as the parent's detail and end as indented lines of their own; plain
  // output prints them as lines of their own, as any Progress does.
  Progress(Progress& parent, std::string prefix);
  ~Progress();
  Progress(const Progress&) = delete;
  Progress& operator=(const Progress&) = delete;

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
  void finish(bool ok);
  // The current step's live line; m_mutex held.
  void draw_live();
  // A plain line (no newline given); m_mutex held.
  void write_plain(const std::string& line);
  void tick_loop();

  std::ostream& m_out;
  Progress* m_parent = nullptr;
  ProgressStyle m_style;
  ProgressColor m_color;
  std::string m_prefix;
  std::string m_current;
  std::string m_detail;
  std::chrono::steady_clock::time_point m_started;
  unsigned m_frame = 0;

  std::mutex m_mutex;
  std::condition_variable m_wake;
  bool m_stopping = false;
  std::thread m_ticker;
};

// live when fd 2 is a terminal and TERM is not "dumb".
ProgressStyle progress_style_for_stderr();
// Colour only on a live line, and never when NO_COLOR (no_color_env, may be null) is set to
// a non-empty value (no-color.org).
ProgressColor progress_color(ProgressStyle style, const char* no_color_env);

// The Progress a command shows on stderr (err is the command's stderr stream): live with
// a ticker and colour on a terminal as the environment allows, plain lines otherwise.
class StderrProgress : public Progress {
public:
  explicit StderrProgress(std::ostream& err, std::string prefix = "");
  ~StderrProgress();
};

// The live StderrProgress of this process while one exists (commands show one at a time),
// else nullptr: a layer that cannot be handed it (a driver) nests its steps in it.
Progress* active_live_progress();

// Runs one named step: shows it, runs body, marks it done or failed; a failure
// comes back with the step's name in front.
Result<void> run_step(Progress& progress, const std::string& name,
                      const std::function<Result<void>()>& body);

} // namespace dm
