// cluster ls, status and env: what a cluster is made of, how healthy its swarm
// is (per node and the manager quorum), and how a Docker client reaches it.
#include "cmd/cluster_commands.h"
#include "cmd/cluster_ops.h"
#include "cmd/commands.h"
#include "core/parallel.h"
#include "core/shell_env.h"

#include <cstdlib>
#include <fmt/format.h>
#include <nlohmann/json.hpp>
#include <ostream>

namespace dm {

namespace {

constexpr size_t k_pool = 8;
constexpr int k_probe_timeout = 4;

// Left-aligned columns, 3 spaces apart (as ls prints them).
std::string table(const std::vector<std::vector<std::string>>& rows) {
  std::vector<size_t> widths;
  for (const auto& row : rows) {
    widths.resize(std::max(widths.size(), row.size()));
    for (size_t i = 0; i < row.size(); ++i) {
      widths[i] = std::max(widths[i], row[i].size());
    }
  }
  std::string text;
  for (const auto& row : rows) {
    std::string line;
    for (size_t i = 0; i < row.size(); ++i) {
      line += i + 1 < row.size() ? fmt::format("{:<{}}   ", row[i], widths[i]) : row[i];
    }
    while (!line.empty() && line.back() == ' ') {
      line.pop_back();
    }
    text += line + "\n";
  }
  return text;
}

struct NodeRow {
  std::string machine;
  std::string role;          // the record's role
  std::string machine_state; // Running, Stopped, Error...
  std::string status;        // swarm: ready / down / "" when unknown
  std::string availability;
  std::string manager_status; // Leader / Reachable / Unreachable / ""
  std::string engine_version;
  std::string error;
};

// The swarm as one answering manager sees it.
struct Quorum {
  std::string seen_from; // the manager whose view this is ("" when none answered)
  std::string leader;
  int managers = 0;
  int reachable = 0;
  std::string error;
  std::vector<SwarmNode> nodes;

  // What `cluster status` exits 0 on, and `cluster ls` calls Ready.
  [[nodiscard]] bool held() const {
    return !seen_from.empty() && reachable >= quorum_size(managers);
  }
};

struct ClusterHealth {
  std::vector<NodeRow> nodes;
  Quorum quorum;
};

std::string capitalised(std::string word) {
  if (!word.empty()) {
    word[0] = static_cast<char>(std::toupper(static_cast<unsigned char>(word[0])));
  }
  return word;
}

Quorum read_quorum(CommandContext& context, const ClusterRecord& record) {
  Quorum quorum;
  auto manager = answering_manager(context, record);
  if (!manager) {
    quorum.error = manager.error().message;
    quorum.managers = static_cast<int>(record.with_role(NodeRole::manager).size());
    return quorum;
  }
  auto nodes = swarm_nodes(context.http_client, manager->endpoint, k_probe_timeout);
  if (!nodes) {
    quorum.error = nodes.error().message;
    quorum.managers = static_cast<int>(record.with_role(NodeRole::manager).size());
    return quorum;
  }
  quorum.seen_from = manager->machine;
  quorum.nodes = *nodes;
  for (const auto& node : *nodes) {
    if (node.role == "manager") {
      quorum.managers += 1;
      quorum.reachable += node.reachability == "reachable" ? 1 : 0;
    }
    if (node.leader) {
      quorum.leader = node.hostname;
    }
  }
  return quorum;
}

ClusterHealth read_health(CommandContext& context, const ClusterRecord& record) {
  ClusterHealth health;
  health.nodes.resize(record.members.size());
  parallel_for(record.members.size(), k_pool, [&](size_t i) {
    NodeRow& row = health.nodes[i];
    row.machine = record.members[i].machine;
    row.role = role_name(record.members[i].role);
    auto machine = load_machine(context, row.machine);
    if (!machine) {
      row.machine_state = "Error";
      row.error = machine.error().message;
      return;
    }
    auto state = machine->driver->state();
    row.machine_state = state ? std::string(to_string(*state)) : "Error";
    if (!state) {
      row.error = state.error().message;
    }
  });
  health.quorum = read_quorum(context, record);
  for (const auto& node : health.quorum.nodes) {
    for (size_t i = 0; i < record.members.size(); ++i) {
      const ClusterMember& member = record.members[i];
      if (node.id != member.node_id && !(member.node_id.empty() && node.hostname == member.machine)) {
        continue;
      }
      NodeRow& row = health.nodes[i];
      row.role = node.role;
      row.status = capitalised(node.state);
      row.availability = capitalised(node.availability);
      row.manager_status = node.leader ? "Leader" : capitalised(node.reachability);
      row.engine_version = node.engine_version;
    }
  }
  return health;
}

std::string quorum_line(const Quorum& health) {
  if (health.seen_from.empty()) {
    return fmt::format("Quorum: unknown, no manager answers ({}); with fewer than {} of {} "
                       "managers reachable the cluster cannot be changed",
                       health.error, quorum_size(health.managers), health.managers);
  }
  const int need = quorum_size(health.managers);
  if (health.reachable >= need) {
    const int more = health.reachable - need;
    return fmt::format("Quorum: {}/{} managers reachable (needs {}): held; survives {} more "
                       "manager failure{}",
                       health.reachable, health.managers, need, more, more == 1 ? "" : "s");
  }
  return fmt::format("Quorum: {}/{} managers reachable (needs {}): LOST; the swarm cannot be "
                     "changed until {} more manager(s) come back",
                     health.reachable, health.managers, need, need - health.reachable);
}

nlohmann::ordered_json health_json(const ClusterRecord& record, const ClusterHealth& cluster) {
  const Quorum& health = cluster.quorum;
  nlohmann::ordered_json doc;
  doc["Name"] = record.name;
  doc["Driver"] = record.driver_name;
  doc["SeenFrom"] = health.seen_from;
  doc["Leader"] = health.leader;
  const int need = quorum_size(health.managers);
  doc["Managers"] = {{"Total", health.managers},
                     {"Reachable", health.reachable},
                     {"Quorum", need},
                     {"QuorumHeld", !health.seen_from.empty() && health.reachable >= need},
                     {"FailuresTolerated", std::max(0, health.reachable - need)}};
  doc["Error"] = health.error;
  doc["Nodes"] = nlohmann::ordered_json::array();
  for (const auto& row : cluster.nodes) {
    doc["Nodes"].push_back({{"Machine", row.machine},
                            {"Role", row.role},
                            {"MachineState", row.machine_state},
                            {"Status", row.status},
                            {"Availability", row.availability},
                            {"ManagerStatus", row.manager_status},
                            {"EngineVersion", row.engine_version},
                            {"Error", row.error}});
  }
  return doc;
}

std::string dash_if_empty(const std::string& text) { return text.empty() ? "-" : text; }

// STATE of a cluster in `cluster ls`, and why it is not Ready.
struct ClusterRow {
  std::string state;
  std::string error;
};

// Creating while its create runs; Ready when a manager answers and the quorum holds (what
// `cluster status` exits 0 on); Error otherwise, with the reason status gives.
ClusterRow cluster_row(CommandContext& context, const ClusterRecord& record) {
  ClusterRow row;
  std::string missing;
  for (const auto& member : record.members) {
    if (!context.store.exists(member.machine)) {
      missing += (missing.empty() ? "missing machines: " : ", ") + member.machine;
    }
  }
  if (record.phase != ClusterPhase::ready) {
    return ClusterRow{"Creating", missing};
  }
  Quorum quorum = read_quorum(context, record);
  if (quorum.held()) {
    return ClusterRow{"Ready", missing};
  }
  std::string why = quorum.seen_from.empty()
                        ? "Leader: none; " + quorum.error
                        : fmt::format("quorum lost: {}/{} managers reachable (needs {})",
                                      quorum.reachable, quorum.managers,
                                      quorum_size(quorum.managers));
  return ClusterRow{"Error", missing.empty() ? why : why + "; " + missing};
}

} // namespace

Result<int> cluster_ls(CommandContext& context, std::vector<std::string> args) {
  CLI::App app{"List clusters. STATE is Ready when a manager answers and the manager quorum "
               "holds (as 'cluster status' checks it), Error otherwise, Creating during "
               "create; -q reads only the store.\n\nUsage: dmachine cluster ls [OPTIONS]",
               "dmachine cluster ls"};
  bool quiet = false;
  std::string format;
  app.add_flag("-q,--quiet", quiet, "Only names");
  app.add_option("--format", format, "\"json\" for a JSON list");
  if (auto early = parse_command_line(app, std::move(args), context.out)) {
    return *early;
  }
  if (!format.empty() && format != "json") {
    return fail(ErrorKind::usage, "--format: only \"json\" is supported");
  }
  ClusterStore clusters(context.store);
  auto names = clusters.list_names();
  DM_TRY(names);
  if (quiet) {
    for (const auto& name : *names) {
      context.out << name << "\n";
    }
    return 0;
  }
  std::vector<Result<ClusterRecord>> records;
  for (const auto& name : *names) {
    records.push_back(clusters.load(name));
  }
  std::vector<ClusterRow> states(names->size());
  parallel_for(names->size(), k_pool, [&](size_t i) {
    if (records[i]) {
      states[i] = cluster_row(context, *records[i]);
    }
  });
  std::vector<std::vector<std::string>> rows = {
      {"NAME", "DRIVER", "MANAGERS", "WORKERS", "STATE", "ERRORS"}};
  auto list = nlohmann::ordered_json::array();
  for (size_t i = 0; i < names->size(); ++i) {
    const std::string& name = (*names)[i];
    const auto& record = records[i];
    if (!record) {
      rows.push_back({name, "", "", "", "Error", record.error().message});
      list.push_back({{"Name", name}, {"State", "Error"}, {"Error", record.error().message}});
      continue;
    }
    const auto managers = record->with_role(NodeRole::manager).size();
    rows.push_back({name, record->driver_name, std::to_string(managers),
                    std::to_string(record->members.size() - managers), states[i].state,
                    states[i].error});
    list.push_back({{"Name", name},
                    {"Driver", record->driver_name},
                    {"Managers", managers},
                    {"Workers", record->members.size() - managers},
                    {"State", states[i].state},
                    {"Error", states[i].error}});
  }
  if (format == "json") {
    context.out << list.dump(4) << "\n";
  } else {
    context.out << table(rows);
  }
  return 0;
}

Result<int> cluster_status(CommandContext& context, std::vector<std::string> args) {
  CLI::App app{"Per node: machine state, role, swarm status, availability, manager status "
               "(Leader/Reachable/Unreachable) and engine version; then the manager quorum. "
               "Exits 1 when no manager answers or quorum is lost.\n\n"
               "Usage: dmachine cluster status [OPTIONS] CLUSTER",
               "dmachine cluster status"};
  std::string name;
  std::string format;
  app.add_option("--format", format, "\"json\" for a JSON document");
  app.add_option("cluster", name, "Cluster name");
  if (auto early = parse_command_line(app, std::move(args), context.out)) {
    return *early;
  }
  if (!format.empty() && format != "json") {
    return fail(ErrorKind::usage, "--format: only \"json\" is supported");
  }
  if (name.empty()) {
    return fail(ErrorKind::usage, "Error: No cluster name specified");
  }
  auto record = ClusterStore(context.store).load(name);
  DM_TRY(record);
  ClusterHealth health = read_health(context, *record);
  const bool held = health.quorum.held();
  if (format == "json") {
    context.out << health_json(*record, health).dump(4) << "\n";
    return held ? 0 : 1;
  }
  std::vector<std::vector<std::string>> rows = {
      {"NODE", "ROLE", "MACHINE", "STATUS", "AVAILABILITY", "MANAGER STATUS", "ENGINE", "ERRORS"}};
  for (const auto& row : health.nodes) {
    rows.push_back({row.machine, row.role, row.machine_state, dash_if_empty(row.status),
                    dash_if_empty(row.availability), row.manager_status,
                    row.engine_version.empty() ? "-" : "v" + row.engine_version, row.error});
  }
  context.out << table(rows);
  context.out << fmt::format("Leader: {}\n",
                             health.quorum.leader.empty() ? "none" : health.quorum.leader);
  context.out << quorum_line(health.quorum) << "\n";
  return held ? 0 : 1;
}

Result<int> cluster_env(CommandContext& context, std::vector<std::string> args) {
  std::string hint = "dmachine cluster env";
  for (const auto& arg : args) {
    hint += " " + arg;
  }
  CLI::App app{"Shell code that points the Docker client at a manager of the cluster that "
               "answers (the first one in order that does).\n\n"
               "Usage: dmachine cluster env [OPTIONS] CLUSTER",
               "dmachine cluster env"};
  std::string name;
  EnvRequest request;
  bool unset = false;
  app.add_option("--shell", request.shell,
                 "Force environment to be configured for a specified shell: [fish, cmd, "
                 "powershell, tcsh, emacs], default is auto-detect");
  app.add_flag("-u,--unset", unset, "Unset variables instead of setting them");
  app.add_flag("--no-proxy", request.no_proxy, "Add the manager's IP to NO_PROXY");
  app.add_option("cluster", name, "Cluster name");
  if (auto early = parse_command_line(app, std::move(args), context.out)) {
    return *early;
  }
  request.hint_command = hint;
  if (unset) {
    ShellKind kind = shell_kind_from_env(std::getenv("SHELL"));
    if (!request.shell.empty()) {
      auto parsed = parse_shell_kind(request.shell);
      DM_TRY(parsed);
      kind = *parsed;
    }
    std::vector<std::string> vars = {"DOCKER_TLS_VERIFY", "DOCKER_HOST", "DOCKER_CERT_PATH",
                                     "DOCKER_MACHINE_NAME"};
    if (request.no_proxy) {
      vars.emplace_back("NO_PROXY");
    }
    context.out << render_env_unset(kind, vars, hint);
    return 0;
  }
  if (name.empty()) {
    return fail(ErrorKind::usage, "Error: No cluster name specified");
  }
  auto record = ClusterStore(context.store).load(name);
  DM_TRY(record);
  auto manager = answering_manager(context, *record);
  DM_TRY(manager);
  auto machine = load_machine(context, manager->machine);
  DM_TRY(machine);
  auto code = machine_env_code(context, *machine, request);
  DM_TRY(code);
  context.out << *code;
  return 0;
}

} // namespace dm
