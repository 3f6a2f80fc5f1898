#pragma once
// Command lines for the system OpenSSH client and for sshfs that reach a machine
// as the native session does: its pinned known_hosts (StrictHostKeyChecking=yes),
// its key, port and user. Values are quoted for OpenSSH's own option parser.
#include "core/remote_shell.h"
#include "core/result.h"

#include <string>
#include <string_view>
#include <vector>

namespace dm {

// VALUE for "-o Key=VALUE": double-quoted, '\' and '"' escaped, '%' doubled (ssh
// expands %-tokens in file names). "${" cannot be passed (ssh always expands it).
Result<std::string> openssh_option_value(std::string_view value);

// ssh [options] ssh://user@host:port USER_ARGS... — the destination can never be
// read as an option, and ssh still reads options in USER_ARGS (docker-machine's order).
Result<std::vector<std::string>> openssh_argv(const SshTarget& target,
                                              const std::vector<std::string>& user_args);

// sshfs [options] user@host:REMOTE_PATH MOUNTPOINT, ssh options escaped for sshfs's -o.
Result<std::vector<std::string>> sshfs_argv(const SshTarget& target, const std::string& remote_path,
                                            const std::string& mountpoint);

} // namespace dm
