#include "core/ssh_key_check.h"

#include <algorithm>
#include <cstdint>
#include <fmt/format.h>
#include <fstream>
#include <openssl/evp.h>

namespace dm {

namespace {

constexpr std::string_view k_openssh_begin = "-----BEGIN OPENSSH PRIVATE KEY-----";
constexpr std::string_view k_openssh_end = "-----END OPENSSH PRIVATE KEY-----";
constexpr size_t k_max_key_bytes = 64 * 1024;

const char* const k_passphrase_message =
    "is protected by a passphrase, which dmachine cannot ask for: load it into ssh-agent "
    "(ssh-add) and leave out the key option, or use a key without a passphrase";

std::string base64_decode(std::string_view text) {
  std::string clean;
  for (char c : text) {
    if (c != '\n' && c != '\r' && c != ' ' && c != '\t') {
      clean += c;
    }
  }
  if (clean.empty() || clean.size() % 4 != 0) {
    return "";
  }
  std::string out(clean.size() / 4 * 3, '\0');
  int length = EVP_DecodeBlock(reinterpret_cast<unsigned char*>(out.data()),
                               reinterpret_cast<const unsigned char*>(clean.data()),
                               static_cast<int>(clean.size()));
  if (length < 0) {
    return "";
  }
  size_t padding = clean.size() - clean.find_last_not_of('=') - 1;
  out.resize(static_cast<size_t>(length) - std::min<size_t>(padding, 2));
  return out;
}

// Reads an SSH "string" (uint32 length, bytes) at offset; false when truncated.
bool read_string(std::string_view blob, size_t& offset, std::string_view& out) {
  if (blob.size() < offset + 4) {
    return false;
  }
  uint32_t length = 0;
  for (int i = 0; i < 4; ++i) {
    length = (length << 8) | static_cast<unsigned char>(blob[offset + static_cast<size_t>(i)]);
  }
  offset += 4;
  if (blob.size() - offset < length) {
    return false;
  }
  out = blob.substr(offset, length);
  offset += length;
  return true;
}

KeyType type_from_name(std::string_view name) {
  if (name == "ssh-rsa") {
    return KeyType::rsa;
  }
  if (name == "ssh-ed25519") {
    return KeyType::ed25519;
  }
  if (name.rfind("ecdsa-sha2-", 0) == 0) {
    return KeyType::ecdsa;
  }
  if (name == "ssh-dss") {
    return KeyType::dsa;
  }
  return KeyType::unknown;
}

// The "openssh-key-v1" format: magic, cipher name, kdf, kdf options, key count, public key.
Result<KeyType> classify_openssh(std::string_view text) {
  auto begin = text.find(k_openssh_begin);
  auto end = text.find(k_openssh_end);
  if (end == std::string_view::npos || end < begin) {
    return fail("is a truncated OpenSSH private key");
  }
  std::string blob = base64_decode(
      text.substr(begin + k_openssh_begin.size(), end - begin - k_openssh_begin.size()));
  constexpr std::string_view k_magic{"openssh-key-v1\0", 15};
  if (blob.compare(0, k_magic.size(), k_magic) != 0) {
    return fail("is not a valid OpenSSH private key");
  }
  size_t offset = k_magic.size();
  std::string_view cipher;
  std::string_view kdf;
  std::string_view kdf_options;
  std::string_view public_key;
  if (!read_string(blob, offset, cipher) || !read_string(blob, offset, kdf) ||
      !read_string(blob, offset, kdf_options) || blob.size() < offset + 4) {
    return fail("is not a valid OpenSSH private key");
  }
  if (cipher != "none") {
    return fail(k_passphrase_message);
  }
  offset += 4; // number of keys
  size_t inner = 0;
  std::string_view type_name;
  if (!read_string(blob, offset, public_key) || !read_string(public_key, inner, type_name)) {
    return fail("is not a valid OpenSSH private key");
  }
  return type_from_name(type_name);
}

} // namespace

Result<KeyType> classify_private_key(std::string_view text) {
  if (text.find(k_openssh_begin) != std::string_view::npos) {
    return classify_openssh(text);
  }
  struct PemKind {
    std::string_view header;
    KeyType type;
  };
  static const PemKind k_pem_kinds[] = {
      {"-----BEGIN RSA PRIVATE KEY-----", KeyType::rsa},
      {"-----BEGIN EC PRIVATE KEY-----", KeyType::ecdsa},
      {"-----BEGIN DSA PRIVATE KEY-----", KeyType::dsa},
      {"-----BEGIN PRIVATE KEY-----", KeyType::unknown},
  };
  if (text.find("-----BEGIN ENCRYPTED PRIVATE KEY-----") != std::string_view::npos) {
    return fail(k_passphrase_message);
  }
  for (const auto& kind : k_pem_kinds) {
    if (text.find(kind.header) != std::string_view::npos) {
      if (text.find("Proc-Type: 4,ENCRYPTED") != std::string_view::npos) {
        return fail(k_passphrase_message);
      }
      return kind.type;
    }
  }
  std::string_view start = text.substr(0, text.find_first_of("\r\n"));
  if (start.rfind("ssh-", 0) == 0 || start.rfind("ecdsa-sha2-", 0) == 0 ||
      start.rfind("-----BEGIN SSH2 PUBLIC KEY-----", 0) == 0) {
    return fail("is a public key; give the private key (the file without .pub)");
  }
  if (start.rfind("PuTTY-User-Key-File", 0) == 0) {
    return fail("is a PuTTY key; convert it with `puttygen KEY -O private-openssh -o KEY.openssh`");
  }
  return fail("is not a private key (expected an OpenSSH or PEM private key such as "
              "~/.ssh/id_ed25519)");
}

Result<KeyType> check_private_key_file(const std::filesystem::path& path) {
  std::ifstream file(path, std::ios::binary);
  if (!file) {
    return fail(fmt::format("SSH key \"{}\" cannot be read", path.string()));
  }
  std::string text(k_max_key_bytes, '\0');
  file.read(text.data(), static_cast<std::streamsize>(text.size()));
  text.resize(static_cast<size_t>(file.gcount()));
  auto type = classify_private_key(text);
  DM_TRY_CTX(type, fmt::format("SSH key \"{}\"", path.string()));
  return type;
}

} // namespace dm
