// DeploymentModification: one change of a deployment's node-instance set, as the original's
// `deployment_modifications` table holds it (a scale, started, then finished or rolled back).
//
// node_instances keeps the original's shape: {"added_and_related": [...],
// "removed_and_related": [...], "before_modification": [...]}, each a list of node-instance
// dicts (NodeInstanceToJson). In the two change lists an entry carries "modification":
// "added" / "removed" for the instances created / deleted, "extended" / "reduced" for existing
// instances that gain relationships to added ones / lose those to removed ones (then its
// "relationships" lists only those).
//
// Value types; thread-safety as for any struct.
#pragma once

#include <optional>
#include <string>
#include <string_view>

#include <nlohmann/json.hpp>

#include "cloudify/model/node.h"
#include "cloudify/model/resource.h"
#include "cloudify/status.h"

namespace cloudify::model {

// started -> finished | rolledback; nothing leaves an end state.
enum class DeploymentModificationStatus { kStarted, kFinished, kRolledback };

std::string_view DeploymentModificationStatusName(DeploymentModificationStatus s);
std::optional<DeploymentModificationStatus> ParseDeploymentModificationStatus(
    std::string_view name);

struct DeploymentModification {
  std::string id;
  std::string deployment_id;
  DeploymentModificationStatus status = DeploymentModificationStatus::kStarted;
  // What was asked, per node or scaling group: {"<name>": {"instances": N, ...}}.
  nlohmann::json modified_nodes = nlohmann::json::object();
  // See the top of this file.
  nlohmann::json node_instances = nlohmann::json::object();
  // The caller's context (the workflow stores its execution id and entity here).
  nlohmann::json context = nlohmann::json::object();
  ResourceMeta meta;  // meta.created_at is the start
  std::optional<Timestamp> ended_at;

  bool operator==(const DeploymentModification&) const = default;
};

// A node instance as a modification's lists hold it (the REST node-instance shape: id, node_id,
// deployment_id, host_id, index, state, version, runtime_properties, system_properties,
// relationships [{target_id, target_name, type}], scaling_groups [{name, id}]).
nlohmann::json NodeInstanceToJson(const NodeInstance& instance);
// kBadParameters naming the missing or mistyped field.
Result<NodeInstance> NodeInstanceFromJson(const nlohmann::json& j);

}  // namespace cloudify::model
