// The SSH layer against a real OpenSSH server started on loopback for each test.
#include "core/machine_store.h"
#include "ssh/keygen.h"
#include "ssh/ssh_shell.h"

#include <catch2/catch.hpp>
#include <csignal>
#include <fmt/format.h>
#include <fstream>
#include <netinet/in.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <thread>
#include <unistd.h>

namespace fs = std::filesystem;
using namespace dm;

namespace {

int free_port() {
  int fd = socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in address{};
  address.sin_family = AF_INET;
  address.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  bind(fd, reinterpret_cast<sockaddr*>(&address), sizeof address);
  socklen_t length = sizeof address;
  getsockname(fd, reinterpret_cast<sockaddr*>(&address), &length);
  close(fd);
  return ntohs(address.sin_port);
}

std::string slurp(const fs::path& path) {
  auto text = read_file(path);
  return text ? *text : std::string();
}

int run_quiet(const std::string& command) { return std::system((command + " >/dev/null 2>&1").c_str()); }

// A real sshd on 127.0.0.1 with its own host key, accepting one client key.
class TestSshd {
public:
  TestSshd() {
    char pattern[] = "/tmp/dm-sshd-test.XXXXXX";
    m_dir = mkdtemp(pattern);
    fs::permissions(m_dir, fs::perms::owner_all);
    m_port = free_port();
    REQUIRE(generate_key_pair(m_dir / "client", "test").has_value());
    fs::copy_file(m_dir / "client.pub", m_dir / "authorized_keys");
    new_host_key();
  }
  ~TestSshd() {
    stop();
    fs::remove_all(m_dir);
  }
  TestSshd(const TestSshd&) = delete;
  TestSshd& operator=(const TestSshd&) = delete;

  void new_host_key() {
    fs::remove(m_dir / "host_key");
    fs::remove(m_dir / "host_key.pub");
    REQUIRE(run_quiet(fmt::format("ssh-keygen -q -t ed25519 -N '' -f {}/host_key", m_dir.string())) ==
            0);
  }

  void start() {
    fs::create_directories("/run/sshd");
    std::string user = getuid() == 0 ? "root" : std::string(getenv("USER") ? getenv("USER") : "");
    std::ofstream(m_dir / "sshd_config")
        << fmt::format("Port {}\nListenAddress 127.0.0.1\nHostKey {}/host_key\n"
                       "AuthorizedKeysFile {}/authorized_keys\nStrictModes no\nUsePAM no\n"
                       "PasswordAuthentication no\nKbdInteractiveAuthentication no\n"
                       "PidFile none\nLogLevel VERBOSE\nSubsystem sftp internal-sftp\n",
                       m_port, m_dir.string(), m_dir.string());
    m_pid = fork();
    if (m_pid == 0) {
      std::string log = (m_dir / "sshd.log").string();
      std::string config = (m_dir / "sshd_config").string();
      execl("/usr/sbin/sshd", "/usr/sbin/sshd", "-D", "-f", config.c_str(), "-E", log.c_str(), nullptr);
      _exit(127);
    }
  }

  void stop() {
    if (m_pid > 0) {
      kill(m_pid, SIGTERM);
      waitpid(m_pid, nullptr, 0);
      m_pid = -1;
    }
  }

  [[nodiscard]] SshTarget target() const {
    SshTarget target;
    target.host = "127.0.0.1";
    target.port = m_port;
    target.user = getuid() == 0 ? "root" : std::string(getenv("USER") ? getenv("USER") : "");
    target.key_path = m_dir / "client";
    target.known_hosts_path = m_dir / "known_hosts";
    return target;
  }

  // Connections sshd accepted a key on (its log says so once per session).
  [[nodiscard]] int accepted() const {
    std::string log = slurp(m_dir / "sshd.log");
    int count = 0;
    for (size_t at = log.find("Accepted publickey"); at != std::string::npos;
         at = log.find("Accepted publickey", at + 1)) {
      ++count;
    }
    return count;
  }

  [[nodiscard]] const fs::path& dir() const { return m_dir; }

private:
  fs::path m_dir;
  int m_port = 0;
  pid_t m_pid = -1;
};

bool sshd_available() { return access("/usr/sbin/sshd", X_OK) == 0 && access("/usr/bin/ssh-keygen", X_OK) == 0; }

ConnectOptions waiting(int seconds) {
  ConnectOptions options;
  options.wait_seconds = seconds;
  return options;
}

} // namespace

TEST_CASE("SSH session against a real sshd: exec, transfers, pinning", "[ssh][sshd]") {
  if (!sshd_available()) {
    WARN("SKIPPED: /usr/sbin/sshd or ssh-keygen missing (apt-get install openssh-server)");
    return;
  }
  TestSshd sshd;
  sshd.start();
  auto opened = open_ssh_session(sshd.target(), waiting(10));
  INFO((opened ? "" : opened.error().message));
  REQUIRE(opened.has_value());
  SshShell& shell = **opened;

  SECTION("first contact pins the host key in OpenSSH format, 0600") {
    std::string known = slurp(sshd.target().known_hosts_path);
    std::string host_pub = slurp(sshd.dir() / "host_key.pub");
    CHECK(known.rfind(fmt::format("[127.0.0.1]:{} ssh-ed25519 ", sshd.target().port), 0) == 0);
    CHECK(known.find(host_pub.substr(12, 68)) != std::string::npos);
    struct stat info {};
    REQUIRE(stat(sshd.target().known_hosts_path.c_str(), &info) == 0);
    CHECK((info.st_mode & 0777) == 0600);
  }

  SECTION("exec keeps exit status, stdout and stderr apart") {
    auto result = shell.exec("echo out; echo err >&2; exit 3");
    REQUIRE(result.has_value());
    CHECK(result->exit_status == 3);
    CHECK(result->out == "out\n");
    CHECK(result->err == "err\n");
  }

  SECTION("exec forwards stdin and streams large output") {
    std::string input(1 << 20, 'x');
    input += "end";
    ExecOptions options;
    options.stdin_data = input;
    auto result = shell.exec("cat", options);
    REQUIRE(result.has_value());
    CHECK(result->out == input);
    std::string streamed;
    ExecOptions streaming;
    streaming.on_stdout = [&](std::string_view chunk) { streamed += chunk; };
    auto streamed_result = shell.exec("seq 1 20000", streaming);
    REQUIRE(streamed_result.has_value());
    CHECK(streamed_result->out.empty());
    CHECK(streamed.size() > 100000);
  }

  SECTION("exec timeout is an error, not a hang") {
    ExecOptions options;
    options.timeout_seconds = 1;
    auto result = shell.exec("sleep 10", options);
    REQUIRE_FALSE(result.has_value());
    CHECK(result.error().kind == ErrorKind::timeout);
  }

  SECTION("upload sets the mode atomically; download reads it back") {
    std::string path = (sshd.dir() / "uploaded.key").string();
    REQUIRE(shell.upload("secret\n", path, 0600).has_value());
    struct stat info {};
    REQUIRE(stat(path.c_str(), &info) == 0);
    CHECK((info.st_mode & 0777) == 0600);
    auto back = shell.download(path);
    REQUIRE(back.has_value());
    CHECK(*back == "secret\n");
    REQUIRE(shell.upload("public\n", path, 0644).has_value());
    REQUIRE(stat(path.c_str(), &info) == 0);
    CHECK((info.st_mode & 0777) == 0644);
    CHECK(slurp(path) == "public\n");
  }

  SECTION("SCP file and tree copies keep bytes and layout") {
    std::string blob;
    for (unsigned i = 0; i < 300000; ++i) {
      blob += static_cast<char>((i * 7919U) % 251U);
    }
    REQUIRE(write_file_atomic(sshd.dir() / "blob", blob, 0640).has_value());
    REQUIRE(shell.copy_to(sshd.dir() / "blob", (sshd.dir() / "blob.remote").string(), Recursive::no)
                .has_value());
    REQUIRE(shell.copy_from((sshd.dir() / "blob.remote").string(), sshd.dir() / "blob.back",
                            Recursive::no)
                .has_value());
    CHECK(slurp(sshd.dir() / "blob.back") == blob);

    fs::create_directories(sshd.dir() / "tree/sub");
    REQUIRE(write_file_atomic(sshd.dir() / "tree/a", "one\n", 0644).has_value());
    REQUIRE(write_file_atomic(sshd.dir() / "tree/sub/b", "two\n", 0600).has_value());
    REQUIRE(shell.copy_to(sshd.dir() / "tree", (sshd.dir() / "tree.remote").string(), Recursive::yes)
                .has_value());
    CHECK(slurp(sshd.dir() / "tree.remote/sub/b") == "two\n");
    // Into an existing directory: the tree goes inside it, as with scp.
    REQUIRE(shell.copy_to(sshd.dir() / "tree", (sshd.dir() / "tree.remote").string(), Recursive::yes)
                .has_value());
    CHECK(slurp(sshd.dir() / "tree.remote/tree/a") == "one\n");
    REQUIRE(shell.copy_from((sshd.dir() / "tree.remote").string(), sshd.dir() / "tree.back",
                            Recursive::yes)
                .has_value());
    CHECK(slurp(sshd.dir() / "tree.back/a") == "one\n");
    CHECK(slurp(sshd.dir() / "tree.back/sub/b") == "two\n");
  }

  SECTION("SCP errors carry the remote scp's own message") {
    auto missing = shell.copy_from((sshd.dir() / "nosuch").string(), sshd.dir() / "x", Recursive::no);
    REQUIRE_FALSE(missing.has_value());
    CHECK(missing.error().message.find("No such file or directory") != std::string::npos);
    fs::create_directories(sshd.dir() / "adir");
    auto directory = shell.copy_from((sshd.dir() / "adir").string(), sshd.dir() / "x", Recursive::no);
    REQUIRE_FALSE(directory.has_value());
    CHECK(directory.error().message.find("not a regular file") != std::string::npos);
    REQUIRE(write_file_atomic(sshd.dir() / "small", "s", 0644).has_value());
    auto no_parent =
        shell.copy_to(sshd.dir() / "small", (sshd.dir() / "no/such/dir/x").string(), Recursive::no);
    REQUIRE_FALSE(no_parent.has_value());
    CHECK(no_parent.error().message.find("No such file or directory") != std::string::npos);
  }

  SECTION("exec streams stdin from a descriptor until its end") {
    int pipe_fds[2];
    REQUIRE(pipe(pipe_fds) == 0);
    std::thread writer([fd = pipe_fds[1]] {
      std::string chunk(1 << 16, 'y');
      for (int i = 0; i < 64; ++i) { // 4 MiB, more than any window or buffer
        if (write(fd, chunk.data(), chunk.size()) != static_cast<ssize_t>(chunk.size())) {
          break;
        }
      }
      close(fd);
    });
    ExecOptions options;
    options.stdin_fd = pipe_fds[0];
    auto result = shell.exec("wc -c", options);
    writer.join();
    close(pipe_fds[0]);
    REQUIRE(result.has_value());
    CHECK(result->out == "4194304\n");
  }

  SECTION("many commands and transfers share one connection") {
    for (int i = 0; i < 5; ++i) {
      REQUIRE(shell.exec("true").has_value());
    }
    REQUIRE(shell.upload("x", (sshd.dir() / "x").string(), 0600).has_value());
    CHECK(shell.commands_run() == 6);
    CHECK(sshd.accepted() == 1);
  }
}

TEST_CASE("a changed host key is refused; bad keys and dead ports fail fast", "[ssh][sshd]") {
  if (!sshd_available()) {
    WARN("SKIPPED: /usr/sbin/sshd or ssh-keygen missing (apt-get install openssh-server)");
    return;
  }
  TestSshd sshd;
  sshd.start();
  REQUIRE(open_ssh_session(sshd.target(), waiting(10)).has_value());
  REQUIRE(open_ssh_session(sshd.target(), waiting(10)).has_value()); // the pinned key matches

  SECTION("changed host key") {
    sshd.stop();
    sshd.new_host_key();
    sshd.start();
    auto opened = open_ssh_session(sshd.target(), waiting(10));
    REQUIRE_FALSE(opened.has_value());
    CHECK(opened.error().kind == ErrorKind::host_key_changed);
    CHECK(opened.error().message.find("has changed") != std::string::npos);
  }

  SECTION("a key the host does not accept") {
    SshTarget target = sshd.target();
    REQUIRE(generate_key_pair(sshd.dir() / "other", "other").has_value());
    target.key_path = sshd.dir() / "other";
    auto started = std::chrono::steady_clock::now();
    auto opened = open_ssh_session(target, ConnectOptions{});
    REQUIRE_FALSE(opened.has_value());
    CHECK(opened.error().message.find("authentication") != std::string::npos);
    CHECK(std::chrono::steady_clock::now() - started < std::chrono::seconds(10));
  }

  SECTION("nothing listening: bounded wait") {
    sshd.stop();
    auto started = std::chrono::steady_clock::now();
    auto opened = open_ssh_session(sshd.target(), waiting(2));
    REQUIRE_FALSE(opened.has_value());
    CHECK(opened.error().message.find("gave up after 2 s") != std::string::npos);
    CHECK(std::chrono::steady_clock::now() - started < std::chrono::seconds(6));
  }
}

TEST_CASE("generated keys: ECDSA PEM private key 0600 and matching OpenSSH public line", "[ssh]") {
  char pattern[] = "/tmp/dm-keygen-test.XXXXXX";
  fs::path dir = mkdtemp(pattern);
  REQUIRE(generate_key_pair(dir / "id_rsa", "dmachine-test").has_value());
  struct stat info {};
  REQUIRE(stat((dir / "id_rsa").c_str(), &info) == 0);
  CHECK((info.st_mode & 0777) == 0600);
  std::string pub = slurp(dir / "id_rsa.pub");
  CHECK(pub.rfind("ecdsa-sha2-nistp256 AAAA", 0) == 0);
  CHECK(pub.find(" dmachine-test\n") != std::string::npos);
  if (access("/usr/bin/ssh-keygen", X_OK) == 0) {
    // OpenSSH derives the same public key from the private one.
    std::string command = fmt::format("ssh-keygen -y -f {}/id_rsa > {}/derived", dir.string(), dir.string());
    REQUIRE(std::system(command.c_str()) == 0);
    std::string derived = slurp(dir / "derived");
    CHECK(pub.substr(0, pub.rfind(' ')) == derived.substr(0, derived.find_last_not_of("\n ") + 1));
  } else {
    WARN("ssh-keygen missing: the OpenSSH cross-check did not run");
  }
  fs::remove_all(dir);
}
