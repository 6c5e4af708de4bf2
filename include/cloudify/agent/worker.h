// Worker: the cloudify-agent process's engine, what runs host_agent operations on a managed
// host (the original's cloudify-agent worker, WORKFLOWS.md §3.2 and §6).
//
//   auto worker = cloudify::agent::Worker::Start({.name = "vm_abc123",
//                                                 .bus_url = "amqp://agent:pw@mq:5672/",
//                                                 .rest_url = "http://10.0.0.5:53333"})
//                    .value();
//
// It declares its direct exchange "<name>" with the queues "<name>_operation" (routing
// "operation") and "<name>_service" (routing "service"), and consumes both:
//  - service tasks: `ping` is answered {"ok": true, "result": {"time": <epoch seconds>}} at
//    once (the manager pings before each operation);
//  - operation tasks {"id", "cloudify_task": {"kwargs": {inputs..., "__cloudify_context"}}}:
//    the node instance (and the related one of a relationship operation) is read from the
//    manager's REST API, the operation runs (a C++ handler of WorkerOptions::operations named
//    "<plugin>.<task>", else the script executor for script operations, with the blueprint's
//    files downloaded from GET /blueprints/<id>/archive and cached under the work dir per
//    blueprint upload), its runtime-property changes are written back with PATCH
//    /node-instances/<id> and the instance's version (a concurrent change is a recoverable
//    failure, retried by the manager), and the reply {"ok": true, "result"} or {"ok": false,
//    "error": {"type", "message"[, "retry_after"]}} is published to exchange "<name>" with the
//    task's reply_to as routing key and its correlation id. The task is acked only after its reply
//    is confirmed, so the operation of an agent that dies meanwhile is redelivered (to the next
//    agent of that name); one that dies between the reply and the ack runs the operation twice
//    (the original acks on receipt instead, and loses the operation), so operations should be
//    idempotent, as the original's install resume already asks of them.
// Script logs go to the manager's logs exchange as the execution's log events, as the engine's
// own operations do.
//
// Errors: Start returns kBadParameters for a missing name or a bad URL, kUnavailable when the
// broker cannot be reached. Operation failures travel in the replies, never as Status.
//
// Thread-safety: Stop and stats may be called from any thread. Operations run on up to
// max_workers threads of the worker's own.
// Ownership: the Worker owns its threads, its subscriptions and (unless WorkerOptions::bus is
// given) its Bus.
#pragma once

#include <chrono>
#include <cstdint>
#include <filesystem>
#include <memory>
#include <string>
#include <vector>

#include "cloudify/logging.h"
#include "cloudify/messaging/bus.h"
#include "cloudify/status.h"
#include "cloudify/workflow/operation.h"

namespace cloudify::agent {

struct WorkerOptions {
  // The agent's name (its exchange and queue prefix; the `queue` of the host's cloudify_agent
  // runtime property). Required.
  std::string name;
  // The broker: "inproc://<name>" (tests, one process) or "amqp://user:pass@host:5672/vhost".
  // Default: "inproc://".
  std::string bus_url = "inproc://";
  // A Bus to use instead of bus_url; not owned, must outlive the Worker. Default: null.
  messaging::Bus* bus = nullptr;
  // The manager's REST API. Default: "http://127.0.0.1:53333".
  std::string rest_url = "http://127.0.0.1:53333";
  // How the agent calls the REST API for a task whose context carries no rest_token (the
  // manager gives each execution's tasks one; a task's own token always wins): an API token
  // (sent as Authentication-Token); when empty, username and password (HTTP Basic).
  // Default: "".
  std::string rest_token;
  std::string username;
  std::string password;
  // The tenant the agent's REST calls name (the task's own tenant wins). Default:
  // "default_tenant".
  std::string tenant = "default_tenant";
  // Cached blueprints and the scripts' private work dirs live here. Default: "./cloudify-agent".
  std::filesystem::path work_dir = "./cloudify-agent";
  // Operations run at once. Four times as many task messages are prefetched, each one task or
  // a batch of them (cloudify/workflow/agent_batches.h). Default: 5 (the original's
  // max_workers).
  int max_workers = 5;
  // The folder holding the `ctx` program scripts call. Default: empty (next to the running
  // program; see cloudify/workflow/script_executor.h).
  std::filesystem::path ctx_dir;
  // C++ handlers by task name, tried before the script executor; not owned, must outlive the
  // Worker. Default: null (scripts only).
  const workflow::OperationRegistry* operations = nullptr;
  // Diagnostics (connection problems, operations that could not be answered). Default: null
  // (silent).
  std::shared_ptr<Logger> logger;
  // The host node instance this agent serves. When set, the agent registers itself in the
  // manager's agents table when it starts (PUT /agents/<name>, state `started`, with the REST
  // credentials above, which it then needs), reports `started` every heartbeat_interval (the
  // agent's updated_at shows it alive) and `stopped` when it stops. Default: "" (not
  // registered).
  std::string node_instance_id;
  std::string ip;                           // recorded with the registration. Default: "".
  std::string install_method = "provided";  // ditto: the user started it
  std::chrono::milliseconds heartbeat_interval = std::chrono::seconds(30);
};

// Counters for tests and monitoring.
struct WorkerStats {
  uint64_t pings = 0;               // service pings answered
  uint64_t operations = 0;          // operation tasks answered (whatever their outcome)
  uint64_t operations_failed = 0;   // ... of which answered with an error
  uint64_t operations_running = 0;  // taken and not answered yet
  uint64_t instance_reads = 0;      // node instances read from the manager (not in the task)
};

class Worker {
 public:
  // Opens the bus (unless given), declares the agent's topology and starts consuming.
  static Result<std::unique_ptr<Worker>> Start(WorkerOptions options);
  // Stop()s.
  ~Worker();
  Worker(const Worker&) = delete;
  Worker& operator=(const Worker&) = delete;

  // Stops taking tasks, lets the running operations finish and answer, joins the threads.
  // Tasks taken but not started go back to the queue. Idempotent.
  void Stop();

  const std::string& name() const;
  WorkerStats stats() const;

 private:
  class Impl;
  explicit Worker(std::unique_ptr<Impl> impl);
  std::unique_ptr<Impl> impl_;
};

// Parses cloudify-agent's flags (args excludes the program name): --name, --bus-url,
// --rest-url, --rest-token, --rest-username, --rest-password, --tenant, --work-dir,
// --max-workers, --ctx-dir, --node-instance-id, --ip, --heartbeat-seconds; each also from its
// CLOUDIFY_AGENT_* environment variable.
// kBadParameters with the reason on a bad flag. `help` is set when --help was asked for; the
// text is then in `help_text`.
struct AgentFlags {
  WorkerOptions options;
  bool help = false;
  std::string help_text;
};
Result<AgentFlags> ParseAgentFlags(const std::vector<std::string>& args);

// The cloudify-agent program: flags, run until SIGINT/SIGTERM, exit code.
int AgentMain(int argc, char** argv);

}  // namespace cloudify::agent
