// --*-image / --*-image-checksum values and downloaded SUMS files (untrusted): parsing never
// aborts; a digest found has the algorithm's length in lower-case hex; a cache file name is
// one safe path component. Input: SUMS text \0 image file name \0 image value \0 checksum.
#include "drivers/vm/image_source.h"
#include "tests/fuzz/fuzz_support.h"

#include <optional>
#include <tuple>

namespace {

bool is_lower_hex(const std::string& hex) {
  return hex.find_first_not_of("0123456789abcdef") == std::string::npos;
}

void check_digest(const dm::vm::Digest& digest, std::string_view detail) {
  dm::fuzz::check(digest.hex.size() == dm::vm::hex_length(digest.algorithm) &&
                      is_lower_hex(digest.hex),
                  "a digest has its algorithm's length in lower-case hex", detail);
}

void check_cache_name(const std::string& name) {
  dm::fuzz::check(!name.empty() &&
                      name.find_first_not_of("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUV"
                                             "WXYZ0123456789._-") == std::string::npos &&
                      name != "." && name != "..",
                  "a cache file name is one safe path component", name);
}

} // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  auto parts = dm::fuzz::split_parts(dm::fuzz::as_text(data, size), 4);
  parts.resize(4);
  const auto& [sums, file_name, image, checksum] = std::tie(parts[0], parts[1], parts[2], parts[3]);
  for (const char* sums_name : {"SHA256SUMS", "SHA512SUMS", "CHECKSUM"}) {
    auto found = dm::vm::find_in_sums(sums, file_name, sums_name);
    if (found) {
      check_digest(*found, sums);
    }
  }
  auto source = dm::vm::parse_image_source(image, checksum, "--qemu-image");
  if (source) {
    if (source->kind == dm::vm::ImageSource::Kind::url) {
      dm::fuzz::check(static_cast<bool>(dm::vm::check_download_url(source->url)),
                      "a parsed image URL is a valid download URL", source->url);
      std::optional<dm::vm::Digest> expected;
      if (source->checksum.kind == dm::vm::ChecksumSpec::Kind::digest) {
        check_digest(source->checksum.digest, checksum);
        expected = source->checksum.digest;
      }
      check_cache_name(dm::vm::cache_file_name(source->url, expected));
    } else {
      dm::fuzz::check(source->path.is_absolute(), "a local image path is absolute",
                      source->path.string());
    }
  }
  check_cache_name(dm::vm::cache_file_name(image, std::nullopt));
  (void)dm::vm::url_file_name(image);
  (void)dm::vm::sibling_url(image, "SHA256SUMS");
  return 0;
}
