#include "ssh/ssh_session.h"

#include "core/interrupt.h"
#include "core/ssh_key_check.h"
#include "ssh/known_hosts.h"
#include "ssh/ssh_shell.h"

#include <array>
#include <cerrno>
#include <cstring>
#include <fcntl.h>
#include <fmt/format.h>
#include <mutex>
#include <netdb.h>
#include <poll.h>
#include <sys/socket.h>
#include <thread>
#include <unistd.h>

namespace dm {

namespace {

constexpr auto k_retry_pause = std::chrono::milliseconds(500);

void init_libssh2_once() {
  static std::once_flag once;
  std::call_once(once, [] { libssh2_init(0); });
}

int remaining_ms(Deadline deadline) {
  auto left = std::chrono::duration_cast<std::chrono::milliseconds>(
      deadline - std::chrono::steady_clock::now());
  return static_cast<int>(std::max<long>(0, left.count()));
}

// A non-blocking TCP connection to host:port, bounded by the deadline.
Result<int> connect_tcp(const std::string& host, int port, Deadline deadline) {
  addrinfo hints{};
  hints.ai_family = AF_UNSPEC;
  hints.ai_socktype = SOCK_STREAM;
  addrinfo* found = nullptr;
  int status = getaddrinfo(host.c_str(), std::to_string(port).c_str(), &hints, &found);
  if (status != 0) {
    return fail(ErrorKind::ssh, fmt::format("resolve {}: {}", host, gai_strerror(status)));
  }
  std::unique_ptr<addrinfo, decltype(&freeaddrinfo)> addresses(found, freeaddrinfo);
  std::string last_error = "no address";
  for (addrinfo* address = found; address != nullptr; address = address->ai_next) {
    int fd = socket(address->ai_family, address->ai_socktype | SOCK_CLOEXEC | SOCK_NONBLOCK,
                    address->ai_protocol);
    if (fd < 0) {
      last_error = std::strerror(errno);
      continue;
    }
    if (::connect(fd, address->ai_addr, address->ai_addrlen) == 0) {
      return fd;
    }
    if (errno == EINPROGRESS) {
      pollfd waiting{fd, POLLOUT, 0};
      int ready = poll(&waiting, 1, remaining_ms(deadline));
      int socket_error = 0;
      socklen_t length = sizeof socket_error;
      if (ready == 1 && getsockopt(fd, SOL_SOCKET, SO_ERROR, &socket_error, &length) == 0 &&
          socket_error == 0) {
        return fd;
      }
      last_error = ready == 0 ? "connection timed out" : std::strerror(socket_error);
    } else {
      last_error = std::strerror(errno);
    }
    close(fd);
  }
  return fail(ErrorKind::ssh, fmt::format("connect to {}:{}: {}", host, port, last_error));
}

bool is_retryable(const Error& error) {
  return error.kind == ErrorKind::ssh || error.kind == ErrorKind::timeout;
}

} // namespace

Deadline deadline_in(int seconds) {
  return std::chrono::steady_clock::now() + std::chrono::seconds(seconds > 0 ? seconds : 86400);
}

SshSession::~SshSession() {
  if (m_session != nullptr) {
    // Closing is best effort and must not hang: a short blocking timeout.
    libssh2_session_set_blocking(m_session, 1);
    libssh2_session_set_timeout(m_session, 2000);
    if (m_sftp != nullptr) {
      libssh2_sftp_shutdown(m_sftp);
    }
    libssh2_session_disconnect(m_session, "bye");
    libssh2_session_free(m_session);
  }
  if (m_socket >= 0) {
    close(m_socket);
  }
}

Result<void> SshSession::wait_socket(Deadline deadline, int also_readable) const {
  if (interrupted()) {
    return fail(ErrorKind::interrupted, "interrupted");
  }
  int directions = libssh2_session_block_directions(m_session);
  short events = 0;
  if ((directions & LIBSSH2_SESSION_BLOCK_INBOUND) != 0) {
    events |= POLLIN;
  }
  if ((directions & LIBSSH2_SESSION_BLOCK_OUTBOUND) != 0) {
    events |= POLLOUT;
  }
  if (events == 0) {
    events = POLLIN;
  }
  int left = remaining_ms(deadline);
  if (left == 0) {
    return fail(ErrorKind::timeout,
                fmt::format("SSH to {}: timed out waiting for the host", m_target.host));
  }
  std::array<pollfd, 2> waiting{pollfd{m_socket, events, 0}, pollfd{also_readable, POLLIN, 0}};
  // Short slices so that Ctrl-C is noticed promptly.
  int ready = poll(waiting.data(), also_readable >= 0 ? 2 : 1, std::min(left, 250));
  if (ready < 0 && errno != EINTR) {
    return fail(ErrorKind::ssh, fmt::format("SSH to {}: {}", m_target.host, std::strerror(errno)));
  }
  return {};
}

std::string SshSession::last_error() const {
  char* message = nullptr;
  int length = 0;
  libssh2_session_last_error(m_session, &message, &length, 0);
  return message != nullptr ? std::string(message, static_cast<size_t>(length)) : std::string();
}

Result<void> SshSession::handshake(Deadline deadline) {
  m_session = libssh2_session_init();
  if (m_session == nullptr) {
    return fail(ErrorKind::ssh, "initialise an SSH session");
  }
  libssh2_session_set_blocking(m_session, 0);
  auto status = retry_eagain(*this, deadline,
                             [&] { return libssh2_session_handshake(m_session, m_socket); });
  DM_TRY(status);
  if (*status != 0) {
    return fail(ErrorKind::ssh, fmt::format("SSH handshake with {}:{}: {}", m_target.host,
                                            m_target.port, last_error()));
  }
  return {};
}

Result<void> SshSession::check_host_key() {
  auto checked = verify_or_pin_host_key(m_session, m_target.host, m_target.port,
                                        m_target.known_hosts_path);
  DM_TRY(checked);
  return {};
}

Result<void> SshSession::authenticate(Deadline deadline) {
  const std::string& user = m_target.user;
  std::string key_error;
  if (!m_target.key_path.empty()) {
    std::string key = m_target.key_path.string();
    auto status = retry_eagain(*this, deadline, [&] {
      return libssh2_userauth_publickey_fromfile_ex(m_session, user.c_str(),
                                                    static_cast<unsigned>(user.size()), nullptr,
                                                    key.c_str(), "");
    });
    DM_TRY(status);
    if (*status == 0) {
      return {};
    }
    key_error = fmt::format("key {}: {}", key, last_error());
    auto type = check_private_key_file(m_target.key_path);
    if (type && *type == KeyType::rsa) {
      // The usual cause, and invisible from the server's answer alone.
      key_error += "; it is an RSA key, which this client (libssh2) signs with SHA-1 "
                   "(ssh-rsa), and OpenSSH 8.8 and later refuse that by default: use an "
                   "ECDSA or ed25519 key (ssh-keygen -t ed25519)";
    }
  }
  // ssh-agent: blocking calls to a local socket, bounded by the session timeout.
  libssh2_session_set_blocking(m_session, 1);
  libssh2_session_set_timeout(m_session, remaining_ms(deadline));
  std::string agent_error = "no ssh-agent (SSH_AUTH_SOCK is not set)";
  if (std::getenv("SSH_AUTH_SOCK") != nullptr) {
    LIBSSH2_AGENT* agent = libssh2_agent_init(m_session);
    if (agent != nullptr && libssh2_agent_connect(agent) == 0 &&
        libssh2_agent_list_identities(agent) == 0) {
      agent_error = "ssh-agent has no key the host accepts";
      libssh2_agent_publickey* identity = nullptr;
      libssh2_agent_publickey* previous = nullptr;
      while (libssh2_agent_get_identity(agent, &identity, previous) == 0) {
        if (libssh2_agent_userauth(agent, user.c_str(), identity) == 0) {
          libssh2_agent_disconnect(agent);
          libssh2_agent_free(agent);
          libssh2_session_set_blocking(m_session, 0);
          return {};
        }
        previous = identity;
      }
      libssh2_agent_disconnect(agent);
    } else {
      agent_error = "cannot talk to ssh-agent";
    }
    if (agent != nullptr) {
      libssh2_agent_free(agent);
    }
  }
  libssh2_session_set_blocking(m_session, 0);
  std::string tried = key_error.empty() ? agent_error : key_error + "; " + agent_error;
  return fail(ErrorKind::ssh,
              fmt::format("SSH authentication as \"{}\" on {}:{} failed ({}); check the user and "
                          "that the key is authorised on the host",
                          user, m_target.host, m_target.port, tried));
}

Result<LIBSSH2_SFTP*> SshSession::sftp(Deadline deadline) {
  if (m_sftp != nullptr) {
    return m_sftp;
  }
  auto opened = retry_eagain(*this, deadline, [&] { return libssh2_sftp_init(m_session); });
  DM_TRY(opened);
  if (*opened == nullptr) {
    return fail(ErrorKind::ssh, fmt::format("open SFTP on {}: {}", m_target.host, last_error()));
  }
  m_sftp = *opened;
  return m_sftp;
}

Result<std::unique_ptr<SshSession>> SshSession::connect(const SshTarget& target,
                                                       const ConnectOptions& options) {
  init_libssh2_once();
  Deadline give_up = deadline_in(options.wait_seconds > 0 ? options.wait_seconds : 1);
  Error last{ErrorKind::ssh, "not tried"};
  for (int attempt = 0; attempt < 1000; ++attempt) {
    if (interrupted()) {
      return fail(ErrorKind::interrupted, "interrupted");
    }
    auto session = std::make_unique<SshSession>();
    session->m_target = target;
    Deadline attempt_deadline = deadline_in(options.connect_timeout_seconds);
    auto attempt_result = [&]() -> Result<void> {
      auto fd = connect_tcp(target.host, target.port, attempt_deadline);
      DM_TRY(fd);
      session->m_socket = *fd;
      DM_TRY(session->handshake(attempt_deadline));
      DM_TRY(session->check_host_key());
      return session->authenticate(attempt_deadline);
    }();
    if (attempt_result) {
      return session;
    }
    last = attempt_result.error();
    // A changed host key or a refused key does not get better by retrying;
    // but right after boot sshd may refuse before authorized_keys is in place.
    bool auth_failure = last.message.find("authentication") != std::string::npos;
    if (!is_retryable(last) || (auth_failure && options.wait_seconds == 0) ||
        std::chrono::steady_clock::now() + k_retry_pause >= give_up) {
      break;
    }
    std::this_thread::sleep_for(k_retry_pause);
  }
  if (options.wait_seconds > 0 && is_retryable(last)) {
    last.message += fmt::format(" (gave up after {} s)", options.wait_seconds);
  }
  return fail(last);
}

Channel::~Channel() {
  if (m_channel != nullptr) {
    Deadline deadline = deadline_in(5);
    (void)retry_eagain(m_session, deadline, [&] { return libssh2_channel_close(m_channel); });
    (void)retry_eagain(m_session, deadline, [&] { return libssh2_channel_free(m_channel); });
  }
}

std::string channel_error(const SshSession& session, const std::string& what) {
  return fmt::format("{} on {}: {}", what, session.target().host, session.last_error());
}

Result<std::unique_ptr<Channel>> start_command(SshSession& session, const std::string& command,
                                               bool request_pty, Deadline deadline) {
  auto opened = retry_eagain(session, deadline, [&] {
    return libssh2_channel_open_ex(session.raw(), "session", sizeof "session" - 1,
                                   LIBSSH2_CHANNEL_WINDOW_DEFAULT, LIBSSH2_CHANNEL_PACKET_DEFAULT,
                                   nullptr, 0);
  });
  DM_TRY(opened);
  if (*opened == nullptr) {
    return fail(ErrorKind::ssh, channel_error(session, "open a channel"));
  }
  auto channel = std::make_unique<Channel>(session, *opened);
  if (request_pty) {
    auto pty = retry_eagain(session, deadline,
                            [&] { return libssh2_channel_request_pty(channel->get(), "xterm"); });
    DM_TRY(pty);
  }
  auto started = retry_eagain(session, deadline, [&] {
    return libssh2_channel_process_startup(channel->get(), "exec", sizeof "exec" - 1,
                                           command.data(), static_cast<unsigned>(command.size()));
  });
  DM_TRY(started);
  if (*started != 0) {
    return fail(ErrorKind::ssh, channel_error(session, "run a command"));
  }
  return channel;
}

Result<void> write_all(SshSession& session, LIBSSH2_CHANNEL* channel, std::string_view data,
                       Deadline deadline) {
  constexpr size_t k_write_chunk = 64 * 1024;
  size_t written = 0;
  while (written < data.size()) {
    size_t length = std::min(k_write_chunk, data.size() - written);
    auto count = retry_eagain(session, deadline, [&] {
      return libssh2_channel_write(channel, data.data() + written, length);
    });
    DM_TRY(count);
    if (*count < 0) {
      return fail(ErrorKind::ssh, channel_error(session, "write to the channel"));
    }
    written += static_cast<size_t>(*count);
  }
  return {};
}

} // namespace dm
