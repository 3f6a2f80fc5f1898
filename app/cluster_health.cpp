#include "app/cluster_health.h"

#include "app/cluster_ops.h"
#include "core/parallel.h"

#include <cctype>
#include <fmt/format.h>

namespace dm {

namespace {

constexpr size_t k_pool = 8;
constexpr int k_probe_timeout = 4;

std::string capitalised(std::string word) {
  if (!word.empty()) {
    word[0] = static_cast<char>(std::toupper(static_cast<unsigned char>(word[0])));
  }
  return word;
}

// Creating while its create runs; Ready when a manager answers and the quorum holds (what
// `cluster status` exits 0 on); Error otherwise, with the reason status gives.
ClusterRow cluster_row(AppContext& context, const ClusterRecord& record) {
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

Quorum read_quorum(AppContext& context, const ClusterRecord& record) {
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

ClusterHealth read_health(AppContext& context, const ClusterRecord& record) {
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

std::vector<ClusterRow> cluster_rows(AppContext& context,
                                     const std::vector<Result<ClusterRecord>>& records) {
  std::vector<ClusterRow> rows(records.size());
  parallel_for(records.size(), k_pool, [&](size_t i) {
    if (records[i]) {
      rows[i] = cluster_row(context, *records[i]);
    }
  });
  return rows;
}

} // namespace dm
