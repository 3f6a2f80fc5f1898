#pragma once
// The HTTP side of the image cache: one download into a .part file, continued with a Range
// request (206) or started over (200), hashed while written; and small files (SUMS) in memory.
#include "core/http_client.h"
#include "core/progress.h"
#include "drivers/vm/image_digest.h"

#include <cstddef>
#include <filesystem>
#include <string>

namespace dm::vm {

struct ImageFetchOptions {
  int connect_timeout_seconds = 30;
  int stall_timeout_seconds = 60;  // under 1 KiB/s this long: the download fails (resumable)
  int lock_timeout_seconds = 3600; // waiting for another process downloading the same entry
  std::size_t sums_size_limit = 1 << 20;
};

struct PartDownload {
  Digest digest;           // of the whole file, including what the part held before
  bool resumed = false;    // part of it came from an earlier run
  bool start_over = false; // the part cannot be continued (bad Range answer): discard it
};

// resume::no empties part first: without a digest to check, a file stitched from two
// versions of a changed URL would go unnoticed.
enum class Resume { no, yes };

// Downloads url into part behind what part already holds (hashed first). Afterwards part
// holds exactly the bytes that were hashed, fsynced, whatever happened; an error says
// whether they were kept for the next run (an empty part, or one the server says is gone
// (404/410), is removed). Redirects are followed; Ctrl-C ends it (ErrorKind::interrupted).
Result<PartDownload> download_to_part(const std::string& url, const std::filesystem::path& part,
                                      DigestAlgorithm algorithm, Resume resume, HttpClient& http,
                                      Progress& progress, const ImageFetchOptions& options);

// A GET of a small file (at most options.sums_size_limit bytes, 60 s) into memory; any
// status but 200 is an error.
Result<std::string> fetch_small_file(const std::string& url, HttpClient& http,
                                     const ImageFetchOptions& options);

} // namespace dm::vm
