#pragma once
// Writes small ISO 9660 images with libisofs (the only file that includes libisofs.h):
// files in the root directory, Rock Ridge and Joliet names, a given volume id.
#include "core/result.h"

#include <filesystem>
#include <string>
#include <vector>

namespace dm::vm {

struct IsoImageFile {
  std::string name; // a plain file name in the root directory
  std::string content;
};

// The image as bytes; files are mode 0444, owned by root, in the order given.
Result<std::string> build_iso_image(const std::string& volume_id,
                                    const std::vector<IsoImageFile>& files);

// build_iso_image() written to path atomically (temp file, fsync, rename) with mode.
Result<void> write_iso_image(const std::filesystem::path& path, const std::string& volume_id,
                             const std::vector<IsoImageFile>& files, int mode);

} // namespace dm::vm
