#include "core/cluster_spec.h"
#include "core/machine_store.h"

#include <catch2/catch.hpp>

#include <filesystem>
#include <string>
#include <vector>

namespace fs = std::filesystem;

namespace {

std::vector<std::string> names_of(const std::vector<dm::NodeSpec>& nodes) {
  std::vector<std::string> names;
  for (const auto& node : nodes) {
    names.push_back(node.name);
  }
  return names;
}

// The error message of a parse that must fail.
std::string parse_error(const std::string& yaml, const std::string& name = "") {
  auto spec = dm::parse_cluster_file(yaml, name);
  REQUIRE_FALSE(spec);
  CHECK(spec.error().kind == dm::ErrorKind::usage);
  return spec.error().message;
}

// Two managers and one worker, for tests that need a valid spec to break.
dm::ClusterSpec small_spec() {
  dm::ClusterSpec spec;
  spec.name = "demo";
  spec.driver_name = "local";
  spec.nodes = dm::numbered_nodes("demo", dm::NodeRole::manager, 2, 1, {});
  auto workers = dm::numbered_nodes("demo", dm::NodeRole::worker, 1, 1, {});
  spec.nodes.insert(spec.nodes.end(), workers.begin(), workers.end());
  return spec;
}

const char* const k_full_file = R"(
name: prod
driver: local
driver_options:
  local-memory: 2048
  local-dns: [1.1.1.1, 8.8.8.8]
engine:
  opt: [log-level=debug]
  insecure_registry: [10.213.0.1:5000]
  registry_mirror: https://mirror.example
  label: [env=prod, team=core]
  storage_driver: overlay2
  env: [HTTP_PROXY=http://proxy:3128]
  install_url: https://get.example/install.sh
advertise: eth1
drain_managers: yes
groups:
  - role: worker
    count: 2
    labels: {tier: app}
  - role: manager
    names:
      - cp-a
      - name: cp-b
        driver_options:
          local-memory: 4096
          local-cpus: [4]
    labels: {tier: control, zone: a}
  - role: managers
    count: 1
)";

} // namespace

TEST_CASE("role names and parse_role", "[cluster]") {
  CHECK(dm::role_name(dm::NodeRole::manager) == "manager");
  CHECK(dm::role_name(dm::NodeRole::worker) == "worker");
  CHECK(dm::parse_role("manager").value() == dm::NodeRole::manager);
  CHECK(dm::parse_role("managers").value() == dm::NodeRole::manager);
  CHECK(dm::parse_role("worker").value() == dm::NodeRole::worker);
  CHECK(dm::parse_role("workers").value() == dm::NodeRole::worker);
  auto bad = dm::parse_role("leader");
  REQUIRE_FALSE(bad);
  CHECK(bad.error().kind == dm::ErrorKind::usage);
  CHECK_THAT(bad.error().message, Catch::Contains("unknown role \"leader\""));
}

TEST_CASE("the example cluster file parses", "[cluster]") {
  auto text = dm::read_file(fs::path(DM_FIXTURES_DIR).parent_path().parent_path() /
                            "examples/cluster-3m2w.yml");
  REQUIRE(text);
  auto spec = dm::parse_cluster_file(*text);
  REQUIRE(spec);
  CHECK(spec->name == "demo");
  CHECK(spec->driver_name == "local");
  REQUIRE(spec->driver_options.values.size() == 1);
  CHECK(spec->driver_options.values.at("local-memory") == std::vector<std::string>{"1024"});
  CHECK(spec->engine.labels == std::vector<std::string>{"env=demo"});
  CHECK(spec->engine.insecure_registry.empty()); // commented out in the example
  CHECK(spec->advertise.empty());                // "ip" means each machine's IP
  CHECK_FALSE(spec->drain_managers);
  CHECK(names_of(spec->nodes) == std::vector<std::string>{"demo-manager-1", "demo-manager-2",
                                                          "demo-manager-3", "demo-worker-1",
                                                          "demo-worker-2"});
  for (size_t i = 0; i < spec->nodes.size(); ++i) {
    const auto& node = spec->nodes[i];
    CHECK(node.role == (i < 3 ? dm::NodeRole::manager : dm::NodeRole::worker));
    CHECK(node.labels == dm::NodeLabels{{"tier", i < 3 ? "control" : "app"}});
    CHECK(node.driver_options.values.empty());
  }
  CHECK(dm::validate_cluster_spec(*spec));
}

TEST_CASE("a cluster file with every key parses", "[cluster]") {
  auto spec = dm::parse_cluster_file(k_full_file);
  REQUIRE(spec);
  CHECK(spec->name == "prod");
  CHECK(spec->driver_name == "local");
  CHECK(spec->driver_options.values ==
        std::map<std::string, std::vector<std::string>>{{"local-memory", {"2048"}},
                                                        {"local-dns", {"1.1.1.1", "8.8.8.8"}}});

  CHECK(spec->engine.arbitrary_flags == std::vector<std::string>{"log-level=debug"});
  CHECK(spec->engine.insecure_registry == std::vector<std::string>{"10.213.0.1:5000"});
  CHECK(spec->engine.registry_mirror == std::vector<std::string>{"https://mirror.example"});
  CHECK(spec->engine.labels == std::vector<std::string>{"env=prod", "team=core"});
  CHECK(spec->engine.storage_driver == "overlay2");
  CHECK(spec->engine.env == std::vector<std::string>{"HTTP_PROXY=http://proxy:3128"});
  CHECK(spec->engine.install_url == "https://get.example/install.sh");

  CHECK(spec->advertise == "eth1");
  CHECK(spec->drain_managers);

  // Managers first, whatever the order of the groups; numbering is per role.
  REQUIRE(names_of(spec->nodes) == std::vector<std::string>{"cp-a", "cp-b", "prod-manager-1",
                                                            "prod-worker-1", "prod-worker-2"});
  const auto& cp_a = spec->nodes[0];
  CHECK(cp_a.role == dm::NodeRole::manager);
  CHECK(cp_a.labels == dm::NodeLabels{{"tier", "control"}, {"zone", "a"}});
  CHECK(cp_a.driver_options.values.empty());

  const auto& cp_b = spec->nodes[1];
  CHECK(cp_b.role == dm::NodeRole::manager);
  CHECK(cp_b.labels == dm::NodeLabels{{"tier", "control"}, {"zone", "a"}});
  CHECK(cp_b.driver_options.values == std::map<std::string, std::vector<std::string>>{
                                          {"local-memory", {"4096"}}, {"local-cpus", {"4"}}});

  CHECK(spec->nodes[2].role == dm::NodeRole::manager);
  CHECK(spec->nodes[2].labels.empty());
  CHECK(spec->nodes[3].role == dm::NodeRole::worker);
  CHECK(spec->nodes[3].labels == dm::NodeLabels{{"tier", "app"}});
  CHECK(spec->nodes[4].role == dm::NodeRole::worker);

  CHECK(dm::validate_cluster_spec(*spec));
}

TEST_CASE("optional keys of a cluster file may be left out", "[cluster]") {
  auto spec = dm::parse_cluster_file("groups:\n  - role: manager\n    count: 1\n", "mini");
  REQUIRE(spec);
  CHECK(spec->name == "mini");
  CHECK(spec->driver_name.empty());
  CHECK(spec->driver_options.values.empty());
  CHECK(spec->engine.labels.empty());
  CHECK(spec->engine.insecure_registry.empty());
  CHECK(spec->engine.storage_driver.empty());
  CHECK(spec->advertise.empty());
  CHECK_FALSE(spec->drain_managers);
  REQUIRE(spec->nodes.size() == 1);
  CHECK(spec->nodes[0].name == "mini-manager-1");
  CHECK(spec->nodes[0].role == dm::NodeRole::manager);
  CHECK(spec->nodes[0].labels.empty());

  auto empty_engine = dm::parse_cluster_file(
      "name: e\nengine:\ndriver_options:\ngroups:\n  - {role: manager, count: 1}\n");
  REQUIRE(empty_engine);
  CHECK(empty_engine->engine.labels.empty());
  CHECK(empty_engine->driver_options.values.empty());
}

TEST_CASE("advertise keeps an address or interface, \"ip\" means the default", "[cluster]") {
  const std::string groups = "groups:\n  - {role: manager, count: 1}\n";
  auto ip = dm::parse_cluster_file("name: a\nadvertise: ip\n" + groups);
  REQUIRE(ip);
  CHECK(ip->advertise.empty());
  auto address = dm::parse_cluster_file("name: a\nadvertise: 10.0.0.5:2377\n" + groups);
  REQUIRE(address);
  CHECK(address->advertise == "10.0.0.5:2377");
}

TEST_CASE("drain_managers takes true/false/yes/no only", "[cluster]") {
  const std::string groups = "groups:\n  - {role: manager, count: 1}\n";
  CHECK(dm::parse_cluster_file("name: a\ndrain_managers: true\n" + groups).value().drain_managers);
  CHECK_FALSE(
      dm::parse_cluster_file("name: a\ndrain_managers: no\n" + groups).value().drain_managers);
  CHECK_THAT(parse_error("name: a\ndrain_managers: maybe\n" + groups),
             Catch::Contains("drain_managers") && Catch::Contains("\"maybe\""));
}

TEST_CASE("unknown keys in a cluster file are errors that name the key", "[cluster]") {
  SECTION("top level") {
    auto message = parse_error("name: a\ndrvier: local\ngroups:\n  - {role: manager, count: 1}\n");
    CHECK_THAT(message, Catch::Contains("unknown key \"drvier\""));
    CHECK_THAT(message, Catch::Contains("cluster file"));
    CHECK_THAT(message, Catch::Contains("driver")); // the list of known keys
  }
  SECTION("in a group") {
    auto message = parse_error("name: a\ngroups:\n  - {role: manager, count: 1}\n"
                               "  - {role: worker, cuont: 2}\n");
    CHECK_THAT(message, Catch::Contains("unknown key \"cuont\""));
    CHECK_THAT(message, Catch::Contains("groups[1]"));
  }
  SECTION("in engine") {
    auto message = parse_error("name: a\nengine:\n  labels: [x=y]\n"
                               "groups:\n  - {role: manager, count: 1}\n");
    CHECK_THAT(message, Catch::Contains("unknown key \"labels\""));
    CHECK_THAT(message, Catch::StartsWith("engine"));
  }
  SECTION("in a names item") {
    auto message = parse_error("name: a\ngroups:\n  - role: manager\n    names:\n"
                               "      - n1\n      - {name: n2, driver_option: {x: y}}\n");
    CHECK_THAT(message, Catch::Contains("unknown key \"driver_option\""));
    CHECK_THAT(message, Catch::Contains("groups[0].names[1]"));
  }
}

TEST_CASE("a names item is a name or {name, driver_options}", "[cluster]") {
  auto message = parse_error("name: a\ngroups:\n  - role: manager\n    names:\n"
                             "      - {driver_options: {local-cpus: 2}}\n");
  CHECK(message == "groups[0].names[0].name is missing");
  CHECK_THAT(parse_error("name: a\ngroups:\n  - role: manager\n    names:\n      - [x]\n"),
             Catch::Contains("groups[0].names[0]: expected a name"));
}

TEST_CASE("a group gives count or names, not both", "[cluster]") {
  CHECK_THAT(parse_error("name: a\ngroups:\n  - {role: manager, count: 1, names: [x]}\n"),
             Catch::Contains("give count or names, not both"));
  CHECK_THAT(parse_error("name: a\ngroups:\n  - {role: manager}\n"),
             Catch::Contains("give count: N or names: [...]"));
  CHECK_THAT(parse_error("name: a\ngroups:\n  - {count: 1}\n"), Catch::Contains("role is missing"));
  CHECK_THAT(parse_error("name: a\ngroups:\n  - {role: boss, count: 1}\n"),
             Catch::Contains("groups[0].role") && Catch::Contains("unknown role \"boss\""));
}

TEST_CASE("a group count is a number from 0 to 100", "[cluster]") {
  auto with_count = [](const std::string& count) {
    return "name: a\ngroups:\n  - role: manager\n    count: " + count + "\n";
  };
  CHECK_THAT(parse_error(with_count("-1")),
             Catch::Contains("groups[0].count") && Catch::Contains("got \"-1\""));
  CHECK_THAT(parse_error(with_count("three")), Catch::Contains("got \"three\""));
  CHECK_THAT(parse_error(with_count("2x")), Catch::Contains("got \"2x\""));
  CHECK_THAT(parse_error(with_count("1.5")), Catch::Contains("got \"1.5\""));
  CHECK_THAT(parse_error(with_count("101")), Catch::Contains("from 0 to 100"));
  CHECK_THAT(parse_error(with_count("99999999999999")), Catch::Contains("from 0 to 100"));
  CHECK_THAT(parse_error(with_count("[1, 2]")), Catch::Contains("expected a single value"));

  auto hundred = dm::parse_cluster_file(with_count("100"));
  REQUIRE(hundred);
  CHECK(hundred->nodes.size() == 100);
  CHECK(hundred->nodes.back().name == "a-manager-100");
  auto zero = dm::parse_cluster_file(with_count("0"));
  REQUIRE(zero);
  CHECK(zero->nodes.empty());
}

TEST_CASE("the cluster name from the file and the command line must agree", "[cluster]") {
  const std::string file = "name: demo\ngroups:\n  - {role: manager, count: 1}\n";
  auto conflict = parse_error(file, "other");
  CHECK_THAT(conflict, Catch::Contains("\"demo\"") && Catch::Contains("\"other\""));

  auto same = dm::parse_cluster_file(file, "demo");
  REQUIRE(same);
  CHECK(same->name == "demo");

  auto only_given = dm::parse_cluster_file("groups:\n  - {role: manager, count: 2}\n", "given");
  REQUIRE(only_given);
  CHECK(only_given->name == "given");
  CHECK(names_of(only_given->nodes) ==
        std::vector<std::string>{"given-manager-1", "given-manager-2"});
}

TEST_CASE("a cluster file that is not valid YAML or has the wrong shape is an error", "[cluster]") {
  CHECK_THAT(parse_error("name: [unclosed\ngroups: {"), Catch::StartsWith("not valid YAML"));
  CHECK_THAT(parse_error("- just\n- a list\n"), Catch::Contains("expected a map at the top"));
  CHECK_THAT(parse_error(""), Catch::Contains("expected a map at the top"));
  CHECK_THAT(parse_error("name: a\n"), Catch::Contains("groups: expected a list"));
  CHECK_THAT(parse_error("name: a\ngroups: []\n"), Catch::Contains("groups: expected a list"));
  CHECK_THAT(parse_error("name: a\ngroups:\n  - manager\n"), Catch::Contains("groups[0]"));
  CHECK_THAT(parse_error("name: a\ndriver_options: [x]\ngroups:\n  - {role: manager, count: 1}\n"),
             Catch::Contains("driver_options: expected a map"));
  CHECK_THAT(parse_error("name: a\ngroups:\n  - {role: manager, count: 1, labels: [x]}\n"),
             Catch::Contains("groups[0].labels: expected a map"));
  CHECK_THAT(parse_error("name: [a, b]\ngroups:\n  - {role: manager, count: 1}\n"),
             Catch::Contains("name: expected a single value"));
}

TEST_CASE("numbered_nodes names <cluster>-<role>-<i> from the first number", "[cluster]") {
  auto managers = dm::numbered_nodes("web", dm::NodeRole::manager, 3, 1, {{"tier", "control"}});
  REQUIRE(names_of(managers) ==
          std::vector<std::string>{"web-manager-1", "web-manager-2", "web-manager-3"});
  for (const auto& node : managers) {
    CHECK(node.role == dm::NodeRole::manager);
    CHECK(node.labels == dm::NodeLabels{{"tier", "control"}});
    CHECK(node.driver_options.values.empty());
  }

  auto workers = dm::numbered_nodes("web", dm::NodeRole::worker, 2, 4, {});
  CHECK(names_of(workers) == std::vector<std::string>{"web-worker-4", "web-worker-5"});
  CHECK(workers[0].role == dm::NodeRole::worker);
  CHECK(workers[0].labels.empty());

  CHECK(dm::numbered_nodes("web", dm::NodeRole::worker, 0, 1, {}).empty());
}

TEST_CASE("numbering continues across groups of the same role", "[cluster]") {
  auto spec = dm::parse_cluster_file("name: c\ngroups:\n"
                                     "  - {role: worker, count: 2, labels: {size: small}}\n"
                                     "  - {role: manager, count: 1}\n"
                                     "  - {role: worker, count: 1, labels: {size: big}}\n"
                                     "  - {role: manager, count: 2}\n");
  REQUIRE(spec);
  REQUIRE(names_of(spec->nodes) == std::vector<std::string>{"c-manager-1", "c-manager-2",
                                                            "c-manager-3", "c-worker-1",
                                                            "c-worker-2", "c-worker-3"});
  CHECK(spec->nodes[3].labels == dm::NodeLabels{{"size", "small"}});
  CHECK(spec->nodes[4].labels == dm::NodeLabels{{"size", "small"}});
  CHECK(spec->nodes[5].labels == dm::NodeLabels{{"size", "big"}});
}

TEST_CASE("validate_cluster_spec accepts a good spec", "[cluster]") {
  CHECK(dm::validate_cluster_spec(small_spec()));
}

TEST_CASE("validate_cluster_spec rejects bad specs", "[cluster]") {
  auto spec = small_spec();
  auto rejected = [](const dm::ClusterSpec& bad) {
    auto result = dm::validate_cluster_spec(bad);
    REQUIRE_FALSE(result);
    CHECK(result.error().kind == dm::ErrorKind::usage);
    return result.error().message;
  };

  SECTION("no name") {
    spec.name = "";
    CHECK_THAT(rejected(spec), Catch::Contains("No cluster name"));
  }
  SECTION("an invalid cluster name") {
    spec.name = "my_cluster";
    CHECK_THAT(rejected(spec), Catch::Contains("Invalid cluster name \"my_cluster\""));
    spec.name = "-dash";
    CHECK_THAT(rejected(spec), Catch::Contains("Invalid cluster name \"-dash\""));
  }
  SECTION("an invalid node name") {
    spec.nodes[2].name = "bad/name";
    CHECK_THAT(rejected(spec), Catch::Contains("Invalid node name \"bad/name\""));
  }
  SECTION("a node listed twice") {
    spec.nodes[2].name = "demo-manager-1";
    CHECK_THAT(rejected(spec), Catch::Contains("node \"demo-manager-1\" is listed twice"));
  }
  SECTION("no manager") {
    spec.nodes = dm::numbered_nodes("demo", dm::NodeRole::worker, 3, 1, {});
    CHECK_THAT(rejected(spec), Catch::Contains("at least one manager"));
  }
  SECTION("no nodes at all") {
    spec.nodes.clear();
    CHECK_THAT(rejected(spec), Catch::Contains("at least one manager"));
  }
  SECTION("more than 100 nodes") {
    spec.nodes = dm::numbered_nodes("demo", dm::NodeRole::manager, 3, 1, {});
    auto workers = dm::numbered_nodes("demo", dm::NodeRole::worker, 98, 1, {});
    spec.nodes.insert(spec.nodes.end(), workers.begin(), workers.end());
    CHECK_THAT(rejected(spec), Catch::Contains("at most 100 nodes"));
  }
}

TEST_CASE("validate_cluster_spec catches a listed name that clashes with a numbered one",
          "[cluster]") {
  auto spec = dm::parse_cluster_file("name: d\ngroups:\n  - {role: manager, count: 2}\n"
                                     "  - {role: worker, names: [d-manager-2]}\n");
  REQUIRE(spec); // parsing does not check names; validation does
  auto valid = dm::validate_cluster_spec(*spec);
  REQUIRE_FALSE(valid);
  CHECK_THAT(valid.error().message, Catch::Contains("\"d-manager-2\" is listed twice"));
}

TEST_CASE("Raft quorum and failures tolerated", "[cluster]") {
  CHECK(dm::quorum_size(1) == 1);
  CHECK(dm::quorum_size(2) == 2);
  CHECK(dm::quorum_size(3) == 2);
  CHECK(dm::quorum_size(4) == 3);
  CHECK(dm::quorum_size(5) == 3);
  CHECK(dm::quorum_size(7) == 4);

  CHECK(dm::failures_tolerated(0) == 0);
  CHECK(dm::failures_tolerated(1) == 0);
  CHECK(dm::failures_tolerated(2) == 0);
  CHECK(dm::failures_tolerated(3) == 1);
  CHECK(dm::failures_tolerated(4) == 1);
  CHECK(dm::failures_tolerated(5) == 2);
  CHECK(dm::failures_tolerated(6) == 2);
  CHECK(dm::failures_tolerated(7) == 3);
  // Losing more than failures_tolerated managers loses the quorum.
  for (int managers = 1; managers <= 9; ++managers) {
    CHECK(managers - dm::failures_tolerated(managers) >= dm::quorum_size(managers));
    CHECK(managers - dm::failures_tolerated(managers) - 1 < dm::quorum_size(managers));
  }
}

TEST_CASE("quorum_warning for even and large manager counts", "[cluster]") {
  CHECK(dm::quorum_warning(0).empty());
  CHECK(dm::quorum_warning(1).empty());
  CHECK(dm::quorum_warning(3).empty());
  CHECK(dm::quorum_warning(5).empty());
  CHECK(dm::quorum_warning(7).empty());

  auto two = dm::quorum_warning(2);
  CHECK_THAT(two, Catch::Contains("even number of managers (2)"));
  CHECK_THAT(two, Catch::Contains("majority (2)"));
  CHECK_THAT(two, Catch::Contains("tolerate 0 failure(s)"));
  auto four = dm::quorum_warning(4);
  CHECK_THAT(four, Catch::Contains("even number of managers (4)"));
  CHECK_THAT(four, Catch::Contains("majority (3)"));
  CHECK_THAT(four, Catch::Contains("tolerate 1 failure(s), no more than 3 would"));

  auto nine = dm::quorum_warning(9);
  CHECK_FALSE(nine.empty());
  CHECK_THAT(nine, Catch::Contains("9 managers"));
  CHECK_THAT(nine, Catch::Contains("at most 7"));
  CHECK_THAT(nine, Catch::Contains("tolerate 4 failures"));
  CHECK_THAT(dm::quorum_warning(8), Catch::Contains("at most 7"));
}

TEST_CASE("plan_cluster: the first manager inits, the other managers and workers join",
          "[cluster]") {
  auto spec = dm::parse_cluster_file("name: p\ngroups:\n  - {role: worker, count: 2}\n"
                                     "  - {role: manager, count: 3}\n");
  REQUIRE(spec);
  auto plan = dm::plan_cluster(spec->nodes);
  CHECK(plan.init_node == "p-manager-1");
  CHECK(plan.manager_joins == std::vector<std::string>{"p-manager-2", "p-manager-3"});
  CHECK(plan.worker_joins == std::vector<std::string>{"p-worker-1", "p-worker-2"});
}

TEST_CASE("plan_cluster follows the order of the nodes it is given", "[cluster]") {
  std::vector<dm::NodeSpec> nodes = {
      {"w1", dm::NodeRole::worker, {}, {}},
      {"m1", dm::NodeRole::manager, {}, {}},
      {"w2", dm::NodeRole::worker, {}, {}},
      {"m2", dm::NodeRole::manager, {}, {}},
  };
  auto plan = dm::plan_cluster(nodes);
  CHECK(plan.init_node == "m1");
  CHECK(plan.manager_joins == std::vector<std::string>{"m2"});
  CHECK(plan.worker_joins == std::vector<std::string>{"w1", "w2"});

  auto single = dm::plan_cluster({{"only", dm::NodeRole::manager, {}, {}}});
  CHECK(single.init_node == "only");
  CHECK(single.manager_joins.empty());
  CHECK(single.worker_joins.empty());

  auto none = dm::plan_cluster({});
  CHECK(none.init_node.empty());
  CHECK(none.manager_joins.empty());
  CHECK(none.worker_joins.empty());
}

namespace {

// A driver table row with one flag of each type.
dm::DriverEntry test_driver() {
  dm::DriverEntry driver;
  driver.name = "local";
  driver.flags = {{"local-image", "", "debian-docker", "LOCAL_IMAGE", dm::FlagType::string},
                  {"local-memory", "", "0", "LOCAL_MEMORY", dm::FlagType::integer},
                  {"local-dns", "", "", "", dm::FlagType::string_list},
                  {"local-quiet", "", "", "", dm::FlagType::boolean}};
  return driver;
}

} // namespace

TEST_CASE("set_role_count keeps the file's nodes up to the count and numbers more", "[cluster]") {
  auto spec = dm::parse_cluster_file(k_full_file);
  REQUIRE(spec);
  // Managers cp-a, cp-b, prod-manager-1; workers prod-worker-1..2.
  dm::set_role_count(*spec, dm::NodeRole::manager, 1);
  CHECK(names_of(spec->nodes) ==
        std::vector<std::string>{"cp-a", "prod-worker-1", "prod-worker-2"});
  dm::set_role_count(*spec, dm::NodeRole::worker, 4);
  CHECK(names_of(spec->nodes) == std::vector<std::string>{"cp-a", "prod-worker-1", "prod-worker-2",
                                                          "prod-worker-3", "prod-worker-4"});
  CHECK(spec->nodes.back().labels == dm::NodeLabels{{"tier", "app"}});
  dm::set_role_count(*spec, dm::NodeRole::manager, 3);
  CHECK(names_of(spec->nodes) ==
        std::vector<std::string>{"cp-a", "prod-manager-1", "prod-manager-2", "prod-worker-1",
                                 "prod-worker-2", "prod-worker-3", "prod-worker-4"});
  CHECK(spec->nodes[1].labels == dm::NodeLabels{{"tier", "control"}, {"zone", "a"}});
  dm::set_role_count(*spec, dm::NodeRole::worker, 0);
  CHECK(names_of(spec->nodes) ==
        std::vector<std::string>{"cp-a", "prod-manager-1", "prod-manager-2"});
  REQUIRE(dm::validate_cluster_spec(*spec));

  // With no file: numbered from 1, managers first.
  dm::ClusterSpec plain;
  plain.name = "c";
  dm::set_role_count(plain, dm::NodeRole::worker, 2);
  dm::set_role_count(plain, dm::NodeRole::manager, 1);
  CHECK(names_of(plain.nodes) == std::vector<std::string>{"c-manager-1", "c-worker-1", "c-worker-2"});
}

TEST_CASE("check_driver_options: every key is a flag of the driver", "[cluster]") {
  auto spec = small_spec();
  spec.driver_options.values = {{"local-memory", {"512"}}, {"local-dns", {"1.1.1.1", "8.8.8.8"}},
                                {"local-quiet", {"true"}}};
  REQUIRE(dm::check_driver_options(spec, test_driver()));

  spec.driver_options.values["local-memroy"] = {"512"};
  auto unknown = dm::check_driver_options(spec, test_driver());
  REQUIRE_FALSE(unknown);
  CHECK(unknown.error().kind == dm::ErrorKind::usage);
  CHECK_THAT(unknown.error().message, Catch::Contains("driver_options: unknown key \"local-memroy\""));
  CHECK_THAT(unknown.error().message, Catch::Contains("local-memory"));

  auto node_spec = small_spec();
  node_spec.nodes[2].driver_options.values["generic-ip-address"] = {"10.0.0.1"};
  auto node_unknown = dm::check_driver_options(node_spec, test_driver());
  REQUIRE_FALSE(node_unknown);
  CHECK_THAT(node_unknown.error().message,
             Catch::Contains("node \"demo-worker-1\": driver_options: unknown key \"generic-ip-address\""));
}

TEST_CASE("check_driver_options: values fit the flag's type (exit 3 as for create)", "[cluster]") {
  auto spec = small_spec();
  spec.driver_options.values = {{"local-memory", {"lots"}}};
  auto word = dm::check_driver_options(spec, test_driver());
  REQUIRE_FALSE(word);
  CHECK(word.error().kind == dm::ErrorKind::precreate);
  CHECK_THAT(word.error().message,
             Catch::Contains("driver_options.local-memory: \"lots\" is not a whole number"));

  spec.driver_options.values = {{"local-memory", {"12abc"}}};
  CHECK_FALSE(dm::check_driver_options(spec, test_driver()));
  spec.driver_options.values = {{"local-image", {"a", "b"}}};
  auto list = dm::check_driver_options(spec, test_driver());
  REQUIRE_FALSE(list);
  CHECK_THAT(list.error().message, Catch::Contains("local-image: expected one value, got a list of 2"));
  spec.driver_options.values = {{"local-quiet", {"maybe"}}};
  CHECK_FALSE(dm::check_driver_options(spec, test_driver()));
}

TEST_CASE("a cluster may lose one worker in ten", "[cluster]") {
  CHECK(dm::tolerated_worker_losses(0) == 0);
  CHECK(dm::tolerated_worker_losses(9) == 0);
  CHECK(dm::tolerated_worker_losses(10) == 1);
  CHECK(dm::tolerated_worker_losses(45) == 4);
}
