#pragma once
// start, stop, restart, kill of one machine under its lock: the driver acts,
// and a started machine is waited for until SSH answers with the pinned key.
#include "app/app_context.h"

#include <string>

namespace dm {

enum class Action { start, stop, restart, kill };

struct ActionWords {
  const char* summary;
  const char* progressive; // "Starting"
  const char* past;        // "started"
};

ActionWords words_for(Action action);

struct ActionOutcome {
  std::string text;  // lines for stdout
  std::string error; // empty on success
};

// What the action did to the machine, as docker-machine prints it.
ActionOutcome apply_action(AppContext& context, const std::string& name, Action action);

} // namespace dm
