// scp arguments [[user@]machine:]path: parsing never aborts, a machine part is always
// a valid machine name (it picks a store directory), and a remote path is never empty.
#include "core/machine_record.h"
#include "core/scp_path.h"
#include "tests/fuzz/fuzz_support.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  std::string text = dm::fuzz::as_text(data, size);
  auto location = dm::parse_scp_location(text);
  if (!location) {
    return 0;
  }
  if (location->machine.empty()) {
    dm::fuzz::check(location->user.empty(), "a local location has no user", text);
    return 0;
  }
  dm::fuzz::check(dm::is_valid_machine_name(location->machine),
                  "the machine part is a valid machine name", text);
  dm::fuzz::check(!location->path.empty(), "a remote path is never empty", text);
  dm::fuzz::check(location->user.find('@') == std::string::npos, "a user has no '@'", text);
  return 0;
}
