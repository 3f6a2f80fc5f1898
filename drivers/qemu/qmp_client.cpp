#include "drivers/qemu/qmp_client.h"

#include "core/printable.h"
#include "core/unique_fd.h"

#include <cerrno>
#include <chrono>
#include <cstring>
#include <fmt/format.h>
#include <poll.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

namespace dm::qemu {

namespace {

constexpr std::size_t k_max_message = 1 << 20;

using Clock = std::chrono::steady_clock;

int remaining_ms(Clock::time_point deadline) {
  auto left =
      std::chrono::duration_cast<std::chrono::milliseconds>(deadline - Clock::now()).count();
  return left < 0 ? 0 : static_cast<int>(left);
}

Result<void> send_all(int fd, const std::string& text, Clock::time_point deadline) {
  std::size_t sent = 0;
  while (sent < text.size()) {
    pollfd poller{fd, POLLOUT, 0};
    if (::poll(&poller, 1, remaining_ms(deadline)) <= 0) {
      return fail(ErrorKind::timeout, "QMP: the monitor does not take commands");
    }
    auto n = ::send(fd, text.data() + sent, text.size() - sent, MSG_NOSIGNAL);
    if (n < 0) {
      if (errno == EINTR || errno == EAGAIN) {
        continue;
      }
      return fail(fmt::format("QMP: send: {}", std::strerror(errno)));
    }
    sent += static_cast<std::size_t>(n);
  }
  return {};
}

// Reads until a non-event message; closed = the peer closed first.
Result<nlohmann::json> read_message(int fd, QmpReader& reader, Clock::time_point deadline,
                                    bool& closed) {
  closed = false;
  for (;;) {
    bool complete = false;
    auto message = reader.next_message(complete);
    DM_TRY(message);
    if (complete) {
      return *message;
    }
    pollfd poller{fd, POLLIN, 0};
    int ready = ::poll(&poller, 1, remaining_ms(deadline));
    if (ready < 0 && errno == EINTR) {
      continue;
    }
    if (ready <= 0) {
      return fail(ErrorKind::timeout, "QMP: the monitor did not answer in time");
    }
    char chunk[4096];
    auto n = ::recv(fd, chunk, sizeof chunk, 0);
    if (n < 0 && (errno == EINTR || errno == EAGAIN)) {
      continue;
    }
    if (n <= 0) {
      closed = true;
      return fail("QMP: the monitor closed the connection");
    }
    reader.buffer.append(chunk, static_cast<std::size_t>(n));
    if (reader.buffer.size() > k_max_message) {
      return fail("QMP: a message of more than 1 MiB");
    }
  }
}

} // namespace

Result<nlohmann::json> QmpReader::next_message(bool& complete) {
  complete = false;
  for (;;) {
    auto end = buffer.find('\n');
    if (end == std::string::npos) {
      return nlohmann::json::object();
    }
    std::string line = buffer.substr(0, end);
    buffer.erase(0, end + 1);
    if (line.find_first_not_of(" \r\t") == std::string::npos) {
      continue;
    }
    auto message = nlohmann::json::parse(line, nullptr, false);
    if (message.is_discarded() || !message.is_object()) {
      return fail(fmt::format("QMP: not a JSON object: {}", printable(line)));
    }
    if (message.contains("event")) {
      continue;
    }
    complete = true;
    return message;
  }
}

Result<nlohmann::json> qmp_execute(const std::filesystem::path& socket_path,
                                   const std::string& command, int timeout_seconds,
                                   QmpQuit quit) {
  const auto deadline = Clock::now() + std::chrono::seconds(timeout_seconds);
  sockaddr_un address{};
  address.sun_family = AF_UNIX;
  const std::string path = socket_path.string();
  if (path.size() >= sizeof address.sun_path) {
    return fail(fmt::format("QMP socket path {} is longer than {} bytes", path,
                            sizeof address.sun_path - 1));
  }
  std::memcpy(address.sun_path, path.c_str(), path.size() + 1);
  UniqueFd fd(::socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0));
  if (fd.get() < 0) {
    return fail(fmt::format("QMP: socket: {}", std::strerror(errno)));
  }
  if (::connect(fd.get(), reinterpret_cast<const sockaddr*>(&address), sizeof address) != 0) {
    return fail(ErrorKind::not_running,
                fmt::format("QMP: cannot connect to {}: {}", path, std::strerror(errno)));
  }
  QmpReader reader;
  bool closed = false;
  auto greeting = read_message(fd.get(), reader, deadline, closed);
  DM_TRY(greeting);
  if (!greeting->contains("QMP")) {
    return fail("QMP: the monitor's greeting is not QMP's");
  }
  for (const std::string& name : {std::string("qmp_capabilities"), command}) {
    DM_TRY(send_all(fd.get(), nlohmann::json{{"execute", name}}.dump() + "\n", deadline));
    auto reply = read_message(fd.get(), reader, deadline, closed);
    if (!reply) {
      if (closed && quit == QmpQuit::yes && name == command) {
        return nlohmann::json::object();
      }
      return fail(reply.error().with_context(name));
    }
    if (reply->contains("error")) {
      const auto& error = (*reply)["error"];
      std::string description =
          error.is_object() && error.contains("desc") && error["desc"].is_string()
              ? error["desc"].get<std::string>()
              : error.dump();
      return fail(fmt::format("QMP {}: {}", name, printable(description)));
    }
    if (name == command) {
      return reply->contains("return") ? (*reply)["return"] : nlohmann::json::object();
    }
  }
  return nlohmann::json::object();
}

} // namespace dm::qemu
