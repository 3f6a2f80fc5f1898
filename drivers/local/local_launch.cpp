#include "drivers/local/local_launch.h"

#include "core/shell_quote.h"
#include "drivers/local/local_cgroup.h"

#include <chrono>
#include <fmt/format.h>
#include <system_error>
#include <thread>

namespace dm::local {

namespace fs = std::filesystem;

namespace {

// Boot under load (twenty hosts starting at once on two cores) takes a while.
constexpr int k_start_wait_ms = 120000;
constexpr int k_launch_attempts = 3;
// What the launcher says before it gives up for good (no second attempt helps).
constexpr const char* k_launcher_fatal = "launcher: cannot";

// True while pid is a live (non-zombie) process of this machine, whatever it runs now
// (at poweroff systemd execs systemd-shutdown).
bool is_ours_alive(pid_t pid, const std::string& id) {
  auto proc = fs::path("/proc") / std::to_string(pid);
  auto stat = read_text(proc / "stat");
  auto paren = stat.rfind(')');
  if (paren == std::string::npos || paren + 2 >= stat.size() || stat[paren + 2] == 'Z' ||
      stat[paren + 2] == 'X') {
    return false;
  }
  return in_subtree(read_text(proc / "cgroup"), id);
}

// Robust against PID reuse: the process must be systemd, alive, and in our cgroup subtree.
bool is_our_systemd(pid_t pid, const std::string& id) {
  auto comm = fs::path("/proc") / std::to_string(pid) / "comm";
  return trim(read_text(comm)) == "systemd" && is_ours_alive(pid, id);
}

} // namespace

std::string launcher_script(const HostSpec& spec) {
  const auto& local = spec.local_dir;
  auto q = [](const fs::path& path) { return shell_quote(path.string()); };
  auto mounts = cgroup_mounts();
  std::string outer = "#!/bin/sh\n# Written by dmachine's local driver: starts the host.\n";
  // Run twice: first in the foreground of create (cgroups, then it joins its subtree, so a
  // teardown finds every process it starts even when create is killed at once), then again
  // detached with "boot" (namespaces, systemd).
  outer += "set -u\nexec </dev/null\nif [ \"${1:-}\" != boot ]; then\n"
           "echo \"launcher: starting $(date)\"\n";
  // Limits live on dmachine/<id>; the host's own cgroup root is dmachine/<id>/host, one
  // level below, so that root in the host cannot raise them (cgroup v1 lets a cgroup's
  // owner write its own limit files; a parent's limits bind every child).
  for (const auto& mount : mounts) {
    auto base = fs::path(k_cgroup_root) / mount.dir;
    auto parent = base / "dmachine";
    auto limits = parent / spec.id;
    auto leaf = limits / k_host_cgroup;
    // The leaf is made last: a v1 devices cgroup takes a deny-all only while it has no child.
    outer += fmt::format("mkdir -p {} {}\n", q(parent), q(limits));
    if (mount.options == "devices") {
      // Set before any process joins: no block device may be opened (mknod stays allowed,
      // as in Docker's default list, so dockerd can populate its containers' /dev).
      auto refuse = fmt::format("{{ echo \"{} {}\"; exit 1; }}", k_launcher_fatal,
                                "restrict the devices of the host");
      outer += fmt::format("echo a > {}/devices.deny || {}\n", q(limits), refuse);
      for (const char* rule : k_allowed_devices) {
        outer += fmt::format("echo '{}' > {}/devices.allow || {}\n", rule, q(limits), refuse);
      }
    }
    bool v2 = mount.fstype == "cgroup2";
    bool memory = mount.options == "memory" || (v2 && mount.dir.empty());
    bool cpu = mount.options == "cpu" || mount.options == "cpu,cpuacct" ||
               mount.options == "cpuacct,cpu" || (v2 && mount.dir.empty());
    if (v2 && mount.dir.empty()) {
      for (const auto& dir : {base, parent, limits}) {
        outer += fmt::format("echo +cpu +memory +pids > {}/cgroup.subtree_control 2>/dev/null\n",
                             q(dir));
      }
    }
    if (memory) {
      auto bytes =
          spec.memory_mb > 0 ? std::to_string(spec.memory_mb * 1024 * 1024) : std::string();
      if (v2) {
        outer += fmt::format("echo {} > {}/memory.max\n", spec.memory_mb > 0 ? bytes : "max",
                             q(limits));
      } else {
        outer += fmt::format("echo {} > {}/memory.limit_in_bytes\n",
                             spec.memory_mb > 0 ? bytes : "-1", q(limits));
      }
    }
    if (cpu) {
      if (v2) {
        outer += fmt::format("echo {} > {}/cpu.max\n",
                             spec.cpus > 0 ? fmt::format("{} 100000", spec.cpus * 100000)
                                           : std::string("max 100000"),
                             q(limits));
      } else {
        outer += fmt::format("echo 100000 > {l}/cpu.cfs_period_us\necho {v} > "
                             "{l}/cpu.cfs_quota_us\n",
                             fmt::arg("l", q(limits)),
                             fmt::arg("v", spec.cpus > 0 ? spec.cpus * 100000 : -1));
      }
    }
    outer += fmt::format("mkdir -p {}\n", q(leaf));
    if (mount.options == "cpuset") {
      for (const char* file : {"cpuset.cpus", "cpuset.mems"}) {
        outer += fmt::format("[ -n \"$(cat {p}/{f})\" ] || cat {b}/{f} > {p}/{f}\n"
                             "[ -n \"$(cat {m}/{f})\" ] || cat {p}/{f} > {m}/{f}\n"
                             "[ -n \"$(cat {l}/{f})\" ] || cat {m}/{f} > {l}/{f}\n",
                             fmt::arg("p", q(parent)), fmt::arg("b", q(base)),
                             fmt::arg("m", q(limits)), fmt::arg("l", q(leaf)),
                             fmt::arg("f", file));
      }
    }
    // A host outside its devices cgroup could open this computer's disks: never start it so.
    if (mount.options == "devices") {
      outer += fmt::format("echo $$ > {}/cgroup.procs || {{ echo \"{} join {}\"; exit 1; }}\n",
                           q(leaf), k_launcher_fatal, leaf.string());
    } else {
      outer += fmt::format("echo $$ > {}/cgroup.procs || echo \"launcher: could not join {}\"\n",
                           q(leaf), leaf.string());
    }
  }
  // Once the host is started, the launcher leaves its subtree so that its own exit
  // leaves nothing there.
  std::string leave;
  for (const auto& mount : mounts) {
    leave += fmt::format("echo $$ > {}/cgroup.procs 2>/dev/null\n",
                         q(fs::path(k_cgroup_root) / mount.dir));
  }
  outer += "exec setsid -f sh \"$0\" boot\nfi\n";
  auto pid_file = local / "pid";
  outer += fmt::format(
      "ip netns exec {ns} unshare --mount --pid --uts --ipc --cgroup --fork --propagation "
      "private sh {inner} &\n"
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
      fmt::arg("ns", shell_quote(spec.netns)), fmt::arg("inner", q(local / "inner.sh")),
      fmt::arg("pid", q(pid_file)), fmt::arg("leave", leave));
  return outer;
}

std::string inner_script(const HostSpec& spec) {
  const auto& local = spec.local_dir;
  auto q = [](const fs::path& path) { return shell_quote(path.string()); };
  std::string s = "#!/bin/sh\n# Written by dmachine's local driver: runs as PID 1 of the host "
                  "until it becomes systemd.\nset -e\n";
  // Relative layer paths: overlayfs options cannot hold every character a store path can.
  s += fmt::format("cd {}\n", q(local));
  s += fmt::format("mkdir -p lower\nmount --bind -o ro {} lower\n", q(spec.image_rootfs));
  s += "mount -t overlay overlay -o lowerdir=lower,upperdir=upper,workdir=work rootfs\n";
  s += "R=\"$PWD/rootfs\"\n";
  s += "mkdir -p \"$R/var/lib/docker\"\nmount --bind docker \"$R/var/lib/docker\"\n";
  s += "mount -t tmpfs -o mode=755,nosuid,nodev tmpfs \"$R/run\"\n"
       "mount -t tmpfs -o mode=1777,nosuid,nodev tmpfs \"$R/tmp\"\n"
       // Only the device nodes a host needs; the devices cgroup refuses every other one.
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
  // /proc of the host's own PID namespace; /proc/sys read-only but for the host's own
  // network namespace (dockerd sets forwarding and bridge values there); files that act
  // on or reveal the whole computer hidden, as Docker does.
  s += "mount -t proc -o nosuid,nodev,noexec proc \"$R/proc\"\n"
       "mount --bind \"$R/proc/sys\" \"$R/proc/sys\"\n"
       "mount --bind \"$R/proc/sys/net\" \"$R/proc/sys/net\"\n"
       "mount -o remount,bind,ro,nosuid,nodev,noexec \"$R/proc/sys\"\n"
       "for f in sysrq-trigger kcore keys timer_list sched_debug latency_stats kallsyms; do\n"
       "  [ -e \"$R/proc/$f\" ] && mount --bind \"$R/dev/null\" \"$R/proc/$f\" || true\n"
       "done\n"
       "for d in bus fs irq acpi scsi; do\n"
       "  [ -d \"$R/proc/$d\" ] && mount --bind -o ro \"$R/proc/$d\" \"$R/proc/$d\" || true\n"
       "done\n"
       // sysfs read-only (it shows only this network namespace's interfaces); the cgroup
       // mounts below stay writable for systemd and dockerd.
       "mount -t sysfs -o ro,nosuid,nodev,noexec sysfs \"$R/sys\"\n"
       "[ -d \"$R/sys/firmware\" ] && mount -t tmpfs -o ro,nosuid,nodev,noexec tmpfs "
       "\"$R/sys/firmware\" || true\n";
  auto mounts = cgroup_mounts();
  if (mounts.size() == 1 && mounts[0].dir.empty()) {
    s += "mount -t cgroup2 -o nosuid,nodev,noexec cgroup2 \"$R/sys/fs/cgroup\"\n";
  } else {
    s += "mount -t tmpfs -o mode=755,nosuid,nodev,noexec tmpfs \"$R/sys/fs/cgroup\"\n";
    for (const auto& mount : mounts) {
      auto point = fmt::format("\"$R/sys/fs/cgroup/\"{}", shell_quote(mount.dir));
      s += fmt::format("mkdir -p {}\n", point);
      if (mount.fstype == "cgroup2") {
        s += fmt::format("mount -t cgroup2 -o nosuid,nodev,noexec cgroup2 {}\n", point);
      } else {
        s += fmt::format("mount -t cgroup -o nosuid,nodev,noexec,{} cgroup {}\n",
                         shell_quote(mount.options), point);
      }
    }
    // cpu,cpuacct style symlinks for controllers mounted separately.
    s += "[ -d \"$R/sys/fs/cgroup/cpu\" ] && [ -d \"$R/sys/fs/cgroup/cpuacct\" ] && ln -s cpu "
         "\"$R/sys/fs/cgroup/cpu,cpuacct\" 2>/dev/null || true\n";
  }
  s += fmt::format("hostname {}\n", shell_quote(spec.machine_name));
  // The host's own SSH host keys, made at first boot (the image has none).
  // ed25519 and ECDSA only: an RSA key takes seconds of CPU, far more when
  // many hosts boot at once.
  s += "for t in ed25519 ecdsa; do [ -f \"$R/etc/ssh/ssh_host_${t}_key\" ] || "
       "chroot \"$R\" ssh-keygen -q -t $t -N '' -f /etc/ssh/ssh_host_${t}_key; done\n";
  // pivot_root, then detach the old root: nothing of this computer's file tree stays
  // reachable (a chroot() escape ends at the host's own root). Capabilities that act on
  // the whole computer leave the bounding set of every process of the host.
  s += "cd \"$R\"\nmkdir -p .dm-oldroot\npivot_root . .dm-oldroot\ncd /\n";
  s += fmt::format("exec setpriv --bounding-set {} -- /bin/sh -c 'umount -l /.dm-oldroot && "
                   "rmdir /.dm-oldroot && exec env -i container=other /lib/systemd/systemd'\n",
                   dropped_capabilities());
  return s;
}

std::string dropped_capabilities() {
  std::string list;
  for (const char* cap : k_dropped_capabilities) {
    list += (list.empty() ? "-" : ",-") + std::string(cap);
  }
  return list;
}

Result<void> launch(const ToolRunner& tools, const HostSpec& spec,
                    const std::function<Result<void>()>& reset) {
  const auto& local = spec.local_dir;
  std::error_code ignored;
  fs::remove(local / "pid", ignored);
  DM_TRY(write_file(local / "launch.sh", launcher_script(spec), 0700));
  DM_TRY(write_file(local / "inner.sh", inner_script(spec), 0700));
  auto console = local / "console.log";
  // A host that dies during boot is launched again (bounded): under heavy
  // load (dozens of hosts booting on two cores) a boot has been seen to exit.
  for (int attempt = 1; attempt <= k_launch_attempts; ++attempt) {
    auto console_size = fs::file_size(console, ignored);
    if (ignored) {
      console_size = 0;
    }
    auto started = tools.run({"sh", "-c", "exec sh \"$0\" </dev/null >>\"$1\" 2>&1",
                              (local / "launch.sh").string(), console.string()});
    DM_TRY(started);
    if (started->exit_status != 0) {
      auto text = read_text(console);
      auto fatal = text.find(k_launcher_fatal, std::min(console_size, text.size()));
      return fail(fmt::format(
          "the host was not started: {}",
          fatal == std::string::npos
              ? fmt::format("launch.sh exited {} (see {})", started->exit_status, console.string())
              : trim(text.substr(fatal, text.find('\n', fatal) - fatal))));
    }
    auto deadline = std::chrono::steady_clock::now() + std::chrono::milliseconds(k_start_wait_ms);
    bool exited = false;
    while (!exited && std::chrono::steady_clock::now() < deadline) {
      if (running_pid(spec.local_dir, spec.id) > 0) {
        return {};
      }
      auto text = read_text(console);
      exited = text.size() > console_size && text.find("launcher: the host exited during boot",
                                                       console_size) != std::string::npos;
      if (!exited) {
        std::this_thread::sleep_for(std::chrono::milliseconds(k_poll_ms));
      }
    }
    if (!exited) {
      break;
    }
    DM_TRY(reset());
  }
  auto log = read_text(console);
  if (log.size() > 1500) {
    log = "..." + log.substr(log.size() - 1500);
  }
  return fail(ErrorKind::timeout,
              fmt::format("the host did not start within {} s; its console ({}) says:\n{}",
                          k_start_wait_ms / 1000, console.string(), trim(log)));
}

pid_t running_pid(const fs::path& local_dir, const std::string& id) {
  auto text = trim(read_text(local_dir / "pid"));
  long pid = 0;
  if (text.empty() || !parse_int(text, pid) || pid <= 1) {
    return 0;
  }
  return is_our_systemd(static_cast<pid_t>(pid), id) ? static_cast<pid_t>(pid) : 0;
}

bool wait_gone(pid_t pid, const std::string& id, int timeout_ms) {
  auto deadline = std::chrono::steady_clock::now() + std::chrono::milliseconds(timeout_ms);
  while (std::chrono::steady_clock::now() < deadline) {
    if (!is_ours_alive(pid, id)) {
      return true;
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(k_poll_ms));
  }
  return !is_ours_alive(pid, id);
}

} // namespace dm::local
