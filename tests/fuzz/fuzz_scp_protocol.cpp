// SCP records a remote `scp -f` sends: parsing never aborts, and an accepted file or
// directory record always carries one safe path component (CVE-2019-6111).
#include "core/scp_protocol.h"
#include "tests/fuzz/fuzz_support.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  std::string text = dm::fuzz::as_text(data, size);
  auto record = dm::parse_scp_record(text);
  if (!record) {
    dm::fuzz::check(!record.error().message.empty(), "an error says why", text);
    return 0;
  }
  if (record->kind == dm::ScpRecordKind::file || record->kind == dm::ScpRecordKind::directory) {
    dm::fuzz::check(dm::is_safe_scp_name(record->text), "a name is one safe component", text);
    dm::fuzz::check(record->text.find('/') == std::string::npos, "a name has no '/'", text);
    dm::fuzz::check(record->mode >= 0 && record->mode <= 07777, "a mode is 4 octal digits", text);
  }
  return 0;
}
