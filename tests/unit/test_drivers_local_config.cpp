#include "drivers/local/local_driver.h"

#include <catch2/catch.hpp>

namespace {

dm::DriverContext context() {
  dm::DriverContext ctx;
  ctx.machine_name = "a";
  ctx.store_path = "/tmp/store";
  ctx.machine_dir = "/tmp/store/machines/a";
  return ctx;
}

} // namespace

TEST_CASE("local driver flags have docker-machine style names and defaults", "[local]") {
  auto flags = dm::local_driver_flags();
  REQUIRE(flags.size() == 7);
  CHECK(flags[0].name == "local-image");
  CHECK(flags[0].default_value == "debian-docker");
  CHECK(flags[3].default_value == "10.213.0.0/24");
  CHECK(flags[4].default_value == "dmachine0");
}

TEST_CASE("local driver config round trips and names fit in 15 characters", "[local]") {
  auto driver = dm::make_local_driver(context(), nlohmann::json::object());
  dm::DriverOptions options;
  options.values["local-subnet"] = {"10.213.250.0/24"};
  options.values["local-bridge"] = {"dmtsmoke"};
  options.values["local-memory"] = {"512"};
  options.values["local-mirror"] = {"http://deb.debian.org/debian"};
  REQUIRE(driver->set_options(options));
  auto config = driver->config();
  CHECK(config["SSHUser"] == "root");
  CHECK(config["SSHPort"] == 22);
  CHECK(config["SSHKeyPath"] == "/tmp/store/machines/a/id_rsa");
  CHECK(config["CacheDir"] == "/tmp/store/cache/local");
  CHECK(config["Memory"] == 512);
  CHECK(config["Veth"].get<std::string>().size() <= 15);
  CHECK(config["Netns"].get<std::string>().rfind("dm-", 0) == 0);
  auto again = dm::make_local_driver(context(), config);
  CHECK(again->config() == config);
}

TEST_CASE("local driver rejects bad numbers and non-/24 subnets", "[local]") {
  auto driver = dm::make_local_driver(context(), nlohmann::json::object());
  dm::DriverOptions options;
  options.values["local-memory"] = {"lots"};
  auto bad = driver->set_options(options);
  REQUIRE_FALSE(bad);
  CHECK(bad.error().kind == dm::ErrorKind::precreate);
  options.values["local-memory"] = {"0"};
  options.values["local-subnet"] = {"10.0.0.0/16"};
  REQUIRE(driver->set_options(options));
  auto check = driver->pre_create_check();
  REQUIRE_FALSE(check);
  CHECK(check.error().kind == dm::ErrorKind::precreate);
}
