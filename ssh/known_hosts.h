#pragma once
// Host-key pinning: the first contact writes the key into the machine's own
// known_hosts file (OpenSSH format); every later contact must present it.
#include "core/result.h"

#include <filesystem>
#include <libssh2.h>
#include <string>

namespace dm {

enum class HostKeyCheck { matched, pinned_now };

// Compares the session's host key with known_hosts; pins it when the host is
// not there yet; a different key is a host_key_changed error.
Result<HostKeyCheck> verify_or_pin_host_key(LIBSSH2_SESSION* session, const std::string& host,
                                            int port, const std::filesystem::path& known_hosts);

// The name OpenSSH uses for host:port in known_hosts ("h" or "[h]:p").
std::string known_hosts_name(const std::string& host, int port);

} // namespace dm
