#include "cmd/engine_wiring.h"

namespace dm {

EngineSetup engine_setup_for(CommandContext& /*context*/) {
  return [](RemoteShell&, MachineRecord&, Progress&) -> Result<void> {
    return fail(ErrorKind::unsupported,
                "engine provisioning is not available yet; use --no-provision");
  };
}

} // namespace dm
