#include "app/lifecycle.h"

#include "app/ssh_access.h"
#include "core/engine_setup.h"

#include <cctype>
#include <algorithm>
#include <fmt/format.h>

namespace dm {

namespace {

constexpr int k_ssh_wait_seconds = 120;

// A cloud instance may come back with a new public IP (EC2 without an Elastic IP): the
// record, and the server certificate whose SANs name the IP, follow it.
Result<void> follow_new_ip(AppContext& context, LoadedMachine& machine, RemoteShell& shell) {
  const nlohmann::json now = machine.driver->config();
  const std::string old_ip = record_ip(machine.record);
  machine.record.driver = now;
  if (record_ip(machine.record) == old_ip) {
    return {};
  }
  DM_TRY(context.store.save(machine.record));
  std::error_code missing;
  if (!std::filesystem::exists(machine.record.auth.server_cert_path, missing)) {
    return {}; // no engine configured (--no-provision): nothing names the IP
  }
  Progress progress(context.err, progress_style_for_stderr(), machine.record.name + ": ");
  progress.note(fmt::format("the IP address changed from {} to {}: new server certificate",
                            old_ip, record_ip(machine.record)));
  EngineSetupDeps deps{context.store, context.http_client};
  DM_TRY(rotate_engine_certs(shell, machine.record, deps, RegenerateClient::no, progress));
  return context.store.save(machine.record);
}

} // namespace

ActionWords words_for(Action action) {
  switch (action) {
  case Action::start:
    return {"Start a machine", "Starting", "started"};
  case Action::stop:
    return {"Stop a machine", "Stopping", "stopped"};
  case Action::restart:
    return {"Restart a machine", "Restarting", "restarted"};
  case Action::kill:
    return {"Kill (abruptly force stop) a machine", "Killing", "killed"};
  }
  return {"", "", ""};
}

ActionOutcome apply_action(AppContext& context, const std::string& name, Action action) {
  ActionWords words = words_for(action);
  ActionOutcome outcome;
  if (!context.store.exists(name)) { // docker-machine's first and only line
    outcome.error = machine_not_found_message(name);
    return outcome;
  }
  outcome.text = fmt::format("{} \"{}\"...\n", words.progressive, name);
  auto lock = context.store.lock_machine(name, 30);
  if (!lock) {
    outcome.error = lock.error().message;
    return outcome;
  }
  auto machine = load_machine(context, name);
  if (!machine) {
    outcome.error = machine.error().message;
    return outcome;
  }
  Driver& driver = *machine->driver;
  auto state = driver.state();
  if (state && action == Action::start && *state == MachineState::running) {
    outcome.text += fmt::format("Machine \"{}\" is already running.\n", name);
    return outcome;
  }
  if (state && (action == Action::stop || action == Action::kill) &&
      *state == MachineState::stopped) {
    outcome.text += fmt::format("Machine \"{}\" is already stopped.\n", name);
    return outcome;
  }
  Result<void> result;
  switch (action) {
  case Action::start:
    result = driver.start();
    break;
  case Action::stop:
    result = driver.stop();
    break;
  case Action::restart:
    result = driver.restart();
    break;
  case Action::kill:
    result = driver.kill();
    break;
  }
  if (!result) {
    std::string verb = words.progressive;
    verb[0] = static_cast<char>(std::tolower(static_cast<unsigned char>(verb[0])));
    outcome.error = fmt::format("Error {} machine \"{}\": {}", verb, name, result.error().message);
    return outcome;
  }
  if (action == Action::start || action == Action::restart) {
    // Started means reachable: wait (bounded) until SSH answers with the pinned key; a VM
    // booting under emulation gets the driver's longer wait.
    auto shell = open_machine_session(*machine, "",
                                      std::max(k_ssh_wait_seconds, driver.ssh_wait_seconds()));
    if (!shell) {
      outcome.error = fmt::format("Machine \"{}\" was {}, but SSH does not answer: {}", name,
                                  words.past, shell.error().message);
      return outcome;
    }
    auto followed = follow_new_ip(context, *machine, **shell);
    if (!followed) {
      outcome.error = fmt::format("Machine \"{}\" was {} with a new IP address, but: {}", name,
                                  words.past, followed.error().message);
      return outcome;
    }
  }
  outcome.text += fmt::format("Machine \"{}\" was {}.\n", name, words.past);
  if (action == Action::start || action == Action::restart) {
    outcome.text += "Started machines may have new IP addresses. You may need to re-run the "
                    "`dmachine env` command.\n";
  }
  return outcome;
}

} // namespace dm
