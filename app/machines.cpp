#include "app/machines.h"

#include "app/debug_driver.h"

#include "drivers/registry.h"
#include "ssh/ssh_shell.h"

#include <algorithm>
#include <fmt/format.h>
#include <map>
#include <mutex>
#include <ostream>

namespace dm {

namespace {

constexpr int k_start_ssh_wait_seconds = 120;

// What a driver writes for a new machine: only its keys' types are used (to check a
// stored record), so one per driver serves every machine; ls asks from several threads.
nlohmann::json driver_defaults(const DriverEntry& entry, const DriverContext& driver_context) {
  static std::mutex mutex;
  static std::map<std::string, nlohmann::json> defaults;
  std::lock_guard lock(mutex);
  auto found = defaults.find(entry.name);
  if (found == defaults.end()) {
    found = defaults
                .emplace(entry.name,
                         entry.make(driver_context, nlohmann::json::object())->config())
                .first;
  }
  return found->second;
}

} // namespace

DriverContext make_driver_context(AppContext& context, const std::string& name) {
  DriverContext driver_context;
  driver_context.machine_name = name;
  driver_context.store_path = context.store.root();
  driver_context.machine_dir = context.store.machine_dir(name);
  driver_context.process_runner = &context.process_runner;
  driver_context.http_client = &context.http_client;
  driver_context.open_shell = context.open_shell;
  return driver_context;
}

Result<std::unique_ptr<Driver>> make_machine_driver(AppContext& context,
                                                    const MachineRecord& record) {
  const DriverEntry* entry = find_driver(record.driver_name);
  if (entry == nullptr) {
    return fail(fmt::format("machine \"{}\" uses driver {}, which this dmachine does not have "
                            "(see 'dmachine create --help' for the drivers it has)",
                            record.name, quoted_for_display(record.driver_name)));
  }
  const DriverContext driver_context = make_driver_context(context, record.name);
  try {
    auto checked = checked_driver_config(record.driver, driver_defaults(*entry, driver_context));
    if (!checked) { // "<store>/machines/NAME/config.json: Driver.SSHPort: expected integer"
      return fail((context.store.machine_dir(record.name) / "").string() +
                  checked.error().message);
    }
    return with_debug_log(entry->make(driver_context, *checked), entry->name);
  } catch (const nlohmann::json::exception& error) {
    // A driver reading a key this check does not know about.
    return fail(fmt::format("machine \"{}\": config.json: Driver: {}", record.name, error.what()));
  }
}

Result<LoadedMachine> load_machine(AppContext& context, const std::string& name) {
  auto record = context.store.load(name);
  DM_TRY(record);
  auto driver = make_machine_driver(context, *record);
  DM_TRY(driver);
  return LoadedMachine{context.store.machine_dir(name), std::move(*record), std::move(*driver)};
}

Result<void> require_running(LoadedMachine& machine, const std::string& message) {
  if (machine.driver->state_check() == StateCheck::network) {
    return {};
  }
  auto state = machine.driver->state();
  DM_TRY(state);
  if (*state != MachineState::running) {
    return fail(ErrorKind::not_running, message);
  }
  return {};
}

Result<void> require_all_running(AppContext& context, const std::vector<std::string>& names) {
  for (const auto& name : names) {
    auto machine = load_machine(context, name);
    DM_TRY(machine);
    DM_TRY_CTX(require_running(*machine, "Host is not running"),
               fmt::format("machine \"{}\" (nothing was changed; start it first)", name));
  }
  return {};
}

Result<SshTarget> machine_ssh_target(LoadedMachine& machine) {
  auto target = machine.driver->ssh_target();
  DM_TRY(target);
  if (target->known_hosts_path.empty()) {
    target->known_hosts_path = machine.dir / "known_hosts";
  }
  return target;
}

Result<std::unique_ptr<RemoteShell>> open_machine_shell(AppContext& context,
                                                        LoadedMachine& machine,
                                                        StartStopped start) {
  if (start == StartStopped::yes && machine.driver->state_check() != StateCheck::network) {
    auto state = machine.driver->state();
    DM_TRY(state);
    if (*state == MachineState::stopped) {
      context.out << "Starting machine so machine can be upgraded...\n" << std::flush;
      DM_TRY_CTX(machine.driver->start(), "start the machine");
      auto target = machine_ssh_target(machine);
      DM_TRY(target);
      ConnectOptions options;
      options.wait_seconds =
          std::max(k_start_ssh_wait_seconds, machine.driver->ssh_wait_seconds());
      auto shell = open_ssh_shell(*target, options);
      DM_TRY_CTX(shell, "the machine was started, but SSH does not answer");
      return shell;
    }
  }
  DM_TRY(require_running(machine, "Host is not running"));
  auto target = machine_ssh_target(machine);
  DM_TRY(target);
  auto shell = context.open_shell(*target);
  DM_TRY_CTX(shell, fmt::format("machine \"{}\"", machine.record.name));
  return shell;
}

Result<void> with_machine_shell(AppContext& context, const std::string& name, StartStopped start,
                                const MachineWork& work) {
  auto lock = context.store.lock_machine(name, 60);
  DM_TRY(lock);
  auto machine = load_machine(context, name);
  DM_TRY(machine);
  auto shell = open_machine_shell(context, *machine, start);
  DM_TRY(shell);
  StderrProgress progress(context.err, name + ": ");
  DM_TRY(work(**shell, *machine, progress));
  return context.store.save(machine->record);
}

Result<std::string> remove_machine(AppContext& context, const std::string& name, bool force) {
  if (!context.store.exists(name)) {
    return fail(ErrorKind::not_found, machine_not_found_message(name));
  }
  auto lock = context.store.lock_machine(name, 60);
  DM_TRY(lock);
  if (!context.store.exists(name)) { // removed by another process while we waited
    return fail(ErrorKind::not_found, machine_not_found_message(name));
  }
  std::string note;
  auto machine = load_machine(context, name);
  if (!machine) {
    if (!force) {
      return fail(machine.error().with_context(
          "Error removing host \"" + name + "\"; use -f to remove the store entry anyway"));
    }
    context.err << fmt::format("Warning: {}; removing the store entry only\n",
                               machine.error().message);
  } else {
    const DriverEntry* entry = find_driver(machine->record.driver_name);
    note = entry != nullptr ? entry->remove_note : "";
    auto removed = machine->driver->remove();
    if (!removed) {
      if (!force) {
        return fail(removed.error().with_context(
            "Error removing host \"" + name +
            "\" (use -f to remove the local configuration even if the machine cannot be removed)"));
      }
      context.err << fmt::format("Warning: could not remove the machine itself: {}\n",
                                 removed.error().message);
    }
  }
  DM_TRY(context.store.remove_machine_dir(name));
  return note;
}

} // namespace dm
