#include "drivers/qemu/qemu_command.h"

#include "core/digest.h"

#include <fmt/format.h>

namespace dm::qemu {

namespace fs = std::filesystem;

std::string_view accel_name(Accel accel) { return accel == Accel::kvm ? "kvm" : "tcg"; }

std::string_view network_mode_name(NetworkMode mode) {
  return mode == NetworkMode::bridge ? "bridge" : "user";
}

fs::path overlay_path(const fs::path& machine_dir) { return machine_dir / "disk.qcow2"; }
fs::path pid_path(const fs::path& machine_dir) { return machine_dir / "qemu.pid"; }
fs::path qmp_path(const fs::path& machine_dir) { return machine_dir / "qmp.sock"; }
fs::path console_path(const fs::path& machine_dir) { return machine_dir / "console.log"; }
fs::path seed_iso_path(const fs::path& machine_dir) { return machine_dir / "seed.iso"; }

std::string qemu_option_value(std::string_view value) {
  std::string out;
  for (char c : value) {
    out += c;
    if (c == ',') {
      out += ',';
    }
  }
  return out;
}

std::vector<std::string> qemu_system_argv(const LaunchSpec& spec) {
  const auto& dir = spec.machine_dir;
  std::string accel = spec.accel == Accel::kvm ? "kvm" : "tcg,tb-size=256";
  std::string netdev;
  if (spec.network == NetworkMode::bridge) {
    netdev = fmt::format("tap,id=net0,ifname={},script=no,downscript=no", spec.tap);
  } else {
    netdev = fmt::format("user,id=net0,net={},host={},hostfwd=tcp:127.0.0.1:{}-{}:22,"
                         "hostfwd=tcp:127.0.0.1:{}-{}:{}",
                         spec.user_net, spec.user_host, spec.ssh_forward, spec.guest_ip,
                         spec.engine_forward, spec.guest_ip, spec.engine_port);
  }
  return {"qemu-system-x86_64",
          "-name",
          fmt::format("{},process=dmachine-{}", qemu_option_value(spec.name), spec.name),
          "-no-user-config",
          "-nodefaults",
          "-machine",
          "pc",
          "-accel",
          accel,
          "-m",
          std::to_string(spec.memory_mb),
          "-smp",
          std::to_string(spec.cpus),
          "-drive",
          fmt::format("file={},if=virtio,format=qcow2,discard=unmap",
                      qemu_option_value(overlay_path(dir).string())),
          "-drive",
          fmt::format("file={},media=cdrom,if=ide,readonly=on",
                      qemu_option_value(seed_iso_path(dir).string())),
          "-netdev",
          netdev,
          "-device",
          fmt::format("virtio-net-pci,netdev=net0,mac={}", spec.mac),
          "-display",
          "none",
          "-serial",
          fmt::format("file:{}", console_path(dir).string()),
          "-qmp",
          fmt::format("unix:{},server=on,wait=off", qemu_option_value(qmp_path(dir).string())),
          "-pidfile",
          pid_path(dir).string(),
          "-daemonize"};
}

std::vector<std::string> overlay_create_argv(const fs::path& base, std::string_view base_format,
                                             const fs::path& overlay, long size_mb) {
  return {"qemu-img", "create",         "-q",
          "-f",       "qcow2",          "-F",
          std::string(base_format),     "-b",
          base.string(),                overlay.string(),
          std::to_string(size_mb) + "M"};
}

std::string bridge_name(std::string_view network_cidr) {
  return "dmq" + hex_lower(sha256(network_cidr)).substr(0, 8);
}

std::string tap_name(std::string_view key) {
  return "dmqt" + hex_lower(sha256(key)).substr(0, 10);
}

MachineState state_from_qmp_status(std::string_view status) {
  if (status == "running") {
    return MachineState::running;
  }
  if (status == "shutdown") {
    return MachineState::stopping;
  }
  if (status == "paused" || status == "suspended" || status == "prelaunch" ||
      status == "inmigrate" || status == "postmigrate" || status == "finish-migrate" ||
      status == "save-vm" || status == "restore-vm" || status == "debug" ||
      status == "watchdog") {
    return MachineState::paused;
  }
  return MachineState::error;
}

} // namespace dm::qemu
