// cluster ls, status and env: what a cluster is made of, how healthy its swarm
// is (per node and the manager quorum), and how a Docker client reaches it.
#include "cmd/cluster_commands.h"
#include "app/cluster_health.h"
#include "app/cluster_ops.h"
#include "app/engine.h"
#include "cmd/commands.h"
#include "core/go_template.h"
#include "core/shell_env.h"

#include <cstdlib>
#include <fmt/format.h>
#include <nlohmann/json.hpp>
#include <ostream>

namespace dm {

namespace {

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

} // namespace

Result<int> cluster_ls(AppContext& context, std::vector<std::string> args) {
  CLI::App app{"List clusters. STATE is Ready when a manager answers and the manager quorum "
               "holds (as 'cluster status' checks it), Error otherwise, Creating during "
               "create; -q reads only the store.\n\nUsage: dmachine cluster ls [OPTIONS]",
               "dmachine cluster ls"};
  bool quiet = false;
  std::string format;
  app.add_flag("-q,--quiet", quiet, "Only names");
  app.add_option("--format", format, "\"json\" for one JSON object per cluster and line");
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
  std::vector<ClusterRow> states = cluster_rows(context, records);
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
  if (format == "json") { // one object per line, as the docker CLI prints lists
    for (const auto& item : list) {
      context.out << go_json(item) << "\n";
    }
  } else {
    context.out << table(rows);
  }
  return 0;
}

Result<int> cluster_status(AppContext& context, std::vector<std::string> args) {
  CLI::App app{"Per node: machine state, role, swarm status, availability, manager status "
               "(Leader/Reachable/Unreachable) and engine version; then the manager quorum. "
               "Exits 1 when no manager answers or quorum is lost.\n\n"
               "Usage: dmachine cluster status [OPTIONS] CLUSTER",
               "dmachine cluster status"};
  std::string name;
  std::string format;
  app.add_option("--format", format, "\"json\" for a JSON document");
  app.add_option("cluster", name, "Cluster name")->type_name(k_cluster_arg);
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

Result<int> cluster_env(AppContext& context, std::vector<std::string> args) {
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
  app.add_option("cluster", name, "Cluster name")->type_name(k_cluster_arg);
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
