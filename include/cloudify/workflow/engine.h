// Engine: runs one execution of a workflow over a deployment, the way the original's
// mgmtworker does: it builds the workflow's task graph from the deployment's nodes and node
// instances, stores the graph (tasks graph + operations) before anything runs, runs it, keeps
// the operations' states and the node instances' states and runtime properties in the store,
// emits the original's events and logs through the bus, and ends the execution `terminated`,
// `failed` or `cancelled`.
//
// Running an execution whose graph is already stored (a resume, or a manager that died
// mid-way) continues from the stored operations: an operation that succeeded is not run again.
//
// Built-in workflows: install, uninstall, start, stop, restart, execute_operation, scale (a
// deployment modification: started, the added instances installed or the removed ones
// uninstalled, then finished; a failed scale-out is uninstalled again and the modification
// rolled back) and heal (the failed instance's host subgraph uninstalled and installed again).
// A workflow whose mapping names a function of EngineOptions::workflows runs that function
// (custom_workflow.h). A multi-graph workflow stores each graph under its own name (scale_install,
// scale_uninstall, scale_rollback, reinstall-uninstall, reinstall-install), so a resume continues
// each.
//
// Operations run by the C++ handler registered under "<plugin>.<task>"; script operations
// with none run by the script executor (cloudify/workflow/script_executor.h). Operations whose
// executor is host_agent (or auto, when the instance's host records an agent in its
// `cloudify_agent` runtime property) are sent over the bus to that agent (cloudify/agent/
// worker.h), pinged first, and their replies awaited on "execution_responses_<execution id>".
//
// Thread-safety: Run may be called from several threads at once for different executions.
#pragma once

#include <atomic>
#include <chrono>
#include <filesystem>
#include <memory>
#include <string>

#include "cloudify/clock.h"
#include "cloudify/messaging/bus.h"
#include "cloudify/model/execution.h"
#include "cloudify/status.h"
#include "cloudify/storage/store.h"
#include "cloudify/workflow/custom_workflow.h"
#include "cloudify/workflow/graph_runner.h"
#include "cloudify/workflow/operation.h"
#include "cloudify/workflow/script_executor.h"

namespace cloudify::workflow {

struct EngineOptions {
  // Tasks of one execution running at once. Default: 8 (the original's local task pool).
  int parallelism = 8;
  // host_agent operations of one execution waiting for their agents at once, beyond
  // `parallelism` (graph_runner.h, RemoteWait). Default: 256.
  int max_remote_waits = 256;
  // Retries of a failed operation that sets none; -1 = for ever. A workflow parameter
  // task_retries overrides it. Default: 60 (the manager's installed default).
  int task_retries = 60;
  // Pause between retries when the operation sets none. A workflow parameter
  // task_retry_interval (seconds) overrides it. Default: 15 s.
  std::chrono::milliseconds task_retry_interval = std::chrono::seconds(15);
  // Opt-in exponential backoff with jitter for retries that name no delay (graph_runner.h).
  // Default: disabled (the original's fixed task_retry_interval).
  RetryBackoff retry_backoff;
  // Custom workflow functions, looked up by a workflow's mapping ("<plugin>.<mapping>") before
  // the built-ins; must outlive the engine. Default: nullptr (built-ins only).
  const WorkflowRegistry* workflows = nullptr;
  // Written into events (manager_name). Default: "manager".
  std::string manager_name = "manager";
  // Time source for execution timestamps. Default: nullptr (SystemClock()).
  const Clock* clock = nullptr;
  // How script operations (the script plugin's script_runner.tasks.run, when no handler is
  // registered under that name) are run: where `ctx` is, work dirs, the blueprint folders.
  // Default: ScriptOptions{} (no blueprint folders: script operations fail).
  ScriptOptions scripts;
  // host_agent operations: how long the agent has to answer the ping sent before each of
  // them; no answer is the recoverable error "Timed out waiting for agent <name>".
  // Default: 30 s, as the original.
  std::chrono::milliseconds agent_ping_timeout = std::chrono::seconds(30);
  // host_agent operations: an agent that answered a ping or replied to a task this recently
  // is not pinged again before the next one (beyond the original, which pings before each).
  // Zero pings before every operation. Default: 2 s.
  std::chrono::milliseconds agent_ping_interval = std::chrono::seconds(2);
  // host_agent operations: the lifetime of the token an execution's tasks carry for the REST
  // API (`rest_token`), should its run never end to delete it. Default: 7 days.
  std::chrono::milliseconds rest_token_lifetime = std::chrono::hours(24 * 7);
  // How agents on other hosts reach this manager: the broker URL, with its password, and the
  // REST API's URL. Printed (the password hidden) in the command an agent of install_method
  // `provided` is started with, and written into a `remote` agent's settings file on its host.
  // Default: empty (placeholders are printed; remote installs fail, naming the missing one).
  std::string agent_bus_url;
  std::string agent_rest_url;
  // install_method `remote`: the cloudify-agent program copied over SSH to a host whose
  // agent_config gives a `user` (with `key` or `password`, `port`, `basedir`, `env`), then
  // started there, detached, under <basedir>/<agent name>/; the `ctx` program beside it, when
  // there is one, goes too. It must run on the hosts as it is (the same system, with the
  // libraries it links). Needs agent_bus_url (amqp://) and agent_rest_url. Default: empty
  // (remote hosts get no agent, and their operations run on the manager).
  std::filesystem::path agent_program;
};

// Evaluates the functions in `values` (deployment outputs or capabilities: a map of name ->
// value) at read time, get_attribute and get_secret included. kDeploymentOutputsEvaluation
// naming the value that failed.
Result<nlohmann::json> EvaluateDeploymentValues(storage::Store& store,
                                                const storage::CallerContext& caller,
                                                const model::Deployment& deployment,
                                                const nlohmann::json& values);

class Engine {
 public:
  // The store, bus and registry must outlive the engine.
  Engine(storage::Store& store, messaging::Bus& bus, const OperationRegistry& operations,
         EngineOptions options = {});
  ~Engine();
  Engine(const Engine&) = delete;
  Engine& operator=(const Engine&) = delete;

  // Runs execution `execution_id` (pending, or started when resumed) to its end and returns it
  // as stored then. `cancel` (may be null) set to true cancels: no new task starts.
  // kNotFound for an unknown execution. A workflow the engine does not know, a graph that
  // cannot be stored or a failed operation end the execution `failed` with the error (an OK
  // Result holding the failed execution).
  // `force_cancel` (may be null) set to true as well (force-cancel, kill) makes
  // OperationContext::cancel_requested() true for running handlers.
  Result<model::Execution> Run(const storage::CallerContext& caller,
                               const std::string& execution_id,
                               const std::atomic<bool>* cancel = nullptr,
                               const std::atomic<bool>* force_cancel = nullptr);

  // Hands the events and logs published so far to the bus (they are sent in batches): a
  // message published on the bus after this call travels behind them.
  void SendEvents();

 private:
  class Impl;
  std::unique_ptr<Impl> impl_;
};

}  // namespace cloudify::workflow
