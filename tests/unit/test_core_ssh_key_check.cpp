#include "core/ssh_key_check.h"

#include <catch2/catch.hpp>
#include <filesystem>

using dm::check_private_key_file;
using dm::KeyType;

namespace {
std::filesystem::path key(const char* name) {
  return std::filesystem::path(DM_FIXTURES_DIR) / "ssh-keys" / name;
}

KeyType type_of(const char* name) {
  auto type = check_private_key_file(key(name));
  INFO(name);
  REQUIRE(type);
  return *type;
}
} // namespace

TEST_CASE("key check: usable private keys and their types", "[ssh][key]") {
  CHECK(type_of("ed25519") == KeyType::ed25519);
  CHECK(type_of("ecdsa") == KeyType::ecdsa);
  CHECK(type_of("rsa-openssh") == KeyType::rsa);
  CHECK(type_of("rsa-pem") == KeyType::rsa);
}

TEST_CASE("key check: passphrase-protected keys are refused with the reason", "[ssh][key]") {
  for (const char* name : {"ed25519-passphrase", "rsa-pem-passphrase"}) {
    auto checked = check_private_key_file(key(name));
    INFO(name);
    REQUIRE_FALSE(checked);
    CHECK(checked.error().message.find("protected by a passphrase") != std::string::npos);
    CHECK(checked.error().message.find(name) != std::string::npos);
  }
  auto pkcs8 = dm::classify_private_key("-----BEGIN ENCRYPTED PRIVATE KEY-----\nAAAA\n");
  REQUIRE_FALSE(pkcs8);
  CHECK(pkcs8.error().message.find("passphrase") != std::string::npos);
}

TEST_CASE("key check: public keys and other files are not keys", "[ssh][key]") {
  auto public_key = check_private_key_file(key("ed25519.pub"));
  REQUIRE_FALSE(public_key);
  CHECK(public_key.error().message.find("is a public key") != std::string::npos);

  auto readme = check_private_key_file(key("README"));
  REQUIRE_FALSE(readme);
  CHECK(readme.error().message.find("is not a private key") != std::string::npos);

  auto missing = check_private_key_file(key("nosuch"));
  REQUIRE_FALSE(missing);
  CHECK(missing.error().message.find("cannot be read") != std::string::npos);

  // Damaged OpenSSH keys: truncated, bad base64, wrong magic.
  for (const char* text :
       {"-----BEGIN OPENSSH PRIVATE KEY-----\nb3BlbnNzaC1r\n",
        "-----BEGIN OPENSSH PRIVATE KEY-----\n!!!!\n-----END OPENSSH PRIVATE KEY-----\n",
        "-----BEGIN OPENSSH PRIVATE KEY-----\naGVsbG8gd29ybGQh\n-----END OPENSSH PRIVATE KEY-----\n",
        "-----BEGIN OPENSSH PRIVATE KEY-----\nb3BlbnNzaC1rZXktdjEAAAAABG5v\n-----END OPENSSH PRIVATE "
        "KEY-----\n"}) {
    INFO(text);
    CHECK_FALSE(dm::classify_private_key(text));
  }
  CHECK_FALSE(dm::classify_private_key(""));
}
