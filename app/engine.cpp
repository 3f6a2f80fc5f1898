#include "app/engine.h"

#include "app/debug_driver.h"

#include "app/machine_status.h"
#include "core/shell_env.h"

#include "drivers/registry.h"
#include "ssh/keygen.h"
#include "ssh/ssh_shell.h"

#include <cstdlib>
#include <fmt/format.h>
#include <ostream>

namespace dm {

namespace {

constexpr int k_ping_timeout_seconds = 10;
constexpr int k_upgrade_wait_seconds = 60;

} // namespace

EngineSetup engine_setup_for(AppContext& context, LiveRestore live_restore) {
  return [&context, live_restore](RemoteShell& shell, MachineRecord& record,
                                  Progress& progress) -> Result<void> {
    EngineSetupDeps deps{context.store, context.http_client, live_restore};
    return setup_engine(shell, record, deps, progress);
  };
}

Result<MachineRecord> create_from_context(AppContext& context, const CreateRequest& request,
                                          Progress& progress, LiveRestore live_restore) {
  auto entry = find_driver_or_fail(request.driver_name);
  DM_TRY(entry);
  auto driver = with_debug_log(
      (*entry)->make(make_driver_context(context, request.name), nlohmann::json::object()),
      (*entry)->name);
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

Result<EngineAddress> checked_engine_endpoint(AppContext& context, LoadedMachine& machine) {
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

Result<std::string> machine_env_code(AppContext& context, LoadedMachine& machine,
                                     const EnvRequest& request) {
  ShellKind kind = shell_kind_from_env(std::getenv("SHELL"));
  if (!request.shell.empty()) {
    auto parsed = parse_shell_kind(request.shell);
    DM_TRY(parsed);
    kind = *parsed;
  }
  auto endpoint = checked_engine_endpoint(context, machine);
  DM_TRY(endpoint);
  EnvVars vars = {{"DOCKER_TLS_VERIFY", "1"},
                  {"DOCKER_HOST", engine_url(endpoint->host, endpoint->port)},
                  {"DOCKER_CERT_PATH", machine.dir.string()},
                  {"DOCKER_MACHINE_NAME", machine.record.name}};
  if (request.no_proxy) {
    std::string existing = env_value("no_proxy");
    if (existing.empty()) {
      existing = env_value("NO_PROXY");
    }
    vars.emplace_back("NO_PROXY", no_proxy_value(existing, endpoint->host));
  }
  DM_TRY(check_env_values(kind, vars));
  return render_env_set(kind, vars, request.hint_command);
}

MachineWork provision_work(AppContext& context) {
  return [&context](RemoteShell& shell, LoadedMachine& machine, Progress& progress) {
    EngineSetupDeps deps{context.store, context.http_client};
    return setup_engine(shell, machine.record, deps, progress);
  };
}

MachineWork regenerate_certs_work(AppContext& context) {
  return [&context](RemoteShell& shell, LoadedMachine& machine, Progress& progress) {
    context.out << "Regenerating TLS certificates\n";
    // A cloud instance's IP may have changed since the record was written: the driver knows.
    machine.record.driver = machine.driver->config();
    EngineSetupDeps deps{context.store, context.http_client};
    return rotate_engine_certs(shell, machine.record, deps, RegenerateClient::no, progress);
  };
}

MachineWork upgrade_work(AppContext& context) {
  return [&context](RemoteShell& shell, LoadedMachine& machine,
                    Progress& progress) -> Result<void> {
    DM_TRY(upgrade_engine(shell, progress));
    return wait_for_engine(context.http_client,
                           machine_engine_endpoint(machine.record, record_ip(machine.record),
                                                   record_engine_port(machine.record)),
                           k_upgrade_wait_seconds);
  };
}

} // namespace dm
