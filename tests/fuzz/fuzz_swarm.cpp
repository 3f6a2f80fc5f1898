// Swarm answers of a manager's engine (/info, /swarm, /swarm/init, /nodes, /tasks),
// fed through the recording fake HTTP client: reading them never aborts, and a node
// read from the list can be updated (its spec re-serialised) without aborting.
// Input: one status byte (mostly 200), then the body; a JSON body is also tried with one
// value at a time of another type (fuzz_support.h).
#include "core/swarm.h"
#include "tests/fakes/recording_http_client.h"
#include "tests/fuzz/fuzz_support.h"

namespace {

int status_from(uint8_t byte) {
  constexpr int k_statuses[] = {200, 200, 200, 200, 200, 200, 503, 500, 404};
  return k_statuses[byte % (sizeof k_statuses / sizeof k_statuses[0])];
}

} // namespace

namespace {

void check_answer(int status, const std::string& body) {
  const dm::EngineEndpoint endpoint{"tcp://10.0.0.2:2376", "ca.pem", "cert.pem", "key.pem"};
  dm::testing::RecordingHttpClient http;
  for (int i = 0; i < 8; ++i) {
    http.push_response(status, body);
  }
  (void)dm::swarm_info(http, endpoint, 1);
  (void)dm::swarm_init(http, endpoint, "10.0.0.2", 1);
  (void)dm::swarm_join_tokens(http, endpoint, 1);
  (void)dm::swarm_join(http, endpoint, "10.0.0.3", {"10.0.0.2:2377", "10.0.0.4:2377"}, "SWMTKN-1-x", 1);
  (void)dm::swarm_tasks_on_node(http, endpoint, "node-id", 1);
  auto nodes = dm::swarm_nodes(http, endpoint, 1);
  if (nodes) {
    dm::NodeChange change;
    change.role = "manager";
    change.availability = "drain";
    change.labels = {{"tier", "app"}};
    for (const auto& node : *nodes) {
      (void)dm::changed_node_spec(node.spec, change);
      dm::testing::RecordingHttpClient update;
      update.push_response(200, "");
      (void)dm::swarm_update_node(update, endpoint, node, change, 1);
      (void)dm::swarm_remove_node(update, endpoint, node.id, true, 1);
    }
  }
}

} // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (size == 0) {
    return 0;
  }
  const int status = status_from(data[0]);
  const std::string body = dm::fuzz::as_text(data + 1, size - 1);
  check_answer(status, body);
  dm::fuzz::with_retyped_values(body, [&](const std::string& variant) { check_answer(status, variant); });
  return 0;
}
