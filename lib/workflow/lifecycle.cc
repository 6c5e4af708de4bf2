#include "cloudify/workflow/lifecycle.h"

#include <string>
#include <unordered_map>
#include <unordered_set>

#include "cloudify/ids.h"

#include "workflow/agent_install.h"
#include "workflow/relationships.h"

namespace cloudify::workflow {
namespace {

using model::NodeInstance;
using model::NodeInstanceState;
using State = NodeInstanceState;

constexpr std::string_view kLifecycle = "cloudify.interfaces.lifecycle.";
constexpr std::string_view kRelationshipLifecycle = "cloudify.interfaces.relationship_lifecycle.";

std::string Interface(std::string_view interface_prefix, std::string_view op) {
  return std::string(interface_prefix) + std::string(op);
}

// The operation `name` of an operation map, or null when absent or a no-op.
const model::OperationSpec* Defined(const model::OperationMap& ops, const std::string& name) {
  auto it = ops.find(name);
  return it == ops.end() || it->second.IsNoOp() ? nullptr : &it->second;
}

// Looks up nodes and relationship specs, and appends tasks to one graph.
class Builder {
 public:
  Builder(const LifecycleScope& scope, TaskGraph& graph) : scope_(scope), graph_(graph) {
    for (const auto& node : *scope.nodes) {
      nodes_.emplace(node.id(), &node);
    }
  }

  Result<const model::Node*> NodeOf(const NodeInstance& instance) const {
    auto it = nodes_.find(instance.node_id);
    if (it == nodes_.end()) {
      return BadParametersError("node instance '" + instance.id + "' belongs to unknown node '" +
                                instance.node_id + "'");
    }
    return it->second;
  }

  const model::RelationshipSpec* SpecOf(const model::Node& node,
                                        const model::RelationshipInstance& rel) const {
    return TemplateRelationship(node, rel);
  }

  std::string Add(GraphTask task) {
    task.id = NewUuid();
    position_.emplace(task.id, graph_.tasks.size());
    graph_.tasks.push_back(std::move(task));
    return graph_.tasks.back().id;
  }

  std::string AddSubgraph(std::string name) {
    GraphTask task;
    task.kind = TaskKind::kSubgraph;
    task.name = std::move(name);
    return Add(std::move(task));
  }

  void DependOn(const std::string& task_id, const std::string& on) {
    graph_.tasks[position_.at(task_id)].dependencies.push_back(on);
  }

  const LifecycleScope& scope() const { return scope_; }

 private:
  const LifecycleScope& scope_;
  TaskGraph& graph_;
  std::unordered_map<std::string_view, const model::Node*> nodes_;
  std::unordered_map<std::string, size_t> position_;  // task id -> index in graph_.tasks
};

// Appends steps to one subgraph; each step's tasks run together after the previous step.
class Sequence {
 public:
  Sequence(Builder& builder, std::string subgraph, const NodeInstance& instance)
      : builder_(builder), subgraph_(std::move(subgraph)), instance_(instance) {}

  void Step(std::vector<GraphTask> tasks) {
    std::vector<std::string> ids;
    for (auto& task : tasks) {
      task.dependencies = previous_;
      task.containing_subgraph = subgraph_;
      ids.push_back(builder_.Add(std::move(task)));
    }
    previous_ = std::move(ids);
  }

  GraphTask State(NodeInstanceState state) const {
    GraphTask task;
    task.kind = TaskKind::kSetNodeState;
    task.name = "set state " + std::string(model::NodeInstanceStateName(state));
    task.node_instance_id = instance_.id;
    task.state = state;
    return task;
  }

  GraphTask Event(std::string message) const {
    GraphTask task;
    task.kind = TaskKind::kNodeEvent;
    task.name = "event";
    task.node_instance_id = instance_.id;
    task.message = std::move(message);
    return task;
  }

  // A step with the state change and its event: one task that sets the state, then sends the
  // event (the original's two tasks of one step, in one row of the stored graph).
  void StateWithEvent(NodeInstanceState state, std::string message) {
    GraphTask task = State(state);
    task.message = std::move(message);
    Step({std::move(task)});
  }

  // The node's operation `name`, as its own step, when it has an implementation.
  void Operation(const model::Node& node, const std::string& name) {
    const model::OperationSpec* spec = Defined(node.spec.operations, name);
    if (spec == nullptr) {
      return;
    }
    Step({OperationTask(*spec, name, instance_.id)});
  }

  static GraphTask OperationTask(const model::OperationSpec& spec, const std::string& name,
                                 const std::string& instance_id) {
    GraphTask task;
    task.kind = TaskKind::kOperation;
    task.name = name;
    task.node_instance_id = instance_id;
    task.max_retries = spec.max_retries;
    task.retry_interval = spec.retry_interval;
    return task;
  }

  // The relationship operation `op` for the given relationships of the instance, one step per
  // relationship (source side and target side together), in the order given.
  void Relationships(const model::Node& node, const std::vector<model::RelationshipInstance>& rels,
                     const std::string& op) {
    for (const auto& rel : rels) {
      const model::RelationshipSpec* spec = builder_.SpecOf(node, rel);
      if (spec == nullptr) {
        continue;
      }
      std::vector<GraphTask> sides;
      if (const auto* source = Defined(spec->source_operations, op); source != nullptr) {
        GraphTask task = OperationTask(*source, op, instance_.id);
        task.side = RelationshipSide::kSource;
        task.related_instance_id = rel.target_id;
        sides.push_back(std::move(task));
      }
      if (const auto* target = Defined(spec->target_operations, op); target != nullptr) {
        GraphTask task = OperationTask(*target, op, rel.target_id);
        task.side = RelationshipSide::kTarget;
        task.related_instance_id = instance_.id;
        sides.push_back(std::move(task));
      }
      if (!sides.empty()) {
        Step(std::move(sides));
      }
    }
  }

  bool empty() const { return previous_.empty(); }

 private:
  Builder& builder_;
  std::string subgraph_;
  const NodeInstance& instance_;
  std::vector<std::string> previous_;
};

bool HasAnyRelationshipOp(const Builder& builder, const model::Node& node,
                          const NodeInstance& instance, std::initializer_list<std::string> ops) {
  for (const auto& rel : instance.relationships) {
    const model::RelationshipSpec* spec = builder.SpecOf(node, rel);
    for (const auto& op : ops) {
      if (spec != nullptr && (Defined(spec->source_operations, op) != nullptr ||
                              Defined(spec->target_operations, op) != nullptr)) {
        return true;
      }
    }
  }
  return false;
}

bool HasAnyOp(const model::Node& node, std::initializer_list<std::string> ops) {
  for (const auto& op : ops) {
    if (Defined(node.spec.operations, op) != nullptr) {
      return true;
    }
  }
  return false;
}

// Relationships of `instance` whose target is in `targets`.
std::vector<model::RelationshipInstance> RelationshipsTo(
    const NodeInstance& instance, const std::unordered_set<std::string_view>& targets) {
  std::vector<model::RelationshipInstance> out;
  for (const auto& rel : instance.relationships) {
    if (targets.count(rel.target_id) != 0) {
      out.push_back(rel);
    }
  }
  return out;
}

const std::string kValidationCreate = "cloudify.interfaces.validation.create";
const std::string kValidationDelete = "cloudify.interfaces.validation.delete";
const std::string kMonitoringStart = "cloudify.interfaces.monitoring.start";
const std::string kMonitoringStop = "cloudify.interfaces.monitoring.stop";
const std::string kHostGetState = "cloudify.interfaces.host.get_state";

Status AddInstall(Builder& b, const NodeInstance& instance, const std::string& subgraph) {
  CLOUDIFY_ASSIGN_OR_RETURN(const model::Node* node, b.NodeOf(instance));
  Sequence seq(b, subgraph, instance);
  const State s = instance.state;
  if (s == State::kStarted) {
    seq.Step({seq.Event("Node instance started (nothing to do)")});
    return Status::Ok();
  }
  const auto L = [](std::string_view op) { return Interface(kLifecycle, op); };
  const auto R = [](std::string_view op) { return Interface(kRelationshipLifecycle, op); };
  // An instance with nothing to run just goes to started.
  const bool agent = AwaitsAgent(*node);
  // A remote host without an SSH user says once why it gets no agent, where the agent would be.
  const std::string central = CentralAgentNote(*node);
  if (!agent &&
      !HasAnyOp(*node, {kValidationCreate, L("precreate"), L("create"), L("configure"), L("start"),
                        kHostGetState, L("poststart"), kMonitoringStart}) &&
      !HasAnyRelationshipOp(b, *node, instance,
                            {R("preconfigure"), R("postconfigure"), R("establish")})) {
    if (!central.empty()) {
      seq.Step({seq.Event(central)});
    }
    seq.StateWithEvent(State::kStarted, "Node instance started");
    return Status::Ok();
  }
  // Explicit sets, as the original's lifecycle: an instance stopped or deleted by an uninstall
  // is installed from the start again.
  const bool created = s == State::kCreated || s == State::kConfiguring ||
                       s == State::kConfigured || s == State::kStarting;
  const bool configured = s == State::kConfigured || s == State::kStarting;
  if (!created) {
    seq.Step({seq.State(State::kInitializing)});
    seq.Operation(*node, kValidationCreate);
    seq.Operation(*node, L("precreate"));
    seq.StateWithEvent(State::kCreating, "Creating node instance");
    seq.Operation(*node, L("create"));
    seq.StateWithEvent(State::kCreated, "Node instance created");
  }
  if (!configured) {
    seq.Relationships(*node, instance.relationships, R("preconfigure"));
    seq.StateWithEvent(State::kConfiguring, "Configuring node instance");
    seq.Operation(*node, L("configure"));
    seq.StateWithEvent(State::kConfigured, "Node instance configured");
  }
  seq.Relationships(*node, instance.relationships, R("postconfigure"));
  seq.StateWithEvent(State::kStarting, "Starting node instance");
  seq.Operation(*node, L("start"));
  seq.Operation(*node, kHostGetState);
  if (agent) {
    // The host's agent is recorded, then awaited: its software's host_agent operations follow.
    seq.Operation(*node, kAgentCreate);
    seq.Operation(*node, kAgentStart);
  } else if (!central.empty()) {
    seq.Step({seq.Event(central)});
  }
  seq.Operation(*node, L("poststart"));
  seq.Operation(*node, kMonitoringStart);
  seq.Relationships(*node, instance.relationships, R("establish"));
  seq.StateWithEvent(State::kStarted, "Node instance started");
  return Status::Ok();
}

Status AddUninstall(Builder& b, const NodeInstance& instance, const std::string& subgraph) {
  CLOUDIFY_ASSIGN_OR_RETURN(const model::Node* node, b.NodeOf(instance));
  Sequence seq(b, subgraph, instance);
  const State s = instance.state;
  const auto L = [](std::string_view op) { return Interface(kLifecycle, op); };
  const std::string unlink = Interface(kRelationshipLifecycle, "unlink");
  if (s == State::kDeleted) {
    seq.Step({seq.Event("Node instance deleted (nothing to do)")});
    return Status::Ok();
  }
  const bool agent = AwaitsAgent(*node);
  if (!agent &&
      !HasAnyOp(*node, {kValidationDelete, kMonitoringStop, L("prestop"), L("stop"), L("delete"),
                        L("postdelete")}) &&
      !HasAnyRelationshipOp(b, *node, instance, {unlink})) {
    seq.StateWithEvent(State::kDeleted, "Node instance deleted");
    return Status::Ok();
  }
  const bool stop = !(s == State::kStopped || s == State::kDeleting || s == State::kDeleted ||
                      s == State::kUninitialized || s == State::kConfigured);
  if (stop) {
    seq.StateWithEvent(State::kStopping, "Stopping node instance");
    seq.Operation(*node, kValidationDelete);
    seq.Operation(*node, kMonitoringStop);
    seq.Operation(*node, L("prestop"));
    if (agent) {
      seq.Operation(*node, kAgentDelete);
    }
    seq.Operation(*node, L("stop"));
    seq.StateWithEvent(State::kStopped, "Node instance stopped");
  }
  if (s != State::kUninitialized) {
    std::vector<model::RelationshipInstance> reversed(instance.relationships.rbegin(),
                                                      instance.relationships.rend());
    seq.Relationships(*node, reversed, unlink);
    seq.StateWithEvent(State::kDeleting, "Deleting node instance");
    seq.Operation(*node, L("delete"));
    seq.Operation(*node, L("postdelete"));
  }
  seq.StateWithEvent(State::kDeleted, "Node instance deleted");
  return Status::Ok();
}

enum class Direction { kInstall, kUninstall };

Result<TaskGraph> Build(const LifecycleScope& scope, Direction direction) {
  if (scope.nodes == nullptr) {
    return BadParametersError("lifecycle scope has no nodes");
  }
  TaskGraph graph;
  graph.name = direction == Direction::kInstall ? "install" : "uninstall";
  Builder b(scope, graph);
  const std::string prefix = direction == Direction::kInstall ? "install_" : "uninstall_";

  std::unordered_map<std::string_view, std::string> subgraph_of;  // instance id -> subgraph id
  std::unordered_set<std::string_view> processed;
  for (const NodeInstance* instance : scope.instances) {
    processed.insert(instance->id);
  }
  for (const NodeInstance* instance : scope.instances) {
    std::string subgraph = b.AddSubgraph(prefix + instance->id);
    subgraph_of.emplace(instance->id, subgraph);
    CLOUDIFY_RETURN_IF_ERROR(direction == Direction::kInstall
                                 ? AddInstall(b, *instance, subgraph)
                                 : AddUninstall(b, *instance, subgraph));
  }
  // Every relationship between processed instances orders their whole subgraphs.
  for (const NodeInstance* instance : scope.instances) {
    for (const auto& rel : instance->relationships) {
      auto target = subgraph_of.find(rel.target_id);
      if (target == subgraph_of.end() || rel.target_id == instance->id) {
        continue;
      }
      const std::string& source = subgraph_of.at(instance->id);
      if (direction == Direction::kInstall) {
        b.DependOn(source, target->second);
      } else {
        b.DependOn(target->second, source);
      }
    }
  }
  // Untouched instances related to processed ones get establish (install) or unlink
  // (uninstall) for those relationships: how scaling wires existing sources to new targets.
  const std::string op =
      Interface(kRelationshipLifecycle, direction == Direction::kInstall ? "establish" : "unlink");
  for (const NodeInstance* related : scope.related) {
    std::vector<model::RelationshipInstance> rels = RelationshipsTo(*related, processed);
    if (rels.empty()) {
      continue;
    }
    CLOUDIFY_ASSIGN_OR_RETURN(const model::Node* node, b.NodeOf(*related));
    if (!HasAnyRelationshipOp(b, *node, NodeInstance{.relationships = rels}, {op})) {
      continue;
    }
    std::string subgraph =
        b.AddSubgraph((direction == Direction::kInstall ? "establish_" : "unlink_") + related->id);
    Sequence seq(b, subgraph, *related);
    seq.Relationships(*node, rels, op);
    for (const auto& rel : rels) {
      const std::string& target = subgraph_of.at(rel.target_id);
      if (direction == Direction::kInstall) {
        b.DependOn(subgraph, target);
      } else {
        b.DependOn(target, subgraph);
      }
    }
  }
  return graph;
}

}  // namespace

Result<TaskGraph> BuildInstallGraph(const LifecycleScope& scope) {
  return Build(scope, Direction::kInstall);
}

Result<TaskGraph> BuildUninstallGraph(const LifecycleScope& scope) {
  return Build(scope, Direction::kUninstall);
}

Result<TaskGraph> BuildHealGraph(const LifecycleScope& scope) {
  if (scope.nodes == nullptr) {
    return BadParametersError("lifecycle scope has no nodes");
  }
  TaskGraph graph;
  graph.name = "heal";
  Builder b(scope, graph);
  for (const NodeInstance* instance : scope.instances) {
    CLOUDIFY_ASSIGN_OR_RETURN(const model::Node* node, b.NodeOf(*instance));
    Sequence seq(b, b.AddSubgraph("heal_" + instance->id), *instance);
    seq.Step({seq.Event("Healing node instance")});
    for (const char* op : {"preheal", "heal", "postheal"}) {
      seq.Operation(*node, Interface(kLifecycle, op));
    }
    seq.Step({seq.Event("Node instance healed")});
  }
  return graph;
}

}  // namespace cloudify::workflow
