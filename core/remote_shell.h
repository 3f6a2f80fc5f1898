#pragma once
// RemoteShell: one connection to a host, reused for every command and file
// transfer of one operation. ssh/ implements it over libssh2; tests fake it.
#include "core/result.h"

#include <filesystem>
#include <functional>
#include <memory>
#include <string>

namespace dm {

// Where and how to reach a host over SSH.
struct SshTarget {
  std::string host;
  int port = 22;
  std::string user = "root";
  std::filesystem::path key_path;         // private key; empty: ssh-agent only
  std::filesystem::path known_hosts_path; // the machine's own pinned host keys
};

struct ExecResult {
  int exit_status = 0;
  std::string out;
  std::string err;
};

struct ExecOptions {
  std::string stdin_data;                                   // written, then EOF
  int stdin_fd = -1; // instead of stdin_data: streamed from this descriptor until its EOF
  std::function<void(std::string_view)> on_stdout;          // streaming; out stays empty
  std::function<void(std::string_view)> on_stderr;          // streaming; err stays empty
  int timeout_seconds = 0;                                  // 0: no limit
  bool request_pty = false;
};

class RemoteShell {
public:
  virtual ~RemoteShell() = default;

  // Runs a command line (interpreted by the remote user's shell). A non-zero
  // exit status is not an error; transport failures are.
  virtual Result<ExecResult> exec(const std::string& command, const ExecOptions& options = {}) = 0;

  // Writes data to remote_path with the given mode, atomically (temp + rename).
  virtual Result<void> upload(const std::string& data, const std::string& remote_path,
                              int mode) = 0;

  // Reads a whole remote file.
  virtual Result<std::string> download(const std::string& remote_path) = 0;

  // Counters for benchmarks and tests: connections opened and commands run.
  [[nodiscard]] virtual int commands_run() const = 0;
};

// Opens a RemoteShell to a target; ssh/ provides the real one.
using ShellFactory = std::function<Result<std::unique_ptr<RemoteShell>>(const SshTarget&)>;

} // namespace dm
