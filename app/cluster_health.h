#pragma once
// How healthy a cluster is: each member machine's state and swarm status, and
// the manager quorum as one answering manager sees it (for cluster ls and status).
#include "app/app_context.h"
#include "core/cluster_record.h"
#include "core/swarm.h"

#include <string>
#include <vector>

namespace dm {

// One member as `cluster status` shows it.
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

// Each member's machine state (asked in parallel), then the swarm's view from
// the first manager that answers.
ClusterHealth read_health(AppContext& context, const ClusterRecord& record);
// The quorum alone.
Quorum read_quorum(AppContext& context, const ClusterRecord& record);

// STATE of a cluster in `cluster ls`, and why it is not Ready.
struct ClusterRow {
  std::string state;
  std::string error;
};

// The row of each record that loaded (asked at once); records that failed get an empty row.
std::vector<ClusterRow> cluster_rows(AppContext& context,
                                     const std::vector<Result<ClusterRecord>>& records);

} // namespace dm
