#pragma once
// Test support: a ProcessRunner that runs nothing; it records every argv and answers with
// what a handler returns (exit 0 and no output by default).
#include "core/process_runner.h"

#include <functional>
#include <string>
#include <vector>

namespace dm::testing {

class RecordingProcessRunner final : public ProcessRunner {
public:
  using Handler = std::function<ProcessResult(const std::vector<std::string>& argv)>;

  explicit RecordingProcessRunner(Handler handler = {}) : m_handler(std::move(handler)) {}
  void set_handler(Handler handler) { m_handler = std::move(handler); }

  Result<ProcessResult> run(const std::vector<std::string>& argv,
                            const ProcessOptions& options = {}) override;

  // Every argv run so far, in order, as given, and without argv[0].
  [[nodiscard]] const std::vector<std::vector<std::string>>& argvs() const { return m_calls; }
  [[nodiscard]] std::vector<std::vector<std::string>> calls() const;
  // The calls as lines ("showvminfo vb1 --machinereadable"), for readable failures.
  [[nodiscard]] std::vector<std::string> lines() const;
  void clear() { m_calls.clear(); }

private:
  Handler m_handler;
  std::vector<std::vector<std::string>> m_calls;
};

} // namespace dm::testing
