#include "core/engine_setup.h"

#include "tests/fakes/temp_dir.h"

#include <catch2/catch.hpp>

namespace fs = std::filesystem;
using dm::testing::TempDir;

namespace {

constexpr auto k_day = std::chrono::hours(24);

// A store with the CA made and machines a..e: a, b, c have server certificates
// from the store's CA, d has none (made with --no-provision), e one from another CA.
struct StoreWithMachines {
  TempDir dir{"dm-engine-setup"};
  dm::MachineStore store{dir.path()};

  StoreWithMachines() {
    REQUIRE(store.ensure_layout());
    REQUIRE(dm::ensure_ca_and_client(store.certs_dir(), "t", dm::RegenerateClient::no));
    for (const char* name : {"a", "b", "c", "d", "e"}) {
      REQUIRE(store.create_machine_dir(name));
    }
    for (const char* name : {"a", "b", "c"}) {
      write_server_cert(name, store.certs_dir());
    }
    const fs::path other = dir.path() / "other-ca";
    REQUIRE(dm::ensure_ca_and_client(other, "o", dm::RegenerateClient::no));
    write_server_cert("e", other);
  }

  void write_server_cert(const std::string& name, const fs::path& ca_dir) const {
    auto cert = dm::make_server_cert(ca_dir / "ca.pem", ca_dir / "ca-key.pem", {"10.0.0.1"}, "t");
    REQUIRE(cert);
    REQUIRE(dm::write_file_atomic(store.machine_dir(name) / "server.pem", cert->cert_pem, 0644));
  }
};

} // namespace

TEST_CASE("renew_store_ca renews once and lists the machines left on the old CA", "[engine_setup]") {
  StoreWithMachines s;
  auto old_ca = dm::read_file(s.store.certs_dir() / "ca.pem");
  REQUIRE(old_ca);
  auto left = dm::renew_store_ca(s.store, {"a", "b"});
  REQUIRE(left);
  CHECK(*left == std::vector<std::string>{"c"});
  auto new_ca = dm::read_file(s.store.certs_dir() / "ca.pem");
  REQUIRE(new_ca);
  CHECK(*new_ca != *old_ca);
  // The client certificate is the new CA's.
  auto client = dm::read_file(s.store.certs_dir() / "cert.pem");
  REQUIRE(client);
  CHECK(dm::verify_certificate(*client, *new_ca));
}

TEST_CASE("renew_store_ca without an old CA lists every machine with certificates", "[engine_setup]") {
  StoreWithMachines s;
  fs::remove(s.store.certs_dir() / "ca.pem");
  auto left = dm::renew_store_ca(s.store, {"a"});
  REQUIRE(left);
  CHECK(*left == std::vector<std::string>{"b", "c", "e"});
}

TEST_CASE("require_store_ca refuses a store without its CA", "[engine_setup]") {
  StoreWithMachines s;
  CHECK(dm::require_store_ca(s.store));
  fs::remove(s.store.certs_dir() / "ca-key.pem");
  auto missing = dm::require_store_ca(s.store);
  REQUIRE_FALSE(missing);
  CHECK_THAT(missing.error().message, Catch::Contains("ca-key.pem) is missing"));
  CHECK_THAT(missing.error().message, Catch::Contains("dmachine regenerate-certs --client-certs"));
}

TEST_CASE("tls_expiry_warning covers the server certificate and its CA", "[engine_setup]") {
  StoreWithMachines s;
  dm::MachineRecord record;
  record.name = "a";
  record.auth.ca_cert_path = (s.store.certs_dir() / "ca.pem").string();
  record.auth.server_cert_path = (s.store.machine_dir("a") / "server.pem").string();
  auto pem = dm::read_file(record.auth.ca_cert_path);
  REQUIRE(pem);
  auto expiry = dm::certificate_expiry(*pem);
  REQUIRE(expiry);
  const auto now = std::chrono::system_clock::now();
  CHECK(dm::tls_expiry_warning(record, now).empty());
  CHECK(dm::tls_expiry_warning(record, *expiry - 40 * k_day).empty());

  // The server certificate (made later) still has time; the CA does not.
  record.auth.server_cert_path = (s.dir.path() / "none.pem").string();
  CHECK_THAT(dm::tls_expiry_warning(record, *expiry - 10 * k_day - std::chrono::hours(1)),
             Catch::StartsWith("TLS CA certificate expires in 10 days; run 'dmachine "
                               "regenerate-certs --client-certs a'"));
  CHECK_THAT(dm::tls_expiry_warning(record, *expiry + k_day),
             Catch::StartsWith("TLS CA certificate expired; "));

  // The server certificate's own warning comes first and keeps its text.
  record.auth.server_cert_path = (s.store.machine_dir("a") / "server.pem").string();
  CHECK(dm::tls_expiry_warning(record, *expiry + 100 * 7 * k_day) ==
        "TLS certificate expired; run 'dmachine regenerate-certs a'");

  record.auth.ca_cert_path = (s.dir.path() / "nothing.pem").string();
  record.auth.server_cert_path = record.auth.ca_cert_path;
  CHECK(dm::tls_expiry_warning(record, now).empty());
}
