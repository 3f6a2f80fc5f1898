#pragma once
// The image cache of the local driver: root filesystems built once under
// <cache>/images — "debian" (debootstrap) and "debian-docker" (debian plus docker.io).
#include "core/result.h"
#include "drivers/local/local_util.h"

#include <filesystem>
#include <string>

namespace dm::local {

class ImageCache {
public:
  // mirror is the Debian mirror for debootstrap; "" means detect_mirror().
  ImageCache(const ToolRunner& tools, std::filesystem::path images_dir, std::string mirror)
      : m_tools(tools), m_images_dir(std::move(images_dir)), m_mirror(std::move(mirror)) {}

  // True when cache_dir (a --local-cache-dir) holds images this driver built: its
  // images/ directory has the marker ensure() writes.
  static bool is_cache(const std::filesystem::path& cache_dir);
  // Where flavour's root filesystem is (or will be) cached.
  [[nodiscard]] std::filesystem::path rootfs(const std::string& flavour) const;
  // Builds flavour ("debian" or "debian-docker", and the base it needs) unless it is cached;
  // builds hold the cache lock, and leftovers of interrupted builds are removed first
  // (unmounted, never deleted through a mount). Marks the cache as dmachine's.
  Result<void> ensure(const std::string& flavour) const;

private:
  Result<void> build_base() const;
  Result<void> build_docker() const;

  const ToolRunner& m_tools;
  std::filesystem::path m_images_dir;
  std::string m_mirror;
};

} // namespace dm::local
