#pragma once
// SshSession: a connected, authenticated libssh2 session in non-blocking mode,
// and the waiting primitive every channel operation uses. Private to ssh/.
#include "core/remote_shell.h"
#include "core/result.h"

#include <chrono>
#include <libssh2.h>
#include <libssh2_sftp.h>
#include <memory>
#include <string>

namespace dm {

struct ConnectOptions;

using Deadline = std::chrono::steady_clock::time_point;

// A deadline `seconds` from now; 0 means a day (every wait stays bounded).
Deadline deadline_in(int seconds);

class SshSession {
public:
  SshSession() = default;
  ~SshSession();
  SshSession(const SshSession&) = delete;
  SshSession& operator=(const SshSession&) = delete;

  // TCP connect, handshake, host key check against known_hosts, authentication.
  static Result<std::unique_ptr<SshSession>> connect(const SshTarget& target,
                                                     const ConnectOptions& options);

  [[nodiscard]] LIBSSH2_SESSION* raw() const { return m_session; }
  [[nodiscard]] const SshTarget& target() const { return m_target; }

  // Waits until the socket is ready in the direction libssh2 is blocked on, or
  // (when given) until also_readable has input.
  Result<void> wait_socket(Deadline deadline, int also_readable = -1) const;
  // The session's last error text ("" when none).
  [[nodiscard]] std::string last_error() const;
  // Opens the SFTP subsystem on first use (same connection).
  Result<LIBSSH2_SFTP*> sftp(Deadline deadline);

private:
  Result<void> handshake(Deadline deadline);
  Result<void> check_host_key();
  Result<void> authenticate(Deadline deadline);

  SshTarget m_target;
  int m_socket = -1;
  LIBSSH2_SESSION* m_session = nullptr;
  LIBSSH2_SFTP* m_sftp = nullptr;
};

// Runs a libssh2 call that may return LIBSSH2_ERROR_EAGAIN until it completes
// or the deadline passes; returns the call's final return value.
template <typename Call>
auto retry_eagain(const SshSession& session, Deadline deadline, Call call)
    -> Result<decltype(call())> {
  while (true) {
    auto value = call();
    bool again = false;
    if constexpr (std::is_pointer_v<decltype(value)>) {
      again = value == nullptr &&
              libssh2_session_last_errno(session.raw()) == LIBSSH2_ERROR_EAGAIN;
    } else {
      again = value == LIBSSH2_ERROR_EAGAIN;
    }
    if (!again) {
      return value;
    }
    DM_TRY(session.wait_socket(deadline));
  }
}

// A libssh2 channel closed and freed on scope exit (bounded: the session is non-blocking).
class Channel {
public:
  Channel(SshSession& session, LIBSSH2_CHANNEL* channel) : m_session(session), m_channel(channel) {}
  Channel(const Channel&) = delete;
  Channel& operator=(const Channel&) = delete;
  ~Channel();
  [[nodiscard]] LIBSSH2_CHANNEL* get() const { return m_channel; }

private:
  SshSession& m_session;
  LIBSSH2_CHANNEL* m_channel;
};

// Opens a session channel (optionally with a pty) and starts command on it.
Result<std::unique_ptr<Channel>> start_command(SshSession& session, const std::string& command,
                                               bool request_pty, Deadline deadline);

// Writes all of data to the channel (stdin of the remote side).
Result<void> write_all(SshSession& session, LIBSSH2_CHANNEL* channel, std::string_view data,
                       Deadline deadline);

// "<what> on <host>: <libssh2's last error>".
std::string channel_error(const SshSession& session, const std::string& what);

} // namespace dm
