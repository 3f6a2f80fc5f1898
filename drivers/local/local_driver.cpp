#include "drivers/local/local_driver.h"

#include "drivers/local/local_cgroup.h"
#include "drivers/local/local_host_files.h"
#include "drivers/local/local_image.h"
#include "drivers/local/local_launch.h"
#include "drivers/local/local_network.h"
#include "drivers/local/local_util.h"

#include <csignal>
#include <fmt/format.h>
#include <optional>
#include <system_error>
#include <unistd.h>

namespace dm {
namespace local {

namespace fs = std::filesystem;

namespace {

constexpr const char* k_default_image = "debian-docker";
constexpr const char* k_default_subnet = "10.213.0.0/24";
constexpr const char* k_default_bridge = "dmachine0";
constexpr int k_stop_wait_ms = 30000;
constexpr int k_kill_wait_ms = 10000;

class LocalDriver final : public Driver {
public:
  LocalDriver(DriverContext context, const nlohmann::json& config)
      : m_context(std::move(context)), m_tools(m_context.process_runner) {
    // Names used as root on this computer are derived, or checked, never taken as read:
    // a record that fails makes every operation fail (rm -f then forgets it).
    auto network = validate_network_fields(config, m_context.machine_dir, k_default_bridge,
                                           k_default_subnet);
    if (!network) {
      m_record_error = network.error().message;
      network = NetworkFields{machine_net_ids(m_context.machine_dir), k_default_bridge,
                              k_default_subnet, ""};
    }
    m_ip = network->ip;
    m_bridge = network->bridge;
    m_subnet = network->subnet;
    m_netns = network->ids.netns;
    m_veth = network->ids.veth;
    m_id = network->ids.id;
    m_lease_key = network->ids.lease_key;
    try {
      m_cache_dir = config.value("CacheDir", "");
      m_image = config.value("Image", k_default_image);
      m_memory = config.value("Memory", 0L);
      m_cpus = config.value("CPUs", 0L);
      m_mirror = config.value("Mirror", "");
    } catch (const nlohmann::json::exception& error) {
      if (m_record_error.empty()) {
        m_record_error = fmt::format("a local driver field has the wrong type ({})", error.what());
      }
    }
    if (m_cache_dir.empty()) {
      m_cache_dir = default_cache_dir();
    }
    if (m_record_error.empty() && !config.empty()) {
      m_record_error = check_record();
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
      m_cache_dir = default_cache_dir();
    }
    m_cache_dir = fs::absolute(m_cache_dir).lexically_normal().string();
    if (m_cache_dir.size() > 1 && m_cache_dir.back() == '/') {
      m_cache_dir.pop_back();
    }
    m_mirror = options.get("local-mirror", "");
    if (m_mirror.empty()) {
      m_mirror = detect_mirror();
    }
    m_subnet = options.get("local-subnet", k_default_subnet);
    if (auto prefix = subnet_prefix(m_subnet)) {
      m_subnet = *prefix + "0/24"; // the form records are checked against
    }
    m_bridge = options.get("local-bridge", k_default_bridge);
    auto memory = options.get("local-memory", "0");
    if (!parse_int(memory, m_memory) || m_memory < 0) {
      return fail(
          ErrorKind::precreate,
          fmt::format("--local-memory: \"{}\" is not a size in MB (0 for no limit)", memory));
    }
    auto cpus = options.get("local-cpus", "0");
    if (!parse_int(cpus, m_cpus) || m_cpus < 0) {
      return fail(
          ErrorKind::precreate,
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
      return fail(
          ErrorKind::precreate,
          fmt::format("--local-image: unknown image \"{}\"; use debian or debian-docker", m_image));
    }
    auto subnet = subnet_prefix(m_subnet);
    if (!subnet) {
      return fail(ErrorKind::precreate, subnet.error().message);
    }
    if (!valid_interface_name(m_bridge)) {
      return fail(ErrorKind::precreate,
                  fmt::format("--local-bridge: \"{}\" is not a valid interface name (1 to 15 "
                              "letters, digits, '.', '-' or '_'; not . or ..)",
                              m_bridge));
    }
    DM_TRY(network().check_subnet());
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
    std::vector<Tool> tools = {{"ip", "iproute2"},          {"iptables", "iptables"},
                               {"unshare", "util-linux"},   {"nsenter", "util-linux"},
                               {"mount", "mount"},          {"setsid", "util-linux"},
                               {"pivot_root", "util-linux"}, {"chroot", "coreutils"}};
    if (!fs::exists(images().rootfs("debian")) && !fs::exists(images().rootfs(m_image))) {
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
    DM_TRY(check_usable());
    DM_TRY_CTX(subnet_prefix(m_subnet), "local driver");
    auto key = read_text(m_context.machine_dir / "id_rsa.pub");
    if (key.empty()) {
      return fail(fmt::format("{} is missing or empty: the machine's SSH key must exist before "
                              "the local driver creates the host",
                              (m_context.machine_dir / "id_rsa.pub").string()));
    }
    DM_TRY_CTX(images().ensure(m_image), "prepare the local image");
    auto local = local_dir();
    DM_TRY(make_dir(local, 0700));
    DM_TRY(make_dir(local / "upper", 0755));
    DM_TRY(make_dir(local / "work", 0700));
    DM_TRY(make_dir(local / "rootfs", 0755));
    DM_TRY(make_dir(local / "docker", 0710));
    DM_TRY_CTX(write_host_files(local / "upper", m_context.machine_name, key),
               "write the host's files");
    DM_TRY_CTX(hold_engine_until_provisioned(local / "upper", images().rootfs(m_image)),
               "write the host's files");
    DM_TRY_CTX(mask_generators(local / "upper", images().rootfs(m_image)),
               "write the host's files");
    auto ip = network().allocate_ip();
    DM_TRY_CTX(ip, "allocate an IP address");
    m_ip = *ip;
    DM_TRY(start());
    return {};
  }

  Result<void> start() override {
    DM_TRY(check_usable());
    if (is_running()) {
      return {};
    }
    if (m_ip.empty()) {
      return fail("the machine has no IP address in its record; remove it and create it again");
    }
    if (!fs::exists(images().rootfs(m_image))) {
      DM_TRY_CTX(images().ensure(m_image), "prepare the local image");
    }
    DM_TRY(prepare_launch());
    DM_TRY_CTX(raise_host_limits(), "prepare this computer");
    DM_TRY_CTX(launch(m_tools, host_spec(), [this]() { return prepare_launch(); }),
               "launch the host");
    return {};
  }

  Result<void> stop() override {
    DM_TRY(check_usable());
    auto pid = running_pid();
    if (pid > 0) {
      ::kill(pid, SIGRTMIN + 4); // systemd: clean poweroff
      if (!wait_gone(pid, m_id, k_stop_wait_ms)) {
        ::kill(pid, SIGKILL);
        if (!wait_gone(pid, m_id, k_kill_wait_ms)) {
          return fail(ErrorKind::timeout,
                      fmt::format("the host's systemd (PID {}) did not exit after SIGKILL", pid));
        }
      }
    }
    return teardown();
  }

  Result<void> restart() override {
    DM_TRY(stop());
    return start();
  }

  Result<void> kill() override {
    DM_TRY(check_usable());
    auto pid = running_pid();
    if (pid > 0) {
      ::kill(pid, SIGKILL);
      if (!wait_gone(pid, m_id, k_kill_wait_ms)) {
        return fail(ErrorKind::timeout,
                    fmt::format("the host's systemd (PID {}) did not exit after SIGKILL", pid));
      }
    }
    return teardown();
  }

  Result<void> remove() override {
    if (!m_record_error.empty()) {
      // Nothing the record names is trusted: only the machine's own directory is cleared.
      DM_TRY_CTX(remove_tree(local_dir()), "remove the host's files");
      return fail(fmt::format("{}; nothing outside the store was touched (remove what the host "
                              "may have left on this computer by hand)",
                              m_record_error));
    }
    DM_TRY(kill());
    DM_TRY_CTX(network().free_ip(), "free the IP address");
    DM_TRY_CTX(remove_tree(local_dir()), "remove the host's files");
    return {};
  }

  Result<MachineState> state() override {
    DM_TRY(check_usable());
    if (!fs::exists(local_dir())) {
      return MachineState::error;
    }
    return is_running() ? MachineState::running : MachineState::stopped;
  }

  Result<std::string> ip() override {
    DM_TRY(check_usable());
    if (m_ip.empty()) {
      return fail("IP address is not set");
    }
    return m_ip;
  }

  Result<SshTarget> ssh_target() override {
    DM_TRY(check_usable());
    SshTarget target;
    target.host = m_ip;
    target.port = 22;
    target.user = "root";
    target.key_path = m_context.machine_dir / "id_rsa";
    return target;
  }

private:
  [[nodiscard]] fs::path local_dir() const { return m_context.machine_dir / "local"; }
  [[nodiscard]] std::string default_cache_dir() const {
    return (m_context.store_path / "cache" / "local").lexically_normal().string();
  }

  // What is wrong with a stored record's fields that name paths on this computer, or "".
  [[nodiscard]] std::string check_record() const {
    if (m_image != "debian" && m_image != "debian-docker") {
      return fmt::format("the record's Image \"{}\" is not debian or debian-docker", m_image);
    }
    if (m_netns != "dm-" + m_id) {
      return fmt::format("the record's Netns \"{}\" is not the one its directory gives (dm-{})",
                         m_netns, m_id);
    }
    if (!is_normal_absolute(m_cache_dir) ||
        (m_cache_dir != default_cache_dir() && !ImageCache::is_cache(m_cache_dir))) {
      return fmt::format("the record's CacheDir \"{}\" is not an image cache of dmachine",
                         m_cache_dir);
    }
    return "";
  }

  // Fails, saying why, when the record cannot be used.
  [[nodiscard]] Result<void> check_usable() const {
    if (!m_record_error.empty()) {
      return fail(m_record_error + "; the record was changed by hand: remove it with rm -f");
    }
    return {};
  }
  [[nodiscard]] ImageCache images() const {
    return ImageCache(m_tools, fs::path(m_cache_dir) / "images", m_mirror);
  }
  [[nodiscard]] HostNetwork network() const {
    return HostNetwork(m_tools, NetworkSpec{.id = m_id,
                                            .ip = m_ip,
                                            .bridge = m_bridge,
                                            .subnet = m_subnet,
                                            .netns = m_netns,
                                            .veth = m_veth,
                                            .machine_dir = m_lease_key});
  }
  [[nodiscard]] HostSpec host_spec() const {
    return HostSpec{.id = m_id,
                    .machine_name = m_context.machine_name,
                    .netns = m_netns,
                    .local_dir = local_dir(),
                    .image_rootfs = images().rootfs(m_image),
                    .memory_mb = m_memory,
                    .cpus = m_cpus};
  }

  // The host PID of this machine's systemd, or 0 when it is not running.
  [[nodiscard]] pid_t running_pid() const { return local::running_pid(local_dir(), m_id); }
  [[nodiscard]] bool is_running() const { return running_pid() > 0; }

  // Before a launch and between attempts: clear what an earlier host left, remake its network.
  Result<void> prepare_launch() {
    DM_TRY(teardown());
    DM_TRY_CTX(network().setup(), "set up the network");
    return {};
  }

  // Kills every process of the host (its cgroup subtree), then removes what lives outside
  // the namespaces: veth, netns, cgroup subtree. Fails when a process survives.
  Result<void> teardown() {
    auto survivors = kill_subtree(m_id, k_kill_wait_ms);
    if (!survivors.empty()) {
      std::string list;
      for (int pid : survivors) {
        list += (list.empty() ? "" : " ") + std::to_string(pid);
      }
      return fail(ErrorKind::timeout,
                  fmt::format("processes of the host survived SIGKILL for {} s (PIDs {})",
                              k_kill_wait_ms / 1000, list));
    }
    DM_TRY(network().remove_links());
    for (const auto& dir : cgroup_dirs(m_id)) {
      remove_cgroup_tree(dir);
    }
    return {};
  }

  DriverContext m_context;
  ToolRunner m_tools;
  std::string m_id;
  std::string m_lease_key;
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
  std::string m_record_error; // why the stored record cannot be used; "" when it can
};

} // namespace
} // namespace local

std::vector<DriverFlag> local_driver_flags() {
  return {
      {"local-image", "Image of the host: debian (base) or debian-docker (with docker.io)",
       local::k_default_image, "LOCAL_IMAGE", FlagType::string},
      {"local-cache-dir", "Where images are cached (default <store>/cache/local)", "",
       "LOCAL_CACHE_DIR", FlagType::string},
      {"local-mirror",
       "Debian mirror for debootstrap (default: from /etc/apt sources, else deb.debian.org)", "",
       "LOCAL_MIRROR", FlagType::string},
      {"local-subnet", "IPv4 /24 subnet of the bridge", local::k_default_subnet, "LOCAL_SUBNET",
       FlagType::string},
      {"local-bridge", "Bridge the hosts are attached to", local::k_default_bridge, "LOCAL_BRIDGE",
       FlagType::string},
      {"local-memory", "Memory limit in MB (0: none)", "0", "LOCAL_MEMORY", FlagType::integer},
      {"local-cpus", "CPU limit in CPUs (0: none)", "0", "LOCAL_CPUS", FlagType::integer},
  };
}

std::unique_ptr<Driver> make_local_driver(const DriverContext& context,
                                          const nlohmann::json& config) {
  return std::make_unique<local::LocalDriver>(context, config);
}

} // namespace dm
