#pragma once
// What every command gets (the app context: global options, the store, real I/O
// implementations) and the helpers the command files share: parsing, machine names.
#include "app/app_context.h"
#include "app/machines.h"

#include <CLI/CLI.hpp>
#include <iosfwd>
#include <memory>
#include <string>
#include <vector>

namespace dm {

// Type names of positionals that name existing machines or clusters: completion
// offers the store's names there (`app.add_option("names", names)->type_name(k_machine_arg)`).
inline constexpr const char* k_machine_arg = "MACHINE";
inline constexpr const char* k_cluster_arg = "CLUSTER";

// A command body: gets the arguments after its name; returns the exit code or an error.
using CommandFn = Result<int> (*)(AppContext& context, std::vector<std::string> args);

// Parses args into app; prints help (returns 0) or turns a CLI11 error into a usage error.
// Returns std::nullopt when parsing succeeded and the command should run.
std::optional<Result<int>> parse_command_line(CLI::App& app, std::vector<std::string> args,
                                              std::ostream& out);

// Machine names from the arguments, or "default" when none are given and it exists.
Result<std::vector<std::string>> names_or_default(const AppContext& context,
                                                  const std::vector<std::string>& names);
// Exactly one name (or "default" when none is given).
Result<std::string> one_name_or_default(const AppContext& context,
                                        const std::vector<std::string>& names);

// one_name_or_default, then load_machine.
Result<LoadedMachine> load_one_machine(AppContext& context, const std::vector<std::string>& names);

} // namespace dm
