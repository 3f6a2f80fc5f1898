#pragma once
// How ssh, scp and mount reach a machine: a native SSH session, or the argv of
// the system ssh / sshfs; either way with the machine's pinned host key.
#include "app/machines.h"
#include "ssh/ssh_shell.h"

#include <string>
#include <vector>

namespace dm {

// Shells for the engine workflows (AppContext::open_shell): native sessions.
ShellFactory ssh_shell_factory();

// user replaces the driver's login user when not empty; wait_seconds bounds the
// wait for a machine that is still booting (0: one attempt).
Result<std::unique_ptr<SshShell>> open_machine_session(LoadedMachine& machine,
                                                       const std::string& user = "",
                                                       int wait_seconds = 0);

// The system ssh's argv (ssh options may lead user_args), after the host key is pinned.
Result<std::vector<std::string>> machine_openssh_argv(LoadedMachine& machine,
                                                      const std::vector<std::string>& user_args);
// sshfs's argv for [user@]machine:remote_path on mountpoint, after the host key is pinned.
Result<std::vector<std::string>> machine_sshfs_argv(LoadedMachine& machine, const std::string& user,
                                                    const std::string& remote_path,
                                                    const std::string& mountpoint);

} // namespace dm
