#include "tests/fakes/fake_remote_shell.h"

#include <fmt/format.h>

namespace dm::testing {

void FakeRemoteShell::on(const std::string& substring, ExecResult result) {
  m_rules.push_back(Rule{substring, {std::move(result)}, 0});
}

void FakeRemoteShell::on_sequence(const std::string& substring, std::vector<ExecResult> results) {
  m_rules.push_back(Rule{substring, std::move(results), 0});
}

void FakeRemoteShell::fail_on(const std::string& substring, Error error) {
  m_failures.emplace_back(substring, std::move(error));
}

Result<ExecResult> FakeRemoteShell::exec(const std::string& command, const ExecOptions& options) {
  m_commands.push_back(command);
  m_timeouts.push_back(options.timeout_seconds);
  m_events.push_back("exec: " + command);
  for (const auto& [substring, error] : m_failures) {
    if (command.find(substring) != std::string::npos) {
      return fail(error);
    }
  }
  for (auto& rule : m_rules) {
    if (command.find(rule.substring) != std::string::npos && !rule.results.empty()) {
      const std::size_t index = std::min(rule.used, rule.results.size() - 1);
      ++rule.used;
      return rule.results[index];
    }
  }
  return ExecResult{};
}

Result<void> FakeRemoteShell::upload(const std::string& data, const std::string& remote_path,
                                     int mode) {
  m_uploads.push_back(Upload{data, remote_path, mode});
  m_events.push_back(fmt::format("upload: {} {:04o}", remote_path, mode));
  files[remote_path] = data;
  return {};
}

Result<std::string> FakeRemoteShell::download(const std::string& remote_path) {
  auto it = files.find(remote_path);
  if (it == files.end()) {
    return fail(ErrorKind::not_found, fmt::format("{}: no such file", remote_path));
  }
  return it->second;
}

int FakeRemoteShell::count(const std::string& substring) const {
  int n = 0;
  for (const auto& command : m_commands) {
    if (command.find(substring) != std::string::npos) {
      ++n;
    }
  }
  return n;
}

} // namespace dm::testing
