#pragma once
// The engine workflows: create (driver, SSH wait, engine), provision, renew
// certificates, upgrade; and a machine's engine for env/config/url/version.
#include "app/machines.h"
#include "core/create_machine.h"
#include "core/engine_setup.h"

namespace dm {

EngineSetup engine_setup_for(AppContext& context, LiveRestore live_restore = LiveRestore::yes);

// The whole create workflow (driver from the table, SSH wait, engine) for one
// machine; safe to call from several threads for different names.
Result<MachineRecord> create_from_context(AppContext& context, const CreateRequest& request,
                                          Progress& progress, LiveRestore live_restore);

struct EngineAddress {
  std::string host;
  int port = 2376;
};

// The engine address of a running machine; "Host is not running" otherwise.
Result<EngineAddress> running_engine_endpoint(LoadedMachine& machine);
// The same, after a TLS /_ping with the client certificate succeeded.
Result<EngineAddress> checked_engine_endpoint(AppContext& context, LoadedMachine& machine);

// The env variables of a running machine whose engine answered, as shell code.
struct EnvRequest {
  std::string shell; // "" = from $SHELL
  bool no_proxy = false;
  std::string hint_command; // "dmachine env NAME"
};
Result<std::string> machine_env_code(AppContext& context, LoadedMachine& machine,
                                     const EnvRequest& request);

// Work for with_machine_shell: provision the engine (idempotent); renew the
// machine's server certificate and restart dockerd; upgrade the engine and wait
// until it answers.
MachineWork provision_work(AppContext& context);
MachineWork regenerate_certs_work(AppContext& context);
MachineWork upgrade_work(AppContext& context);

} // namespace dm
