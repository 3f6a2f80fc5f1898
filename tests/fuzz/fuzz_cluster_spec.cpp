// A cluster file (YAML written by a user): parsing, validation and planning never
// abort; a valid spec plans every node exactly once, the first manager initialising.
// A file in JSON (valid YAML too) is also tried with one value at a time of another type.
#include "core/cluster_spec.h"
#include "tests/fuzz/fuzz_support.h"

namespace {

void check_file(const std::string& text) {
  auto spec = dm::parse_cluster_file(text);
  if (!spec || !dm::validate_cluster_spec(*spec)) {
    return;
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
}

} // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const std::string text = dm::fuzz::as_text(data, size);
  check_file(text);
  dm::fuzz::with_retyped_values(text, check_file);
  return 0;
}
