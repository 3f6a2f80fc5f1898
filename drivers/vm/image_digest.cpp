#include "drivers/vm/image_digest.h"

#include "core/digest.h"
#include "core/interrupt.h"
#include "core/printable.h"

#include <openssl/evp.h>

#include <algorithm>
#include <array>
#include <cerrno>
#include <cstring>
#include <fcntl.h>
#include <fmt/format.h>
#include <unistd.h>

namespace dm::vm {

namespace {

constexpr std::size_t k_read_chunk = 1 << 20;

bool is_hex_digit(char c) {
  return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'f') || (c >= 'A' && c <= 'F');
}

std::string lower(std::string_view text) {
  std::string out(text);
  for (char& c : out) {
    if (c >= 'A' && c <= 'Z') {
      c = static_cast<char>(c - 'A' + 'a');
    }
  }
  return out;
}

const EVP_MD* evp_for(DigestAlgorithm algorithm) {
  return algorithm == DigestAlgorithm::sha256 ? EVP_sha256() : EVP_sha512();
}

} // namespace

std::string Digest::to_string() const {
  return std::string(algorithm_name(algorithm)) + ":" + hex;
}

std::string_view algorithm_name(DigestAlgorithm algorithm) {
  return algorithm == DigestAlgorithm::sha256 ? "sha256" : "sha512";
}

std::size_t hex_length(DigestAlgorithm algorithm) {
  return algorithm == DigestAlgorithm::sha256 ? 64 : 128;
}

Result<Digest> digest_from_hex(DigestAlgorithm algorithm, std::string_view hex) {
  std::size_t want = hex_length(algorithm);
  for (char c : hex) {
    if (!is_hex_digit(c)) {
      return fail(ErrorKind::usage,
                  fmt::format("{} digest \"{}\" has a character that is not a hex digit",
                              algorithm_name(algorithm), printable(hex, 140)));
    }
  }
  if (hex.size() != want) {
    return fail(ErrorKind::usage, fmt::format("{} digest has {} hex digits, expected {}",
                                              algorithm_name(algorithm), hex.size(), want));
  }
  return Digest{algorithm, lower(hex)};
}

Result<Digest> parse_digest(std::string_view spec) {
  auto colon = spec.find(':');
  std::string prefix = lower(spec.substr(0, colon == std::string_view::npos ? 0 : colon));
  if (colon == std::string_view::npos || (prefix != "sha256" && prefix != "sha512")) {
    return fail(ErrorKind::usage,
                fmt::format("checksum \"{}\" is not understood: write sha256:<64 hex digits>, "
                            "sha512:<128 hex digits>, or the URL of a SHA256SUMS/SHA512SUMS file",
                            printable(spec, 140)));
  }
  auto algorithm = prefix == "sha256" ? DigestAlgorithm::sha256 : DigestAlgorithm::sha512;
  return digest_from_hex(algorithm, spec.substr(colon + 1));
}

struct DigestHasher::State {
  EVP_MD_CTX* context = EVP_MD_CTX_new();
  ~State() { EVP_MD_CTX_free(context); }
};

DigestHasher::DigestHasher(DigestAlgorithm algorithm)
    : m_algorithm(algorithm), m_state(std::make_unique<State>()) {
  reset();
}

DigestHasher::~DigestHasher() = default;

void DigestHasher::reset() {
  EVP_DigestInit_ex(m_state->context, evp_for(m_algorithm), nullptr);
}

void DigestHasher::update(std::string_view data) {
  EVP_DigestUpdate(m_state->context, data.data(), data.size());
}

Digest DigestHasher::finish() {
  std::array<unsigned char, EVP_MAX_MD_SIZE> bytes{};
  unsigned int size = 0;
  EVP_DigestFinal_ex(m_state->context, bytes.data(), &size);
  reset();
  return Digest{m_algorithm,
                hex_lower(std::string_view(reinterpret_cast<const char*>(bytes.data()), size))};
}

Result<std::uint64_t> hash_file_into(DigestHasher& hasher, const std::filesystem::path& path,
                                     std::int64_t limit,
                                     const std::function<void(std::uint64_t)>& on_bytes) {
  int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) {
    return fail(fmt::format("open {}: {}", path.string(), std::strerror(errno)));
  }
  std::string buffer(k_read_chunk, '\0');
  std::uint64_t total = 0;
  Result<std::uint64_t> result = total;
  while (limit < 0 || total < static_cast<std::uint64_t>(limit)) {
    if (interrupted()) {
      result = fail(ErrorKind::interrupted, "reading " + path.string() + ": interrupted");
      break;
    }
    std::size_t want = buffer.size();
    if (limit >= 0) {
      want = std::min<std::uint64_t>(want, static_cast<std::uint64_t>(limit) - total);
    }
    ssize_t n = ::read(fd, buffer.data(), want);
    if (n < 0 && errno == EINTR) {
      continue;
    }
    if (n < 0) {
      result = fail(fmt::format("read {}: {}", path.string(), std::strerror(errno)));
      break;
    }
    if (n == 0) {
      break;
    }
    hasher.update(std::string_view(buffer.data(), static_cast<std::size_t>(n)));
    total += static_cast<std::uint64_t>(n);
    if (on_bytes) {
      on_bytes(total);
    }
  }
  ::close(fd);
  if (result) {
    result = total;
  }
  return result;
}

Result<Digest> hash_file(const std::filesystem::path& path, DigestAlgorithm algorithm,
                         const std::function<void(std::uint64_t)>& on_bytes) {
  DigestHasher hasher(algorithm);
  DM_TRY(hash_file_into(hasher, path, -1, on_bytes));
  return hasher.finish();
}

} // namespace dm::vm
