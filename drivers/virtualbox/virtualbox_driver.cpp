#include "drivers/virtualbox/virtualbox_driver.h"

#include "core/machine_store.h"
#include "core/printable.h"
#include "core/tcp_probe.h"
#include "drivers/virtualbox/vbox_manage.h"
#include "drivers/vm/vm_machine.h"

#include <algorithm>
#include <chrono>
#include <cstdlib>
#include <fmt/format.h>
#include <thread>
#include <unistd.h>

namespace dm {

namespace {

namespace fs = std::filesystem;
using virtualbox::VBoxManage;

constexpr int k_ssh_wait_seconds = 900; // TCG boots under load took 6-8 min to SSH here
constexpr int k_stop_wait_seconds = 180;
constexpr int k_max_cpus = 32; // docker-machine's cap for --virtualbox-cpu-count
constexpr const char* k_default_cidr = "192.168.56.1/24";
constexpr const char* k_default_nictype = "virtio";
constexpr const char* k_storage_controller = "IDE";
constexpr const char* k_disk_file = "disk.vdi";
constexpr const char* k_vtx_disabled =
    "This computer doesn't have VT-X/AMD-v enabled. Enabling it in the BIOS is mandatory (to "
    "skip this check, use --virtualbox-no-vtx-check)";

const vm::VmFlagNames& flag_names() {
  static const vm::VmFlagNames names{"virtualbox-image",     "virtualbox-image-checksum",
                                     "virtualbox-memory",    "virtualbox-cpu-count",
                                     "virtualbox-disk-size", "virtualbox-hostonly-cidr"};
  return names;
}

vm::VmDefaults vm_defaults() { return {1024, 1, 20000, k_default_cidr}; }

const std::vector<std::string>& nic_types() {
  static const std::vector<std::string> types{"Am79C970A", "Am79C973", "Am79C960", "82540EM",
                                              "82543GC",   "82545EM",  "virtio"};
  return types;
}
const std::vector<std::string>& promisc_modes() {
  static const std::vector<std::string> modes{"deny", "allow-vms", "allow-all"};
  return modes;
}
const std::vector<std::string>& ui_types() {
  static const std::vector<std::string> types{"headless", "gui", "sdl", "separate"};
  return types;
}

bool one_of(const std::vector<std::string>& allowed, const std::string& value) {
  return std::find(allowed.begin(), allowed.end(), value) != allowed.end();
}

Result<void> check_choice(const std::vector<std::string>& allowed, const std::string& value,
                          std::string_view flag) {
  if (one_of(allowed, value)) {
    return {};
  }
  std::string list;
  for (const auto& item : allowed) {
    list += (list.empty() ? "" : ", ") + item;
  }
  return fail(ErrorKind::usage, fmt::format("--{}: \"{}\" is not one of {}", flag,
                                            printable(value), list));
}

// The VirtualBox settings of a machine besides the common VM ones (docker-machine's names).
struct VBoxSettings {
  std::string nat_nictype = k_default_nictype;
  std::string hostonly_nictype = k_default_nictype;
  std::string hostonly_promisc = "deny";
  std::string ui_type = "headless";
  bool hostonly_no_dhcp = false;
  bool no_share = false;
  bool dns_proxy = true;
  bool host_dns_resolver = false;
  bool no_vtx_check = false;
  std::string share_folder;
  bool hostonly_networks = false; // VirtualBox 7 on macOS: hostonlynet instead of hostonlyif
  std::string hostonly_adapter;   // the interface or network NIC 2 is attached to
  std::string nat_mac;
  int ssh_forward_port = 0;
};

class VirtualBoxDriver final : public Driver {
public:
  VirtualBoxDriver(DriverContext context, const nlohmann::json& config, VirtualBoxHost host)
      : m_context(std::move(context)), m_host(std::move(host)) {
    auto machine = vm::read_vm_machine(config);
    if (!machine) {
      m_record_error = machine.error().message;
      return;
    }
    m_machine = *machine;
    try {
      auto& s = m_settings;
      s.nat_nictype = config.value("NatNicType", s.nat_nictype);
      s.hostonly_nictype = config.value("HostOnlyNicType", s.hostonly_nictype);
      s.hostonly_promisc = config.value("HostOnlyPromiscMode", s.hostonly_promisc);
      s.ui_type = config.value("UIType", s.ui_type);
      s.hostonly_no_dhcp = config.value("HostOnlyNoDHCP", false);
      s.no_share = config.value("NoShare", false);
      s.dns_proxy = config.value("DNSProxy", true);
      s.host_dns_resolver = config.value("HostDNSResolver", false);
      s.no_vtx_check = config.value("NoVTXCheck", false);
      s.share_folder = config.value("ShareFolder", "");
      s.hostonly_networks = config.value("HostOnlyNetworks", false);
      s.hostonly_adapter = config.value("HostOnlyAdapter", "");
      s.nat_mac = config.value("NATMACAddress", "");
      s.ssh_forward_port = config.value("SSHForwardPort", 0);
    } catch (const nlohmann::json::exception& error) {
      m_record_error = fmt::format("a virtualbox driver field has the wrong type ({})", error.what());
      return;
    }
    // Values that reach VBoxManage's argv are checked like flags.
    for (auto checked : {check_choice(nic_types(), m_settings.nat_nictype, "NatNicType"),
                         check_choice(nic_types(), m_settings.hostonly_nictype, "HostOnlyNicType"),
                         check_choice(promisc_modes(), m_settings.hostonly_promisc,
                                      "HostOnlyPromiscMode"),
                         check_choice(ui_types(), m_settings.ui_type, "UIType")}) {
      if (!checked && m_record_error.empty()) {
        m_record_error = checked.error().message;
      }
    }
    if (!m_settings.nat_mac.empty() && !vm::normalize_mac(m_settings.nat_mac)) {
      m_record_error = "NATMACAddress is not a MAC address";
    }
  }

  [[nodiscard]] nlohmann::json config() const override {
    nlohmann::json json = vm::vm_machine_json(m_machine, m_context);
    const auto& s = m_settings;
    json["NatNicType"] = s.nat_nictype;
    json["HostOnlyNicType"] = s.hostonly_nictype;
    json["HostOnlyPromiscMode"] = s.hostonly_promisc;
    json["UIType"] = s.ui_type;
    json["HostOnlyNoDHCP"] = s.hostonly_no_dhcp;
    json["NoShare"] = s.no_share;
    json["DNSProxy"] = s.dns_proxy;
    json["HostDNSResolver"] = s.host_dns_resolver;
    json["NoVTXCheck"] = s.no_vtx_check;
    json["ShareFolder"] = s.share_folder;
    json["HostOnlyNetworks"] = s.hostonly_networks;
    json["HostOnlyAdapter"] = s.hostonly_adapter;
    json["NATMACAddress"] = s.nat_mac;
    json["SSHForwardPort"] = s.ssh_forward_port;
    return json;
  }

  Result<void> set_options(const DriverOptions& given) override {
    DriverOptions options = given;
    // docker-machine's flag for the image (a boot2docker ISO then) is an alias.
    if (!options.has("virtualbox-image") && options.has("virtualbox-boot2docker-url")) {
      options.values["virtualbox-image"] = options.get_list("virtualbox-boot2docker-url");
    }
    if (!options.has("virtualbox-image")) {
      const std::string url(vm::k_default_raw_image_url);
      options.values["virtualbox-image"] = {url};
      if (!options.has("virtualbox-image-checksum")) {
        options.values["virtualbox-image-checksum"] = {
            vm::sibling_url(url, vm::k_default_image_sums_name)};
      }
    }
    // docker-machine: less than 1 CPU means all of this computer's, and at most 32.
    if (options.has("virtualbox-cpu-count")) {
      const std::string cpus = options.get("virtualbox-cpu-count");
      char* end = nullptr;
      long value = std::strtol(cpus.c_str(), &end, 10);
      if (!cpus.empty() && end != nullptr && *end == '\0') {
        if (value < 1) {
          value = std::max(1L, ::sysconf(_SC_NPROCESSORS_ONLN));
        }
        options.values["virtualbox-cpu-count"] = {std::to_string(std::min<long>(value, k_max_cpus))};
      }
    }
    auto parsed = vm::parse_vm_options(options, flag_names(), vm_defaults());
    DM_TRY(parsed);
    m_options = *parsed;
    DM_TRY(vm::check_virtualbox_range(m_options.network, "--virtualbox-hostonly-cidr"));

    auto& s = m_settings;
    s.nat_nictype = options.get("virtualbox-nat-nictype", k_default_nictype);
    s.hostonly_nictype = options.get("virtualbox-hostonly-nictype", k_default_nictype);
    s.hostonly_promisc = options.get("virtualbox-hostonly-nicpromisc", "deny");
    s.ui_type = options.get("virtualbox-ui-type", "headless");
    DM_TRY(check_choice(nic_types(), s.nat_nictype, "virtualbox-nat-nictype"));
    DM_TRY(check_choice(nic_types(), s.hostonly_nictype, "virtualbox-hostonly-nictype"));
    DM_TRY(check_choice(promisc_modes(), s.hostonly_promisc, "virtualbox-hostonly-nicpromisc"));
    DM_TRY(check_choice(ui_types(), s.ui_type, "virtualbox-ui-type"));
    s.hostonly_no_dhcp = options.has("virtualbox-hostonly-no-dhcp");
    s.no_share = options.has("virtualbox-no-share");
    s.dns_proxy = !options.has("virtualbox-no-dns-proxy");
    s.host_dns_resolver = options.has("virtualbox-host-dns-resolver");
    s.no_vtx_check = options.has("virtualbox-no-vtx-check");
    s.share_folder = options.get("virtualbox-share-folder");
    if (!s.share_folder.empty()) {
      auto share = virtualbox::parse_share_folder(s.share_folder);
      if (share.dir.empty() || share.name.empty() || !fs::path(share.dir).is_absolute()) {
        return fail(ErrorKind::usage,
                    fmt::format("--virtualbox-share-folder: \"{}\" is not DIR:NAME with an "
                                "absolute directory",
                                printable(s.share_folder)));
      }
    }
    m_options_set = true;
    return {};
  }

  Result<void> pre_create_check() override {
    auto vbm = vboxmanage();
    DM_TRY(vbm);
    auto version_output = vbm->run({"--version"});
    if (!version_output) {
      return fail(ErrorKind::precreate,
                  "VBoxManage does not work: " + version_output.error().message);
    }
    auto version = virtualbox::parse_version(*version_output);
    DM_TRY(version);
    DM_TRY(virtualbox::check_version(*version));
    m_settings.hostonly_networks = virtualbox::use_hostonly_networks(*version, m_host.os);

    if (!m_settings.no_vtx_check) {
      const std::string cpuinfo = m_host.read_cpuinfo();
      if (!cpuinfo.empty() && !virtualbox::cpu_has_virtualization(cpuinfo)) {
        return fail(ErrorKind::precreate, k_vtx_disabled);
      }
    }
    // Never take over (and, on a failed create, delete) a VM that exists already.
    auto existing = vbm->run_raw({"showvminfo", m_context.machine_name, "--machinereadable"});
    DM_TRY(existing);
    if (existing->exit_status == 0) {
      return fail(ErrorKind::precreate,
                  fmt::format("VirtualBox already has a VM named \"{}\": remove it or choose "
                              "another machine name",
                              m_context.machine_name));
    }
    if (!m_settings.hostonly_networks) {
      auto listed = vbm->run({"list", "hostonlyifs"});
      DM_TRY(listed);
      DM_TRY_CTX(virtualbox::parse_hostonly_ifs(*listed), "VirtualBox host-only interfaces");
    }
    // Downloaded here, as docker-machine did, so a failed download leaves no half machine;
    // a disk smaller than the image is refused here too.
    auto base = vm::fetch_base_image(m_options, flag_names(), m_context);
    DM_TRY(base);
    m_base = *base;
    return {};
  }

  Result<void> create() override {
    DM_TRY(check_record());
    if (!m_options_set || m_base.path.empty()) {
      return fail("virtualbox driver: create() without set_options() and pre_create_check()");
    }
    auto vbm = vboxmanage();
    DM_TRY(vbm);
    const auto& names = flag_names();
    DM_TRY(vm::init_vm_machine(m_machine, m_options, m_base, names, m_context));
    m_settings.nat_mac = nat_mac();
    DM_TRY(vm::write_machine_seed(m_machine, {"", {}, m_settings.nat_mac}, m_context));

    const std::string name = m_context.machine_name;
    const std::string disk = (m_context.machine_dir / k_disk_file).string();
    const std::string image = m_base.path.string();
    if (m_base.info.format == vm::DiskFormat::raw) {
      DM_TRY(vbm->run({"convertfromraw", image, disk, "--format", "VDI"}));
    } else {
      DM_TRY(vbm->run({"clonemedium", "disk", image, disk, "--format", "VDI"}));
      // clonemedium registered the cached image as a medium; it is not this machine's.
      (void)vbm->run({"closemedium", "disk", image});
    }
    const std::uint64_t image_mb = (m_base.info.virtual_size + (1 << 20) - 1) >> 20;
    if (static_cast<std::uint64_t>(m_machine.disk_size_mb) > image_mb) {
      DM_TRY(vbm->run({"modifymedium", "disk", disk, "--resize",
                       std::to_string(m_machine.disk_size_mb)}));
    }
    DM_TRY(vbm->run({"createvm", "--basefolder", m_context.machine_dir.string(), "--name", name,
                     "--register"}));
    DM_TRY(vbm->run({"modifyvm",        name,
                     "--firmware",      "bios",
                     "--bioslogofadein", "off",
                     "--bioslogofadeout", "off",
                     "--bioslogodisplaytime", "0",
                     "--biosbootmenu",  "disabled",
                     "--ostype",        "Debian_64",
                     "--cpus",          std::to_string(m_machine.cpus),
                     "--memory",        std::to_string(m_machine.memory_mb),
                     "--acpi",          "on",
                     "--ioapic",        "on",
                     "--rtcuseutc",     "on",
                     "--natdnshostresolver1", m_settings.host_dns_resolver ? "on" : "off",
                     "--natdnsproxy1",  m_settings.dns_proxy ? "on" : "off",
                     "--cpuhotplug",    "off",
                     "--pae",           "on",
                     "--hpet",          "on",
                     "--hwvirtex",      "on",
                     "--nestedpaging",  "on",
                     "--largepages",    "on",
                     "--vtxvpid",       "on",
                     "--boot1",         "disk",
                     "--boot2",         "dvd",
                     "--boot3",         "none",
                     "--boot4",         "none"}));
    DM_TRY(vbm->run({"modifyvm", name, "--nic1", "nat", "--nictype1", m_settings.nat_nictype,
                     "--cableconnected1", "on", "--macaddress1",
                     virtualbox::vbox_mac(m_settings.nat_mac)}));
    // IDE (PIIX4): the cloud kernels (Debian genericcloud) have ata_piix but no ahci.
    DM_TRY(vbm->run({"storagectl", name, "--name", k_storage_controller, "--add", "ide",
                     "--controller", "PIIX4", "--hostiocache", "on"}));
    DM_TRY(vbm->run({"storageattach", name, "--storagectl", k_storage_controller, "--port", "0",
                     "--device", "0", "--type", "hdd", "--medium", disk}));
    DM_TRY(vbm->run({"storageattach", name, "--storagectl", k_storage_controller, "--port", "1",
                     "--device", "0", "--type", "dvddrive", "--medium",
                     vm::seed_path(m_context).string()}));
    DM_TRY(add_shared_folder(*vbm));
    return start();
  }

  Result<void> start() override {
    auto vm = current_vm();
    DM_TRY(vm);
    auto* vbm = &vm->vbm;
    auto current = &vm->state;
    const std::string& name = m_context.machine_name;
    switch (*current) {
    case MachineState::running:
      return {};
    case MachineState::paused:
      return vbm->run({"controlvm", name, "resume"}).map([](auto&&) {});
    case MachineState::stopped:
      DM_TRY_CTX(setup_hostonly_network(*vbm), "host-only network");
      DM_TRY(set_ssh_forward(*vbm));
      break;
    case MachineState::saved:
      break; // a saved VM keeps its settings; it cannot be changed before it runs again
    default:
      return fail(fmt::format("the VM is in a state VirtualBox cannot start it from ({}); see "
                              "VirtualBox's VM list",
                              m_last_vm_state));
    }
    auto started = vbm->run({"startvm", name, "--type", m_settings.ui_type});
    if (!started) {
      return fail(started.error().with_context("Unable to start the VM"));
    }
    if (!m_settings.no_vtx_check) {
      auto log = read_file(m_context.machine_dir / name / "Logs" / "VBox.log");
      if (log && virtualbox::log_says_vtx_disabled(*log)) {
        return fail(k_vtx_disabled);
      }
    }
    return {};
  }

  Result<void> stop() override {
    auto vm = current_vm();
    DM_TRY(vm);
    auto* vbm = &vm->vbm;
    auto current = &vm->state;
    const std::string& name = m_context.machine_name;
    if (*current == MachineState::stopped || *current == MachineState::saved) {
      return {};
    }
    if (*current == MachineState::paused) {
      DM_TRY(vbm->run({"controlvm", name, "resume"}));
    }
    DM_TRY(vbm->run({"controlvm", name, "acpipowerbutton"}));
    for (int waited = 0; waited < k_stop_wait_seconds; ++waited) {
      auto now = read_state(*vbm);
      DM_TRY(now);
      if (*now != MachineState::running) {
        return {};
      }
      m_host.sleep_ms(1000);
    }
    return fail(ErrorKind::timeout,
                fmt::format("the VM did not power off within {} s of the ACPI power button; "
                            "`dmachine kill {}` powers it off",
                            k_stop_wait_seconds, name));
  }

  Result<void> restart() override {
    DM_TRY(stop());
    return start();
  }

  Result<void> kill() override {
    auto vm = current_vm();
    DM_TRY(vm);
    auto* vbm = &vm->vbm;
    auto current = &vm->state;
    if (*current == MachineState::stopped || *current == MachineState::saved) {
      return {};
    }
    return vbm->run({"controlvm", m_context.machine_name, "poweroff"}).map([](auto&&) {});
  }

  Result<void> remove() override {
    auto vbm = vboxmanage();
    if (!vbm) {
      return fail(vbm.error().with_context("remove the VirtualBox VM"));
    }
    const std::string& name = m_context.machine_name;
    auto shown = vbm->run_raw({"showvminfo", name, "--machinereadable"});
    DM_TRY(shown);
    if (shown->exit_status != 0 && virtualbox::is_machine_not_found(shown->err)) {
      return {}; // never registered, or removed already
    }
    if (shown->exit_status != 0) {
      return fail(fmt::format("VBoxManage showvminfo {} failed (exit {}): {}", name,
                              shown->exit_status, printable(shown->err)));
    }
    auto info = virtualbox::parse_machine_readable(shown->out);
    DM_TRY(check_ours(info));
    auto current = virtualbox::vm_state(info);
    if (current != MachineState::stopped && current != MachineState::saved) {
      DM_TRY(vbm->run({"controlvm", name, "poweroff"}));
    }
    return vbm->run({"unregistervm", "--delete", name}).map([](auto&&) {});
  }

  Result<MachineState> state() override {
    DM_TRY(check_record());
    auto vbm = vboxmanage();
    DM_TRY(vbm);
    return read_state(*vbm);
  }

  Result<std::string> ip() override {
    DM_TRY(check_record());
    if (m_machine.ip.empty()) {
      return fail("the machine has no IP address in its record");
    }
    return m_machine.ip;
  }

  Result<SshTarget> ssh_target() override {
    DM_TRY(check_record());
    // The static host-only address: it never changes, so the certificates made for it stay
    // valid across restarts (the NAT forward to 127.0.0.1 is kept for docker-machine users).
    return vm::vm_ssh_target(m_machine, m_context, m_machine.ip, 22);
  }

  [[nodiscard]] int ssh_wait_seconds() const override { return k_ssh_wait_seconds; }

private:
  Result<void> check_record() const {
    if (!m_record_error.empty()) {
      return fail(fmt::format("the machine's record is not usable ({}); `dmachine rm -f {}` "
                              "forgets it",
                              m_record_error, m_context.machine_name));
    }
    return {};
  }

  struct CurrentVm {
    VBoxManage vbm;
    MachineState state;
  };
  // VBoxManage and the VM's state, for an operation on a machine made earlier.
  Result<CurrentVm> current_vm() {
    DM_TRY(check_record());
    auto vbm = vboxmanage();
    DM_TRY(vbm);
    auto state = read_state(*vbm);
    DM_TRY(state);
    return CurrentVm{std::move(*vbm), *state};
  }

  Result<VBoxManage> vboxmanage() const {
    if (m_context.process_runner == nullptr) {
      return fail("virtualbox driver: no process runner");
    }
    auto program = m_host.find_vboxmanage();
    if (!program) {
      return fail(virtualbox::vboxmanage_missing_error());
    }
    return VBoxManage(*m_context.process_runner, program->string(), m_host.sleep_ms);
  }

  Result<MachineState> read_state(VBoxManage& vbm) {
    const std::string& name = m_context.machine_name;
    auto shown = vbm.run_raw({"showvminfo", name, "--machinereadable"});
    DM_TRY(shown);
    if (shown->exit_status != 0) {
      if (virtualbox::is_machine_not_found(shown->err)) {
        return fail(ErrorKind::not_found,
                    fmt::format("VirtualBox has no VM named \"{}\" (removed outside dmachine?); "
                                "`dmachine rm {}` forgets the machine",
                                name, name));
      }
      return fail(fmt::format("VBoxManage showvminfo {} failed (exit {}): {}", name,
                              shown->exit_status, printable(shown->err)));
    }
    auto info = virtualbox::parse_machine_readable(shown->out);
    auto found = info.find("VMState");
    m_last_vm_state = found == info.end() ? "unknown" : printable(found->second, 40);
    return virtualbox::vm_state(info);
  }

  // The VM of this name must keep its settings in this machine's directory: a VM of the same
  // name made by someone else is never powered off or deleted.
  Result<void> check_ours(const std::map<std::string, std::string>& info) const {
    auto cfg = info.find("CfgFile");
    std::error_code ignored;
    const fs::path dir = fs::weakly_canonical(m_context.machine_dir, ignored);
    const fs::path file =
        cfg == info.end() ? fs::path() : fs::weakly_canonical(fs::path(cfg->second), ignored);
    auto relative = file.lexically_relative(dir);
    if (cfg == info.end() || relative.empty() || *relative.begin() == "..") {
      return fail(fmt::format("the VirtualBox VM named \"{}\" is not this machine's (its settings "
                              "are in \"{}\", not under {}); it was left as it is",
                              m_context.machine_name,
                              cfg == info.end() ? "?" : printable(cfg->second),
                              m_context.machine_dir.string()));
    }
    return {};
  }

  std::string nat_mac() const {
    const std::string key = m_context.store_path.string() + "/" + m_context.machine_name;
    std::string mac = vm::machine_mac(key + "/nat");
    for (int salt = 0; mac == m_machine.mac; ++salt) {
      mac = vm::machine_mac(key + "/nat" + std::to_string(salt));
    }
    return mac;
  }

  Result<void> add_shared_folder(VBoxManage& vbm) {
    if (m_settings.no_share) {
      return {};
    }
    // docker-machine's defaults: the home directories, under a fixed share name.
    virtualbox::ShareFolder share =
        m_host.os == virtualbox::HostOs::macos ? virtualbox::ShareFolder{"/Users", "Users"}
                                               : virtualbox::ShareFolder{"/home", "hosthome"};
    if (!m_settings.share_folder.empty()) {
      share = virtualbox::parse_share_folder(m_settings.share_folder);
    }
    if (!m_host.is_directory(share.dir)) {
      return {};
    }
    const std::string& name = m_context.machine_name;
    DM_TRY(vbm.run({"sharedfolder", "add", name, "--name", share.name, "--hostpath", share.dir,
                    "--automount"}));
    DM_TRY(vbm.run({"setextradata", name,
                    "VBoxInternal2/SharedFoldersEnableSymlinksCreate/" + share.name, "1"}));
    return {};
  }

  Result<vm::Ipv4Network> machine_network() const {
    auto network = vm::parse_ipv4_network(m_machine.network_cidr);
    if (!network) {
      return fail(fmt::format("the record's network \"{}\" is not a CIDR",
                              printable(m_machine.network_cidr)));
    }
    return *network;
  }

  // NIC 2 on the host-only interface (or VirtualBox 7 network) whose address is the host's
  // address of the machine's network: reused when it exists, made otherwise. No DHCP server is
  // made: machines have static addresses. The interface stays when the machine is removed.
  Result<void> setup_hostonly_network(VBoxManage& vbm) {
    auto network = machine_network();
    DM_TRY(network);
    const std::string host_ip = vm::host_address(*network).to_string();
    const std::string netmask = vm::Ipv4Address{network->mask()}.to_string();
    const std::string& name = m_context.machine_name;
    const std::string mac = virtualbox::vbox_mac(m_machine.mac);
    if (m_settings.hostonly_networks) {
      auto listed = vbm.run({"list", "hostonlynets"});
      DM_TRY(listed);
      std::string adapter;
      for (const auto& net : virtualbox::parse_hostonly_nets(*listed)) {
        auto lower = vm::parse_ipv4(net.lower_ip);
        if (net.netmask == netmask && lower && network->contains(*lower)) {
          adapter = net.name;
          break;
        }
      }
      if (adapter.empty()) {
        adapter = "dmachine-" + network->network().to_string() + "-" +
                  std::to_string(network->prefix);
        const std::string first = network->network().to_string();
        DM_TRY(vbm.run({"hostonlynet", "add", "--name", adapter, "--netmask", netmask,
                        "--lower-ip", first, "--upper-ip", first, "--enable"}));
      }
      m_settings.hostonly_adapter = adapter;
      return vbm
          .run({"modifyvm", name, "--nic2", "hostonlynet", "--host-only-net2", adapter,
                "--nictype2", m_settings.hostonly_nictype, "--nicpromisc2",
                m_settings.hostonly_promisc, "--cableconnected2", "on", "--macaddress2", mac})
          .map([](auto&&) {});
    }
    auto listed = vbm.run({"list", "hostonlyifs"});
    DM_TRY(listed);
    auto interfaces = virtualbox::parse_hostonly_ifs(*listed);
    DM_TRY(interfaces);
    std::string adapter;
    for (const auto& interface : *interfaces) {
      if (interface.ip == host_ip && interface.netmask == netmask) {
        adapter = interface.name;
        break;
      }
    }
    if (adapter.empty()) {
      auto created = vbm.run({"hostonlyif", "create"});
      DM_TRY(created);
      auto made = virtualbox::parse_created_interface(*created);
      if (!made) {
        return fail(fmt::format("VBoxManage hostonlyif create did not name the interface it "
                                "made: {}",
                                printable(*created)));
      }
      adapter = *made;
      DM_TRY(vbm.run({"hostonlyif", "ipconfig", adapter, "--ip", host_ip, "--netmask", netmask}));
    }
    if (m_settings.hostonly_no_dhcp) {
      auto servers = vbm.run({"list", "dhcpservers"});
      DM_TRY(servers);
      const std::string network_name = "HostInterfaceNetworking-" + adapter;
      for (const auto& server : virtualbox::parse_dhcp_servers(*servers)) {
        if (server.network_name == network_name && server.enabled) {
          DM_TRY(vbm.run({"dhcpserver", "modify", "--netname", network_name, "--disable"}));
        }
      }
    }
    m_settings.hostonly_adapter = adapter;
    return vbm
        .run({"modifyvm", name, "--nic2", "hostonly", "--nictype2", m_settings.hostonly_nictype,
              "--nicpromisc2", m_settings.hostonly_promisc, "--hostonlyadapter2", adapter,
              "--cableconnected2", "on", "--macaddress2", mac})
        .map([](auto&&) {});
  }

  // docker-machine's SSH forward on NAT NIC 1, on a port free now (the last one may be taken).
  Result<void> set_ssh_forward(VBoxManage& vbm) {
    auto port = m_host.free_port();
    DM_TRY(port);
    const std::string& name = m_context.machine_name;
    (void)vbm.run({"modifyvm", name, "--natpf1", "delete", "ssh"}); // absent the first time
    DM_TRY(vbm.run({"modifyvm", name, "--natpf1",
                    fmt::format("ssh,tcp,127.0.0.1,{},,22", *port)}));
    m_settings.ssh_forward_port = *port;
    return {};
  }

  DriverContext m_context;
  VirtualBoxHost m_host;
  vm::VmMachine m_machine;
  VBoxSettings m_settings;
  vm::VmOptions m_options;
  vm::BaseImage m_base;
  bool m_options_set = false;
  std::string m_record_error;
  std::string m_last_vm_state;
};

} // namespace

VirtualBoxHost system_virtualbox_host() {
  VirtualBoxHost host;
  host.find_vboxmanage = []() {
    auto env = [](const char* name) {
      const char* value = std::getenv(name);
      return std::string_view(value == nullptr ? "" : value);
    };
    return virtualbox::find_vboxmanage(env("PATH"), env("VBOX_MSI_INSTALL_PATH"),
                                       env("VBOX_INSTALL_PATH"), [](const fs::path& path) {
                                         std::error_code ignored;
                                         return fs::is_regular_file(path, ignored) &&
                                                ::access(path.c_str(), X_OK) == 0;
                                       });
  };
  host.read_cpuinfo = []() { return read_file("/proc/cpuinfo").value_or(""); };
  host.free_port = free_local_port;
  host.sleep_ms = [](int ms) { std::this_thread::sleep_for(std::chrono::milliseconds(ms)); };
  host.is_directory = [](const fs::path& path) {
    std::error_code ignored;
    return fs::is_directory(path, ignored);
  };
#ifdef __APPLE__
  host.os = virtualbox::HostOs::macos;
#endif
  return host;
}

std::vector<DriverFlag> virtualbox_driver_flags() {
  std::vector<DriverFlag> flags = vm::vm_common_flags(flag_names(), vm_defaults());
  for (auto& flag : flags) {
    if (flag.name == "virtualbox-memory") {
      flag.env_var = "VIRTUALBOX_MEMORY_SIZE"; // docker-machine's name
    }
    if (flag.name == "virtualbox-cpu-count") {
      flag.help = "Number of CPUs for the machine (-1 to use the number of CPUs available)";
    }
    if (flag.name == "virtualbox-hostonly-cidr") {
      flag.help = "The host-only network (the host's address/prefix), inside VirtualBox's "
                  "allowed 192.168.56.0/21";
    }
  }
  std::vector<DriverFlag> more = {
      {"virtualbox-boot2docker-url", "Alias of --virtualbox-image (docker-machine's name)", "",
       "VIRTUALBOX_BOOT2DOCKER_URL", FlagType::string},
      {"virtualbox-hostonly-nictype",
       "Host-only network adapter type (virtio; 82540EM needs an image with e1000)",
       k_default_nictype, "VIRTUALBOX_HOSTONLY_NIC_TYPE", FlagType::string},
      {"virtualbox-hostonly-nicpromisc",
       "Host-only network adapter promiscuous mode (deny, allow-vms, allow-all)", "deny",
       "VIRTUALBOX_HOSTONLY_NIC_PROMISC", FlagType::string},
      {"virtualbox-hostonly-no-dhcp",
       "Disable the host-only network's DHCP server (machines have static addresses)", "",
       "VIRTUALBOX_HOSTONLY_NO_DHCP", FlagType::boolean},
      {"virtualbox-nat-nictype", "NAT network adapter type", k_default_nictype,
       "VIRTUALBOX_NAT_NICTYPE", FlagType::string},
      {"virtualbox-no-share", "Disable the mount of your home directory", "",
       "VIRTUALBOX_NO_SHARE", FlagType::boolean},
      {"virtualbox-share-folder",
       "Share this directory instead of the home directories. Format: dir:name", "",
       "VIRTUALBOX_SHARE_FOLDER", FlagType::string},
      {"virtualbox-no-dns-proxy", "Disable proxying all DNS requests to the host", "",
       "VIRTUALBOX_NO_DNS_PROXY", FlagType::boolean},
      {"virtualbox-host-dns-resolver", "Use the host DNS resolver", "",
       "VIRTUALBOX_HOST_DNS_RESOLVER", FlagType::boolean},
      {"virtualbox-ui-type", "The UI type (headless, gui, sdl, separate)", "headless",
       "VIRTUALBOX_UI_TYPE", FlagType::string},
      {"virtualbox-no-vtx-check",
       "Disable checking for the availability of hardware virtualization", "",
       "VIRTUALBOX_NO_VTX_CHECK", FlagType::boolean},
  };
  flags.insert(flags.end(), more.begin(), more.end());
  return flags;
}

std::unique_ptr<Driver> make_virtualbox_driver(const DriverContext& context,
                                               const nlohmann::json& config) {
  return make_virtualbox_driver_on(context, config, system_virtualbox_host());
}

std::unique_ptr<Driver> make_virtualbox_driver_on(const DriverContext& context,
                                                  const nlohmann::json& config,
                                                  VirtualBoxHost host) {
  return std::make_unique<VirtualBoxDriver>(context, config, std::move(host));
}

} // namespace dm
