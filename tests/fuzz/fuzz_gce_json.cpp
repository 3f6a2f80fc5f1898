// A Compute Engine answer (untrusted, from the network): instance, operation and error
// readers take any bytes without crashing.
#include "drivers/google/gce_json.h"
#include "tests/fuzz/fuzz_support.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const std::string body = dm::fuzz::as_text(data, size);
  if (auto instance = dm::google::parse_gce_instance(body)) {
    dm::fuzz::check(!instance->name.empty(), "an accepted instance has a name");
    (void)dm::google::gce_machine_state(instance->status);
  }
  if (auto operation = dm::google::parse_gce_operation(body)) {
    dm::fuzz::check(!operation->status.empty(), "an accepted operation has a status");
  }
  (void)dm::google::parse_gce_error(body);
  return 0;
}
