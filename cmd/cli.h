#pragma once
// What every command gets: global options, the store, real I/O implementations,
// and small helpers shared by the command files.
#include "core/driver.h"
#include "core/http_client.h"
#include "core/machine_store.h"
#include "core/process_runner.h"
#include "core/remote_shell.h"

#include <CLI/CLI.hpp>
#include <iosfwd>
#include <memory>
#include <string>
#include <vector>

namespace dm {

struct GlobalOptions {
  std::string storage_path;
  bool debug = false;
  bool native_ssh = false;
  std::string tls_ca_cert;
  std::string tls_ca_key;
  std::string tls_client_cert;
  std::string tls_client_key;
};

struct CommandContext {
  GlobalOptions globals;
  MachineStore store;
  ProcessRunner& process_runner;
  HttpClient& http_client;
  ShellFactory open_shell;
  std::ostream& out; // results (eval-safe)
  std::ostream& err; // progress and errors
};

// A command body: gets the arguments after its name; returns the exit code or an error.
using CommandFn = Result<int> (*)(CommandContext& context, std::vector<std::string> args);

// Parses args into app; prints help (returns 0) or turns a CLI11 error into a usage error.
// Returns std::nullopt when parsing succeeded and the command should run.
std::optional<Result<int>> parse_command_line(CLI::App& app, std::vector<std::string> args,
                                              std::ostream& out);

// Machine names from the arguments, or "default" when none are given and it exists.
Result<std::vector<std::string>> names_or_default(const CommandContext& context,
                                                  const std::vector<std::string>& names);
// Exactly one name (or "default" when none is given).
Result<std::string> one_name_or_default(const CommandContext& context,
                                        const std::vector<std::string>& names);

// A loaded machine and its driver, built from the stored record.
struct LoadedMachine {
  std::filesystem::path dir; // <store>/machines/<name>
  MachineRecord record;
  std::unique_ptr<Driver> driver;
};
Result<LoadedMachine> load_machine(CommandContext& context, const std::string& name);
// The driver of a loaded record; its "Driver" object is checked against the types the
// driver writes first, so a field of the wrong type is an error, never an exception.
Result<std::unique_ptr<Driver>> make_machine_driver(CommandContext& context,
                                                    const MachineRecord& record);
// one_name_or_default, then load_machine.
Result<LoadedMachine> load_one_machine(CommandContext& context, const std::vector<std::string>& names);
DriverContext make_driver_context(CommandContext& context, const std::string& name);

// Fails with ErrorKind::not_running and message unless the machine runs. For
// drivers whose state check is a network probe, nothing is checked here: the
// SSH connection that follows is the check (one connection instead of two).
Result<void> require_running(LoadedMachine& machine, const std::string& message);

// The SSH target of a machine (the driver's, with the machine's known_hosts).
Result<SshTarget> machine_ssh_target(LoadedMachine& machine);

} // namespace dm
