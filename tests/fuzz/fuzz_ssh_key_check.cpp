// Private key files given with --generic-ssh-key: classifying any bytes never aborts,
// and a refusal always says why.
#include "core/ssh_key_check.h"
#include "tests/fuzz/fuzz_support.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  std::string text = dm::fuzz::as_text(data, size);
  auto type = dm::classify_private_key(text);
  if (!type) {
    dm::fuzz::check(!type.error().message.empty(), "a refusal says why", text);
  }
  return 0;
}
