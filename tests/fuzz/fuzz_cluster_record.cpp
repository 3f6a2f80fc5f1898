// clusters/<name>/cluster.json (untrusted store content): parsing never aborts;
// a record that parses renders to text that parses again and renders the same.
#include "core/cluster_record.h"
#include "tests/fuzz/fuzz_support.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  auto record = dm::parse_cluster_record(dm::fuzz::as_text(data, size));
  if (!record) {
    return 0;
  }
  (void)record->with_role(dm::NodeRole::manager);
  (void)record->with_role(dm::NodeRole::worker);
  std::string rendered = dm::render_cluster_record(*record);
  auto again = dm::parse_cluster_record(rendered);
  dm::fuzz::check(again.has_value(), "a rendered cluster record parses again", rendered);
  dm::fuzz::check(dm::render_cluster_record(*again) == rendered,
                  "rendering a re-parsed cluster record gives the same text", rendered);
  return 0;
}
