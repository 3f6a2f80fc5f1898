#include "drivers/qemu/qemu_driver.h"
#include "drivers/registry.h"

#include <catch2/catch.hpp>

using namespace dm;

namespace {

DriverContext context_for(const std::string& name) {
  DriverContext context;
  context.machine_name = name;
  context.store_path = "/tmp/dm-qemu-unit-store";
  context.machine_dir = context.store_path / "machines" / name;
  return context;
}

DriverOptions with(std::map<std::string, std::vector<std::string>> values) {
  DriverOptions options;
  options.values = std::move(values);
  return options;
}

} // namespace

TEST_CASE("qemu driver: registered with its flags and env vars", "[qemu]") {
  const DriverEntry* entry = find_driver("qemu");
  REQUIRE(entry != nullptr);
  std::vector<std::string> names;
  for (const auto& flag : entry->flags) {
    names.push_back(flag.name + "=" + flag.env_var + "=" + flag.default_value);
  }
  CHECK(names == std::vector<std::string>{
                     "qemu-image=QEMU_IMAGE=", "qemu-image-checksum=QEMU_IMAGE_CHECKSUM=",
                     "qemu-memory=QEMU_MEMORY=1024", "qemu-cpus=QEMU_CPUS=1",
                     "qemu-disk-size=QEMU_DISK_SIZE=20000",
                     "qemu-network-cidr=QEMU_NETWORK_CIDR=192.168.120.0/24",
                     "qemu-accel=QEMU_ACCEL=auto", "qemu-network=QEMU_NETWORK=auto"});
}

TEST_CASE("qemu driver: bad flag values are refused naming the flag", "[qemu]") {
  for (const auto& [flag, value] : std::vector<std::pair<std::string, std::string>>{
           {"qemu-accel", "hvf"},
           {"qemu-network", "vde"},
           {"qemu-memory", "lots"},
           {"qemu-network-cidr", "224.0.0.0/24"}}) {
    auto driver = make_qemu_driver(context_for("q1"), nlohmann::json::object());
    auto result = driver->set_options(with({{flag, {value}}}));
    INFO(flag);
    REQUIRE_FALSE(result);
    CHECK(result.error().message.find("--" + flag) != std::string::npos);
  }
  auto driver = make_qemu_driver(context_for("q1"), nlohmann::json::object());
  CHECK(driver->set_options(with({{"qemu-accel", {"tcg"}}, {"qemu-network", {"user"}}})));
}

TEST_CASE("qemu driver: the record round-trips; a changed one is refused", "[qemu]") {
  auto empty = make_qemu_driver(context_for("q1"), nlohmann::json::object());
  auto config = empty->config();
  for (const char* key : {"IPAddress", "SSHUser", "SSHPort", "SSHKeyPath", "StorePath",
                          "MachineName", "Accel", "NetworkMode", "EngineForwardPort", "Bridge",
                          "Tap", "NetworkCIDR", "MACAddress", "InstanceID", "ImagePath"}) {
    CHECK(config.contains(key));
  }
  CHECK(config["SSHUser"] == "docker");
  config["IPAddress"] = "10.213.244.2";
  config["NetworkCIDR"] = "10.213.244.1/24";
  config["MACAddress"] = "52:54:00:aa:bb:cc";
  auto loaded = make_qemu_driver(context_for("q1"), config);
  REQUIRE(loaded->ip());
  CHECK(*loaded->ip() == "10.213.244.2");
  auto target = loaded->ssh_target();
  REQUIRE(target);
  CHECK(target->host == "10.213.244.2");
  CHECK(target->port == 22);
  CHECK(target->user == "docker");
  CHECK(loaded->engine_port() == 2376);
  CHECK(loaded->ssh_wait_seconds() >= 600);
  CHECK(loaded->config()["Bridge"].get<std::string>().rfind("dmq", 0) == 0);

  config["NetworkMode"] = "user";
  config["SSHPort"] = 40022;
  config["EngineForwardPort"] = 42376;
  auto user = make_qemu_driver(context_for("q1"), config);
  CHECK(*user->ip() == "127.0.0.1");
  CHECK(user->ssh_target()->port == 40022);
  CHECK(user->engine_port() == 42376);

  for (const auto& [key, value] : std::vector<std::pair<std::string, nlohmann::json>>{
           {"Accel", "hax"}, {"NetworkMode", "tap"}, {"EngineForwardPort", 70000},
           {"IPAddress", "10.213.244.2; rm -rf /"}}) {
    auto changed = config;
    changed[key] = value;
    auto driver = make_qemu_driver(context_for("q1"), changed);
    INFO(key);
    CHECK_FALSE(driver->start());
    CHECK_FALSE(driver->state());
  }
}
