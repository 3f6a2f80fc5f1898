#pragma once
// Checks a private key file before it is used: dmachine cannot ask for a
// passphrase, so an encrypted key, a public key or another file is refused
// at once with the reason instead of failing every connection attempt.
#include "core/result.h"

#include <filesystem>
#include <string_view>

namespace dm {

enum class KeyType { rsa, ecdsa, ed25519, dsa, unknown };

// The key's type, or an error saying why the text is not a usable private key.
Result<KeyType> classify_private_key(std::string_view text);

// Reads path and classifies it; errors name the file.
Result<KeyType> check_private_key_file(const std::filesystem::path& path);

} // namespace dm
