#pragma once
// Digests for request signing and checksums (OpenSSL): SHA-256 and HMAC-SHA256
// as raw bytes, lower-case hex, and base64 (RFC 4648, with padding).
#include <optional>
#include <string>
#include <string_view>

namespace dm {

std::string sha256(std::string_view data);
std::string hmac_sha256(std::string_view key, std::string_view data);
std::string hex_lower(std::string_view bytes);
std::string base64(std::string_view bytes);
// Strict RFC 4648 base64 (standard alphabet, '=' only as final padding); nullopt otherwise.
std::optional<std::string> base64_decode(std::string_view text);

} // namespace dm
