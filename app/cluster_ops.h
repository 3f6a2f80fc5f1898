#pragma once
// The cluster workflows over real machines: make the nodes in parallel (a
// bounded pool), init and join the swarm through the engines' TLS API, apply
// labels and drain, wait until every node is Ready; grow, shrink, promote,
// demote; find a manager that answers. Each step says which node it was on.
#include "app/machines.h"
#include "core/cluster_record.h"
#include "core/create_machine.h"
#include "core/progress.h"
#include "core/swarm.h"

#include <iosfwd>

namespace dm {

// A member's engine: machine name, IP and the TLS files that reach it.
struct NodeEngine {
  std::string machine;
  std::string ip;
  EngineEndpoint endpoint;
};
// The engine of a running member ("Host is not running" otherwise); no network.
Result<NodeEngine> node_engine(AppContext& context, const std::string& machine);

// The first manager in member order (skipping except) whose engine answers as
// an active swarm manager. Bounded: a few seconds per manager.
Result<NodeEngine> answering_manager(AppContext& context, const ClusterRecord& record,
                                     const std::string& except = "");

// cluster create: the record first (so a crash leaves something `cluster rm`
// can clean up), then the machines, then the swarm, printing each phase's time. A
// worker that cannot join is removed alone while no more than one in ten are lost;
// any other failure removes everything made (machines the cluster made: their records
// carry its tag) unless keep is yes.
Result<ClusterRecord> create_cluster(AppContext& context, const ClusterSpec& spec,
                                     KeepOnFailure keep, Progress& progress);

// cluster add: new machines made with the cluster's options, joined as create joins them.
Result<void> add_nodes(AppContext& context, ClusterRecord& record,
                       const std::vector<NodeSpec>& nodes, KeepOnFailure keep,
                       Progress& progress);

// cluster remove-node: demote (a manager), drain and wait for its tasks to
// move, leave, remove the node from the swarm, remove the machine.
Result<void> remove_node(AppContext& context, ClusterRecord& record,
                         const std::string& machine, Progress& progress);

// cluster promote / demote: unchanged when the record already gives the node that role.
enum class RoleChange { changed, unchanged };
Result<RoleChange> change_role(AppContext& context, ClusterRecord& record,
                               const std::string& machine, NodeRole role, Progress& progress);

// cluster rm: every member machine the cluster made (others are left, with a warning), then
// the record. Lines for stdout go to out.
Result<void> remove_cluster(AppContext& context, const std::string& name, bool force,
                            std::ostream& out);

} // namespace dm
