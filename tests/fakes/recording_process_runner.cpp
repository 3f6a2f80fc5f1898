#include "tests/fakes/recording_process_runner.h"

namespace dm::testing {

Result<ProcessResult> RecordingProcessRunner::run(const std::vector<std::string>& argv,
                                                  const ProcessOptions& /*options*/) {
  m_calls.push_back(argv);
  if (m_handler) {
    return m_handler(argv);
  }
  return ProcessResult{};
}

std::vector<std::vector<std::string>> RecordingProcessRunner::calls() const {
  std::vector<std::vector<std::string>> stripped;
  for (const auto& argv : m_calls) {
    stripped.emplace_back(argv.empty() ? argv.begin() : argv.begin() + 1, argv.end());
  }
  return stripped;
}

std::vector<std::string> RecordingProcessRunner::lines() const {
  std::vector<std::string> lines;
  for (const auto& argv : calls()) {
    std::string line;
    for (const auto& arg : argv) {
      line += (line.empty() ? "" : " ") + arg;
    }
    lines.push_back(line);
  }
  return lines;
}

} // namespace dm::testing
