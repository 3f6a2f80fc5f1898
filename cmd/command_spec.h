#pragma once
// What the commands declare (flags, positionals, help texts), read from the command
// table itself: each command runs with --help against a CommandDescriber stream,
// and parse_command_line hands it the declared CLI::App instead of parsing. The
// completion scripts and the man pages are generated from this, never a second list.
#include "cmd/cli.h"

#include <optional>
#include <sstream>
#include <string>
#include <vector>

namespace dm {

struct FlagSpec {
  std::vector<std::string> names; // "--driver", "-d"
  bool takes_value = false;
  std::string help;
  std::string default_value;
  std::string env_var;
  bool hidden = false; // create's driver flags: listed per driver, not in the option list
};

struct CommandSpec {
  std::string name;    // "create", "cluster create"
  std::string summary; // the command table's line
  std::string description; // the help text before the options ("Usage: ..." included)
  std::string footer;
  std::vector<FlagSpec> flags;
  std::vector<std::string> positional_types; // k_machine_arg, k_cluster_arg or ""
  std::vector<CommandSpec> subcommands;
};

// The stream a described command prints to: parse_command_line fills spec from the
// app it was given; a command that only prints text leaves that text here.
class CommandDescriber : public std::ostringstream {
public:
  void take(const CLI::App& app);
  std::optional<CommandSpec> spec;
};

// Every command of the table (hidden ones left out), cluster's subcommands under it.
// Runs only the --help paths: reads nothing from the store, contacts nothing.
std::vector<CommandSpec> describe_commands(AppContext& context);

struct GlobalFlag {
  const char* long_name;
  const char* short_name; // nullptr when none
  const char* value_name; // nullptr for a flag that takes no value
  const char* help;
  const char* env_var; // nullptr when none
};
// The global flags (before the command), as `dmachine --help` lists them.
const std::vector<GlobalFlag>& global_flags();

} // namespace dm
