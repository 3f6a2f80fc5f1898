// An EC2 API answer (untrusted, from the network): every reader of ec2_xml takes any
// bytes; none may crash, and what it reads holds together.
#include "drivers/amazonec2/ec2_xml.h"
#include "tests/fuzz/fuzz_support.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const std::string body = dm::fuzz::as_text(data, size);
  if (auto error = dm::aws::parse_ec2_error(body)) {
    (void)error->code.size();
  }
  if (auto reservation = dm::aws::parse_instances(body)) {
    for (const auto& instance : reservation->instances) {
      dm::fuzz::check(instance.state_code >= 0 && instance.state_code <= 0xFF,
                      "a state code is its low byte");
    }
  }
  (void)dm::aws::parse_state_changes(body);
  (void)dm::aws::parse_security_groups(body);
  (void)dm::aws::parse_subnets(body);
  (void)dm::aws::parse_vpcs(body);
  if (auto images = dm::aws::parse_images(body)) {
    (void)dm::aws::newest_available_image(*images, "any");
  }
  (void)dm::aws::parse_import_key_pair(body);
  (void)dm::aws::parse_group_id(body);
  (void)dm::aws::parse_return(body);
  return 0;
}
