#pragma once
// Starting a host — a launcher that makes its cgroups and namespaces, and an inner
// script that runs as its PID 1 until it execs systemd — and telling whether it runs.
#include "core/result.h"
#include "drivers/local/local_util.h"

#include <filesystem>
#include <functional>
#include <string>
#include <sys/types.h>

namespace dm::local {

struct HostSpec {
  std::string id;                     // the cgroup subtree is dmachine/<id>
  std::string machine_name;           // the hostname
  std::string netns;                  // made by HostNetwork::setup
  std::filesystem::path local_dir;    // <machine>/local: upper, work, rootfs, docker, pid, logs
  std::filesystem::path image_rootfs; // the overlay's lower layer
  long memory_mb = 0;                 // 0: no limit
  long cpus = 0;                      // 0: no limit
};

// The host's cgroup root below its limits: dmachine/<id>/host.
constexpr const char* k_host_cgroup = "host";
// Devices a host may open (devices cgroup, v1); mknod of any is allowed, as in Docker.
constexpr const char* k_allowed_devices[] = {
    "c *:* m",  "b *:* m",    "c 1:3 rwm",   "c 1:5 rwm",    "c 1:7 rwm",   "c 1:8 rwm",
    "c 1:9 rwm", "c 5:0 rwm", "c 5:1 rwm",   "c 5:2 rwm",    "c 136:* rwm", "c 10:229 rwm",
    "c 10:200 rwm"};
// Capabilities no process of a host keeps (they act on the whole computer, or, for
// dac_read_search, open any file of a file system by handle); dockerd works without them.
constexpr const char* k_dropped_capabilities[] = {
    "sys_module",  "sys_rawio",  "sys_time",      "sys_boot",      "syslog",
    "mac_admin",   "mac_override", "wake_alarm",  "block_suspend", "audit_control",
    "sys_pacct",   "dac_read_search"};
// The setpriv --bounding-set argument that drops k_dropped_capabilities: "-sys_module,...".
std::string dropped_capabilities();

// The launcher (launch.sh): cgroups with the limits, then inner.sh in new namespaces;
// it writes systemd's host PID to <local_dir>/pid.
std::string launcher_script(const HostSpec& spec);
// inner.sh, PID 1 of the host: overlay root, /dev, /proc (sys read-only), /sys
// (read-only), cgroups, hostname and SSH host keys, pivot_root, then exec systemd.
std::string inner_script(const HostSpec& spec);
// Writes both scripts and starts the launcher, waiting for systemd; when the host exits
// during boot, calls reset (to clean up and remake the network) and tries again, 3 times in all.
Result<void> launch(const ToolRunner& tools, const HostSpec& spec,
                    const std::function<Result<void>()>& reset);
// The host PID of the machine's systemd, or 0 when it is not running (PID reuse is detected).
pid_t running_pid(const std::filesystem::path& local_dir, const std::string& id);
// Waits at most timeout_ms for pid to be no live process of the machine; true when it is gone.
bool wait_gone(pid_t pid, const std::string& id, int timeout_ms);

} // namespace dm::local
