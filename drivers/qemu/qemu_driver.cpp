#include "drivers/qemu/qemu_driver.h"

#include "core/tcp_probe.h"

#include "core/interrupt.h"
#include "core/machine_record.h"
#include "core/machine_store.h"
#include "core/printable.h"
#include "core/progress.h"
#include "drivers/local/local_util.h"
#include "drivers/qemu/qemu_command.h"
#include "drivers/qemu/qemu_network.h"
#include "drivers/qemu/qmp_client.h"
#include "drivers/vm/vm_machine.h"

#include <arpa/inet.h>
#include <chrono>
#include <csignal>
#include <fmt/format.h>
#include <fstream>
#include <netinet/in.h>
#include <sys/socket.h>
#include <thread>
#include <unistd.h>

namespace dm {
namespace qemu {

namespace fs = std::filesystem;

namespace {

// 192.168.120.0/24: private (RFC 1918), outside VirtualBox's 192.168.56.0/21, libvirt's
// 192.168.122.0/24, home routers' 192.168.0/1.x and the 10/8 of corporate networks; Docker's
// default pools reach it only after their fifteen 172.17-31 networks. Overlaps with this
// computer's interfaces are refused by the pre-create check.
constexpr const char* k_default_network = "192.168.120.0/24";
constexpr const char* k_prefix = "qemu";
constexpr int k_ssh_wait_seconds = 900; // boot to SSH under TCG: 1.5-8 min with a loaded CPU
constexpr int k_launch_timeout_seconds = 120;
constexpr int k_powerdown_wait_seconds = 120;
constexpr int k_quit_wait_seconds = 15;
constexpr int k_kvm_probe_seconds = 15;
constexpr int k_engine_port = 2376;

enum class AccelChoice { auto_detect, kvm, tcg };

vm::VmDefaults defaults() { return {1024, 1, 20000, k_default_network}; }

std::string boot_id() {
  return local::trim(local::read_text("/proc/sys/kernel/random/boot_id"));
}

class QemuDriver final : public Driver {
public:
  QemuDriver(DriverContext context, const nlohmann::json& config)
      : m_context(std::move(context)), m_tools(m_context.process_runner),
        m_names(vm::vm_flag_names(k_prefix)) {
    auto machine = vm::read_vm_machine(config);
    if (!machine) {
      m_record_error = machine.error().message;
    } else {
      m_machine = *machine;
    }
    try {
      m_accel = config.value("Accel", "tcg");
      m_network_mode = config.value("NetworkMode", "bridge");
      m_engine_forward = config.value("EngineForwardPort", 0);
    } catch (const nlohmann::json::exception& error) {
      m_record_error = fmt::format("a qemu driver field has the wrong type ({})", error.what());
    }
    if (m_record_error.empty() && ((m_accel != "kvm" && m_accel != "tcg") ||
                                   (m_network_mode != "bridge" && m_network_mode != "user") ||
                                   m_engine_forward < 0 || m_engine_forward > 65535)) {
      m_record_error = "the record's Accel, NetworkMode or EngineForwardPort is invalid";
    }
  }

  [[nodiscard]] nlohmann::json config() const override {
    auto json = vm::vm_machine_json(m_machine, m_context);
    json["Accel"] = m_accel;
    json["NetworkMode"] = m_network_mode;
    json["EngineForwardPort"] = m_engine_forward;
    json["Bridge"] = user_mode() || m_machine.network_cidr.empty()
                         ? std::string()
                         : bridge_name(m_machine.network_cidr);
    json["Tap"] = user_mode() ? std::string() : tap();
    return json;
  }

  Result<void> set_options(const DriverOptions& options) override {
    auto parsed = vm::parse_vm_options(options, m_names, defaults());
    DM_TRY(parsed);
    m_options = *parsed;
    auto accel = options.get("qemu-accel", "auto");
    if (accel == "auto") {
      m_accel_choice = AccelChoice::auto_detect;
    } else if (accel == "kvm") {
      m_accel_choice = AccelChoice::kvm;
    } else if (accel == "tcg") {
      m_accel_choice = AccelChoice::tcg;
    } else {
      return fail(ErrorKind::usage,
                  fmt::format("--qemu-accel: \"{}\" is not auto, kvm or tcg", printable(accel)));
    }
    auto network = options.get("qemu-network", "auto");
    if (network == "auto") {
      m_network_mode = ::geteuid() == 0 ? "bridge" : "user";
    } else if (network == "bridge" || network == "user") {
      m_network_mode = network;
    } else {
      return fail(ErrorKind::usage, fmt::format("--qemu-network: \"{}\" is not auto, bridge or user",
                                                printable(network)));
    }
    return {};
  }

  Result<void> pre_create_check() override {
    for (const char* tool : {"qemu-system-x86_64", "qemu-img"}) {
      if (!local::tool_exists(tool)) {
        return fail(ErrorKind::precreate,
                    fmt::format("the qemu driver needs \"{}\"; install it with `apt-get install "
                                "qemu-system-x86 qemu-utils`",
                                tool));
      }
    }
    auto socket = qmp_path(m_context.machine_dir).string();
    if (socket.size() >= 108) {
      return fail(ErrorKind::precreate,
                  fmt::format("the machine's QMP socket path {} is longer than 107 bytes; use a "
                              "shorter store path (-s)",
                              socket));
    }
    if (m_accel_choice == AccelChoice::kvm && ::access("/dev/kvm", R_OK | W_OK) != 0) {
      return fail(ErrorKind::precreate,
                  "--qemu-accel kvm: /dev/kvm cannot be opened (no KVM here, or no permission); "
                  "use --qemu-accel tcg");
    }
    if (user_mode()) {
      return {};
    }
    if (::geteuid() != 0) {
      return fail(ErrorKind::precreate,
                  "--qemu-network bridge needs root (it makes a bridge and a tap); run dmachine "
                  "as root, or use --qemu-network user");
    }
    if (!local::tool_exists("ip")) {
      return fail(ErrorKind::precreate,
                  "the qemu driver needs \"ip\"; install it with `apt-get install iproute2`");
    }
    auto host = host_cidr(m_options.network);
    return check_network_free(m_tools, BridgeSpec{bridge_name(host), host, tap()});
  }

  Result<void> create() override {
    DM_TRY(check_usable());
    auto base = vm::fetch_base_image(m_options, m_names, m_context);
    DM_TRY(base);
    DM_TRY(check_interrupted());
    DM_TRY(vm::init_vm_machine(m_machine, m_options, *base, m_names, m_context));
    vm::SeedNetwork seed_network;
    if (user_mode()) {
      auto ssh = free_local_port();
      DM_TRY(ssh);
      auto engine = free_local_port();
      DM_TRY(engine);
      m_machine.ssh_port = *ssh;
      m_engine_forward = *engine;
      // QEMU's user network answers DNS on .3 and routes through .2 (its "host").
      seed_network.gateway = vm::host_address(m_options.network).to_string();
      vm::Ipv4Address dns = m_options.network.network();
      dns.value += 3;
      seed_network.nameservers = {dns.to_string()};
    }
    vm::VmProgress progress(m_context);
    DM_TRY(run_step(progress.get(), "write the cloud-init seed",
                    [&] { return vm::write_machine_seed(m_machine, seed_network, m_context); }));
    DM_TRY(run_step(progress.get(), "make the disk (qcow2 overlay)", [&]() -> Result<void> {
      return m_tools.run_ok(overlay_create_argv(base->path, disk_format_name(base->info.format),
                                                overlay_path(m_context.machine_dir),
                                                m_machine.disk_size_mb));
    }));
    DM_TRY(check_interrupted());
    auto accel = choose_accel(progress.get());
    DM_TRY(accel);
    m_accel = std::string(accel_name(*accel));
    DM_TRY(check_interrupted());
    return run_step(progress.get(), fmt::format("start the VM ({}, {})", m_accel, m_network_mode),
                    [&] { return start(); });
  }

  Result<void> start() override {
    DM_TRY(check_usable());
    if (running_pid() > 0) {
      return {};
    }
    if (m_machine.ip.empty() || !fs::exists(overlay_path(m_context.machine_dir))) {
      return fail("the machine has no disk or no address: remove it and create it again");
    }
    if (!user_mode()) {
      DM_TRY_CTX(setup_bridge_network(m_tools, bridge_spec()), "set up the network");
    }
    std::error_code ignored;
    fs::remove(qmp_path(m_context.machine_dir), ignored);
    fs::remove(pid_path(m_context.machine_dir), ignored);
    auto argv = qemu_system_argv(launch_spec());
    auto launched = m_tools.run(argv, k_launch_timeout_seconds);
    if (!launched || launched->exit_status != 0) {
      std::string why = launched ? local::trim(launched->err) : launched.error().message;
      (void)teardown_network();
      return fail(fmt::format("qemu-system-x86_64 did not start: {}", why));
    }
    if (running_pid() <= 0) {
      (void)teardown_network();
      return fail("qemu-system-x86_64 started but its process is gone (see " +
                  console_path(m_context.machine_dir).string() + ")");
    }
    return {};
  }

  Result<void> stop() override {
    DM_TRY(check_usable());
    if (running_pid() > 0) {
      auto asked = qmp_execute(qmp_path(m_context.machine_dir), "system_powerdown");
      if (!asked || !wait_gone(k_powerdown_wait_seconds)) {
        DM_TRY(quit());
      }
    }
    return teardown_network();
  }

  Result<void> restart() override {
    DM_TRY(stop());
    return start();
  }

  Result<void> kill() override {
    DM_TRY(check_usable());
    DM_TRY(quit());
    return teardown_network();
  }

  Result<void> remove() override {
    if (!m_record_error.empty()) {
      // Nothing the record names is trusted: the caller removes the machine directory, and
      // a QEMU of this machine is found by its own paths (the QMP socket), not the record.
      (void)quit();
      return fail(m_record_error + "; the machine's files were removed, check `ip link` for a "
                                   "tap named dmqt... left by it");
    }
    DM_TRY(kill());
    std::error_code ignored;
    for (const auto& file : {overlay_path(m_context.machine_dir), qmp_path(m_context.machine_dir),
                             pid_path(m_context.machine_dir)}) {
      fs::remove(file, ignored);
    }
    return {};
  }

  Result<MachineState> state() override {
    DM_TRY(check_usable());
    if (running_pid() <= 0) {
      return fs::exists(overlay_path(m_context.machine_dir)) ? MachineState::stopped
                                                              : MachineState::error;
    }
    auto status = qmp_execute(qmp_path(m_context.machine_dir), "query-status");
    if (!status) {
      return MachineState::starting; // the monitor is not up yet (or busy): the process lives
    }
    if (!status->is_object() || !status->contains("status") || !(*status)["status"].is_string()) {
      return MachineState::error;
    }
    return state_from_qmp_status((*status)["status"].get<std::string>());
  }

  Result<std::string> ip() override {
    DM_TRY(check_usable());
    if (m_machine.ip.empty()) {
      return fail("IP address is not set");
    }
    return user_mode() ? std::string("127.0.0.1") : m_machine.ip;
  }

  Result<SshTarget> ssh_target() override {
    DM_TRY(check_usable());
    return vm::vm_ssh_target(m_machine, m_context, user_mode() ? "127.0.0.1" : m_machine.ip,
                             m_machine.ssh_port);
  }

  [[nodiscard]] int engine_port() const override {
    return user_mode() ? m_engine_forward : k_engine_port;
  }
  [[nodiscard]] int ssh_wait_seconds() const override { return k_ssh_wait_seconds; }

private:
  [[nodiscard]] bool user_mode() const { return m_network_mode == "user"; }
  [[nodiscard]] std::string tap() const { return tap_name(m_context.machine_dir.string()); }
  static std::string host_cidr(const vm::Ipv4Network& network) {
    return vm::host_address(network).to_string() + "/" + std::to_string(network.prefix);
  }
  [[nodiscard]] BridgeSpec bridge_spec() const {
    return BridgeSpec{bridge_name(m_machine.network_cidr), m_machine.network_cidr, tap()};
  }

  [[nodiscard]] LaunchSpec launch_spec() const {
    LaunchSpec spec;
    spec.name = m_context.machine_name;
    spec.machine_dir = m_context.machine_dir;
    spec.accel = m_accel == "kvm" ? Accel::kvm : Accel::tcg;
    spec.memory_mb = m_machine.memory_mb;
    spec.cpus = m_machine.cpus;
    spec.mac = m_machine.mac;
    spec.network = user_mode() ? NetworkMode::user : NetworkMode::bridge;
    spec.tap = tap();
    if (auto network = vm::parse_ipv4_network(m_machine.network_cidr)) {
      spec.user_net = network->to_string();
      spec.user_host = vm::host_address(*network).to_string();
    }
    spec.guest_ip = m_machine.ip;
    spec.ssh_forward = m_machine.ssh_port;
    spec.engine_forward = m_engine_forward;
    spec.engine_port = k_engine_port;
    return spec;
  }

  [[nodiscard]] Result<void> check_usable() const {
    if (!m_record_error.empty()) {
      return fail(m_record_error + "; the record was changed by hand: remove it with rm -f");
    }
    return {};
  }

  static Result<void> check_interrupted() {
    if (interrupted()) {
      return fail(ErrorKind::interrupted, "interrupted");
    }
    return {};
  }

  // The PID of this machine's QEMU, or 0: the pid file's process must be a QEMU whose command
  // line names this machine's QMP socket (a reused PID is not taken for it).
  [[nodiscard]] pid_t running_pid() const {
    auto text = local::trim(local::read_text(pid_path(m_context.machine_dir)));
    long pid = 0;
    if (!local::parse_int(text, pid) || pid <= 1 || pid > 4194304) {
      return 0;
    }
    auto cmdline = local::read_text(fs::path("/proc") / std::to_string(pid) / "cmdline");
    if (cmdline.find(qmp_path(m_context.machine_dir).string()) == std::string::npos) {
      return 0;
    }
    return static_cast<pid_t>(pid);
  }

  // Waits (bounded) until the QEMU process is gone; true when it is.
  [[nodiscard]] bool wait_gone(int seconds) const {
    auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(seconds);
    while (running_pid() > 0) {
      if (std::chrono::steady_clock::now() >= deadline) {
        return false;
      }
      std::this_thread::sleep_for(std::chrono::milliseconds(200));
    }
    return true;
  }

  // QMP quit, then SIGKILL if QEMU is still there; succeeds when no QEMU of this machine runs.
  Result<void> quit() {
    if (running_pid() <= 0) {
      return {};
    }
    (void)qmp_execute(qmp_path(m_context.machine_dir), "quit", 10, QmpQuit::yes);
    if (wait_gone(k_quit_wait_seconds)) {
      return {};
    }
    if (auto pid = running_pid(); pid > 0) {
      ::kill(pid, SIGKILL);
    }
    if (!wait_gone(k_quit_wait_seconds)) {
      return fail(ErrorKind::timeout, "qemu-system-x86_64 did not exit after SIGKILL");
    }
    return {};
  }

  Result<void> teardown_network() {
    if (user_mode() || m_machine.network_cidr.empty()) {
      return {};
    }
    return teardown_bridge_network(m_tools, bridge_spec());
  }

  // KVM when asked, TCG when asked; auto: KVM only when /dev/kvm opens and a bounded test
  // boot of the base image writes to the serial port (cached per boot of this computer).
  Result<Accel> choose_accel(Progress& progress) {
    if (m_accel_choice == AccelChoice::tcg) {
      return Accel::tcg;
    }
    if (m_accel_choice == AccelChoice::kvm) {
      return Accel::kvm;
    }
    if (::access("/dev/kvm", R_OK | W_OK) != 0) {
      return Accel::tcg;
    }
    auto cache = m_context.store_path / "cache" / "qemu-kvm-probe";
    auto id = boot_id();
    auto cached = local::split_ws(local::read_text(cache));
    bool works = false;
    if (cached.size() == 2 && cached[0] == id && (cached[1] == "kvm" || cached[1] == "tcg")) {
      works = cached[1] == "kvm";
    } else {
      auto probed = run_step(progress, "check that KVM runs a guest", [&] { return kvm_probe(); });
      works = static_cast<bool>(probed);
      if (!probed && probed.error().kind == ErrorKind::interrupted) {
        return fail(probed.error());
      }
      (void)write_file_atomic(cache, id + " " + (works ? "kvm" : "tcg") + "\n", 0644);
    }
    if (!works) {
      progress.note("Warning: /dev/kvm is there but a KVM guest does not run on this computer: "
                    "using TCG (software emulation, much slower; --qemu-accel kvm forces KVM)");
      return Accel::tcg;
    }
    return Accel::kvm;
  }

  // A test boot of the overlay (snapshot: nothing written) with KVM for a few seconds: works
  // when the guest wrote to its serial port.
  Result<void> kvm_probe() {
    auto log = m_context.machine_dir / "kvm-probe.log";
    std::error_code ignored;
    fs::remove(log, ignored);
    auto result = m_tools.run(
        {"qemu-system-x86_64", "-no-user-config", "-nodefaults", "-machine", "pc", "-accel",
         "kvm", "-m", "256", "-smp", "1", "-drive",
         fmt::format("file={},if=virtio,format=qcow2,snapshot=on",
                     qemu_option_value(overlay_path(m_context.machine_dir).string())),
         "-display", "none", "-serial", "file:" + log.string(), "-monitor", "none"},
        k_kvm_probe_seconds);
    auto size = fs::file_size(log, ignored);
    fs::remove(log, ignored);
    if (size > 0 && !ignored) {
      return {};
    }
    if (interrupted()) {
      return fail(ErrorKind::interrupted, "interrupted");
    }
    return fail(result ? "no serial output" : result.error().message);
  }

  DriverContext m_context;
  local::ToolRunner m_tools;
  vm::VmFlagNames m_names;
  vm::VmOptions m_options;
  vm::VmMachine m_machine;
  AccelChoice m_accel_choice = AccelChoice::auto_detect;
  std::string m_accel = "tcg";
  std::string m_network_mode = "bridge";
  int m_engine_forward = 0;
  std::string m_record_error;
};

} // namespace
} // namespace qemu

std::vector<DriverFlag> qemu_driver_flags() {
  auto flags = vm::vm_common_flags(vm::vm_flag_names(qemu::k_prefix), qemu::defaults());
  flags.push_back({"qemu-accel",
                   "Acceleration: auto (KVM when a test boot runs, else TCG), kvm or tcg", "auto",
                   "QEMU_ACCEL", FlagType::string});
  flags.push_back({"qemu-network",
                   "Networking: bridge (root: a tap on a bridge, the machine's static IP is "
                   "reachable from this computer and the other machines, clusters work), user "
                   "(no root: QEMU user networking, SSH and the engine forwarded to free ports "
                   "on 127.0.0.1, one machine on its own), or auto (bridge as root, else user)",
                   "auto", "QEMU_NETWORK", FlagType::string});
  return flags;
}

std::unique_ptr<Driver> make_qemu_driver(const DriverContext& context,
                                         const nlohmann::json& config) {
  return std::make_unique<qemu::QemuDriver>(context, config);
}

} // namespace dm
