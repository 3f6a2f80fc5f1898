#pragma once
// Where a VM's base image comes from and how it is verified: the --*-image and
// --*-image-checksum values, parsed and validated as untrusted input (pure functions).
#include "core/result.h"
#include "drivers/vm/image_digest.h"

#include <filesystem>
#include <optional>
#include <string>
#include <string_view>

namespace dm::vm {

// What the checksum value names: nothing, a digest, or a SUMS file (URL or local path) in
// which the image's file name is looked up.
struct ChecksumSpec {
  enum class Kind { none, digest, sums };
  Kind kind = Kind::none;
  Digest digest;                   // Kind::digest
  std::string sums_url;            // Kind::sums with an http(s) URL
  std::filesystem::path sums_path; // Kind::sums with a local file
};

struct ImageSource {
  enum class Kind { url, local_file };
  Kind kind = Kind::url;
  std::string url;            // Kind::url: http or https
  std::filesystem::path path; // Kind::local_file: absolute
  ChecksumSpec checksum;

  // The URL or the path, for messages.
  [[nodiscard]] std::string display() const;
  // The last path segment of the URL or path, raw (used to look the image up in SUMS).
  [[nodiscard]] std::string file_name() const;
};

// Debian 12 genericcloud amd64, verified against the publisher's SHA512SUMS next to it.
inline constexpr std::string_view k_default_image_url =
    "https://cloud.debian.org/images/cloud/bookworm/latest/debian-12-genericcloud-amd64.qcow2";
inline constexpr std::string_view k_default_image_sums_name = "SHA512SUMS";
// The same image as a raw disk, listed in the same SHA512SUMS: VirtualBox's convertfromraw
// reads raw images (its qcow2 support is not to be relied on).
inline constexpr std::string_view k_default_raw_image_url =
    "https://cloud.debian.org/images/cloud/bookworm/latest/debian-12-genericcloud-amd64.raw";
ImageSource default_image_source();

// image: an http(s) URL, a file:// URL or a path; checksum: "" (none), sha256:<hex>,
// sha512:<hex>, or a SUMS file as an http(s) URL, file:// URL or path. A plain http://
// image needs a checksum. flag names the option for error texts ("--qemu-image").
Result<ImageSource> parse_image_source(std::string_view image, std::string_view checksum,
                                       std::string_view flag = "--image");
// An http or https URL with a host, no credentials, no spaces or control characters.
Result<void> check_download_url(std::string_view url);

// The line of a SUMS file (GNU "<hex>  name" / "<hex> *name", or BSD "SHA256 (name) = <hex>")
// for file_name. sums_name (the SUMS file's own name or URL) names the algorithm when it
// says SHA256/SHA512; otherwise the hex length does. Lines for other names are skipped
// unread; names with a '/' or control characters never match.
Result<Digest> find_in_sums(std::string_view sums_text, std::string_view file_name,
                            std::string_view sums_name);
// The URL of a file named sums_file in the same directory as url.
std::string sibling_url(std::string_view url, std::string_view sums_file);
// The last path segment of an http(s) URL (query and fragment dropped), raw.
std::string url_file_name(std::string_view url);

// The cache entry's file name: "<algorithm>-<32 hex of the expected digest>-<base>" when the
// digest is known (an entry then only ever holds that content, so a disk overlay on it never
// sees it change), else "url-<16 hex of sha256(url)>-<base>"; <base> is the URL's file name
// with anything outside [A-Za-z0-9._-] as '_' (at most 80 characters). Never a path.
std::string cache_file_name(std::string_view url, const std::optional<Digest>& expected);

} // namespace dm::vm
