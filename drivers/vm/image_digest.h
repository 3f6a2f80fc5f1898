#pragma once
// SHA-256 / SHA-512 digests of images: parsed from "sha256:<hex>", computed while streaming.
#include "core/result.h"

#include <cstdint>
#include <filesystem>
#include <functional>
#include <memory>
#include <string>
#include <string_view>

namespace dm::vm {

enum class DigestAlgorithm { sha256, sha512 };

// A digest as lower-case hex of the algorithm's length.
struct Digest {
  DigestAlgorithm algorithm = DigestAlgorithm::sha256;
  std::string hex;

  [[nodiscard]] std::string to_string() const; // "sha256:<hex>"
  bool operator==(const Digest&) const = default;
};

std::string_view algorithm_name(DigestAlgorithm algorithm); // "sha256"
std::size_t hex_length(DigestAlgorithm algorithm);          // 64 or 128

// "sha256:<64 hex>" or "sha512:<128 hex>" (prefix and hex in any case); errors say what to write.
Result<Digest> parse_digest(std::string_view spec);
// hex of either length, lower-cased; an error names what is wrong with it.
Result<Digest> digest_from_hex(DigestAlgorithm algorithm, std::string_view hex);

// Incremental hashing; finish() returns the digest and starts over.
class DigestHasher {
public:
  explicit DigestHasher(DigestAlgorithm algorithm);
  ~DigestHasher();
  DigestHasher(const DigestHasher&) = delete;
  DigestHasher& operator=(const DigestHasher&) = delete;
  void update(std::string_view data);
  Digest finish();
  void reset();
  [[nodiscard]] DigestAlgorithm algorithm() const { return m_algorithm; }

private:
  struct State;
  DigestAlgorithm m_algorithm;
  std::unique_ptr<State> m_state;
};

// Feeds the first `limit` bytes of path (all of it when limit is -1) to hasher; stops with
// ErrorKind::interrupted on Ctrl-C. on_bytes (optional) sees the running total.
Result<std::uint64_t> hash_file_into(DigestHasher& hasher, const std::filesystem::path& path,
                                     std::int64_t limit = -1,
                                     const std::function<void(std::uint64_t)>& on_bytes = {});
Result<Digest> hash_file(const std::filesystem::path& path, DigestAlgorithm algorithm,
                         const std::function<void(std::uint64_t)>& on_bytes = {});

} // namespace dm::vm
