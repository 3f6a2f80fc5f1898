#pragma once
// ProcessRunner: runs a local program. Drivers that call system tools (ip,
// iptables, debootstrap, VBoxManage) go through it so tests can record calls.
#include "core/result.h"

#include <map>
#include <string>
#include <vector>

namespace dm {

struct ProcessResult {
  int exit_status = 0;
  std::string out;
  std::string err;
};

struct ProcessOptions {
  std::string stdin_data;
  std::map<std::string, std::string> extra_env;
  int timeout_seconds = 0;   // 0: no limit; on expiry the process is killed
  bool inherit_stdio = false; // pass this process's stdin/stdout/stderr through
};

class ProcessRunner {
public:
  virtual ~ProcessRunner() = default;
  // Runs argv[0] (looked up in PATH) with argv; a non-zero exit is not an error.
  virtual Result<ProcessResult> run(const std::vector<std::string>& argv,
                                    const ProcessOptions& options = {}) = 0;
};

// The real implementation (fork/exec).
class SystemProcessRunner final : public ProcessRunner {
public:
  Result<ProcessResult> run(const std::vector<std::string>& argv,
                            const ProcessOptions& options = {}) override;

private:
  static Result<ProcessResult> run_program(const std::vector<std::string>& argv,
                                           const ProcessOptions& options);
};

// Renders argv as one line for error messages ("ip link add ...").
std::string join_argv(const std::vector<std::string>& argv);

} // namespace dm
