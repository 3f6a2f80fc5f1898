#pragma once
// Digests for request signing and checksums (OpenSSL): SHA-256 and HMAC-SHA256
// as raw bytes, lower-case hex, and base64 (RFC 4648, with padding).
#include <string>
#include <string_view>

namespace dm {

std::string sha256(std::string_view data);
std::string hmac_sha256(std::string_view key, std::string_view data);
std::string hex_lower(std::string_view bytes);
std::string base64(std::string_view bytes);

} // namespace dm
