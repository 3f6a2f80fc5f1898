#include "ssh/ssh_shell.h"

#include "core/debug_log.h"

#include "core/machine_store.h"
#include "core/shell_quote.h"
#include "ssh/known_hosts.h"
#include "ssh/ssh_session.h"

#include <array>
#include <cerrno>
#include <poll.h>
#include <fmt/format.h>
#include <fstream>
#include <unistd.h>

namespace dm {

namespace {

constexpr size_t k_chunk = 64 * 1024;
constexpr int k_transfer_timeout_seconds = 3600;

// The remote command's standard input: a string, or a descriptor read as the
// channel accepts data (never more than one chunk held), then EOF.
class StdinFeed {
public:
  explicit StdinFeed(const ExecOptions& options)
      : m_fd(options.stdin_fd), m_pending(options.stdin_fd >= 0 ? "" : options.stdin_data) {}

  // The descriptor to wait on while nothing is pending, else -1.
  [[nodiscard]] int wait_fd() const { return m_pending_at == m_pending.size() && !m_eof ? m_fd : -1; }

  // Moves what it can to the channel; true when anything happened.
  bool pump(LIBSSH2_CHANNEL* channel) {
    bool progressed = refill();
    if (m_pending_at < m_pending.size()) {
      ssize_t count = libssh2_channel_write(channel, m_pending.data() + m_pending_at,
                                            m_pending.size() - m_pending_at);
      if (count > 0) {
        m_pending_at += static_cast<size_t>(count);
        return true;
      }
      if (count < 0 && count != LIBSSH2_ERROR_EAGAIN) {
        // The command may exit without reading all of its input; stop feeding it.
        m_pending_at = m_pending.size();
        m_eof = true;
      }
      return progressed;
    }
    if (m_eof && !m_eof_sent) {
      if (libssh2_channel_send_eof(channel) != LIBSSH2_ERROR_EAGAIN) {
        m_eof_sent = true;
        return true;
      }
    }
    return progressed;
  }

private:
  // Reads the next chunk from the descriptor when the last one is gone and input is ready.
  bool refill() {
    if (m_fd < 0) {
      m_eof = m_eof || m_pending_at == m_pending.size();
      return false;
    }
    if (m_eof || m_pending_at < m_pending.size()) {
      return false;
    }
    pollfd ready{m_fd, POLLIN, 0};
    if (poll(&ready, 1, 0) <= 0) {
      return false;
    }
    m_pending.resize(k_chunk);
    ssize_t count = read(m_fd, m_pending.data(), m_pending.size());
    if (count < 0 && (errno == EAGAIN || errno == EINTR)) {
      m_pending.clear();
      m_pending_at = 0;
      return false;
    }
    m_pending.resize(count > 0 ? static_cast<size_t>(count) : 0);
    m_pending_at = 0;
    m_eof = count <= 0;
    return true;
  }

  int m_fd;
  std::string m_pending;
  size_t m_pending_at = 0;
  bool m_eof = false;
  bool m_eof_sent = false;
};

} // namespace

SshShell::SshShell(std::unique_ptr<SshSession> session) : m_session(std::move(session)) {}
SshShell::~SshShell() = default;

Result<ExecResult> SshShell::exec(const std::string& command, const ExecOptions& options) {
  if (!debug_enabled()) {
    return run_command(command, options);
  }
  const auto started = std::chrono::steady_clock::now();
  auto result = run_command(command, options);
  const SshTarget& target = m_session->target();
  debug_log("ssh", fmt::format("{}@{}:{} `{}` -> {} in {}", target.user, target.host, target.port,
                               debug_excerpt(command),
                               result ? fmt::format("exit {}", result->exit_status)
                                      : "error: " + result.error().message,
                               elapsed_since(started)));
  return result;
}

Result<ExecResult> SshShell::run_command(const std::string& command, const ExecOptions& options) {
  SshSession& session = *m_session;
  Deadline deadline = deadline_in(options.timeout_seconds);
  auto channel = start_command(session, command, options.request_pty, deadline);
  DM_TRY(channel);
  ++m_commands_run;
  LIBSSH2_CHANNEL* raw = (*channel)->get();

  ExecResult result;
  std::array<char, k_chunk> buffer{};
  StdinFeed input(options);
  while (true) {
    bool progressed = input.pump(raw);
    bool streams_done = true;
    for (int stream : {0, SSH_EXTENDED_DATA_STDERR}) {
      ssize_t count = libssh2_channel_read_ex(raw, stream, buffer.data(), buffer.size());
      if (count > 0) {
        std::string_view chunk(buffer.data(), static_cast<size_t>(count));
        const auto& sink = stream == 0 ? options.on_stdout : options.on_stderr;
        if (sink) {
          sink(chunk);
        } else {
          (stream == 0 ? result.out : result.err).append(chunk);
        }
        progressed = true;
        streams_done = false;
      } else if (count == LIBSSH2_ERROR_EAGAIN) {
        streams_done = false;
      } else if (count < 0) {
        return fail(ErrorKind::ssh, channel_error(session, "read command output"));
      }
    }
    if (libssh2_channel_eof(raw) != 0 && streams_done) {
      break;
    }
    if (!progressed) {
      auto waited = session.wait_socket(deadline, input.wait_fd());
      if (!waited) {
        Error error = waited.error();
        if (error.kind == ErrorKind::timeout) {
          error.message = fmt::format("command on {} did not finish within {} s: {}",
                                      session.target().host, options.timeout_seconds, command);
        }
        return fail(error);
      }
    }
  }
  auto closed = retry_eagain(session, deadline, [&] { return libssh2_channel_close(raw); });
  DM_TRY(closed);
  auto waited = retry_eagain(session, deadline, [&] { return libssh2_channel_wait_closed(raw); });
  DM_TRY(waited);
  result.exit_status = libssh2_channel_get_exit_status(raw);
  char* signal_name = nullptr;
  libssh2_channel_get_exit_signal(raw, &signal_name, nullptr, nullptr, nullptr, nullptr,
                                  nullptr);
  if (signal_name != nullptr) {
    result.exit_status = 255;
    result.err += fmt::format("remote command killed by signal {}\n", signal_name);
    libssh2_free(session.raw(), signal_name);
  }
  return result;
}

Result<void> SshShell::upload(const std::string& data, const std::string& remote_path, int mode) {
  // The temp file is made private before any byte is written, so secrets are
  // never readable by others; rename makes the new content appear at once.
  std::string path = shell_quote(remote_path);
  std::string command = fmt::format(
      "umask 077 && t=$(mktemp {}.XXXXXX) && {{ cat > \"$t\" && chmod {:o} \"$t\" && mv -f \"$t\" "
      "{}; }} || {{ rm -f \"$t\"; exit 1; }}",
      path, mode, path);
  ExecOptions options;
  options.stdin_data = data;
  options.timeout_seconds = k_transfer_timeout_seconds;
  auto result = exec(command, options);
  DM_TRY(result);
  if (result->exit_status != 0) {
    return fail(fmt::format("upload {}: exit {}: {}", remote_path, result->exit_status,
                            result->err));
  }
  return {};
}

Result<std::string> SshShell::download(const std::string& remote_path) {
  ExecOptions options;
  options.timeout_seconds = k_transfer_timeout_seconds;
  auto result = exec("cat " + shell_quote(remote_path), options);
  DM_TRY(result);
  if (result->exit_status != 0) {
    return fail(fmt::format("download {}: {}", remote_path, result->err));
  }
  return result->out;
}

Result<std::unique_ptr<SshShell>> open_ssh_session(const SshTarget& target,
                                                   const ConnectOptions& options) {
  auto session = SshSession::connect(target, options);
  DM_TRY(session);
  return std::make_unique<SshShell>(std::move(*session));
}

Result<void> pin_host_key(const SshTarget& target) {
  std::ifstream file(target.known_hosts_path);
  std::string prefix = known_hosts_name(target.host, target.port) + " ";
  for (std::string line; std::getline(file, line);) {
    if (line.rfind(prefix, 0) == 0) {
      return {};
    }
  }
  auto session = SshSession::connect(target, ConnectOptions{});
  DM_TRY(session);
  return {};
}

Result<std::unique_ptr<RemoteShell>> open_ssh_shell(const SshTarget& target,
                                                    const ConnectOptions& options) {
  auto shell = open_ssh_session(target, options);
  DM_TRY(shell);
  return std::unique_ptr<RemoteShell>(std::move(*shell));
}

} // namespace dm
