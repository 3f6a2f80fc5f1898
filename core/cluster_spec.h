#pragma once
// A swarm-mode cluster as plain data: what the user asked for (flags or a
// cluster file), the node names it becomes, the order in which nodes init and
// join, and what Raft quorum means for the manager count. No I/O here.
#include "core/driver.h"
#include "core/machine_record.h"
#include "core/result.h"

#include <map>
#include <string>
#include <vector>

namespace dm {

enum class NodeRole { manager, worker };

std::string role_name(NodeRole role); // "manager" / "worker"
Result<NodeRole> parse_role(const std::string& text);

using NodeLabels = std::map<std::string, std::string>;

struct NodeSpec {
  std::string name; // the machine's name (and the node's hostname)
  NodeRole role = NodeRole::worker;
  NodeLabels labels;           // swarm node labels (placement constraints: node.labels.K==V)
  DriverOptions driver_options; // this node's own driver options, over the cluster's
};

struct ClusterSpec {
  std::string name;
  std::string driver_name;
  DriverOptions driver_options; // for every node
  EngineOptions engine;
  // What swarm advertises: "" for the machine's IP, else an interface name or an address.
  std::string advertise;
  bool drain_managers = false; // managers take no tasks
  std::vector<NodeSpec> nodes; // managers first
};

// Names "<cluster>-manager-<i>" / "<cluster>-worker-<i>" for i = first, first + 1, ...
std::vector<NodeSpec> numbered_nodes(const std::string& cluster, NodeRole role, int count,
                                     int first, const NodeLabels& labels);

// A cluster file (YAML). Keys:
//   name, driver, driver_options {flag: value | [values]}, engine {opt, insecure_registry,
//   registry_mirror, label, storage_driver, env, install_url}, advertise, drain_managers,
//   groups: [{role, count | names: [name | {name, driver_options}], labels {k: v}}]
// name (from the command line) may stand in for the file's; both given must agree.
Result<ClusterSpec> parse_cluster_file(const std::string& yaml_text, const std::string& name = "");

// A count from the command line over the file's (flags override the file): the role's
// nodes are kept in order up to count; more are numbered "<cluster>-<role>-<i>" with the
// first free i, with the labels of the role's last node. Managers stay first.
void set_role_count(ClusterSpec& spec, NodeRole role, int count);

// Every driver_options key (the cluster's and each node's) is a flag of driver and each
// value fits the flag's type: an unknown key is a usage error naming it; a bad value is a
// pre-create error (exit 3, as for create's flags).
Result<void> check_driver_options(const ClusterSpec& spec, const DriverEntry& driver);

// Names valid and unique, at least one manager, the cluster name usable in machine names.
Result<void> validate_cluster_spec(const ClusterSpec& spec);

// Raft: M managers keep working while a majority (M/2 + 1) is reachable.
int quorum_size(int managers);
int failures_tolerated(int managers); // (M - 1) / 2
// A warning for an even manager count or more than 7 managers; "" otherwise.
std::string quorum_warning(int managers);

// How many workers a cluster create or add may lose (a join failing past its retries, a
// node not Ready in time) and still succeed without them: one in ten, so small clusters
// lose none.
size_t tolerated_worker_losses(size_t workers);

// Who does what, in order: the first manager inits; the other managers join one
// after another (each join changes the Raft membership); the workers join in parallel.
struct ClusterPlan {
  std::string init_node;
  std::vector<std::string> manager_joins;
  std::vector<std::string> worker_joins;
};
ClusterPlan plan_cluster(const std::vector<NodeSpec>& nodes);

} // namespace dm
