#include "cmd/command_spec.h"

#include "cmd/cluster_commands.h"
#include "cmd/commands.h"

namespace dm {

void CommandDescriber::take(const CLI::App& app) {
  CommandSpec described;
  described.description = app.get_description();
  described.footer = app.get_footer();
  for (const CLI::Option* option : app.get_options()) {
    if (option->get_positional()) {
      const std::string type = option->get_type_name();
      described.positional_types.push_back(type == k_machine_arg || type == k_cluster_arg ? type
                                                                                          : "");
      continue;
    }
    FlagSpec flag;
    for (const auto& name : option->get_lnames()) {
      flag.names.push_back("--" + name);
    }
    for (const auto& name : option->get_snames()) {
      flag.names.push_back("-" + name);
    }
    flag.takes_value = option->get_expected_max() != 0;
    flag.help = option->get_description();
    flag.default_value = option->get_default_str();
    flag.env_var = option->get_envname();
    flag.hidden = option->get_group().empty();
    described.flags.push_back(std::move(flag));
  }
  spec = std::move(described);
}

namespace {

CommandSpec describe_one(AppContext& context, CommandFn run, std::vector<std::string> args,
                         const std::string& name, const std::string& summary) {
  CommandDescriber describer;
  AppContext describing{context.globals,     context.store,      context.process_runner,
                        context.http_client, context.open_shell, describer,
                        describer};
  (void)run(describing, std::move(args)); // the --help path: prints or hands over its app
  CommandSpec spec = describer.spec ? *describer.spec : CommandSpec{};
  if (!describer.spec) {
    spec.description = describer.str();
  }
  spec.name = name;
  spec.summary = summary;
  return spec;
}

} // namespace

std::vector<CommandSpec> describe_commands(AppContext& context) {
  std::vector<CommandSpec> specs;
  for (const auto& entry : command_table()) {
    specs.push_back(describe_one(context, entry.run, {"--help"}, entry.name, entry.summary));
    if (entry.name == "cluster") {
      for (const auto& sub : cluster_subcommands()) {
        specs.back().subcommands.push_back(describe_one(context, entry.run, {sub.name, "--help"},
                                                        "cluster " + std::string(sub.name),
                                                        sub.summary));
      }
    }
  }
  return specs;
}

const std::vector<GlobalFlag>& global_flags() {
  static const std::vector<GlobalFlag> table = {
      {"--debug", "-D", nullptr, "Enable debug mode", "MACHINE_DEBUG"},
      {"--storage-path", "-s", "PATH", "Configures storage path", "MACHINE_STORAGE_PATH"},
      {"--tls-ca-cert", nullptr, "PATH",
       "CA to verify remotes against; only the store's certs/ca.pem is accepted",
       "MACHINE_TLS_CA_CERT"},
      {"--tls-ca-key", nullptr, "PATH", "CA key; only the store's certs/ca-key.pem",
       "MACHINE_TLS_CA_KEY"},
      {"--tls-client-cert", nullptr, "PATH", "Client cert; only the store's certs/cert.pem",
       "MACHINE_TLS_CLIENT_CERT"},
      {"--tls-client-key", nullptr, "PATH", "Client key; only the store's certs/key.pem",
       "MACHINE_TLS_CLIENT_KEY"},
      {"--native-ssh", nullptr, nullptr,
       "Use dmachine's own SSH client for everything (ssh: words after the machine name are a "
       "remote command, never options for the system ssh)",
       nullptr},
      {"--help", "-h", nullptr, "Show help", nullptr},
      {"--version", "-v", nullptr, "Print the version", nullptr},
  };
  return table;
}

} // namespace dm
