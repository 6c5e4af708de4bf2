// Custom workflows: C++ functions a host program registers on the Manager under the name a
// blueprint's `workflows:` entry maps to ("<plugin>.<mapping>", e.g.
// "my_plugin.workflows.rolling_restart"), the way the original runs a plugin's @workflow
// function. The function gets a WorkflowContext with the deployment's nodes and instances and
// builds and runs task graphs of their operations, state changes and events:
//
//   m->workflows().Add("ops.workflows.restart_apps", [](cloudify::workflow::WorkflowContext& ctx) {
//     cloudify::workflow::TaskGraph graph{.name = "restart_apps"};
//     for (const auto& i : ctx.instances()) {
//       if (i.node_id != "app") continue;
//       CLOUDIFY_ASSIGN_OR_RETURN(auto stop, ctx.ExecuteOperation(i.id,
//       "cloudify.interfaces.lifecycle.stop")); CLOUDIFY_ASSIGN_OR_RETURN(auto start,
//       ctx.ExecuteOperation(i.id, "cloudify.interfaces.lifecycle.start")); AddSequence(graph,
//       {stop, ctx.SendEvent(i.id, "restarted"), start});  // apps in parallel
//     }
//     return ctx.Execute(std::move(graph));
//   });
//
// The parameters are checked against the blueprint's declared ones before the execution starts
// (defaults filled). A registered function also replaces a built-in workflow whose mapping
// names it (e.g. "default_workflows.cloudify.plugins.workflows.install").
//
// System-wide workflows (the original's snapshot kind) belong to no deployment: registered
// with AddSystemWide and started with Manager::StartSystemExecution, they run alone. Their
// context has no nodes or instances; deployment_id() and blueprint_id() are empty.
//
// Thread-safety: WorkflowRegistry may be read from many threads once filled; a WorkflowContext
// belongs to the thread running its workflow function.
#pragma once

#include <functional>
#include <map>
#include <mutex>
#include <string>
#include <string_view>
#include <vector>

#include <nlohmann/json.hpp>

#include "cloudify/logging.h"
#include "cloudify/model/node.h"
#include "cloudify/status.h"
#include "cloudify/workflow/task_graph.h"

namespace cloudify::workflow {

class WorkflowContext {
 public:
  virtual ~WorkflowContext() = default;

  virtual const std::string& tenant() const = 0;
  virtual const std::string& deployment_id() const = 0;
  virtual const std::string& blueprint_id() const = 0;
  virtual const std::string& execution_id() const = 0;
  virtual const std::string& workflow_id() const = 0;
  // The execution's parameters, checked and with defaults filled.
  virtual const nlohmann::json& parameters() const = 0;
  // The deployment's nodes and node instances as read when the last graph ended (or the
  // workflow began).
  virtual const std::vector<model::Node>& nodes() const = 0;
  virtual const std::vector<model::NodeInstance>& instances() const = 0;
  // Logs into the execution's logs.
  virtual Logger& logger() = 0;

  // A task running interface operation `operation` (its full name, e.g.
  // "cloudify.interfaces.lifecycle.start") of an instance, with `kwargs` merged over its inputs
  // (a key that is also an input is an error unless allow_kwargs_override), and the operation's
  // retry settings. kNotFound for an unknown instance, kBadParameters for an operation the
  // node does not define.
  virtual Result<GraphTask> ExecuteOperation(const std::string& instance_id,
                                             const std::string& operation,
                                             nlohmann::json kwargs = nullptr,
                                             bool allow_kwargs_override = false) const = 0;
  // A task setting an instance's state (the original's instance.set_state).
  virtual GraphTask SetState(const std::string& instance_id,
                             model::NodeInstanceState state) const = 0;
  // A task emitting a workflow_node_event for an instance (the original's send_event).
  virtual GraphTask SendEvent(const std::string& instance_id, std::string message) const = 0;

  // Stores `graph` under graph.name (a resumed execution takes the stored one and skips what
  // succeeded; names must differ between the graphs of one execution) and runs it; then
  // re-reads nodes() and instances(). OK when every task succeeded; kInternal with the first
  // task failure, kIllegalAction when the execution was cancelled (the execution then ends
  // cancelled, whatever the function returns).
  virtual Status Execute(TaskGraph graph) = 0;
  // True once the execution is being cancelled.
  virtual bool cancelled() const = 0;
};

// Returning an error fails the execution with its message.
using WorkflowFunction = std::function<Status(WorkflowContext&)>;

// Workflow functions by mapping name: "<plugin>.<mapping>" as the blueprint declares it.
class WorkflowRegistry {
 public:
  // Replaces a function registered under the same name.
  void Add(std::string name, WorkflowFunction function);
  // The function for `name`, or null.
  const WorkflowFunction* Find(std::string_view name) const;

  // A system-wide workflow by its workflow id; replaces one of the same id.
  void AddSystemWide(std::string workflow_id, WorkflowFunction function);
  const WorkflowFunction* FindSystemWide(std::string_view workflow_id) const;

 private:
  mutable std::mutex mu_;
  std::map<std::string, WorkflowFunction, std::less<>> functions_;
  std::map<std::string, WorkflowFunction, std::less<>> system_wide_;
};

// Appends `tasks` (ids assigned when empty) so that each waits for the one before it, the
// first for `after` (the original's graph.sequence()); returns their ids.
std::vector<std::string> AddSequence(TaskGraph& graph, std::vector<GraphTask> tasks,
                                     const std::vector<std::string>& after = {});
// Appends `tasks` (ids assigned when empty) to run together once `after` are done; returns
// their ids.
std::vector<std::string> AddParallel(TaskGraph& graph, std::vector<GraphTask> tasks,
                                     const std::vector<std::string>& after = {});

}  // namespace cloudify::workflow
