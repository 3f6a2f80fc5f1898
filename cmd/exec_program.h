#pragma once
// Handing this process over to a system program (ssh, sshfs, fusermount), the
// way docker-machine's external client runs them: same terminal, its exit status.
#include "core/result.h"

#include <string>
#include <vector>

namespace dm {

// Replaces this process with argv[0] (looked up in PATH); returns only on failure,
// with missing_message when the program is not installed.
Result<int> exec_program(std::vector<std::string> argv, const std::string& missing_message);

// True when program is an executable file in one of PATH's directories.
bool on_path(const std::string& program);

} // namespace dm
