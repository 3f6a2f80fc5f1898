// dmachine: parses the global flags, dispatches to the command table, and is
// the one place that turns errors into messages and exit codes.
#include "app/ssh_access.h"
#include "cmd/command_spec.h"
#include "cmd/commands.h"
#include "cmd/man_pages.h"
#include "drivers/registry.h"
#include "core/curl_http_client.h"
#include "core/debug_log.h"
#include "core/interrupt.h"

#include <algorithm>
#include <cstdlib>
#include <fmt/format.h>
#include <iostream>

namespace {

using dm::AppContext;
using dm::ErrorKind;
using dm::GlobalOptions;

std::string env_or(const char* name, const std::string& fallback) {
  const char* value = std::getenv(name);
  return value != nullptr && *value != '\0' ? std::string(value) : fallback;
}

void print_usage(std::ostream& out) {
  out << "Usage: dmachine [OPTIONS] COMMAND [arg...]\n\n"
         "Create and manage machines running Docker.\n\n"
         "Options:\n";
  for (const auto& flag : dm::global_flags()) {
    std::string left = flag.long_name;
    if (flag.short_name != nullptr) {
      left += fmt::format(", {}", flag.short_name);
    }
    if (flag.value_name != nullptr) {
      left += fmt::format(" {}", flag.value_name);
    }
    std::string env = flag.env_var != nullptr ? fmt::format(" [${}]", flag.env_var) : "";
    out << fmt::format("  {:<28} {}{}\n", left, flag.help, env);
  }
  out << "\nCommands:\n";
  for (const auto& entry : dm::command_table()) {
    out << fmt::format("  {:<18}{}\n", entry.name, entry.summary);
  }
  out << "\nRun 'dmachine COMMAND --help' for more information on a command.\n";
}

int exit_code_for(ErrorKind kind) {
  switch (kind) {
  case ErrorKind::precreate:
    return 3;
  case ErrorKind::interrupted:
    return 130;
  default:
    return 1;
  }
}

// Help needs no store: `-s /a/file create --help` still shows the help.
bool asks_for_help(const std::vector<std::string>& args) {
  return std::any_of(args.begin(), args.end(),
                     [](const std::string& arg) { return arg == "--help" || arg == "-h"; });
}

// Splits the global flags off the front of args; returns the index of the command.
dm::Result<size_t> parse_globals(const std::vector<std::string>& args, GlobalOptions& globals) {
  size_t i = 0;
  auto value_of = [&](const std::string& arg, const std::string& flag) -> dm::Result<std::string> {
    if (arg.size() > flag.size() && arg.compare(0, flag.size() + 1, flag + "=") == 0) {
      return arg.substr(flag.size() + 1);
    }
    if (i + 1 >= args.size()) {
      return dm::fail(ErrorKind::usage, fmt::format("flag needs an argument: {}", flag));
    }
    return args[++i];
  };
  struct ValueFlag {
    const char* long_name;
    const char* short_name;
    std::string* target;
  };
  const ValueFlag value_flags[] = {{"--storage-path", "-s", &globals.storage_path},
                                   {"--tls-ca-cert", nullptr, &globals.tls_ca_cert},
                                   {"--tls-ca-key", nullptr, &globals.tls_ca_key},
                                   {"--tls-client-cert", nullptr, &globals.tls_client_cert},
                                   {"--tls-client-key", nullptr, &globals.tls_client_key}};
  for (; i < args.size(); ++i) {
    const std::string& arg = args[i];
    if (arg.empty() || arg[0] != '-') {
      return i;
    }
    if (arg == "--debug" || arg == "-D") {
      globals.debug = true;
      continue;
    }
    if (arg == "--native-ssh") {
      globals.native_ssh = true;
      continue;
    }
    bool matched = false;
    for (const auto& flag : value_flags) {
      bool is_long = arg == flag.long_name || arg.rfind(std::string(flag.long_name) + "=", 0) == 0;
      bool is_short = flag.short_name != nullptr && arg == flag.short_name;
      if (is_long || is_short) {
        auto value = value_of(arg, is_long ? flag.long_name : flag.short_name);
        DM_TRY(value);
        *flag.target = *value;
        matched = true;
        break;
      }
    }
    if (!matched) {
      return i; // --help, --version, or an unknown flag: the caller decides
    }
  }
  return i;
}

// docker-machine's --tls-* flags name the CA and client certificate to use instead of
// the store's. dmachine keeps them in <store>/certs only: a flag naming another file is
// refused with what to do, never ignored.
dm::Result<void> check_tls_globals(const GlobalOptions& globals, const std::filesystem::path& store) {
  const struct {
    const char* flag;
    const std::string* value;
    const char* file;
  } tls_flags[] = {{"--tls-ca-cert", &globals.tls_ca_cert, "ca.pem"},
                   {"--tls-ca-key", &globals.tls_ca_key, "ca-key.pem"},
                   {"--tls-client-cert", &globals.tls_client_cert, "cert.pem"},
                   {"--tls-client-key", &globals.tls_client_key, "key.pem"}};
  for (const auto& tls : tls_flags) {
    if (tls.value->empty()) {
      continue;
    }
    std::error_code ec;
    const auto given = std::filesystem::weakly_canonical(*tls.value, ec);
    const auto store_file = store / "certs" / tls.file;
    if (!ec && given == std::filesystem::weakly_canonical(store_file, ec)) {
      continue; // what dmachine uses anyway
    }
    return dm::fail(ErrorKind::usage,
                    fmt::format("{} {} (or its $MACHINE_TLS_* variable): dmachine uses the "
                                "certificates of its store, {}; to use your own CA, put its "
                                "ca.pem and ca-key.pem in {} before the first create",
                                tls.flag, *tls.value, store_file.string(),
                                (store / "certs").string()));
  }
  return {};
}

// The hidden `dmachine __man DIR` (run at build time): every man page into DIR.
// Describing the commands runs only their --help paths, so no store is needed.
int write_man_pages(const GlobalOptions& globals, const std::vector<std::string>& args) {
  if (args.size() != 1) {
    std::cerr << "Usage: dmachine __man DIR\n";
    return 1;
  }
  dm::SystemProcessRunner process_runner;
  dm::CurlHttpClient http_client;
  AppContext context{globals,   dm::MachineStore("/nonexistent/dmachine-man"),
                     process_runner, http_client, dm::ssh_shell_factory(), std::cout, std::cerr};
  for (const auto& page : dm::man_pages(dm::describe_commands(context), dm::global_flags(),
                                        dm::driver_table(), DMACHINE_VERSION)) {
    if (auto written = dm::write_file_atomic(std::filesystem::path(args[0]) / page.file_name,
                                             page.text, 0644);
        !written) {
      std::cerr << written.error().message << "\n";
      return 1;
    }
  }
  return 0;
}

int run(const std::vector<std::string>& args) {
  GlobalOptions globals;
  globals.storage_path = env_or("MACHINE_STORAGE_PATH", "");
  globals.tls_ca_cert = env_or("MACHINE_TLS_CA_CERT", "");
  globals.tls_ca_key = env_or("MACHINE_TLS_CA_KEY", "");
  globals.tls_client_cert = env_or("MACHINE_TLS_CLIENT_CERT", "");
  globals.tls_client_key = env_or("MACHINE_TLS_CLIENT_KEY", "");
  globals.debug = !env_or("MACHINE_DEBUG", "").empty();

  auto command_index = parse_globals(args, globals);
  if (!command_index) {
    std::cerr << command_index.error().message << "\n";
    return 1;
  }
  if (globals.debug) {
    dm::enable_debug_log(std::cerr);
  }
  if (*command_index >= args.size()) {
    print_usage(std::cout);
    return 0;
  }
  std::string name = args[*command_index];
  std::vector<std::string> command_args(args.begin() + static_cast<long>(*command_index) + 1,
                                        args.end());
  if (name == "help" && !command_args.empty()) {
    // `dmachine help create` is `dmachine create --help`, as docker-machine has it.
    name = command_args.front();
    command_args = {"--help"};
  } else if (name == "--help" || name == "-h" || name == "help") {
    print_usage(std::cout);
    return 0;
  }
  if (name == "--version" || name == "-v") {
    std::cout << "dmachine version " << DMACHINE_VERSION << "\n";
    return 0;
  }
  if (name == "__man") {
    return write_man_pages(globals, command_args);
  }
  if (name[0] == '-') {
    std::cerr << fmt::format("flag provided but not defined: {}\nRun 'dmachine --help' for usage.\n",
                             name);
    return 1;
  }
  const dm::CommandEntry* command = dm::find_command(name);
  if (command == nullptr) {
    std::string suggestion = dm::suggest_command(name);
    std::cerr << fmt::format("dmachine: '{}' is not a dmachine command.", name);
    if (!suggestion.empty()) {
      std::cerr << fmt::format(" Did you mean '{}'?", suggestion);
    }
    std::cerr << "\nRun 'dmachine --help' for the list of commands.\n";
    return 1;
  }

  auto store_path = dm::resolve_store_path(globals.storage_path.empty()
                                               ? dm::default_store_path()
                                               : std::filesystem::path(globals.storage_path));
  if (!store_path) {
    std::cerr << store_path.error().message << "\n";
    return exit_code_for(store_path.error().kind);
  }
  globals.storage_path = store_path->string();
  if (auto tls = check_tls_globals(globals, *store_path); !tls) {
    std::cerr << tls.error().message << "\n";
    return exit_code_for(tls.error().kind);
  }
  dm::MachineStore store(*store_path);
  if (!asks_for_help(command_args)) {
    if (auto usable = store.check_access(); !usable) {
      std::cerr << usable.error().message << "\n";
      return exit_code_for(usable.error().kind);
    }
  }
  dm::SystemProcessRunner process_runner;
  dm::CurlHttpClient http_client;
  dm::ShellFactory open_shell = dm::ssh_shell_factory();
  AppContext context{globals,    std::move(store), process_runner, http_client,
                         open_shell, std::cout,        std::cerr};
  dm::Result<int> result = command->run(context, std::move(command_args));
  std::cout.flush();
  if (!result) {
    std::cerr << result.error().message << "\n";
    return exit_code_for(result.error().kind);
  }
  return *result;
}

} // namespace

int main(int argc, char** argv) {
  dm::install_interrupt_handlers();
  std::vector<std::string> args(argv + 1, argv + argc);
  try {
    return run(args);
  } catch (const std::exception& error) {
    std::cerr << "dmachine: internal error: " << error.what() << "\n";
    return 1;
  }
}
