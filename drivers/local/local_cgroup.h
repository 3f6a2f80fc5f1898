#pragma once
// The cgroup hierarchies of this computer, and each machine's subtree in them:
// <hierarchy>/dmachine/<id>, which holds every process of the host.
#include <filesystem>
#include <string>
#include <vector>

namespace dm::local {

constexpr const char* k_cgroup_root = "/sys/fs/cgroup";

struct CgroupMount {
  std::string dir;     // mount point under /sys/fs/cgroup, e.g. "cpu", "systemd", "unified"
  std::string fstype;  // cgroup or cgroup2
  std::string options; // what to pass to -o for a v1 mount: "cpu", "none,name=systemd"
};

// The cgroup hierarchies mounted under /sys/fs/cgroup; empty dir means cgroup2 at the root.
std::vector<CgroupMount> cgroup_mounts();
// The machine's subtree in every hierarchy: /sys/fs/cgroup/<dir>/dmachine/<id>.
std::vector<std::filesystem::path> cgroup_dirs(const std::string& id);
// Removes top and every cgroup below it, deepest first; retries for 5 s while one is busy.
void remove_cgroup_tree(const std::filesystem::path& top);
// SIGKILLs every process in the machine's subtree (cgroup.kill where cgroup v2 has it,
// and every PID of every cgroup.procs below), again and again until none is left or
// timeout_ms passed. Returns the PIDs still alive then (empty: all gone).
std::vector<int> kill_subtree(const std::string& id, int timeout_ms);
// True when id is what the driver makes: 8 lowercase hex digits (it names cgroup paths).
bool is_valid_machine_id(const std::string& id);
// True when cgroups (the text of /proc/<pid>/cgroup) places a process in dmachine/<id>.
bool in_subtree(const std::string& cgroups, const std::string& id);

} // namespace dm::local
