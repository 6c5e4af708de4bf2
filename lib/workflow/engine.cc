#include "cloudify/workflow/engine.h"

#include <algorithm>
#include <cctype>
#include <functional>
#include <map>
#include <mutex>
#include <optional>
#include <set>
#include <unordered_map>
#include <unordered_set>

#include "cloudify/dsl/functions.h"
#include "cloudify/ids.h"
#include "cloudify/model/deployment_modification.h"
#include "cloudify/model/json.h"
#include "cloudify/model/user.h"
#include "cloudify/url.h"
#include "cloudify/workflow/events.h"
#include "cloudify/workflow/graph_runner.h"
#include "cloudify/workflow/lifecycle.h"

#include "workflow/agent_dispatch.h"
#include "workflow/agent_install.h"
#include "workflow/relationships.h"
#include "workflow/remote_agent.h"
#include "workflow/run_writer.h"
#include "workflow/scale_heal.h"

namespace cloudify::workflow {
namespace {

using model::ExecutionStatus;
using nlohmann::json;
namespace event_types = model::event_types;
using model::StringAt;

constexpr int kStateWriteAttempts = 5;
// A remote agent's own REST token lives as long as the agent: its cloudify_agent.delete deletes
// it, so the agent's registration and heartbeats never stop working under it.
constexpr std::chrono::hours kAgentTokenLifetime(24 * 365 * 10);

// --- Graph tasks <-> stored operations -------------------------------------------------------

std::string_view SideName(RelationshipSide side) {
  switch (side) {
    case RelationshipSide::kSource:
      return "source";
    case RelationshipSide::kTarget:
      return "target";
    default:
      return "";
  }
}

model::Operation ToOperation(const GraphTask& t, const std::string& graph_id,
                             const std::string& execution_id) {
  model::Operation op;
  op.id = t.id;
  op.name = t.name;
  op.type = std::string(TaskKindName(t.kind));
  op.dependencies = t.dependencies;
  op.tasks_graph_id = graph_id;
  op.execution_id = execution_id;
  // Only what differs from FromOperation's defaults: a graph stores a row per task, and this
  // is most of each row.
  json kwargs = json::object();
  if (!t.node_instance_id.empty()) {
    kwargs["node_instance_id"] = t.node_instance_id;
  }
  if (t.side != RelationshipSide::kNone) {
    kwargs["relationship"] = std::string(SideName(t.side));
    kwargs["related_instance_id"] = t.related_instance_id;
  }
  if (t.kind == TaskKind::kSetNodeState || t.state != model::NodeInstanceState::kUninitialized) {
    kwargs["state"] = std::string(model::NodeInstanceStateName(t.state));
  }
  if (!t.message.empty()) {
    kwargs["message"] = t.message;
  }
  if (!t.kwargs.is_null()) {
    kwargs["kwargs"] = t.kwargs;
  }
  if (t.allow_kwargs_override) {
    kwargs["allow_kwargs_override"] = true;
  }
  op.parameters = {{"task_kwargs", std::move(kwargs)}, {"current_retries", 0}};
  if (!t.containing_subgraph.empty()) {
    op.parameters["containing_subgraph"] = t.containing_subgraph;
  }
  if (t.max_retries) {
    op.parameters["total_retries"] = *t.max_retries;
  }
  if (t.retry_interval) {
    op.parameters["retry_interval"] = *t.retry_interval;
  }
  return op;
}

Result<GraphTask> FromOperation(const model::Operation& op) {
  GraphTask t;
  t.id = op.id;
  t.name = op.name;
  t.dependencies = op.dependencies;
  bool known = false;
  for (TaskKind k :
       {TaskKind::kOperation, TaskKind::kSetNodeState, TaskKind::kNodeEvent, TaskKind::kSubgraph}) {
    if (TaskKindName(k) == op.type) {
      t.kind = k;
      known = true;
    }
  }
  if (!known) {
    return Status(ErrorCode::kStorageError,
                  "stored operation " + op.id + " has unknown type '" + op.type + "'");
  }
  const json& p = op.parameters;
  const json kwargs = p.value("task_kwargs", json::object());
  t.node_instance_id = kwargs.value("node_instance_id", "");
  const std::string side = kwargs.value("relationship", "");
  t.side = side == "source"   ? RelationshipSide::kSource
           : side == "target" ? RelationshipSide::kTarget
                              : RelationshipSide::kNone;
  t.related_instance_id = kwargs.value("related_instance_id", "");
  t.state = model::ParseNodeInstanceState(kwargs.value("state", "uninitialized"))
                .value_or(model::NodeInstanceState::kUninitialized);
  t.message = kwargs.value("message", "");
  t.kwargs = kwargs.value("kwargs", json());
  t.allow_kwargs_override = kwargs.value("allow_kwargs_override", false);
  if (p.contains("containing_subgraph") && p["containing_subgraph"].is_string()) {
    t.containing_subgraph = p["containing_subgraph"].get<std::string>();
  }
  if (p.contains("total_retries") && p["total_retries"].is_number_integer()) {
    t.max_retries = p["total_retries"].get<int>();
  }
  if (p.contains("retry_interval") && p["retry_interval"].is_number()) {
    t.retry_interval = p["retry_interval"].get<double>();
  }
  return t;
}

// --- The deployment as one run sees it -------------------------------------------------------

struct RunData {
  storage::CallerContext caller;
  model::Execution execution;
  model::Deployment deployment;
  std::vector<model::Node> nodes;
  std::unordered_map<std::string, const model::Node*> node_by_id;
  std::vector<model::NodeInstance> instances;
  std::unordered_map<std::string, size_t> instance_index;
  mutable std::mutex mu;                            // guards `instances` once the graph runs
  const std::atomic<bool>* force_cancel = nullptr;  // force-cancel / kill requested
  AgentDispatcher* agents = nullptr;                // host_agent operations go through it
  std::mutex token_mu;                              // guards rest_token
  std::optional<model::MintedToken> rest_token;     // made when an agent first needs it
  std::chrono::milliseconds rest_token_lifetime{0};
  // How agents reach this manager (EngineOptions), and the program installed on remote hosts.
  std::string agent_bus_url;
  std::string agent_rest_url;
  std::filesystem::path agent_program;

  const model::Node* NodeOf(const std::string& node_id) const {
    auto it = node_by_id.find(node_id);
    return it == node_by_id.end() ? nullptr : it->second;
  }
  model::NodeInstance* Instance(const std::string& id) {
    auto it = instance_index.find(id);
    return it == instance_index.end() ? nullptr : &instances[it->second];
  }
};

const model::RelationshipSpec* RelationshipSpecFor(const model::Node& source_node,
                                                   const model::NodeInstance& source,
                                                   const std::string& target_id) {
  for (const auto& rel : source.relationships) {
    if (rel.target_id == target_id) {
      return TemplateRelationship(source_node, rel);
    }
  }
  return nullptr;
}

// Looks a JSON value up along an attribute path: [name, key or index, ...].
const json* Walk(const json& root, const json& path, size_t from) {
  const json* cur = &root;
  for (size_t i = from; i < path.size(); ++i) {
    if (path[i].is_string() && cur->is_object()) {
      auto it = cur->find(path[i].get<std::string>());
      if (it == cur->end()) {
        return nullptr;
      }
      cur = &*it;
    } else if (path[i].is_number_integer() && cur->is_array()) {
      auto index = path[i].get<int64_t>();
      if (index < 0 || static_cast<size_t>(index) >= cur->size()) {
        return nullptr;
      }
      cur = &(*cur)[static_cast<size_t>(index)];
    } else {
      return nullptr;
    }
  }
  return cur;
}

// Run-time function evaluation over the store (get_attribute, get_secret, get_sys, ...).
class RuntimeFunctions final : public dsl::FunctionContext {
 public:
  RuntimeFunctions(RunData& data, storage::Store& store) : data_(data), store_(store) {}

  Result<json> GetInput(const std::string& name) override {
    auto it = data_.deployment.inputs.find(name);
    if (it == data_.deployment.inputs.end()) {
      return Status(ErrorCode::kFunctionsEvaluation, "input '" + name + "' does not exist");
    }
    return *it;
  }

  Result<json> GetNodeProperties(const std::string& node_id) override {
    const model::Node* node = data_.NodeOf(node_id);
    if (node == nullptr) {
      return Status(ErrorCode::kFunctionsEvaluation, "node '" + node_id + "' does not exist");
    }
    return node->spec.properties;
  }

  Result<json> GetAttribute(const std::string& node_id, const std::string& instance_id,
                            const std::string& from_instance_id, const json& path) override {
    CLOUDIFY_ASSIGN_OR_RETURN(std::string id, PickInstance(node_id, instance_id, from_instance_id));
    CLOUDIFY_ASSIGN_OR_RETURN(model::NodeInstance instance,
                              store_.GetNodeInstance(data_.caller, id));
    return Attribute(instance, path);
  }

  Result<json> GetAttributeOfAllInstances(const std::string& node_id, const json& path) override {
    json out = json::object();
    storage::ListQuery query;
    query.get_all_results = true;
    query.filters = {{"deployment_id", {data_.deployment.id}}, {"node_id", {node_id}}};
    CLOUDIFY_ASSIGN_OR_RETURN(auto page, store_.ListNodeInstances(data_.caller, query));
    for (const auto& instance : page.items) {
      CLOUDIFY_ASSIGN_OR_RETURN(out[instance.id], Attribute(instance, path));
    }
    return out;
  }

  Result<json> GetSecret(const std::string& key) override {
    auto secret = store_.GetSecret(data_.caller, key);
    if (!secret.ok()) {
      return Status(ErrorCode::kUnknownDeploymentSecret,
                    "Required secret `" + key + "` does not exist");
    }
    return json(secret->value);
  }

  Result<json> GetSys(const std::string& entity, const std::string& property) override {
    if (entity == "tenant" && property == "name") {
      return json(data_.caller.tenant);
    }
    if (entity == "deployment") {
      if (property == "id") {
        return json(data_.deployment.id);
      }
      if (property == "name") {
        return json(data_.deployment.display_name.empty() ? data_.deployment.id
                                                          : data_.deployment.display_name);
      }
      if (property == "blueprint") {
        return json(data_.deployment.blueprint_id);
      }
      if (property == "owner") {
        return json(data_.deployment.meta.created_by);
      }
    }
    return Status(ErrorCode::kFunctionsEvaluation,
                  "get_sys: unknown " + entity + " property '" + property + "'");
  }

 private:
  // The original's choice when get_attribute names a node, not an instance: the only instance,
  // or the one related to (or sharing a host with) the instance asking.
  Result<std::string> PickInstance(const std::string& node_id, const std::string& instance_id,
                                   const std::string& from_instance_id) {
    if (!instance_id.empty()) {
      return instance_id;
    }
    std::lock_guard lock(data_.mu);
    std::vector<const model::NodeInstance*> candidates;
    for (const auto& instance : data_.instances) {
      if (instance.node_id == node_id) {
        candidates.push_back(&instance);
      }
    }
    if (candidates.size() == 1) {
      return candidates.front()->id;
    }
    const model::NodeInstance* from =
        from_instance_id.empty() ? nullptr : data_.Instance(from_instance_id);
    if (from != nullptr) {
      std::vector<std::string> related;
      for (const auto* c : candidates) {
        bool linked = (from->host_id && c->host_id == from->host_id);
        for (const auto& rel : from->relationships) {
          linked = linked || rel.target_id == c->id;
        }
        for (const auto& rel : c->relationships) {
          linked = linked || rel.target_id == from->id;
        }
        if (linked) {
          related.push_back(c->id);
        }
      }
      if (related.size() == 1) {
        return related.front();
      }
    }
    return Status(ErrorCode::kFunctionsEvaluation,
                  "get_attribute: node '" + node_id + "' has " + std::to_string(candidates.size()) +
                      " instances and none is related to the caller");
  }

  Result<json> Attribute(const model::NodeInstance& instance, const json& path) {
    if (!path.is_array() || path.empty() || !path[0].is_string()) {
      return Status(ErrorCode::kFunctionsEvaluation, "get_attribute: bad attribute path");
    }
    const std::string name = path[0].get<std::string>();
    if (auto it = instance.runtime_properties.find(name); it != instance.runtime_properties.end()) {
      const json* value = Walk(*it, path, 1);
      return value != nullptr ? *value : json(nullptr);
    }
    if (name == "node_instance_id") {
      return json(instance.id);
    }
    if (name == "node_instance_index") {
      return json(instance.index);
    }
    const model::Node* node = data_.NodeOf(instance.node_id);
    if (node != nullptr) {
      if (auto it = node->spec.properties.find(name); it != node->spec.properties.end()) {
        const json* value = Walk(*it, path, 1);
        return value != nullptr ? *value : json(nullptr);
      }
    }
    return json(nullptr);
  }

  RunData& data_;
  storage::Store& store_;
};

// --- Emitting events ---------------------------------------------------------------------------

class Emitter {
 public:
  Emitter(EventPublisher& publisher, const RunData& data, const Clock& clock,
          std::string manager_name)
      : publisher_(publisher), data_(data), clock_(clock), manager_(std::move(manager_name)) {}

  model::Event Base(model::EventKind kind, std::string message) const {
    model::Event e;
    e.kind = kind;
    e.message = std::move(message);
    e.reported_timestamp = clock_.Now();
    e.blueprint_id = data_.execution.blueprint_id;
    e.deployment_id = data_.execution.deployment_id;
    e.deployment_display_name = data_.deployment.display_name;
    e.execution_id = data_.execution.id;
    e.workflow_id = data_.execution.workflow_id;
    e.tenant_name = data_.caller.tenant;
    e.manager_name = manager_;
    return e;
  }

  void Workflow(std::string_view type, std::string message, json error_causes = nullptr) {
    model::Event e = Base(model::EventKind::kEvent, std::move(message));
    e.event_type = std::string(type);
    e.error_causes = std::move(error_causes);
    publisher_.Publish(e);
  }

  void ForTask(std::string_view type, const GraphTask& task, std::string message,
               json error_causes = nullptr) {
    if (data_.execution.is_dry_run) {
      message += " (dry run)";
    }
    model::Event e = Base(model::EventKind::kEvent, std::move(message));
    e.event_type = std::string(type);
    Fill(e, task);
    e.error_causes = std::move(error_causes);
    publisher_.Publish(e);
  }

  void Log(LogLevel level, const GraphTask& task, std::string message) {
    model::Event e = Base(model::EventKind::kLog, std::move(message));
    e.logger = "ctx";
    e.level = level;
    Fill(e, task);
    publisher_.Publish(e);
  }

 private:
  void Fill(model::Event& e, const GraphTask& task) const {
    e.node_instance_id = task.node_instance_id;
    auto it = data_.instance_index.find(task.node_instance_id);
    if (it != data_.instance_index.end()) {
      e.node_name = data_.instances[it->second].node_id;
    }
    if (task.kind == TaskKind::kOperation) {
      e.operation = task.name;
    }
    if (task.side == RelationshipSide::kSource) {
      e.source_id = task.node_instance_id;
      e.target_id = task.related_instance_id;
    } else if (task.side == RelationshipSide::kTarget) {
      e.source_id = task.related_instance_id;
      e.target_id = task.node_instance_id;
    }
  }

  EventPublisher& publisher_;
  const RunData& data_;
  const Clock& clock_;
  const std::string manager_;
};

// The execution's logs, through the emitter, as a Logger.
class OperationLogger final : public Logger {
 public:
  OperationLogger(Emitter& emitter, const GraphTask& task) : emitter_(emitter), task_(task) {}
  bool Enabled(LogLevel) const override { return true; }
  void Write(LogLevel level, std::string_view message,
             std::initializer_list<LogField> fields) override {
    std::string text(message);
    for (const auto& f : fields) {
      text += " " + std::string(f.key) + "=" + f.value;
    }
    emitter_.Log(level, task_, std::move(text));
  }

 private:
  Emitter& emitter_;
  const GraphTask& task_;
};

// --- Running operations --------------------------------------------------------------------

class InstanceView final : public InstanceContext {
 public:
  InstanceView(const model::Node& node, model::NodeInstance instance)
      : node_(node), instance_(std::move(instance)), original_(instance_.runtime_properties) {}
  const model::Node& node() const override { return node_; }
  const model::NodeInstance& instance() const override { return instance_; }
  json& runtime_properties() override { return instance_.runtime_properties; }
  bool changed() const { return instance_.runtime_properties != original_; }

 private:
  const model::Node& node_;
  model::NodeInstance instance_;
  const json original_;
};

class ContextImpl final : public OperationContext {
 public:
  ContextImpl(const RunData& data, const GraphTask& task, int retry, int max_retries, json inputs,
              Emitter& emitter, const model::OperationSpec& spec)
      : data_(data),
        task_(task),
        retry_(retry),
        max_retries_(max_retries),
        inputs_(std::move(inputs)),
        logger_(emitter, task),
        spec_(spec) {}

  const std::string& tenant() const override { return data_.caller.tenant; }
  const std::string& deployment_id() const override { return data_.execution.deployment_id; }
  const std::string& blueprint_id() const override { return data_.execution.blueprint_id; }
  const std::string& execution_id() const override { return data_.execution.id; }
  const std::string& workflow_id() const override { return data_.execution.workflow_id; }
  const std::string& operation_name() const override { return task_.name; }
  Result<model::NodeInstance> ReadInstance(const std::string& id) const override {
    std::lock_guard lock(data_.mu);
    auto it = data_.instance_index.find(id);
    if (it == data_.instance_index.end()) {
      return Status(ErrorCode::kNotFound, "node instance " + id + " is not in the deployment");
    }
    return data_.instances[it->second];
  }
  int retry_number() const override { return retry_; }
  int max_retries() const override { return max_retries_; }
  const json& inputs() const override { return inputs_; }
  std::optional<std::chrono::milliseconds> timeout() const override {
    if (!spec_.timeout || *spec_.timeout <= 0) {
      return std::nullopt;
    }
    return std::chrono::milliseconds(static_cast<int64_t>(*spec_.timeout * 1000));
  }
  bool timeout_recoverable() const override { return spec_.timeout_recoverable; }
  bool is_relationship() const override { return task_.side != RelationshipSide::kNone; }
  InstanceContext& instance() override { return *self_; }
  InstanceContext& source() override { return source_ ? *source_ : *self_; }
  InstanceContext& target() override { return target_ ? *target_ : *self_; }
  Logger& logger() override { return logger_; }

  void Fail(std::string message, bool recoverable) override {
    outcome_ = TaskOutcome::Failure(std::move(message), recoverable);
  }
  void Retry(std::string message, std::optional<std::chrono::milliseconds> after) override {
    outcome_ = TaskOutcome::Retry(std::move(message), after);
  }
  void Return(json value) override { returned_ = std::move(value); }
  bool cancel_requested() const override {
    return data_.force_cancel != nullptr && data_.force_cancel->load();
  }

  std::unique_ptr<InstanceView> self_owned_;
  std::unique_ptr<InstanceView> other_owned_;
  InstanceView* self_ = nullptr;
  InstanceView* source_ = nullptr;
  InstanceView* target_ = nullptr;
  TaskOutcome outcome_ = TaskOutcome::Success();
  json returned_;

 private:
  const RunData& data_;
  const GraphTask& task_;
  const int retry_;
  const int max_retries_;
  const json inputs_;
  OperationLogger logger_;
  const model::OperationSpec& spec_;
};

// Called on a worker thread when an operation of a phase that ignores failures has ended.
using OperationEndHook = std::function<void(const GraphTask&, const TaskOutcome&)>;

class RunExecutor final : public TaskExecutor, public GraphObserver {
 public:
  RunExecutor(RunData& data, storage::Store& store, const OperationRegistry& operations,
              const ScriptOptions& scripts, Emitter& emitter, int default_retries,
              std::string graph_id, std::vector<model::Operation> stored)
      : data_(data),
        store_(store),
        operations_(operations),
        scripts_(scripts),
        emitter_(emitter),
        default_retries_(default_retries),
        functions_(data, store),
        writer_(store, data.caller,
                [this](const std::vector<std::string>& ids) { RestoreStates(ids); }) {
    for (auto& op : stored) {
      resumed_ = resumed_ || op.state != model::TaskState::kPending;
      ops_.emplace(op.id, std::move(op));
    }
    (void)graph_id;
  }

  TaskOutcome Execute(const GraphTask& task, int retry) override {
    // A dry run walks the graph in order and changes nothing.
    const bool dry_run = data_.execution.is_dry_run;
    if (dry_run && task.kind == TaskKind::kOperation) {
      return TaskOutcome::Success();
    }
    switch (task.kind) {
      case TaskKind::kSetNodeState: {
        TaskOutcome outcome = dry_run ? TaskOutcome::Success() : SetState(task);
        if (outcome.kind == TaskOutcome::Kind::kSucceeded && !task.message.empty()) {
          emitter_.ForTask(event_types::kWorkflowNodeEvent, task, task.message);
        }
        return outcome;
      }
      case TaskKind::kNodeEvent:
        emitter_.ForTask(event_types::kWorkflowNodeEvent, task, task.message);
        return TaskOutcome::Success();
      case TaskKind::kOperation: {
        // A heal sequence stops at its instance's first failure; the others go on.
        if (skip_failed_instances_ && !FailureOf(task.node_instance_id).empty()) {
          return TaskOutcome::Success();
        }
        TaskOutcome outcome = RunOperation(task, retry);
        if (!ignore_failures_ || outcome.kind == TaskOutcome::Kind::kRetryRequested) {
          return outcome;
        }
        // ignore_failure (uninstall, scale, status checks): the outcome is final; a failure
        // is logged and passed over, as the original's ignore handler does, without retries.
        const bool failed = outcome.kind != TaskOutcome::Kind::kSucceeded;
        if (failed) {
          std::lock_guard lock(failures_mu_);
          failures_.emplace(task.node_instance_id,
                            outcome.error.empty() ? "failed" : outcome.error);
        }
        if (on_operation_end_) {
          on_operation_end_(task, outcome);
        }
        if (failed) {
          emitter_.Log(LogLevel::kWarning, task,
                       "Ignoring the failure of '" + task.name + "' (" + task.node_instance_id +
                           "): " + outcome.error);
          return TaskOutcome::Success();
        }
        return outcome;
      }
      case TaskKind::kSubgraph:
        break;
    }
    return TaskOutcome::Success();
  }

  void set_ignore_failures(bool ignore) { ignore_failures_ = ignore; }
  void set_skip_failed_instances(bool skip) { skip_failed_instances_ = skip; }
  void set_on_operation_end(OperationEndHook hook) { on_operation_end_ = std::move(hook); }

  // With ignore_failures: the first ignored failure of each instance (instance id -> error).
  std::map<std::string, std::string> failures() const {
    std::lock_guard lock(failures_mu_);
    return failures_;
  }

  void OnTaskState(const GraphTask& task, model::TaskState state, int retry,
                   std::string_view error) override {
    const bool operation = task.kind == TaskKind::kOperation;
    if (operation) {
      const std::string what = task.name + " (" + task.node_instance_id + ")";
      switch (state) {
        case model::TaskState::kStarted:
          emitter_.ForTask(event_types::kTaskStarted, task, "'" + what + "' started");
          break;
        case model::TaskState::kSucceeded:
          emitter_.ForTask(event_types::kTaskSucceeded, task, "'" + what + "' succeeded");
          ++finished_operations_;
          break;
        case model::TaskState::kRescheduled:
          emitter_.ForTask(event_types::kTaskRescheduled, task,
                           "'" + what + "' failed, retrying: " + std::string(error),
                           json::array({{{"message", error}, {"type", "RecoverableError"}}}));
          break;
        case model::TaskState::kFailed:
          emitter_.ForTask(event_types::kTaskFailed, task,
                           "'" + what + "' failed: " + std::string(error),
                           json::array({{{"message", error}, {"type", "NonRecoverableError"}}}));
          ++finished_operations_;
          break;
        default:
          break;
      }
    }
    // Stored: how operations ended (a resume skips those that succeeded) and failures. Local
    // steps (states, events, subgraphs) are cheap and idempotent: a resume simply runs them
    // again, which saves a write for each of them.
    const bool persist =
        !data_.execution.is_dry_run && (state == model::TaskState::kFailed ||
                                        (operation && (state == model::TaskState::kSucceeded ||
                                                       state == model::TaskState::kRescheduled)));
    if (!persist) {
      return;
    }
    auto it = ops_.find(task.id);
    if (it == ops_.end()) {
      return;
    }
    it->second.state = state;
    it->second.parameters["current_retries"] = retry;
    if (!error.empty()) {
      it->second.parameters["error"] = std::string(error);
    }
    writer_.SetOperationState(it->second.id, state, it->second.parameters);
  }

  int64_t finished_operations() const { return finished_operations_; }

  // Stores what the run queued; the first write that failed, if any.
  Status Finish() { return writer_.Flush(); }

 private:
  TaskOutcome SetState(const GraphTask& task) {
    {
      std::lock_guard lock(data_.mu);
      if (model::NodeInstance* cached = data_.Instance(task.node_instance_id)) {
        // A resumed run replays the state steps of operations that already succeeded; they
        // must not move an instance back along its lifecycle.
        if (resumed_ && SamePhaseNotBehind(cached->state, task.state)) {
          return TaskOutcome::Success();
        }
        // The cache is the run's truth; the store follows in the writer's next batch (queued
        // under the lock, so an instance's writes queue in version order).
        writer_.SetInstanceState(cached->id, task.state, cached->version);
        cached->state = task.state;
        ++cached->version;
        return TaskOutcome::Success();
      }
    }
    // Not one of the run's instances: written at once, re-read on a conflict.
    std::optional<int64_t> version;
    for (int attempt = 0; attempt < kStateWriteAttempts; ++attempt) {
      if (!version) {
        auto current = store_.GetNodeInstance(data_.caller, task.node_instance_id);
        if (!current.ok()) {
          return TaskOutcome::Failure(current.status().ToString());
        }
        version = current->version;
      }
      storage::NodeInstanceUpdate update;
      update.version = *version;
      update.state = task.state;
      auto updated = store_.UpdateNodeInstance(data_.caller, task.node_instance_id, update);
      if (updated.ok()) {
        Remember(*updated);
        return TaskOutcome::Success();
      }
      if (updated.status().code() != ErrorCode::kConflict) {
        return TaskOutcome::Failure(updated.status().ToString());
      }
      version.reset();
    }
    return TaskOutcome::Failure("node instance " + task.node_instance_id +
                                " kept changing while its state was set");
  }

  // Only the fields a run changes are written: ids and node names are read without the lock
  // (event context) and never change.
  void Remember(const model::NodeInstance& fresh) {
    std::lock_guard lock(data_.mu);
    RememberLocked(fresh);
  }
  void RememberLocked(const model::NodeInstance& fresh) {
    if (model::NodeInstance* cached = data_.Instance(fresh.id)) {
      cached->state = fresh.state;
      cached->version = fresh.version;
      cached->runtime_properties = fresh.runtime_properties;
      cached->system_properties = fresh.system_properties;
    }
  }

  // The writer found these instances written by someone else since the run read them: store
  // the run's state over the fresh version and take the rest (runtime properties) from the
  // store. Under the lock, so no state step of the run slips in between.
  void RestoreStates(const std::vector<std::string>& ids) {
    std::lock_guard lock(data_.mu);
    for (const std::string& id : ids) {
      const model::NodeInstance* cached = data_.Instance(id);
      if (cached == nullptr) {
        continue;
      }
      const model::NodeInstanceState state = cached->state;
      for (int attempt = 0; attempt < kStateWriteAttempts; ++attempt) {
        auto current = store_.GetNodeInstance(data_.caller, id);
        if (!current.ok()) {
          break;
        }
        storage::NodeInstanceUpdate update;
        update.version = current->version;
        update.state = state;
        auto updated = store_.UpdateNodeInstance(data_.caller, id, update);
        if (updated.ok()) {
          RememberLocked(*updated);
          break;
        }
        if (updated.status().code() != ErrorCode::kConflict) {
          break;
        }
      }
    }
  }

  // The instance as last written by this run (a concurrent writer shows up as a version
  // conflict when the operation's changes are stored, and the retry reads it afresh).
  Result<std::unique_ptr<InstanceView>> View(const std::string& instance_id, bool fresh) {
    model::NodeInstance instance;
    bool cached = false;
    if (!fresh) {
      std::lock_guard lock(data_.mu);
      if (const model::NodeInstance* c = data_.Instance(instance_id)) {
        instance = *c;
        cached = true;
      }
    }
    if (!cached) {
      CLOUDIFY_ASSIGN_OR_RETURN(instance, store_.GetNodeInstance(data_.caller, instance_id));
    }
    const model::Node* node = data_.NodeOf(instance.node_id);
    if (node == nullptr) {
      return Status(ErrorCode::kNotFound, "node '" + instance.node_id + "' not found");
    }
    return std::make_unique<InstanceView>(*node, std::move(instance));
  }

  TaskOutcome RunOperation(const GraphTask& task, int retry) {
    const bool fresh = retry > 0;  // a retry may follow a conflict: read the store
    if (fresh) {
      // ... once it holds the states the run queued, or it reads them stale.
      if (Status queued = writer_.Flush(); !queued.ok()) {
        return TaskOutcome::Failure("storing node instance states: " + queued.ToString());
      }
    }
    auto self = View(task.node_instance_id, fresh);
    if (!self.ok()) {
      return TaskOutcome::Failure(self.status().ToString());
    }
    std::unique_ptr<InstanceView> other;
    const model::OperationSpec* spec = nullptr;
    dsl::FunctionScope scope;
    if (task.side == RelationshipSide::kNone) {
      const auto& ops = (*self)->node().spec.operations;
      auto it = ops.find(task.name);
      spec = it == ops.end() ? nullptr : &it->second;
      scope.self_node = (*self)->node().id();
      scope.self_instance = (*self)->id();
    } else {
      auto related = View(task.related_instance_id, fresh);
      if (!related.ok()) {
        return TaskOutcome::Failure(related.status().ToString());
      }
      other = std::move(*related);
      InstanceView* source = task.side == RelationshipSide::kSource ? self->get() : other.get();
      InstanceView* target = task.side == RelationshipSide::kSource ? other.get() : self->get();
      const model::RelationshipSpec* rel =
          RelationshipSpecFor(source->node(), source->instance(), target->id());
      if (rel != nullptr) {
        const auto& ops = task.side == RelationshipSide::kSource ? rel->source_operations
                                                                 : rel->target_operations;
        auto it = ops.find(task.name);
        spec = it == ops.end() ? nullptr : &it->second;
      }
      scope.source_node = source->node().id();
      scope.target_node = target->node().id();
      scope.source_instance = source->id();
      scope.target_instance = target->id();
      scope.self_instance = (*self)->id();
    }
    if (spec == nullptr) {
      return TaskOutcome::Failure("operation " + task.name + " is not defined", false);
    }
    auto inputs =
        dsl::EvaluateFunctions(spec->inputs, scope, functions_, dsl::EvaluationMode::kRuntime);
    if (!inputs.ok()) {
      return TaskOutcome::Failure(inputs.status().ToString(), false);
    }
    if (task.kwargs.is_object()) {
      if (!inputs->is_object()) {
        *inputs = json::object();
      }
      for (const auto& [key, value] : task.kwargs.items()) {
        if (inputs->contains(key) && !task.allow_kwargs_override) {
          return TaskOutcome::Failure("Duplicate input '" + key +
                                          "' found during merge of operation inputs and "
                                          "operation_kwargs (allow_kwargs_override is false)",
                                      false);
        }
        (*inputs)[key] = value;
      }
    }
    if (std::optional<TaskOutcome> sent =
            RunOnAgent(task, retry, **self, other.get(), *spec, *inputs)) {
      return *sent;
    }
    const std::string handler_name =
        spec->plugin.empty() ? spec->implementation : spec->plugin + "." + spec->operation;
    const OperationHandler* handler = operations_.Find(handler_name);
    const OperationHandler run_script = [this](OperationContext& c) {
      RunScriptOperation(c, scripts_);
    };
    if (handler == nullptr && IsScriptOperation(*spec)) {
      handler = &run_script;  // a registered handler of the same name wins
    }
    const OperationHandler install_agent = [this](OperationContext& c) { RunAgentInstaller(c); };
    if (handler == nullptr && handler_name.rfind(kAgentInstaller, 0) == 0) {
      handler = &install_agent;  // here too, a registered handler wins
    }
    if (handler == nullptr) {
      return TaskOutcome::Failure(
          "no handler is registered for '" + handler_name + "' (operation " + task.name + ")",
          false);
    }
    ContextImpl ctx(data_, task, retry, task.max_retries.value_or(default_retries_),
                    std::move(*inputs), emitter_, *spec);
    ctx.self_owned_ = std::move(*self);
    ctx.other_owned_ = std::move(other);
    ctx.self_ = ctx.self_owned_.get();
    if (task.side == RelationshipSide::kSource) {
      ctx.source_ = ctx.self_;
      ctx.target_ = ctx.other_owned_.get();
    } else if (task.side == RelationshipSide::kTarget) {
      ctx.source_ = ctx.other_owned_.get();
      ctx.target_ = ctx.self_;
    }
    try {
      (*handler)(ctx);
    } catch (const std::exception& e) {
      // A handler's exception is its failure, retried like the original's unknown errors.
      ctx.Fail(e.what(), /*recoverable=*/true);
    } catch (...) {
      ctx.Fail("unknown exception", /*recoverable=*/true);
    }
    if (ctx.cancel_requested()) {
      // Force-cancelled or killed while it ran: whatever it did is not a success (a resume
      // runs it again), and its runtime-property changes are dropped.
      return TaskOutcome::Failure("operation cancelled (force-cancel or kill)", false);
    }
    for (InstanceView* view : {ctx.self_owned_.get(), ctx.other_owned_.get()}) {
      if (view == nullptr || !view->changed()) {
        continue;
      }
      // The view's version counts the queued state writes: store them first.
      if (Status queued = writer_.Flush(); !queued.ok()) {
        return TaskOutcome::Failure("storing node instance states: " + queued.ToString());
      }
      storage::NodeInstanceUpdate update;
      update.version = view->instance().version;
      update.runtime_properties = view->instance().runtime_properties;
      auto stored = store_.UpdateNodeInstance(data_.caller, view->id(), update);
      if (!stored.ok()) {
        return TaskOutcome::Failure("storing runtime properties of " + view->id() + ": " +
                                    stored.status().ToString());
      }
      Remember(*stored);
    }
    return ctx.outcome_;
  }

  // The built-in cloudify_agent operations of a host that gets an agent (agent_install.h).
  // create records the agent in the host's `cloudify_agent` runtime property (a name an IaaS
  // operation recorded first is kept): for `provided` it logs the command that starts it, for
  // `remote` it installs and starts it over SSH (remote_agent.h) when this manager has an agent
  // program to copy, and otherwise records nothing, so the host's operations run here. start
  // waits for the agent to answer a ping; delete stops and removes a remote agent, and forgets
  // it. The other operations of the interface have nothing to do here.
  void RunAgentInstaller(OperationContext& c) {
    const std::string& op = c.operation_name();
    const model::Node& node = c.instance().node();
    const std::string method = AgentInstallMethod(node);
    json& properties = c.instance().runtime_properties();
    json agent = properties.value("cloudify_agent", json::object());
    if (!agent.is_object()) {
      agent = json::object();
    }
    if (op == kAgentCreate) {
      std::string name = StringAt(agent, "name");
      if (name.empty()) {
        const json config = AgentConfig(node.spec.properties);
        name = StringAt(config, "service_name");
        name = name.empty() ? c.instance().id() : name;
        agent["name"] = name;
      }
      if (StringAt(agent, "queue").empty()) {
        agent["queue"] = name;
      }
      agent["install_method"] = method;
      if (method == "remote") {
        if (data_.agent_program.empty()) {
          c.logger().Info(
              "No agent is installed on this host: this manager has no agent program to copy "
              "over SSH (its agent_program option), so its operations run on the manager");
          return;
        }
        CreateRemoteAgent(c, agent);
        return;
      }
      properties["cloudify_agent"] = agent;
      if (method != "provided") {
        c.logger().Info("Agent " + name + " is to be started on its host by " + method);
        return;
      }
      const auto or_placeholder = [](const std::string& value, const char* placeholder) {
        return value.empty() ? std::string(placeholder) : value;
      };
      std::string bus_url = data_.agent_bus_url;
      if (auto url = ParseUrl(bus_url); url.ok()) {
        bus_url = url->Redacted();
      }
      c.logger().Info(
          "Agent " + name +
          " is installed by hand (install_method provided). On its host, run: cloudify-agent "
          "--name " +
          StringAt(agent, "queue") + " --bus-url " + or_placeholder(bus_url, "<broker URL>") +
          " --rest-url " + or_placeholder(data_.agent_rest_url, "<manager REST URL>") +
          " --tenant " + c.tenant() + " --node-instance-id " + c.instance().id() +
          " --rest-username <user> --rest-password <password>");
      return;
    }
    if (op == kAgentStart) {
      const std::string queue = StringAt(agent, "queue");
      if (queue.empty()) {
        if (method == "remote") {
          return;  // none was installed (create said why): the operations run here
        }
        c.Fail(
            "no agent is recorded on " + c.instance().id() + " (cloudify_agent.create did not run)",
            false);
        return;
      }
      if (data_.agents == nullptr) {
        c.Fail("no agent dispatcher in this run", false);
        return;
      }
      TaskOutcome alive = data_.agents->AwaitAgent(queue);
      if (alive.kind != TaskOutcome::Kind::kSucceeded) {
        // A remote agent that ended will not answer a retry either: its log says why.
        if (!StringAt(agent, "agent_dir").empty()) {
          if (auto ssh = RemoteAgentSsh(c, agent); ssh.ok()) {
            auto log = EndedRemoteAgentLog(*ssh, StringAt(agent, "agent_dir"));
            if (log.ok() && !log->empty()) {
              c.Fail("Agent " + queue + " on " + ssh->Describe() + " ended; the end of " +
                         StringAt(agent, "agent_dir") + "/agent.log:\n" + *log,
                     false);
              return;
            }
          }
        }
        c.Fail(alive.error, /*recoverable=*/true);
        return;
      }
      c.logger().Info("Agent " + queue + " is alive");
      return;
    }
    if (op == kAgentDelete && properties.contains("cloudify_agent")) {
      const std::string agent_dir = StringAt(agent, "agent_dir");
      if (!agent_dir.empty()) {
        auto ssh = RemoteAgentSsh(c, agent);
        Status removed = ssh.ok() ? UninstallRemoteAgent(*ssh, agent_dir) : ssh.status();
        if (!removed.ok()) {
          c.Fail("removing agent " + StringAt(agent, "name") + ": " + removed.ToString(),
                 removed.code() == ErrorCode::kUnavailable);
          return;
        }
        if (const std::string token = StringAt(agent, "rest_token_id"); !token.empty()) {
          (void)store_.DeleteToken(token);
        }
        properties.erase("cloudify_agent");
        c.logger().Info("Agent " + StringAt(agent, "name") + " is stopped and removed from " +
                        ssh->Describe() + ":" + agent_dir);
        return;
      }
      properties.erase("cloudify_agent");
      c.logger().Info("Agent " + StringAt(agent, "name") + " is forgotten: stop it on its host");
    }
  }

  // The host's agent config with its functions (get_secret, get_input...) evaluated.
  Result<json> EvaluatedAgentConfig(OperationContext& c) {
    dsl::FunctionScope scope;
    scope.self_node = c.instance().node().id();
    scope.self_instance = c.instance().id();
    return dsl::EvaluateFunctions(AgentConfig(c.instance().node().spec.properties), scope,
                                  functions_, dsl::EvaluationMode::kRuntime);
  }

  // How to reach the host of the installed remote agent `agent`: the credentials from the
  // host's config, the address it was installed at.
  Result<SshTarget> RemoteAgentSsh(OperationContext& c, const json& agent) {
    CLOUDIFY_ASSIGN_OR_RETURN(json config, EvaluatedAgentConfig(c));
    const model::Node& node = c.instance().node();
    CLOUDIFY_ASSIGN_OR_RETURN(
        RemoteAgentSpec spec,
        RemoteAgentSpecOf(StringAt(agent, "name"), config, node.spec.properties,
                          c.instance().runtime_properties()));
    if (const std::string ip = StringAt(agent, "ip"); !ip.empty()) {
      spec.ssh.host = ip;
    }
    if (auto port = agent.find("port"); port != agent.end() && port->is_number_integer()) {
      spec.ssh.port = port->get<int>();
    }
    return spec.ssh;
  }

  // cloudify_agent.create of install_method remote: installs and starts the agent over SSH,
  // with a REST token of the execution's creator of its own (its registration and heartbeats
  // outlive the execution's token), and records where it lives.
  void CreateRemoteAgent(OperationContext& c, json agent) {
    const model::Node& node = c.instance().node();
    json& properties = c.instance().runtime_properties();
    const std::string name = StringAt(agent, "queue");
    auto config = EvaluatedAgentConfig(c);
    if (!config.ok()) {
      c.Fail("agent_config of " + c.instance().id() + ": " + config.status().ToString(), false);
      return;
    }
    std::string os_family = StringAt(node.spec.properties, "os_family");
    std::transform(os_family.begin(), os_family.end(), os_family.begin(),
                   [](unsigned char ch) { return static_cast<char>(std::tolower(ch)); });
    if (os_family == "windows") {
      c.Fail("install_method remote: agent " + name +
                 " is for a Windows host (os_family windows), which needs WinRM; this manager "
                 "installs agents over SSH on Linux hosts only",
             false);
      return;
    }
    auto spec = RemoteAgentSpecOf(name, *config, node.spec.properties, properties);
    if (!spec.ok()) {
      c.Fail(spec.status().ToString(), false);
      return;
    }
    auto bus = ParseUrl(data_.agent_bus_url);
    if (!bus.ok() || (bus->scheme != "amqp" && bus->scheme != "amqps")) {
      c.Fail("install_method remote: agent " + name + " on " + spec->ssh.Describe() +
                 " needs a broker it can reach, and this manager's is " +
                 (bus.ok() ? bus->Redacted() : "'" + data_.agent_bus_url + "'") +
                 ": run the manager with an amqp:// broker",
             false);
      return;
    }
    if (data_.agent_rest_url.empty()) {
      c.Fail("install_method remote: agent " + name + " on " + spec->ssh.Describe() +
                 " needs this manager's REST URL, and none is set (agent_rest_url)",
             false);
      return;
    }
    const std::string& user = data_.execution.meta.created_by;
    auto token = model::MintToken(user.empty() ? std::string(model::kBootstrapAdmin) : user,
                                  "agent " + name, SystemClock().Now(), kAgentTokenLifetime);
    if (!token.ok()) {
      c.Fail("making agent " + name + "'s REST token: " + token.status().ToString());
      return;
    }
    if (Status stored = store_.CreateToken(token->record); !stored.ok()) {
      c.Fail("storing agent " + name + "'s REST token: " + stored.ToString(),
             stored.code() == ErrorCode::kUnavailable);
      return;
    }
    RemoteAgentSettings settings;
    settings.bus_url = data_.agent_bus_url;
    settings.rest_url = data_.agent_rest_url;
    settings.rest_token = token->value;
    settings.tenant = c.tenant();
    settings.node_instance_id = c.instance().id();
    c.logger().Info("Installing agent " + name + " on " + spec->ssh.Describe() + " over SSH");
    auto installed = InstallRemoteAgent(*spec, settings, data_.agent_program);
    if (!installed.ok()) {
      (void)store_.DeleteToken(token->record.id);
      c.Fail("installing agent " + name + ": " + installed.status().ToString(),
             installed.status().code() == ErrorCode::kUnavailable);
      return;
    }
    // A token of an agent installed here before (a heal, a retried install) is done with.
    if (const std::string old = StringAt(agent, "rest_token_id"); !old.empty()) {
      (void)store_.DeleteToken(old);
    }
    agent["ip"] = spec->ssh.host;
    agent["port"] = spec->ssh.port;
    agent["user"] = spec->ssh.user;
    agent["basedir"] = installed->basedir;
    agent["agent_dir"] = installed->agent_dir;
    agent["pid_file"] = installed->pid_file;
    agent["rest_token_id"] = token->record.id;
    properties["cloudify_agent"] = agent;
    c.logger().Info("Agent " + name + " is started on " + spec->ssh.Describe() + " in " +
                    installed->agent_dir);
  }

  // The operation's executor: its own, else its plugin's (from the nodes involved), else
  // central.
  static model::Executor ExecutorOf(const model::OperationSpec& spec, const model::Node& node,
                                    const model::Node* other) {
    if (spec.executor) {
      return *spec.executor;
    }
    for (const model::Node* n : {&node, other}) {
      if (n == nullptr) {
        continue;
      }
      for (const auto& plugin : n->spec.plugins) {
        if (plugin.name == spec.plugin) {
          return plugin.executor;
        }
      }
    }
    return model::Executor::kCentralDeploymentAgent;
  }

  // What an operation's ctx reads of its node. Not the node's operations, plugins and
  // relationships: the task names its operation, and with them a node of a large type made
  // most of every task's bytes on the broker.
  static json NodeForAgent(const model::Node& node) {
    return {{"id", node.spec.id},
            {"name", node.spec.id},
            {"type", node.spec.type},
            {"type_hierarchy", node.spec.type_hierarchy},
            {"properties", node.spec.properties},
            {"host_id", node.spec.host_id ? json(*node.spec.host_id) : json(nullptr)},
            {"deployment_id", node.deployment_id},
            {"blueprint_id", node.blueprint_id},
            {"number_of_instances", node.number_of_instances}};
  }

  // The original's __cloudify_context of an operation task (WORKFLOWS.md §3.2).
  json AgentTaskContext(const GraphTask& task, int retry, const InstanceView& self,
                        const InstanceView* other, const model::OperationSpec& spec,
                        const std::string& agent, model::Executor executor) const {
    json operation = {{"name", task.name},
                      {"retry_number", retry},
                      {"max_retries", task.max_retries.value_or(default_retries_)}};
    if (task.side != RelationshipSide::kNone) {
      operation["relationship"] = std::string(SideName(task.side));
    }
    json context = {
        {"__cloudify_context", "0.3"},
        {"type", "operation"},
        {"task_id", task.id},
        {"task_name", spec.operation},
        {"task_queue", agent},
        {"task_target", agent},
        {"implementation", spec.implementation},
        {"plugin", {{"name", spec.plugin}}},
        {"execution_id", data_.execution.id},
        {"workflow_id", data_.execution.workflow_id},
        {"tenant", {{"name", data_.caller.tenant}}},
        {"blueprint_id", data_.execution.blueprint_id},
        {"deployment_id", data_.execution.deployment_id},
        {"deployment_display_name", data_.deployment.display_name},
        {"node_id", self.id()},
        {"node_name", self.node().id()},
        {"host_id", self.instance().host_id ? json(*self.instance().host_id) : json(nullptr)},
        {"executor", std::string(model::ExecutorName(executor))},
        {"operation", std::move(operation)},
        {"timeout", spec.timeout ? json(*spec.timeout) : json(nullptr)},
        {"timeout_recoverable", spec.timeout_recoverable},
        {"local", false},
    };
    // Beyond the original: the instances and their nodes as the REST API would return them
    // (the queued states are stored before a send), which spares the agent two reads each.
    context["node_instance"] = model::NodeInstanceToJson(self.instance());
    context["node"] = NodeForAgent(self.node());
    if (other != nullptr) {
      context["related"] = {{"node_id", other->id()},
                            {"node_name", other->node().id()},
                            {"is_target", task.side == RelationshipSide::kSource},
                            {"node_instance", model::NodeInstanceToJson(other->instance())},
                            {"node", NodeForAgent(other->node())}};
    }
    return context;
  }

  // host_agent operations (and auto ones whose host runs an agent) go to the agent of the
  // instance's host; nullopt means the operation runs here.
  std::optional<TaskOutcome> RunOnAgent(const GraphTask& task, int retry, const InstanceView& self,
                                        const InstanceView* other, const model::OperationSpec& spec,
                                        const json& inputs) {
    const model::Executor executor =
        ExecutorOf(spec, self.node(), other != nullptr ? &other->node() : nullptr);
    if (executor == model::Executor::kCentralDeploymentAgent) {
      return std::nullopt;
    }
    const bool required = executor == model::Executor::kHostAgent;
    const std::optional<std::string>& host_id = self.instance().host_id;
    if (!host_id) {
      if (!required) {
        return std::nullopt;
      }
      return TaskOutcome::Failure("operation " + task.name + " of " + self.id() +
                                      " runs on host_agent, but the node instance has no host",
                                  false);
    }
    // The run's copy of the host names its agent once this run or an earlier one recorded it
    // (a deployment runs one execution at a time); only a host without one is read afresh, in
    // case something else recorded it since.
    auto agent_of = [](const json& runtime_properties) {
      auto agent = runtime_properties.find("cloudify_agent");
      if (agent == runtime_properties.end()) {
        return std::string();
      }
      std::string queue = StringAt(*agent, "queue");
      return queue.empty() ? StringAt(*agent, "name") : queue;
    };
    std::string agent;
    {
      std::lock_guard lock(data_.mu);
      if (const model::NodeInstance* cached = data_.Instance(*host_id)) {
        agent = agent_of(cached->runtime_properties);
      }
    }
    if (agent.empty()) {
      auto host = store_.GetNodeInstance(data_.caller, *host_id);
      if (!host.ok()) {
        return TaskOutcome::Failure(host.status().ToString());
      }
      agent = agent_of(host->runtime_properties);
    }
    if (agent.empty()) {
      // auto: a host without an agent (install_method none) runs its scripts centrally.
      if (!required) {
        return std::nullopt;
      }
      return TaskOutcome::Failure(
          "missing cloudify_agent runtime property (name, queue) on host "
          "node instance " +
              *host_id + " of " + self.id() +
              ": the Compute node was never started, or has no agent",
          false);
    }
    if (data_.agents == nullptr) {
      return TaskOutcome::Failure("no agent dispatcher in this run", false);
    }
    // The agent reads and writes the instances through the REST API: it must find the run's
    // states stored, and its writes must not race queued ones.
    if (Status queued = writer_.Flush(); !queued.ok()) {
      return TaskOutcome::Failure("storing node instance states: " + queued.ToString());
    }
    Result<std::string> token = RestToken();
    if (!token.ok()) {
      return TaskOutcome::Failure("making the execution's REST token: " +
                                  token.status().ToString());
    }
    json kwargs = inputs.is_object() ? inputs : json::object();
    kwargs["__cloudify_context"] =
        AgentTaskContext(task, retry, self, other, spec, agent, executor);
    kwargs["__cloudify_context"]["rest_token"] = std::move(*token);
    std::optional<std::vector<std::string>> written;
    TaskOutcome outcome = [&] {
      RemoteWait waiting_for_the_agent;
      return data_.agents->Run(agent, task.id, kwargs, data_.force_cancel, &written);
    }();
    // What the agent wrote through the REST API (all it may have, when it does not say) leaves
    // the run's copies stale.
    for (const InstanceView* view : {&self, other}) {
      if (view == nullptr ||
          (written && std::find(written->begin(), written->end(), view->id()) == written->end())) {
        continue;
      }
      if (auto fresh = store_.GetNodeInstance(data_.caller, view->id()); fresh.ok()) {
        Remember(*fresh);
      }
    }
    return outcome;
  }

  // The token an agent calls the REST API with for this execution (the original's
  // rest_token): made and stored at the first send, as the execution's creator; it is deleted
  // when the run ends.
  Result<std::string> RestToken() {
    std::lock_guard lock(data_.token_mu);
    if (!data_.rest_token) {
      const std::string& user = data_.execution.meta.created_by;
      CLOUDIFY_ASSIGN_OR_RETURN(
          model::MintedToken minted,
          model::MintToken(user.empty() ? std::string(model::kBootstrapAdmin) : user,
                           "execution " + data_.execution.id, SystemClock().Now(),
                           data_.rest_token_lifetime));
      CLOUDIFY_RETURN_IF_ERROR(store_.CreateToken(minted.record));
      data_.rest_token = std::move(minted);
    }
    return data_.rest_token->value;
  }

  // Install states (uninitialized..started) and uninstall states (stopping..deleted) each
  // move one way; `current` at or past `target` in the same phase means the step is done.
  std::string FailureOf(const std::string& instance_id) const {
    std::lock_guard lock(failures_mu_);
    auto it = failures_.find(instance_id);
    return it == failures_.end() ? std::string() : it->second;
  }

  static bool SamePhaseNotBehind(model::NodeInstanceState current,
                                 model::NodeInstanceState target) {
    const bool current_install = current <= model::NodeInstanceState::kStarted;
    const bool target_install = target <= model::NodeInstanceState::kStarted;
    return current_install == target_install && current >= target;
  }

  RunData& data_;
  storage::Store& store_;
  const OperationRegistry& operations_;
  const ScriptOptions& scripts_;
  Emitter& emitter_;
  const int default_retries_;
  RuntimeFunctions functions_;
  std::unordered_map<std::string, model::Operation> ops_;
  bool resumed_ = false;  // the graph was stored by an earlier run
  bool ignore_failures_ = false;
  bool skip_failed_instances_ = false;
  OperationEndHook on_operation_end_;
  mutable std::mutex failures_mu_;
  std::map<std::string, std::string> failures_;
  std::atomic<int64_t> finished_operations_{0};
  RunWriter writer_;  // last: its thread calls RestoreStates until it is destroyed
};

// --- Building the workflow's graph ---------------------------------------------------------

struct OperationSelection {
  std::string operation;
  json kwargs;
  bool allow_kwargs_override = false;
  bool run_by_dependency_order = false;
  std::unordered_set<std::string> node_ids, instance_ids, type_names;
};

bool Selected(const OperationSelection& sel, const model::Node& node,
              const model::NodeInstance& instance) {
  if (!sel.node_ids.empty() && sel.node_ids.count(node.id()) == 0) {
    return false;
  }
  if (!sel.instance_ids.empty() && sel.instance_ids.count(instance.id) == 0) {
    return false;
  }
  if (!sel.type_names.empty()) {
    bool match = false;
    for (const auto& type : node.spec.type_hierarchy) {
      match = match || sel.type_names.count(type) != 0;
    }
    if (!match) {
      return false;
    }
  }
  return true;
}

// One task per selected instance that has the operation; with run_by_dependency_order a
// source's task waits for its targets' tasks.
void AddOperationTasks(const RunData& data, const OperationSelection& sel, TaskGraph& graph,
                       const std::vector<std::string>& after) {
  std::unordered_map<std::string, std::string> task_of;
  const size_t first = graph.tasks.size();
  for (const auto& instance : data.instances) {
    const model::Node* node = data.NodeOf(instance.node_id);
    if (node == nullptr || !Selected(sel, *node, instance)) {
      continue;
    }
    auto it = node->spec.operations.find(sel.operation);
    if (it == node->spec.operations.end() || it->second.IsNoOp()) {
      continue;
    }
    GraphTask task;
    task.id = NewUuid();
    task.kind = TaskKind::kOperation;
    task.name = it->first.find('.') == std::string::npos ? sel.operation : it->first;
    task.node_instance_id = instance.id;
    task.max_retries = it->second.max_retries;
    task.retry_interval = it->second.retry_interval;
    task.kwargs = sel.kwargs;
    task.allow_kwargs_override = sel.allow_kwargs_override;
    task.dependencies = after;
    task_of.emplace(instance.id, task.id);
    graph.tasks.push_back(std::move(task));
  }
  if (!sel.run_by_dependency_order) {
    return;
  }
  for (size_t i = first; i < graph.tasks.size(); ++i) {
    const model::NodeInstance* instance = nullptr;
    auto idx = data.instance_index.find(graph.tasks[i].node_instance_id);
    instance = &data.instances[idx->second];
    for (const auto& rel : instance->relationships) {
      if (auto t = task_of.find(rel.target_id); t != task_of.end()) {
        graph.tasks[i].dependencies.push_back(t->second);
      }
    }
  }
}

Result<OperationSelection> SelectionFrom(const json& params, std::string operation) {
  OperationSelection sel;
  sel.operation = std::move(operation);
  if (params.contains("operation") && params["operation"].is_string()) {
    sel.operation = params["operation"].get<std::string>();
  }
  if (sel.operation.empty()) {
    return Status(ErrorCode::kIllegalExecutionParameters,
                  "execute_operation needs the `operation` parameter");
  }
  for (const char* key : {"operation_kwargs", "operation_parms"}) {
    if (params.contains(key) && params[key].is_object()) {
      sel.kwargs = params[key];
    }
  }
  // Declared defaults may be null (types.yaml): only a boolean counts.
  auto flag = [&](const char* key) { return params.contains(key) && params[key] == true; };
  sel.allow_kwargs_override = flag("allow_kwargs_override");
  sel.run_by_dependency_order = flag("run_by_dependency_order");
  auto strings = [&](const char* key, std::unordered_set<std::string>& out) {
    if (params.contains(key) && params[key].is_array()) {
      for (const auto& v : params[key]) {
        if (v.is_string()) {
          out.insert(v.get<std::string>());
        }
      }
    }
  };
  strings("node_ids", sel.node_ids);
  strings("node_instance_ids", sel.instance_ids);
  strings("type_names", sel.type_names);
  return sel;
}

Result<TaskGraph> BuildWorkflowGraph(const RunData& data) {
  const std::string& workflow = data.execution.workflow_id;
  const json& params = data.execution.parameters;
  LifecycleScope scope{.nodes = &data.nodes};
  for (const auto& instance : data.instances) {
    scope.instances.push_back(&instance);
  }
  if (workflow == "install") {
    return BuildInstallGraph(scope);
  }
  if (workflow == "uninstall") {
    return BuildUninstallGraph(scope);
  }
  const std::string lifecycle = "cloudify.interfaces.lifecycle.";
  TaskGraph graph;
  graph.name = workflow;
  if (workflow == "execute_operation") {
    CLOUDIFY_ASSIGN_OR_RETURN(auto sel, SelectionFrom(params, ""));
    AddOperationTasks(data, sel, graph, {});
    return graph;
  }
  // start, stop and restart: execute_operation of the lifecycle operation with the same
  // instance filters, their own kwargs, and overriding allowed.
  auto lifecycle_selection = [&](const std::string& op,
                                 const char* kwargs_key) -> Result<OperationSelection> {
    json filtered = params;
    filtered["operation"] = lifecycle + op;
    CLOUDIFY_ASSIGN_OR_RETURN(auto sel, SelectionFrom(filtered, ""));
    sel.kwargs = params.value(kwargs_key, json::object());
    sel.allow_kwargs_override = true;
    return sel;
  };
  if (workflow == "start" || workflow == "stop") {
    CLOUDIFY_ASSIGN_OR_RETURN(auto sel, lifecycle_selection(workflow, "operation_parms"));
    AddOperationTasks(data, sel, graph, {});
    return graph;
  }
  if (workflow == "restart") {
    CLOUDIFY_ASSIGN_OR_RETURN(auto stop, lifecycle_selection("stop", "stop_parms"));
    AddOperationTasks(data, stop, graph, {});
    std::vector<std::string> stops;
    for (const auto& t : graph.tasks) {
      stops.push_back(t.id);
    }
    CLOUDIFY_ASSIGN_OR_RETURN(auto start, lifecycle_selection("start", "start_parms"));
    AddOperationTasks(data, start, graph, stops);
    return graph;
  }
  return Status(ErrorCode::kNonexistentWorkflow,
                "Workflow " + workflow + " does not exist in the engine");
}

}  // namespace

class Engine::Impl {
 public:
  Impl(storage::Store& store, messaging::Bus& bus, const OperationRegistry& operations,
       EngineOptions options)
      : store_(store),
        bus_(bus),
        publisher_(bus),
        operations_(operations),
        options_(std::move(options)),
        clock_(options_.clock != nullptr ? *options_.clock : SystemClock()) {}

  void SendEvents() { publisher_.Send(); }

  Result<model::Execution> Run(const storage::CallerContext& caller,
                               const std::string& execution_id, const std::atomic<bool>* cancel,
                               const std::atomic<bool>* force_cancel) {
    AgentDispatcher agents(bus_, execution_id, options_.agent_ping_timeout,
                           options_.agent_ping_interval);
    // An agent registered in the agents table that does not answer is shown nonresponsive
    // there (its next heartbeat shows it started again).
    agents.set_on_silent([this, &caller](const std::string& name) {
      auto agent = store_.GetAgent(caller, name);
      if (agent.ok() && agent->state != model::AgentState::kNonresponsive) {
        agent->state = model::AgentState::kNonresponsive;
        agent->updated_at = clock_.Now();
        (void)store_.UpdateAgent(caller, *agent);
      }
    });
    auto ended = RunWith(agents, caller, execution_id, cancel, force_cancel);
    // A cancelled execution keeps its reply queue: a resume still collects the replies.
    agents.Finish(/*keep=*/!ended.ok() || ended->status == ExecutionStatus::kCancelled);
    return ended;
  }

 private:
  Result<model::Execution> RunWith(AgentDispatcher& agents, const storage::CallerContext& caller,
                                   const std::string& execution_id, const std::atomic<bool>* cancel,
                                   const std::atomic<bool>* force_cancel) {
    RunData data;
    data.caller = caller;
    data.force_cancel = force_cancel;
    data.agents = &agents;
    data.rest_token_lifetime = options_.rest_token_lifetime;
    data.agent_bus_url = options_.agent_bus_url;
    data.agent_rest_url = options_.agent_rest_url;
    data.agent_program = options_.agent_program;
    // End() revokes the execution's REST token; this, on the ways out that skip it.
    struct TokenRevoker {
      Impl& engine;
      RunData& data;
      ~TokenRevoker() { engine.RevokeRestToken(data); }
    } revoker{*this, data};
    CLOUDIFY_ASSIGN_OR_RETURN(data.execution, store_.GetExecution(caller, execution_id));
    CLOUDIFY_RETURN_IF_ERROR(Load(data));
    Emitter emitter(publisher_, data, clock_, options_.manager_name);

    const bool resumed = data.execution.status == ExecutionStatus::kStarted;
    CLOUDIFY_ASSIGN_OR_RETURN(ExecutionStatus now, SetStatus(data, ExecutionStatus::kStarted, ""));
    if (now != ExecutionStatus::kStarted) {
      // Cancelled before it began.
      return End(data, emitter, ExecutionStatus::kCancelled, "");
    }
    emitter.Workflow(event_types::kWorkflowStarted, (resumed ? "Resuming '" : "Starting '") +
                                                        data.execution.workflow_id +
                                                        "' workflow execution");

    data.execution.total_operations = 0;
    data.execution.finished_operations = 0;
    const std::string& workflow = data.execution.workflow_id;
    if (const WorkflowFunction* function = CustomWorkflow(data)) {
      PhaseEnd end = RunCustom(data, emitter, *function, cancel);
      return End(data, emitter, end.status, end.error);
    }
    if (IsSystemWide(data.execution)) {
      // Its function was registered by a program that is not this one (another manager).
      return End(data, emitter, ExecutionStatus::kFailed,
                 "no system-wide workflow '" + workflow + "' is registered in this manager");
    }
    if (workflow == "scale") {
      PhaseEnd end = RunScale(data, emitter, cancel);
      return End(data, emitter, end.status, end.error);
    }
    if (workflow == "heal") {
      PhaseEnd end = RunHeal(data, emitter, cancel);
      return End(data, emitter, end.status, end.error);
    }
    if (workflow == "check_status") {
      PhaseEnd end = RunCheckStatus(data, emitter, cancel);
      return End(data, emitter, end.status, end.error);
    }
    auto graph = BuildWorkflowGraph(data);
    if (!graph.ok()) {
      return End(data, emitter, ExecutionStatus::kFailed, graph.status().message());
    }
    PhaseEnd end = RunPhase(data, emitter, std::move(*graph), cancel, false);
    return End(data, emitter, end.status, end.error);
  }

  Status Load(RunData& data) {
    if (IsSystemWide(data.execution)) {
      return Status::Ok();  // no deployment: no nodes, no instances
    }
    CLOUDIFY_ASSIGN_OR_RETURN(data.deployment,
                              store_.GetDeployment(data.caller, data.execution.deployment_id));
    storage::ListQuery query;
    query.get_all_results = true;
    query.filters = {{"deployment_id", {data.deployment.id}}};
    CLOUDIFY_ASSIGN_OR_RETURN(auto nodes, store_.ListNodes(data.caller, query));
    data.nodes = std::move(nodes.items);
    for (const auto& node : data.nodes) {
      data.node_by_id.emplace(node.id(), &node);
    }
    CLOUDIFY_ASSIGN_OR_RETURN(auto instances, store_.ListNodeInstances(data.caller, query));
    data.instances = std::move(instances.items);
    for (size_t i = 0; i < data.instances.size(); ++i) {
      data.instance_index.emplace(data.instances[i].id, i);
    }
    return Status::Ok();
  }

  // How one graph (or a whole multi-graph workflow) ended.
  struct PhaseEnd {
    ExecutionStatus status = ExecutionStatus::kTerminated;
    std::string error;
    bool succeeded() const { return status == ExecutionStatus::kTerminated; }
  };

  // How a phase treats failed operations.
  struct PhaseOptions {
    bool ignore_failures = false;
    bool skip_failed_instances = false;  // with ignore_failures: an instance stops at a failure
    OperationEndHook on_operation_end;   // with ignore_failures
    std::map<std::string, std::string>* failures = nullptr;  // out: the ignored failures
  };

  PhaseEnd RunPhase(RunData& data, Emitter& emitter, TaskGraph graph,
                    const std::atomic<bool>* cancel, bool ignore_failures) {
    return RunPhase(data, emitter, std::move(graph), cancel,
                    PhaseOptions{.ignore_failures = ignore_failures});
  }

  // Stores `graph` (or takes the one an earlier run stored under its name) and runs it.
  PhaseEnd RunPhase(RunData& data, Emitter& emitter, TaskGraph graph,
                    const std::atomic<bool>* cancel, PhaseOptions phase) {
    std::map<std::string, model::TaskState> previous;
    std::vector<model::Operation> stored;
    auto graph_id = Persist(data, graph, previous, stored);
    if (!graph_id.ok()) {
      return {ExecutionStatus::kFailed, "storing the task graph: " + graph_id.status().ToString()};
    }
    for (const auto& t : graph.tasks) {
      data.execution.total_operations += t.kind == TaskKind::kOperation ? 1 : 0;
    }
    RunExecutor executor(data, store_, operations_, options_.scripts, emitter, TaskRetries(data),
                         *graph_id, std::move(stored));
    executor.set_ignore_failures(phase.ignore_failures);
    executor.set_skip_failed_instances(phase.skip_failed_instances);
    executor.set_on_operation_end(std::move(phase.on_operation_end));
    GraphRunOptions run;
    run.parallelism = options_.parallelism;
    run.max_remote_waits = options_.max_remote_waits;
    run.task_retries = TaskRetries(data);
    run.task_retry_interval = TaskRetryInterval(data);
    run.backoff = options_.retry_backoff;
    run.cancel = cancel;
    run.previous_states = std::move(previous);
    auto result = RunGraph(graph, executor, &executor, run);
    data.execution.finished_operations += executor.finished_operations();
    if (phase.failures != nullptr) {
      *phase.failures = executor.failures();
    }
    if (Status written = executor.Finish(); !written.ok()) {
      return {ExecutionStatus::kFailed, "storing the run's progress: " + written.ToString()};
    }
    if (!result.ok()) {
      return {ExecutionStatus::kFailed, result.status().message()};
    }
    switch (result->outcome) {
      case GraphRunResult::Outcome::kSucceeded:
        return {};
      case GraphRunResult::Outcome::kCancelled:
        return {ExecutionStatus::kCancelled, ""};
      case GraphRunResult::Outcome::kFailed:
        break;
    }
    return {ExecutionStatus::kFailed, result->error};
  }

  // Reads the deployment afresh (instances added or removed, states changed by a phase).
  Status Reload(RunData& data) {
    std::lock_guard lock(data.mu);
    data.nodes.clear();
    data.node_by_id.clear();
    data.instances.clear();
    data.instance_index.clear();
    return Load(data);
  }

  void WorkflowLog(Emitter& emitter, LogLevel level, std::string message) {
    emitter.Log(level, GraphTask{}, std::move(message));
  }

  // The lifecycle graph of `ids` (the rest of the deployment related), named `name`.
  Result<TaskGraph> LifecycleGraph(const RunData& data, const std::set<std::string>& ids,
                                   bool install, std::string name) {
    LifecycleScope scope{.nodes = &data.nodes};
    for (const auto& instance : data.instances) {
      (ids.count(instance.id) != 0 ? scope.instances : scope.related).push_back(&instance);
    }
    CLOUDIFY_ASSIGN_OR_RETURN(TaskGraph graph,
                              install ? BuildInstallGraph(scope) : BuildUninstallGraph(scope));
    graph.name = std::move(name);
    return graph;
  }

  // The modification this execution started (a resumed scale continues it), if any.
  Result<std::optional<model::DeploymentModification>> ModificationOf(const RunData& data) {
    storage::ListQuery query;
    query.get_all_results = true;
    query.filters = {{"deployment_id", {data.deployment.id}}};
    CLOUDIFY_ASSIGN_OR_RETURN(auto page, store_.ListDeploymentModifications(data.caller, query));
    for (auto& m : page.items) {
      if (m.context.value("execution_id", "") == data.execution.id) {
        return std::optional<model::DeploymentModification>(std::move(m));
      }
    }
    return std::optional<model::DeploymentModification>();
  }

  static std::set<std::string> IdsOf(const Result<std::vector<model::NodeInstance>>& instances) {
    std::set<std::string> out;
    if (instances.ok()) {
      for (const auto& i : *instances) {
        out.insert(i.id);
      }
    }
    return out;
  }

  // The function registered for the workflow's mapping, or null.
  const WorkflowFunction* CustomWorkflow(const RunData& data) const {
    if (options_.workflows == nullptr) {
      return nullptr;
    }
    if (IsSystemWide(data.execution)) {
      return options_.workflows->FindSystemWide(data.execution.workflow_id);
    }
    auto spec = data.deployment.workflows.find(data.execution.workflow_id);
    if (spec == data.deployment.workflows.end()) {
      return nullptr;
    }
    const std::string name = spec->second.plugin.empty()
                                 ? spec->second.operation
                                 : spec->second.plugin + "." + spec->second.operation;
    return options_.workflows->Find(name);
  }

  // What a custom workflow function sees.
  class CustomContext final : public WorkflowContext {
   public:
    CustomContext(Impl& engine, RunData& data, Emitter& emitter, const std::atomic<bool>* cancel)
        : engine_(engine),
          data_(data),
          emitter_(emitter),
          cancel_(cancel),
          logger_(emitter, workflow_task_) {}

    const std::string& tenant() const override { return data_.caller.tenant; }
    const std::string& deployment_id() const override { return data_.execution.deployment_id; }
    const std::string& blueprint_id() const override { return data_.execution.blueprint_id; }
    const std::string& execution_id() const override { return data_.execution.id; }
    const std::string& workflow_id() const override { return data_.execution.workflow_id; }
    const json& parameters() const override { return data_.execution.parameters; }
    const std::vector<model::Node>& nodes() const override { return data_.nodes; }
    const std::vector<model::NodeInstance>& instances() const override { return data_.instances; }
    Logger& logger() override { return logger_; }

    Result<GraphTask> ExecuteOperation(const std::string& instance_id, const std::string& operation,
                                       json kwargs, bool allow_kwargs_override) const override {
      auto it = data_.instance_index.find(instance_id);
      if (it == data_.instance_index.end()) {
        return Status(ErrorCode::kNotFound, "node instance '" + instance_id +
                                                "' is not an instance of deployment " +
                                                data_.deployment.id);
      }
      const model::NodeInstance& instance = data_.instances[it->second];
      const model::Node* node = data_.NodeOf(instance.node_id);
      auto op = node == nullptr ? model::OperationMap::const_iterator()
                                : node->spec.operations.find(operation);
      if (node == nullptr || op == node->spec.operations.end()) {
        return BadParametersError("node '" + instance.node_id + "' has no operation '" + operation +
                                  "'");
      }
      GraphTask task;
      task.id = NewUuid();
      if (op->second.IsNoOp()) {
        // Nothing to run (the original skips such operations): an empty subgraph is done at
        // once and keeps the caller's ordering.
        task.kind = TaskKind::kSubgraph;
        task.name = "nop " + operation + " (" + instance_id + ")";
        return task;
      }
      task.kind = TaskKind::kOperation;
      task.name = operation;
      task.node_instance_id = instance_id;
      task.max_retries = op->second.max_retries;
      task.retry_interval = op->second.retry_interval;
      task.kwargs = std::move(kwargs);
      task.allow_kwargs_override = allow_kwargs_override;
      return task;
    }

    GraphTask SetState(const std::string& instance_id,
                       model::NodeInstanceState state) const override {
      GraphTask task;
      task.id = NewUuid();
      task.kind = TaskKind::kSetNodeState;
      task.name = "set state " + std::string(model::NodeInstanceStateName(state));
      task.node_instance_id = instance_id;
      task.state = state;
      return task;
    }

    GraphTask SendEvent(const std::string& instance_id, std::string message) const override {
      GraphTask task;
      task.id = NewUuid();
      task.kind = TaskKind::kNodeEvent;
      task.name = "event";
      task.node_instance_id = instance_id;
      task.message = std::move(message);
      return task;
    }

    Status Execute(TaskGraph graph) override {
      if (graph.name.empty()) {
        return BadParametersError("a custom workflow's graph needs a name (it is stored by it)");
      }
      for (const auto& t : graph.tasks) {
        if (t.id.empty()) {
          return BadParametersError("task '" + t.name + "' of graph " + graph.name + " has no id");
        }
      }
      const std::string name = graph.name;
      PhaseEnd end = engine_.RunPhase(data_, emitter_, std::move(graph), cancel_, false);
      (void)engine_.Reload(data_);
      if (end.status == ExecutionStatus::kCancelled) {
        cancelled_ = true;
        return Status(ErrorCode::kIllegalAction,
                      "graph " + name + " was cancelled with execution " + data_.execution.id);
      }
      if (!end.succeeded()) {
        return InternalError(end.error);
      }
      return Status::Ok();
    }

    bool cancelled() const override {
      return cancelled_ || (cancel_ != nullptr && cancel_->load());
    }

   private:
    Impl& engine_;
    RunData& data_;
    Emitter& emitter_;
    const std::atomic<bool>* cancel_;
    GraphTask workflow_task_;  // an empty task: the logger's event context
    OperationLogger logger_;
    bool cancelled_ = false;
  };

  PhaseEnd RunCustom(RunData& data, Emitter& emitter, const WorkflowFunction& function,
                     const std::atomic<bool>* cancel) {
    CustomContext ctx(*this, data, emitter, cancel);
    Status status;
    try {
      status = function(ctx);
    } catch (const std::exception& e) {
      status = InternalError(std::string("the workflow function threw: ") + e.what());
    } catch (...) {
      status = InternalError("the workflow function threw");
    }
    if (ctx.cancelled()) {
      return {ExecutionStatus::kCancelled, ""};
    }
    if (!status.ok()) {
      return {ExecutionStatus::kFailed, status.message()};
    }
    return {};
  }

  // scale (the original's scale_entity): start a deployment modification, install the added
  // instances (related ones get establish) or uninstall the removed ones (related ones get
  // unlink), then finish it; a failed scale-out is scaled back in, and a failed scale is
  // rolled back when rollback_if_failed. A cancelled scale leaves its modification started, for
  // resume.
  PhaseEnd RunScale(RunData& data, Emitter& emitter, const std::atomic<bool>* cancel) {
    auto fail = [](std::string error) { return PhaseEnd{ExecutionStatus::kFailed, error}; };
    auto request = ParseScaleRequest(data.execution.parameters, data.deployment, data.nodes);
    if (!request.ok()) {
      return fail(request.status().message());
    }
    if (request->delta == 0) {
      WorkflowLog(emitter, LogLevel::kInfo, "delta parameter is 0, so no scaling will take place.");
      return {};
    }
    auto mine = ModificationOf(data);
    if (!mine.ok()) {
      return fail(mine.status().ToString());
    }
    model::DeploymentModification m;
    if (*mine) {
      m = std::move(**mine);
      if (m.status == model::DeploymentModificationStatus::kFinished) {
        return {};
      }
      if (m.status == model::DeploymentModificationStatus::kRolledback) {
        return fail("deployment modification " + m.id + " was rolled back");
      }
      // The request as the modification recorded it: counts have moved since.
      request->current = request->planned - request->delta;
      if (auto it = m.modified_nodes.find(request->entity); it != m.modified_nodes.end()) {
        request->planned = it->value("instances", request->planned);
        request->current = request->planned - request->delta;
      }
    } else {
      if (request->abort_started) {
        if (Status s = AbortStartedModifications(data, emitter); !s.ok()) {
          return fail(s.message());
        }
      }
      IdGenerator ids;
      auto result = dsl::ModifyDeployment(
          data.nodes, data.deployment.scaling_groups, data.instances,
          {{request->entity,
            {request->planned, request->include_instances, request->exclude_instances}}},
          ids);
      if (!result.ok()) {
        return fail(result.status().message());
      }
      m = MakeModification(*request, *result, data.instances, data.deployment.id,
                           data.execution.id);
      m.meta.created_at = clock_.Now();
      auto changes = StartChanges(*request, m, data.nodes);
      Status started = changes.ok()
                           ? storage::StartDeploymentModification(store_, data.caller, m, *changes)
                           : changes.status();
      if (!started.ok()) {
        return fail(started.message());
      }
      WorkflowLog(emitter, LogLevel::kInfo,
                  "Deployment modification " + m.id + " started: " + request->entity + " " +
                      std::to_string(request->current) + " -> " + std::to_string(request->planned) +
                      " instances");
    }
    if (Status s = Reload(data); !s.ok()) {
      return fail(s.ToString());
    }
    const std::set<std::string> added = IdsOf(ModificationInstances(m, "added"));
    const std::set<std::string> removed = IdsOf(ModificationInstances(m, "removed"));
    const bool out = request->delta > 0;
    auto graph =
        LifecycleGraph(data, out ? added : removed, out, out ? "scale_install" : "scale_uninstall");
    PhaseEnd end = graph.ok() ? RunPhase(data, emitter, std::move(*graph), cancel,
                                         !out && request->ignore_failure)
                              : fail(graph.status().message());
    if (end.status == ExecutionStatus::kCancelled) {
      return end;
    }
    if (end.succeeded()) {
      if (Status s = Reload(data); !s.ok()) {
        return fail(s.ToString());
      }
      auto changes = FinishChanges(*request, m, data.nodes, data.deployment, data.instances);
      Status finished =
          changes.ok() ? storage::EndDeploymentModification(
                             store_, data.caller, m.id,
                             model::DeploymentModificationStatus::kFinished, *changes, clock_.Now())
                       : changes.status();
      if (!finished.ok()) {
        return fail("finishing deployment modification " + m.id + ": " + finished.message());
      }
      return end;
    }
    if (out) {
      WorkflowLog(emitter, LogLevel::kError, "Scale out failed, scaling back in.");
      if (Status s = Reload(data); s.ok()) {
        auto back = LifecycleGraph(data, added, false, "scale_rollback");
        PhaseEnd back_end =
            back.ok() ? RunPhase(data, emitter, std::move(*back), cancel, request->ignore_failure)
                      : fail(back.status().message());
        if (!back_end.succeeded()) {
          WorkflowLog(emitter, LogLevel::kError, "Scaling back in failed: " + back_end.error);
        }
      }
    }
    if (request->rollback_if_failed) {
      WorkflowLog(emitter, LogLevel::kWarning,
                  "Rolling back deployment modification. [modification_id=" + m.id + "]");
      auto changes = RollbackChanges(*request, m, data.nodes);
      Status rolled = changes.ok() ? storage::EndDeploymentModification(
                                         store_, data.caller, m.id,
                                         model::DeploymentModificationStatus::kRolledback, *changes,
                                         clock_.Now())
                                   : changes.status();
      if (!rolled.ok()) {
        WorkflowLog(
            emitter, LogLevel::kError,
            "Rolling back deployment modification " + m.id + " failed: " + rolled.message());
      }
    }
    return end;
  }

  // abort_started: modifications of the deployment left started (by a scale that failed
  // without rollback, or whose execution is gone) are rolled back first, as the original does.
  Status AbortStartedModifications(RunData& data, Emitter& emitter) {
    storage::ListQuery query;
    query.get_all_results = true;
    query.filters = {{"deployment_id", {data.deployment.id}}, {"status", {"started"}}};
    CLOUDIFY_ASSIGN_OR_RETURN(auto page, store_.ListDeploymentModifications(data.caller, query));
    for (const auto& m : page.items) {
      CLOUDIFY_ASSIGN_OR_RETURN(ScaleRequest request, RequestOfModification(m));
      CLOUDIFY_ASSIGN_OR_RETURN(auto changes, RollbackChanges(request, m, data.nodes));
      CLOUDIFY_RETURN_IF_ERROR(storage::EndDeploymentModification(
          store_, data.caller, m.id, model::DeploymentModificationStatus::kRolledback, changes,
          clock_.Now()));
      WorkflowLog(emitter, LogLevel::kWarning,
                  "Rolled back the started deployment modification " + m.id + " (abort_started)");
    }
    if (!page.items.empty()) {
      CLOUDIFY_RETURN_IF_ERROR(Reload(data));
    }
    return Status::Ok();
  }

  // heal (the original's auto_heal_reinstall_node_subgraph, reinstall path): the failed
  // instance's host subgraph is uninstalled and installed again; relationships between it and
  // the rest of the deployment get unlink and establish.
  // The original's auto_heal_reinstall_node_subgraph: check the scope's status, heal the
  // unhealthy instances that define `heal`, reinstall the others and those whose heal failed.
  PhaseEnd RunHeal(RunData& data, Emitter& emitter, const std::atomic<bool>* cancel) {
    const json& params = data.execution.parameters;
    auto flag = [&](const char* key, bool fallback) {
      auto it = params.find(key);
      return it != params.end() && it->is_boolean() ? it->get<bool>() : fallback;
    };
    auto scope = HealScope(params, data.instances, data.nodes);
    if (!scope.ok()) {
      return {ExecutionStatus::kFailed, scope.status().message()};
    }
    if (params.contains("diagnose_value")) {
      WorkflowLog(emitter, LogLevel::kInfo,
                  "Diagnose: " + (params["diagnose_value"].is_string()
                                      ? params["diagnose_value"].get<std::string>()
                                      : params["diagnose_value"].dump()));
    }
    const bool ignore_failure = flag("ignore_failure", true);
    if (flag("force_reinstall", false)) {
      return Reinstall(data, emitter, {scope->begin(), scope->end()}, cancel, ignore_failure);
    }
    if (flag("check_status", true)) {
      std::vector<std::string> failed;
      PhaseEnd end = RunStatusCheck(data, emitter, *scope, false, cancel, failed);
      if (!end.succeeded()) {
        return end;
      }
      if (Status s = Reload(data); !s.ok()) {
        return {ExecutionStatus::kFailed, s.ToString()};
      }
    }
    // A heal of one named instance assumes it unhealthy unless a check proved otherwise.
    const bool targeted = params.value("node_instance_id", json()).is_string() &&
                          !params["node_instance_id"].get<std::string>().empty();
    HealSplit split = SplitHeal(data.instances, data.nodes, *scope,
                                HealthyInstances(data.instances, *scope, targeted));
    const bool allow_reinstall = flag("allow_reinstall", true);
    if (!split.reinstall.empty() && !allow_reinstall) {
      return {ExecutionStatus::kFailed, ReinstallDisallowed(split.reinstall)};
    }
    if (split.heal.empty() && split.reinstall.empty()) {
      WorkflowLog(emitter, LogLevel::kInfo, "Nothing to heal: every node instance is healthy");
      return {};
    }
    if (!split.heal.empty()) {
      LifecycleScope heal_scope{.nodes = &data.nodes};
      for (const auto& instance : data.instances) {
        if (split.heal.count(instance.id) != 0) {
          heal_scope.instances.push_back(&instance);
        }
      }
      auto graph = BuildHealGraph(heal_scope);
      if (!graph.ok()) {
        return {ExecutionStatus::kFailed, graph.status().message()};
      }
      std::map<std::string, std::string> failures;
      PhaseEnd end = RunPhase(
          data, emitter, std::move(*graph), cancel,
          PhaseOptions{
              .ignore_failures = true, .skip_failed_instances = true, .failures = &failures});
      if (!end.succeeded()) {
        return end;
      }
      for (const auto& id : split.heal) {
        auto failure = failures.find(id);
        if (failure != failures.end()) {
          WorkflowLog(emitter, LogLevel::kError,
                      "Heal of " + id + " failed, so it is reinstalled: " + failure->second);
          split.reinstall.insert(id);
          continue;
        }
        Status marked = UpdateSystemProperties(data, id, [](json& props) {
          json& status = props["status"];
          if (!status.is_object()) {
            status = json::object();
          }
          status["ok"] = true;
          status["task"] = nullptr;
          status["healed"] = true;
        });
        if (!marked.ok()) {
          return {ExecutionStatus::kFailed,
                  "recording the heal of " + id + ": " + marked.ToString()};
        }
      }
      if (!split.reinstall.empty() && !allow_reinstall) {
        return {ExecutionStatus::kFailed, ReinstallDisallowed(split.reinstall)};
      }
    }
    if (split.reinstall.empty()) {
      return {};
    }
    // Reinstall in scope order (hosts before what they contain).
    std::vector<std::string> ordered;
    for (const auto& id : *scope) {
      if (split.reinstall.count(id) != 0) {
        ordered.push_back(id);
      }
    }
    return Reinstall(data, emitter, ordered, cancel, ignore_failure);
  }

  static std::string ReinstallDisallowed(const std::set<std::string>& ids) {
    std::string names;
    size_t n = 0;
    for (const auto& id : ids) {
      if (n == 5) {
        names += " (and " + std::to_string(ids.size() - 5) + " more)";
        break;
      }
      names += (n++ == 0 ? "" : ", ") + id;
    }
    return "allow_reinstall is false, but would need to reinstall instances: " + names;
  }

  // Uninstalls `ids` (failures ignored when asked) and installs them again.
  PhaseEnd Reinstall(RunData& data, Emitter& emitter, const std::vector<std::string>& ids,
                     const std::atomic<bool>* cancel, bool ignore_failure) {
    const std::set<std::string> set(ids.begin(), ids.end());
    auto down = LifecycleGraph(data, set, false, "reinstall-uninstall");
    if (!down.ok()) {
      return {ExecutionStatus::kFailed, down.status().message()};
    }
    PhaseEnd end = RunPhase(data, emitter, std::move(*down), cancel, ignore_failure);
    if (!end.succeeded()) {
      return end;
    }
    if (Status s = Reload(data); !s.ok()) {
      return {ExecutionStatus::kFailed, s.ToString()};
    }
    auto up = LifecycleGraph(data, set, true, "reinstall-install");
    if (!up.ok()) {
      return {ExecutionStatus::kFailed, up.status().message()};
    }
    return RunPhase(data, emitter, std::move(*up), cancel, false);
  }

  // The check_status operation on `ids` (a phase named "check_status"), each result stored in
  // the instance's system_properties as the original does: `status` {ok, timestamp, task,
  // result} and the status before it as `previous_status`. Instances whose node defines no
  // check is left as they are. `failed` gets the instances whose check failed.
  PhaseEnd RunStatusCheck(RunData& data, Emitter& emitter, const std::vector<std::string>& ids,
                          bool by_dependency_order, const std::atomic<bool>* cancel,
                          std::vector<std::string>& failed) {
    OperationSelection sel;
    sel.operation = "cloudify.interfaces.validation.check_status";
    sel.instance_ids.insert(ids.begin(), ids.end());
    sel.run_by_dependency_order = by_dependency_order;
    TaskGraph graph;
    graph.name = "check_status";
    AddOperationTasks(data, sel, graph, {});
    std::mutex record_mu;
    std::string record_error;
    auto record = [&](const GraphTask& task, const TaskOutcome& outcome) {
      const bool ok = outcome.kind == TaskOutcome::Kind::kSucceeded;
      json status = {{"ok", ok},
                     {"timestamp", FormatTimestamp(clock_.Now())},
                     {"task", task.name},
                     {"result", ok ? json(nullptr) : json(outcome.error)}};
      Status s = UpdateSystemProperties(data, task.node_instance_id, [&](json& props) {
        json previous = props.contains("status") ? props["status"] : json(nullptr);
        props["previous_status"] = std::move(previous);
        props["status"] = status;
      });
      if (!s.ok()) {
        std::lock_guard lock(record_mu);
        record_error = s.ToString();
      }
    };
    std::map<std::string, std::string> failures;
    PhaseEnd end = RunPhase(
        data, emitter, std::move(graph), cancel,
        PhaseOptions{.ignore_failures = true, .on_operation_end = record, .failures = &failures});
    if (end.succeeded() && !record_error.empty()) {
      return {ExecutionStatus::kFailed, "storing a status check: " + record_error};
    }
    for (const auto& [id, error] : failures) {
      failed.push_back(id);
    }
    return end;
  }

  // The check_status workflow: fails when a check failed, after storing every result.
  PhaseEnd RunCheckStatus(RunData& data, Emitter& emitter, const std::atomic<bool>* cancel) {
    const json& params = data.execution.parameters;
    auto sel = SelectionFrom(params, "cloudify.interfaces.validation.check_status");
    if (!sel.ok()) {
      return {ExecutionStatus::kFailed, sel.status().message()};
    }
    std::vector<std::string> ids;
    for (const auto& instance : data.instances) {
      const model::Node* node = data.NodeOf(instance.node_id);
      if (node != nullptr && Selected(*sel, *node, instance)) {
        ids.push_back(instance.id);
      }
    }
    std::vector<std::string> failed;
    PhaseEnd end = RunStatusCheck(data, emitter, ids, sel->run_by_dependency_order, cancel, failed);
    if (end.succeeded() && !failed.empty()) {
      std::string names;
      for (const auto& id : failed) {
        names += (names.empty() ? "" : ", ") + id;
      }
      return {ExecutionStatus::kFailed, "Status check failed for: " + names};
    }
    return end;
  }

  // Changes an instance's system properties over whatever the store holds now (the original
  // writes them with force), and in the run's cache.
  Status UpdateSystemProperties(RunData& data, const std::string& id,
                                const std::function<void(json&)>& change) {
    for (int attempt = 0; attempt < kStateWriteAttempts; ++attempt) {
      CLOUDIFY_ASSIGN_OR_RETURN(model::NodeInstance current,
                                store_.GetNodeInstance(data.caller, id));
      json props =
          current.system_properties.is_object() ? current.system_properties : json::object();
      change(props);
      storage::NodeInstanceUpdate update;
      update.version = current.version;
      update.system_properties = std::move(props);
      auto updated = store_.UpdateNodeInstance(data.caller, id, update);
      if (updated.ok()) {
        std::lock_guard lock(data.mu);
        if (model::NodeInstance* cached = data.Instance(id)) {
          cached->system_properties = updated->system_properties;
          cached->version = updated->version;
        }
        return Status::Ok();
      }
      if (updated.status().code() != ErrorCode::kConflict) {
        return updated.status();
      }
    }
    return Status(ErrorCode::kConflict,
                  "node instance " + id + " kept changing while its status was stored");
  }

  int TaskRetries(const RunData& data) const {
    const json& p = data.execution.parameters;
    return p.contains("task_retries") && p["task_retries"].is_number_integer()
               ? p["task_retries"].get<int>()
               : options_.task_retries;
  }

  std::chrono::milliseconds TaskRetryInterval(const RunData& data) const {
    const json& p = data.execution.parameters;
    if (p.contains("task_retry_interval") && p["task_retry_interval"].is_number()) {
      return std::chrono::milliseconds(
          static_cast<int64_t>(p["task_retry_interval"].get<double>() * 1000));
    }
    return options_.task_retry_interval;
  }

  // Stores the graph before it runs; a graph stored by an earlier run is taken instead, with
  // its operations' states.
  Result<std::string> Persist(RunData& data, TaskGraph& graph,
                              std::map<std::string, model::TaskState>& previous,
                              std::vector<model::Operation>& stored) {
    if (data.execution.is_dry_run) {  // a dry run stores no graph
      const std::string graph_id = NewUuid();
      for (const auto& task : graph.tasks) {
        stored.push_back(ToOperation(task, graph_id, data.execution.id));
      }
      return graph_id;
    }
    storage::ListQuery query;
    query.get_all_results = true;
    query.filters = {{"execution_id", {data.execution.id}}, {"name", {graph.name}}};
    CLOUDIFY_ASSIGN_OR_RETURN(auto existing, store_.ListTasksGraphs(data.caller, query));
    if (!existing.items.empty()) {
      const std::string graph_id = existing.items.front().id;
      storage::ListQuery ops_query;
      ops_query.get_all_results = true;
      ops_query.filters = {{"tasks_graph_id", {graph_id}}};
      CLOUDIFY_ASSIGN_OR_RETURN(auto ops, store_.ListOperations(data.caller, ops_query));
      graph.tasks.clear();
      for (const auto& op : ops.items) {
        CLOUDIFY_ASSIGN_OR_RETURN(GraphTask task, FromOperation(op));
        graph.tasks.push_back(std::move(task));
        previous.emplace(op.id, op.state);
      }
      stored = std::move(ops.items);
      return graph_id;
    }
    model::TasksGraph record;
    record.id = NewUuid();
    record.name = graph.name;
    record.execution_id = data.execution.id;
    record.created_at = clock_.Now();
    stored.reserve(graph.tasks.size());
    for (const auto& task : graph.tasks) {
      stored.push_back(ToOperation(task, record.id, data.execution.id));
      stored.back().created_at = record.created_at;
    }
    CLOUDIFY_RETURN_IF_ERROR(store_.CreateTasksGraph(data.caller, record, stored));
    return record.id;
  }

  static bool IsCancelling(ExecutionStatus s) {
    return s == ExecutionStatus::kCancelling || s == ExecutionStatus::kForceCancelling ||
           s == ExecutionStatus::kKillCancelling;
  }

  // Moves the stored execution to `status` in one transaction, checked against what is stored
  // now (a cancel may have been written meanwhile): a cancelled execution does not start, and
  // ends cancelled. Returns the status written.
  Result<ExecutionStatus> SetStatus(RunData& data, ExecutionStatus status,
                                    const std::string& error) {
    model::Execution& e = data.execution;
    ExecutionStatus written = status;
    CLOUDIFY_RETURN_IF_ERROR(store_.InTransaction([&](storage::Store& tx) -> Status {
      CLOUDIFY_ASSIGN_OR_RETURN(model::Execution stored, tx.GetExecution(data.caller, e.id));
      if (IsCancelling(stored.status)) {
        if (status == ExecutionStatus::kStarted) {
          written = stored.status;
          return Status::Ok();  // nothing to write: the run ends cancelled
        }
        if (status == ExecutionStatus::kTerminated) {
          written = ExecutionStatus::kCancelled;
        }
      }
      CLOUDIFY_RETURN_IF_ERROR(
          model::CheckExecutionTransition(e.workflow_id, stored.status, written));
      e.status = written;
      e.error = error;
      if (written == ExecutionStatus::kStarted && !e.started_at) {
        e.started_at = clock_.Now();
      }
      if (model::IsTerminal(written)) {
        e.ended_at = clock_.Now();
      }
      return tx.UpdateExecution(data.caller, e);
    }));
    return written;
  }

  // The end event goes out and the deployment is updated before the end status is stored:
  // whoever sees the status can already see the rest (the original's order).
  Result<model::Execution> End(RunData& data, Emitter& emitter, ExecutionStatus status,
                               const std::string& error) {
    if (status == ExecutionStatus::kTerminated) {
      auto stored = store_.GetExecution(data.caller, data.execution.id);
      if (stored.ok() && IsCancelling(stored->status)) {
        status = ExecutionStatus::kCancelled;
      }
    }
    const std::string& wf = data.execution.workflow_id;
    if (status == ExecutionStatus::kTerminated) {
      emitter.Workflow(event_types::kWorkflowSucceeded,
                       "'" + wf + "' workflow execution succeeded");
    } else if (status == ExecutionStatus::kCancelled) {
      emitter.Workflow(event_types::kWorkflowCancelled,
                       "'" + wf + "' workflow execution cancelled");
    } else {
      emitter.Workflow(event_types::kWorkflowFailed,
                       "'" + wf + "' workflow execution failed: " + error,
                       json::array({{{"message", error}, {"type", "WorkflowFailed"}}}));
    }
    (void)publisher_.Flush(std::chrono::seconds(30));
    UpdateDeploymentStatus(data, status);
    // Revoked before the end is stored: whoever waits for the end finds the token gone.
    RevokeRestToken(data);
    CLOUDIFY_RETURN_IF_ERROR(SetStatus(data, status, error).status());
    return data.execution;
  }

  // The execution's REST token ends with its run (a resumed run makes a new one).
  void RevokeRestToken(RunData& data) {
    if (data.rest_token) {
      (void)store_.DeleteToken(data.rest_token->record.id);
      data.rest_token.reset();
    }
  }

  // A deployment is active when every instance is started (the original's rule).
  void UpdateDeploymentStatus(RunData& data, ExecutionStatus status) {
    auto deployment = store_.GetDeployment(data.caller, data.deployment.id);
    if (!deployment.ok()) {
      return;
    }
    storage::ListQuery query;
    query.size = 1;
    query.filters = {{"deployment_id", {data.deployment.id}}};
    auto all = store_.ListNodeInstances(data.caller, query);
    query.filters["state"] = {"started"};
    auto started = store_.ListNodeInstances(data.caller, query);
    if (all.ok() && started.ok()) {
      deployment->installation_status = all->total > 0 && all->total == started->total
                                            ? model::InstallationStatus::kActive
                                            : model::InstallationStatus::kInactive;
    }
    deployment->latest_execution_id = data.execution.id;
    deployment->latest_execution_status =
        status == ExecutionStatus::kTerminated  ? model::LatestExecutionStatus::kCompleted
        : status == ExecutionStatus::kCancelled ? model::LatestExecutionStatus::kCancelled
                                                : model::LatestExecutionStatus::kFailed;
    deployment->deployment_status = status == ExecutionStatus::kTerminated
                                        ? model::DeploymentStatus::kGood
                                        : model::DeploymentStatus::kRequiresAttention;
    (void)store_.UpdateDeployment(data.caller, *deployment);
  }

  storage::Store& store_;
  messaging::Bus& bus_;
  EventPublisher publisher_;
  const OperationRegistry& operations_;
  const EngineOptions options_;
  const Clock& clock_;
};

Result<json> EvaluateDeploymentValues(storage::Store& store, const storage::CallerContext& caller,
                                      const model::Deployment& deployment, const json& values) {
  RunData data;
  data.caller = caller;
  data.deployment = deployment;
  data.execution.deployment_id = deployment.id;
  storage::ListQuery query;
  query.get_all_results = true;
  query.filters = {{"deployment_id", {deployment.id}}};
  CLOUDIFY_ASSIGN_OR_RETURN(auto nodes, store.ListNodes(caller, query));
  data.nodes = std::move(nodes.items);
  for (const auto& node : data.nodes) {
    data.node_by_id.emplace(node.id(), &node);
  }
  CLOUDIFY_ASSIGN_OR_RETURN(auto instances, store.ListNodeInstances(caller, query));
  data.instances = std::move(instances.items);
  for (size_t i = 0; i < data.instances.size(); ++i) {
    data.instance_index.emplace(data.instances[i].id, i);
  }
  RuntimeFunctions functions(data, store);
  json out = json::object();
  for (const auto& [name, value] : values.items()) {
    auto evaluated = dsl::EvaluateFunctions(value, dsl::FunctionScope{}, functions,
                                            dsl::EvaluationMode::kRuntime);
    if (!evaluated.ok()) {
      return Status(ErrorCode::kDeploymentOutputsEvaluation,
                    "evaluating '" + name + "' of deployment " + deployment.id + ": " +
                        evaluated.status().message());
    }
    out[name] = std::move(*evaluated);
  }
  return out;
}

Engine::Engine(storage::Store& store, messaging::Bus& bus, const OperationRegistry& operations,
               EngineOptions options)
    : impl_(std::make_unique<Impl>(store, bus, operations, std::move(options))) {}
Engine::~Engine() = default;

void Engine::SendEvents() { impl_->SendEvents(); }

Result<model::Execution> Engine::Run(const storage::CallerContext& caller,
                                     const std::string& execution_id,
                                     const std::atomic<bool>* cancel,
                                     const std::atomic<bool>* force_cancel) {
  return impl_->Run(caller, execution_id, cancel, force_cancel);
}

void OperationRegistry::Add(std::string name, OperationHandler handler) {
  std::lock_guard lock(mu_);
  handlers_[std::move(name)] = std::move(handler);
}

const OperationHandler* OperationRegistry::Find(std::string_view name) const {
  std::lock_guard lock(mu_);
  auto it = handlers_.find(name);
  return it == handlers_.end() ? nullptr : &it->second;
}

}  // namespace cloudify::workflow
