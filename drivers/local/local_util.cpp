#include "drivers/local/local_util.h"

#include "core/machine_store.h"

#include <algorithm>
#include <cctype>
#include <cerrno>
#include <cstdint>
#include <cstdio>
#include <cstring>
#include <fmt/format.h>
#include <fstream>
#include <ftw.h>
#include <sys/mount.h>
#include <sstream>
#include <sys/stat.h>
#include <system_error>
#include <unistd.h>

namespace dm::local {

namespace fs = std::filesystem;

namespace {

constexpr const char* k_default_mirror = "http://deb.debian.org/debian";

} // namespace

std::string trim(std::string text) {
  auto not_space = [](unsigned char c) { return !std::isspace(c); };
  text.erase(text.begin(), std::find_if(text.begin(), text.end(), not_space));
  text.erase(std::find_if(text.rbegin(), text.rend(), not_space).base(), text.end());
  return text;
}

std::string read_text(const fs::path& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) {
    return "";
  }
  std::ostringstream out;
  out << in.rdbuf();
  return out.str();
}

std::vector<std::string> split_ws(const std::string& text) {
  std::istringstream in(text);
  std::vector<std::string> words;
  std::string word;
  while (in >> word) {
    words.push_back(word);
  }
  return words;
}

std::string fnv1a_hex(const std::string& text) {
  std::uint32_t hash = 2166136261u;
  for (unsigned char c : text) {
    hash ^= c;
    hash *= 16777619u;
  }
  return fmt::format("{:08x}", hash);
}

bool parse_int(const std::string& text, long& value) {
  try {
    size_t used = 0;
    value = std::stol(text, &used);
    return used == text.size();
  } catch (const std::exception&) {
    return false;
  }
}

bool parse_ipv4(const std::string& text, std::array<int, 4>& octets) {
  std::istringstream in(text);
  std::string part;
  int index = 0;
  while (std::getline(in, part, '.')) {
    long value = 0;
    if (index >= 4 || part.empty() || !parse_int(part, value) || value < 0 || value > 255) {
      return false;
    }
    octets[static_cast<size_t>(index++)] = static_cast<int>(value);
  }
  return index == 4;
}

Result<void> write_file(const fs::path& path, const std::string& data, int mode) {
  auto written = write_file_atomic(path, data, mode);
  if (!written) {
    return fail(written.error());
  }
  if (::chmod(path.c_str(), static_cast<mode_t>(mode)) != 0) {
    return fail(fmt::format("chmod {}: {}", path.string(), std::strerror(errno)));
  }
  return {};
}

Result<void> make_dir(const fs::path& path, int mode) {
  std::error_code error;
  fs::create_directories(path, error);
  if (error) {
    return fail(fmt::format("create directory {}: {}", path.string(), error.message()));
  }
  if (::chmod(path.c_str(), static_cast<mode_t>(mode)) != 0) {
    return fail(fmt::format("chmod {}: {}", path.string(), std::strerror(errno)));
  }
  return {};
}

bool tool_exists(const std::string& name) {
  for (const char* dir :
       {"/usr/sbin", "/usr/bin", "/sbin", "/bin", "/usr/local/sbin", "/usr/local/bin"}) {
    if (::access((fs::path(dir) / name).c_str(), X_OK) == 0) {
      return true;
    }
  }
  return false;
}

std::string detect_mirror() {
  auto usable = [](const std::string& uri) {
    return (uri.rfind("http://", 0) == 0 || uri.rfind("https://", 0) == 0) &&
           uri.find("security") == std::string::npos &&
           (uri.size() >= 7 && (uri.ends_with("/debian") || uri.ends_with("/debian/")));
  };
  std::vector<fs::path> files{"/etc/apt/sources.list"};
  std::error_code error;
  std::vector<fs::path> extra;
  for (const auto& entry : fs::directory_iterator("/etc/apt/sources.list.d", error)) {
    auto name = entry.path().filename().string();
    if (name.ends_with(".sources") || name.ends_with(".list")) {
      extra.push_back(entry.path());
    }
  }
  std::sort(extra.begin(), extra.end());
  files.insert(files.end(), extra.begin(), extra.end());
  for (const auto& file : files) {
    std::istringstream in(read_text(file));
    std::string line;
    bool deb822 = file.extension() == ".sources";
    while (std::getline(in, line)) {
      auto words = split_ws(line);
      if (words.empty() || words[0][0] == '#') {
        continue;
      }
      if (deb822 && words[0] == "URIs:") {
        for (size_t i = 1; i < words.size(); ++i) {
          if (usable(words[i])) {
            return words[i];
          }
        }
      } else if (!deb822 && words[0] == "deb") {
        for (size_t i = 1; i < words.size(); ++i) {
          if (words[i][0] == '[') {
            continue; // options like [arch=amd64]
          }
          if (usable(words[i])) {
            return words[i];
          }
          break;
        }
      }
    }
  }
  return k_default_mirror;
}

namespace {

// mountinfo writes space, tab, newline and backslash as \ooo.
std::string unescape_octal(const std::string& text) {
  std::string out;
  for (size_t i = 0; i < text.size(); ++i) {
    if (text[i] == '\\' && i + 3 < text.size() &&
        std::isdigit(static_cast<unsigned char>(text[i + 1])) != 0 &&
        std::isdigit(static_cast<unsigned char>(text[i + 2])) != 0 &&
        std::isdigit(static_cast<unsigned char>(text[i + 3])) != 0) {
      out += static_cast<char>((text[i + 1] - '0') * 64 + (text[i + 2] - '0') * 8 +
                               (text[i + 3] - '0'));
      i += 3;
    } else {
      out += text[i];
    }
  }
  return out;
}

} // namespace

std::vector<fs::path> mount_points() { return parse_mountinfo(read_text("/proc/self/mountinfo")); }

std::vector<fs::path> parse_mountinfo(const std::string& text) {
  std::vector<fs::path> points;
  std::istringstream in(text);
  std::string line;
  while (std::getline(in, line)) {
    auto words = split_ws(line);
    if (words.size() >= 5) {
      points.emplace_back(unescape_octal(words[4]));
    }
  }
  return points;
}

std::vector<fs::path> mounts_below(const fs::path& dir) {
  return mounts_below(dir, mount_points());
}

std::vector<fs::path> mounts_below(const fs::path& dir, const std::vector<fs::path>& points) {
  auto prefix = dir.lexically_normal().string();
  if (!prefix.ends_with('/')) {
    prefix += '/';
  }
  std::vector<fs::path> below;
  for (const auto& point : points) {
    if (point.string().rfind(prefix, 0) == 0) {
      below.push_back(point);
    }
  }
  std::sort(below.begin(), below.end(), [](const fs::path& a, const fs::path& b) {
    return a.string().size() > b.string().size();
  });
  return below;
}

bool mounted_below(const fs::path& dir) { return !mounts_below(dir).empty(); }

Result<void> remove_tree(const fs::path& dir) {
  std::error_code error;
  if (!fs::exists(fs::symlink_status(dir, error))) {
    return {};
  }
  for (int round = 0; round < 5 && mounted_below(dir); ++round) {
    for (const auto& point : mounts_below(dir)) {
      (void)::umount2(point.c_str(), MNT_DETACH | UMOUNT_NOFOLLOW);
    }
  }
  auto left = mounts_below(dir);
  if (!left.empty()) {
    return fail(fmt::format("{} is still mounted; unmount it and try again", left[0].string()));
  }
  // FTW_MOUNT: never enter another file system; FTW_PHYS: never follow a symlink.
  static thread_local std::string failed;
  failed.clear();
  auto remove_one = [](const char* path, const struct stat*, int, struct FTW*) -> int {
    if (::remove(path) != 0 && errno != ENOENT) {
      failed = fmt::format("delete {}: {}", path, std::strerror(errno));
      return 1;
    }
    return 0;
  };
  if (::nftw(dir.c_str(), remove_one, 32, FTW_DEPTH | FTW_PHYS | FTW_MOUNT) != 0) {
    return fail(failed.empty() ? fmt::format("delete {}: {}", dir.string(), std::strerror(errno))
                               : failed);
  }
  if (fs::exists(fs::symlink_status(dir, error))) {
    return fail(fmt::format("delete {}: something in it is on another file system",
                            dir.string()));
  }
  return {};
}

bool is_normal_absolute(const std::string& path) {
  if (path.empty() || path[0] != '/' || (path.size() > 1 && path.back() == '/') ||
      path.find("//") != std::string::npos) {
    return false;
  }
  for (const auto& part : fs::path(path)) {
    if (part == "." || part == "..") {
      return false;
    }
  }
  return true;
}

Result<ProcessResult> ToolRunner::run(const std::vector<std::string>& argv,
                                      int timeout_seconds) const {
  if (m_runner == nullptr) {
    return fail("the local driver has no process runner");
  }
  ProcessOptions options;
  options.timeout_seconds = timeout_seconds;
  return m_runner->run(argv, options);
}

Result<void> ToolRunner::run_ok(const std::vector<std::string>& argv, int timeout_seconds) const {
  auto result = run(argv, timeout_seconds);
  DM_TRY_CTX(result, join_argv(argv));
  if (result->exit_status != 0) {
    auto detail = trim(result->err.empty() ? result->out : result->err);
    if (detail.size() > 2000) {
      detail = "..." + detail.substr(detail.size() - 2000);
    }
    return fail(
        fmt::format("{} failed (exit {}): {}", join_argv(argv), result->exit_status, detail));
  }
  return {};
}

bool write_proc_value(const fs::path& path, const std::string& value) {
  std::ofstream out(path);
  out << value << "\n";
  out.flush();
  return static_cast<bool>(out);
}

Result<void> raise_host_limits() {
  // Every host runs its own systemd, journald, dockerd...: each takes inotify
  // instances and kernel keys from root's shared allowance. At Debian's defaults
  // (128 inotify instances, 200 keys) about twenty hosts exhaust them and the next
  // one's systemd stalls at boot ("Failed to create inotify object: Too many open
  // files"). Raised to the floors LXD's production setup advises; never lowered.
  const std::pair<const char*, long> floors[] = {
      {"/proc/sys/fs/inotify/max_user_instances", 8192},
      {"/proc/sys/fs/inotify/max_user_watches", 524288},
      {"/proc/sys/kernel/keys/maxkeys", 2000},
      {"/proc/sys/kernel/keys/maxbytes", 2000000},
      // One neighbour table serves every namespace: n hosts talking to each other need
      // about n*n entries, and at the default gc_thresh3 (1024) ~55 hosts get "No route
      // to host". 65536 covers a full /24 of hosts talking to each other.
      {"/proc/sys/net/ipv4/neigh/default/gc_thresh1", 1024},
      {"/proc/sys/net/ipv4/neigh/default/gc_thresh2", 32768},
      {"/proc/sys/net/ipv4/neigh/default/gc_thresh3", 65536},
  };
  for (const auto& [path, floor] : floors) {
    long current = 0;
    if (!parse_int(trim(read_text(path)), current) || current >= floor) {
      continue; // absent in this kernel, or already enough
    }
    if (!write_proc_value(path, std::to_string(floor))) {
      return fail(fmt::format("cannot raise {} from {} to {} (many hosts need more than the "
                              "default); set it with sysctl",
                              path, current, floor));
    }
  }
  return {};
}

} // namespace dm::local
