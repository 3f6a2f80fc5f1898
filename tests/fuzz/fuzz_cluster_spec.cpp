// A cluster file (YAML written by a user): parsing, validation and planning never
// abort; a valid spec plans every node exactly once, the first manager initialising.
#include "core/cluster_spec.h"
#include "tests/fuzz/fuzz_support.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  auto spec = dm::parse_cluster_file(dm::fuzz::as_text(data, size));
  if (!spec) {
    return 0;
  }
  if (!dm::validate_cluster_spec(*spec)) {
    return 0;
  }
  int managers = 0;
  for (const auto& node : spec->nodes) {
    managers += node.role == dm::NodeRole::manager ? 1 : 0;
  }
  (void)dm::quorum_warning(managers);
  auto plan = dm::plan_cluster(spec->nodes);
  dm::fuzz::check(!plan.init_node.empty(), "a valid spec has a node that inits");
  dm::fuzz::check(1 + plan.manager_joins.size() + plan.worker_joins.size() == spec->nodes.size(),
                  "the plan covers every node once");
  return 0;
}
