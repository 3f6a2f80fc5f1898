#pragma once
// Builds the engine steps (certificates, provisioning, TLS check) from the
// command context, and finds a machine's engine for env/config/url/version.
#include "cmd/cli.h"
#include "core/create_machine.h"
#include "core/engine_setup.h"

namespace dm {

EngineSetup engine_setup_for(CommandContext& context, LiveRestore live_restore = LiveRestore::yes);

// The whole create workflow (driver from the table, SSH wait, engine) for one
// machine; safe to call from several threads for different names.
Result<MachineRecord> create_from_context(CommandContext& context, const CreateRequest& request,
                                          Progress& progress, LiveRestore live_restore);

struct EngineAddress {
  std::string host;
  int port = 2376;
};

// The engine address of a running machine; "Host is not running" otherwise.
Result<EngineAddress> running_engine_endpoint(LoadedMachine& machine);
// The same, after a TLS /_ping with the client certificate succeeded.
Result<EngineAddress> checked_engine_endpoint(CommandContext& context, LoadedMachine& machine);

// A shell to a running machine (host key verified), for provision/upgrade/regenerate-certs.
Result<std::unique_ptr<RemoteShell>> open_machine_shell(CommandContext& context,
                                                        LoadedMachine& machine);

} // namespace dm
