#pragma once
// Key pairs for new machines: an ECDSA P-256 private key (PEM, 0600) at path
// and the OpenSSH public key line at path + ".pub" (0644).
#include "core/result.h"

#include <filesystem>
#include <string>

namespace dm {

Result<void> generate_key_pair(const std::filesystem::path& path, const std::string& comment);

// The OpenSSH public key line ("ecdsa-sha2-nistp256 AAAA... comment" or
// "ssh-rsa ...") of a PEM private key.
Result<std::string> openssh_public_key_from_private(const std::string& private_pem,
                                                    const std::string& comment);

} // namespace dm
