#include "core/cluster_record.h"

#include "tests/fakes/temp_dir.h"

#include <catch2/catch.hpp>

#include <cstdlib>
#include <filesystem>
#include <sys/stat.h>
#include <unistd.h>

namespace fs = std::filesystem;

using dm::testing::mode_of;
using dm::testing::TempDir;

namespace {


dm::ClusterRecord sample_record(const std::string& name) {
  dm::ClusterRecord record;
  record.name = name;
  record.driver_name = "local";
  record.driver_options.values = {{"local-memory", {"2048"}},
                                  {"local-dns", {"1.1.1.1", "8.8.8.8"}}};
  record.engine.labels = {"env=prod", "provider=local"};
  record.engine.insecure_registry = {"10.213.0.1:5000"};
  record.engine.registry_mirror = {"https://mirror.example"};
  record.engine.storage_driver = "overlay2";
  record.engine.env = {"HTTP_PROXY=http://proxy:3128"};
  record.engine.arbitrary_flags = {"log-level=debug"};
  record.advertise = "eth1";
  record.drain_managers = true;
  record.phase = dm::ClusterPhase::ready;
  record.members = {
      {name + "-manager-1", dm::NodeRole::manager, {{"tier", "control"}}, "abc123nodeid"},
      {name + "-manager-2", dm::NodeRole::manager, {{"tier", "control"}, {"zone", "b"}}, "def456"},
      {name + "-worker-1", dm::NodeRole::worker, {{"tier", "app"}}, "ghi789"},
      {name + "-worker-2", dm::NodeRole::worker, {}, ""},
  };
  return record;
}

// Creates the cluster's directory and saves the record.
void put_cluster(const dm::ClusterStore& clusters, const dm::ClusterRecord& record) {
  REQUIRE(clusters.create(record.name));
  REQUIRE(clusters.save(record));
}

} // namespace

TEST_CASE("a cluster record saves and loads back unchanged", "[cluster]") {
  TempDir temp;
  dm::MachineStore store(temp.path() / "store");
  dm::ClusterStore clusters(store);
  const auto saved = sample_record("prod");
  CHECK_FALSE(clusters.exists("prod"));
  put_cluster(clusters, saved);
  CHECK(clusters.exists("prod"));

  auto loaded = clusters.load("prod");
  REQUIRE(loaded);
  CHECK(loaded->name == "prod");
  CHECK(loaded->driver_name == "local");
  CHECK(loaded->driver_options.values == saved.driver_options.values);
  CHECK(loaded->engine.labels == std::vector<std::string>{"env=prod", "provider=local"});
  CHECK(loaded->engine.insecure_registry == std::vector<std::string>{"10.213.0.1:5000"});
  CHECK(loaded->engine.registry_mirror == std::vector<std::string>{"https://mirror.example"});
  CHECK(loaded->engine.storage_driver == "overlay2");
  CHECK(loaded->engine.env == std::vector<std::string>{"HTTP_PROXY=http://proxy:3128"});
  CHECK(loaded->engine.arbitrary_flags == std::vector<std::string>{"log-level=debug"});
  CHECK(loaded->advertise == "eth1");
  CHECK(loaded->drain_managers);
  CHECK(loaded->phase == dm::ClusterPhase::ready);

  REQUIRE(loaded->members.size() == 4);
  for (size_t i = 0; i < saved.members.size(); ++i) {
    CHECK(loaded->members[i].machine == saved.members[i].machine);
    CHECK(loaded->members[i].role == saved.members[i].role);
    CHECK(loaded->members[i].labels == saved.members[i].labels);
    CHECK(loaded->members[i].node_id == saved.members[i].node_id);
  }
  CHECK(loaded->members[1].labels == dm::NodeLabels{{"tier", "control"}, {"zone", "b"}});
  CHECK(loaded->members[2].role == dm::NodeRole::worker);
  CHECK(loaded->members[3].node_id.empty());

  // The same text again: rendering is stable.
  CHECK(dm::render_cluster_record(*loaded) == dm::render_cluster_record(saved));
}

TEST_CASE("a cluster record keeps the creating phase and defaults", "[cluster]") {
  TempDir temp;
  dm::MachineStore store(temp.path());
  dm::ClusterStore clusters(store);
  dm::ClusterRecord record;
  record.name = "fresh";
  record.driver_name = "generic";
  record.members = {{"fresh-manager-1", dm::NodeRole::manager, {}, ""}};
  put_cluster(clusters, record);

  auto loaded = clusters.load("fresh");
  REQUIRE(loaded);
  CHECK(loaded->phase == dm::ClusterPhase::creating);
  CHECK(loaded->advertise.empty());
  CHECK_FALSE(loaded->drain_managers);
  CHECK(loaded->driver_options.values.empty());
  REQUIRE(loaded->members.size() == 1);
  CHECK(loaded->members[0].role == dm::NodeRole::manager);
  CHECK(loaded->members[0].labels.empty());

  // A later save replaces the record.
  record.phase = dm::ClusterPhase::ready;
  record.members[0].node_id = "n1";
  REQUIRE(clusters.save(record));
  auto again = clusters.load("fresh");
  REQUIRE(again);
  CHECK(again->phase == dm::ClusterPhase::ready);
  CHECK(again->members[0].node_id == "n1");
}

TEST_CASE("the cluster file is 0600 in a 0700 directory", "[cluster]") {
  TempDir temp;
  dm::MachineStore store(temp.path() / "store");
  dm::ClusterStore clusters(store);
  put_cluster(clusters, sample_record("secure"));

  const fs::path dir = temp.path() / "store" / "clusters" / "secure";
  CHECK(mode_of(dir / "cluster.json") == 0600);
  CHECK(mode_of(dir) == 0700);
  CHECK(mode_of(temp.path() / "store" / "clusters") == 0700);
  CHECK(mode_of(temp.path() / "store" / "machines") == 0700);
  // No temporary files left behind by the atomic write.
  int entries = 0;
  for ([[maybe_unused]] const auto& entry : fs::directory_iterator(dir)) {
    ++entries;
  }
  CHECK(entries == 1);
}

TEST_CASE("create refuses a cluster that exists and an invalid name", "[cluster]") {
  TempDir temp;
  dm::MachineStore store(temp.path());
  dm::ClusterStore clusters(store);
  REQUIRE(clusters.create("one"));
  auto twice = clusters.create("one");
  REQUIRE_FALSE(twice);
  CHECK(twice.error().kind == dm::ErrorKind::already_exists);
  CHECK_THAT(twice.error().message, Catch::Contains("Cluster \"one\" already exists"));

  auto bad = clusters.create("../escape");
  REQUIRE_FALSE(bad);
  CHECK(bad.error().kind == dm::ErrorKind::usage);
  CHECK_FALSE(fs::exists(temp.path() / "escape"));
}

TEST_CASE("list_names sorts case-insensitively and skips what is not a cluster", "[cluster]") {
  TempDir temp;
  dm::MachineStore store(temp.path());
  dm::ClusterStore clusters(store);

  auto empty = clusters.list_names();
  REQUIRE(empty);
  CHECK(empty->empty());

  for (const char* name : {"zeta", "Beta", "alpha", "gamma"}) {
    put_cluster(clusters, sample_record(name));
  }
  // A directory without cluster.json (a create interrupted before its save) is not listed.
  REQUIRE(clusters.create("halfway"));
  CHECK_FALSE(clusters.exists("halfway"));

  auto names = clusters.list_names();
  REQUIRE(names);
  CHECK(*names == std::vector<std::string>{"alpha", "Beta", "gamma", "zeta"});
}

TEST_CASE("remove deletes the cluster", "[cluster]") {
  TempDir temp;
  dm::MachineStore store(temp.path());
  dm::ClusterStore clusters(store);
  put_cluster(clusters, sample_record("keep"));
  put_cluster(clusters, sample_record("drop"));

  REQUIRE(clusters.remove("drop"));
  CHECK_FALSE(clusters.exists("drop"));
  CHECK_FALSE(fs::exists(temp.path() / "clusters" / "drop"));
  CHECK(clusters.list_names().value() == std::vector<std::string>{"keep"});
  auto gone = clusters.load("drop");
  REQUIRE_FALSE(gone);
  CHECK(gone.error().kind == dm::ErrorKind::not_found);
  CHECK(clusters.load("keep"));
}

TEST_CASE("loading a missing cluster is not_found", "[cluster]") {
  TempDir temp;
  dm::MachineStore store(temp.path());
  dm::ClusterStore clusters(store);
  auto missing = clusters.load("nope");
  REQUIRE_FALSE(missing);
  CHECK(missing.error().kind == dm::ErrorKind::not_found);
  CHECK(missing.error().message == dm::cluster_not_found_message("nope"));
  CHECK_THAT(missing.error().message, Catch::StartsWith("Cluster \"nope\" does not exist."));

  auto invalid = clusters.load("../machines");
  REQUIRE_FALSE(invalid);
  CHECK(invalid.error().kind == dm::ErrorKind::not_found);
}

TEST_CASE("a corrupt cluster.json is a clear error", "[cluster]") {
  TempDir temp;
  dm::MachineStore store(temp.path());
  dm::ClusterStore clusters(store);
  REQUIRE(clusters.create("broken"));
  const fs::path file = temp.path() / "clusters" / "broken" / "cluster.json";

  SECTION("not JSON") {
    REQUIRE(dm::write_file_atomic(file, "{\"Name\": \"broken\", "));
    auto loaded = clusters.load("broken");
    REQUIRE_FALSE(loaded);
    CHECK(loaded.error().kind == dm::ErrorKind::generic);
    CHECK_THAT(loaded.error().message, Catch::StartsWith("cluster \"broken\": "));
    CHECK_THAT(loaded.error().message, Catch::Contains("cluster.json is not valid JSON"));
  }
  SECTION("empty") {
    REQUIRE(dm::write_file_atomic(file, ""));
    auto loaded = clusters.load("broken");
    REQUIRE_FALSE(loaded);
    CHECK_THAT(loaded.error().message, Catch::Contains("not valid JSON"));
  }
  SECTION("not an object") {
    REQUIRE(dm::write_file_atomic(file, "[1, 2]"));
    auto loaded = clusters.load("broken");
    REQUIRE_FALSE(loaded);
    CHECK_THAT(loaded.error().message, Catch::Contains("expected an object"));
  }
  SECTION("a key of the wrong type") {
    REQUIRE(dm::write_file_atomic(file, R"({"Name": 7, "DriverName": "local", "Members": []})"));
    auto loaded = clusters.load("broken");
    REQUIRE_FALSE(loaded);
    CHECK_THAT(loaded.error().message, Catch::Contains("\"Name\" is not a string"));
  }
  SECTION("members missing") {
    REQUIRE(dm::write_file_atomic(file, R"({"Name": "broken", "DriverName": "local"})"));
    auto loaded = clusters.load("broken");
    REQUIRE_FALSE(loaded);
    CHECK_THAT(loaded.error().message, Catch::Contains("\"Members\" is missing or not a list"));
  }
  SECTION("a member with a bad role") {
    REQUIRE(dm::write_file_atomic(file, R"({"Name": "broken", "DriverName": "local",
                  "Members": [{"Machine": "broken-1", "Role": "boss"}]})"));
    auto loaded = clusters.load("broken");
    REQUIRE_FALSE(loaded);
    CHECK_THAT(loaded.error().message, Catch::Contains("member \"broken-1\""));
    CHECK_THAT(loaded.error().message, Catch::Contains("unknown role \"boss\""));
  }
  SECTION("a member that is not an object") {
    REQUIRE(dm::write_file_atomic(
        file, R"({"Name": "broken", "DriverName": "local", "Members": ["broken-1"]})"));
    auto loaded = clusters.load("broken");
    REQUIRE_FALSE(loaded);
    CHECK_THAT(loaded.error().message, Catch::Contains("a member is not an object"));
  }
}

TEST_CASE("parse_cluster_record reads a minimal document", "[cluster]") {
  auto record = dm::parse_cluster_record(
      R"({"Name": "m", "DriverName": "generic",
          "Members": [{"Machine": "m-manager-1", "Role": "manager", "NodeID": "x1",
                       "Labels": {"a": "1", "n": 2}}]})");
  REQUIRE(record);
  CHECK(record->name == "m");
  CHECK(record->driver_name == "generic");
  CHECK(record->phase == dm::ClusterPhase::creating);
  REQUIRE(record->members.size() == 1);
  CHECK(record->members[0].node_id == "x1");
  CHECK(record->members[0].labels == dm::NodeLabels{{"a", "1"}}); // non-string values skipped
}

TEST_CASE("with_role and find", "[cluster]") {
  const auto record = sample_record("r");

  auto managers = record.with_role(dm::NodeRole::manager);
  REQUIRE(managers.size() == 2);
  CHECK(managers[0]->machine == "r-manager-1");
  CHECK(managers[1]->machine == "r-manager-2");
  CHECK(managers[0] == &record.members[0]); // pointers into the record

  auto workers = record.with_role(dm::NodeRole::worker);
  REQUIRE(workers.size() == 2);
  CHECK(workers[0]->machine == "r-worker-1");
  CHECK(workers[1]->machine == "r-worker-2");

  const auto* found = record.find("r-worker-1");
  REQUIRE(found != nullptr);
  CHECK(found == &record.members[2]);
  CHECK(found->node_id == "ghi789");
  CHECK(record.find("r-worker-9") == nullptr);
  CHECK(record.find("") == nullptr);

  dm::ClusterRecord empty;
  CHECK(empty.with_role(dm::NodeRole::manager).empty());
  CHECK(empty.find("x") == nullptr);
}

TEST_CASE("a cluster record keeps its ID; old records have none", "[cluster]") {
  auto record = sample_record("prod");
  record.id = dm::new_cluster_id();
  CHECK(record.id.size() == 16);
  CHECK(record.id.find_first_not_of("0123456789abcdef") == std::string::npos);
  CHECK(dm::new_cluster_id() != record.id);
  auto parsed = dm::parse_cluster_record(dm::render_cluster_record(record));
  REQUIRE(parsed);
  CHECK(parsed->id == record.id);
  auto old = dm::parse_cluster_record(R"({"Name": "x", "DriverName": "local", "Members": []})");
  REQUIRE(old);
  CHECK(old->id.empty());
}

TEST_CASE("a cluster removes only the machines it made", "[cluster]") {
  auto record = sample_record("prod");
  record.id = "0123456789abcdef";
  dm::MachineRecord made = dm::new_machine_record("prod-worker-1", "local", "/s");
  const auto keys = dm::owner_keys(record);
  for (const auto& [key, value] : keys.items()) {
    made.extra[key] = value;
  }
  CHECK(dm::machine_owner(made) == "cluster/prod/0123456789abcdef");
  CHECK(dm::made_by(made, record));
  // The tag survives the record's round trip through config.json.
  auto reread = dm::parse_machine_record(dm::render_machine_record(made));
  REQUIRE(reread);
  CHECK(dm::made_by(*reread, record));

  // A machine of the same name made by hand, or by another cluster of the same name.
  dm::MachineRecord by_hand = dm::new_machine_record("prod-worker-1", "local", "/s");
  CHECK_FALSE(dm::made_by(by_hand, record));
  auto other = record;
  other.id = "fedcba9876543210";
  CHECK_FALSE(dm::made_by(made, other));
  dm::MachineRecord wrong_type = by_hand;
  wrong_type.extra["DmachineOwner"] = 42;
  CHECK(dm::machine_owner(wrong_type).empty());

  // A cluster made before tags (no ID) owns the untagged machines only.
  auto legacy = record;
  legacy.id.clear();
  CHECK(dm::made_by(by_hand, legacy));
  CHECK_FALSE(dm::made_by(made, legacy));
}

TEST_CASE("clusters_with_only_manager names the clusters a machine is the only manager of",
          "[cluster]") {
  TempDir temp;
  dm::MachineStore store(temp.path() / "store");
  dm::ClusterStore clusters(store);
  auto one = sample_record("one");
  one.members = {{"m1", dm::NodeRole::manager, {}, ""}, {"w1", dm::NodeRole::worker, {}, ""}};
  auto two = sample_record("two");
  two.members = {{"m1", dm::NodeRole::manager, {}, ""}, {"m2", dm::NodeRole::manager, {}, ""}};
  put_cluster(clusters, one);
  put_cluster(clusters, two);
  CHECK(dm::clusters_with_only_manager(clusters, "m1") == std::vector<std::string>{"one"});
  CHECK(dm::clusters_with_only_manager(clusters, "w1").empty());
  CHECK(dm::clusters_with_only_manager(clusters, "m2").empty());
}
