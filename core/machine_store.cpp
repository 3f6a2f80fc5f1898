#include "core/machine_store.h"

#include "core/interrupt.h"

#include <algorithm>
#include <atomic>
#include <cctype>
#include <cerrno>
#include <chrono>
#include <cstdlib>
#include <cstring>
#include <fcntl.h>
#include <pwd.h>
#include <random>
#include <sys/file.h>
#include <sys/stat.h>
#include <thread>
#include <unistd.h>

namespace dm {

namespace fs = std::filesystem;

namespace {

constexpr int k_dir_mode = 0700;
constexpr auto k_lock_poll = std::chrono::milliseconds(50);

std::string errno_text(int error) { return std::strerror(error); }

std::string lower(std::string text) {
  std::transform(text.begin(), text.end(), text.begin(),
                 [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
  return text;
}

// mkdir with an explicit mode (umask-independent); an existing directory is fine.
Result<void> make_dir(const fs::path& dir) {
  if (::mkdir(dir.c_str(), k_dir_mode) == 0) {
    if (::chmod(dir.c_str(), k_dir_mode) != 0) {
      return fail("chmod " + dir.string() + ": " + errno_text(errno));
    }
    return {};
  }
  int error = errno;
  struct stat info {};
  if (error == EEXIST && ::stat(dir.c_str(), &info) == 0 && S_ISDIR(info.st_mode)) {
    return {};
  }
  return fail("mkdir " + dir.string() + ": " + errno_text(error));
}

// Like mkdir -p, each created level 0700.
Result<void> make_dirs(const fs::path& dir) {
  fs::path current;
  for (const auto& part : dir) {
    current /= part;
    if (current == current.root_path()) {
      continue;
    }
    DM_TRY(make_dir(current));
  }
  return {};
}

Result<void> write_all(int fd, const std::string& data, const fs::path& path) {
  std::size_t done = 0;
  while (done < data.size()) {
    ssize_t n = ::write(fd, data.data() + done, data.size() - done);
    if (n < 0) {
      if (errno == EINTR) {
        continue;
      }
      return fail("write " + path.string() + ": " + errno_text(errno));
    }
    done += static_cast<std::size_t>(n);
  }
  return {};
}

// ".config.json.tmp-<pid>-<counter>-<random>": unique across threads and processes.
std::string temp_name(const fs::path& path) {
  static std::atomic<unsigned> counter{0};
  thread_local std::mt19937 random(std::random_device{}());
  return "." + path.filename().string() + ".tmp-" + std::to_string(::getpid()) + "-" +
         std::to_string(counter++) + "-" + std::to_string(random() % 1000000);
}

Result<void> fsync_dir(const fs::path& dir) {
  int fd = ::open(dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (fd < 0) {
    return fail("open " + dir.string() + ": " + errno_text(errno));
  }
  int rc = ::fsync(fd);
  int error = errno;
  ::close(fd);
  if (rc != 0 && error != EINVAL) { // some filesystems cannot fsync a directory
    return fail("fsync " + dir.string() + ": " + errno_text(error));
  }
  return {};
}

std::string invalid_name_message(const std::string& name) {
  return invalid_machine_name_message(name);
}

// "storage path X: not a directory" / "permission denied" for an errno of stat or open.
tl::unexpected<Error> store_access_error(const fs::path& path, int error) {
  std::string what = error == ENOTDIR ? "not a directory"
                     : error == EACCES || error == EPERM
                         ? "permission denied (is it another user's store? run dmachine as "
                           "that user, or choose a store with -s)"
                         : errno_text(error);
  return fail("Error: storage path " + path.string() + ": " + what);
}

} // namespace

FileLock& FileLock::operator=(FileLock&& other) noexcept {
  if (this != &other) {
    if (m_fd >= 0) {
      ::close(m_fd);
    }
    m_fd = other.m_fd;
    other.m_fd = -1;
  }
  return *this;
}

FileLock::~FileLock() {
  if (m_fd >= 0) {
    ::close(m_fd); // closing the last descriptor releases the flock
  }
}

Result<FileLock> lock_file(const fs::path& path, int timeout_seconds) {
  int fd = ::open(path.c_str(), O_RDWR | O_CREAT | O_CLOEXEC, 0600);
  if (fd < 0) {
    return fail("open lock " + path.string() + ": " + errno_text(errno));
  }
  FileLock lock(fd); // closes fd on every early return
  auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(timeout_seconds);
  while (true) {
    if (::flock(fd, LOCK_EX | LOCK_NB) == 0) {
      return lock;
    }
    int error = errno;
    if (error == EINTR) {
      continue;
    }
    if (error != EWOULDBLOCK) {
      return fail("lock " + path.string() + ": " + errno_text(error));
    }
    if (interrupted()) {
      return fail(ErrorKind::interrupted, "interrupted while waiting for lock " + path.string());
    }
    if (std::chrono::steady_clock::now() >= deadline) {
      return fail(ErrorKind::timeout,
                  "timed out after " + std::to_string(timeout_seconds) + "s waiting for lock " +
                      path.string() + " (another dmachine process is changing this machine)");
    }
    std::this_thread::sleep_for(k_lock_poll);
  }
}

Result<void> write_file_atomic(const fs::path& path, const std::string& data, int mode) {
  fs::path dir = path.parent_path().empty() ? fs::path(".") : path.parent_path();
  fs::path temp = dir / temp_name(path);
  int fd = ::open(temp.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
  if (fd < 0) {
    return fail("create " + temp.string() + ": " + errno_text(errno));
  }
  auto written = [&]() -> Result<void> {
    DM_TRY(write_all(fd, data, temp));
    if (::fsync(fd) != 0) {
      return fail("fsync " + temp.string() + ": " + errno_text(errno));
    }
    if (::fchmod(fd, static_cast<mode_t>(mode)) != 0) {
      return fail("chmod " + temp.string() + ": " + errno_text(errno));
    }
    return {};
  }();
  int close_rc = ::close(fd);
  if (written && close_rc != 0) {
    written = fail("close " + temp.string() + ": " + errno_text(errno));
  }
  if (written && ::rename(temp.c_str(), path.c_str()) != 0) {
    written = fail("rename " + temp.string() + " to " + path.string() + ": " + errno_text(errno));
  }
  if (!written) {
    ::unlink(temp.c_str());
    return written;
  }
  return fsync_dir(dir);
}

Result<std::string> read_file(const fs::path& path) {
  int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) {
    int error = errno;
    return fail(error == ENOENT ? ErrorKind::not_found : ErrorKind::generic,
                "read " + path.string() + ": " + errno_text(error));
  }
  std::string data;
  char buffer[65536];
  while (true) {
    ssize_t n = ::read(fd, buffer, sizeof buffer);
    if (n < 0) {
      if (errno == EINTR) {
        continue;
      }
      int error = errno;
      ::close(fd);
      return fail("read " + path.string() + ": " + errno_text(error));
    }
    if (n == 0) {
      break;
    }
    data.append(buffer, static_cast<std::size_t>(n));
  }
  ::close(fd);
  return data;
}

namespace {

// A relative root would name a different store after a chdir; main resolves the
// path fully (resolve_store_path), this only guards other constructions.
fs::path absolute_or_given(fs::path root) {
  std::error_code ec;
  fs::path absolute = fs::absolute(root, ec);
  return ec ? root : absolute;
}

} // namespace

MachineStore::MachineStore(fs::path root) : m_root(absolute_or_given(std::move(root))) {}

Result<void> MachineStore::ensure_layout() const {
  DM_TRY(make_dirs(m_root));
  DM_TRY(make_dir(certs_dir()));
  DM_TRY(make_dir(machines_dir()));
  return {};
}

bool MachineStore::exists(const std::string& name) const {
  std::error_code ec;
  return is_machine_dir_name(name) && fs::is_directory(machine_dir(name), ec);
}

Result<std::vector<std::string>> MachineStore::list_names() const {
  std::vector<std::string> names;
  std::error_code ec;
  if (!fs::exists(machines_dir(), ec)) {
    if (ec) { // not "missing": unreadable, or a file where a directory should be
      return store_access_error(machines_dir(), ec.value());
    }
    return names; // a store nobody has written to yet
  }
  fs::directory_iterator it(machines_dir(), ec);
  if (ec) {
    return fail("list " + machines_dir().string() + ": " + ec.message());
  }
  for (; it != fs::directory_iterator(); it.increment(ec)) {
    std::string name = it->path().filename().string();
    // Dotfiles and temp dirs are not machines; neither is anything with a name create refuses.
    if (name.empty() || name.front() == '.' || !is_machine_dir_name(name)) {
      continue;
    }
    std::error_code type_ec;
    if (it->is_directory(type_ec)) {
      names.push_back(name);
    }
  }
  if (ec) {
    return fail("list " + machines_dir().string() + ": " + ec.message());
  }
  std::sort(names.begin(), names.end(), [](const std::string& a, const std::string& b) {
    auto la = lower(a);
    auto lb = lower(b);
    return la != lb ? la < lb : a < b;
  });
  return names;
}

std::vector<StoreEntry> MachineStore::load_all() const {
  std::vector<StoreEntry> entries;
  auto names = list_names();
  if (!names) {
    entries.push_back(StoreEntry{"", fail(names.error())});
    return entries;
  }
  for (const auto& name : *names) {
    entries.push_back(StoreEntry{name, load(name)});
  }
  return entries;
}

Result<MachineRecord> MachineStore::load(const std::string& name) const {
  if (!exists(name)) {
    return fail(ErrorKind::not_found, machine_not_found_message(name));
  }
  fs::path path = machine_dir(name) / "config.json";
  auto text = read_file(path);
  if (!text) {
    if (text.error().kind == ErrorKind::not_found) {
      return fail("machine \"" + name + "\": " + path.string() +
                  " is missing (a create may be in progress, or was interrupted; "
                  "remove it with \"dmachine rm -f " + name + "\")");
    }
    return fail(text.error());
  }
  auto record = parse_machine_record(*text);
  if (!record) {
    // The parser's messages start with "config.json: "; name the full path instead.
    return fail((machine_dir(name) / "").string() + record.error().message);
  }
  if (record->name.empty()) {
    record->name = name; // docker-machine fills the name from the directory
  }
  if (record->name != name) {
    // The name reaches host names, shell code and paths of other machines: a
    // record is only ever the machine of the directory it is in.
    return fail("record name " + quoted_for_display(record->name) +
                " does not match its directory \"" + name + "\" (" + path.string() +
                "); fix the Name or remove the machine with \"dmachine rm -f " + name + "\"");
  }
  record->loaded_from = name;
  return record;
}

Result<void> MachineStore::save(const MachineRecord& record) const {
  if (!is_machine_dir_name(record.name)) {
    return fail(ErrorKind::usage, invalid_name_message(record.name));
  }
  if (!record.loaded_from.empty() && record.loaded_from != record.name) {
    return fail("refusing to save the record of machine \"" + record.loaded_from +
                "\" as machine " + quoted_for_display(record.name));
  }
  if (!exists(record.name)) {
    return fail(ErrorKind::not_found, machine_not_found_message(record.name));
  }
  DM_TRY_CTX(write_file_atomic(machine_dir(record.name) / "config.json",
                               render_machine_record(record), 0600),
             "save machine \"" + record.name + "\"");
  return {};
}

Result<void> MachineStore::create_machine_dir(const std::string& name) const {
  if (!is_valid_machine_name(name)) {
    return fail(ErrorKind::usage, invalid_name_message(name));
  }
  DM_TRY(ensure_layout());
  fs::path dir = machine_dir(name);
  // Plain mkdir, not mkdir -p: of two processes creating the same name, exactly one wins.
  if (::mkdir(dir.c_str(), k_dir_mode) != 0) {
    int error = errno;
    if (error == EEXIST) {
      return fail(ErrorKind::already_exists, "Docker machine \"" + name + "\" already exists");
    }
    return fail("mkdir " + dir.string() + ": " + errno_text(error));
  }
  if (::chmod(dir.c_str(), k_dir_mode) != 0) {
    return fail("chmod " + dir.string() + ": " + errno_text(errno));
  }
  return {};
}

Result<void> MachineStore::remove_machine_dir(const std::string& name) const {
  if (!exists(name)) {
    return fail(ErrorKind::not_found, machine_not_found_message(name));
  }
  std::error_code ec;
  fs::remove_all(machine_dir(name), ec);
  if (ec) {
    return fail("remove " + machine_dir(name).string() + ": " + ec.message());
  }
  // The lock file stays: unlinking a lock file another process may hold or be
  // about to open would let two processes "hold" the same lock.
  return {};
}

Result<FileLock> MachineStore::lock_machine(const std::string& name, int timeout_seconds) const {
  if (!is_machine_dir_name(name)) {
    return fail(ErrorKind::usage, invalid_name_message(name));
  }
  return lock_named("machine-" + name, timeout_seconds);
}

Result<FileLock> MachineStore::lock_store(int timeout_seconds) const {
  return lock_named("store", timeout_seconds);
}

Result<FileLock> MachineStore::lock_named(const std::string& key, int timeout_seconds) const {
  DM_TRY(ensure_layout());
  DM_TRY(make_dir(m_root / ".locks"));
  return lock_file(m_root / ".locks" / (key + ".lock"), timeout_seconds);
}

Result<void> MachineStore::check_access() const {
  for (const fs::path& dir : {m_root, machines_dir()}) {
    struct stat info {};
    if (::stat(dir.c_str(), &info) != 0) {
      if (errno == ENOENT) {
        return {}; // a store nobody has written to yet
      }
      return store_access_error(dir, errno);
    }
    if (!S_ISDIR(info.st_mode)) {
      return store_access_error(dir, ENOTDIR);
    }
    if (::access(dir.c_str(), R_OK | X_OK) != 0) {
      return store_access_error(dir, errno);
    }
  }
  return {};
}

Result<fs::path> resolve_store_path(const fs::path& given) {
  if (given.empty()) {
    return fail(ErrorKind::usage, "Error: the storage path is empty");
  }
  std::error_code ec;
  fs::path absolute = fs::absolute(given, ec);
  if (ec) {
    return fail("Error: storage path " + given.string() + ": " + ec.message());
  }
  // Symlinks and ".." resolved where the path exists: one store, one name.
  fs::path resolved = fs::weakly_canonical(absolute, ec);
  if (ec) {
    return store_access_error(absolute, ec.value());
  }
  return resolved.lexically_normal();
}

fs::path default_store_path() {
  const char* storage = std::getenv("MACHINE_STORAGE_PATH");
  if (storage != nullptr && *storage != '\0') {
    return storage;
  }
  const char* home = std::getenv("HOME");
  if (home == nullptr || *home == '\0') {
    const passwd* entry = ::getpwuid(::getuid());
    home = entry != nullptr ? entry->pw_dir : "/";
  }
  return fs::path(home) / ".docker" / "machine";
}

std::string machine_not_found_message(const std::string& name) {
  return "Docker machine \"" + name +
         "\" does not exist. Use \"dmachine ls\" to list machines. Use \"dmachine create\" to "
         "add a new one.";
}

} // namespace dm
