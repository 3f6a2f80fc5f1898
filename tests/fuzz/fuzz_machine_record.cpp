// config.json of a machine (untrusted: users bring docker-machine stores): parsing
// never aborts; a record that parses renders to a document that parses again and
// renders the same (the store rewrites records it loaded); and the record's driver
// is built from its "Driver" object as ls and rm build it, which never aborts either
// (every driver of the table is tried, whatever DriverName says). Each input is also
// tried with one value at a time of another type (fuzz_support.h).
#include "core/machine_record.h"
#include "drivers/registry.h"
#include "tests/fuzz/fuzz_support.h"

namespace {

void check_record(const std::string& text) {
  auto record = dm::parse_machine_record(text);
  if (!record) {
    return;
  }
  (void)dm::to_json(*record);
  (void)dm::to_ordered_json(*record);
  std::string rendered = dm::render_machine_record(*record);
  auto again = dm::parse_machine_record(rendered);
  dm::fuzz::check(again.has_value(), "a rendered record parses again", rendered);
  dm::fuzz::check(dm::render_machine_record(*again) == rendered,
                  "rendering a re-parsed record gives the same text", rendered);

  dm::DriverContext context;
  context.machine_name = record->name;
  context.store_path = "/nonexistent-store";
  context.machine_dir = context.store_path / "machines" / record->name;
  // As ls and rm build a driver (make_machine_driver): the record's Driver object is
  // checked against the types the driver itself writes, then handed to it.
  for (const auto& entry : dm::driver_table()) {
    const nlohmann::json defaults = entry.make(context, nlohmann::json::object())->config();
    auto checked = dm::checked_driver_config(record->driver, defaults);
    if (!checked) {
      continue;
    }
    auto driver = entry.make(context, *checked);
    dm::fuzz::check(driver != nullptr, "a driver is built");
    (void)driver->config();
    (void)driver->engine_port();
    (void)driver->state_check();
    (void)driver->ssh_wait_seconds();
  }
}

} // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const std::string text = dm::fuzz::as_text(data, size);
  check_record(text);
  dm::fuzz::with_retyped_values(text, check_record);
  return 0;
}
