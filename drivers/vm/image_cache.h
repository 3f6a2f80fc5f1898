#pragma once
// The VM image cache (<store>/cache/images): an image is downloaded once to <name>.part
// (resumed with a Range request), verified, fsynced and renamed into place; a checksum
// mismatch deletes it. One flock per entry. Local files are verified and used in place.
#include "core/http_client.h"
#include "core/progress.h"
#include "drivers/vm/image_download.h"
#include "drivers/vm/image_source.h"

#include <filesystem>
#include <optional>

namespace dm::vm {

struct ImageCacheDirs {
  std::filesystem::path images; // images and their .part/.verified files (made 0700)
  std::filesystem::path locks;  // one lock file per entry (made 0700)
};
// <store>/cache/images, and the store's own <store>/.locks.
ImageCacheDirs image_cache_dirs(const std::filesystem::path& store_root);

// The digest the image must have: the given one, or its line in the SUMS file (fetched or
// read, at most sums_size_limit bytes); nullopt when the source has no checksum.
Result<std::optional<Digest>> expected_digest(const ImageSource& source, HttpClient& http,
                                              const ImageFetchOptions& options = {});

// The image's path: the verified cached copy (downloaded now if needed), or the local file
// itself. Shows one step "image <file name>" on progress; errors say what to do next.
Result<std::filesystem::path> fetch_image(const ImageSource& source, const ImageCacheDirs& dirs,
                                          HttpClient& http, Progress& progress,
                                          const ImageFetchOptions& options = {});

} // namespace dm::vm
