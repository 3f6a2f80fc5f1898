#pragma once
// The qemu driver's pure parts: the qemu-system-x86_64 and qemu-img command lines, the
// names of its bridge and taps, and QMP's run states mapped to machine states.
#include "core/machine_state.h"

#include <filesystem>
#include <string>
#include <string_view>
#include <vector>

namespace dm::qemu {

enum class Accel { kvm, tcg };
std::string_view accel_name(Accel accel); // "kvm" / "tcg"

// How the VM's NIC is connected: a tap on a bridge (root), or QEMU's user networking with
// host forwards on 127.0.0.1 (no privileges).
enum class NetworkMode { bridge, user };
std::string_view network_mode_name(NetworkMode mode); // "bridge" / "user"

struct LaunchSpec {
  std::string name;                   // the machine's name (process title)
  std::filesystem::path machine_dir;  // overlay, seed, pid file, QMP socket and console log
  Accel accel = Accel::tcg;
  long memory_mb = 1024;
  long cpus = 1;
  std::string mac;
  NetworkMode network = NetworkMode::bridge;
  std::string tap;       // bridge mode
  std::string user_net;  // user mode: "10.0.2.0/24" (the machine's network)
  std::string user_host; // user mode: the host's address in it
  std::string guest_ip;  // user mode: where the forwards go
  int ssh_forward = 0;   // user mode: 127.0.0.1 ports
  int engine_forward = 0;
  int engine_port = 2376;
};

// Files of a machine, all in its directory.
std::filesystem::path overlay_path(const std::filesystem::path& machine_dir); // disk.qcow2
std::filesystem::path pid_path(const std::filesystem::path& machine_dir);     // qemu.pid
std::filesystem::path qmp_path(const std::filesystem::path& machine_dir);     // qmp.sock
std::filesystem::path console_path(const std::filesystem::path& machine_dir); // console.log
std::filesystem::path seed_iso_path(const std::filesystem::path& machine_dir); // seed.iso

// A value inside a QEMU option list: ',' doubled.
std::string qemu_option_value(std::string_view value);

// qemu-system-x86_64 ... -daemonize: virtio disk (the overlay), the seed as IDE CD-ROM, a
// virtio NIC, serial to the console log, QMP on a unix socket, a pid file.
std::vector<std::string> qemu_system_argv(const LaunchSpec& spec);
// qemu-img create -f qcow2 -F <format> -b <base> <overlay> <size>M
std::vector<std::string> overlay_create_argv(const std::filesystem::path& base,
                                             std::string_view base_format,
                                             const std::filesystem::path& overlay, long size_mb);

// "dmq" + 8 hex of a hash of the network ("10.213.244.1/24"): one bridge per network.
std::string bridge_name(std::string_view network_cidr);
// "dmqt" + 10 hex of a hash of key (the machine directory): one tap per machine.
std::string tap_name(std::string_view key);

// QMP query-status "status" values as machine states: running, paused (paused, suspended,
// prelaunch...), stopping (shutdown); unknown texts are error.
MachineState state_from_qmp_status(std::string_view status);

} // namespace dm::qemu
