// dmachine cluster: Docker swarm-mode clusters of machines. This file holds the
// subcommand table and the commands that change a cluster; cluster_status.cpp
// the ones that read it (ls, status, env).
#include "cmd/cluster_commands.h"
#include "app/cluster_ops.h"
#include "cmd/commands.h"
#include "cmd/create_flags.h"

#include <fmt/format.h>
#include <iostream>
#include <regex>

namespace dm {

const std::vector<ClusterSubcommand>& cluster_subcommands() {
  static const std::vector<ClusterSubcommand> table = {
      {"create", "Create machines and join them into a swarm-mode cluster", cluster_create},
      {"ls", "List clusters", cluster_ls},
      {"status", "Nodes, roles, leader and manager quorum of a cluster", cluster_status},
      {"env", "Shell code pointing the Docker client at a manager that answers", cluster_env},
      {"add", "Add new worker or manager machines to a cluster", cluster_add},
      {"remove-node", "Drain a node, move its tasks, remove it and its machine",
       cluster_remove_node},
      {"promote", "Make workers managers", cluster_promote},
      {"demote", "Make managers workers", cluster_demote},
      {"rm", "Remove a cluster: every member machine, then its record", cluster_rm},
  };
  return table;
}

namespace {

std::string usage() {
  std::string text = "Usage: dmachine cluster COMMAND [OPTIONS] [arg...]\n\n"
                     "Create and operate Docker swarm-mode clusters of machines.\n\nCommands:\n";
  for (const auto& sub : cluster_subcommands()) {
    text += fmt::format("  {:<13} {}\n", sub.name, sub.summary);
  }
  text += "\nRun 'dmachine cluster COMMAND --help' for more information on a command.\n";
  return text;
}

Result<std::string> read_text_file(const std::string& path) {
  if (path == "-") {
    return std::string(std::istreambuf_iterator<char>(std::cin), std::istreambuf_iterator<char>());
  }
  auto text = read_file(path);
  DM_TRY_CTX(text, "cluster file");
  return text;
}

// Labels given as k=v.
Result<NodeLabels> parse_labels(const std::vector<std::string>& items) {
  NodeLabels labels;
  for (const auto& item : items) {
    auto eq = item.find('=');
    if (eq == std::string::npos || eq == 0) {
      return fail(ErrorKind::usage, "label \"" + item + "\": expected key=value");
    }
    labels[item.substr(0, eq)] = item.substr(eq + 1);
  }
  return labels;
}

// Whether one of names was given as an argument: "--x", "--x=v", and for "-d" also "-dv".
bool on_command_line(const std::vector<std::string>& args,
                     std::initializer_list<std::string> names) {
  for (const auto& arg : args) {
    if (arg == "--") {
      return false;
    }
    for (const auto& name : names) {
      const bool short_flag = name.size() == 2 && name[0] == '-' && name[1] != '-';
      if (arg == name || arg.rfind(name + "=", 0) == 0 ||
          (short_flag && arg.size() > 2 && arg.rfind(name, 0) == 0)) {
        return true;
      }
    }
  }
  return false;
}

// Driver options by precedence: the command line, then the file (the cluster's and each
// node's own), then the environment ($LOCAL_MEMORY, ...), then the driver's defaults
// (added per node when it is made). The file describes this cluster; the environment
// holds everyday defaults for `create`, so it fills in only what the file leaves out.
void apply_driver_flags(ClusterSpec& spec, const DriverEntry& driver, const CreateFlags& flags,
                        const std::vector<std::string>& args) {
  for (const auto& [key, values] : given_driver_options(driver, flags).values) {
    if (on_command_line(args, {"--" + key})) {
      spec.driver_options.values[key] = values;
      for (auto& node : spec.nodes) {
        node.driver_options.values.erase(key);
      }
    } else if (!spec.driver_options.has(key)) {
      spec.driver_options.values[key] = values;
    }
  }
}

// Engine options with the same precedence: flags, file, environment.
EngineOptions engine_options_by_precedence(const EngineOptions& file, const CreateFlags& flags,
                                           const std::vector<std::string>& args) {
  EngineOptions given = given_engine_options(flags);
  if (!file.install_url.empty() && !on_command_line(args, {"--engine-install-url"})) {
    given.install_url.clear();
  }
  if (!file.registry_mirror.empty() && !on_command_line(args, {"--engine-registry-mirror"})) {
    given.registry_mirror.clear();
  }
  return merged_engine_options(file, given);
}

// The next free number for "<cluster>-<role>-N" names.
int next_index(const ClusterRecord& record, NodeRole role) {
  const std::regex numbered(record.name + "-" + role_name(role) + "-([0-9]+)");
  int highest = 0;
  for (const auto& member : record.members) {
    std::smatch match;
    if (std::regex_match(member.machine, match, numbered)) {
      highest = std::max(highest, std::stoi(match[1].str()));
    }
  }
  return highest + 1;
}

// The lock of a cluster that exists: a missing one is not_found and leaves no lock file.
Result<FileLock> lock_existing_cluster(AppContext& context, const std::string& name) {
  ClusterStore clusters(context.store);
  if (name.empty()) {
    return fail(ErrorKind::usage, "Error: No cluster name specified");
  }
  if (!clusters.exists(name)) {
    return fail(ErrorKind::not_found, cluster_not_found_message(name));
  }
  return clusters.lock(name, 60);
}

Result<ClusterRecord> load_cluster(AppContext& context, const std::string& name) {
  if (name.empty()) {
    return fail(ErrorKind::usage, "Error: No cluster name specified");
  }
  return ClusterStore(context.store).load(name);
}

void print_quorum_warning(AppContext& context, const ClusterRecord& record) {
  auto warning = quorum_warning(static_cast<int>(record.with_role(NodeRole::manager).size()));
  if (!warning.empty()) {
    context.err << warning << "\n";
  }
}

Result<int> set_roles(AppContext& context, std::vector<std::string> args, NodeRole role) {
  const bool promote = role == NodeRole::manager;
  CLI::App app{fmt::format("{} nodes of a cluster.\n\nUsage: dmachine cluster {} CLUSTER NODE...",
                           promote ? "Promote (make managers)" : "Demote (make workers)",
                           promote ? "promote" : "demote"),
               promote ? "dmachine cluster promote" : "dmachine cluster demote"};
  std::string name;
  std::vector<std::string> nodes;
  app.add_option("cluster", name, "Cluster name")->type_name(k_cluster_arg);
  app.add_option("nodes", nodes, "Node (machine) names")->type_name(k_machine_arg);
  if (auto early = parse_command_line(app, std::move(args), context.out)) {
    return *early;
  }
  if (nodes.empty()) {
    return fail(ErrorKind::usage, "Error: Expected a cluster name and one or more node names");
  }
  auto lock = lock_existing_cluster(context, name);
  DM_TRY(lock);
  auto record = load_cluster(context, name);
  DM_TRY(record);
  StderrProgress progress(context.err);
  for (const auto& node : nodes) {
    auto changed = change_role(context, *record, node, role, progress);
    DM_TRY(changed);
    context.out << fmt::format("Node {} is {} a {}\n", node,
                               *changed == RoleChange::changed ? "now" : "already",
                               role_name(role));
  }
  print_quorum_warning(context, *record);
  return 0;
}

} // namespace

Result<int> cmd_cluster(AppContext& context, std::vector<std::string> args) {
  if (args.empty() || args[0] == "--help" || args[0] == "-h" || args[0] == "help") {
    context.out << usage();
    return args.empty() ? 1 : 0;
  }
  for (const auto& sub : cluster_subcommands()) {
    if (args[0] == sub.name) {
      return sub.run(context, std::vector<std::string>(args.begin() + 1, args.end()));
    }
  }
  return fail(ErrorKind::usage, fmt::format("dmachine cluster: unknown command \"{}\"\n\n{}",
                                            args[0], usage()));
}

Result<int> cluster_create(AppContext& context, std::vector<std::string> args) {
  CLI::App app{"Create machines and join them into a Docker swarm-mode cluster.\n\n"
               "Usage: dmachine cluster create [OPTIONS] NAME\n"
               "       dmachine cluster create -f cluster.yml [NAME]\n\n"
               "Machines are made in parallel (8 at a time) with the driver and engine options "
               "below; the first manager runs swarm init, the other managers join one after "
               "another, the workers in parallel (16 at a time) through every manager; done "
               "when every node is Ready. A worker that cannot join is removed alone while no "
               "more than one in ten are lost. Nodes are named NAME-manager-N and "
               "NAME-worker-N. Flags override the file; a driver option comes from the command "
               "line, else the file, else the environment.",
               "dmachine cluster create"};
  CreateFlags flags;
  std::string name;
  std::string file;
  int managers = -1;
  int workers = -1;
  std::string advertise;
  bool drain_managers = false;
  std::vector<std::string> manager_labels;
  std::vector<std::string> worker_labels;
  add_create_flags(app, flags);
  app.add_option("-f,--file", file, "Cluster file (YAML; - for stdin): name, driver, "
                                    "driver_options, engine, advertise, drain_managers, groups");
  app.add_option("--managers", managers, "Number of managers (default 1)")
      ->check(CLI::Range(0, 100));
  app.add_option("--workers", workers, "Number of workers (default 0)")->check(CLI::Range(0, 100));
  app.add_option("--advertise-addr", advertise,
                 "What swarm advertises: an interface name or address (default: each "
                 "machine's IP)");
  app.add_flag("--drain-managers", drain_managers, "Managers take no tasks");
  app.add_option("--manager-label", manager_labels, "Swarm node label k=v for the managers");
  app.add_option("--worker-label", worker_labels, "Swarm node label k=v for the workers");
  app.add_option("name", name, "Cluster name");
  app.footer(drivers_footer(args));
  const std::vector<std::string> given_args = args;
  if (auto early = parse_command_line(app, std::move(args), context.out)) {
    return *early;
  }
  auto m_labels = parse_labels(manager_labels);
  DM_TRY(m_labels);
  auto w_labels = parse_labels(worker_labels);
  DM_TRY(w_labels);
  ClusterSpec spec;
  if (!file.empty()) {
    auto text = read_text_file(file);
    DM_TRY(text);
    auto parsed = parse_cluster_file(*text, name);
    DM_TRY_CTX(parsed, file);
    spec = *parsed;
  } else {
    spec.name = name;
    managers = managers < 0 ? 1 : managers;
    workers = workers < 0 ? 0 : workers;
  }
  // Flags override the file: counts, labels, the driver and its options, engine options.
  if (managers >= 0) {
    set_role_count(spec, NodeRole::manager, managers);
  }
  if (workers >= 0) {
    set_role_count(spec, NodeRole::worker, workers);
  }
  for (auto& node : spec.nodes) {
    for (const auto& [key, value] : node.role == NodeRole::manager ? *m_labels : *w_labels) {
      node.labels[key] = value;
    }
  }
  if (spec.driver_name.empty() || on_command_line(given_args, {"-d", "--driver"})) {
    spec.driver_name = flags.driver_name;
  }
  auto driver = find_driver_or_fail(spec.driver_name);
  DM_TRY(driver);
  DM_TRY_CTX(check_driver_options(spec, **driver), file.empty() ? "cluster" : file);
  apply_driver_flags(spec, **driver, flags, given_args);
  spec.engine = engine_options_by_precedence(spec.engine, flags, given_args);
  if (!advertise.empty()) {
    spec.advertise = advertise;
  }
  spec.drain_managers = spec.drain_managers || drain_managers;
  DM_TRY(validate_cluster_spec(spec));
  auto warning = quorum_warning(static_cast<int>(plan_cluster(spec.nodes).manager_joins.size() + 1));
  if (!warning.empty()) {
    context.err << warning << "\n";
  }
  StderrProgress progress(context.err);
  auto record = create_cluster(context, spec, flags.keep_on_failure ? KeepOnFailure::yes
                                                                    : KeepOnFailure::no,
                               progress);
  DM_TRY(record);
  const auto manager_count = static_cast<int>(record->with_role(NodeRole::manager).size());
  context.out << fmt::format("Cluster \"{}\" is ready: {} manager(s), {} worker(s); it survives "
                             "{} manager failure(s).\nPoint your Docker client at it with: "
                             "eval $(dmachine cluster env {})\n",
                             spec.name, manager_count, record->members.size() - manager_count,
                             failures_tolerated(manager_count), spec.name);
  return 0;
}

Result<int> cluster_add(AppContext& context, std::vector<std::string> args) {
  CLI::App app{"Add new machines to a cluster, made with the cluster's driver and engine "
               "options.\n\nUsage: dmachine cluster add CLUSTER (--workers K | --managers K)",
               "dmachine cluster add"};
  std::string name;
  int workers = 0;
  int managers = 0;
  bool keep_on_failure = false;
  std::vector<std::string> label_items;
  app.add_option("--workers", workers, "Number of workers to add")->check(CLI::Range(0, 100));
  app.add_option("--managers", managers, "Number of managers to add")->check(CLI::Range(0, 100));
  app.add_option("--label", label_items, "Swarm node label k=v for the new nodes");
  app.add_flag("--keep-on-failure", keep_on_failure, "Keep what was made when add fails");
  app.add_option("cluster", name, "Cluster name")->type_name(k_cluster_arg);
  if (auto early = parse_command_line(app, std::move(args), context.out)) {
    return *early;
  }
  if (workers + managers == 0) {
    return fail(ErrorKind::usage, "Error: say how many nodes to add: --workers K or --managers K");
  }
  auto labels = parse_labels(label_items);
  DM_TRY(labels);
  auto lock = lock_existing_cluster(context, name);
  DM_TRY(lock);
  auto record = load_cluster(context, name);
  DM_TRY(record);
  auto nodes = numbered_nodes(name, NodeRole::manager, managers,
                              next_index(*record, NodeRole::manager), *labels);
  auto more = numbered_nodes(name, NodeRole::worker, workers, next_index(*record, NodeRole::worker),
                             *labels);
  nodes.insert(nodes.end(), more.begin(), more.end());
  StderrProgress progress(context.err);
  DM_TRY(add_nodes(context, *record, nodes,
                   keep_on_failure ? KeepOnFailure::yes : KeepOnFailure::no, progress));
  for (const auto& node : nodes) {
    context.out << fmt::format("Node {} joined cluster {} as a {}\n", node.name, name,
                               role_name(node.role));
  }
  print_quorum_warning(context, *record);
  return 0;
}

Result<int> cluster_remove_node(AppContext& context, std::vector<std::string> args) {
  CLI::App app{"Remove nodes from a cluster: demote (a manager), drain and wait until its tasks "
               "run elsewhere, leave the swarm, remove the node, then remove its machine.\n\n"
               "Usage: dmachine cluster remove-node CLUSTER NODE...",
               "dmachine cluster remove-node"};
  std::string name;
  std::vector<std::string> nodes;
  app.add_option("cluster", name, "Cluster name")->type_name(k_cluster_arg);
  app.add_option("nodes", nodes, "Node (machine) names")->type_name(k_machine_arg);
  if (auto early = parse_command_line(app, std::move(args), context.out)) {
    return *early;
  }
  if (nodes.empty()) {
    return fail(ErrorKind::usage, "Error: Expected a cluster name and one or more node names");
  }
  auto lock = lock_existing_cluster(context, name);
  DM_TRY(lock);
  auto record = load_cluster(context, name);
  DM_TRY(record);
  for (const auto& node : nodes) {
    StderrProgress progress(context.err, node + ": ");
    DM_TRY(remove_node(context, *record, node, progress));
    context.out << fmt::format("Successfully removed node {} from cluster {}\n", node, name);
  }
  print_quorum_warning(context, *record);
  return 0;
}

Result<int> cluster_promote(AppContext& context, std::vector<std::string> args) {
  return set_roles(context, std::move(args), NodeRole::manager);
}

Result<int> cluster_demote(AppContext& context, std::vector<std::string> args) {
  return set_roles(context, std::move(args), NodeRole::worker);
}

Result<int> cluster_rm(AppContext& context, std::vector<std::string> args) {
  CLI::App app{"Remove clusters: every member machine, then the cluster record.\n\n"
               "Usage: dmachine cluster rm [OPTIONS] CLUSTER...",
               "dmachine cluster rm"};
  bool force = false;
  bool assume_yes = false;
  std::vector<std::string> names;
  app.add_flag("-f,--force", force,
               "Remove the records even if a machine cannot be removed; implies -y");
  app.add_flag("-y", assume_yes, "Do not ask for confirmation");
  app.add_option("names", names, "Cluster names")->type_name(k_cluster_arg);
  if (auto early = parse_command_line(app, std::move(args), context.out)) {
    return *early;
  }
  if (names.empty()) {
    return fail(ErrorKind::usage, "Error: Expected one or more cluster names");
  }
  if (!force && !assume_yes) {
    std::string list;
    for (const auto& name : names) {
      list += (list.empty() ? "" : ", ") + name;
    }
    context.out << fmt::format("About to remove cluster(s) {} and every machine in them\n"
                               "Are you sure? (y/n): ",
                               list)
                << std::flush;
    std::string answer;
    if (!std::getline(std::cin, answer) || (answer != "y" && answer != "Y" && answer != "yes")) {
      context.err << "Aborted: nothing was removed.\n";
      return 1;
    }
  }
  int exit_code = 0;
  for (const auto& name : names) {
    auto removed = remove_cluster(context, name, force, context.out);
    if (!removed) {
      context.err << removed.error().message << "\n";
      exit_code = 1;
    }
  }
  return exit_code;
}

} // namespace dm
