#pragma once
// Builds the engine set-up step (certificates, provisioning, TLS check) from the
// command context, for create, provision and cluster.
#include "cmd/cli.h"
#include "core/create_machine.h"

namespace dm {

EngineSetup engine_setup_for(CommandContext& context);

} // namespace dm
