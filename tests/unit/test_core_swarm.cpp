#include "core/swarm.h"
#include "core/swarm_join.h"
#include "tests/fakes/recording_http_client.h"

#include <catch2/catch.hpp>

#include <nlohmann/json.hpp>

using dm::testing::RecordingHttpClient;
using nlohmann::json;

namespace {

const char* const k_base = "https://192.168.99.100:2376";

dm::EngineEndpoint test_endpoint() {
  return dm::EngineEndpoint{"tcp://192.168.99.100:2376", "/s/certs/ca.pem", "/s/certs/cert.pem",
                            "/s/certs/key.pem"};
}

// The request body, parsed.
json body_of(const dm::HttpRequest& request) {
  return json::parse(request.body);
}

// GET /nodes from a Docker 24 swarm of one manager (the leader) and one worker, trimmed of
// TLS and platform details.
const char* const k_nodes_answer = R"([
  {
    "ID": "q7ek3k1gx2yt7oz0cbm1rw9dy",
    "Version": {"Index": 31},
    "CreatedAt": "2024-03-02T10:15:04.512736118Z",
    "UpdatedAt": "2024-03-02T10:15:05.125093781Z",
    "Spec": {"Labels": {"tier": "control"}, "Role": "manager", "Availability": "active"},
    "Description": {
      "Hostname": "demo-manager-1",
      "Platform": {"Architecture": "x86_64", "OS": "linux"},
      "Resources": {"NanoCPUs": 2000000000, "MemoryBytes": 2084319232},
      "Engine": {"EngineVersion": "24.0.7", "Plugins": [{"Type": "Network", "Name": "overlay"}]}
    },
    "Status": {"State": "ready", "Addr": "10.213.0.11"},
    "ManagerStatus": {"Leader": true, "Reachability": "reachable", "Addr": "10.213.0.11:2377"}
  },
  {
    "ID": "x1h2b9lk0e8wq3n4d6r5t7y8u",
    "Version": {"Index": 45},
    "CreatedAt": "2024-03-02T10:15:21.034425177Z",
    "UpdatedAt": "2024-03-02T10:16:02.981212901Z",
    "Spec": {"Labels": {}, "Role": "worker", "Availability": "drain"},
    "Description": {
      "Hostname": "demo-worker-1",
      "Platform": {"Architecture": "x86_64", "OS": "linux"},
      "Engine": {"EngineVersion": "24.0.5"}
    },
    "Status": {"State": "down", "Message": "heartbeat failure", "Addr": "10.213.0.21"}
  }
])";

// moby's errSwarmJoinTimeoutReached, as the engine sends it after its own 20 s.
const char* const k_join_in_background =
    R"({"message":"Timeout was reached before node joined. The attempt to join the swarm will continue in the background. Use the \"docker info\" command to see the current swarm status of your node."})";

const char* const k_not_a_manager =
    R"({"message":"This node is not a swarm manager. Use \"docker swarm init\" or \"docker swarm join\" to connect this node to swarm and try again."})";

// A task of GET /tasks with the given desired and current state.
json task(const std::string& id, const std::string& desired, const std::string& state) {
  return json{{"ID", id},
              {"NodeID", "node1"},
              {"DesiredState", desired},
              {"Status", {{"State", state}, {"Message", state}}}};
}

} // namespace

TEST_CASE("swarm_init posts the listen and advertise addresses", "[swarm]") {
  RecordingHttpClient http;
  http.push_response(200, "\"q7ek3k1gx2yt7oz0cbm1rw9dy\"\n");
  auto node_id = dm::swarm_init(http, test_endpoint(), "10.213.0.11", 30);
  REQUIRE(node_id);
  CHECK(*node_id == "q7ek3k1gx2yt7oz0cbm1rw9dy");

  REQUIRE(http.requests().size() == 1);
  const auto& request = http.requests()[0];
  CHECK(request.method == "POST");
  CHECK(request.url == std::string(k_base) + "/swarm/init");
  CHECK(request.headers.at("Content-Type") == "application/json");
  CHECK(request.timeout_seconds == 30);
  CHECK(request.ca_cert_path == "/s/certs/ca.pem");
  CHECK(request.client_cert_path == "/s/certs/cert.pem");
  CHECK(request.client_key_path == "/s/certs/key.pem");
  CHECK(body_of(request) == json{{"ListenAddr", "0.0.0.0:2377"}, {"AdvertiseAddr", "10.213.0.11"}});
}

TEST_CASE("swarm_init wants a node ID in the answer", "[swarm]") {
  RecordingHttpClient http;
  http.push_response(200, R"({"ID": "abc"})");
  auto node_id = dm::swarm_init(http, test_endpoint(), "eth1", 30);
  REQUIRE_FALSE(node_id);
  CHECK_THAT(node_id.error().message, Catch::Contains("expected the node ID"));
  CHECK(body_of(http.requests()[0])["AdvertiseAddr"] == "eth1");
}

TEST_CASE("swarm_init carries the engine's message when it refuses", "[swarm]") {
  RecordingHttpClient http;
  http.push_response(
      503,
      R"({"message":"This node is already part of a swarm. Use \"docker swarm leave\" to leave this swarm and join another one."})");
  auto node_id = dm::swarm_init(http, test_endpoint(), "10.213.0.11", 30);
  REQUIRE_FALSE(node_id);
  CHECK_THAT(node_id.error().message,
             Catch::Contains("POST " + std::string(k_base) + "/swarm/init: HTTP 503"));
  CHECK_THAT(node_id.error().message, Catch::Contains("This node is already part of a swarm."));
}

TEST_CASE("swarm_join_tokens reads JoinTokens from GET /swarm", "[swarm]") {
  RecordingHttpClient http;
  http.push_response(200, R"({
    "ID": "l4y0vq9m2wbx6kqkzqf1c3n8d",
    "Version": {"Index": 10},
    "Spec": {"Name": "default", "Orchestration": {"TaskHistoryRetentionLimit": 5}},
    "JoinTokens": {
      "Worker": "SWMTKN-1-3pu6hszjas19xyp7ghgosyx9k8atbfcr8p2is99znpy26u2lkl-1awxwuwd3z9j1z3puu7rcgdbx",
      "Manager": "SWMTKN-1-3pu6hszjas19xyp7ghgosyx9k8atbfcr8p2is99znpy26u2lkl-7p73s1dx5in4tatdymyhg9hu2"
    }
  })");
  auto tokens = dm::swarm_join_tokens(http, test_endpoint(), 10);
  REQUIRE(tokens);
  CHECK(tokens->worker ==
        "SWMTKN-1-3pu6hszjas19xyp7ghgosyx9k8atbfcr8p2is99znpy26u2lkl-1awxwuwd3z9j1z3puu7rcgdbx");
  CHECK(tokens->manager ==
        "SWMTKN-1-3pu6hszjas19xyp7ghgosyx9k8atbfcr8p2is99znpy26u2lkl-7p73s1dx5in4tatdymyhg9hu2");
  REQUIRE(http.requests().size() == 1);
  CHECK(http.requests()[0].method == "GET");
  CHECK(http.requests()[0].url == std::string(k_base) + "/swarm");
  CHECK(http.requests()[0].timeout_seconds == 10);
}

TEST_CASE("swarm_join_tokens fails without tokens or on a worker", "[swarm]") {
  RecordingHttpClient http;
  http.push_response(200, R"({"ID": "x", "JoinTokens": {"Worker": "SWMTKN-1-w"}})");
  auto partial = dm::swarm_join_tokens(http, test_endpoint(), 10);
  REQUIRE_FALSE(partial);
  CHECK_THAT(partial.error().message, Catch::Contains("no join tokens"));

  http.push_response(503, k_not_a_manager);
  auto worker = dm::swarm_join_tokens(http, test_endpoint(), 10);
  REQUIRE_FALSE(worker);
  CHECK_THAT(worker.error().message, Catch::Contains("HTTP 503"));
  CHECK_THAT(worker.error().message, Catch::Contains("This node is not a swarm manager."));
  CHECK_THAT(worker.error().message, Catch::Contains("\"docker swarm init\""));
}

TEST_CASE("swarm_join posts the remotes, the token and the advertise address", "[swarm]") {
  RecordingHttpClient http;
  http.push_response(200, "");
  auto joined = dm::swarm_join(http, test_endpoint(), "10.213.0.21",
                               {"10.213.0.11:2377", "10.213.0.12:2377"}, "SWMTKN-1-abc-def", 60);
  REQUIRE(joined);
  CHECK(*joined == dm::JoinAnswer::joined);
  REQUIRE(http.requests().size() == 1);
  const auto& request = http.requests()[0];
  CHECK(request.method == "POST");
  CHECK(request.url == std::string(k_base) + "/swarm/join");
  CHECK(request.timeout_seconds == 60);
  CHECK(body_of(request) == json{{"ListenAddr", "0.0.0.0:2377"},
                                 {"AdvertiseAddr", "10.213.0.21"},
                                 {"RemoteAddrs", json::array({"10.213.0.11:2377", "10.213.0.12:2377"})},
                                 {"JoinToken", "SWMTKN-1-abc-def"}});

  http.push_response(
      500,
      R"({"message":"rpc error: code = InvalidArgument desc = A valid join token is necessary to join this cluster"})");
  auto refused = dm::swarm_join(http, test_endpoint(), "10.213.0.21", {"10.213.0.11:2377"},
                                "SWMTKN-1-wrong", 60);
  REQUIRE_FALSE(refused);
  CHECK_THAT(refused.error().message, Catch::Contains("HTTP 500"));
  CHECK_THAT(refused.error().message, Catch::Contains("A valid join token is necessary"));
}

TEST_CASE("swarm_join reads the engine's join timeout as a join in the background", "[swarm]") {
  RecordingHttpClient http;
  http.push_response(503, k_join_in_background);
  auto joined = dm::swarm_join(http, test_endpoint(), "10.213.0.21", {"10.213.0.11:2377"},
                               "SWMTKN-1-abc-def", 60);
  REQUIRE(joined);
  CHECK(*joined == dm::JoinAnswer::in_background);

  // Another 503 is still a failure.
  http.push_response(
      503,
      R"({"message":"This node is already part of a swarm. Use \"docker swarm leave\" to leave this swarm and join another one."})");
  auto refused = dm::swarm_join(http, test_endpoint(), "10.213.0.21", {"10.213.0.11:2377"},
                                "SWMTKN-1-abc-def", 60);
  REQUIRE_FALSE(refused);
  CHECK_THAT(refused.error().message, Catch::Contains("already part of a swarm"));
}

TEST_CASE("swarm_leave posts /swarm/leave, with ?force=true when forced", "[swarm]") {
  RecordingHttpClient http;
  http.push_response(200, "");
  http.push_response(200, "");
  REQUIRE(dm::swarm_leave(http, test_endpoint(), false, 20));
  REQUIRE(dm::swarm_leave(http, test_endpoint(), true, 20));
  REQUIRE(http.requests().size() == 2);
  CHECK(http.requests()[0].method == "POST");
  CHECK(http.requests()[0].url == std::string(k_base) + "/swarm/leave");
  CHECK(http.requests()[0].body.empty());
  CHECK(http.requests()[1].method == "POST");
  CHECK(http.requests()[1].url == std::string(k_base) + "/swarm/leave?force=true");
  CHECK(http.requests()[1].body.empty());

  http.push_response(
      503,
      R"({"message":"You are attempting to leave the swarm on a node that is participating as a manager."})");
  auto refused = dm::swarm_leave(http, test_endpoint(), false, 20);
  REQUIRE_FALSE(refused);
  CHECK_THAT(refused.error().message, Catch::Contains("participating as a manager"));
}

TEST_CASE("swarm_nodes parses GET /nodes", "[swarm]") {
  RecordingHttpClient http;
  http.push_response(200, k_nodes_answer);
  auto nodes = dm::swarm_nodes(http, test_endpoint(), 10);
  REQUIRE(nodes);
  REQUIRE(http.requests().size() == 1);
  CHECK(http.requests()[0].method == "GET");
  CHECK(http.requests()[0].url == std::string(k_base) + "/nodes");
  REQUIRE(nodes->size() == 2);

  const auto& manager = (*nodes)[0];
  CHECK(manager.id == "q7ek3k1gx2yt7oz0cbm1rw9dy");
  CHECK(manager.version == 31);
  CHECK(manager.hostname == "demo-manager-1");
  CHECK(manager.role == "manager");
  CHECK(manager.availability == "active");
  CHECK(manager.state == "ready");
  CHECK(manager.addr == "10.213.0.11");
  CHECK(manager.leader);
  CHECK(manager.reachability == "reachable");
  CHECK(manager.engine_version == "24.0.7");
  CHECK(manager.spec ==
        json{{"Labels", {{"tier", "control"}}}, {"Role", "manager"}, {"Availability", "active"}});

  const auto& worker = (*nodes)[1];
  CHECK(worker.id == "x1h2b9lk0e8wq3n4d6r5t7y8u");
  CHECK(worker.version == 45);
  CHECK(worker.hostname == "demo-worker-1");
  CHECK(worker.role == "worker");
  CHECK(worker.availability == "drain");
  CHECK(worker.state == "down");
  CHECK(worker.addr == "10.213.0.21");
  CHECK_FALSE(worker.leader);
  CHECK(worker.reachability.empty()); // no ManagerStatus on a worker
  CHECK(worker.engine_version == "24.0.5");
}

TEST_CASE("parse_swarm_node tolerates missing and mistyped fields", "[swarm]") {
  auto bare = dm::parse_swarm_node(json{{"ID", "n1"}});
  CHECK(bare.id == "n1");
  CHECK(bare.hostname.empty());
  CHECK(bare.role.empty());
  CHECK(bare.version == 0);
  CHECK_FALSE(bare.leader);
  CHECK(bare.spec == json::object());

  auto odd = dm::parse_swarm_node(json::parse(
      R"({"ID": "n2", "Version": {"Index": "7"}, "ManagerStatus": {"Leader": "true"},
          "Status": {"State": 1}})"));
  CHECK(odd.version == 0);
  CHECK_FALSE(odd.leader);
  CHECK(odd.state.empty());
}

TEST_CASE("swarm_nodes wants a list and carries engine errors", "[swarm]") {
  RecordingHttpClient http;
  http.push_response(200, R"({"nodes": []})");
  auto not_list = dm::swarm_nodes(http, test_endpoint(), 10);
  REQUIRE_FALSE(not_list);
  CHECK_THAT(not_list.error().message, Catch::Contains("expected a list"));

  http.push_response(503, k_not_a_manager);
  auto worker = dm::swarm_nodes(http, test_endpoint(), 10);
  REQUIRE_FALSE(worker);
  CHECK(worker.error().kind == dm::ErrorKind::generic);
  CHECK(worker.error().message ==
        "GET " + std::string(k_base) +
            "/nodes: HTTP 503: This node is not a swarm manager. Use \"docker swarm init\" or "
            "\"docker swarm join\" to connect this node to swarm and try again.");

  http.push_error(dm::Error{dm::ErrorKind::timeout, "GET /nodes: timed out"});
  auto transport = dm::swarm_nodes(http, test_endpoint(), 10);
  REQUIRE_FALSE(transport);
  CHECK(transport.error().kind == dm::ErrorKind::timeout);
}

TEST_CASE("changed_node_spec keeps what it does not change", "[swarm]") {
  const json spec = {{"Name", "keep-me"},
                     {"Labels", {{"tier", "app"}, {"zone", "a"}}},
                     {"Role", "worker"},
                     {"Availability", "active"}};

  CHECK(dm::changed_node_spec(spec, dm::NodeChange{}) == spec);

  auto promoted = dm::changed_node_spec(spec, dm::NodeChange{"manager", "", {}});
  CHECK(promoted["Role"] == "manager");
  CHECK(promoted["Availability"] == "active");
  CHECK(promoted["Labels"] == spec["Labels"]);
  CHECK(promoted["Name"] == "keep-me");

  auto drained = dm::changed_node_spec(spec, dm::NodeChange{"", "drain", {}});
  CHECK(drained["Role"] == "worker");
  CHECK(drained["Availability"] == "drain");

  auto labelled =
      dm::changed_node_spec(spec, dm::NodeChange{"", "", {{"zone", "b"}, {"gpu", "1"}}});
  CHECK(labelled["Labels"] == json{{"tier", "app"}, {"zone", "b"}, {"gpu", "1"}});
  CHECK(labelled["Role"] == "worker");
  CHECK(labelled["Name"] == "keep-me");

  // A spec without labels (or with null labels) gets a label object.
  auto from_null = dm::changed_node_spec(json{{"Role", "worker"}, {"Labels", nullptr}},
                                         dm::NodeChange{"", "", {{"a", "1"}}});
  CHECK(from_null == json{{"Role", "worker"}, {"Labels", {{"a", "1"}}}});
  auto from_nothing = dm::changed_node_spec(json(nullptr), dm::NodeChange{"worker", "pause", {}});
  CHECK(from_nothing == json{{"Role", "worker"}, {"Availability", "pause"}});
}

TEST_CASE("swarm_update_node posts the changed spec with the node version", "[swarm]") {
  RecordingHttpClient http;
  http.push_response(200, k_nodes_answer);
  auto nodes = dm::swarm_nodes(http, test_endpoint(), 10);
  REQUIRE(nodes);
  const auto& manager = (*nodes)[0];

  http.push_response(200, "");
  REQUIRE(dm::swarm_update_node(http, test_endpoint(), manager,
                                dm::NodeChange{"", "drain", {{"zone", "a"}}}, 15));
  REQUIRE(http.requests().size() == 2);
  const auto& request = http.requests()[1];
  CHECK(request.method == "POST");
  CHECK(request.url == std::string(k_base) + "/nodes/q7ek3k1gx2yt7oz0cbm1rw9dy/update?version=31");
  CHECK(request.timeout_seconds == 15);
  CHECK(body_of(request) == json{{"Labels", {{"tier", "control"}, {"zone", "a"}}},
                                 {"Role", "manager"},
                                 {"Availability", "drain"}});

  http.push_response(500,
                     R"({"message":"rpc error: code = Unknown desc = update out of sequence"})");
  auto stale =
      dm::swarm_update_node(http, test_endpoint(), manager, dm::NodeChange{"worker", "", {}}, 15);
  REQUIRE_FALSE(stale);
  CHECK_THAT(stale.error().message, Catch::StartsWith("update node demo-manager-1: "));
  CHECK_THAT(stale.error().message, Catch::Contains("update out of sequence"));
}

TEST_CASE("swarm_update_node percent-encodes the node ID", "[swarm]") {
  RecordingHttpClient http;
  http.push_response(200, "");
  dm::SwarmNode node;
  node.id = "a b/c";
  node.version = 7;
  REQUIRE(dm::swarm_update_node(http, test_endpoint(), node, dm::NodeChange{"", "pause", {}}, 5));
  CHECK(http.requests()[0].url == std::string(k_base) + "/nodes/a%20b%2Fc/update?version=7");
  CHECK(body_of(http.requests()[0]) == json{{"Availability", "pause"}});
}

TEST_CASE("swarm_remove_node sends DELETE /nodes/ID, with ?force=true when forced", "[swarm]") {
  RecordingHttpClient http;
  http.push_response(200, "");
  http.push_response(200, "");
  REQUIRE(dm::swarm_remove_node(http, test_endpoint(), "x1h2b9lk0e8wq3n4d6r5t7y8u", true, 10));
  REQUIRE(dm::swarm_remove_node(http, test_endpoint(), "x1h2b9lk0e8wq3n4d6r5t7y8u", false, 10));
  REQUIRE(http.requests().size() == 2);
  CHECK(http.requests()[0].method == "DELETE");
  CHECK(http.requests()[0].url ==
        std::string(k_base) + "/nodes/x1h2b9lk0e8wq3n4d6r5t7y8u?force=true");
  CHECK(http.requests()[1].method == "DELETE");
  CHECK(http.requests()[1].url == std::string(k_base) + "/nodes/x1h2b9lk0e8wq3n4d6r5t7y8u");

  http.push_response(
      400,
      R"({"message":"rpc error: code = FailedPrecondition desc = node x1h2b9lk0e8w is not down and can't be removed"})");
  auto refused =
      dm::swarm_remove_node(http, test_endpoint(), "x1h2b9lk0e8wq3n4d6r5t7y8u", false, 10);
  REQUIRE_FALSE(refused);
  CHECK_THAT(refused.error().message, Catch::Contains("HTTP 400"));
  CHECK_THAT(refused.error().message, Catch::Contains("is not down and can't be removed"));
}

TEST_CASE("swarm_tasks_on_node filters by node and counts tasks not yet done", "[swarm]") {
  RecordingHttpClient http;
  json tasks = json::array({
      task("t1", "running", "running"),   // counts: running
      task("t2", "running", "preparing"), // counts: on its way up
      task("t3", "shutdown", "running"),  // counts: told to stop, not stopped yet
      task("t4", "shutdown", "shutdown"), // done
      task("t5", "shutdown", "failed"),   // done (an old attempt)
      task("t6", "shutdown", "complete"), // done
      task("t7", "shutdown", "rejected"), // done
      task("t8", "remove", "orphaned"),   // done
      task("t9", "running", "failed"),    // counts: the swarm still wants it running
      task("t10", "shutdown", "remove"),  // done
  });
  http.push_response(200, tasks.dump());
  auto count = dm::swarm_tasks_on_node(http, test_endpoint(), "node1", 10);
  REQUIRE(count);
  CHECK(*count == 4);

  REQUIRE(http.requests().size() == 1);
  const auto& request = http.requests()[0];
  CHECK(request.method == "GET");
  // filters={"node":["node1"]}, percent-encoded.
  CHECK(request.url == std::string(k_base) + "/tasks?filters=%7B%22node%22%3A%5B%22node1%22%5D%7D");
}

TEST_CASE("swarm_tasks_on_node: none left, or an error", "[swarm]") {
  RecordingHttpClient http;
  http.push_response(200, "[]");
  auto none = dm::swarm_tasks_on_node(http, test_endpoint(), "node1", 10);
  REQUIRE(none);
  CHECK(*none == 0);

  http.push_response(200, json::array({task("t1", "shutdown", "shutdown")}).dump());
  auto drained = dm::swarm_tasks_on_node(http, test_endpoint(), "node1", 10);
  REQUIRE(drained);
  CHECK(*drained == 0);

  http.push_response(200, R"({"tasks": []})");
  auto not_list = dm::swarm_tasks_on_node(http, test_endpoint(), "node1", 10);
  REQUIRE_FALSE(not_list);
  CHECK_THAT(not_list.error().message, Catch::Contains("GET /tasks: expected a list"));

  http.push_response(503, k_not_a_manager);
  auto worker = dm::swarm_tasks_on_node(http, test_endpoint(), "node1", 10);
  REQUIRE_FALSE(worker);
  CHECK_THAT(worker.error().message, Catch::Contains("HTTP 503"));
  CHECK_THAT(worker.error().message, Catch::Contains("This node is not a swarm manager."));
}

TEST_CASE("swarm_info reads this engine's swarm membership", "[swarm]") {
  RecordingHttpClient http;
  http.push_response(200, R"({"Name": "demo-manager-1",
    "Swarm": {"NodeID": "q7ek3k1gx2yt7oz0cbm1rw9dy", "LocalNodeState": "active",
              "ControlAvailable": true, "Error": ""}})");
  auto info = dm::swarm_info(http, test_endpoint(), 10);
  REQUIRE(info);
  CHECK(http.requests()[0].url == std::string(k_base) + "/info");
  CHECK(info->local_state == "active");
  CHECK(info->node_id == "q7ek3k1gx2yt7oz0cbm1rw9dy");
  CHECK(info->control_available);
  CHECK(info->error.empty());

  http.push_response(200, R"({"Swarm": {"NodeID": "", "LocalNodeState": "inactive",
                                        "ControlAvailable": false}})");
  auto inactive = dm::swarm_info(http, test_endpoint(), 10);
  REQUIRE(inactive);
  CHECK(inactive->local_state == "inactive");
  CHECK(inactive->node_id.empty());
  CHECK_FALSE(inactive->control_available);
}

TEST_CASE("answers of the wrong shape are tolerated, not thrown", "[swarm]") {
  const json odd_items = json::array({42, "text", json::array({1}), nullptr});
  for (const auto& item : odd_items) {
    auto node = dm::parse_swarm_node(item);
    CHECK(node.id.empty());
    CHECK(node.hostname.empty());
    CHECK_FALSE(node.leader);
  }
  auto mistyped = dm::parse_swarm_node(json{{"ID", 7}, {"Spec", "x"}});
  CHECK(mistyped.id.empty());
}

namespace {

const dm::EngineEndpoint k_worker{"tcp://10.213.0.21:2376", "/s/certs/ca.pem", "/s/certs/cert.pem",
                                  "/s/certs/key.pem"};

dm::JoinRequest worker_join() {
  return dm::JoinRequest{k_worker, "10.213.0.21",
                         {"10.213.0.11:2377", "10.213.0.12:2377", "10.213.0.13:2377"}, 1,
                         "SWMTKN-1-w"};
}

dm::JoinTiming fast_timing() {
  dm::JoinTiming timing;
  timing.settle_seconds = 5;
  timing.poll = std::chrono::milliseconds(0);
  return timing;
}

std::string info_answer(const std::string& state, const std::string& node_id) {
  return json{{"Swarm", {{"LocalNodeState", state}, {"NodeID", node_id}, {"ControlAvailable", false}}}}
      .dump();
}

std::string nodes_answer(const std::string& worker_state) {
  return json::array(
             {{{"ID", "mgr1"},
               {"Spec", {{"Role", "manager"}, {"Availability", "active"}}},
               {"Status", {{"State", "ready"}}},
               {"ManagerStatus", {{"Leader", true}, {"Reachability", "reachable"}}}},
              {{"ID", "wk21"},
               {"Spec", {{"Role", "worker"}, {"Availability", "active"}}},
               {"Description", {{"Hostname", "c-worker-1"}}},
               {"Status", {{"State", worker_state}}}}})
      .dump();
}

std::vector<std::string> urls(const RecordingHttpClient& http) {
  std::vector<std::string> out;
  for (const auto& request : http.requests()) {
    out.push_back(request.method + " " + request.url);
  }
  return out;
}

} // namespace

TEST_CASE("rotated starts the list at the given index", "[swarm]") {
  CHECK(dm::rotated({"a", "b", "c"}, 1) == std::vector<std::string>{"b", "c", "a"});
  CHECK(dm::rotated({"a", "b", "c"}, 5) == std::vector<std::string>{"c", "a", "b"});
  CHECK(dm::rotated({}, 3).empty());
}

TEST_CASE("a join answered 503 'continues in the background' is waited for until the node is Ready",
          "[swarm]") {
  RecordingHttpClient http;
  http.push_response(503, k_join_in_background);
  http.push_response(200, info_answer("pending", ""));
  http.push_response(200, info_answer("pending", ""));
  http.push_response(200, info_answer("active", "wk21"));
  std::vector<std::string> notes;
  auto id = dm::join_node(http, worker_join(), fast_timing(),
                          [&](const std::string& line) { notes.push_back(line); });
  REQUIRE(id);
  CHECK(*id == "wk21");
  REQUIRE(notes.size() == 1);
  CHECK_THAT(notes[0], Catch::Contains("continues in the background"));
  // The worker joined through the manager at index 1 first.
  CHECK(body_of(http.requests()[0])["RemoteAddrs"][0] == "10.213.0.12:2377");

  const dm::EngineEndpoint manager = test_endpoint();
  http.push_response(200, nodes_answer("unknown"));
  http.push_response(200, nodes_answer("down"));
  http.push_response(200, nodes_answer("ready"));
  auto waiting = dm::wait_nodes_ready(http, manager, {"mgr1", *id}, 5, std::chrono::milliseconds(0));
  REQUIRE(waiting);
  CHECK(waiting->empty());
  const std::string worker_base = "https://10.213.0.21:2376";
  CHECK(urls(http) == std::vector<std::string>{"POST " + worker_base + "/swarm/join",
                                               "GET " + worker_base + "/info",
                                               "GET " + worker_base + "/info",
                                               "GET " + worker_base + "/info",
                                               "GET " + std::string(k_base) + "/nodes",
                                               "GET " + std::string(k_base) + "/nodes",
                                               "GET " + std::string(k_base) + "/nodes"});
}

TEST_CASE("a failed join is left and tried again through the next manager", "[swarm]") {
  RecordingHttpClient http;
  http.push_response(500, R"({"message":"rpc error: code = Unavailable desc = connection refused"})");
  http.push_response(200, ""); // POST /swarm/leave?force=true
  http.push_response(200, ""); // POST /swarm/join
  http.push_response(200, info_answer("active", "wk21"));
  std::vector<std::string> notes;
  auto id = dm::join_node(http, worker_join(), fast_timing(),
                          [&](const std::string& line) { notes.push_back(line); });
  REQUIRE(id);
  CHECK(*id == "wk21");
  REQUIRE(http.requests().size() == 4);
  CHECK(http.requests()[1].url == "https://10.213.0.21:2376/swarm/leave?force=true");
  CHECK(body_of(http.requests()[0])["RemoteAddrs"][0] == "10.213.0.12:2377");
  CHECK(body_of(http.requests()[2])["RemoteAddrs"][0] == "10.213.0.13:2377");
  REQUIRE(notes.size() == 1);
  CHECK_THAT(notes[0], Catch::Contains("join attempt 2 of 3 through 10.213.0.13:2377"));
  CHECK_THAT(notes[0], Catch::Contains("connection refused"));
}

TEST_CASE("a node whose engine gives up joining fails after the attempts", "[swarm]") {
  RecordingHttpClient http;
  dm::JoinTiming timing = fast_timing();
  timing.attempts = 2;
  http.push_response(503, k_join_in_background);
  http.push_response(200, json{{"Swarm", {{"LocalNodeState", "error"}, {"Error", "certificate rejected"}}}}.dump());
  http.push_response(200, ""); // leave
  http.push_response(500, R"({"message":"join refused"})");
  auto id = dm::join_node(http, worker_join(), timing, [](const std::string&) {});
  REQUIRE_FALSE(id);
  CHECK_THAT(id.error().message, Catch::Contains("2 attempt(s) failed"));
  CHECK_THAT(id.error().message, Catch::Contains("join refused"));
  CHECK(http.requests().size() == 4);
}

TEST_CASE("wait_nodes_ready returns the nodes still not Ready at its deadline", "[swarm]") {
  RecordingHttpClient http;
  http.push_response(200, nodes_answer("down"));
  auto waiting = dm::wait_nodes_ready(http, test_endpoint(), {"mgr1", "wk21", "gone"}, 0,
                                      std::chrono::milliseconds(0));
  REQUIRE(waiting);
  CHECK(*waiting == std::set<std::string>{"gone", "wk21"});

  // A manager that never answers is an error.
  auto unanswered = dm::wait_nodes_ready(http, test_endpoint(), {"wk21"}, 0,
                                         std::chrono::milliseconds(0));
  REQUIRE_FALSE(unanswered);
  CHECK_THAT(unanswered.error().message, Catch::Contains("never answered"));
}
