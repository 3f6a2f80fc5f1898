#pragma once
// A machine of the store with its driver: loading it (the record is untrusted),
// reaching it over SSH, running work on it under its lock, removing it.
#include "app/app_context.h"
#include "core/driver.h"
#include "core/progress.h"

#include <filesystem>
#include <functional>
#include <memory>
#include <string>
#include <vector>

namespace dm {

// A loaded machine and its driver, built from the stored record.
struct LoadedMachine {
  std::filesystem::path dir; // <store>/machines/<name>
  MachineRecord record;
  std::unique_ptr<Driver> driver;
};
Result<LoadedMachine> load_machine(AppContext& context, const std::string& name);
// The driver of a loaded record; its "Driver" object is checked against the types the
// driver writes first, so a field of the wrong type is an error, never an exception.
Result<std::unique_ptr<Driver>> make_machine_driver(AppContext& context,
                                                    const MachineRecord& record);
DriverContext make_driver_context(AppContext& context, const std::string& name);

// Fails with ErrorKind::not_running and message unless the machine runs. For
// drivers whose state check is a network probe, nothing is checked here: the
// SSH connection that follows is the check (one connection instead of two).
Result<void> require_running(LoadedMachine& machine, const std::string& message);
// require_running for every name, each failure naming its machine ("nothing was changed").
Result<void> require_all_running(AppContext& context, const std::vector<std::string>& names);

// The SSH target of a machine (the driver's, with the machine's known_hosts).
Result<SshTarget> machine_ssh_target(LoadedMachine& machine);

// A shell to a running machine (host key verified). With StartStopped::yes a
// stopped machine is started first (as docker-machine's upgrade does) and left running.
enum class StartStopped { no, yes };
Result<std::unique_ptr<RemoteShell>> open_machine_shell(AppContext& context,
                                                        LoadedMachine& machine,
                                                        StartStopped start = StartStopped::no);

// Under the machine's lock: load it, open its shell, run work, save the record.
using MachineWork = std::function<Result<void>(RemoteShell&, LoadedMachine&, Progress&)>;
Result<void> with_machine_shell(AppContext& context, const std::string& name, StartStopped start,
                                const MachineWork& work);

// rm of one machine: the driver frees it, then its store entry goes. Returns the
// driver's note (e.g. "the server was left alone"). force: remove the entry even
// when the machine cannot be removed or its record is unreadable.
Result<std::string> remove_machine(AppContext& context, const std::string& name, bool force);

} // namespace dm
