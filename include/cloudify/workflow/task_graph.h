// TaskGraph: the steps of one workflow run and their order, as the original's task graphs
// hold them (WORKFLOWS.md §2): operations, node-instance state changes, node events, and
// subgraphs that group a node instance's steps so other instances can wait for them as a unit.
//
// A graph is a plain value: built by the lifecycle builders (lifecycle.h) or by a host
// program's custom workflow, persisted before it runs, and executed by the engine.
// Thread-safety: as for any value.
#pragma once

#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include <nlohmann/json.hpp>

#include "cloudify/model/node.h"
#include "cloudify/status.h"

namespace cloudify::workflow {

enum class TaskKind {
  kOperation,     // run an interface operation of a node instance (or relationship side)
  kSetNodeState,  // set a node instance's state
  kNodeEvent,     // emit a workflow_node_event for a node instance
  kSubgraph,      // a group: members wait for it to start, dependents wait for all members
};

std::string_view TaskKindName(TaskKind k);  // the original's type names, e.g. "SubgraphTask"

// Which side of a relationship an operation runs for.
enum class RelationshipSide { kNone, kSource, kTarget };

struct GraphTask {
  std::string id;  // unique in the graph
  TaskKind kind = TaskKind::kOperation;
  // Operations: the full interface operation name, e.g.
  // "cloudify.interfaces.lifecycle.create"; subgraphs: their name, e.g. "install_vm_a1b2c3";
  // states and events: a readable description.
  std::string name;
  std::string node_instance_id;
  // Relationship operations: the side and the instance on the other end.
  RelationshipSide side = RelationshipSide::kNone;
  std::string related_instance_id;
  // kSetNodeState.
  model::NodeInstanceState state = model::NodeInstanceState::kUninitialized;
  // kNodeEvent: the event's message; kSetNodeState: when not empty, a workflow_node_event sent
  // once the state is set.
  std::string message;
  // Ids of tasks that must finish first.
  std::vector<std::string> dependencies;
  // Id of the subgraph this task belongs to; empty at top level.
  std::string containing_subgraph;
  // Operations: retries after a recoverable failure (-1 = for ever) and the pause between
  // them in seconds; unset = the workflow's task_retries / task_retry_interval.
  std::optional<int> max_retries;
  std::optional<double> retry_interval;
  // Operations: keyword arguments merged over the operation's inputs (execute_operation's
  // operation_kwargs); an object or null.
  nlohmann::json kwargs;
  // With kwargs: a key that is also an input of the operation overrides it instead of being
  // an error (execute_operation's allow_kwargs_override).
  bool allow_kwargs_override = false;
};

struct TaskGraph {
  std::string name;  // e.g. "install"
  std::vector<GraphTask> tasks;

  // The task with `id`, or null.
  const GraphTask* Find(std::string_view id) const;
  // Ids in an order where every task comes after its dependencies and its subgraph.
  // kInternal when the graph has a cycle or a dangling dependency (a builder bug).
  Result<std::vector<std::string>> TopologicalOrder() const;
};

}  // namespace cloudify::workflow
