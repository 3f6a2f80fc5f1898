#include "cmd/cluster_ops.h"

#include "cmd/commands.h"
#include "cmd/create_flags.h"
#include "cmd/engine_wiring.h"
#include "core/engine_setup.h"
#include "core/interrupt.h"
#include "core/parallel.h"

#include <chrono>
#include <fmt/format.h>
#include <optional>
#include <ostream>
#include <thread>

namespace dm {

namespace {

constexpr size_t k_pool = 8;             // machines made, joined or removed at once
constexpr int k_api_timeout = 30;        // one engine API call
constexpr int k_probe_timeout = 4;       // "does this manager answer?"
constexpr int k_join_timeout = 60;       // POST /swarm/join waits for the node to be accepted
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
  return request;
}

// Removes machines in parallel (best effort: a failure is a warning).
void remove_machines(CommandContext& context, const std::vector<std::string>& names) {
  std::vector<std::string> warnings(names.size());
  parallel_for(names.size(), k_pool, [&](size_t i) {
    CleanupScope cleaning; // runs to its end even after Ctrl-C
    if (!context.store.exists(names[i])) {
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
Result<void> create_machines(CommandContext& context, const ClusterRecord& record,
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
    remove_machines(context, made);
  }
  return fail(errors[*first]->kind,
              fmt::format("node \"{}\": {}{}", nodes[*first].name, errors[*first]->message,
                          failures > 1 ? fmt::format(" ({} other node(s) failed too)", failures - 1)
                                       : ""));
}

// Joins one node; returns its swarm node ID.
Result<std::string> join_one(CommandContext& context, const ClusterRecord& record,
                             const NodeSpec& node, const std::string& remote,
                             const std::string& token) {
  DM_TRY(check_interrupted());
  auto engine = node_engine(context, node.name);
  DM_TRY_CTX(engine, "node \"" + node.name + "\"");
  Progress progress(context.err, ProgressStyle::plain, node.name + ": ");
  DM_TRY_CTX(run_step(progress, "join the swarm as a " + role_name(node.role),
                      [&] {
                        return swarm_join(context.http_client, engine->endpoint,
                                          advertise_for(record, *engine), remote, token,
                                          k_join_timeout);
                      }),
             "node \"" + node.name + "\"");
  auto info = swarm_info(context.http_client, engine->endpoint, k_api_timeout);
  DM_TRY_CTX(info, "node \"" + node.name + "\"");
  return info->node_id;
}

// Managers join one after another (each join changes the Raft membership);
// workers join in parallel beside them. Node IDs go into the record.
Result<void> join_nodes(CommandContext& context, ClusterRecord& record, const NodeEngine& manager,
                        const std::vector<NodeSpec>& nodes) {
  auto tokens = swarm_join_tokens(context.http_client, manager.endpoint, k_api_timeout);
  DM_TRY_CTX(tokens, "node \"" + manager.machine + "\": read the join tokens");
  const std::string remote = manager.ip + ":2377";
  std::vector<const NodeSpec*> managers;
  std::vector<const NodeSpec*> workers;
  for (const auto& node : nodes) {
    (node.role == NodeRole::manager ? managers : workers).push_back(&node);
  }
  const size_t offset = managers.empty() ? 0 : 1;
  std::vector<std::optional<Error>> errors(offset + workers.size());
  std::vector<std::string> ids(nodes.size());
  auto join = [&](const NodeSpec& node, const std::string& token) -> Result<void> {
    auto id = join_one(context, record, node, remote, token);
    DM_TRY(id);
    ids[static_cast<size_t>(&node - nodes.data())] = *id;
    return {};
  };
  parallel_for(errors.size(), k_pool, [&](size_t task) {
    if (task < offset) {
      for (const NodeSpec* node : managers) {
        auto joined = join(*node, tokens->manager);
        if (!joined) {
          errors[task] = joined.error();
          return;
        }
      }
      return;
    }
    auto joined = join(*workers[task - offset], tokens->worker);
    if (!joined) {
      errors[task] = joined.error();
    }
  });
  for (size_t i = 0; i < nodes.size(); ++i) {
    if (ClusterMember* member = find_member(record, nodes[i].name); member && !ids[i].empty()) {
      member->node_id = ids[i];
    }
  }
  for (const auto& error : errors) {
    if (error) {
      return fail(*error);
    }
  }
  return {};
}

Result<SwarmNode> find_swarm_node(CommandContext& context, const NodeEngine& manager,
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
Result<void> update_member(CommandContext& context, const NodeEngine& manager,
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
Result<void> apply_node_settings(CommandContext& context, const ClusterRecord& record,
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

// Every listed member Ready (managers also reachable), seen from manager.
Result<void> wait_ready(CommandContext& context, const ClusterRecord& record,
                        const NodeEngine& manager, const std::vector<NodeSpec>& nodes) {
  return wait_until(k_ready_wait_seconds, "wait for the nodes to be Ready", [&]() -> Result<bool> {
    auto listed = swarm_nodes(context.http_client, manager.endpoint, k_probe_timeout);
    DM_TRY(listed);
    for (const auto& spec : nodes) {
      const ClusterMember* member = record.find(spec.name);
      bool ready = false;
      for (const auto& node : *listed) {
        if (member != nullptr && node.id == member->node_id) {
          ready = node.state == "ready" &&
                  (node.role != "manager" || node.reachability == "reachable");
        }
      }
      if (!ready) {
        return false;
      }
    }
    return true;
  });
}

Result<void> build_cluster(CommandContext& context, ClusterRecord& record,
                           const ClusterSpec& spec, KeepOnFailure keep, Progress& progress) {
  auto managers = record.with_role(NodeRole::manager).size();
  progress.note(fmt::format("Creating {} machines ({} manager(s), {} worker(s)) with the {} "
                            "driver, {} at a time...",
                            spec.nodes.size(), managers, spec.nodes.size() - managers,
                            spec.driver_name, std::min(spec.nodes.size(), k_pool)));
  DM_TRY(create_machines(context, record, spec.nodes, keep));
  DM_TRY(check_interrupted());
  ClusterPlan plan = plan_cluster(spec.nodes);
  auto first = node_engine(context, plan.init_node);
  DM_TRY_CTX(first, "node \"" + plan.init_node + "\"");
  Progress init_progress(context.err, ProgressStyle::plain, plan.init_node + ": ");
  std::string advertise = advertise_for(record, *first);
  DM_TRY_CTX(run_step(init_progress, "swarm init --advertise-addr " + advertise,
                      [&]() -> Result<void> {
                        auto id = swarm_init(context.http_client, first->endpoint, advertise,
                                             k_join_timeout);
                        DM_TRY(id);
                        find_member(record, plan.init_node)->node_id = *id;
                        return {};
                      }),
             "node \"" + plan.init_node + "\"");
  std::vector<NodeSpec> joiners(spec.nodes.begin() + 1, spec.nodes.end());
  DM_TRY(join_nodes(context, record, *first, joiners));
  DM_TRY(run_step(progress, "apply node labels and availability",
                  [&] { return apply_node_settings(context, record, *first, spec.nodes); }));
  return run_step(progress, fmt::format("wait until all {} nodes are Ready", spec.nodes.size()),
                  [&] { return wait_ready(context, record, *first, spec.nodes); });
}

} // namespace

Result<NodeEngine> node_engine(CommandContext& context, const std::string& machine) {
  auto loaded = load_machine(context, machine);
  DM_TRY(loaded);
  auto address = running_engine_endpoint(*loaded);
  DM_TRY_CTX(address, "machine \"" + machine + "\"");
  return NodeEngine{machine, address->host,
                    machine_engine_endpoint(loaded->record, address->host, address->port)};
}

Result<NodeEngine> answering_manager(CommandContext& context, const ClusterRecord& record,
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

Result<ClusterRecord> create_cluster(CommandContext& context, const ClusterSpec& spec,
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
      remove_machines(context, names);
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

Result<void> add_nodes(CommandContext& context, ClusterRecord& record,
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
    progress.note(fmt::format("Creating {} machine(s)...", nodes.size()));
    DM_TRY(create_machines(context, record, nodes, keep));
    DM_TRY(join_nodes(context, record, *manager, nodes));
    DM_TRY(apply_node_settings(context, record, *manager, nodes));
    return run_step(progress, "wait until the new nodes are Ready",
                    [&] { return wait_ready(context, record, *manager, nodes); });
  }();
  if (!grown) {
    if (keep == KeepOnFailure::no) {
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
      remove_machines(context, names);
      record = before;
    }
    (void)clusters.save(record);
    return fail(grown.error().with_context("cluster \"" + record.name + "\""));
  }
  return clusters.save(record);
}

Result<void> remove_node(CommandContext& context, ClusterRecord& record,
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
    auto removed = remove_machine(context, machine, true);
    if (!removed) {
      return fail(removed.error());
    }
    return {};
  }));
  std::erase_if(record.members, [&](const ClusterMember& m) { return m.machine == machine; });
  return ClusterStore(context.store).save(record);
}

Result<void> change_role(CommandContext& context, ClusterRecord& record,
                         const std::string& machine, NodeRole role, Progress& progress) {
  auto member = member_of(record, machine);
  DM_TRY(member);
  if ((*member)->role == role) {
    progress.note(fmt::format("{} is already a {}", machine, role_name(role)));
    return {};
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
  return ClusterStore(context.store).save(record);
}

Result<void> remove_cluster(CommandContext& context, const std::string& name, bool force,
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
  std::vector<std::optional<Error>> errors(record->members.size());
  parallel_for(record->members.size(), k_pool, [&](size_t i) {
    const std::string& machine = record->members[i].machine;
    if (!context.store.exists(machine)) {
      lines[i] = fmt::format("Machine {} was already gone\n", machine);
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
