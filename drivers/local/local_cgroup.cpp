#include "drivers/local/local_cgroup.h"

#include "drivers/local/local_util.h"

#include <algorithm>
#include <cerrno>
#include <chrono>
#include <csignal>
#include <set>
#include <sstream>
#include <system_error>
#include <thread>
#include <unistd.h>

namespace dm::local {

namespace fs = std::filesystem;

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
    static const std::set<std::string> k_generic = {
        "rw",    "ro",     "relatime",   "noatime",        "nosuid",
        "nodev", "noexec", "nsdelegate", "clone_children", "xattr"};
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

std::vector<fs::path> cgroup_dirs(const std::string& id) {
  std::vector<fs::path> dirs;
  for (const auto& mount : cgroup_mounts()) {
    dirs.push_back(fs::path(k_cgroup_root) / mount.dir / "dmachine" / id);
  }
  return dirs;
}

void remove_cgroup_tree(const fs::path& top) {
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

namespace {

// Every PID listed in a cgroup.procs at or below top.
std::vector<int> pids_below(const fs::path& top) {
  std::vector<int> pids;
  std::error_code error;
  if (!fs::is_directory(fs::symlink_status(top, error))) {
    return pids;
  }
  std::vector<fs::path> dirs{top};
  for (auto it = fs::recursive_directory_iterator(top, error);
       !error && it != fs::recursive_directory_iterator(); it.increment(error)) {
    if (it->is_directory(error) && !it->is_symlink(error)) {
      dirs.push_back(it->path());
    }
  }
  for (const auto& dir : dirs) {
    std::istringstream in(read_text(dir / "cgroup.procs"));
    long pid = 0;
    std::string line;
    while (std::getline(in, line)) {
      if (parse_int(trim(line), pid) && pid > 1) {
        pids.push_back(static_cast<int>(pid));
      }
    }
  }
  return pids;
}

// Live (not zombie) processes among pids.
std::vector<int> alive(const std::vector<int>& pids) {
  std::vector<int> live;
  for (int pid : pids) {
    auto stat = read_text(fs::path("/proc") / std::to_string(pid) / "stat");
    auto paren = stat.rfind(')');
    if (paren == std::string::npos || paren + 2 >= stat.size() || stat[paren + 2] == 'Z' ||
        stat[paren + 2] == 'X') {
      continue;
    }
    live.push_back(pid);
  }
  return live;
}

} // namespace

std::vector<int> kill_subtree(const std::string& id, int timeout_ms) {
  if (!is_valid_machine_id(id)) {
    return {};
  }
  auto deadline = std::chrono::steady_clock::now() + std::chrono::milliseconds(timeout_ms);
  std::vector<int> left;
  while (true) {
    left.clear();
    for (const auto& dir : cgroup_dirs(id)) {
      std::error_code error;
      if (fs::exists(dir / "cgroup.kill", error)) {
        (void)write_proc_value(dir / "cgroup.kill", "1");
      }
      for (int pid : alive(pids_below(dir))) {
        ::kill(pid, SIGKILL);
        left.push_back(pid);
      }
    }
    if (left.empty() || std::chrono::steady_clock::now() >= deadline) {
      break;
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(k_poll_ms / 2));
  }
  std::sort(left.begin(), left.end());
  left.erase(std::unique(left.begin(), left.end()), left.end());
  return alive(left);
}

bool is_valid_machine_id(const std::string& id) {
  return id.size() == 8 && id.find_first_not_of("0123456789abcdef") == std::string::npos;
}

bool in_subtree(const std::string& cgroups, const std::string& id) {
  auto marker = "/dmachine/" + id;
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

} // namespace dm::local
