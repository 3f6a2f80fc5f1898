// SshShell's file copies: one exec channel per copy speaking the SCP protocol
// to the remote `scp -t` (upload) or `scp -f` (download). Doing the protocol
// here (instead of libssh2_scp_*) lets a download refuse unsafe names sent by
// the server and lets every failure carry the remote scp's own message.
#include "core/scp_protocol.h"
#include "core/shell_quote.h"
#include "ssh/ssh_session.h"
#include "ssh/ssh_shell.h"

#include <algorithm>
#include <array>
#include <cerrno>
#include <cstring>
#include <fcntl.h>
#include <fmt/format.h>
#include <sys/stat.h>
#include <unistd.h>
#include <vector>

namespace dm {

namespace {

constexpr size_t k_chunk = 64 * 1024;
constexpr int k_transfer_timeout_seconds = 3600;
constexpr size_t k_max_record = 8192;    // a header line: mode, size and a name
constexpr size_t k_max_stderr = 16384;   // remote messages kept for errors
constexpr size_t k_max_depth = 512;      // nested directories of one download

std::string trimmed(std::string text) {
  while (!text.empty() && (text.back() == '\n' || text.back() == '\r' || text.back() == ' ')) {
    text.pop_back();
  }
  return text;
}

// The remote scp's stdin and stdout; its stderr is kept for error messages.
class ScpStream {
public:
  ScpStream(SshSession& session, LIBSSH2_CHANNEL* channel, Deadline deadline)
      : m_session(session), m_channel(channel), m_deadline(deadline) {}

  Result<void> write(std::string_view data) {
    return write_all(m_session, m_channel, data, m_deadline);
  }

  // Up to limit bytes (at least one); false when the remote closed its output.
  Result<bool> read_some(size_t limit, std::string_view& out) {
    if (m_at == m_buffer.size()) {
      auto filled = fill();
      DM_TRY(filled);
      if (!*filled) {
        return false;
      }
    }
    size_t count = std::min(limit, m_buffer.size() - m_at);
    out = std::string_view(m_buffer).substr(m_at, count);
    m_at += count;
    return true;
  }

  // One line without its '\n'; false when the remote closed its output first.
  Result<bool> read_line(std::string& line) {
    line.clear();
    while (true) {
      std::string_view piece;
      auto got = read_some(1, piece);
      DM_TRY(got);
      if (!*got) {
        return !line.empty() ? Result<bool>(fail(closed_error())) : Result<bool>(false);
      }
      if (piece[0] == '\n') {
        return true;
      }
      if (line.size() >= k_max_record) {
        return fail(ErrorKind::ssh, "the remote scp sent a record longer than 8 KiB");
      }
      line += piece[0];
    }
  }

  // The remote's answer to a record or to data: \0 is OK; \1 or \2 carry a message.
  Result<void> expect_ack() {
    std::string_view byte;
    auto got = read_some(1, byte);
    DM_TRY(got);
    if (!*got) {
      return fail(closed_error());
    }
    if (byte[0] == '\0') {
      return {};
    }
    std::string message;
    if (byte[0] == '\1' || byte[0] == '\2') {
      auto line = read_line(message);
      DM_TRY(line);
      return fail(trimmed(message));
    }
    return fail(ErrorKind::ssh, "the remote scp answered with an unexpected byte");
  }

  // Why the conversation ended early: the remote's stderr, else a plain statement.
  [[nodiscard]] Error closed_error() {
    drain_stderr();
    std::string text = trimmed(m_stderr);
    return Error{ErrorKind::ssh, text.empty() ? "the remote scp ended the transfer early" : text};
  }

private:
  void drain_stderr() {
    std::array<char, 4096> chunk{};
    while (true) {
      ssize_t count = libssh2_channel_read_stderr(m_channel, chunk.data(), chunk.size());
      if (count <= 0) {
        return;
      }
      if (m_stderr.size() < k_max_stderr) {
        m_stderr.append(chunk.data(), static_cast<size_t>(count));
      }
    }
  }

  Result<bool> fill() {
    m_buffer.resize(k_chunk);
    while (true) {
      drain_stderr();
      ssize_t count = libssh2_channel_read(m_channel, m_buffer.data(), m_buffer.size());
      if (count > 0) {
        m_buffer.resize(static_cast<size_t>(count));
        m_at = 0;
        return true;
      }
      bool at_eof = libssh2_channel_eof(m_channel) != 0;
      if (count == 0 && at_eof) {
        m_buffer.clear();
        m_at = 0;
        return false;
      }
      if (count < 0 && count != LIBSSH2_ERROR_EAGAIN) {
        return fail(ErrorKind::ssh, channel_error(m_session, "read from the remote scp"));
      }
      DM_TRY(m_session.wait_socket(m_deadline));
    }
  }

  SshSession& m_session;
  LIBSSH2_CHANNEL* m_channel;
  Deadline m_deadline;
  std::string m_buffer;
  size_t m_at = 0;
  std::string m_stderr;
};

// A local file descriptor closed on scope exit.
struct LocalFile {
  int fd = -1;
  LocalFile() = default;
  LocalFile(const LocalFile&) = delete;
  LocalFile& operator=(const LocalFile&) = delete;
  ~LocalFile() {
    if (fd >= 0) {
      close(fd);
    }
  }
};

std::string errno_text(const std::filesystem::path& path) {
  return fmt::format("{}: {}", path.string(), std::strerror(errno));
}

// --- upload (this computer -> remote `scp -t`) ---

Result<void> send_file(ScpStream& stream, const std::filesystem::path& path,
                       const struct stat& info, const std::string& name) {
  LocalFile file;
  file.fd = open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (file.fd < 0) {
    return fail(errno_text(path));
  }
  DM_TRY(stream.write(scp_file_record(static_cast<int>(info.st_mode & 0777),
                                      static_cast<uint64_t>(info.st_size), name)));
  DM_TRY(stream.expect_ack());
  std::vector<char> buffer(k_chunk);
  auto left = static_cast<uint64_t>(info.st_size);
  while (left > 0) {
    ssize_t count = read(file.fd, buffer.data(), std::min<uint64_t>(left, buffer.size()));
    if (count <= 0) {
      // The file shrank while being sent: the size is already promised, so stop here.
      return fail(count < 0 ? errno_text(path) : fmt::format("{}: file changed while copying",
                                                              path.string()));
    }
    DM_TRY(stream.write(std::string_view(buffer.data(), static_cast<size_t>(count))));
    left -= static_cast<uint64_t>(count);
  }
  DM_TRY(stream.write(std::string_view("\0", 1)));
  return stream.expect_ack();
}

Result<void> send_entry(ScpStream& stream, const std::filesystem::path& path, const std::string& name,
                        Recursive recursive, size_t depth) {
  if (!is_safe_scp_name(name)) {
    return fail(fmt::format("{}: this name cannot be sent over SCP", path.string()));
  }
  struct stat info {};
  if (stat(path.c_str(), &info) != 0) {
    return fail(errno_text(path));
  }
  if (S_ISREG(info.st_mode)) {
    return send_file(stream, path, info, name);
  }
  if (!S_ISDIR(info.st_mode)) {
    return fail(fmt::format("{}: not a regular file or a directory", path.string()));
  }
  if (recursive == Recursive::no) {
    return fail(fmt::format("{}: is a directory (use -r to copy directories)", path.string()));
  }
  if (depth > k_max_depth) {
    return fail(fmt::format("{}: directories nested too deep (a symbolic link loop?)", path.string()));
  }
  std::error_code error;
  std::vector<std::filesystem::path> children;
  for (std::filesystem::directory_iterator it(path, error), end; !error && it != end;
       it.increment(error)) {
    children.push_back(it->path());
  }
  if (error) {
    return fail(fmt::format("{}: {}", path.string(), error.message()));
  }
  std::sort(children.begin(), children.end());
  DM_TRY(stream.write(scp_directory_record(static_cast<int>(info.st_mode & 0777), name)));
  DM_TRY(stream.expect_ack());
  for (const auto& child : children) {
    std::error_code kind_error;
    auto status = std::filesystem::status(child, kind_error);
    if (!std::filesystem::is_regular_file(status) && !std::filesystem::is_directory(status)) {
      continue; // sockets, devices, dangling links: like the old copy, skipped
    }
    DM_TRY(send_entry(stream, child, child.filename().string(), recursive, depth + 1));
  }
  DM_TRY(stream.write("E\n"));
  return stream.expect_ack();
}

// --- download (remote `scp -f` -> this computer) ---

// Receives size bytes of one file into path (through a temp file, renamed at the end).
Result<void> receive_file(ScpStream& stream, const std::filesystem::path& path,
                          const ScpRecord& record) {
  std::string temp = path.string() + ".dmachine-part";
  LocalFile file;
  file.fd = open(temp.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC | O_NOFOLLOW,
                 static_cast<mode_t>(record.mode & 0777));
  if (file.fd < 0) {
    return fail(errno_text(path));
  }
  DM_TRY(stream.write(std::string_view("\0", 1)));
  auto received = [&]() -> Result<void> {
    uint64_t left = record.size;
    while (left > 0) {
      std::string_view piece;
      auto got = stream.read_some(static_cast<size_t>(std::min<uint64_t>(left, k_chunk)), piece);
      DM_TRY(got);
      if (!*got) {
        return fail(stream.closed_error());
      }
      if (::write(file.fd, piece.data(), piece.size()) != static_cast<ssize_t>(piece.size())) {
        return fail(errno_text(path));
      }
      left -= piece.size();
    }
    return stream.expect_ack(); // the source's own status after the data
  }();
  if (received && rename(temp.c_str(), path.c_str()) != 0) {
    received = fail(errno_text(path));
  }
  if (!received) {
    unlink(temp.c_str());
    return received;
  }
  return stream.write(std::string_view("\0", 1));
}

Result<void> make_directory(const std::filesystem::path& path, int mode) {
  if (mkdir(path.c_str(), static_cast<mode_t>(mode & 0777) | S_IRWXU) == 0) {
    return {};
  }
  struct stat info {};
  if (errno == EEXIST && lstat(path.c_str(), &info) == 0 && S_ISDIR(info.st_mode)) {
    return {};
  }
  return fail(errno_text(path));
}

// Runs the sink side: the first entry lands at `local`, the ones inside a
// directory at <that directory>/<name>, where each name is one safe component.
Result<void> receive_all(ScpStream& stream, const std::filesystem::path& local,
                         Recursive recursive) {
  DM_TRY(stream.write(std::string_view("\0", 1)));
  std::vector<std::filesystem::path> directories;
  bool received_any = false;
  std::string line;
  while (true) {
    auto got = stream.read_line(line);
    DM_TRY(got);
    if (!*got) {
      if (!received_any || !directories.empty()) {
        return fail(stream.closed_error());
      }
      return {};
    }
    auto record = parse_scp_record(line);
    DM_TRY(record);
    switch (record->kind) {
    case ScpRecordKind::warning:
    case ScpRecordKind::fatal:
      return fail(record->text);
    case ScpRecordKind::times:
      DM_TRY(stream.write(std::string_view("\0", 1)));
      break;
    case ScpRecordKind::end_directory:
      if (directories.empty()) {
        return fail(ErrorKind::ssh, "the remote scp ended a directory it never started");
      }
      directories.pop_back();
      DM_TRY(stream.write(std::string_view("\0", 1)));
      break;
    case ScpRecordKind::directory: {
      if (recursive == Recursive::no) {
        return fail(ErrorKind::ssh, "the remote scp sent a directory for a file copy");
      }
      if (directories.size() >= k_max_depth || (received_any && directories.empty())) {
        return fail(ErrorKind::ssh, "the remote scp sent more than was asked for");
      }
      auto path = directories.empty() ? local : directories.back() / record->text;
      DM_TRY(make_directory(path, record->mode));
      directories.push_back(path);
      received_any = true;
      DM_TRY(stream.write(std::string_view("\0", 1)));
      break;
    }
    case ScpRecordKind::file: {
      if (received_any && directories.empty()) {
        return fail(ErrorKind::ssh, "the remote scp sent more than was asked for");
      }
      auto path = directories.empty() ? local : directories.back() / record->text;
      DM_TRY(receive_file(stream, path, *record));
      received_any = true;
      break;
    }
    }
  }
}

// "scp -t|-f [-r] -- PATH" for the remote side; an empty path means the home directory.
std::string remote_scp_command(char mode, const std::string& path, Recursive recursive) {
  return fmt::format("scp -{}{} -- {}", mode, recursive == Recursive::yes ? " -r" : "",
                     shell_quote(path.empty() ? "." : path));
}

} // namespace

Result<void> SshShell::copy_to(const std::filesystem::path& local, const std::string& remote,
                               Recursive recursive) {
  struct stat info {};
  if (stat(local.c_str(), &info) != 0) {
    return fail(errno_text(local));
  }
  std::string name = local.filename().string();
  if (name.empty() || name == "." || name == "..") {
    name = std::filesystem::absolute(local).lexically_normal().parent_path().filename().string();
  }
  SshSession& session = *m_session;
  Deadline deadline = deadline_in(k_transfer_timeout_seconds);
  auto channel = start_command(session, remote_scp_command('t', remote, recursive), false, deadline);
  DM_TRY(channel);
  ++m_commands_run;
  ScpStream stream(session, (*channel)->get(), deadline);
  auto sent = [&]() -> Result<void> {
    DM_TRY(stream.expect_ack()); // the sink is ready
    return send_entry(stream, local, name, recursive, 0);
  }();
  DM_TRY_CTX(sent, fmt::format("copy to {}:{}", session.target().host, remote));
  auto eof = retry_eagain(session, deadline,
                          [&] { return libssh2_channel_send_eof((*channel)->get()); });
  DM_TRY(eof);
  return {};
}

Result<void> SshShell::copy_from(const std::string& remote, const std::filesystem::path& local,
                                 Recursive recursive) {
  SshSession& session = *m_session;
  Deadline deadline = deadline_in(k_transfer_timeout_seconds);
  auto channel = start_command(session, remote_scp_command('f', remote, recursive), false, deadline);
  DM_TRY(channel);
  ++m_commands_run;
  ScpStream stream(session, (*channel)->get(), deadline);
  DM_TRY_CTX(receive_all(stream, local, recursive),
             fmt::format("copy from {}:{}", session.target().host, remote));
  return {};
}

} // namespace dm
