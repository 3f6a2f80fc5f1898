#include "core/machine_store.h"

#include "tests/fakes/temp_dir.h"

#include <catch2/catch.hpp>
#include <nlohmann/json.hpp>

#include <atomic>
#include <cstdlib>
#include <filesystem>
#include <sys/stat.h>
#include <sys/wait.h>
#include <thread>
#include <unistd.h>

namespace fs = std::filesystem;

using dm::testing::mode_of;
using dm::testing::TempDir;

namespace {


std::string fixture_config() {
  auto text = dm::read_file(fs::path(DM_FIXTURES_DIR) / "docker-machine-store/machines/node1/config.json");
  REQUIRE(text);
  return *text;
}

// The fixture record renamed to name (a record's Name must be its directory's).
std::string config_named(const std::string& name) {
  auto doc = nlohmann::json::parse(fixture_config());
  doc["Name"] = name;
  return doc.dump(4);
}

void put_machine(const dm::MachineStore& store, const std::string& name, const std::string& config) {
  REQUIRE(store.create_machine_dir(name));
  REQUIRE(dm::write_file_atomic(store.machine_dir(name) / "config.json", config));
}

} // namespace

TEST_CASE("the docker-machine fixture store loads", "[machine_store]") {
  dm::MachineStore store(fs::path(DM_FIXTURES_DIR) / "docker-machine-store");
  auto names = store.list_names();
  REQUIRE(names);
  CHECK(*names == std::vector<std::string>{"node1"});
  auto record = store.load("node1");
  REQUIRE(record);
  CHECK(record->driver_name == "generic");
  CHECK(record->driver["IPAddress"] == "203.0.113.10");
  CHECK(record->engine.storage_driver == "vfs");
}

TEST_CASE("a missing machine is not_found with docker-machine's text", "[machine_store]") {
  TempDir dir;
  dm::MachineStore store(dir.path());
  auto record = store.load("ghost");
  REQUIRE_FALSE(record);
  CHECK(record.error().kind == dm::ErrorKind::not_found);
  CHECK(record.error().message ==
        "Docker machine \"ghost\" does not exist. Use \"dmachine ls\" to list machines. Use "
        "\"dmachine create\" to add a new one.");
  CHECK_FALSE(store.exists("ghost"));
  CHECK_FALSE(store.exists(".."));
  auto names = store.list_names();
  REQUIRE(names);
  CHECK(names->empty());
}

TEST_CASE("save and load round-trip with private modes", "[machine_store]") {
  TempDir dir;
  dm::MachineStore store(dir.path() / "store");
  ::umask(0);
  REQUIRE(store.create_machine_dir("web1"));
  ::umask(022);
  auto record = dm::new_machine_record("web1", "generic", store.root().string());
  record.driver = {{"IPAddress", "10.0.0.5"}};
  REQUIRE(store.save(record));
  CHECK(mode_of(store.root()) == 0700);
  CHECK(mode_of(store.machines_dir()) == 0700);
  CHECK(mode_of(store.certs_dir()) == 0700);
  CHECK(mode_of(store.machine_dir("web1")) == 0700);
  CHECK(mode_of(store.machine_dir("web1") / "config.json") == 0600);
  auto loaded = store.load("web1");
  REQUIRE(loaded);
  CHECK(dm::render_machine_record(*loaded) == dm::render_machine_record(record));

  // Saving into a machine that is gone is an error, not a resurrection.
  auto other = dm::new_machine_record("gone", "generic", store.root().string());
  auto saved = store.save(other);
  REQUIRE_FALSE(saved);
  CHECK(saved.error().kind == dm::ErrorKind::not_found);
}

TEST_CASE("atomic writes leave no temp files and set the mode", "[machine_store]") {
  TempDir dir;
  fs::path target = dir.path() / "key.pem";
  REQUIRE(dm::write_file_atomic(target, "first"));
  REQUIRE(dm::write_file_atomic(target, "second", 0644));
  auto text = dm::read_file(target);
  REQUIRE(text);
  CHECK(*text == "second");
  CHECK(mode_of(target) == 0644);
  int entries = 0;
  for ([[maybe_unused]] const auto& entry : fs::directory_iterator(dir.path())) {
    ++entries;
  }
  CHECK(entries == 1);

  auto failed = dm::write_file_atomic(dir.path() / "no-such-dir" / "x", "data");
  REQUIRE_FALSE(failed);
  CHECK_THAT(failed.error().message, Catch::Contains("no-such-dir"));
  auto missing = dm::read_file(dir.path() / "absent");
  REQUIRE_FALSE(missing);
  CHECK(missing.error().kind == dm::ErrorKind::not_found);
}

TEST_CASE("two threads creating the same machine: exactly one wins", "[machine_store]") {
  TempDir dir;
  dm::MachineStore store(dir.path());
  REQUIRE(store.ensure_layout());
  for (int round = 0; round < 20; ++round) {
    const std::string name = "race" + std::to_string(round);
    std::atomic<int> wins{0};
    std::atomic<int> already{0};
    std::atomic<bool> go{false};
    auto racer = [&] {
      while (!go) {
      }
      auto made = store.create_machine_dir(name);
      if (made) {
        ++wins;
      } else if (made.error().kind == dm::ErrorKind::already_exists) {
        ++already;
      }
    };
    std::thread a(racer);
    std::thread b(racer);
    go = true;
    a.join();
    b.join();
    CHECK(wins == 1);
    CHECK(already == 1);
  }
  auto again = store.create_machine_dir("race0");
  REQUIRE_FALSE(again);
  CHECK(again.error().message == "Docker machine \"race0\" already exists");
  auto invalid = store.create_machine_dir("bad_name");
  REQUIRE_FALSE(invalid);
  CHECK(invalid.error().message ==
        "Invalid hostname specified. Allowed hostname chars are: 0-9a-zA-Z . -");
}

TEST_CASE("a lock excludes a second holder and times out", "[machine_store]") {
  TempDir dir;
  dm::MachineStore store(dir.path());
  auto first = store.lock_machine("web1", 1);
  REQUIRE(first);
  CHECK(fs::exists(dir.path() / ".locks" / "machine-web1.lock"));
  CHECK(mode_of(dir.path() / ".locks" / "machine-web1.lock") == 0600);

  // flock belongs to the open file description: a second open() in this process competes.
  auto start = std::chrono::steady_clock::now();
  auto second = store.lock_machine("web1", 1);
  auto waited = std::chrono::steady_clock::now() - start;
  REQUIRE_FALSE(second);
  CHECK(second.error().kind == dm::ErrorKind::timeout);
  CHECK_THAT(second.error().message, Catch::Contains("machine-web1.lock"));
  CHECK(waited >= std::chrono::milliseconds(900));

  // Other machines and the store lock are independent.
  CHECK(store.lock_machine("web2", 0));
  CHECK(store.lock_store(0));

  // A child process cannot take it either, until the holder lets go.
  pid_t child = ::fork();
  if (child == 0) {
    auto lock = dm::lock_file(dir.path() / ".locks" / "machine-web1.lock", 0);
    ::_exit(lock ? 0 : 1);
  }
  int status = 0;
  ::waitpid(child, &status, 0);
  CHECK(WEXITSTATUS(status) == 1);

  *first = dm::FileLock();
  CHECK(store.lock_machine("web1", 0));
}

TEST_CASE("a waiting lock is taken when the holder releases it", "[machine_store]") {
  TempDir dir;
  dm::MachineStore store(dir.path());
  auto held = store.lock_store(1);
  REQUIRE(held);
  std::thread release([&] {
    std::this_thread::sleep_for(std::chrono::milliseconds(200));
    *held = dm::FileLock();
  });
  auto waited = store.lock_store(5);
  release.join();
  CHECK(waited);
}

TEST_CASE("listing skips dotfiles and keeps going past a corrupt record", "[machine_store]") {
  TempDir dir;
  dm::MachineStore store(dir.path());
  const std::string config = fixture_config();
  put_machine(store, "beta", config_named("beta"));
  put_machine(store, "Alpha", config_named("Alpha"));
  put_machine(store, "gamma", config.substr(0, config.size() / 2));
  put_machine(store, "delta", config);
  fs::create_directory(store.machines_dir() / ".tmp-create-x");
  REQUIRE(dm::write_file_atomic(store.machines_dir() / "stray-file", "x"));
  REQUIRE(fs::remove(store.machine_dir("delta") / "config.json"));

  auto names = store.list_names();
  REQUIRE(names);
  CHECK(*names == std::vector<std::string>{"Alpha", "beta", "delta", "gamma"});

  auto before = fs::last_write_time(store.machine_dir("beta") / "config.json");
  auto entries = store.load_all();
  REQUIRE(entries.size() == 4);
  CHECK(entries[0].name == "Alpha");
  CHECK(entries[0].record);
  CHECK(entries[1].record);
  REQUIRE_FALSE(entries[2].record);
  CHECK_THAT(entries[2].record.error().message, Catch::Contains("config.json is missing"));
  REQUIRE_FALSE(entries[3].record);
  CHECK_THAT(entries[3].record.error().message,
             Catch::Contains("machines/gamma/config.json: invalid JSON at byte"));
  CHECK(fs::last_write_time(store.machine_dir("beta") / "config.json") == before);
}

TEST_CASE("removing a machine deletes its directory", "[machine_store]") {
  TempDir dir;
  dm::MachineStore store(dir.path());
  put_machine(store, "web1", fixture_config());
  REQUIRE(dm::write_file_atomic(store.machine_dir("web1") / "id_rsa", "key"));
  REQUIRE(store.remove_machine_dir("web1"));
  CHECK_FALSE(fs::exists(store.machine_dir("web1")));
  auto again = store.remove_machine_dir("web1");
  REQUIRE_FALSE(again);
  CHECK(again.error().kind == dm::ErrorKind::not_found);
  CHECK_FALSE(store.remove_machine_dir(""));
  CHECK(fs::exists(store.machines_dir()));
}

TEST_CASE("the default store path follows MACHINE_STORAGE_PATH, then HOME", "[machine_store]") {
  const char* saved_storage = std::getenv("MACHINE_STORAGE_PATH");
  std::string saved = saved_storage != nullptr ? saved_storage : "";
  ::setenv("MACHINE_STORAGE_PATH", "/tmp/dm-store-x", 1);
  CHECK(dm::default_store_path() == fs::path("/tmp/dm-store-x"));
  ::unsetenv("MACHINE_STORAGE_PATH");
  const char* home = std::getenv("HOME");
  if (home != nullptr) {
    CHECK(dm::default_store_path() == fs::path(home) / ".docker" / "machine");
  }
  if (saved_storage != nullptr) {
    ::setenv("MACHINE_STORAGE_PATH", saved.c_str(), 1);
  }
}

TEST_CASE("a record whose Name is not its directory is refused", "[machine_store]") {
  TempDir dir;
  dm::MachineStore store(dir.path());
  put_machine(store, "web1", config_named("web1"));
  for (const std::string name : {"x';id>f;'", "$(touch /tmp/pwned)", "web1", "other"}) {
    put_machine(store, "evil", config_named(name));
    auto record = store.load("evil");
    REQUIRE_FALSE(record);
    INFO(record.error().message);
    CHECK_THAT(record.error().message,
               Catch::StartsWith("record name " + dm::quoted_for_display(name) +
                                 " does not match its directory \"evil\""));
    CHECK_THAT(record.error().message, Catch::Contains("dmachine rm -f evil"));
    CHECK(record.error().message.find('\n') == std::string::npos);
    REQUIRE(store.remove_machine_dir("evil"));
  }
  // An empty Name is filled from the directory, as docker-machine does.
  put_machine(store, "blank", config_named(""));
  auto blank = store.load("blank");
  REQUIRE(blank);
  CHECK(blank->name == "blank");
}

TEST_CASE("save refuses a loaded record renamed to another machine", "[machine_store]") {
  TempDir dir;
  dm::MachineStore store(dir.path());
  put_machine(store, "web1", config_named("web1"));
  put_machine(store, "web2", config_named("web2"));
  auto before = dm::read_file(store.machine_dir("web2") / "config.json");
  REQUIRE(before);
  auto record = store.load("web1");
  REQUIRE(record);
  CHECK(record->loaded_from == "web1");
  CHECK(store.save(*record));
  record->name = "web2";
  auto saved = store.save(*record);
  REQUIRE_FALSE(saved);
  CHECK_THAT(saved.error().message, Catch::Contains("refusing to save the record of machine"));
  CHECK(*dm::read_file(store.machine_dir("web2") / "config.json") == *before);
  record->name = "../web2";
  CHECK_FALSE(store.save(*record));
}

TEST_CASE("the store path is made absolute and resolved", "[machine_store]") {
  TempDir dir;
  fs::create_directories(dir.path() / "a" / "store");
  fs::create_directories(dir.path() / "b");
  fs::create_directory_symlink(dir.path() / "a", dir.path() / "link");
  const fs::path saved_cwd = fs::current_path();
  fs::current_path(dir.path() / "a");
  auto from_a = dm::resolve_store_path("store");
  fs::current_path(dir.path() / "b");
  auto from_b = dm::resolve_store_path("store");
  auto through_link = dm::resolve_store_path(dir.path() / "link" / ".." / "a" / "store");
  auto via_symlink = dm::resolve_store_path(dir.path() / "link" / "store");
  dm::MachineStore relative("relative-store");
  fs::current_path(saved_cwd);
  REQUIRE(from_a);
  REQUIRE(from_b);
  const fs::path real = fs::canonical(dir.path());
  CHECK(*from_a == real / "a" / "store");
  CHECK(*from_b == real / "b" / "store"); // two directories, two stores
  CHECK(from_a->is_absolute());
  REQUIRE(via_symlink);
  CHECK(*via_symlink == *from_a);
  REQUIRE(through_link);
  CHECK(through_link->is_absolute());
  CHECK(relative.root().is_absolute());
  CHECK(relative.root() == dir.path() / "b" / "relative-store");
  CHECK_FALSE(dm::resolve_store_path(""));
}

TEST_CASE("a store that is a file or unreadable says so", "[machine_store]") {
  TempDir dir;
  REQUIRE(dm::write_file_atomic(dir.path() / "file", "x"));
  auto file = dm::MachineStore(dir.path() / "file").check_access();
  REQUIRE_FALSE(file);
  CHECK_THAT(file.error().message, Catch::Contains("not a directory"));
  auto below_file = dm::MachineStore(dir.path() / "file" / "store").check_access();
  REQUIRE_FALSE(below_file);
  CHECK_THAT(below_file.error().message, Catch::Contains("not a directory"));
  CHECK(dm::MachineStore(dir.path() / "missing").check_access());
  dm::MachineStore store(dir.path() / "store");
  REQUIRE(store.ensure_layout());
  CHECK(store.check_access());
  fs::create_directory(dir.path() / "odd");
  REQUIRE(dm::write_file_atomic(dir.path() / "odd" / "machines", "x"));
  auto machines_file = dm::MachineStore(dir.path() / "odd").check_access();
  REQUIRE_FALSE(machines_file);
  CHECK_THAT(machines_file.error().message, Catch::Contains("odd/machines: not a directory"));
  CHECK_FALSE(dm::MachineStore(dir.path() / "odd").list_names());
}
