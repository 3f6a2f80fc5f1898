#include "drivers/generic/generic_driver.h"

#include "core/machine_store.h"
#include "ssh/keygen.h"
#include "tests/fakes/temp_dir.h"

#include <catch2/catch.hpp>

namespace fs = std::filesystem;
using dm::testing::TempDir;

namespace {

struct GenericSetup {
  TempDir dir{"dm-generic"};
  fs::path machine_dir = dir.path() / "machines" / "web";
  std::unique_ptr<dm::Driver> driver;

  GenericSetup() {
    fs::create_directories(machine_dir);
    // What the create workflow generated before the driver's create().
    REQUIRE(dm::write_file_atomic(machine_dir / "id_rsa", "GENERATED", 0600));
    REQUIRE(dm::write_file_atomic(machine_dir / "id_rsa.pub", "GENERATED PUB", 0644));
    dm::DriverContext context;
    context.machine_name = "web";
    context.store_path = dir.path();
    context.machine_dir = machine_dir;
    driver = dm::make_generic_driver(context, nlohmann::json::object());
  }

  dm::Result<void> create_with_key(const fs::path& key) {
    dm::DriverOptions options;
    options.values["generic-ip-address"] = {"192.0.2.7"};
    options.values["generic-ssh-key"] = {key.string()};
    DM_TRY(driver->set_options(options));
    DM_TRY(driver->pre_create_check());
    return driver->create();
  }
};

} // namespace

TEST_CASE("generic: a key named like a TLS file is copied to machines/NAME/id_rsa", "[generic]") {
  for (const char* name : {"key.pem", "cert.pem", "ca.pem", "server.pem", "server-key.pem"}) {
    GenericSetup setup;
    const fs::path key = setup.dir.path() / name;
    REQUIRE(dm::generate_key_pair(key, "user"));
    REQUIRE(setup.create_with_key(key));
    CHECK(setup.driver->config()["SSHKeyPath"] == (setup.machine_dir / "id_rsa").string());
    CHECK(*dm::read_file(setup.machine_dir / "id_rsa") == *dm::read_file(key));
    CHECK(*dm::read_file(setup.machine_dir / "id_rsa.pub") == *dm::read_file(key.string() + ".pub"));
    CHECK(dm::testing::mode_of(setup.machine_dir / "id_rsa") == 0600);
    // Nothing under the key's own name: that is where the TLS files go.
    CHECK_FALSE(fs::exists(setup.machine_dir / name));
  }
}

TEST_CASE("generic: a key without .pub leaves no generated id_rsa.pub", "[generic]") {
  GenericSetup setup;
  const fs::path key = setup.dir.path() / "aws.pem";
  REQUIRE(dm::generate_key_pair(key, "user"));
  fs::remove(key.string() + ".pub");
  REQUIRE(setup.create_with_key(key));
  CHECK(*dm::read_file(setup.machine_dir / "id_rsa") == *dm::read_file(key));
  CHECK_FALSE(fs::exists(setup.machine_dir / "id_rsa.pub"));
}

TEST_CASE("generic: without a key the agent is used and the generated key removed", "[generic]") {
  GenericSetup setup;
  dm::DriverOptions options;
  options.values["generic-ip-address"] = {"192.0.2.7"};
  REQUIRE(setup.driver->set_options(options));
  REQUIRE(setup.driver->create());
  CHECK(setup.driver->config()["SSHKeyPath"] == "");
  CHECK_FALSE(fs::exists(setup.machine_dir / "id_rsa"));
}
