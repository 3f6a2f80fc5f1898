#include "drivers/local/local_driver.h"

#include "core/machine_store.h"
#include "core/process_runner.h"
#include "core/shell_quote.h"

#include <algorithm>
#include <cerrno>
#include <chrono>
#include <csignal>
#include <cstdint>
#include <cstdio>
#include <cstring>
#include <fmt/format.h>
#include <fstream>
#include <set>
#include <sstream>
#include <sys/stat.h>
#include <system_error>
#include <thread>
#include <unistd.h>

namespace dm {

namespace fs = std::filesystem;

namespace {

constexpr const char* k_default_image = "debian-docker";
constexpr const char* k_default_subnet = "10.213.0.0/24";
constexpr const char* k_default_bridge = "dmachine0";
constexpr const char* k_default_mirror = "http://deb.debian.org/debian";
constexpr const char* k_leases_root = "/var/lib/dmachine/local";
constexpr const char* k_cgroup_root = "/sys/fs/cgroup";
constexpr int k_image_lock_timeout_seconds = 3600;
constexpr int k_lease_lock_timeout_seconds = 120;
constexpr int k_debootstrap_timeout_seconds = 1800;
constexpr int k_tool_timeout_seconds = 60;
// Boot under load (twenty hosts starting at once on two cores) takes a while.
constexpr int k_start_wait_ms = 120000;
constexpr int k_launch_attempts = 3;
constexpr int k_stop_wait_ms = 30000;
constexpr int k_kill_wait_ms = 10000;
constexpr int k_poll_ms = 100;

// ---------------------------------------------------------------------------
// Small helpers

std::string trim(std::string text) {
  auto not_space = [](unsigned char c) { return !std::isspace(c); };
  text.erase(text.begin(), std::find_if(text.begin(), text.end(), not_space));
  text.erase(std::find_if(text.rbegin(), text.rend(), not_space).base(), text.end());
  return text;
}

std::string read_text(const fs::path& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) {
    return "";
  }
  std::ostringstream out;
  out << in.rdbuf();
  return out.str();
}

std::vector<std::string> split_ws(const std::string& text) {
  std::istringstream in(text);
  std::vector<std::string> words;
  std::string word;
  while (in >> word) {
    words.push_back(word);
  }
  return words;
}

std::string fnv1a_hex(const std::string& text) {
  std::uint32_t hash = 2166136261u;
  for (unsigned char c : text) {
    hash ^= c;
    hash *= 16777619u;
  }
  return fmt::format("{:08x}", hash);
}

bool parse_int(const std::string& text, long& value) {
  try {
    size_t used = 0;
    value = std::stol(text, &used);
    return used == text.size();
  } catch (const std::exception&) {
    return false;
  }
}

// a.b.c.d as four octets.
bool parse_ipv4(const std::string& text, std::array<int, 4>& octets) {
  std::istringstream in(text);
  std::string part;
  int index = 0;
  while (std::getline(in, part, '.')) {
    long value = 0;
    if (index >= 4 || part.empty() || !parse_int(part, value) || value < 0 || value > 255) {
      return false;
    }
    octets[static_cast<size_t>(index++)] = static_cast<int>(value);
  }
  return index == 4;
}

Result<void> write_file(const fs::path& path, const std::string& data, int mode) {
  auto written = write_file_atomic(path, data, mode);
  if (!written) {
    return fail(written.error());
  }
  if (::chmod(path.c_str(), static_cast<mode_t>(mode)) != 0) {
    return fail(fmt::format("chmod {}: {}", path.string(), std::strerror(errno)));
  }
  return {};
}

Result<void> make_dir(const fs::path& path, int mode) {
  std::error_code error;
  fs::create_directories(path, error);
  if (error) {
    return fail(fmt::format("create directory {}: {}", path.string(), error.message()));
  }
  if (::chmod(path.c_str(), static_cast<mode_t>(mode)) != 0) {
    return fail(fmt::format("chmod {}: {}", path.string(), std::strerror(errno)));
  }
  return {};
}

bool tool_exists(const std::string& name) {
  for (const char* dir : {"/usr/sbin", "/usr/bin", "/sbin", "/bin", "/usr/local/sbin",
                          "/usr/local/bin"}) {
    if (::access((fs::path(dir) / name).c_str(), X_OK) == 0) {
      return true;
    }
  }
  return false;
}

// The first Debian mirror URI in this computer's apt sources that is not -security.
std::string detect_mirror() {
  auto usable = [](const std::string& uri) {
    return (uri.rfind("http://", 0) == 0 || uri.rfind("https://", 0) == 0) &&
           uri.find("security") == std::string::npos &&
           (uri.size() >= 7 && (uri.ends_with("/debian") || uri.ends_with("/debian/")));
  };
  std::vector<fs::path> files{"/etc/apt/sources.list"};
  std::error_code error;
  std::vector<fs::path> extra;
  for (const auto& entry : fs::directory_iterator("/etc/apt/sources.list.d", error)) {
    auto name = entry.path().filename().string();
    if (name.ends_with(".sources") || name.ends_with(".list")) {
      extra.push_back(entry.path());
    }
  }
  std::sort(extra.begin(), extra.end());
  files.insert(files.end(), extra.begin(), extra.end());
  for (const auto& file : files) {
    std::istringstream in(read_text(file));
    std::string line;
    bool deb822 = file.extension() == ".sources";
    while (std::getline(in, line)) {
      auto words = split_ws(line);
      if (words.empty() || words[0][0] == '#') {
        continue;
      }
      if (deb822 && words[0] == "URIs:") {
        for (size_t i = 1; i < words.size(); ++i) {
          if (usable(words[i])) {
            return words[i];
          }
        }
      } else if (!deb822 && words[0] == "deb") {
        for (size_t i = 1; i < words.size(); ++i) {
          if (words[i][0] == '[') {
            continue; // options like [arch=amd64]
          }
          if (usable(words[i])) {
            return words[i];
          }
          break;
        }
      }
    }
  }
  return k_default_mirror;
}

struct CgroupMount {
  std::string dir;     // mount point under /sys/fs/cgroup, e.g. "cpu", "systemd", "unified"
  std::string fstype;  // cgroup or cgroup2
  std::string options; // what to pass to -o for a v1 mount: "cpu", "none,name=systemd"
};

// The cgroup hierarchies mounted under /sys/fs/cgroup; empty dir means cgroup2 at the root.
std::vector<CgroupMount> cgroup_mounts() {
  std::vector<CgroupMount> mounts;
  std::istringstream in(read_text("/proc/self/mounts"));
  std::string line;
  const std::string prefix = std::string(k_cgroup_root) + "/";
  while (std::getline(in, line)) {
    auto words = split_ws(line);
    if (words.size() < 4) {
      continue;
    }
    const auto& point = words[1];
    const auto& type = words[2];
    if (type == "cgroup2" && point == k_cgroup_root) {
      return {CgroupMount{"", "cgroup2", ""}};
    }
    if ((type != "cgroup" && type != "cgroup2") || point.rfind(prefix, 0) != 0) {
      continue;
    }
    auto dir = point.substr(prefix.size());
    if (dir.empty() || dir.find('/') != std::string::npos) {
      continue;
    }
    if (type == "cgroup2") {
      mounts.push_back({dir, type, ""});
      continue;
    }
    std::vector<std::string> keep;
    std::istringstream opts(words[3]);
    std::string opt;
    static const std::set<std::string> k_generic = {"rw",     "ro",      "relatime", "noatime",
                                                    "nosuid", "nodev",   "noexec",   "nsdelegate",
                                                    "clone_children", "xattr"};
    while (std::getline(opts, opt, ',')) {
      if (k_generic.count(opt) != 0 || opt.rfind("release_agent", 0) == 0) {
        continue;
      }
      keep.push_back(opt);
    }
    std::string joined;
    for (const auto& k : keep) {
      joined += (joined.empty() ? "" : ",") + k;
    }
    if (joined.rfind("name=", 0) == 0) {
      joined = "none," + joined;
    }
    mounts.push_back({dir, type, joined});
  }
  return mounts;
}

// ---------------------------------------------------------------------------

enum class TeardownScope { processes_kept, all };

class LocalDriver final : public Driver {
public:
  LocalDriver(DriverContext context, const nlohmann::json& config)
      : m_context(std::move(context)) {
    m_ip = config.value("IPAddress", "");
    m_bridge = config.value("Bridge", k_default_bridge);
    m_subnet = config.value("Subnet", k_default_subnet);
    m_netns = config.value("Netns", "");
    m_veth = config.value("Veth", "");
    m_cache_dir = config.value("CacheDir", "");
    m_image = config.value("Image", k_default_image);
    m_memory = config.value("Memory", 0L);
    m_cpus = config.value("CPUs", 0L);
    m_mirror = config.value("Mirror", "");
    m_id = fnv1a_hex(m_context.machine_dir.string());
    if (m_netns.rfind("dm-", 0) == 0) {
      m_id = m_netns.substr(3);
    }
    if (m_netns.empty()) {
      m_netns = "dm-" + m_id;
    }
    if (m_veth.empty()) {
      m_veth = "dmv" + m_id;
    }
    if (m_cache_dir.empty()) {
      m_cache_dir = (m_context.store_path / "cache" / "local").string();
    }
  }

  [[nodiscard]] nlohmann::json config() const override {
    return {{"IPAddress", m_ip},
            {"MachineName", m_context.machine_name},
            {"SSHUser", "root"},
            {"SSHPort", 22},
            {"SSHKeyPath", (m_context.machine_dir / "id_rsa").string()},
            {"StorePath", m_context.store_path.string()},
            {"SwarmMaster", false},
            {"SwarmHost", ""},
            {"SwarmDiscovery", ""},
            {"Bridge", m_bridge},
            {"Subnet", m_subnet},
            {"Netns", m_netns},
            {"Veth", m_veth},
            {"CacheDir", m_cache_dir},
            {"Image", m_image},
            {"Memory", m_memory},
            {"CPUs", m_cpus},
            {"Mirror", m_mirror}};
  }

  Result<void> set_options(const DriverOptions& options) override {
    m_image = options.get("local-image", k_default_image);
    m_cache_dir = options.get("local-cache-dir", "");
    if (m_cache_dir.empty()) {
      m_cache_dir = (m_context.store_path / "cache" / "local").string();
    }
    m_mirror = options.get("local-mirror", "");
    if (m_mirror.empty()) {
      m_mirror = detect_mirror();
    }
    m_subnet = options.get("local-subnet", k_default_subnet);
    m_bridge = options.get("local-bridge", k_default_bridge);
    auto memory = options.get("local-memory", "0");
    if (!parse_int(memory, m_memory) || m_memory < 0) {
      return fail(ErrorKind::usage,
                  fmt::format("--local-memory: \"{}\" is not a size in MB (0 for no limit)", memory));
    }
    auto cpus = options.get("local-cpus", "0");
    if (!parse_int(cpus, m_cpus) || m_cpus < 0) {
      return fail(ErrorKind::usage,
                  fmt::format("--local-cpus: \"{}\" is not a number of CPUs (0 for no limit)", cpus));
    }
    return {};
  }

  Result<void> pre_create_check() override {
    if (::geteuid() != 0) {
      return fail(ErrorKind::precreate,
                  "the local driver needs root: it makes namespaces, mounts and cgroups; run "
                  "dmachine as root (e.g. with sudo)");
    }
    if (m_image != "debian" && m_image != "debian-docker") {
      return fail(ErrorKind::precreate,
                  fmt::format("--local-image: unknown image \"{}\"; use debian or debian-docker",
                              m_image));
    }
    auto subnet = parse_subnet();
    if (!subnet) {
      return fail(ErrorKind::precreate, subnet.error().message);
    }
    if (m_bridge.empty() || m_bridge.size() > 15 ||
        m_bridge.find_first_not_of("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789_.-") !=
            std::string::npos) {
      return fail(ErrorKind::precreate,
                  fmt::format("--local-bridge: \"{}\" is not a valid interface name (1 to 15 "
                              "letters, digits, '.', '-' or '_')",
                              m_bridge));
    }
    long online = ::sysconf(_SC_NPROCESSORS_ONLN);
    if (m_cpus > online) {
      return fail(ErrorKind::precreate,
                  fmt::format("--local-cpus: {} is more than the {} CPUs of this computer", m_cpus,
                              online));
    }
    if (m_memory != 0 && m_memory < 64) {
      return fail(ErrorKind::precreate,
                  fmt::format("--local-memory: {} MB is too little for a Debian host; give at "
                              "least 64 (or 0 for no limit)",
                              m_memory));
    }
    struct Tool {
      const char* name;
      const char* package;
    };
    std::vector<Tool> tools = {{"ip", "iproute2"},         {"iptables", "iptables"},
                               {"unshare", "util-linux"},  {"nsenter", "util-linux"},
                               {"mount", "mount"},         {"setsid", "util-linux"},
                               {"chroot", "coreutils"}};
    if (!fs::exists(image_rootfs("debian")) && !fs::exists(image_rootfs(m_image))) {
      tools.push_back({"debootstrap", "debootstrap"});
    }
    for (const auto& tool : tools) {
      if (!tool_exists(tool.name)) {
        return fail(ErrorKind::precreate,
                    fmt::format("the local driver needs the \"{}\" command; install it with "
                                "`apt-get install {}`",
                                tool.name, tool.package));
      }
    }
    if (cgroup_mounts().empty()) {
      return fail(ErrorKind::precreate,
                  "no cgroup hierarchy is mounted under /sys/fs/cgroup; mount cgroups (cgroup2 "
                  "or v1 controllers) before using the local driver");
    }
    return {};
  }

  Result<void> create() override {
    DM_TRY_CTX(parse_subnet(), "local driver");
    auto key = read_text(m_context.machine_dir / "id_rsa.pub");
    if (key.empty()) {
      return fail(fmt::format("{} is missing or empty: the machine's SSH key must exist before "
                              "the local driver creates the host",
                              (m_context.machine_dir / "id_rsa.pub").string()));
    }
    DM_TRY_CTX(ensure_image(m_image), "prepare the local image");
    auto local = local_dir();
    DM_TRY(make_dir(local, 0700));
    DM_TRY(make_dir(local / "upper", 0755));
    DM_TRY(make_dir(local / "work", 0700));
    DM_TRY(make_dir(local / "rootfs", 0755));
    DM_TRY(make_dir(local / "docker", 0710));
    DM_TRY_CTX(write_host_files(key), "write the host's files");
    auto ip = allocate_ip();
    DM_TRY_CTX(ip, "allocate an IP address");
    m_ip = *ip;
    DM_TRY(start());
    return {};
  }

  Result<void> start() override {
    if (is_running()) {
      return {};
    }
    if (m_ip.empty()) {
      return fail("the machine has no IP address in its record; remove it and create it again");
    }
    if (!fs::exists(image_rootfs(m_image))) {
      DM_TRY_CTX(ensure_image(m_image), "prepare the local image");
    }
    DM_TRY(teardown(TeardownScope::all));
    DM_TRY_CTX(setup_network(), "set up the network");
    DM_TRY_CTX(launch(), "launch the host");
    return {};
  }

  Result<void> stop() override {
    auto pid = running_pid();
    if (pid > 0) {
      ::kill(pid, SIGRTMIN + 4); // systemd: clean poweroff
      if (!wait_gone(pid, k_stop_wait_ms)) {
        ::kill(pid, SIGKILL);
        if (!wait_gone(pid, k_kill_wait_ms)) {
          return fail(ErrorKind::timeout,
                      fmt::format("the host's systemd (PID {}) did not exit after SIGKILL", pid));
        }
      }
    }
    return teardown(TeardownScope::all);
  }

  Result<void> restart() override {
    DM_TRY(stop());
    return start();
  }

  Result<void> kill() override {
    auto pid = running_pid();
    if (pid > 0) {
      ::kill(pid, SIGKILL);
      if (!wait_gone(pid, k_kill_wait_ms)) {
        return fail(ErrorKind::timeout,
                    fmt::format("the host's systemd (PID {}) did not exit after SIGKILL", pid));
      }
    }
    return teardown(TeardownScope::all);
  }

  Result<void> remove() override {
    DM_TRY(kill());
    DM_TRY_CTX(free_ip(), "free the IP address");
    auto local = local_dir();
    // Never delete through a mount: unmount anything still visible under our dir.
    for (int attempt = 0; attempt < 5 && mounted_below(local); ++attempt) {
      (void)run({"umount", "-R", "-l", (local / "rootfs").string()});
      (void)run({"umount", "-l", (local / "docker").string()});
      std::this_thread::sleep_for(std::chrono::milliseconds(200));
    }
    if (mounted_below(local)) {
      return fail(fmt::format("something is still mounted under {}; unmount it and run rm again",
                              local.string()));
    }
    std::error_code error;
    fs::remove_all(local, error);
    if (error) {
      return fail(fmt::format("delete {}: {}", local.string(), error.message()));
    }
    return {};
  }

  Result<MachineState> state() override {
    if (!fs::exists(local_dir())) {
      return MachineState::error;
    }
    return is_running() ? MachineState::running : MachineState::stopped;
  }

  Result<std::string> ip() override {
    if (m_ip.empty()) {
      return fail("IP address is not set");
    }
    return m_ip;
  }

  Result<SshTarget> ssh_target() override {
    SshTarget target;
    target.host = m_ip;
    target.port = 22;
    target.user = "root";
    target.key_path = m_context.machine_dir / "id_rsa";
    return target;
  }

private:
  [[nodiscard]] fs::path local_dir() const { return m_context.machine_dir / "local"; }
  [[nodiscard]] fs::path images_dir() const { return fs::path(m_cache_dir) / "images"; }
  [[nodiscard]] fs::path image_rootfs(const std::string& flavour) const {
    return images_dir() / flavour / "rootfs";
  }
  [[nodiscard]] fs::path leases_dir() const { return fs::path(k_leases_root) / m_bridge; }

  Result<ProcessResult> run(const std::vector<std::string>& argv,
                            int timeout_seconds = k_tool_timeout_seconds) {
    if (m_context.process_runner == nullptr) {
      return fail("the local driver has no process runner");
    }
    ProcessOptions options;
    options.timeout_seconds = timeout_seconds;
    return m_context.process_runner->run(argv, options);
  }

  Result<void> run_ok(const std::vector<std::string>& argv,
                      int timeout_seconds = k_tool_timeout_seconds) {
    auto result = run(argv, timeout_seconds);
    DM_TRY_CTX(result, join_argv(argv));
    if (result->exit_status != 0) {
      auto detail = trim(result->err.empty() ? result->out : result->err);
      if (detail.size() > 2000) {
        detail = "..." + detail.substr(detail.size() - 2000);
      }
      return fail(fmt::format("{} failed (exit {}): {}", join_argv(argv), result->exit_status,
                              detail));
    }
    return {};
  }

  // Returns the gateway "a.b.c.1" and the prefix "a.b.c."
  Result<std::string> parse_subnet() const {
    auto slash = m_subnet.find('/');
    std::array<int, 4> octets{};
    if (slash == std::string::npos || m_subnet.substr(slash + 1) != "24" ||
        !parse_ipv4(m_subnet.substr(0, slash), octets)) {
      return fail(ErrorKind::usage,
                  fmt::format("--local-subnet: \"{}\" is not an IPv4 /24 network such as "
                              "10.213.0.0/24 (only /24 subnets are supported)",
                              m_subnet));
    }
    return fmt::format("{}.{}.{}.", octets[0], octets[1], octets[2]);
  }

  // ---- image -------------------------------------------------------------

  Result<void> ensure_image(const std::string& flavour) {
    if (fs::exists(image_rootfs(flavour))) {
      return {};
    }
    DM_TRY(make_dir(images_dir(), 0755));
    auto lock = lock_file(images_dir() / ".lock", k_image_lock_timeout_seconds);
    DM_TRY_CTX(lock, "lock the image cache");
    if (fs::exists(image_rootfs(flavour))) {
      return {}; // built by someone else while we waited
    }
    std::error_code ignored;
    for (const auto& entry : fs::directory_iterator(images_dir(), ignored)) {
      if (entry.path().filename().string().rfind(".tmp-", 0) == 0) {
        fs::remove_all(entry.path(), ignored); // an interrupted build
      }
    }
    if (flavour == "debian") {
      return build_base();
    }
    return build_docker();
  }

  Result<void> build_base() {
    auto tmp = images_dir() / fmt::format(".tmp-debian-{}", ::getpid());
    auto root = tmp / "rootfs";
    DM_TRY(make_dir(tmp, 0755));
    auto mirror = m_mirror.empty() ? detect_mirror() : m_mirror;
    auto began = std::chrono::steady_clock::now();
    fmt::print(stderr, "Building the local \"debian\" image with debootstrap from {} (about a "
                       "minute, done once)...\n",
               mirror);
    std::fflush(stderr);
    auto result = run_ok({"debootstrap", "--variant=minbase",
                          "--include=systemd-sysv,openssh-server,sudo,iproute2,ca-certificates,"
                          "curl,dbus,procps,iptables,kmod",
                          "bookworm", root.string(), mirror},
                         k_debootstrap_timeout_seconds);
    if (!result) {
      std::error_code ignored;
      fs::remove_all(tmp, ignored);
      return fail(result.error().with_context(
          "debootstrap (check that the mirror is reachable, or pass --local-mirror)"));
    }
    // Every machine gets its own host keys and machine-id at first boot; no gettys.
    std::error_code error;
    for (const auto& entry : fs::directory_iterator(root / "etc/ssh", error)) {
      if (entry.path().filename().string().rfind("ssh_host_", 0) == 0) {
        fs::remove(entry.path(), error);
      }
    }
    for (const char* unit : {"getty@.service", "console-getty.service", "serial-getty@.service",
                             "getty.target", "systemd-networkd-wait-online.service"}) {
      auto link = root / "etc/systemd/system" / unit;
      fs::remove(link, error);
      fs::create_symlink("/dev/null", link, error);
    }
    DM_TRY(write_file(root / "etc/machine-id", "", 0444));
    fs::remove(root / "var/lib/dbus/machine-id", error);
    DM_TRY(write_file(root / "etc/hostname", "localhost\n", 0644));
    (void)run({"chroot", root.string(), "apt-get", "clean"});
    fs::rename(tmp, images_dir() / "debian", error);
    if (error) {
      return fail(fmt::format("rename {} into place: {}", tmp.string(), error.message()));
    }
    auto seconds =
        std::chrono::duration<double>(std::chrono::steady_clock::now() - began).count();
    fmt::print(stderr, "Built the \"debian\" image in {:.0f} s\n", seconds);
    return {};
  }

  Result<void> build_docker() {
    if (!fs::exists(image_rootfs("debian"))) {
      DM_TRY(build_base());
    }
    auto tmp = images_dir() / fmt::format(".tmp-debian-docker-{}", ::getpid());
    auto root = tmp / "rootfs";
    DM_TRY(make_dir(tmp, 0755));
    auto began = std::chrono::steady_clock::now();
    fmt::print(stderr, "Building the local \"debian-docker\" image (installs docker.io, done "
                       "once)...\n");
    std::fflush(stderr);
    auto cleanup = [&]() {
      std::error_code ignored;
      fs::remove_all(tmp, ignored);
    };
    auto copied = run_ok({"cp", "-a", image_rootfs("debian").string(), root.string()}, 600);
    if (!copied) {
      cleanup();
      return fail(copied.error());
    }
    auto r = shell_quote(root.string());
    auto script = fmt::format(
        "set -e\n"
        "mount -t proc proc {r}/proc\n"
        "mount --bind /dev {r}/dev\n"
        "cp /etc/resolv.conf {r}/etc/resolv.conf\n"
        "printf '#!/bin/sh\\nexit 101\\n' > {r}/usr/sbin/policy-rc.d\n"
        "chmod 755 {r}/usr/sbin/policy-rc.d\n"
        "export DEBIAN_FRONTEND=noninteractive\n"
        "chroot {r} apt-get update -q\n"
        "chroot {r} apt-get install -y -q --no-install-recommends docker.io\n"
        "chroot {r} apt-get clean\n"
        "rm -f {r}/usr/sbin/policy-rc.d {r}/etc/resolv.conf\n"
        "umount {r}/dev {r}/proc\n",
        fmt::arg("r", r));
    auto installed = run_ok({"unshare", "--mount", "--propagation", "private", "sh", "-c", script},
                            k_debootstrap_timeout_seconds);
    if (!installed) {
      cleanup();
      return fail(installed.error().with_context("install docker.io in the image"));
    }
    std::error_code error;
    fs::rename(tmp, images_dir() / "debian-docker", error);
    if (error) {
      cleanup();
      return fail(fmt::format("rename {} into place: {}", tmp.string(), error.message()));
    }
    auto seconds =
        std::chrono::duration<double>(std::chrono::steady_clock::now() - began).count();
    fmt::print(stderr, "Built the \"debian-docker\" image in {:.0f} s\n", seconds);
    return {};
  }

  // ---- host files --------------------------------------------------------

  Result<void> write_host_files(const std::string& public_key) {
    auto upper = local_dir() / "upper";
    const auto& name = m_context.machine_name;
    DM_TRY(make_dir(upper / "etc", 0755));
    DM_TRY(write_file(upper / "etc/hostname", name + "\n", 0644));
    DM_TRY(write_file(upper / "etc/hosts",
                      fmt::format("127.0.0.1\tlocalhost\n127.0.1.1\t{}\n::1\tlocalhost "
                                  "ip6-localhost ip6-loopback\nff02::1\tip6-allnodes\n"
                                  "ff02::2\tip6-allrouters\n",
                                  name),
                      0644));
    DM_TRY(write_file(upper / "etc/resolv.conf", resolv_conf(), 0644));
    DM_TRY(make_dir(upper / "root", 0700));
    DM_TRY(make_dir(upper / "root/.ssh", 0700));
    DM_TRY(write_file(upper / "root/.ssh/authorized_keys", public_key, 0600));
    return {};
  }

  static std::string resolv_conf() {
    auto text = read_text("/etc/resolv.conf");
    auto loopback = [](const std::string& content) {
      std::istringstream in(content);
      std::string line;
      bool any = false;
      bool all_loopback = true;
      while (std::getline(in, line)) {
        auto words = split_ws(line);
        if (words.size() >= 2 && words[0] == "nameserver") {
          any = true;
          all_loopback = all_loopback && words[1].rfind("127.", 0) == 0;
        }
      }
      return any && all_loopback;
    };
    if (loopback(text)) {
      auto upstream = read_text("/run/systemd/resolve/resolv.conf");
      if (!upstream.empty() && !loopback(upstream)) {
        return upstream;
      }
    }
    if (text.empty()) {
      return "nameserver 1.1.1.1\n";
    }
    return text;
  }

  // ---- leases and network -------------------------------------------------

  struct Lease {
    std::string ip;
    std::string machine_dir;
  };

  std::vector<Lease> read_leases() const {
    std::vector<Lease> leases;
    std::istringstream in(read_text(leases_dir() / "leases"));
    std::string line;
    while (std::getline(in, line)) {
      auto space = line.find(' ');
      if (space == std::string::npos) {
        continue;
      }
      leases.push_back({line.substr(0, space), line.substr(space + 1)});
    }
    return leases;
  }

  Result<void> write_leases(const std::vector<Lease>& leases) {
    std::string text;
    for (const auto& lease : leases) {
      text += lease.ip + " " + lease.machine_dir + "\n";
    }
    return write_file(leases_dir() / "leases", text, 0644);
  }

  Result<FileLock> lock_leases() {
    DM_TRY(make_dir(leases_dir(), 0755));
    auto lock = lock_file(leases_dir() / ".lock", k_lease_lock_timeout_seconds);
    DM_TRY_CTX(lock, "lock the IP leases of bridge " + m_bridge);
    return std::move(*lock);
  }

  Result<std::string> allocate_ip() {
    auto prefix = parse_subnet();
    DM_TRY(prefix);
    auto lock = lock_leases();
    DM_TRY(lock);
    auto leases = read_leases();
    auto me = m_context.machine_dir.string();
    std::set<std::string> taken;
    for (const auto& lease : leases) {
      if (lease.machine_dir == me && lease.ip.rfind(*prefix, 0) == 0) {
        return lease.ip;
      }
      taken.insert(lease.ip);
    }
    for (int host = 2; host <= 254; ++host) {
      auto candidate = *prefix + std::to_string(host);
      if (taken.count(candidate) == 0) {
        leases.push_back({candidate, me});
        DM_TRY(write_leases(leases));
        return candidate;
      }
    }
    return fail(fmt::format("no free IP address left in {} on bridge {}; remove machines or use "
                            "another --local-subnet/--local-bridge",
                            m_subnet, m_bridge));
  }

  Result<void> free_ip() {
    auto lock = lock_leases();
    DM_TRY(lock);
    auto leases = read_leases();
    auto me = m_context.machine_dir.string();
    std::erase_if(leases, [&](const Lease& lease) { return lease.machine_dir == me; });
    DM_TRY(write_leases(leases));
    if (leases.empty()) {
      DM_TRY_CTX(remove_bridge(), "remove bridge " + m_bridge);
      for (const auto& dir : cgroup_dirs()) {
        ::rmdir(dir.parent_path().c_str()); // the shared "dmachine" level; busy if still used
      }
    }
    return {};
  }

  std::vector<std::vector<std::string>> nat_rules() const {
    return {{"-t", "nat", "POSTROUTING", "-s", m_subnet, "!", "-o", m_bridge, "-j", "MASQUERADE"},
            {"-t", "filter", "FORWARD", "-i", m_bridge, "-j", "ACCEPT"},
            {"-t", "filter", "FORWARD", "-o", m_bridge, "-m", "conntrack", "--ctstate",
             "RELATED,ESTABLISHED", "-j", "ACCEPT"}};
  }

  // iptables argv for one rule with an action (-C, -A, -I, -D).
  static std::vector<std::string> iptables_argv(const std::vector<std::string>& rule,
                                                const std::string& action) {
    std::vector<std::string> argv = {"iptables", "-w", "30", rule[0], rule[1], action, rule[2]};
    argv.insert(argv.end(), rule.begin() + 3, rule.end());
    return argv;
  }

  Result<void> ensure_bridge() {
    auto prefix = parse_subnet();
    DM_TRY(prefix);
    auto gateway = *prefix + "1";
    auto shown = run({"ip", "link", "show", "dev", m_bridge});
    DM_TRY(shown);
    if (shown->exit_status != 0) {
      DM_TRY(run_ok({"ip", "link", "add", "name", m_bridge, "type", "bridge"}));
    }
    auto addresses = run({"ip", "-4", "-o", "addr", "show", "dev", m_bridge});
    DM_TRY(addresses);
    if (addresses->out.find(" " + gateway + "/24") == std::string::npos) {
      DM_TRY(run_ok({"ip", "addr", "add", gateway + "/24", "dev", m_bridge}));
    }
    DM_TRY(run_ok({"ip", "link", "set", "dev", m_bridge, "up"}));
    {
      std::ofstream forward("/proc/sys/net/ipv4/ip_forward");
      forward << "1\n";
      if (!forward) {
        return fail("cannot enable IPv4 forwarding (/proc/sys/net/ipv4/ip_forward)");
      }
    }
    bool first = true;
    for (const auto& rule : nat_rules()) {
      auto check = run(iptables_argv(rule, "-C"));
      DM_TRY(check);
      if (check->exit_status != 0) {
        // MASQUERADE is appended; the FORWARD accepts go first, before any DROP.
        DM_TRY(run_ok(iptables_argv(rule, first ? "-A" : "-I")));
      }
      first = false;
    }
    return {};
  }

  Result<void> remove_bridge() {
    for (const auto& rule : nat_rules()) {
      for (int attempt = 0; attempt < 5; ++attempt) {
        auto check = run(iptables_argv(rule, "-C"));
        DM_TRY(check);
        if (check->exit_status != 0) {
          break;
        }
        DM_TRY(run_ok(iptables_argv(rule, "-D")));
      }
    }
    auto shown = run({"ip", "link", "show", "dev", m_bridge});
    DM_TRY(shown);
    if (shown->exit_status == 0) {
      DM_TRY(run_ok({"ip", "link", "del", "dev", m_bridge}));
    }
    return {};
  }

  Result<void> setup_network() {
    auto prefix = parse_subnet();
    DM_TRY(prefix);
    auto lock = lock_leases();
    DM_TRY(lock);
    DM_TRY(ensure_bridge());
    auto peer = "dmp" + m_id;
    (void)run({"ip", "link", "del", "dev", peer});
    DM_TRY(run_ok({"ip", "netns", "add", m_netns}));
    DM_TRY(run_ok({"ip", "link", "add", "name", m_veth, "type", "veth", "peer", "name", peer}));
    DM_TRY(run_ok({"ip", "link", "set", "dev", peer, "netns", m_netns}));
    DM_TRY(run_ok({"ip", "-n", m_netns, "link", "set", "dev", peer, "name", "eth0"}));
    DM_TRY(run_ok({"ip", "-n", m_netns, "addr", "add", m_ip + "/24", "dev", "eth0"}));
    DM_TRY(run_ok({"ip", "-n", m_netns, "link", "set", "dev", "eth0", "up"}));
    DM_TRY(run_ok({"ip", "-n", m_netns, "link", "set", "dev", "lo", "up"}));
    DM_TRY(run_ok({"ip", "-n", m_netns, "route", "add", "default", "via", *prefix + "1"}));
    DM_TRY(run_ok({"ip", "link", "set", "dev", m_veth, "master", m_bridge}));
    DM_TRY(run_ok({"ip", "link", "set", "dev", m_veth, "up"}));
    return {};
  }

  // ---- cgroups ------------------------------------------------------------

  std::vector<fs::path> cgroup_dirs() const {
    std::vector<fs::path> dirs;
    for (const auto& mount : cgroup_mounts()) {
      dirs.push_back(fs::path(k_cgroup_root) / mount.dir / "dmachine" / m_id);
    }
    return dirs;
  }

  static void remove_cgroup_tree(const fs::path& top) {
    std::error_code error;
    if (!fs::exists(top, error)) {
      return;
    }
    for (int attempt = 0; attempt < 50; ++attempt) {
      std::vector<fs::path> dirs;
      for (auto it = fs::recursive_directory_iterator(top, error);
           !error && it != fs::recursive_directory_iterator(); it.increment(error)) {
        if (it->is_directory(error) && !it->is_symlink(error)) {
          dirs.push_back(it->path());
        }
      }
      std::sort(dirs.begin(), dirs.end(), [](const fs::path& a, const fs::path& b) {
        return a.string().size() > b.string().size();
      });
      dirs.push_back(top);
      bool busy = false;
      for (const auto& dir : dirs) {
        if (::rmdir(dir.c_str()) != 0 && errno != ENOENT) {
          busy = true;
        }
      }
      if (!busy) {
        return;
      }
      std::this_thread::sleep_for(std::chrono::milliseconds(k_poll_ms));
    }
  }

  // ---- launch -------------------------------------------------------------

  std::string launcher_script() const {
    auto local = local_dir();
    auto q = [](const fs::path& path) { return shell_quote(path.string()); };
    auto mounts = cgroup_mounts();
    std::string outer = "#!/bin/sh\n# Written by dmachine's local driver: starts the host.\n";
    outer += "set -u\nexec </dev/null\necho \"launcher: starting $(date)\"\n";
    std::string first_cpu_quota;
    for (const auto& mount : mounts) {
      auto base = fs::path(k_cgroup_root) / mount.dir;
      auto parent = base / "dmachine";
      auto leaf = parent / m_id;
      outer += fmt::format("mkdir -p {} {}\n", q(parent), q(leaf));
      if (mount.options == "cpuset") {
        for (const char* file : {"cpuset.cpus", "cpuset.mems"}) {
          outer += fmt::format("[ -n \"$(cat {p}/{f})\" ] || cat {b}/{f} > {p}/{f}\n"
                               "[ -n \"$(cat {l}/{f})\" ] || cat {p}/{f} > {l}/{f}\n",
                               fmt::arg("p", q(parent)), fmt::arg("b", q(base)),
                               fmt::arg("l", q(leaf)), fmt::arg("f", file));
        }
      }
      bool v2 = mount.fstype == "cgroup2";
      bool memory = mount.options == "memory" || (v2 && mount.dir.empty());
      bool cpu = mount.options == "cpu" || mount.options == "cpu,cpuacct" ||
                 mount.options == "cpuacct,cpu" || (v2 && mount.dir.empty());
      if (v2 && mount.dir.empty()) {
        outer += fmt::format(
            "echo +cpu +memory +pids > {}/cgroup.subtree_control 2>/dev/null\n"
            "echo +cpu +memory +pids > {}/cgroup.subtree_control 2>/dev/null\n",
            q(base), q(parent));
      }
      if (memory) {
        auto bytes = m_memory > 0 ? std::to_string(m_memory * 1024 * 1024) : std::string();
        if (v2) {
          outer += fmt::format("echo {} > {}/memory.max\n", m_memory > 0 ? bytes : "max", q(leaf));
        } else {
          outer += fmt::format("echo {} > {}/memory.limit_in_bytes\n",
                               m_memory > 0 ? bytes : "-1", q(leaf));
        }
      }
      if (cpu) {
        if (v2) {
          outer += fmt::format("echo {} > {}/cpu.max\n",
                               m_cpus > 0 ? fmt::format("{} 100000", m_cpus * 100000)
                                          : std::string("max 100000"),
                               q(leaf));
        } else {
          outer += fmt::format("echo 100000 > {l}/cpu.cfs_period_us\necho {v} > "
                               "{l}/cpu.cfs_quota_us\n",
                               fmt::arg("l", q(leaf)),
                               fmt::arg("v", m_cpus > 0 ? m_cpus * 100000 : -1));
        }
      }
      outer += fmt::format("echo $$ > {}/cgroup.procs || echo \"launcher: cannot join {}\"\n",
                           q(leaf), leaf.string());
    }
    // Once the host is started, the launcher leaves its subtree so that its own exit
    // leaves nothing there.
    std::string leave;
    for (const auto& mount : mounts) {
      leave += fmt::format("echo $$ > {}/cgroup.procs 2>/dev/null\n",
                           q(fs::path(k_cgroup_root) / mount.dir));
    }
    auto pid_file = local / "pid";
    outer += fmt::format(
        "ip netns exec {ns} unshare --mount --pid --uts --cgroup --fork --propagation private "
        "sh {inner} &\n"
        "U=$!\n"
        "{leave}"
        "i=0\n"
        "while [ $i -lt 2400 ]; do\n"
        "  C=$(cat /proc/$U/task/$U/children 2>/dev/null | cut -d' ' -f1)\n"
        "  if [ -n \"$C\" ] && [ \"$(cat /proc/$C/comm 2>/dev/null)\" = systemd ]; then\n"
        "    echo $C > {pid}.tmp && mv {pid}.tmp {pid}\n"
        "    echo \"launcher: systemd is PID $C\"\n"
        "    exit 0\n"
        "  fi\n"
        "  kill -0 $U 2>/dev/null || {{ echo 'launcher: the host exited during boot'; exit 1; }}\n"
        "  sleep 0.05\n"
        "  i=$((i+1))\n"
        "done\n"
        "echo 'launcher: systemd did not start within 120 s'\n"
        "exit 1\n",
        fmt::arg("ns", shell_quote(m_netns)), fmt::arg("inner", q(local / "inner.sh")),
        fmt::arg("pid", q(pid_file)), fmt::arg("leave", leave));
    return outer;
  }

  std::string inner_script() const {
    auto local = local_dir();
    auto q = [](const fs::path& path) { return shell_quote(path.string()); };
    auto root = q(local / "rootfs");
    std::string s = "#!/bin/sh\n# Written by dmachine's local driver: runs as PID 1 of the host "
                    "until it becomes systemd.\nset -e\n";
    s += fmt::format("mount -t overlay overlay -o lowerdir={},upperdir={},workdir={} {}\n",
                     image_rootfs(m_image).string(), (local / "upper").string(),
                     (local / "work").string(), root);
    s += fmt::format("R={}\n", root);
    s += fmt::format("mkdir -p \"$R/var/lib/docker\"\nmount --bind {} \"$R/var/lib/docker\"\n",
                     q(local / "docker"));
    s += "mount -t proc proc \"$R/proc\"\n"
         "mount -t sysfs sysfs \"$R/sys\"\n"
         "mount -t tmpfs -o mode=755,nosuid,nodev tmpfs \"$R/run\"\n"
         "mount -t tmpfs -o mode=1777,nosuid,nodev tmpfs \"$R/tmp\"\n"
         "mount -t tmpfs -o mode=755,nosuid tmpfs \"$R/dev\"\n"
         "mknod -m 666 \"$R/dev/null\" c 1 3\n"
         "mknod -m 666 \"$R/dev/zero\" c 1 5\n"
         "mknod -m 666 \"$R/dev/full\" c 1 7\n"
         "mknod -m 666 \"$R/dev/random\" c 1 8\n"
         "mknod -m 666 \"$R/dev/urandom\" c 1 9\n"
         "mknod -m 666 \"$R/dev/tty\" c 5 0\n"
         "[ -e /dev/fuse ] && mknod -m 666 \"$R/dev/fuse\" c 10 229 || true\n"
         "[ -e /dev/net/tun ] && mkdir -p \"$R/dev/net\" && mknod -m 666 \"$R/dev/net/tun\" c 10 "
         "200 || true\n"
         "mkdir -p \"$R/dev/pts\" \"$R/dev/shm\"\n"
         "mount -t devpts -o newinstance,ptmxmode=0666,mode=0620,gid=5 devpts \"$R/dev/pts\"\n"
         "ln -s pts/ptmx \"$R/dev/ptmx\"\n"
         "mount -t tmpfs -o mode=1777,nosuid,nodev tmpfs \"$R/dev/shm\"\n"
         "ln -s /proc/self/fd \"$R/dev/fd\"\n"
         "ln -s /proc/self/fd/0 \"$R/dev/stdin\"\n"
         "ln -s /proc/self/fd/1 \"$R/dev/stdout\"\n"
         "ln -s /proc/self/fd/2 \"$R/dev/stderr\"\n";
    auto mounts = cgroup_mounts();
    if (mounts.size() == 1 && mounts[0].dir.empty()) {
      s += "mount -t cgroup2 cgroup2 \"$R/sys/fs/cgroup\"\n";
    } else {
      s += "mount -t tmpfs -o mode=755,nosuid,nodev,noexec tmpfs \"$R/sys/fs/cgroup\"\n";
      for (const auto& mount : mounts) {
        auto point = fmt::format("\"$R/sys/fs/cgroup/\"{}", shell_quote(mount.dir));
        s += fmt::format("mkdir -p {}\n", point);
        if (mount.fstype == "cgroup2") {
          s += fmt::format("mount -t cgroup2 cgroup2 {}\n", point);
        } else {
          s += fmt::format("mount -t cgroup -o {} cgroup {}\n", shell_quote(mount.options), point);
        }
      }
      // cpu,cpuacct style symlinks for controllers mounted separately.
      s += "[ -d \"$R/sys/fs/cgroup/cpu\" ] && [ -d \"$R/sys/fs/cgroup/cpuacct\" ] && ln -s cpu "
           "\"$R/sys/fs/cgroup/cpu,cpuacct\" 2>/dev/null || true\n";
    }
    s += fmt::format("hostname {}\n", shell_quote(m_context.machine_name));
    // The host's own SSH host keys, made at first boot (the image has none).
    // ed25519 and ECDSA only: an RSA key takes seconds of CPU, far more when
    // many hosts boot at once.
    s += "for t in ed25519 ecdsa; do [ -f \"$R/etc/ssh/ssh_host_${t}_key\" ] || "
         "chroot \"$R\" ssh-keygen -q -t $t -N '' -f /etc/ssh/ssh_host_${t}_key; done\n";
    s += "exec chroot \"$R\" env -i container=other /lib/systemd/systemd\n";
    return s;
  }

  Result<void> launch() {
    auto local = local_dir();
    std::error_code ignored;
    fs::remove(local / "pid", ignored);
    DM_TRY(write_file(local / "launch.sh", launcher_script(), 0700));
    DM_TRY(write_file(local / "inner.sh", inner_script(), 0700));
    auto console = local / "console.log";
    // A host that dies during boot is launched again (bounded): under heavy
    // load (dozens of hosts booting on two cores) a boot has been seen to exit.
    for (int attempt = 1; attempt <= k_launch_attempts; ++attempt) {
      auto console_size = fs::file_size(console, ignored);
      if (ignored) {
        console_size = 0;
      }
      auto started = run_ok({"sh", "-c", "exec setsid -f sh \"$0\" </dev/null >>\"$1\" 2>&1",
                             (local / "launch.sh").string(), console.string()});
      DM_TRY(started);
      auto deadline = std::chrono::steady_clock::now() + std::chrono::milliseconds(k_start_wait_ms);
      bool exited = false;
      while (!exited && std::chrono::steady_clock::now() < deadline) {
        if (running_pid() > 0) {
          return {};
        }
        auto text = read_text(console);
        exited = text.size() > console_size &&
                 text.find("launcher: the host exited during boot", console_size) != std::string::npos;
        if (!exited) {
          std::this_thread::sleep_for(std::chrono::milliseconds(k_poll_ms));
        }
      }
      if (!exited) {
        break;
      }
      DM_TRY(teardown(TeardownScope::all));
      DM_TRY_CTX(setup_network(), "set up the network");
    }
    auto log = read_text(console);
    if (log.size() > 1500) {
      log = "..." + log.substr(log.size() - 1500);
    }
    return fail(ErrorKind::timeout,
                fmt::format("the host did not start within {} s; its console ({}) says:\n{}",
                            k_start_wait_ms / 1000, console.string(), trim(log)));
  }

  // ---- process state -------------------------------------------------------

  // The host PID of this machine's systemd, or 0 when it is not running.
  pid_t running_pid() const {
    auto text = trim(read_text(local_dir() / "pid"));
    long pid = 0;
    if (text.empty() || !parse_int(text, pid) || pid <= 1) {
      return 0;
    }
    return is_our_systemd(static_cast<pid_t>(pid)) ? static_cast<pid_t>(pid) : 0;
  }

  bool is_running() const { return running_pid() > 0; }

  // Robust against PID reuse: the process must be systemd, alive, and in our cgroup subtree.
  bool is_our_systemd(pid_t pid) const {
    auto proc = fs::path("/proc") / std::to_string(pid);
    if (trim(read_text(proc / "comm")) != "systemd") {
      return false;
    }
    auto stat = read_text(proc / "stat");
    auto paren = stat.rfind(')');
    if (paren == std::string::npos || paren + 2 >= stat.size() || stat[paren + 2] == 'Z' ||
        stat[paren + 2] == 'X') {
      return false;
    }
    return in_subtree(read_text(proc / "cgroup"));
  }

  // True while pid is a live (non-zombie) process of this machine, whatever it runs now
  // (at poweroff systemd execs systemd-shutdown).
  bool is_ours_alive(pid_t pid) const {
    auto proc = fs::path("/proc") / std::to_string(pid);
    auto stat = read_text(proc / "stat");
    auto paren = stat.rfind(')');
    if (paren == std::string::npos || paren + 2 >= stat.size() || stat[paren + 2] == 'Z' ||
        stat[paren + 2] == 'X') {
      return false;
    }
    return in_subtree(read_text(proc / "cgroup"));
  }

  bool wait_gone(pid_t pid, int timeout_ms) const {
    auto deadline = std::chrono::steady_clock::now() + std::chrono::milliseconds(timeout_ms);
    while (std::chrono::steady_clock::now() < deadline) {
      if (!is_ours_alive(pid)) {
        return true;
      }
      std::this_thread::sleep_for(std::chrono::milliseconds(k_poll_ms));
    }
    return !is_ours_alive(pid);
  }

  static bool mounted_below(const fs::path& dir) {
    auto text = read_text("/proc/self/mountinfo");
    auto needle = " " + dir.string() + "/";
    return text.find(needle) != std::string::npos;
  }

  // Removes what lives outside the namespaces: veth, netns, cgroup subtree.
  // Waits for any process left in the subtree (e.g. the launcher) first.
  Result<void> teardown(TeardownScope scope) {
    (void)scope;
    auto shown = run({"ip", "link", "show", "dev", m_veth});
    DM_TRY(shown);
    if (shown->exit_status == 0) {
      DM_TRY(run_ok({"ip", "link", "del", "dev", m_veth}));
    }
    if (fs::exists(fs::path("/run/netns") / m_netns)) {
      DM_TRY(run_ok({"ip", "netns", "del", m_netns}));
    }
    // Processes of the host (zombies included) may take a moment to be reaped.
    auto deadline = std::chrono::steady_clock::now() + std::chrono::milliseconds(k_kill_wait_ms);
    while (any_process_in_subtree() && std::chrono::steady_clock::now() < deadline) {
      std::this_thread::sleep_for(std::chrono::milliseconds(k_poll_ms));
    }
    for (const auto& dir : cgroup_dirs()) {
      remove_cgroup_tree(dir);
    }
    return {};
  }

  bool in_subtree(const std::string& cgroups) const {
    auto marker = "/dmachine/" + m_id;
    auto at = cgroups.find(marker);
    while (at != std::string::npos) {
      auto end = at + marker.size();
      if (end == cgroups.size() || cgroups[end] == '/' || cgroups[end] == '\n' ||
          cgroups[end] == ' ') {
        return true;
      }
      at = cgroups.find(marker, end);
    }
    return false;
  }

  bool any_process_in_subtree() const {
    std::error_code error;
    for (const auto& entry : fs::directory_iterator("/proc", error)) {
      auto name = entry.path().filename().string();
      if (name.empty() || !std::isdigit(static_cast<unsigned char>(name[0]))) {
        continue;
      }
      if (!in_subtree(read_text(entry.path() / "cgroup"))) {
        continue;
      }
      auto stat = read_text(entry.path() / "stat");
      auto paren = stat.rfind(')');
      if (paren != std::string::npos && paren + 2 < stat.size() && stat[paren + 2] == 'Z') {
        continue; // a zombie holds nothing; whoever adopted it reaps it
      }
      return true;
    }
    return false;
  }

  DriverContext m_context;
  std::string m_id;
  std::string m_ip;
  std::string m_bridge;
  std::string m_subnet;
  std::string m_netns;
  std::string m_veth;
  std::string m_cache_dir;
  std::string m_image;
  long m_memory = 0;
  long m_cpus = 0;
  std::string m_mirror;
};

} // namespace

std::vector<DriverFlag> local_driver_flags() {
  return {
      {"local-image", "Image of the host: debian (base) or debian-docker (with docker.io)",
       k_default_image, "LOCAL_IMAGE", FlagType::string},
      {"local-cache-dir", "Where images are cached (default <store>/cache/local)", "",
       "LOCAL_CACHE_DIR", FlagType::string},
      {"local-mirror",
       "Debian mirror for debootstrap (default: from /etc/apt sources, else deb.debian.org)", "",
       "LOCAL_MIRROR", FlagType::string},
      {"local-subnet", "IPv4 /24 subnet of the bridge", k_default_subnet, "LOCAL_SUBNET",
       FlagType::string},
      {"local-bridge", "Bridge the hosts are attached to", k_default_bridge, "LOCAL_BRIDGE",
       FlagType::string},
      {"local-memory", "Memory limit in MB (0: none)", "0", "LOCAL_MEMORY", FlagType::integer},
      {"local-cpus", "CPU limit in CPUs (0: none)", "0", "LOCAL_CPUS", FlagType::integer},
  };
}

std::unique_ptr<Driver> make_local_driver(const DriverContext& context,
                                          const nlohmann::json& config) {
  return std::make_unique<LocalDriver>(context, config);
}

} // namespace dm
