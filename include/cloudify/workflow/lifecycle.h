// The install and uninstall graphs of the original's lifecycle workflows (lifecycle.py;
// WORKFLOWS.md §2.4-2.5, DSL.md §9): per node instance a subgraph running the lifecycle
// operations with their state changes and events, relationship operations grouped by target,
// and, across instances, every relationship ordering the whole of one instance's subgraph
// after the other's (install: source after target; uninstall: target after source).
//
// Steps whose operation has no implementation are left out; steps already done (by the
// instance's current state) are skipped, so running install again is harmless.
// Thread-safety: pure functions.
#pragma once

#include <vector>

#include "cloudify/model/node.h"
#include "cloudify/workflow/task_graph.h"

namespace cloudify::workflow {

// What a lifecycle graph is built over.
struct LifecycleScope {
  // Every node of the deployment (operations are looked up here).
  const std::vector<model::Node>* nodes = nullptr;
  // The instances the workflow installs or uninstalls.
  std::vector<const model::NodeInstance*> instances;
  // Other instances of the deployment, left as they are; relationships between them and the
  // processed instances still get their establish (install) or unlink (uninstall) operations.
  std::vector<const model::NodeInstance*> related;
};

// kBadParameters when an instance's node is not among scope.nodes.
Result<TaskGraph> BuildInstallGraph(const LifecycleScope& scope);
Result<TaskGraph> BuildUninstallGraph(const LifecycleScope& scope);

// The heal graph (the original's heal_node_instances): per instance of scope.instances a
// subgraph "heal_<id>" sending "Healing node instance", running the lifecycle preheal, heal
// and postheal operations in turn, and sending "Node instance healed". `related` is unused.
Result<TaskGraph> BuildHealGraph(const LifecycleScope& scope);

}  // namespace cloudify::workflow
