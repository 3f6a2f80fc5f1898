#include "drivers/local/local_cgroup.h"
#include "drivers/local/local_driver.h"
#include "drivers/local/local_launch.h"
#include "drivers/local/local_util.h"
#include "tests/fakes/temp_dir.h"

#include <catch2/catch.hpp>
#include <fstream>

namespace fs = std::filesystem;

namespace {

dm::DriverContext context_in(const fs::path& store) {
  dm::DriverContext ctx;
  ctx.machine_name = "a";
  ctx.store_path = store;
  ctx.machine_dir = store / "machines" / "a";
  return ctx;
}

// The record the driver itself writes at create, for a store at store.
nlohmann::json good_record(const fs::path& store) {
  auto driver = dm::make_local_driver(context_in(store), nlohmann::json::object());
  dm::DriverOptions options;
  options.values["local-mirror"] = {"http://deb.debian.org/debian"};
  REQUIRE(driver->set_options(options));
  auto config = driver->config();
  config["IPAddress"] = "10.213.0.2"; // a host of the default subnet
  return config;
}

dm::local::HostSpec spec_in(const fs::path& store) {
  return dm::local::HostSpec{.id = "0123abcd",
                             .machine_name = "a",
                             .netns = "dm-0123abcd",
                             .local_dir = store / "machines" / "a" / "local",
                             .image_rootfs = store / "cache/local/images/debian/rootfs",
                             .memory_mb = 256,
                             .cpus = 1};
}

} // namespace

TEST_CASE("local driver: a record as the driver wrote it is usable", "[local]") {
  dm::testing::TempDir store;
  auto driver = dm::make_local_driver(context_in(store.path()), good_record(store.path()));
  auto state = driver->state();
  REQUIRE(state);
  CHECK(*state == dm::MachineState::error); // no local directory: never created
}

TEST_CASE("local driver: fields naming paths on this computer are checked", "[local]") {
  dm::testing::TempDir store;
  auto machine_dir = store.path() / "machines" / "a";
  fs::create_directories(machine_dir / "local" / "upper");
  std::ofstream(store.path() / "outside") << "keep";
  struct Case {
    const char* key;
    nlohmann::json value;
    const char* message;
  };
  const Case cases[] = {
      {"CacheDir", "/", "CacheDir"},
      {"CacheDir", "/etc", "CacheDir"},
      {"CacheDir", store.path().string() + "/cache/local/../../..", "CacheDir"},
      {"CacheDir", "relative/cache", "CacheDir"},
      {"Image", "../../../../etc", "Image"},
      {"Netns", "dm-../../x", "Netns"},
      {"Netns", "dm-00000000", "Netns"},
      {"Memory", "lots", "wrong type"},
      {"CacheDir", 42, "wrong type"},
  };
  for (const auto& c : cases) {
    INFO(c.key << " = " << c.value.dump());
    auto record = good_record(store.path());
    record[c.key] = c.value;
    auto driver = dm::make_local_driver(context_in(store.path()), record);
    auto state = driver->state();
    REQUIRE_FALSE(state);
    CHECK_THAT(state.error().message, Catch::Contains(c.message));
    CHECK_FALSE(driver->start());
    CHECK_FALSE(driver->stop());
    CHECK_FALSE(driver->kill());
    // rm -f: the machine's own files go, with an error that says the rest was not touched.
    fs::create_directories(machine_dir / "local" / "upper");
    auto removed = driver->remove();
    REQUIRE_FALSE(removed);
    CHECK_THAT(removed.error().message, Catch::Contains("nothing outside the store was touched"));
    CHECK_FALSE(fs::exists(machine_dir / "local"));
    CHECK(fs::exists(store.path() / "outside"));
  }
}

TEST_CASE("local driver: a marked cache dir other than the store's is accepted", "[local]") {
  dm::testing::TempDir store;
  dm::testing::TempDir cache;
  auto record = good_record(store.path());
  record["CacheDir"] = cache.path().string();
  CHECK_FALSE(dm::make_local_driver(context_in(store.path()), record)->state());
  fs::create_directories(cache.path() / "images");
  std::ofstream(cache.path() / "images" / ".dmachine-image-cache") << "x";
  CHECK(dm::make_local_driver(context_in(store.path()), record)->state());
}

TEST_CASE("local driver: bad --local-memory and --local-cpus are pre-create errors", "[local]") {
  dm::testing::TempDir store;
  for (const char* flag : {"local-memory", "local-cpus"}) {
    for (const char* value : {"lots", "-1", "1.5", ""}) {
      INFO(flag << "=" << value);
      auto driver = dm::make_local_driver(context_in(store.path()), nlohmann::json::object());
      dm::DriverOptions options;
      options.values["local-mirror"] = {"http://deb.debian.org/debian"};
      options.values[flag] = {value};
      auto bad = driver->set_options(options);
      REQUIRE_FALSE(bad);
      CHECK(bad.error().kind == dm::ErrorKind::precreate);
      CHECK_THAT(bad.error().message, Catch::Contains(std::string("--") + flag));
    }
  }
}

TEST_CASE("local launch: the host's root is entered with pivot_root, old root detached",
          "[local]") {
  dm::testing::TempDir store;
  auto inner = dm::local::inner_script(spec_in(store.path()));
  CHECK_THAT(inner, Catch::Contains("pivot_root . .dm-oldroot"));
  CHECK_THAT(inner, Catch::Contains("umount -l /.dm-oldroot"));
  CHECK_THAT(inner, !Catch::Contains("exec chroot"));
  CHECK_THAT(inner, Catch::Contains("-sys_module"));
  CHECK_THAT(inner, Catch::Contains("-dac_read_search"));
  CHECK_THAT(inner, Catch::Contains("mount -t sysfs -o ro,"));
  CHECK_THAT(inner, Catch::Contains("remount,bind,ro,nosuid,nodev,noexec \"$R/proc/sys\""));
  CHECK_THAT(inner, Catch::Contains("sysrq-trigger"));
}

TEST_CASE("local launch: store paths with spaces and quotes stay one word", "[local]") {
  auto spec = spec_in("/tmp/dm store $x'y");
  auto inner = dm::local::inner_script(spec);
  // Layers are named relative to the local dir: overlayfs options cannot hold the path.
  CHECK_THAT(inner, Catch::Contains("cd '/tmp/dm store $x'\\''y/machines/a/local'\n"));
  CHECK_THAT(inner, Catch::Contains("lowerdir=lower,upperdir=upper,workdir=work rootfs"));
  auto launcher = dm::local::launcher_script(spec);
  CHECK_THAT(launcher, Catch::Contains("sh '/tmp/dm store $x'\\''y/machines/a/local/inner.sh'"));
  for (const auto& script : {inner, launcher}) {
    CHECK(script.find("/tmp/dm store $x'y") == std::string::npos);
  }
}

TEST_CASE("local launch: limits sit one cgroup level above the host's own root", "[local]") {
  auto launcher = dm::local::launcher_script(spec_in("/tmp/s"));
  for (const auto& mount : dm::local::cgroup_mounts()) {
    auto leaf = fs::path(dm::local::k_cgroup_root) / mount.dir / "dmachine/0123abcd/host";
    CHECK_THAT(launcher, Catch::Contains("echo $$ > " + leaf.string() + "/cgroup.procs"));
    if (mount.options == "devices") {
      CHECK_THAT(launcher, Catch::Contains("echo a > " + leaf.parent_path().string() +
                                           "/devices.deny"));
    }
    if (mount.options == "memory") {
      CHECK_THAT(launcher, Catch::Contains("echo 268435456 > " + leaf.parent_path().string() +
                                           "/memory.limit_in_bytes"));
    }
  }
}

TEST_CASE("local util: mountinfo paths are decoded and listed deepest first", "[local]") {
  const std::string text =
      "22 1 254:0 / / rw - ext4 /dev/vda rw\n"
      "90 22 0:50 / /tmp/dm\\040store/m/local/rootfs rw - overlay overlay rw\n"
      "91 90 0:51 / /tmp/dm\\040store/m/local/rootfs/proc rw - proc proc rw\n"
      "92 22 0:52 / /tmp/dm\\040storeX/other rw - tmpfs tmpfs rw\n";
  auto points = dm::local::parse_mountinfo(text);
  REQUIRE(points.size() == 4);
  CHECK(points[1] == "/tmp/dm store/m/local/rootfs");
  auto below = dm::local::mounts_below("/tmp/dm store/m", points);
  REQUIRE(below.size() == 2);
  CHECK(below[0] == "/tmp/dm store/m/local/rootfs/proc");
  CHECK(below[1] == "/tmp/dm store/m/local/rootfs");
  CHECK(dm::local::mounts_below("/tmp/dm store/m/local/rootfs/proc", points).empty());
}

TEST_CASE("local util: remove_tree never follows a symlink out of the tree", "[local]") {
  dm::testing::TempDir base;
  fs::create_directories(base.path() / "outside");
  std::ofstream(base.path() / "outside" / "precious") << "keep";
  auto tree = base.path() / "tree";
  fs::create_directories(tree / "a" / "b");
  std::ofstream(tree / "a" / "b" / "file") << "x";
  fs::create_directory_symlink(base.path() / "outside", tree / "a" / "link");
  REQUIRE(dm::local::remove_tree(tree));
  CHECK_FALSE(fs::exists(tree));
  CHECK(fs::exists(base.path() / "outside" / "precious"));
  CHECK(dm::local::remove_tree(tree)); // already gone: nothing to do
}

TEST_CASE("local util: only absolute, lexically normal paths pass", "[local]") {
  CHECK(dm::local::is_normal_absolute("/var/cache/dmachine/local"));
  CHECK(dm::local::is_normal_absolute("/"));
  CHECK_FALSE(dm::local::is_normal_absolute(""));
  CHECK_FALSE(dm::local::is_normal_absolute("cache"));
  CHECK_FALSE(dm::local::is_normal_absolute("/a/../etc"));
  CHECK_FALSE(dm::local::is_normal_absolute("/a/./b"));
  CHECK_FALSE(dm::local::is_normal_absolute("/a/"));
  CHECK_FALSE(dm::local::is_normal_absolute("/a//b"));
}

TEST_CASE("local cgroup: only ids the driver makes name a cgroup to kill", "[local]") {
  CHECK(dm::local::is_valid_machine_id("0123abcd"));
  for (const char* bad : {"", "../../..", "0123ABCD", "0123abc", "0123abcde", "01/3abcd"}) {
    CHECK_FALSE(dm::local::is_valid_machine_id(bad));
    CHECK(dm::local::kill_subtree(bad, 10).empty());
  }
}
