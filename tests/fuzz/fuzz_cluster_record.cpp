// clusters/<name>/cluster.json (untrusted store content): parsing never aborts;
// a record that parses renders to text that parses again and renders the same. Each
// input is also tried with one value at a time of another type (fuzz_support.h).
#include "core/cluster_record.h"
#include "tests/fuzz/fuzz_support.h"

namespace {

void check_record(const std::string& text) {
  auto record = dm::parse_cluster_record(text);
  if (!record) {
    return;
  }
  (void)record->with_role(dm::NodeRole::manager);
  (void)record->with_role(dm::NodeRole::worker);
  std::string rendered = dm::render_cluster_record(*record);
  auto again = dm::parse_cluster_record(rendered);
  dm::fuzz::check(again.has_value(), "a rendered cluster record parses again", rendered);
  dm::fuzz::check(dm::render_cluster_record(*again) == rendered,
                  "rendering a re-parsed cluster record gives the same text", rendered);
}

} // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const std::string text = dm::fuzz::as_text(data, size);
  check_record(text);
  dm::fuzz::with_retyped_values(text, check_record);
  return 0;
}
