// /etc/os-release as a remote host sends it: parsing and matching a family never abort.
#include "core/os_release.h"
#include "tests/fuzz/fuzz_support.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  auto release = dm::parse_os_release(dm::fuzz::as_text(data, size));
  if (!release) {
    return 0;
  }
  dm::fuzz::check(!release->id.empty(), "a parsed os-release has an ID");
  auto family = dm::match_os_family(*release);
  if (family) {
    dm::fuzz::check(*family != nullptr, "a matched family is a row of the table");
  }
  return 0;
}
