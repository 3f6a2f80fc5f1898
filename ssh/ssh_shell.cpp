#include "ssh/ssh_shell.h"

#include "core/machine_store.h"
#include "core/shell_quote.h"
#include "ssh/ssh_session.h"

#include <array>
#include <fcntl.h>
#include <fmt/format.h>
#include <fstream>
#include <sys/stat.h>
#include <unistd.h>

namespace dm {

namespace {

constexpr size_t k_chunk = 64 * 1024;
constexpr int k_transfer_timeout_seconds = 3600;

// A libssh2 channel closed and freed on scope exit (bounded: the session is non-blocking).
class Channel {
public:
  Channel(SshSession& session, LIBSSH2_CHANNEL* channel) : m_session(session), m_channel(channel) {}
  Channel(const Channel&) = delete;
  Channel& operator=(const Channel&) = delete;
  ~Channel() {
    if (m_channel != nullptr) {
      Deadline deadline = deadline_in(5);
      (void)retry_eagain(m_session, deadline, [&] { return libssh2_channel_close(m_channel); });
      (void)retry_eagain(m_session, deadline, [&] { return libssh2_channel_free(m_channel); });
    }
  }
  [[nodiscard]] LIBSSH2_CHANNEL* get() const { return m_channel; }

private:
  SshSession& m_session;
  LIBSSH2_CHANNEL* m_channel;
};

std::string channel_error(const SshSession& session, const std::string& what) {
  return fmt::format("{} on {}: {}", what, session.target().host, session.last_error());
}

// Writes all of data to the channel (stdin of the remote side).
Result<void> write_all(SshSession& session, LIBSSH2_CHANNEL* channel, std::string_view data,
                       Deadline deadline) {
  size_t written = 0;
  while (written < data.size()) {
    size_t length = std::min(k_chunk, data.size() - written);
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

Result<void> finish_sending(SshSession& session, LIBSSH2_CHANNEL* channel, Deadline deadline) {
  auto sent = retry_eagain(session, deadline, [&] { return libssh2_channel_send_eof(channel); });
  DM_TRY(sent);
  auto acknowledged =
      retry_eagain(session, deadline, [&] { return libssh2_channel_wait_eof(channel); });
  DM_TRY(acknowledged);
  return {};
}

} // namespace

SshShell::SshShell(std::unique_ptr<SshSession> session) : m_session(std::move(session)) {}
SshShell::~SshShell() = default;

Result<ExecResult> SshShell::exec(const std::string& command, const ExecOptions& options) {
  SshSession& session = *m_session;
  Deadline deadline = deadline_in(options.timeout_seconds);
  auto opened = retry_eagain(session, deadline, [&] {
    return libssh2_channel_open_ex(session.raw(), "session", sizeof "session" - 1,
                                   LIBSSH2_CHANNEL_WINDOW_DEFAULT, LIBSSH2_CHANNEL_PACKET_DEFAULT,
                                   nullptr, 0);
  });
  DM_TRY(opened);
  if (*opened == nullptr) {
    return fail(ErrorKind::ssh, channel_error(session, "open a channel"));
  }
  Channel channel(session, *opened);
  if (options.request_pty) {
    auto pty = retry_eagain(session, deadline,
                            [&] { return libssh2_channel_request_pty(channel.get(), "xterm"); });
    DM_TRY(pty);
  }
  auto started = retry_eagain(session, deadline, [&] {
    return libssh2_channel_process_startup(channel.get(), "exec", sizeof "exec" - 1,
                                           command.data(), static_cast<unsigned>(command.size()));
  });
  DM_TRY(started);
  if (*started != 0) {
    return fail(ErrorKind::ssh, channel_error(session, "run a command"));
  }
  ++m_commands_run;

  ExecResult result;
  std::array<char, k_chunk> buffer{};
  size_t stdin_written = 0;
  bool eof_sent = false;
  const std::string& input = options.stdin_data;
  while (true) {
    bool progressed = false;
    if (stdin_written < input.size()) {
      ssize_t count = libssh2_channel_write(channel.get(), input.data() + stdin_written,
                                            std::min(k_chunk, input.size() - stdin_written));
      if (count > 0) {
        stdin_written += static_cast<size_t>(count);
        progressed = true;
      } else if (count < 0 && count != LIBSSH2_ERROR_EAGAIN) {
        // The command may exit without reading all of its input; stop feeding it.
        stdin_written = input.size();
      }
    } else if (!eof_sent) {
      int sent = libssh2_channel_send_eof(channel.get());
      if (sent != LIBSSH2_ERROR_EAGAIN) {
        eof_sent = true;
        progressed = true;
      }
    }
    bool streams_done = true;
    for (int stream : {0, SSH_EXTENDED_DATA_STDERR}) {
      ssize_t count = libssh2_channel_read_ex(channel.get(), stream, buffer.data(), buffer.size());
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
    if (libssh2_channel_eof(channel.get()) != 0 && streams_done) {
      break;
    }
    if (!progressed) {
      auto waited = session.wait_socket(deadline);
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
  auto closed = retry_eagain(session, deadline, [&] { return libssh2_channel_close(channel.get()); });
  DM_TRY(closed);
  auto waited =
      retry_eagain(session, deadline, [&] { return libssh2_channel_wait_closed(channel.get()); });
  DM_TRY(waited);
  result.exit_status = libssh2_channel_get_exit_status(channel.get());
  char* signal_name = nullptr;
  libssh2_channel_get_exit_signal(channel.get(), &signal_name, nullptr, nullptr, nullptr, nullptr,
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

Result<void> SshShell::upload_file(const std::filesystem::path& local, const std::string& remote) {
  SshSession& session = *m_session;
  struct stat info {};
  if (stat(local.c_str(), &info) != 0 || !S_ISREG(info.st_mode)) {
    return fail(fmt::format("{}: not a regular file (use -r for directories)", local.string()));
  }
  std::ifstream input(local, std::ios::binary);
  if (!input) {
    return fail(fmt::format("{}: cannot read", local.string()));
  }
  Deadline deadline = deadline_in(k_transfer_timeout_seconds);
  auto opened = retry_eagain(session, deadline, [&] {
    return libssh2_scp_send64(session.raw(), remote.c_str(), static_cast<int>(info.st_mode & 0777),
                              info.st_size, 0, 0);
  });
  DM_TRY(opened);
  if (*opened == nullptr) {
    return fail(channel_error(session, "copy to " + remote));
  }
  Channel channel(session, *opened);
  std::vector<char> buffer(k_chunk);
  while (input) {
    input.read(buffer.data(), static_cast<std::streamsize>(buffer.size()));
    auto count = static_cast<size_t>(input.gcount());
    if (count == 0) {
      break;
    }
    DM_TRY_CTX(write_all(session, channel.get(), std::string_view(buffer.data(), count), deadline),
               "copy to " + remote);
  }
  return finish_sending(session, channel.get(), deadline);
}

Result<void> SshShell::download_file(const std::string& remote, const std::filesystem::path& local) {
  SshSession& session = *m_session;
  Deadline deadline = deadline_in(k_transfer_timeout_seconds);
  libssh2_struct_stat info{};
  auto opened = retry_eagain(
      session, deadline, [&] { return libssh2_scp_recv2(session.raw(), remote.c_str(), &info); });
  DM_TRY(opened);
  if (*opened == nullptr) {
    return fail(channel_error(session, "copy from " + remote));
  }
  Channel channel(session, *opened);
  std::string temp = local.string() + ".dmachine-part";
  int fd = open(temp.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC,
                static_cast<mode_t>(info.st_mode & 0777));
  if (fd < 0) {
    return fail(fmt::format("{}: {}", local.string(), std::strerror(errno)));
  }
  auto received = [&]() -> Result<void> {
    std::vector<char> buffer(k_chunk);
    auto left = static_cast<size_t>(info.st_size);
    while (left > 0) {
      auto count = retry_eagain(session, deadline, [&] {
        return libssh2_channel_read(channel.get(), buffer.data(), std::min(left, buffer.size()));
      });
      DM_TRY(count);
      if (*count <= 0) {
        return fail(ErrorKind::ssh, channel_error(session, "copy from " + remote));
      }
      if (write(fd, buffer.data(), static_cast<size_t>(*count)) != *count) {
        return fail(fmt::format("{}: {}", local.string(), std::strerror(errno)));
      }
      left -= static_cast<size_t>(*count);
    }
    return {};
  }();
  close(fd);
  if (!received) {
    unlink(temp.c_str());
    return fail(received.error());
  }
  if (rename(temp.c_str(), local.c_str()) != 0) {
    unlink(temp.c_str());
    return fail(fmt::format("{}: {}", local.string(), std::strerror(errno)));
  }
  return {};
}

Result<void> SshShell::upload_tree(const std::filesystem::path& local, const std::string& remote) {
  std::error_code error;
  if (!std::filesystem::is_directory(local, error)) {
    return upload_file(local, remote);
  }
  SshSession& session = *m_session;
  Deadline deadline = deadline_in(k_transfer_timeout_seconds);
  auto sftp = session.sftp(deadline);
  DM_TRY(sftp);
  auto make_dir = [&](const std::string& path) -> Result<void> {
    auto made = retry_eagain(session, deadline, [&] {
      return libssh2_sftp_mkdir_ex(*sftp, path.c_str(), static_cast<unsigned>(path.size()), 0755);
    });
    DM_TRY(made);
    if (*made != 0) {
      LIBSSH2_SFTP_ATTRIBUTES attributes{};
      auto stat_status = retry_eagain(session, deadline, [&] {
        return libssh2_sftp_stat_ex(*sftp, path.c_str(), static_cast<unsigned>(path.size()),
                                    LIBSSH2_SFTP_STAT, &attributes);
      });
      DM_TRY(stat_status);
      if (*stat_status != 0 || !LIBSSH2_SFTP_S_ISDIR(attributes.permissions)) {
        return fail(fmt::format("make directory {} on {}", path, session.target().host));
      }
    }
    return {};
  };
  DM_TRY(make_dir(remote));
  for (auto it = std::filesystem::recursive_directory_iterator(local, error);
       !error && it != std::filesystem::recursive_directory_iterator(); it.increment(error)) {
    std::string relative = std::filesystem::relative(it->path(), local).generic_string();
    std::string target = remote + "/" + relative;
    if (it->is_directory()) {
      DM_TRY(make_dir(target));
    } else if (it->is_regular_file()) {
      DM_TRY(upload_file(it->path(), target));
    }
  }
  if (error) {
    return fail(fmt::format("{}: {}", local.string(), error.message()));
  }
  return {};
}

Result<void> SshShell::download_tree(const std::string& remote, const std::filesystem::path& local) {
  SshSession& session = *m_session;
  Deadline deadline = deadline_in(k_transfer_timeout_seconds);
  auto sftp = session.sftp(deadline);
  DM_TRY(sftp);
  LIBSSH2_SFTP_ATTRIBUTES attributes{};
  auto stat_status = retry_eagain(session, deadline, [&] {
    return libssh2_sftp_stat_ex(*sftp, remote.c_str(), static_cast<unsigned>(remote.size()),
                                LIBSSH2_SFTP_STAT, &attributes);
  });
  DM_TRY(stat_status);
  if (*stat_status != 0) {
    return fail(fmt::format("{}:{}: no such file or directory", session.target().host, remote));
  }
  if (!LIBSSH2_SFTP_S_ISDIR(attributes.permissions)) {
    return download_file(remote, local);
  }
  std::error_code error;
  std::filesystem::create_directories(local, error);
  if (error) {
    return fail(fmt::format("{}: {}", local.string(), error.message()));
  }
  auto handle = retry_eagain(session, deadline, [&] {
    return libssh2_sftp_open_ex(*sftp, remote.c_str(), static_cast<unsigned>(remote.size()), 0, 0,
                                LIBSSH2_SFTP_OPENDIR);
  });
  DM_TRY(handle);
  if (*handle == nullptr) {
    return fail(fmt::format("list {} on {}", remote, session.target().host));
  }
  std::vector<std::pair<std::string, bool>> entries;
  while (true) {
    std::array<char, 1024> name{};
    LIBSSH2_SFTP_ATTRIBUTES entry{};
    auto count = retry_eagain(session, deadline, [&] {
      return libssh2_sftp_readdir_ex(*handle, name.data(), name.size(), nullptr, 0, &entry);
    });
    if (!count || *count <= 0) {
      break;
    }
    std::string entry_name(name.data(), static_cast<size_t>(*count));
    if (entry_name == "." || entry_name == "..") {
      continue;
    }
    entries.emplace_back(entry_name, LIBSSH2_SFTP_S_ISDIR(entry.permissions));
  }
  (void)retry_eagain(session, deadline, [&] { return libssh2_sftp_close_handle(*handle); });
  for (const auto& [entry_name, is_dir] : entries) {
    std::string child = remote + "/" + entry_name;
    DM_TRY(is_dir ? download_tree(child, local / entry_name)
                  : download_file(child, local / entry_name));
  }
  return {};
}

Result<std::unique_ptr<SshShell>> open_ssh_session(const SshTarget& target,
                                                   const ConnectOptions& options) {
  auto session = SshSession::connect(target, options);
  DM_TRY(session);
  return std::make_unique<SshShell>(std::move(*session));
}

Result<std::unique_ptr<RemoteShell>> open_ssh_shell(const SshTarget& target,
                                                    const ConnectOptions& options) {
  auto shell = open_ssh_session(target, options);
  DM_TRY(shell);
  return std::unique_ptr<RemoteShell>(std::move(*shell));
}

} // namespace dm
