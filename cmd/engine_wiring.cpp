#include "cmd/engine_wiring.h"

#include "drivers/registry.h"
#include "ssh/keygen.h"
#include "ssh/ssh_shell.h"

#include <fmt/format.h>

namespace dm {

namespace {

constexpr int k_ping_timeout_seconds = 10;

} // namespace

EngineSetup engine_setup_for(CommandContext& context, LiveRestore live_restore) {
  return [&context, live_restore](RemoteShell& shell, MachineRecord& record,
                                  Progress& progress) -> Result<void> {
    EngineSetupDeps deps{context.store, context.http_client, live_restore};
    return setup_engine(shell, record, deps, progress);
  };
}

Result<MachineRecord> create_from_context(CommandContext& context, const CreateRequest& request,
                                          Progress& progress, LiveRestore live_restore) {
  const DriverEntry* entry = find_driver(request.driver_name);
  if (entry == nullptr) {
    return fail(ErrorKind::usage,
                fmt::format("Driver \"{}\" not found. Run 'dmachine create --help' for the "
                            "list of drivers.",
                            request.driver_name));
  }
  auto driver = entry->make(make_driver_context(context, request.name), nlohmann::json::object());
  CreateDeps deps{context.store,
                  *driver,
                  [wait = driver->ssh_wait_seconds()](const SshTarget& target) {
                    ConnectOptions options;
                    options.wait_seconds = wait;
                    return open_ssh_shell(target, options);
                  },
                  [](const std::filesystem::path& path, const std::string& comment) {
                    return generate_key_pair(path, comment);
                  },
                  engine_setup_for(context, live_restore),
                  progress};
  return create_machine(deps, request);
}

Result<EngineAddress> running_engine_endpoint(LoadedMachine& machine) {
  auto state = machine.driver->state();
  DM_TRY(state);
  if (*state != MachineState::running) {
    return fail(ErrorKind::not_running, "Host is not running");
  }
  auto ip = machine.driver->ip();
  DM_TRY(ip);
  return EngineAddress{*ip, machine.driver->engine_port()};
}

Result<EngineAddress> checked_engine_endpoint(CommandContext& context, LoadedMachine& machine) {
  auto address = running_engine_endpoint(machine);
  DM_TRY(address);
  auto endpoint = machine_engine_endpoint(machine.record, address->host, address->port);
  auto pinged = engine_ping(context.http_client, endpoint, k_ping_timeout_seconds);
  if (!pinged) {
    return fail(fmt::format(
        "Error checking TLS connection: {}\nYou can attempt to regenerate them using 'dmachine "
        "regenerate-certs {}' (or provision the engine with 'dmachine provision {}')",
        pinged.error().message, machine.record.name, machine.record.name));
  }
  return address;
}

Result<std::unique_ptr<RemoteShell>> open_machine_shell(CommandContext& context,
                                                        LoadedMachine& machine) {
  DM_TRY(require_running(machine, "Host is not running"));
  auto target = machine_ssh_target(machine);
  DM_TRY(target);
  auto shell = context.open_shell(*target);
  DM_TRY_CTX(shell, fmt::format("machine \"{}\"", machine.record.name));
  return shell;
}

} // namespace dm
