#include "core/certs.h"
#include "core/machine_store.h"

#include "tests/fakes/temp_dir.h"

#include <catch2/catch.hpp>

#include <openssl/bio.h>
#include <openssl/pem.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>

#include <chrono>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <memory>
#include <random>
#include <sys/stat.h>

namespace fs = std::filesystem;

using dm::testing::mode_of;
using dm::testing::TempDir;

namespace {


std::string slurp(const fs::path& p) {
  auto data = dm::read_file(p);
  REQUIRE(data);
  return *data;
}

// Extended key usage flags (XKU_*) of a PEM certificate.
uint32_t extended_key_usage(const std::string& pem) {
  BIO* bio = BIO_new_mem_buf(pem.data(), static_cast<int>(pem.size()));
  X509* cert = PEM_read_bio_X509(bio, nullptr, nullptr, nullptr);
  BIO_free(bio);
  REQUIRE(cert != nullptr);
  uint32_t flags = X509_get_extended_key_usage(cert);
  X509_free(cert);
  return flags;
}

bool has_command(const char* name) {
  std::string cmd = std::string("command -v ") + name + " >/dev/null 2>&1";
  return std::system(cmd.c_str()) == 0;
}

} // namespace

TEST_CASE("ensure_ca_and_client creates the CA and client pair with private modes", "[certs]") {
  TempDir tmp;
  fs::path dir = tmp.path() / "certs";
  auto r = dm::ensure_ca_and_client(dir, "alice", dm::RegenerateClient::no);
  REQUIRE(r);
  CHECK(mode_of(dir) == 0700);
  CHECK(mode_of(dir / "ca.pem") == 0644);
  CHECK(mode_of(dir / "cert.pem") == 0644);
  CHECK(mode_of(dir / "ca-key.pem") == 0600);
  CHECK(mode_of(dir / "key.pem") == 0600);

  std::string ca = slurp(dir / "ca.pem");
  std::string client = slurp(dir / "cert.pem");
  CHECK(dm::verify_certificate(client, ca));
  CHECK((extended_key_usage(client) & XKU_SSL_CLIENT) != 0);
  CHECK((extended_key_usage(client) & XKU_SSL_SERVER) == 0);
  // The CA verifies against itself (self-signed, CA:TRUE).
  CHECK(dm::verify_certificate(ca, ca));

  auto expiry = dm::certificate_expiry(client);
  REQUIRE(expiry);
  auto years = std::chrono::duration_cast<std::chrono::hours>(*expiry -
                                                              std::chrono::system_clock::now())
                   .count() /
               (24.0 * 365.0);
  CHECK(years > 2.9);
  CHECK(years < 3.1);
}

TEST_CASE("ensure_ca_and_client keeps existing files unless told to regenerate", "[certs]") {
  TempDir tmp;
  fs::path dir = tmp.path();
  REQUIRE(dm::ensure_ca_and_client(dir, "alice", dm::RegenerateClient::no));
  const char* names[] = {"ca.pem", "ca-key.pem", "cert.pem", "key.pem"};
  std::vector<std::string> before;
  for (const char* n : names) {
    before.push_back(slurp(dir / n));
  }

  REQUIRE(dm::ensure_ca_and_client(dir, "alice", dm::RegenerateClient::no));
  for (size_t i = 0; i < before.size(); ++i) {
    CHECK(slurp(dir / names[i]) == before[i]);
  }

  SECTION("a missing client pair is recreated under the existing CA") {
    fs::remove(dir / "cert.pem");
    REQUIRE(dm::ensure_ca_and_client(dir, "alice", dm::RegenerateClient::no));
    CHECK(slurp(dir / "ca.pem") == before[0]);
    CHECK(slurp(dir / "ca-key.pem") == before[1]);
    CHECK(slurp(dir / "cert.pem") != before[2]);
    CHECK(dm::verify_certificate(slurp(dir / "cert.pem"), before[0]));
  }
  SECTION("regenerate replaces all four") {
    REQUIRE(dm::ensure_ca_and_client(dir, "alice", dm::RegenerateClient::yes));
    for (size_t i = 0; i < before.size(); ++i) {
      CHECK(slurp(dir / names[i]) != before[i]);
    }
    CHECK(dm::verify_certificate(slurp(dir / "cert.pem"), slurp(dir / "ca.pem")));
    CHECK_FALSE(dm::verify_certificate(slurp(dir / "cert.pem"), before[0]));
  }
}

TEST_CASE("a corrupt ca.pem gives an error naming the file", "[certs]") {
  TempDir tmp;
  fs::path dir = tmp.path();
  REQUIRE(dm::ensure_ca_and_client(dir, "alice", dm::RegenerateClient::no));
  REQUIRE(dm::write_file_atomic(dir / "ca.pem", "garbage\n", 0644));

  auto r = dm::ensure_ca_and_client(dir, "alice", dm::RegenerateClient::no);
  REQUIRE_FALSE(r);
  CHECK_THAT(r.error().message, Catch::Contains((dir / "ca.pem").string()));

  fs::remove(dir / "cert.pem");
  r = dm::ensure_ca_and_client(dir, "alice", dm::RegenerateClient::no);
  REQUIRE_FALSE(r);
  CHECK_THAT(r.error().message, Catch::Contains((dir / "ca.pem").string()));

  auto server = dm::make_server_cert(dir / "ca.pem", dir / "ca-key.pem", {"1.2.3.4"}, "alice");
  REQUIRE_FALSE(server);
  CHECK_THAT(server.error().message, Catch::Contains((dir / "ca.pem").string()));
}

TEST_CASE("make_server_cert signs a serverAuth certificate with IP and DNS SANs", "[certs]") {
  TempDir tmp;
  fs::path dir = tmp.path();
  REQUIRE(dm::ensure_ca_and_client(dir, "alice", dm::RegenerateClient::no));
  std::vector<std::string> sans{"192.168.99.100", "localhost", "::1", "node-1.example.com"};
  auto server = dm::make_server_cert(dir / "ca.pem", dir / "ca-key.pem", sans, "alice.node-1");
  REQUIRE(server);
  std::string ca = slurp(dir / "ca.pem");
  CHECK(dm::verify_certificate(server->cert_pem, ca));
  CHECK((extended_key_usage(server->cert_pem) & XKU_SSL_SERVER) != 0);
  CHECK_THAT(server->key_pem, Catch::Contains("PRIVATE KEY"));
  // A P-256 key: made in microseconds, for every machine.
  {
    std::unique_ptr<BIO, decltype(&BIO_free)> bio(
        BIO_new_mem_buf(server->key_pem.data(), static_cast<int>(server->key_pem.size())),
        BIO_free);
    std::unique_ptr<EVP_PKEY, decltype(&EVP_PKEY_free)> key(
        PEM_read_bio_PrivateKey(bio.get(), nullptr, nullptr, nullptr), EVP_PKEY_free);
    REQUIRE(key);
    CHECK(EVP_PKEY_get_base_id(key.get()) == EVP_PKEY_EC);
    CHECK(EVP_PKEY_get_bits(key.get()) == 256);
  }

  auto got = dm::certificate_sans(server->cert_pem);
  REQUIRE(got);
  CHECK(*got == sans);

  auto expiry = dm::certificate_expiry(server->cert_pem);
  REQUIRE(expiry);
  CHECK(*expiry > std::chrono::system_clock::now() + std::chrono::hours(24 * 365 * 2 + 24 * 300));

  // Another CA does not vouch for it.
  TempDir other;
  REQUIRE(dm::ensure_ca_and_client(other.path(), "mallory", dm::RegenerateClient::no));
  auto wrong = dm::verify_certificate(server->cert_pem, slurp(other.path() / "ca.pem"));
  REQUIRE_FALSE(wrong);
  CHECK_THAT(wrong.error().message, Catch::Contains("verify certificate"));

  CHECK_FALSE(dm::certificate_sans("not a pem"));
  CHECK_FALSE(dm::certificate_expiry("not a pem"));
}

TEST_CASE("openssl CLI accepts the generated chain", "[certs]") {
  if (!has_command("openssl")) {
    WARN("SKIPPED: the openssl command is not installed");
    return;
  }
  TempDir tmp;
  fs::path dir = tmp.path();
  REQUIRE(dm::ensure_ca_and_client(dir, "alice", dm::RegenerateClient::no));
  auto server = dm::make_server_cert(dir / "ca.pem", dir / "ca-key.pem", {"127.0.0.1"}, "alice");
  REQUIRE(server);
  REQUIRE(dm::write_file_atomic(dir / "server.pem", server->cert_pem, 0644));
  std::string ca = (dir / "ca.pem").string();
  std::string base = "openssl verify -CAfile '" + ca + "' ";
  CHECK(std::system((base + "-purpose sslserver '" + (dir / "server.pem").string() +
                     "' >/dev/null 2>&1")
                        .c_str()) == 0);
  CHECK(std::system((base + "-purpose sslclient '" + (dir / "cert.pem").string() +
                     "' >/dev/null 2>&1")
                        .c_str()) == 0);
  // The server certificate is not a client certificate.
  CHECK(std::system((base + "-purpose sslclient '" + (dir / "server.pem").string() +
                     "' >/dev/null 2>&1")
                        .c_str()) != 0);
}
