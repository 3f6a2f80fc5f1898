#pragma once
// The store on disk in docker-machine's layout: <root>/certs, <root>/machines/<name>.
// Writes are atomic (temp, fsync, rename); mutations hold flock-based locks.
#include "core/machine_record.h"
#include "core/result.h"

#include <filesystem>
#include <string>
#include <vector>

namespace dm {

// An exclusive flock on a file, released by the destructor.
class FileLock {
public:
  FileLock() = default;
  explicit FileLock(int fd) : m_fd(fd) {}
  FileLock(FileLock&& other) noexcept : m_fd(other.m_fd) { other.m_fd = -1; }
  FileLock& operator=(FileLock&& other) noexcept;
  FileLock(const FileLock&) = delete;
  FileLock& operator=(const FileLock&) = delete;
  ~FileLock();

private:
  int m_fd = -1;
};

// Takes an exclusive lock on path (created 0600 if missing), waiting at most timeout_seconds.
Result<FileLock> lock_file(const std::filesystem::path& path, int timeout_seconds = 600);

// Writes data to path atomically with the given mode (temp file in the same dir, fsync, rename).
Result<void> write_file_atomic(const std::filesystem::path& path, const std::string& data,
                               int mode = 0600);
Result<std::string> read_file(const std::filesystem::path& path);

// One entry of a listing: the record, or why it could not be read.
struct StoreEntry {
  std::string name;
  Result<MachineRecord> record;
};

class MachineStore {
public:
  explicit MachineStore(std::filesystem::path root);

  [[nodiscard]] const std::filesystem::path& root() const { return m_root; }
  [[nodiscard]] std::filesystem::path certs_dir() const { return m_root / "certs"; }
  [[nodiscard]] std::filesystem::path machines_dir() const { return m_root / "machines"; }
  [[nodiscard]] std::filesystem::path machine_dir(const std::string& name) const {
    return machines_dir() / name;
  }

  // Makes root, certs/ and machines/ (0700) if missing.
  Result<void> ensure_layout() const;
  // The root and machines/, where they exist, are readable directories: errors say
  // "not a directory" or "permission denied". A missing store is fine (nothing made yet).
  Result<void> check_access() const;
  // The directory existing is the machine existing.
  [[nodiscard]] bool exists(const std::string& name) const;
  // Names sorted case-insensitively; never writes.
  Result<std::vector<std::string>> list_names() const;
  // Every machine; a corrupt config.json is an error entry, not a failure of the listing.
  [[nodiscard]] std::vector<StoreEntry> load_all() const;
  // Error kind not_found with docker-machine's text when missing; an error when the
  // record's Name is not its directory's name (the record is untrusted input).
  Result<MachineRecord> load(const std::string& name) const;
  // Atomic write of machines/<name>/config.json (0600); refuses a loaded record
  // whose name was changed from the directory it came from.
  Result<void> save(const MachineRecord& record) const;
  // Creates machines/<name> (0700) exclusively; already_exists if it is there.
  Result<void> create_machine_dir(const std::string& name) const;
  // Deletes machines/<name> and everything in it.
  Result<void> remove_machine_dir(const std::string& name) const;

  // Per-machine lock (mutations of one machine) and store-wide lock (CA creation).
  Result<FileLock> lock_machine(const std::string& name, int timeout_seconds = 600) const;
  Result<FileLock> lock_store(int timeout_seconds = 600) const;
  // A lock of its own for something else in the store (<root>/.locks/<key>.lock).
  Result<FileLock> lock_named(const std::string& key, int timeout_seconds = 600) const;

private:
  std::filesystem::path m_root;
};

// $MACHINE_STORAGE_PATH, else ~/.docker/machine (as given: resolve it before use).
std::filesystem::path default_store_path();
// The store path every command uses: absolute, symlinks and ".." resolved where it
// exists, so two relative "-s store" from two directories are two stores.
Result<std::filesystem::path> resolve_store_path(const std::filesystem::path& given);

// docker-machine's not-found text for name.
std::string machine_not_found_message(const std::string& name);

} // namespace dm
