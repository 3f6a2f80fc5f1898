#pragma once
// A cluster in the store: <store>/clusters/<name>/cluster.json (0600, atomic
// writes, a lock per cluster). It lists the member machines and their roles and
// keeps the options new members are made with; each machine keeps its own
// record under machines/ and works with every machine command.
#include "core/cluster_spec.h"
#include "core/machine_store.h"

#include <filesystem>
#include <string>
#include <vector>

namespace dm {

struct ClusterMember {
  std::string machine;
  NodeRole role = NodeRole::worker;
  NodeLabels labels;
  std::string node_id; // the swarm node ID once joined
};

enum class ClusterPhase { creating, ready };

struct ClusterRecord {
  std::string name;
  std::string id; // random, made with the record; "" for records older than ownership
  std::string driver_name;
  DriverOptions driver_options; // as given (defaults are the driver's)
  EngineOptions engine;
  std::string advertise;
  bool drain_managers = false;
  ClusterPhase phase = ClusterPhase::creating;
  std::vector<ClusterMember> members; // managers first, in creation order

  [[nodiscard]] std::vector<const ClusterMember*> with_role(NodeRole role) const;
  [[nodiscard]] const ClusterMember* find(const std::string& machine) const;
};

Result<ClusterRecord> parse_cluster_record(const std::string& text);
std::string new_cluster_id(); // 16 random hex digits

// Ownership: a machine made for a cluster carries the cluster's tag in its record
// (config.json key "DmachineOwner"); only machines with the tag are the cluster's to
// remove. A record without an id (made before tags) owns the untagged machines.
std::string owner_tag(const ClusterRecord& record);
// {"DmachineOwner": owner_tag(record)}, for CreateRequest::record_extra.
nlohmann::json owner_keys(const ClusterRecord& record);
bool made_by(const MachineRecord& machine, const ClusterRecord& record);
// "DmachineOwner" of a machine record; "" when absent or not a string.
std::string machine_owner(const MachineRecord& machine);

std::string render_cluster_record(const ClusterRecord& record);

class ClusterStore {
public:
  explicit ClusterStore(const MachineStore& machines)
      : m_machines(machines), m_root(machines.root() / "clusters") {}

  [[nodiscard]] bool exists(const std::string& name) const;
  // Sorted case-insensitively; never writes.
  Result<std::vector<std::string>> list_names() const;
  // not_found: `Cluster "NAME" does not exist.`
  Result<ClusterRecord> load(const std::string& name) const;
  Result<void> save(const ClusterRecord& record) const;
  // Creates clusters/<name> exclusively; already_exists if it is there.
  Result<void> create(const std::string& name) const;
  Result<void> remove(const std::string& name) const;
  // Serialises changes to one cluster (create, add, remove-node, promote, rm).
  Result<FileLock> lock(const std::string& name, int timeout_seconds = 600) const;

private:
  [[nodiscard]] std::filesystem::path dir(const std::string& name) const { return m_root / name; }
  const MachineStore& m_machines;
  std::filesystem::path m_root;
};

std::string cluster_not_found_message(const std::string& name);

// The clusters of the store in which machine is the only manager (for a warning in rm).
std::vector<std::string> clusters_with_only_manager(const ClusterStore& clusters,
                                                    const std::string& machine);

} // namespace dm
