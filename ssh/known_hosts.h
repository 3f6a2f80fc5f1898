#pragma once
// Host-key pinning: the first contact writes the key into the machine's own
// known_hosts file (OpenSSH format); every later contact must present it.
#include "core/result.h"

#include <filesystem>
#include <libssh2.h>
#include <string>
#include <string_view>

namespace dm {

enum class HostKeyCheck { matched, pinned_now };

// Compares the session's host key with known_hosts; pins it when the host is
// not there yet; a different key is a host_key_changed error.
Result<HostKeyCheck> verify_or_pin_host_key(LIBSSH2_SESSION* session, const std::string& host,
                                            int port, const std::filesystem::path& known_hosts);

// The file logic under verify_or_pin_host_key, on a libssh2 store read from a file
// (the fuzz target drives it): whether host:port's entries match key (key_type is a
// LIBSSH2_HOSTKEY_TYPE_*; a pinned key of another type is a change), adding it, and
// every entry as known_hosts text.
enum class KnownHostMatch { matched, not_found, changed };
Result<KnownHostMatch> match_known_host(LIBSSH2_KNOWNHOSTS* hosts, const std::string& host,
                                        int port, std::string_view key, int key_type);
// Whether key is pinned under any name (a machine is one host, whatever its address).
enum class PinnedKey { none, this_key, other_keys };
PinnedKey find_pinned_key(LIBSSH2_KNOWNHOSTS* hosts, std::string_view key);
Result<void> add_known_host(LIBSSH2_KNOWNHOSTS* hosts, const std::string& host, int port,
                            std::string_view key, int key_type);
Result<std::string> render_known_hosts(LIBSSH2_KNOWNHOSTS* hosts);

// A known_hosts file as dmachine writes it: "HOSTS KEYTYPE BASE64 [COMMENT]" lines of
// the key types it pins, each key blob naming its own type. libssh2 1.10 reads past
// the end of a decoded key of another shape when it writes the file back, so nothing
// else is ever handed to it.
Result<void> check_known_hosts_text(std::string_view text);

// The name OpenSSH uses for host:port in known_hosts ("h" or "[h]:p").
std::string known_hosts_name(const std::string& host, int port);

} // namespace dm
