// Node and NodeInstance: a deployment's node templates and their instances (REST.md §3.4-3.5).
//
// Node instances carry a version for optimistic locking: an update proposing a version lower
// than the stored one is a conflict and changes nothing; an accepted update bumps the version.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "cloudify/model/plan.h"
#include "cloudify/model/resource.h"

namespace cloudify::model {

// A node of a deployment: the plan's template plus deployment-level counts.
struct Node {
  std::string deployment_id;
  std::string blueprint_id;
  NodeTemplate spec;  // spec.id is the node's id (its name)
  ResourceMeta meta;
  int number_of_instances = 1;  // current
  int planned_number_of_instances = 1;
  int deploy_number_of_instances = 1;
  int min_number_of_instances = 0;
  int max_number_of_instances = ScalableProperties::kUnbounded;

  const std::string& id() const { return spec.id; }
  bool operator==(const Node&) const = default;
};

// The lifecycle states of a node instance, in lifecycle order.
enum class NodeInstanceState {
  kUninitialized,
  kInitializing,
  kCreating,
  kCreated,
  kConfiguring,
  kConfigured,
  kStarting,
  kStarted,
  kStopping,
  kStopped,
  kDeleting,
  kDeleted,
};

std::string_view NodeInstanceStateName(NodeInstanceState s);  // e.g. "configured"
std::optional<NodeInstanceState> ParseNodeInstanceState(std::string_view name);

struct RelationshipInstance {
  std::string target_id;    // the target node instance
  std::string target_name;  // the target node
  std::string type;

  bool operator==(const RelationshipInstance&) const = default;
};

struct ScalingGroupRef {
  std::string name;  // the group
  std::string id;    // the group instance

  bool operator==(const ScalingGroupRef&) const = default;
};

struct NodeInstance {
  // The version new instances start at.
  static constexpr int64_t kInitialVersion = 1;

  std::string id;  // "<node>_<6 chars>"
  std::string node_id;
  std::string deployment_id;
  std::optional<std::string> host_id;
  int index = 1;  // 1-based per node
  NodeInstanceState state = NodeInstanceState::kUninitialized;
  int64_t version = kInitialVersion;
  nlohmann::json runtime_properties = nlohmann::json::object();
  nlohmann::json system_properties = nlohmann::json::object();
  std::vector<RelationshipInstance> relationships;
  std::vector<ScalingGroupRef> scaling_groups;
  bool has_configuration_drift = false;
  bool is_status_check_ok = false;
  ResourceMeta meta;

  bool operator==(const NodeInstance&) const = default;
};

// The optimistic-locking rule: kConflict when `proposed` is lower than `stored` (somebody else
// updated the instance since the caller read it). The accepted update's new version is
// stored + 1.
Status CheckNodeInstanceVersion(const std::string& instance_id, int64_t stored, int64_t proposed);

}  // namespace cloudify::model
