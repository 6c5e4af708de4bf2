// Deployment modifications with their node-instance changes, in one transaction over the
// Store interface (so every backend gets the same rules).
#include "cloudify/storage/store.h"

namespace cloudify::storage {
namespace {

using model::DeploymentModificationStatus;

Status ApplyChanges(Store& tx, const CallerContext& caller, const NodeInstanceChanges& changes) {
  if (!changes.create.empty()) {
    CLOUDIFY_RETURN_IF_ERROR(tx.CreateNodeInstances(caller, changes.create));
  }
  for (const auto& instance : changes.replace) {
    NodeInstanceUpdate update;
    update.force = true;
    update.state = instance.state;
    update.runtime_properties = instance.runtime_properties;
    update.system_properties = instance.system_properties;
    update.relationships = instance.relationships;
    CLOUDIFY_RETURN_IF_ERROR(tx.UpdateNodeInstance(caller, instance.id, update).status());
  }
  for (const auto& id : changes.remove) {
    CLOUDIFY_RETURN_IF_ERROR(tx.DeleteNodeInstance(caller, id));
  }
  for (const auto& node : changes.nodes) {
    CLOUDIFY_RETURN_IF_ERROR(tx.UpdateNode(caller, node));
  }
  if (changes.deployment) {
    CLOUDIFY_RETURN_IF_ERROR(tx.UpdateDeployment(caller, *changes.deployment));
  }
  return Status::Ok();
}

}  // namespace

Status StartDeploymentModification(Store& store, const CallerContext& caller,
                                   const model::DeploymentModification& modification,
                                   const NodeInstanceChanges& changes) {
  ListQuery started_query;
  started_query.size = 1;
  started_query.filters = {{"deployment_id", {modification.deployment_id}},
                           {"status", {"started"}}};
  auto already_started = [](const std::string& id) {
    return Status(ErrorCode::kExistingStartedDeploymentModification,
                  "Cannot start deployment modification while there are existing started "
                  "deployment modifications. Currently started deployment modifications: " +
                      id);
  };
  Status status = store.InTransaction([&](Store& tx) -> Status {
    CLOUDIFY_RETURN_IF_ERROR(tx.GetDeployment(caller, modification.deployment_id).status());
    CLOUDIFY_ASSIGN_OR_RETURN(auto started, tx.ListDeploymentModifications(caller, started_query));
    if (!started.items.empty()) {
      return already_started(started.items.front().id);
    }
    model::DeploymentModification m = modification;
    m.status = DeploymentModificationStatus::kStarted;
    m.ended_at.reset();
    CLOUDIFY_RETURN_IF_ERROR(tx.CreateDeploymentModification(caller, m));
    return ApplyChanges(tx, caller, changes);
  });
  if (status.code() == ErrorCode::kConflict) {
    // A concurrent start won the race to the one-started index.
    auto started = store.ListDeploymentModifications(caller, started_query);
    if (started.ok() && !started->items.empty() && started->items.front().id != modification.id) {
      return already_started(started->items.front().id);
    }
  }
  return status;
}

Status EndDeploymentModification(Store& store, const CallerContext& caller, const std::string& id,
                                 DeploymentModificationStatus status,
                                 const NodeInstanceChanges& changes, Timestamp now) {
  if (status == DeploymentModificationStatus::kStarted) {
    return BadParametersError("deployment modification " + id +
                              " can only end finished or rolledback");
  }
  return store.InTransaction([&](Store& tx) -> Status {
    CLOUDIFY_ASSIGN_OR_RETURN(model::DeploymentModification m,
                              tx.GetDeploymentModification(caller, id));
    if (m.status != DeploymentModificationStatus::kStarted) {
      return Status(ErrorCode::kDeploymentModificationAlreadyEnded,
                    "Cannot end deployment modification " + id + ": it is already " +
                        std::string(model::DeploymentModificationStatusName(m.status)));
    }
    m.status = status;
    m.ended_at = now;
    CLOUDIFY_RETURN_IF_ERROR(tx.UpdateDeploymentModification(caller, m));
    return ApplyChanges(tx, caller, changes);
  });
}

}  // namespace cloudify::storage
