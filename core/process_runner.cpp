#include "core/process_runner.h"

#include "core/debug_log.h"

#include <fmt/format.h>

#include "core/interrupt.h"
#include "core/shell_quote.h"
#include "core/unique_fd.h"

#include <cerrno>
#include <chrono>
#include <csignal>
#include <cstring>
#include <fcntl.h>
#include <poll.h>
#include <spawn.h>
#include <sys/wait.h>
#include <thread>
#include <unistd.h>

extern char** environ;

namespace dm {

namespace {

using Clock = std::chrono::steady_clock;

std::string errno_text(int error) { return std::strerror(error); }

using Fd = UniqueFd;

struct Pipe {
  Fd read;
  Fd write;
};

Result<Pipe> make_pipe() {
  int fds[2];
  // O_CLOEXEC: a process spawned by another thread must not inherit our ends.
  if (::pipe2(fds, O_CLOEXEC) != 0) {
    return fail("pipe: " + errno_text(errno));
  }
  return Pipe{Fd(fds[0]), Fd(fds[1])};
}

void set_nonblocking(int fd) { ::fcntl(fd, F_SETFL, ::fcntl(fd, F_GETFL) | O_NONBLOCK); }

// The parent environment with extra_env set on top.
std::vector<std::string> build_env(const std::map<std::string, std::string>& extra) {
  std::vector<std::string> env;
  for (char** entry = environ; entry != nullptr && *entry != nullptr; ++entry) {
    std::string_view item(*entry);
    auto eq = item.find('=');
    std::string key(item.substr(0, eq));
    if (extra.count(key) == 0) {
      env.emplace_back(item);
    }
  }
  for (const auto& [key, value] : extra) {
    env.push_back(key + "=" + value);
  }
  return env;
}

std::vector<char*> c_strings(std::vector<std::string>& strings) {
  std::vector<char*> out;
  out.reserve(strings.size() + 1);
  for (auto& s : strings) {
    out.push_back(s.data());
  }
  out.push_back(nullptr);
  return out;
}

// Blocks SIGPIPE in this thread while it writes to the child's stdin, so a child
// that exits early gives EPIPE instead of killing dmachine; a pending SIGPIPE is
// consumed before the mask is restored.
class SigpipeBlock {
public:
  SigpipeBlock() {
    sigemptyset(&m_set);
    sigaddset(&m_set, SIGPIPE);
    pthread_sigmask(SIG_BLOCK, &m_set, &m_old);
  }
  SigpipeBlock(const SigpipeBlock&) = delete;
  SigpipeBlock& operator=(const SigpipeBlock&) = delete;
  ~SigpipeBlock() {
    timespec zero{0, 0};
    while (sigtimedwait(&m_set, nullptr, &zero) > 0) {
    }
    pthread_sigmask(SIG_SETMASK, &m_old, nullptr);
  }

private:
  sigset_t m_set{};
  sigset_t m_old{};
};

int decode_status(int status) {
  if (WIFEXITED(status)) {
    return WEXITSTATUS(status);
  }
  if (WIFSIGNALED(status)) {
    return 128 + WTERMSIG(status); // the shell's convention
  }
  return -1;
}

Result<int> wait_for(pid_t pid) {
  int status = 0;
  while (::waitpid(pid, &status, 0) < 0) {
    if (errno != EINTR) {
      return fail("waitpid: " + errno_text(errno));
    }
  }
  return decode_status(status);
}

// Returns true (and the status) once the child has exited.
bool try_reap(pid_t pid, int& exit_status) {
  int status = 0;
  pid_t done = ::waitpid(pid, &status, WNOHANG);
  if (done == pid) {
    exit_status = decode_status(status);
    return true;
  }
  return false;
}

// Reads what is there now; false at EOF or error.
bool drain(int fd, std::string& into) {
  char buffer[16384];
  while (true) {
    ssize_t n = ::read(fd, buffer, sizeof buffer);
    if (n > 0) {
      into.append(buffer, static_cast<std::size_t>(n));
      continue;
    }
    if (n < 0 && errno == EINTR) {
      continue;
    }
    return n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK);
  }
}

class SpawnAttributes {
public:
  SpawnAttributes() {
    posix_spawnattr_init(&m_attr);
    posix_spawn_file_actions_init(&m_actions);
  }
  SpawnAttributes(const SpawnAttributes&) = delete;
  SpawnAttributes& operator=(const SpawnAttributes&) = delete;
  ~SpawnAttributes() {
    posix_spawn_file_actions_destroy(&m_actions);
    posix_spawnattr_destroy(&m_attr);
  }
  posix_spawnattr_t m_attr{};
  posix_spawn_file_actions_t m_actions{};
};

} // namespace

Result<ProcessResult> SystemProcessRunner::run(const std::vector<std::string>& argv,
                                               const ProcessOptions& options) {
  if (!debug_enabled()) {
    return run_program(argv, options);
  }
  const auto started = std::chrono::steady_clock::now();
  auto result = run_program(argv, options);
  debug_log("run", fmt::format("{} -> {} in {}", debug_excerpt(join_argv(argv)),
                               result ? fmt::format("exit {}", result->exit_status)
                                      : "error: " + result.error().message,
                               elapsed_since(started)));
  return result;
}

Result<ProcessResult> SystemProcessRunner::run_program(const std::vector<std::string>& argv,
                                                       const ProcessOptions& options) {
  if (argv.empty()) {
    return fail(ErrorKind::usage, "run: empty command");
  }
  const std::string line = join_argv(argv);
  const bool inherit = options.inherit_stdio;

  Pipe in_pipe;
  Pipe out_pipe;
  Pipe err_pipe;
  if (!inherit) {
    auto in = make_pipe();
    DM_TRY_CTX(in, "run " + line);
    auto out = make_pipe();
    DM_TRY_CTX(out, "run " + line);
    auto err = make_pipe();
    DM_TRY_CTX(err, "run " + line);
    in_pipe = std::move(*in);
    out_pipe = std::move(*out);
    err_pipe = std::move(*err);
  }

  SpawnAttributes spawn;
  short flags = POSIX_SPAWN_SETSIGMASK | POSIX_SPAWN_SETSIGDEF;
  if (!inherit) {
    // Its own process group, so a timeout can kill whatever the child started too.
    flags |= POSIX_SPAWN_SETPGROUP;
    posix_spawnattr_setpgroup(&spawn.m_attr, 0);
    posix_spawn_file_actions_adddup2(&spawn.m_actions, in_pipe.read.get(), STDIN_FILENO);
    posix_spawn_file_actions_adddup2(&spawn.m_actions, out_pipe.write.get(), STDOUT_FILENO);
    posix_spawn_file_actions_adddup2(&spawn.m_actions, err_pipe.write.get(), STDERR_FILENO);
  }
#if defined(__GLIBC__) && (__GLIBC__ > 2 || (__GLIBC__ == 2 && __GLIBC_MINOR__ >= 34))
  // Descriptors other code opened without O_CLOEXEC must not leak into the child.
  posix_spawn_file_actions_addclosefrom_np(&spawn.m_actions, 3);
#endif
  posix_spawnattr_setflags(&spawn.m_attr, flags);
  sigset_t empty;
  sigemptyset(&empty);
  posix_spawnattr_setsigmask(&spawn.m_attr, &empty);
  sigset_t defaults;
  sigemptyset(&defaults);
  for (int sig : {SIGPIPE, SIGINT, SIGTERM, SIGQUIT, SIGHUP, SIGCHLD}) {
    sigaddset(&defaults, sig);
  }
  posix_spawnattr_setsigdefault(&spawn.m_attr, &defaults);

  std::vector<std::string> args(argv);
  std::vector<std::string> env = build_env(options.extra_env);
  auto c_args = c_strings(args);
  auto c_env = c_strings(env);

  SigpipeBlock sigpipe_block;
  pid_t pid = -1;
  int rc = posix_spawnp(&pid, c_args[0], &spawn.m_actions, &spawn.m_attr, c_args.data(),
                        c_env.data());
  if (rc != 0) {
    if (rc == ENOENT) {
      return fail("run " + line + ": " + argv[0] + ": command not found");
    }
    return fail("run " + line + ": " + errno_text(rc));
  }

  const auto deadline = Clock::now() + std::chrono::seconds(options.timeout_seconds);
  const bool limited = options.timeout_seconds > 0;
  ProcessResult result;

  if (inherit) {
    if (!limited) {
      auto status = wait_for(pid);
      DM_TRY_CTX(status, "run " + line);
      result.exit_status = *status;
      return result;
    }
    while (!try_reap(pid, result.exit_status)) {
      if (Clock::now() >= deadline) {
        ::kill(pid, SIGKILL);
        (void)wait_for(pid);
        return fail(ErrorKind::timeout, "run " + line + ": timed out after " +
                                            std::to_string(options.timeout_seconds) + "s (killed)");
      }
      std::this_thread::sleep_for(std::chrono::milliseconds(20));
    }
    return result;
  }

  // Parent side: close the child's ends, then feed stdin and read both outputs in
  // one poll loop so that no pipe can fill up and deadlock.
  in_pipe.read.reset();
  out_pipe.write.reset();
  err_pipe.write.reset();
  set_nonblocking(in_pipe.write.get());
  set_nonblocking(out_pipe.read.get());
  set_nonblocking(err_pipe.read.get());
  std::size_t stdin_done = 0;
  if (options.stdin_data.empty()) {
    in_pipe.write.reset();
  }

  bool out_open = true;
  bool err_open = true;
  bool reaped = false;
  auto kill_group = [&] {
    ::kill(-pid, SIGKILL);
    ::kill(pid, SIGKILL);
    if (!reaped) {
      (void)wait_for(pid);
    }
  };
  while (out_open || err_open) {
    pollfd fds[3];
    nfds_t count = 0;
    int out_index = -1;
    int err_index = -1;
    int in_index = -1;
    if (out_open) {
      out_index = static_cast<int>(count);
      fds[count++] = pollfd{out_pipe.read.get(), POLLIN, 0};
    }
    if (err_open) {
      err_index = static_cast<int>(count);
      fds[count++] = pollfd{err_pipe.read.get(), POLLIN, 0};
    }
    if (in_pipe.write.get() >= 0) {
      in_index = static_cast<int>(count);
      fds[count++] = pollfd{in_pipe.write.get(), POLLOUT, 0};
    }
    int ready = ::poll(fds, count, 100);
    if (ready < 0 && errno != EINTR) {
      int error = errno;
      kill_group();
      return fail("run " + line + ": poll: " + errno_text(error));
    }
    if (ready > 0) {
      if (out_index >= 0 && fds[out_index].revents != 0) {
        out_open = drain(out_pipe.read.get(), result.out);
      }
      if (err_index >= 0 && fds[err_index].revents != 0) {
        err_open = drain(err_pipe.read.get(), result.err);
      }
      if (in_index >= 0 && fds[in_index].revents != 0) {
        const std::string& data = options.stdin_data;
        ssize_t n = ::write(in_pipe.write.get(), data.data() + stdin_done, data.size() - stdin_done);
        if (n > 0) {
          stdin_done += static_cast<std::size_t>(n);
        }
        if ((n < 0 && errno != EAGAIN && errno != EINTR) || stdin_done == data.size()) {
          in_pipe.write.reset(); // done, or the child closed its stdin (EPIPE)
        }
      }
    }
    if (!reaped && try_reap(pid, result.exit_status)) {
      reaped = true;
      // What the child wrote is in the pipes now; a daemon it left behind may
      // keep them open forever, so take what is there and stop.
      if (out_open) {
        drain(out_pipe.read.get(), result.out);
      }
      if (err_open) {
        drain(err_pipe.read.get(), result.err);
      }
      break;
    }
    if (limited && Clock::now() >= deadline) {
      kill_group();
      return fail(ErrorKind::timeout, "run " + line + ": timed out after " +
                                          std::to_string(options.timeout_seconds) + "s (killed)");
    }
    if (interrupted()) {
      kill_group();
      return fail(ErrorKind::interrupted, "run " + line + ": interrupted");
    }
  }
  if (!reaped) {
    auto status = wait_for(pid);
    DM_TRY_CTX(status, "run " + line);
    result.exit_status = *status;
  }
  return result;
}

std::string join_argv(const std::vector<std::string>& argv) {
  std::string line;
  for (const auto& arg : argv) {
    if (!line.empty()) {
      line += ' ';
    }
    line += shell_quote(arg);
  }
  return line;
}

} // namespace dm
