#pragma once
// Machine states as docker-machine prints them.
#include <string>
#include <string_view>

namespace dm {

enum class MachineState { none, running, paused, saved, stopped, stopping, starting, error, timeout };

// "Running", "Stopped", ... (docker-machine's words); none is "".
std::string_view to_string(MachineState state);

} // namespace dm
