#pragma once
// Compute Engine v1 answers (JSON, untrusted) read into plain structs: an instance,
// an operation (whose error shows only inside it once DONE), and an API error.
#include "core/machine_state.h"
#include "core/result.h"

#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace dm::google {

struct GceInstance {
  std::string name;
  std::string status;     // PROVISIONING, STAGING, RUNNING, STOPPING, STOPPED, TERMINATED, ...
  std::string network_ip; // networkInterfaces[0].networkIP
  std::string nat_ip;     // networkInterfaces[0].accessConfigs[0].natIP; "" when released
  std::vector<std::string> tags;
};
Result<GceInstance> parse_gce_instance(std::string_view body);

// docker-machine's mapping: PROVISIONING/STAGING Starting, RUNNING Running,
// STOPPING/STOPPED/TERMINATED Stopped (TERMINATED means stopped, not deleted).
MachineState gce_machine_state(const std::string& status);

struct GceOperationError {
  std::string code;
  std::string message;
};
struct GceOperation {
  std::string name;
  std::string status; // PENDING, RUNNING, DONE
  std::string operation_type;
  std::string target_link;
  std::string self_link;
  std::string zone; // "" for a global operation
  int http_error_status = 0;
  std::vector<GceOperationError> errors;
  [[nodiscard]] bool done() const { return status == "DONE"; }
};
Result<GceOperation> parse_gce_operation(std::string_view body);

// {"error": {"code", "message", "errors": [{"reason", ...}]}}; nothing for another body.
struct GceApiError {
  int code = 0;
  std::string message;
  std::string reason; // notFound, alreadyExists, ...
};
std::optional<GceApiError> parse_gce_error(std::string_view body);

} // namespace dm::google
