#include "drivers/vm/image_cache.h"

#include "core/digest.h"
#include "core/machine_store.h"
#include "core/printable.h"
#include "drivers/vm/image_progress.h"

#include <cerrno>
#include <cstring>
#include <fcntl.h>
#include <fmt/format.h>
#include <sstream>
#include <sys/stat.h>
#include <unistd.h>

namespace dm::vm {

namespace fs = std::filesystem;

namespace {

// Whole downloads per fetch: a resumed download whose result does not verify, or a partial
// file the server cannot continue, gets one fresh start.
constexpr int k_max_downloads = 2;

std::string errno_text(int error) {
  return std::strerror(error);
}

// Missing directories of dir made 0700 (existing ones are left as they are).
Result<void> make_private_dirs(const fs::path& dir) {
  fs::path current;
  for (const auto& part : dir) {
    current /= part;
    if (::mkdir(current.c_str(), 0700) != 0 && errno != EEXIST) {
      return fail("create " + current.string() + ": " + errno_text(errno));
    }
  }
  return {};
}

Result<void> fsync_dir(const fs::path& dir) {
  int fd = ::open(dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  int rc = fd < 0 ? -1 : ::fsync(fd);
  int error = errno;
  if (fd >= 0) {
    ::close(fd);
  }
  if (rc != 0 && !(fd >= 0 && error == EINVAL)) { // some filesystems cannot fsync a directory
    return fail("fsync " + dir.string() + ": " + errno_text(error));
  }
  return {};
}

// A file's size and modification time: what makes a recorded verification still valid.
struct FileStamp {
  std::uint64_t size = 0;
  std::uint64_t mtime_ns = 0;
  bool operator==(const FileStamp&) const = default;
};

std::optional<FileStamp> stamp_of(const fs::path& path) {
  struct stat info {};
  if (::stat(path.c_str(), &info) != 0 || !S_ISREG(info.st_mode)) {
    return std::nullopt;
  }
  return FileStamp{static_cast<std::uint64_t>(info.st_size),
                   static_cast<std::uint64_t>(info.st_mtim.tv_sec) * 1000000000ULL +
                       static_cast<std::uint64_t>(info.st_mtim.tv_nsec)};
}

// <name>.verified: "<algorithm>:<hex> <size> <mtime_ns>", written after the digest matched.
struct VerifiedRecord {
  Digest digest;
  FileStamp stamp;
};

std::optional<VerifiedRecord> read_verified(const fs::path& path) {
  auto text = read_file(path);
  if (!text || text->size() > 512) {
    return std::nullopt;
  }
  std::istringstream in(*text);
  std::string digest_text;
  FileStamp stamp;
  std::string rest;
  if (!(in >> digest_text >> stamp.size >> stamp.mtime_ns) || (in >> rest)) {
    return std::nullopt;
  }
  auto digest = parse_digest(digest_text);
  if (!digest) {
    return std::nullopt;
  }
  return VerifiedRecord{*digest, stamp};
}

Result<void> write_verified(const fs::path& path, const Digest& digest, const FileStamp& stamp) {
  return write_file_atomic(
      path, fmt::format("{} {} {}\n", digest.to_string(), stamp.size, stamp.mtime_ns), 0644);
}

void remove_quietly(const fs::path& path) {
  ::unlink(path.c_str());
}

Result<std::string> read_sums_file(const fs::path& path, std::size_t limit) {
  auto stamp = stamp_of(path);
  if (!stamp) {
    return fail(path.string() + ": no such file (a checksum file was expected)");
  }
  if (stamp->size > limit) {
    return fail(fmt::format("{}: larger than {} bytes: not a checksum file", path.string(), limit));
  }
  return read_file(path);
}

// Whether the cached copy at image still holds the expected content. A recorded
// verification counts while the file's size and mtime are unchanged; otherwise the file
// is hashed again. A stale copy is removed.
Result<bool> cached_copy_is_good(const fs::path& image, const fs::path& verified,
                                 const std::optional<Digest>& expected, Progress& progress) {
  auto stamp = stamp_of(image);
  if (!stamp) {
    return false;
  }
  auto record = read_verified(verified);
  bool same_algorithm = record && (!expected || expected->algorithm == record->digest.algorithm);
  if (record && same_algorithm && record->stamp == *stamp) {
    if (!expected || *expected == record->digest) {
      return true;
    }
  } else if (expected || record) {
    Digest want = expected ? *expected : record->digest;
    TransferMeter meter(progress, "verifying the cached copy", image.filename().string());
    meter.start(0, stamp->size);
    auto digest =
        hash_file(image, want.algorithm, [&](std::uint64_t bytes) { meter.update(bytes); });
    DM_TRY(digest);
    if (*digest == want) {
      DM_TRY(write_verified(verified, want, *stamp));
      return true;
    }
  }
  progress.note(
      fmt::format("the cached copy {} does not verify: downloading it again", image.string()));
  remove_quietly(verified);
  remove_quietly(image);
  return false;
}

// Takes the entry's lock; says so when another process holds it and waits.
Result<FileLock> lock_entry(const fs::path& lock_path, const std::string& url, Progress& progress,
                            const ImageFetchOptions& options) {
  auto lock = lock_file(lock_path, 0);
  if (lock || lock.error().kind != ErrorKind::timeout) {
    return lock;
  }
  progress.note("waiting for another dmachine process that is downloading " + url);
  auto waited = lock_file(lock_path, options.lock_timeout_seconds);
  if (!waited && waited.error().kind == ErrorKind::timeout) {
    return fail(ErrorKind::timeout,
                fmt::format("another dmachine process has been downloading {} for over {} s "
                            "(it holds {}): let it finish, or stop it",
                            url, options.lock_timeout_seconds, lock_path.string()));
  }
  return waited;
}

// "last-<16 hex>" names the entry last verified for an image URL checked against a remote
// SUMS file, so that a create without network still finds it.
fs::path last_entry_file(const ImageCacheDirs& dirs, const ImageSource& source) {
  std::string key = hex_lower(sha256(source.url + "\n" + source.checksum.sums_url));
  return dirs.images / ("last-" + key.substr(0, 16));
}

// The entry named by the URL's .last file while it is intact (its verification record
// still matches the file); nullopt otherwise.
std::optional<fs::path> last_verified_entry(const ImageCacheDirs& dirs, const ImageSource& source) {
  auto name = read_file(last_entry_file(dirs, source));
  if (!name || name->empty() || name->size() > 200 ||
      name->find_first_not_of(
          "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789._-") !=
          std::string::npos ||
      *name == "." || *name == "..") {
    return std::nullopt;
  }
  fs::path image = dirs.images / *name;
  auto record = read_verified(fs::path(image.string() + ".verified"));
  auto stamp = stamp_of(image);
  if (!record || !stamp || !(record->stamp == *stamp)) {
    return std::nullopt;
  }
  return image;
}

// The verified entry for source, after it was found in the cache or installed. Recording it
// is a convenience for later offline runs: a failure to write it fails nothing.
fs::path remember(const ImageSource& source, const ImageCacheDirs& dirs, const fs::path& image) {
  if (!source.checksum.sums_url.empty()) {
    (void)write_file_atomic(last_entry_file(dirs, source), image.filename().string(), 0644);
  }
  return image;
}

Result<fs::path> fetch_url(const ImageSource& source, const ImageCacheDirs& dirs, HttpClient& http,
                           Progress& progress, const ImageFetchOptions& options) {
  auto expected = expected_digest(source, http, options);
  if (!expected && expected.error().kind != ErrorKind::interrupted &&
      !source.checksum.sums_url.empty()) {
    if (auto cached = last_verified_entry(dirs, source)) {
      progress.note(fmt::format("cannot read the checksums ({}): using the copy verified "
                                "earlier, {}",
                                expected.error().message, cached->string()));
      return *cached;
    }
  }
  DM_TRY(expected);
  DM_TRY(make_private_dirs(dirs.images));
  DM_TRY(make_private_dirs(dirs.locks));
  std::string name = cache_file_name(source.url, *expected);
  fs::path image = dirs.images / name;
  fs::path part = dirs.images / (name + ".part");
  fs::path verified = dirs.images / (name + ".verified");
  auto lock = lock_entry(dirs.locks / ("image-" + name + ".lock"), source.url, progress, options);
  DM_TRY(lock);

  auto good = cached_copy_is_good(image, verified, *expected, progress);
  DM_TRY(good);
  if (*good) {
    progress.note("using the cached image " + image.string());
    return remember(source, dirs, image);
  }
  DigestAlgorithm algorithm = *expected ? (*expected)->algorithm : DigestAlgorithm::sha256;
  for (int attempt = 1; attempt <= k_max_downloads; ++attempt) {
    auto downloaded = download_to_part(
        source.url, part, algorithm, *expected ? Resume::yes : Resume::no, http, progress, options);
    DM_TRY(downloaded);
    if (downloaded->start_over) {
      remove_quietly(part);
      progress.note("the partial download cannot be continued: starting over");
      continue;
    }
    if (*expected && downloaded->digest != **expected) {
      remove_quietly(part);
      if (downloaded->resumed && attempt < k_max_downloads) {
        progress.note("the resumed download does not verify: downloading it again from the start");
        continue;
      }
      return fail(fmt::format("checksum mismatch for {}: expected {}, got {}; the file was "
                              "discarded (check the checksum, or whether something between "
                              "here and the server alters the download)",
                              source.url, (*expected)->to_string(),
                              downloaded->digest.to_string()));
    }
    if (::chmod(part.c_str(), 0644) != 0) {
      return fail("chmod " + part.string() + ": " + errno_text(errno));
    }
    auto stamp = stamp_of(part);
    if (!stamp) {
      return fail(part.string() + ": vanished while it was being installed");
    }
    // The record first: an image in place always has one (a crash leaves a record without
    // an image, which is a miss).
    DM_TRY(write_verified(verified, downloaded->digest, *stamp));
    if (::rename(part.c_str(), image.c_str()) != 0) {
      return fail("rename " + part.string() + " to " + image.string() + ": " + errno_text(errno));
    }
    DM_TRY(fsync_dir(dirs.images));
    return remember(source, dirs, image);
  }
  return fail(fmt::format("{}: the download did not complete after {} attempts", source.url,
                          k_max_downloads));
}

Result<fs::path> use_local_file(const ImageSource& source, HttpClient& http, Progress& progress,
                                const ImageFetchOptions& options) {
  struct stat info {};
  if (::stat(source.path.c_str(), &info) != 0) {
    std::string why = errno_text(errno);
    return fail(ErrorKind::usage,
                fmt::format("image file {}: {}: give an existing image file or an http(s) URL",
                            source.path.string(), why));
  }
  if (!S_ISREG(info.st_mode)) {
    return fail(ErrorKind::usage,
                fmt::format("image file {}: not a regular file", source.path.string()));
  }
  if (::access(source.path.c_str(), R_OK) != 0) {
    std::string why = errno_text(errno);
    return fail(fmt::format("image file {}: {}", source.path.string(), why));
  }
  auto expected = expected_digest(source, http, options);
  DM_TRY(expected);
  if (!*expected) {
    return source.path;
  }
  TransferMeter meter(progress, "verifying", printable(source.path.filename().string(), 80));
  meter.start(0, static_cast<std::uint64_t>(info.st_size));
  auto digest = hash_file(source.path, (*expected)->algorithm,
                          [&](std::uint64_t bytes) { meter.update(bytes); });
  DM_TRY(digest);
  if (*digest != **expected) {
    return fail(fmt::format("checksum mismatch for {}: expected {}, got {}; the file was not used "
                            "(it is left as it is)",
                            source.path.string(), (*expected)->to_string(), digest->to_string()));
  }
  return source.path;
}

} // namespace

ImageCacheDirs image_cache_dirs(const fs::path& store_root) {
  return ImageCacheDirs{store_root / "cache" / "images", store_root / ".locks"};
}

Result<std::optional<Digest>> expected_digest(const ImageSource& source, HttpClient& http,
                                              const ImageFetchOptions& options) {
  const ChecksumSpec& spec = source.checksum;
  if (spec.kind == ChecksumSpec::Kind::none) {
    return std::optional<Digest>();
  }
  if (spec.kind == ChecksumSpec::Kind::digest) {
    return std::optional<Digest>(spec.digest);
  }
  bool remote = !spec.sums_url.empty();
  std::string sums_name = remote ? spec.sums_url : spec.sums_path.string();
  auto text = remote ? fetch_small_file(spec.sums_url, http, options)
                     : read_sums_file(spec.sums_path, options.sums_size_limit);
  DM_TRY_CTX(text, "checksum file");
  auto digest = find_in_sums(*text, source.file_name(), sums_name);
  DM_TRY(digest);
  return std::optional<Digest>(*digest);
}

Result<fs::path> fetch_image(const ImageSource& source, const ImageCacheDirs& dirs,
                             HttpClient& http, Progress& progress,
                             const ImageFetchOptions& options) {
  fs::path result;
  DM_TRY(run_step(progress, "image " + printable(source.file_name(), 80), [&]() -> Result<void> {
    auto path = source.kind == ImageSource::Kind::local_file
                    ? use_local_file(source, http, progress, options)
                    : fetch_url(source, dirs, http, progress, options);
    DM_TRY(path);
    result = *path;
    return {};
  }));
  return result;
}

} // namespace dm::vm
