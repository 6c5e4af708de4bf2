// The pure parts of the scale and heal workflows (parameters, modification records, scopes);
// engine.cc runs their graphs.
#pragma once

#include <optional>
#include <set>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "cloudify/dsl/deployment_modification.h"
#include "cloudify/model/deployment.h"
#include "cloudify/model/deployment_modification.h"
#include "cloudify/model/node.h"
#include "cloudify/status.h"
#include "cloudify/storage/store.h"

namespace cloudify::workflow {

// scale_entity's parameters, resolved against the deployment.
struct ScaleRequest {
  std::string entity;  // the node or scaling group scaled (the host node with scale_compute)
  bool is_group = false;
  int delta = 0;
  int current = 0;  // instances per container now
  int planned = 0;  // current + delta
  std::vector<std::string> include_instances;
  std::vector<std::string> exclude_instances;
  bool ignore_failure = false;
  bool rollback_if_failed = true;
  bool abort_started = false;
};

// kIllegalExecutionParameters: no scalable_entity_name, a delta that is not an integer, an
// entity that is neither a scaling group nor a node, or a delta taking the count below 0.
Result<ScaleRequest> ParseScaleRequest(const nlohmann::json& params,
                                       const model::Deployment& deployment,
                                       const std::vector<model::Node>& nodes);

// The modification record of a computed scale (status started).
model::DeploymentModification MakeModification(const ScaleRequest& request,
                                               const dsl::DeploymentModificationResult& result,
                                               const std::vector<model::NodeInstance>& before,
                                               const std::string& deployment_id,
                                               const std::string& execution_id);

// The node instances a stored modification lists with `modification` ("added", "extended",
// "removed", "reduced") in added_and_related / removed_and_related, or in
// before_modification when `modification` is "before".
Result<std::vector<model::NodeInstance>> ModificationInstances(
    const model::DeploymentModification& m, const std::string& modification);

// What the store writes when the modification starts (added created, extended rewritten,
// planned counts set), finishes (removed deleted, relationships to them dropped from the
// `current` instances, counts set) or is rolled back (added deleted, changed instances restored
// from before_modification, planned counts restored).
Result<storage::NodeInstanceChanges> StartChanges(const ScaleRequest& request,
                                                  const model::DeploymentModification& m,
                                                  const std::vector<model::Node>& nodes);
Result<storage::NodeInstanceChanges> FinishChanges(const ScaleRequest& request,
                                                   const model::DeploymentModification& m,
                                                   const std::vector<model::Node>& nodes,
                                                   const model::Deployment& deployment,
                                                   const std::vector<model::NodeInstance>& current);
Result<storage::NodeInstanceChanges> RollbackChanges(const ScaleRequest& request,
                                                     const model::DeploymentModification& m,
                                                     const std::vector<model::Node>& nodes);

// The request a stored modification was started with (from its context and modified_nodes),
// for rolling it back. kBadParameters when the record lacks them.
Result<ScaleRequest> RequestOfModification(const model::DeploymentModification& m);

// Heal's scope, as the original's: with node_instance_id, that instance's host and every
// instance contained in it (transitively), or the instance's own subgraph when it has no host;
// without it, every instance of the deployment. kIllegalExecutionParameters for an unknown
// node_instance_id.
Result<std::vector<std::string>> HealScope(const nlohmann::json& params,
                                           const std::vector<model::NodeInstance>& instances,
                                           const std::vector<model::Node>& nodes);

// The instances of `scope` that need no healing: their last status check (system_properties
// `status`) passed, or, unless `require_task`, no check_status operation ran for them. A heal
// of one named instance requires proof; a deployment-wide heal presumes health.
std::set<std::string> HealthyInstances(const std::vector<model::NodeInstance>& instances,
                                       const std::vector<std::string>& scope, bool require_task);

// The unhealthy instances of `scope`: those whose node defines the lifecycle `heal` operation
// are healed; the others are reinstalled together with everything they contain (which then
// is not healed separately).
struct HealSplit {
  std::set<std::string> heal;
  std::set<std::string> reinstall;
};
HealSplit SplitHeal(const std::vector<model::NodeInstance>& instances,
                    const std::vector<model::Node>& nodes, const std::vector<std::string>& scope,
                    const std::set<std::string>& healthy);

}  // namespace cloudify::workflow
