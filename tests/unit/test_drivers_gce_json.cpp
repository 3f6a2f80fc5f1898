// Compute Engine answers read from the vectors: instances in each state, operations
// (pending, running, done, done with an error), API errors.
#include "drivers/google/gce_json.h"

#include "tests/fakes/vectors.h"

#include <catch2/catch.hpp>
#include <filesystem>

namespace fs = std::filesystem;
using namespace dm::google;

namespace {

std::string vector_text(const std::string& name) {
  return dm::testing::vector_file(fs::path("gce") / "compute" / name);
}

} // namespace

TEST_CASE("a GCE instance gives its state and addresses in every status", "[gce_json]") {
  auto running = parse_gce_instance(vector_text("instance-get-running.json"));
  REQUIRE(running);
  CHECK(running->name == "web-1");
  CHECK(running->network_ip == "10.128.0.7");
  CHECK(running->nat_ip == "34.123.45.67");
  CHECK(running->tags == std::vector<std::string>{"ssh", "web"});
  CHECK(gce_machine_state(running->status) == dm::MachineState::running);
  for (const auto& [file, state] :
       std::vector<std::pair<std::string, dm::MachineState>>{
           {"instance-get-provisioning.json", dm::MachineState::starting},
           {"instance-get-staging.json", dm::MachineState::starting},
           {"instance-get-stopping.json", dm::MachineState::stopped},
           {"instance-get-terminated.json", dm::MachineState::stopped}}) {
    auto instance = parse_gce_instance(vector_text(file));
    REQUIRE(instance);
    INFO(file);
    CHECK(gce_machine_state(instance->status) == state);
    CHECK(!instance->network_ip.empty());
  }
  auto terminated = parse_gce_instance(vector_text("instance-get-terminated.json"));
  CHECK(terminated->nat_ip.empty()); // an ephemeral IP is released on stop
  CHECK(gce_machine_state("REPAIRING") == dm::MachineState::none);
}

TEST_CASE("GCE operations: pending, done, and done with the error inside", "[gce_json]") {
  auto pending = parse_gce_operation(vector_text("instances-insert-response-operation-pending.json"));
  REQUIRE(pending);
  CHECK_FALSE(pending->done());
  CHECK(pending->operation_type == "insert");
  CHECK(pending->zone.find("/zones/us-central1-a") != std::string::npos);
  auto done = parse_gce_operation(vector_text("zone-operation-done.json"));
  REQUIRE(done);
  CHECK(done->done());
  CHECK(done->errors.empty());
  auto conflict = parse_gce_operation(vector_text("zone-operation-done-error-already-exists.json"));
  REQUIRE(conflict);
  CHECK(conflict->done());
  CHECK(conflict->http_error_status == 409);
  REQUIRE(conflict->errors.size() == 1);
  CHECK(conflict->errors[0].code == "RESOURCE_ALREADY_EXISTS");
  auto quota = parse_gce_operation(vector_text("zone-operation-done-error-quota.json"));
  REQUIRE(quota);
  REQUIRE(quota->errors.size() == 1);
  CHECK(quota->errors[0].code == "QUOTA_EXCEEDED");
  auto global = parse_gce_operation(vector_text("global-operation-done.json"));
  REQUIRE(global);
  CHECK(global->zone.empty());
}

TEST_CASE("GCE API errors give code, message and reason", "[gce_json]") {
  auto missing = parse_gce_error(vector_text("error-404-not-found.json"));
  REQUIRE(missing);
  CHECK(missing->code == 404);
  CHECK(missing->reason == "notFound");
  auto exists = parse_gce_error(vector_text("error-409-already-exists.json"));
  REQUIRE(exists);
  CHECK(exists->reason == "alreadyExists");
  auto unauthenticated = parse_gce_error(vector_text("error-401-unauthenticated.json"));
  REQUIRE(unauthenticated);
  CHECK(unauthenticated->code == 401);
  CHECK_FALSE(parse_gce_error(vector_text("instance-get-running.json")));
  CHECK_FALSE(parse_gce_error("nonsense"));
}

TEST_CASE("GCE answers of the wrong kind or type are errors", "[gce_json]") {
  CHECK_FALSE(parse_gce_instance(vector_text("zone-operation-done.json")));
  CHECK_FALSE(parse_gce_operation(vector_text("instance-get-running.json")));
  CHECK_FALSE(parse_gce_instance("[]"));
  auto odd = parse_gce_instance(R"({"kind":"compute#instance","name":"a","status":"RUNNING",
      "networkInterfaces":[{"networkIP":5,"accessConfigs":"x"}],"tags":{"items":[1,"t"]}})");
  REQUIRE(odd);
  CHECK(odd->network_ip.empty());
  CHECK(odd->tags == std::vector<std::string>{"t"});
}
