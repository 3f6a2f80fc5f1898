#include "app/cluster_ops.h"

#include "app/engine.h"
#include "drivers/registry.h"
#include "core/engine_setup.h"
#include "core/interrupt.h"
#include "core/parallel.h"
#include "core/swarm_join.h"

#include <chrono>
#include <fmt/format.h>
#include <algorithm>
#include <optional>
#include <ostream>
#include <set>
#include <thread>

namespace dm {

namespace {

constexpr size_t k_pool = 8;             // machines made or removed at once
constexpr size_t k_join_pool = 16;       // workers joining at once
constexpr int k_swarm_port = 2377;
constexpr int k_api_timeout = 30;        // one engine API call
constexpr int k_probe_timeout = 4;       // "does this manager answer?"
constexpr int k_ready_wait_seconds = 180;
constexpr int k_drain_wait_seconds = 180;
constexpr int k_role_wait_seconds = 60;
constexpr int k_update_attempts = 5;     // node updates race with status updates (version)

Result<void> check_interrupted() {
  if (interrupted()) {
    return fail(ErrorKind::interrupted, "interrupted");
  }
  return {};
}

// Calls check once a second until it says true or seconds pass (bounded in count and time).
Result<void> wait_until(int seconds, const std::string& what,
                        const std::function<Result<bool>()>& check) {
  using Clock = std::chrono::steady_clock;
  const auto deadline = Clock::now() + std::chrono::seconds(seconds);
  std::string last;
  for (int attempt = 0; attempt <= seconds; ++attempt) {
    DM_TRY(check_interrupted());
    auto done = check();
    if (done && *done) {
      return {};
    }
    if (!done) {
      last = done.error().message;
    }
    if (Clock::now() + std::chrono::seconds(1) > deadline) {
      break;
    }
    std::this_thread::sleep_for(std::chrono::seconds(1));
  }
  return fail(ErrorKind::timeout, fmt::format("{}: not done after {} s{}", what, seconds,
                                              last.empty() ? "" : " (last error: " + last + ")"));
}

std::string advertise_for(const ClusterRecord& record, const NodeEngine& node) {
  return record.advertise.empty() ? node.ip : record.advertise;
}

ClusterMember* find_member(ClusterRecord& record, const std::string& machine) {
  for (auto& member : record.members) {
    if (member.machine == machine) {
      return &member;
    }
  }
  return nullptr;
}

std::string member_list(const ClusterRecord& record) {
  std::string list;
  for (const auto& member : record.members) {
    list += (list.empty() ? "" : ", ") + member.machine;
  }
  return list;
}

Result<const ClusterMember*> member_of(const ClusterRecord& record, const std::string& machine) {
  const ClusterMember* member = record.find(machine);
  if (member == nullptr) {
    return fail(ErrorKind::not_found,
                fmt::format("\"{}\" is not a node of cluster \"{}\" (its nodes: {})", machine,
                            record.name, member_list(record)));
  }
  return member;
}

CreateRequest node_request(const ClusterRecord& record, const DriverEntry& driver,
                           const NodeSpec& node, KeepOnFailure keep) {
  DriverOptions options = record.driver_options;
  for (const auto& [key, values] : node.driver_options.values) {
    options.values[key] = values;
  }
  CreateRequest request;
  request.name = node.name;
  request.driver_name = driver.name;
  request.driver_options = with_driver_defaults(driver, options);
  request.engine = record.engine;
  request.keep_on_failure = keep;
  request.record_extra = owner_keys(record);
  return request;
}

// Removes, in parallel, the machines of names that this cluster made (best effort: a
// failure is a warning). A machine of a member's name that the cluster did not make (made
// by someone else meanwhile) is left as it is, with a note.
void remove_owned_machines(AppContext& context, const ClusterRecord& record,
                           const std::vector<std::string>& names) {
  std::vector<std::string> warnings(names.size());
  parallel_for(names.size(), k_pool, [&](size_t i) {
    CleanupScope cleaning; // runs to its end even after Ctrl-C
    if (!context.store.exists(names[i])) {
      return;
    }
    auto machine = context.store.load(names[i]);
    if (!machine || !made_by(*machine, record)) {
      warnings[i] = fmt::format("Machine \"{}\" was not made by cluster \"{}\": left as it is\n",
                                names[i], record.name);
      return;
    }
    auto removed = remove_machine(context, names[i], true);
    if (!removed) {
      warnings[i] = fmt::format("Warning: could not remove machine \"{}\": {}\n", names[i],
                                removed.error().message);
    }
  });
  for (const auto& warning : warnings) {
    context.err << warning;
  }
}

// Makes the machines in parallel, each with its own progress lines. On failure
// the ones made are removed again (unless keep); the error names the node.
Result<void> create_machines(AppContext& context, const ClusterRecord& record,
                             const std::vector<NodeSpec>& nodes, KeepOnFailure keep) {
  auto driver = find_driver_or_fail(record.driver_name);
  DM_TRY(driver);
  std::vector<std::optional<Error>> errors(nodes.size());
  parallel_for(nodes.size(), k_pool, [&](size_t i) {
    Progress progress(context.err, ProgressStyle::plain, nodes[i].name + ": ");
    auto made = create_from_context(context, node_request(record, **driver, nodes[i], keep),
                                    progress, LiveRestore::no);
    if (!made) {
      errors[i] = made.error();
    }
  });
  std::optional<size_t> first;
  size_t failures = 0;
  std::vector<std::string> made;
  for (size_t i = 0; i < nodes.size(); ++i) {
    if (errors[i]) {
      failures += 1;
      first = first ? first : i;
    } else {
      made.push_back(nodes[i].name);
    }
  }
  if (!first) {
    return {};
  }
  if (keep == KeepOnFailure::no) {
    remove_owned_machines(context, record, made);
  }
  return fail(errors[*first]->kind,
              fmt::format("node \"{}\": {}{}", nodes[*first].name, errors[*first]->message,
                          failures > 1 ? fmt::format(" ({} other node(s) failed too)", failures - 1)
                                       : ""));
}

std::string swarm_address(const NodeEngine& node) { return fmt::format("{}:{}", node.ip, k_swarm_port); }

// The phases of a create or add, each a progress step; their times are summed up at the end.
class Phases {
public:
  explicit Phases(Progress& progress) : m_progress(progress) {}
  Result<void> run(const std::string& phase, const std::string& step,
                   const std::function<Result<void>()>& body) {
    const auto started = std::chrono::steady_clock::now();
    auto result = run_step(m_progress, step, body);
    m_times.emplace_back(phase, std::chrono::duration<double>(std::chrono::steady_clock::now() -
                                                              started)
                                    .count());
    return result;
  }
  // "Phases: machines 52.1 s, init 0.8 s, ...; total 80.2 s"
  [[nodiscard]] std::string summary() const {
    std::string text;
    double total = 0;
    for (const auto& [phase, seconds] : m_times) {
      text += fmt::format("{}{} {:.1f} s", text.empty() ? "" : ", ", phase, seconds);
      total += seconds;
    }
    return fmt::format("Phases: {}; total {:.1f} s", text, total);
  }

private:
  Progress& m_progress;
  std::vector<std::pair<std::string, double>> m_times;
};

// Joins one node through managers (starting at managers[first]); a join that goes on in
// the background is waited for, a failed one tried again through the next manager.
Result<std::string> join_one(AppContext& context, const ClusterRecord& record,
                             const NodeSpec& node, const std::vector<std::string>& managers,
                             size_t first, const std::string& token) {
  DM_TRY(check_interrupted());
  auto engine = node_engine(context, node.name);
  DM_TRY_CTX(engine, "node \"" + node.name + "\"");
  Progress progress(context.err, ProgressStyle::plain, node.name + ": ");
  std::string id;
  DM_TRY_CTX(run_step(progress, "join the swarm as a " + role_name(node.role),
                      [&]() -> Result<void> {
                        JoinRequest request{engine->endpoint, advertise_for(record, *engine),
                                            managers, first, token};
                        auto joined = join_node(context.http_client, request, JoinTiming{},
                                                [&](const std::string& line) { progress.note(line); });
                        DM_TRY(joined);
                        id = *joined;
                        return {};
                      }),
             "node \"" + node.name + "\"");
  return id;
}

// A member that failed to join or to get Ready, and why.
struct LostNode {
  std::string machine;
  Error error;
};

// Workers that could not join or get Ready are removed alone, with a warning, while no
// more than `allowed` are lost in all; past that, for a manager, or after Ctrl-C the first
// error stands (and the caller rolls back as before).
Result<void> drop_lost_workers(AppContext& context, ClusterRecord& record,
                               const NodeEngine& manager, const std::vector<LostNode>& lost,
                               size_t& allowed, Progress& progress) {
  if (lost.empty()) {
    return {};
  }
  for (const auto& node : lost) {
    const ClusterMember* member = record.find(node.machine);
    if (node.error.kind == ErrorKind::interrupted || member == nullptr ||
        member->role == NodeRole::manager) {
      return fail(node.error);
    }
  }
  if (lost.size() > allowed) {
    return fail(lost.front().error.kind,
                fmt::format("{}{}", lost.front().error.message,
                            lost.size() > 1 ? fmt::format(" ({} worker(s) failed; a cluster "
                                                          "goes on without at most {})",
                                                          lost.size(), allowed)
                                            : ""));
  }
  allowed -= lost.size();
  std::vector<std::string> names;
  for (const auto& node : lost) {
    progress.note(fmt::format("Warning: {}; the cluster goes on without that worker: removing "
                              "its machine",
                              node.error.message));
    const ClusterMember* member = record.find(node.machine);
    if (!member->node_id.empty()) {
      (void)swarm_remove_node(context.http_client, manager.endpoint, member->node_id, true,
                              k_api_timeout);
    }
    names.push_back(node.machine);
  }
  remove_owned_machines(context, record, names);
  std::erase_if(record.members, [&](const ClusterMember& m) {
    return std::find(names.begin(), names.end(), m.machine) != names.end();
  });
  return ClusterStore(context.store).save(record);
}

// Managers join one after another (each join changes the Raft membership), each through
// the managers joined before it; their addresses are added to managers.
Result<void> join_managers(AppContext& context, ClusterRecord& record,
                           const std::vector<const NodeSpec*>& nodes,
                           std::vector<std::string>& managers, const std::string& token) {
  for (const NodeSpec* node : nodes) {
    auto id = join_one(context, record, *node, managers, 0, token);
    DM_TRY(id);
    find_member(record, node->name)->node_id = *id;
    auto engine = node_engine(context, node->name);
    DM_TRY(engine);
    managers.push_back(swarm_address(*engine));
  }
  return {};
}

// Workers join in parallel (k_join_pool at a time), spread over every manager: a join is
// a TLS handshake on the manager it goes through and a Raft proposal on the leader.
std::vector<LostNode> join_workers(AppContext& context, ClusterRecord& record,
                                   const std::vector<const NodeSpec*>& nodes,
                                   const std::vector<std::string>& managers,
                                   const std::string& token) {
  std::vector<std::optional<Error>> errors(nodes.size());
  std::vector<std::string> ids(nodes.size());
  parallel_for(nodes.size(), k_join_pool, [&](size_t i) {
    auto id = join_one(context, record, *nodes[i], managers, i, token);
    if (id) {
      ids[i] = *id;
    } else {
      errors[i] = id.error();
    }
  });
  std::vector<LostNode> lost;
  for (size_t i = 0; i < nodes.size(); ++i) {
    if (!ids[i].empty()) {
      find_member(record, nodes[i]->name)->node_id = ids[i];
    }
    if (errors[i]) {
      lost.push_back(LostNode{nodes[i]->name, *errors[i]});
    }
  }
  return lost;
}

// Joins nodes (new members of record) through the swarm that manager belongs to;
// managers holds the swarm addresses of the managers that take joins.
Result<void> join_members(AppContext& context, ClusterRecord& record,
                          const NodeEngine& manager, std::vector<std::string> managers,
                          const std::vector<NodeSpec>& nodes, size_t& allowed, Phases& phases,
                          Progress& progress) {
  auto tokens = swarm_join_tokens(context.http_client, manager.endpoint, k_api_timeout);
  DM_TRY_CTX(tokens, "node \"" + manager.machine + "\": read the join tokens");
  std::vector<const NodeSpec*> new_managers;
  std::vector<const NodeSpec*> workers;
  for (const auto& node : nodes) {
    (node.role == NodeRole::manager ? new_managers : workers).push_back(&node);
  }
  if (!new_managers.empty()) {
    DM_TRY(phases.run("manager joins",
                      fmt::format("manager joins: {} manager(s), one after another",
                                  new_managers.size()),
                      [&] {
                        return join_managers(context, record, new_managers, managers,
                                             tokens->manager);
                      }));
  }
  if (!workers.empty()) {
    DM_TRY(phases.run(
        "worker joins",
        fmt::format("worker joins: {} worker(s), {} at a time, through {} manager(s)",
                    workers.size(), std::min(workers.size(), k_join_pool), managers.size()),
        [&] {
          auto lost = join_workers(context, record, workers, managers, tokens->worker);
          return drop_lost_workers(context, record, manager, lost, allowed, progress);
        }));
  }
  return {};
}

Result<SwarmNode> find_swarm_node(AppContext& context, const NodeEngine& manager,
                                  const ClusterMember& member) {
  auto nodes = swarm_nodes(context.http_client, manager.endpoint, k_api_timeout);
  DM_TRY(nodes);
  for (const auto& node : *nodes) {
    if ((!member.node_id.empty() && node.id == member.node_id) ||
        (member.node_id.empty() && node.hostname == member.machine)) {
      return node;
    }
  }
  return fail(ErrorKind::not_found, "node \"" + member.machine + "\" is not in the swarm");
}

// One node update, read again and retried when the node changed in between.
Result<void> update_member(AppContext& context, const NodeEngine& manager,
                           const ClusterMember& member, const NodeChange& change) {
  Error last{ErrorKind::generic, ""};
  for (int attempt = 0; attempt < k_update_attempts; ++attempt) {
    auto node = find_swarm_node(context, manager, member);
    DM_TRY(node);
    auto updated =
        swarm_update_node(context.http_client, manager.endpoint, *node, change, k_api_timeout);
    if (updated) {
      return {};
    }
    last = updated.error();
    if (last.message.find("out of sequence") == std::string::npos) {
      break;
    }
  }
  return fail(last);
}

// Labels of each node, and drain for managers when asked.
Result<void> apply_node_settings(AppContext& context, const ClusterRecord& record,
                                 const NodeEngine& manager, const std::vector<NodeSpec>& nodes) {
  for (const auto& node : nodes) {
    NodeChange change;
    change.labels = node.labels;
    if (node.role == NodeRole::manager && record.drain_managers) {
      change.availability = "drain";
    }
    if (change.labels.empty() && change.availability.empty()) {
      continue;
    }
    const ClusterMember* member = record.find(node.name);
    if (member == nullptr) {
      continue;
    }
    DM_TRY_CTX(update_member(context, manager, *member, change), "node \"" + node.name + "\"");
  }
  return {};
}

// Every member named in nodes Ready (managers also reachable), seen from manager; a worker
// not Ready in time is dropped as a failed join is.
Result<void> wait_ready(AppContext& context, ClusterRecord& record, const NodeEngine& manager,
                        const std::vector<NodeSpec>& nodes, size_t& allowed, Progress& progress) {
  std::set<std::string> ids;
  for (const auto& node : nodes) {
    if (const ClusterMember* member = record.find(node.name); member != nullptr) {
      ids.insert(member->node_id);
    }
  }
  auto waiting = wait_nodes_ready(context.http_client, manager.endpoint, ids,
                                  k_ready_wait_seconds, std::chrono::seconds(1));
  DM_TRY(waiting);
  std::vector<LostNode> lost;
  for (const auto& member : record.members) {
    if (waiting->count(member.node_id) != 0) {
      lost.push_back(LostNode{member.machine,
                              Error{ErrorKind::timeout,
                                    fmt::format("node \"{}\" is not Ready after {} s",
                                                member.machine, k_ready_wait_seconds)}});
    }
  }
  return drop_lost_workers(context, record, manager, lost, allowed, progress);
}

// Labels and drain, then every node Ready.
Result<void> settle(AppContext& context, ClusterRecord& record, const NodeEngine& manager,
                    const std::vector<NodeSpec>& nodes, size_t& allowed, Phases& phases,
                    Progress& progress) {
  DM_TRY(run_step(progress, "apply node labels and availability",
                  [&] { return apply_node_settings(context, record, manager, nodes); }));
  return phases.run("Ready", fmt::format("Ready: wait until all {} nodes are Ready", nodes.size()),
                    [&] { return wait_ready(context, record, manager, nodes, allowed, progress); });
}

size_t worker_count(const std::vector<NodeSpec>& nodes) {
  return static_cast<size_t>(std::count_if(nodes.begin(), nodes.end(), [](const NodeSpec& node) {
    return node.role == NodeRole::worker;
  }));
}

Result<void> build_cluster(AppContext& context, ClusterRecord& record,
                           const ClusterSpec& spec, KeepOnFailure keep, Progress& progress) {
  Phases phases(progress);
  const size_t workers = worker_count(spec.nodes);
  DM_TRY(phases.run("machines",
                    fmt::format("machines: {} ({} manager(s), {} worker(s)) with the {} "
                                "driver, {} at a time",
                                spec.nodes.size(), spec.nodes.size() - workers, workers,
                                spec.driver_name, std::min(spec.nodes.size(), k_pool)),
                    [&] { return create_machines(context, record, spec.nodes, keep); }));
  DM_TRY(check_interrupted());
  ClusterPlan plan = plan_cluster(spec.nodes);
  auto first = node_engine(context, plan.init_node);
  DM_TRY_CTX(first, "node \"" + plan.init_node + "\"");
  std::string advertise = advertise_for(record, *first);
  DM_TRY_CTX(phases.run("init",
                        fmt::format("init: swarm init on {} --advertise-addr {}", plan.init_node,
                                    advertise),
                        [&]() -> Result<void> {
                          auto id = swarm_init(context.http_client, first->endpoint, advertise,
                                               k_api_timeout);
                          DM_TRY(id);
                          find_member(record, plan.init_node)->node_id = *id;
                          return {};
                        }),
             "node \"" + plan.init_node + "\"");
  size_t allowed = tolerated_worker_losses(workers);
  std::vector<NodeSpec> joiners(spec.nodes.begin() + 1, spec.nodes.end());
  DM_TRY(join_members(context, record, *first, {swarm_address(*first)}, joiners, allowed, phases,
                      progress));
  DM_TRY(settle(context, record, *first, spec.nodes, allowed, phases, progress));
  progress.note(phases.summary());
  return {};
}

// The swarm addresses of the managers that take joins: manager's first, then the other
// reachable managers in manager's node list.
Result<std::vector<std::string>> join_addresses(AppContext& context, const NodeEngine& manager) {
  auto nodes = swarm_nodes(context.http_client, manager.endpoint, k_api_timeout);
  DM_TRY(nodes);
  std::vector<std::string> addresses = {swarm_address(manager)};
  for (const auto& node : *nodes) {
    if (node.role == "manager" && node.reachability == "reachable" && !node.manager_addr.empty() &&
        node.manager_addr != addresses.front()) {
      addresses.push_back(node.manager_addr);
    }
  }
  return addresses;
}

} // namespace

Result<NodeEngine> node_engine(AppContext& context, const std::string& machine) {
  auto loaded = load_machine(context, machine);
  DM_TRY(loaded);
  auto address = running_engine_endpoint(*loaded);
  DM_TRY_CTX(address, "machine \"" + machine + "\"");
  return NodeEngine{machine, address->host,
                    machine_engine_endpoint(loaded->record, address->host, address->port)};
}

Result<NodeEngine> answering_manager(AppContext& context, const ClusterRecord& record,
                                     const std::string& except) {
  std::string tried;
  std::string last;
  for (const ClusterMember* member : record.with_role(NodeRole::manager)) {
    if (member->machine == except) {
      continue;
    }
    tried += (tried.empty() ? "" : ", ") + member->machine;
    auto engine = node_engine(context, member->machine);
    if (!engine) {
      last = engine.error().message;
      continue;
    }
    auto info = swarm_info(context.http_client, engine->endpoint, k_probe_timeout);
    if (!info) {
      last = info.error().message;
      continue;
    }
    if (info->local_state != "active" || !info->control_available) {
      last = fmt::format("{} is not an active manager (swarm state \"{}\")", member->machine,
                         info->local_state);
      continue;
    }
    // A manager without quorum answers /info but not /nodes.
    auto nodes = swarm_nodes(context.http_client, engine->endpoint, k_probe_timeout);
    if (!nodes) {
      last = nodes.error().message;
      continue;
    }
    return *engine;
  }
  return fail(ErrorKind::not_running,
              fmt::format("no manager of cluster \"{}\" answers (tried: {}){}", record.name,
                          tried.empty() ? "none" : tried,
                          last.empty() ? "" : "; last error: " + last));
}

Result<ClusterRecord> create_cluster(AppContext& context, const ClusterSpec& spec,
                                     KeepOnFailure keep, Progress& progress) {
  DM_TRY(validate_cluster_spec(spec));
  DM_TRY(find_driver_or_fail(spec.driver_name));
  for (const auto& node : spec.nodes) {
    if (context.store.exists(node.name)) {
      return fail(ErrorKind::already_exists,
                  fmt::format("Docker machine \"{}\" already exists (cluster \"{}\" wants that "
                              "name for a node; remove it or name the nodes in a cluster file)",
                              node.name, spec.name));
    }
  }
  ClusterStore clusters(context.store);
  DM_TRY(clusters.create(spec.name));
  auto lock = clusters.lock(spec.name);
  DM_TRY(lock);
  ClusterRecord record;
  record.name = spec.name;
  record.id = new_cluster_id();
  record.driver_name = spec.driver_name;
  record.driver_options = spec.driver_options;
  record.engine = spec.engine;
  record.advertise = spec.advertise;
  record.drain_managers = spec.drain_managers;
  for (const auto& node : spec.nodes) {
    record.members.push_back(ClusterMember{node.name, node.role, node.labels, ""});
  }
  auto saved = clusters.save(record);
  if (!saved) {
    (void)clusters.remove(spec.name);
    return fail(saved.error());
  }
  auto built = build_cluster(context, record, spec, keep, progress);
  if (!built) {
    if (keep == KeepOnFailure::no) {
      progress.note("Removing what was made...");
      std::vector<std::string> names;
      for (const auto& member : record.members) {
        names.push_back(member.machine);
      }
      remove_owned_machines(context, record, names);
      (void)clusters.remove(spec.name);
    } else {
      (void)clusters.save(record);
      progress.note(fmt::format("Kept the machines for inspection (--keep-on-failure); remove "
                                "them with 'dmachine cluster rm -y {}'",
                                spec.name));
    }
    return fail(built.error().with_context("cluster \"" + spec.name + "\""));
  }
  record.phase = ClusterPhase::ready;
  DM_TRY(clusters.save(record));
  return record;
}

Result<void> add_nodes(AppContext& context, ClusterRecord& record,
                       const std::vector<NodeSpec>& nodes, KeepOnFailure keep,
                       Progress& progress) {
  ClusterStore clusters(context.store);
  for (const auto& node : nodes) {
    if (context.store.exists(node.name) || record.find(node.name) != nullptr) {
      return fail(ErrorKind::already_exists,
                  fmt::format("Docker machine \"{}\" already exists", node.name));
    }
  }
  auto manager = answering_manager(context, record);
  DM_TRY(manager);
  const ClusterRecord before = record;
  for (const auto& node : nodes) {
    record.members.push_back(ClusterMember{node.name, node.role, node.labels, ""});
  }
  DM_TRY(clusters.save(record)); // a crash from here on leaves members `cluster rm` knows
  auto grown = [&]() -> Result<void> {
    Phases phases(progress);
    DM_TRY(phases.run("machines", fmt::format("machines: {} new", nodes.size()),
                      [&] { return create_machines(context, record, nodes, keep); }));
    auto addresses = join_addresses(context, *manager);
    DM_TRY(addresses);
    size_t allowed = tolerated_worker_losses(worker_count(nodes));
    DM_TRY(join_members(context, record, *manager, *addresses, nodes, allowed, phases, progress));
    DM_TRY(settle(context, record, *manager, nodes, allowed, phases, progress));
    progress.note(phases.summary());
    return {};
  }();
  if (!grown) {
    if (keep == KeepOnFailure::no) {
      CleanupScope cleaning; // the swarm forgets the new nodes even after Ctrl-C
      for (const auto& node : nodes) {
        const ClusterMember* member = record.find(node.name);
        if (member != nullptr && !member->node_id.empty()) {
          (void)swarm_remove_node(context.http_client, manager->endpoint, member->node_id, true,
                                  k_api_timeout);
        }
      }
      std::vector<std::string> names;
      for (const auto& node : nodes) {
        names.push_back(node.name);
      }
      remove_owned_machines(context, record, names);
      record = before;
    }
    (void)clusters.save(record);
    return fail(grown.error().with_context("cluster \"" + record.name + "\""));
  }
  return clusters.save(record);
}

Result<void> remove_node(AppContext& context, ClusterRecord& record,
                         const std::string& machine, Progress& progress) {
  auto member = member_of(record, machine);
  DM_TRY(member);
  if ((*member)->role == NodeRole::manager && record.with_role(NodeRole::manager).size() == 1) {
    return fail(ErrorKind::usage,
                fmt::format("\"{}\" is the only manager of cluster \"{}\": a swarm needs one. "
                            "Promote another node first, or remove the whole cluster with "
                            "'dmachine cluster rm {}'",
                            machine, record.name, record.name));
  }
  auto manager = answering_manager(context, record, machine);
  DM_TRY(manager);
  const ClusterMember& target = **member;
  auto swarm_node = find_swarm_node(context, *manager, target);
  if (swarm_node) {
    if (swarm_node->role == "manager") {
      DM_TRY(run_step(progress, "demote to worker", [&]() -> Result<void> {
        DM_TRY(update_member(context, *manager, target, NodeChange{"worker", "", {}}));
        return wait_until(k_role_wait_seconds, "wait for the demotion", [&]() -> Result<bool> {
          auto node = find_swarm_node(context, *manager, target);
          DM_TRY(node);
          return node->role == "worker";
        });
      }));
    }
    DM_TRY(run_step(progress, "drain (its tasks move to other nodes)", [&] {
      return update_member(context, *manager, target, NodeChange{"", "drain", {}});
    }));
    DM_TRY(run_step(progress, "wait until its tasks have moved", [&] {
      return wait_until(k_drain_wait_seconds, "wait for the tasks to move", [&]() -> Result<bool> {
        auto tasks = swarm_tasks_on_node(context.http_client, manager->endpoint, swarm_node->id,
                                         k_probe_timeout);
        DM_TRY(tasks);
        return *tasks == 0;
      });
    }));
    DM_TRY(run_step(progress, "leave the swarm", [&]() -> Result<void> {
      auto self = node_engine(context, machine);
      if (!self) {
        progress.note(fmt::format("{} is not running: the swarm forgets it below", machine));
        return {};
      }
      return swarm_leave(context.http_client, self->endpoint, false, k_api_timeout);
    }));
    // The node has left (or is down): the managers may still list it as ready
    // for a few seconds, so the removal is forced rather than waited for.
    DM_TRY(run_step(progress, "remove the node from the swarm", [&] {
      return swarm_remove_node(context.http_client, manager->endpoint, swarm_node->id, true,
                               k_api_timeout);
    }));
  } else if (swarm_node.error().kind != ErrorKind::not_found) {
    return fail(swarm_node.error());
  }
  DM_TRY(run_step(progress, "remove the machine", [&]() -> Result<void> {
    if (!context.store.exists(machine)) {
      return {};
    }
    auto loaded = context.store.load(machine);
    if (!loaded || !made_by(*loaded, record)) {
      progress.note(fmt::format("Machine \"{}\" was not made by cluster \"{}\": left as it is",
                                machine, record.name));
      return {};
    }
    auto removed = remove_machine(context, machine, true);
    if (!removed) {
      return fail(removed.error());
    }
    return {};
  }));
  std::erase_if(record.members, [&](const ClusterMember& m) { return m.machine == machine; });
  return ClusterStore(context.store).save(record);
}

Result<RoleChange> change_role(AppContext& context, ClusterRecord& record,
                               const std::string& machine, NodeRole role, Progress& progress) {
  auto member = member_of(record, machine);
  DM_TRY(member);
  if ((*member)->role == role) {
    return RoleChange::unchanged;
  }
  if (role == NodeRole::worker && record.with_role(NodeRole::manager).size() == 1) {
    return fail(ErrorKind::usage, fmt::format("\"{}\" is the only manager of cluster \"{}\": "
                                              "promote another node before demoting it",
                                              machine, record.name));
  }
  // Talk to another manager when demoting one: the demoted node stops answering as a manager.
  auto manager = answering_manager(context, record, role == NodeRole::worker ? machine : "");
  DM_TRY(manager);
  const ClusterMember& target = **member;
  DM_TRY(run_step(progress, fmt::format("{} {}", role == NodeRole::manager ? "promote" : "demote",
                                        machine),
                  [&]() -> Result<void> {
                    DM_TRY(update_member(context, *manager, target,
                                         NodeChange{role_name(role), "", {}}));
                    return wait_until(k_role_wait_seconds, "wait for the new role",
                                      [&]() -> Result<bool> {
                                        auto node = find_swarm_node(context, *manager, target);
                                        DM_TRY(node);
                                        return node->role == role_name(role) &&
                                               (role == NodeRole::worker ||
                                                node->reachability == "reachable");
                                      });
                  }));
  find_member(record, machine)->role = role;
  DM_TRY(ClusterStore(context.store).save(record));
  return RoleChange::changed;
}

Result<void> remove_cluster(AppContext& context, const std::string& name, bool force,
                            std::ostream& out) {
  ClusterStore clusters(context.store);
  if (!clusters.exists(name)) {
    return fail(ErrorKind::not_found, cluster_not_found_message(name));
  }
  auto lock = clusters.lock(name, 60);
  DM_TRY(lock);
  auto record = clusters.load(name);
  if (!record) {
    if (!force) {
      return fail(record.error().with_context(
          "use -f to remove the cluster record anyway (its machines stay; remove them with "
          "'dmachine rm')"));
    }
    DM_TRY(clusters.remove(name));
    out << fmt::format("Successfully removed cluster {}\n", name);
    return {};
  }
  const DriverEntry* driver = find_driver(record->driver_name);
  const bool server_stays = driver != nullptr && !driver->remove_note.empty();
  std::vector<std::string> lines(record->members.size());
  std::vector<std::string> warnings(record->members.size());
  std::vector<std::optional<Error>> errors(record->members.size());
  parallel_for(record->members.size(), k_pool, [&](size_t i) {
    const std::string& machine = record->members[i].machine;
    if (!context.store.exists(machine)) {
      lines[i] = fmt::format("Machine {} was already gone\n", machine);
      return;
    }
    // Only what this cluster made: a machine of a member's name made since is not its own.
    auto loaded = context.store.load(machine);
    if (!loaded) {
      warnings[i] = fmt::format("Machine \"{}\" left as it is: its record cannot be read, so "
                                "whether cluster \"{}\" made it is unknown ({}); remove it "
                                "with 'dmachine rm -f {}'\n",
                                machine, name, loaded.error().message, machine);
      return;
    }
    if (!made_by(*loaded, *record)) {
      warnings[i] = fmt::format("Machine \"{}\" was not made by cluster \"{}\": left as it is\n",
                                machine, name);
      return;
    }
    if (server_stays) { // the server outlives its record: take it out of the swarm
      if (auto engine = node_engine(context, machine)) {
        (void)swarm_leave(context.http_client, engine->endpoint, true, k_probe_timeout);
      }
    }
    auto removed = remove_machine(context, machine, force);
    if (!removed) {
      errors[i] = removed.error();
      return;
    }
    lines[i] = fmt::format("Successfully removed {}\n", machine);
  });
  std::vector<ClusterMember> remaining;
  std::string first_error;
  for (size_t i = 0; i < lines.size(); ++i) {
    out << lines[i];
    context.err << warnings[i];
    if (errors[i]) {
      remaining.push_back(record->members[i]);
      first_error = first_error.empty() ? errors[i]->message : first_error;
    }
  }
  if (!remaining.empty()) {
    record->members = remaining;
    DM_TRY(clusters.save(*record));
    return fail(fmt::format("cluster \"{}\": {} machine(s) could not be removed (the record "
                            "keeps them; -f removes the entries anyway): {}",
                            name, remaining.size(), first_error));
  }
  DM_TRY(clusters.remove(name));
  out << fmt::format("Successfully removed cluster {}\n", name);
  return {};
}

} // namespace dm
