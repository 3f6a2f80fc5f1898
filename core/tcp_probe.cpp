#include "core/tcp_probe.h"
#include "core/unique_fd.h"

#include <cerrno>
#include <chrono>
#include <cstring>
#include <fcntl.h>
#include <arpa/inet.h>
#include <netdb.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

namespace dm {

namespace {

using Socket = UniqueFd;

int remaining_ms(std::chrono::steady_clock::time_point deadline) {
  auto left = std::chrono::duration_cast<std::chrono::milliseconds>(
      deadline - std::chrono::steady_clock::now());
  return left.count() > 0 ? static_cast<int>(left.count()) : 0;
}

} // namespace

ProbeResult probe_tcp(const std::string& host, int port, int timeout_ms, ReadFirstLine read) {
  auto deadline = std::chrono::steady_clock::now() + std::chrono::milliseconds(timeout_ms);
  addrinfo hints{};
  hints.ai_family = AF_UNSPEC;
  hints.ai_socktype = SOCK_STREAM;
  addrinfo* addresses = nullptr;
  std::string port_text = std::to_string(port);
  int rc = getaddrinfo(host.c_str(), port_text.c_str(), &hints, &addresses);
  if (rc != 0) {
    return {ProbeOutcome::unreachable, "", gai_strerror(rc)};
  }
  ProbeResult result{ProbeOutcome::unreachable, "", "no address"};
  for (addrinfo* address = addresses; address != nullptr; address = address->ai_next) {
    Socket socket_fd(
        ::socket(address->ai_family, address->ai_socktype | SOCK_NONBLOCK | SOCK_CLOEXEC, 0));
    if (socket_fd.get() < 0) {
      continue;
    }
    if (connect(socket_fd.get(), address->ai_addr, address->ai_addrlen) != 0 &&
        errno != EINPROGRESS) {
      result = {errno == ECONNREFUSED ? ProbeOutcome::refused : ProbeOutcome::unreachable, "",
                std::strerror(errno)};
      continue;
    }
    pollfd pfd{socket_fd.get(), POLLOUT, 0};
    if (poll(&pfd, 1, remaining_ms(deadline)) <= 0) {
      result = {ProbeOutcome::timed_out, "", "connect timed out"};
      continue;
    }
    int so_error = 0;
    socklen_t length = sizeof(so_error);
    getsockopt(socket_fd.get(), SOL_SOCKET, SO_ERROR, &so_error, &length);
    if (so_error != 0) {
      result = {so_error == ECONNREFUSED ? ProbeOutcome::refused : ProbeOutcome::unreachable, "",
                std::strerror(so_error)};
      continue;
    }
    if (read == ReadFirstLine::no) {
      result = {ProbeOutcome::answered, "", ""};
      break;
    }
    std::string line;
    char buffer[256];
    while (line.find('\n') == std::string::npos && line.size() < 1024) {
      pfd = {socket_fd.get(), POLLIN, 0};
      if (poll(&pfd, 1, remaining_ms(deadline)) <= 0) {
        break;
      }
      ssize_t got = ::read(socket_fd.get(), buffer, sizeof(buffer));
      if (got <= 0) {
        break;
      }
      line.append(buffer, static_cast<size_t>(got));
    }
    if (line.empty()) {
      result = {ProbeOutcome::timed_out, "", "connected, but the server sent nothing"};
      continue;
    }
    line = line.substr(0, line.find_first_of("\r\n"));
    result = {ProbeOutcome::answered, line, ""};
    break;
  }
  freeaddrinfo(addresses);
  return result;
}

Result<int> free_local_port() {
  int fd = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (fd < 0) {
    return fail("socket: cannot pick a free port");
  }
  sockaddr_in address{};
  address.sin_family = AF_INET;
  address.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  socklen_t length = sizeof address;
  int port = -1;
  if (::bind(fd, reinterpret_cast<sockaddr*>(&address), sizeof address) == 0 &&
      ::getsockname(fd, reinterpret_cast<sockaddr*>(&address), &length) == 0) {
    port = ntohs(address.sin_port);
  }
  ::close(fd);
  if (port <= 0) {
    return fail("cannot pick a free port on 127.0.0.1");
  }
  return port;
}

} // namespace dm
