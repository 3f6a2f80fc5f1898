#include "tests/fakes/loopback_http_server.h"

#include <arpa/inet.h>
#include <cerrno>
#include <chrono>
#include <fcntl.h>
#include <netinet/in.h>
#include <poll.h>
#include <stdexcept>
#include <sys/socket.h>
#include <unistd.h>

namespace dm::testing {

namespace {

constexpr std::size_t k_chunk = 64 * 1024;
constexpr auto k_stall_limit = std::chrono::seconds(30);

bool send_all(int fd, const char* data, std::size_t size) {
  while (size > 0) {
    ssize_t n = ::send(fd, data, size, MSG_NOSIGNAL);
    if (n < 0 && errno == EINTR) {
      continue;
    }
    if (n <= 0) {
      return false;
    }
    data += n;
    size -= static_cast<std::size_t>(n);
  }
  return true;
}

const char* reason(int status) {
  switch (status) {
  case 200:
    return "OK";
  case 206:
    return "Partial Content";
  case 302:
    return "Found";
  case 404:
    return "Not Found";
  case 416:
    return "Range Not Satisfiable";
  default:
    return "Status";
  }
}

// The request head (up to the empty line), at most 16 KiB; "" when the peer went away.
std::string read_head(int fd) {
  std::string head;
  char buffer[1024];
  while (head.find("\r\n\r\n") == std::string::npos && head.size() < 16384) {
    ssize_t n = ::recv(fd, buffer, sizeof(buffer), 0);
    if (n < 0 && errno == EINTR) {
      continue;
    }
    if (n <= 0) {
      return "";
    }
    head.append(buffer, static_cast<std::size_t>(n));
  }
  return head;
}

std::string header_value(const std::string& head, const std::string& name) {
  std::size_t pos = 0;
  while ((pos = head.find("\r\n", pos)) != std::string::npos) {
    pos += 2;
    std::size_t colon = head.find(':', pos);
    std::size_t end = head.find("\r\n", pos);
    if (colon == std::string::npos || end == std::string::npos || colon > end) {
      continue;
    }
    std::string key = head.substr(pos, colon - pos);
    bool same = key.size() == name.size();
    for (std::size_t i = 0; same && i < key.size(); ++i) {
      same = std::tolower(static_cast<unsigned char>(key[i])) ==
             std::tolower(static_cast<unsigned char>(name[i]));
    }
    if (same) {
      std::size_t start = head.find_first_not_of(' ', colon + 1);
      return head.substr(start, end - start);
    }
  }
  return "";
}

} // namespace

LoopbackHttpServer::LoopbackHttpServer() {
  m_listen_fd = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  sockaddr_in address{};
  address.sin_family = AF_INET;
  address.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  address.sin_port = 0;
  socklen_t length = sizeof(address);
  if (m_listen_fd < 0 || ::bind(m_listen_fd, reinterpret_cast<sockaddr*>(&address), length) != 0 ||
      ::listen(m_listen_fd, 16) != 0 ||
      ::getsockname(m_listen_fd, reinterpret_cast<sockaddr*>(&address), &length) != 0) {
    throw std::runtime_error("loopback http server: cannot listen on 127.0.0.1");
  }
  m_port = ntohs(address.sin_port);
  m_acceptor = std::thread([this] { accept_loop(); });
}

LoopbackHttpServer::~LoopbackHttpServer() {
  m_stop = true;
  m_acceptor.join();
  for (auto& connection : m_connections) {
    connection.join();
  }
  ::close(m_listen_fd);
}

void LoopbackHttpServer::route(const std::string& path, Route route) {
  std::lock_guard lock(m_mutex);
  m_routes[path] = std::move(route);
}

std::string LoopbackHttpServer::url(const std::string& path) const {
  return "http://127.0.0.1:" + std::to_string(m_port) + path;
}

std::vector<LoopbackHttpServer::Request> LoopbackHttpServer::requests() const {
  std::lock_guard lock(m_mutex);
  return m_requests;
}

int LoopbackHttpServer::count(const std::string& path) const {
  std::lock_guard lock(m_mutex);
  int n = 0;
  for (const auto& request : m_requests) {
    n += request.path == path ? 1 : 0;
  }
  return n;
}

void LoopbackHttpServer::accept_loop() {
  while (!m_stop) {
    pollfd ready{m_listen_fd, POLLIN, 0};
    if (::poll(&ready, 1, 50) <= 0) {
      continue;
    }
    int fd = ::accept4(m_listen_fd, nullptr, nullptr, SOCK_CLOEXEC);
    if (fd < 0) {
      continue;
    }
    std::lock_guard lock(m_mutex);
    m_connections.emplace_back([this, fd] {
      serve(fd);
      ::close(fd);
    });
  }
}

void LoopbackHttpServer::serve(int fd) {
  std::string head = read_head(fd);
  auto first_space = head.find(' ');
  auto second_space = head.find(' ', first_space + 1);
  if (head.empty() || first_space == std::string::npos || second_space == std::string::npos) {
    return;
  }
  Request request{head.substr(first_space + 1, second_space - first_space - 1),
                  header_value(head, "Range")};
  Route route;
  bool cut = false;
  {
    std::lock_guard lock(m_mutex);
    m_requests.push_back(request);
    auto found = m_routes.find(request.path);
    if (found == m_routes.end()) {
      route.status = 404;
      route.body = "no such file\n";
    } else {
      route = found->second;
      if (found->second.cuts > 0) {
        --found->second.cuts;
        cut = true;
      }
    }
  }
  std::uint64_t size = route.body.size();
  int file = -1;
  if (!route.file.empty()) {
    file = ::open(route.file.c_str(), O_RDONLY | O_CLOEXEC);
    size = file < 0 ? 0 : static_cast<std::uint64_t>(::lseek(file, 0, SEEK_END));
  }
  std::uint64_t start = 0;
  int status = route.status;
  std::string extra;
  if (status == 200 && route.ranges && request.range.rfind("bytes=", 0) == 0) {
    start = std::stoull(request.range.substr(6));
    if (start >= size) {
      status = 416;
      extra = "Content-Range: bytes */" + std::to_string(size) + "\r\n";
      size = start = 0;
    } else {
      status = 206;
      extra = "Content-Range: bytes " + std::to_string(start) + "-" + std::to_string(size - 1) +
              "/" + std::to_string(size) + "\r\n";
    }
  }
  for (const auto& [name, value] : route.headers) {
    extra += name + ": " + value + "\r\n";
  }
  std::string response_head = "HTTP/1.1 " + std::to_string(status) + " " + reason(status) +
                              "\r\nContent-Length: " + std::to_string(size - start) +
                              "\r\nConnection: close\r\n" + extra + "\r\n";
  if (!send_all(fd, response_head.data(), response_head.size())) {
    if (file >= 0) {
      ::close(file);
    }
    return;
  }
  std::uint64_t end = cut ? std::min(size, start + route.cut_after) : size;
  std::string buffer(k_chunk, '\0');
  for (std::uint64_t at = start; at < end && !m_stop;) {
    std::size_t n = static_cast<std::size_t>(std::min<std::uint64_t>(k_chunk, end - at));
    if (file >= 0) {
      ssize_t got = ::pread(file, buffer.data(), n, static_cast<off_t>(at));
      if (got <= 0) {
        break;
      }
      n = static_cast<std::size_t>(got);
    } else {
      buffer.assign(route.body, at, n);
    }
    if (!send_all(fd, buffer.data(), n)) {
      break;
    }
    at += n;
    if (route.chunk_delay_ms > 0) {
      std::this_thread::sleep_for(std::chrono::milliseconds(route.chunk_delay_ms));
    }
  }
  if (file >= 0) {
    ::close(file);
  }
  if (cut && route.stall) {
    // Silence until the client gives up (or the test ends).
    auto deadline = std::chrono::steady_clock::now() + k_stall_limit;
    char byte = 0;
    while (!m_stop && std::chrono::steady_clock::now() < deadline) {
      pollfd peer{fd, POLLIN, 0};
      if (::poll(&peer, 1, 50) > 0 && ::recv(fd, &byte, 1, MSG_DONTWAIT) == 0) {
        break; // the client closed
      }
    }
  }
}

} // namespace dm::testing
