#include "core/machine_state.h"

namespace dm {

std::string_view to_string(MachineState state) {
  switch (state) {
  case MachineState::none:
    return "";
  case MachineState::running:
    return "Running";
  case MachineState::paused:
    return "Paused";
  case MachineState::saved:
    return "Saved";
  case MachineState::stopped:
    return "Stopped";
  case MachineState::stopping:
    return "Stopping";
  case MachineState::starting:
    return "Starting";
  case MachineState::error:
    return "Error";
  case MachineState::timeout:
    return "Timeout";
  }
  return "";
}

} // namespace dm
