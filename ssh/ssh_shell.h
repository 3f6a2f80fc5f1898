#pragma once
// SshShell: one libssh2 session to a host, reused for every command and file
// transfer of one operation. The host key is pinned on first contact into the
// target's known_hosts file and verified on every later connection.
#include "core/remote_shell.h"

#include <filesystem>
#include <memory>
#include <string>

namespace dm {

struct ConnectOptions {
  int connect_timeout_seconds = 10; // one TCP connect + handshake attempt
  int wait_seconds = 0;             // keep retrying until reachable for this long (0: one try)
};

class SshSession; // libssh2 state, private to ssh/

enum class Recursive { no, yes };

class SshShell final : public RemoteShell {
public:
  explicit SshShell(std::unique_ptr<SshSession> session);
  ~SshShell() override;
  SshShell(const SshShell&) = delete;
  SshShell& operator=(const SshShell&) = delete;

  Result<ExecResult> exec(const std::string& command, const ExecOptions& options = {}) override;
  // Streams data through one exec channel into a temp file, sets the mode, renames.
  Result<void> upload(const std::string& data, const std::string& remote_path, int mode) override;
  Result<std::string> download(const std::string& remote_path) override;
  [[nodiscard]] int commands_run() const override { return m_commands_run; }

  // File copies for `dmachine scp`, each over one channel speaking the SCP protocol
  // to the remote `scp -t` / `scp -f`. copy_to: when remote is a directory the copy
  // goes inside it (the remote scp decides, as with OpenSSH's scp). copy_from writes
  // exactly `local`; names the remote sends for -r must be single path components.
  Result<void> copy_to(const std::filesystem::path& local, const std::string& remote,
                       Recursive recursive);
  Result<void> copy_from(const std::string& remote, const std::filesystem::path& local,
                         Recursive recursive);

private:
  Result<ExecResult> run_command(const std::string& command, const ExecOptions& options);

  std::unique_ptr<SshSession> m_session;
  int m_commands_run = 0;
};

// Connects, verifies (or pins) the host key, authenticates with the target's key
// (or ssh-agent). Host-key mismatches and auth failures are not retried.
Result<std::unique_ptr<SshShell>> open_ssh_session(const SshTarget& target,
                                                   const ConnectOptions& options);
// Makes sure target.known_hosts_path holds the host's key (a native connection
// pins it on first contact) before the system ssh, which refuses unknown hosts, runs.
Result<void> pin_host_key(const SshTarget& target);
Result<std::unique_ptr<RemoteShell>> open_ssh_shell(const SshTarget& target,
                                                    const ConnectOptions& options);

} // namespace dm
