#pragma once
// A recording RemoteShell for tests: records every command (with its options)
// and upload (with its mode), and answers commands from scripted results
// matched by substring.
#include "core/remote_shell.h"

#include <map>
#include <string>
#include <vector>

namespace dm::testing {

class FakeRemoteShell : public RemoteShell {
public:
  struct Upload {
    std::string data;
    std::string path;
    int mode = 0;
  };
  struct Rule {
    std::string substring;
    std::vector<ExecResult> results; // answered in order; the last one repeats
    std::size_t used = 0;
  };

  // Commands containing substring answer result (first added rule wins).
  void on(const std::string& substring, ExecResult result);
  // Commands containing substring answer these results one after the other.
  void on_sequence(const std::string& substring, std::vector<ExecResult> results);
  // Makes exec of a command containing substring fail as a transport error.
  void fail_on(const std::string& substring, Error error);

  Result<ExecResult> exec(const std::string& command, const ExecOptions& options = {}) override;
  Result<void> upload(const std::string& data, const std::string& remote_path, int mode) override;
  Result<std::string> download(const std::string& remote_path) override;
  [[nodiscard]] int commands_run() const override { return static_cast<int>(m_commands.size()); }

  [[nodiscard]] const std::vector<std::string>& commands() const { return m_commands; }
  [[nodiscard]] const std::vector<int>& timeouts() const { return m_timeouts; }
  [[nodiscard]] const std::vector<Upload>& uploads() const { return m_uploads; }
  // "exec: <command>" and "upload: <path> <mode in octal>" in order.
  [[nodiscard]] const std::vector<std::string>& events() const { return m_events; }
  // Number of commands containing substring.
  [[nodiscard]] int count(const std::string& substring) const;

  std::map<std::string, std::string> files; // served by download

private:
  std::vector<Rule> m_rules;
  std::vector<std::pair<std::string, Error>> m_failures;
  std::vector<std::string> m_commands;
  std::vector<int> m_timeouts;
  std::vector<Upload> m_uploads;
  std::vector<std::string> m_events;
};

} // namespace dm::testing
