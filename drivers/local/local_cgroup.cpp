#include "drivers/local/local_cgroup.h"

#include "drivers/local/local_util.h"

#include <algorithm>
#include <cerrno>
#include <chrono>
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
