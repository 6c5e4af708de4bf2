// Running a TaskGraph: the original's task-graph engine semantics (WORKFLOWS.md §2.2-2.3).
//
// Ready tasks run on a pool of worker threads through a TaskExecutor. A subgraph starts when
// its dependencies are done, which lets its members run; it is done when all its members are.
// A recoverable failure is retried after the task's retry interval (or the delay the task
// asked for) until its retries run out; a non-recoverable one fails at once. After a failure
// no new task starts, tasks in flight finish, and the run fails naming the task. A cancel
// stops new tasks the same way. A run resumed with the states of an earlier run skips every
// task that already succeeded, so an operation that succeeded never runs twice.
//
// Thread-safety: RunGraph blocks its caller; the executor is called from several worker
// threads at once, the observer from one thread at a time.
#pragma once

#include <atomic>
#include <chrono>
#include <map>
#include <optional>
#include <string>
#include <string_view>

#include "cloudify/model/operation.h"
#include "cloudify/status.h"
#include "cloudify/workflow/task_graph.h"

namespace cloudify::workflow {

// How one attempt at a task ended.
struct TaskOutcome {
  enum class Kind {
    kSucceeded,
    kRecoverableError,     // retried while retries remain
    kNonRecoverableError,  // fails the task at once
    kRetryRequested,       // the operation asked to be run again (ctx retry_operation)
  };
  Kind kind = Kind::kSucceeded;
  std::string error;
  // Overrides the retry interval for this retry.
  std::optional<std::chrono::milliseconds> retry_after;

  static TaskOutcome Success() { return {}; }
  static TaskOutcome Failure(std::string error, bool recoverable = true) {
    return {recoverable ? Kind::kRecoverableError : Kind::kNonRecoverableError, std::move(error),
            std::nullopt};
  }
  static TaskOutcome Retry(std::string message,
                           std::optional<std::chrono::milliseconds> after = std::nullopt) {
    return {Kind::kRetryRequested, std::move(message), after};
  }
};

// Runs the non-subgraph tasks: operations, state changes, events.
class TaskExecutor {
 public:
  virtual ~TaskExecutor() = default;
  // Called on a worker thread; `retry_number` is 0 for the first attempt. Must not throw.
  virtual TaskOutcome Execute(const GraphTask& task, int retry_number) = 0;
};

// Marks the calling task, while it lives, as waiting for work done elsewhere (an agent's
// reply): its worker's place in GraphRunOptions::parallelism goes to another task meanwhile, as
// the original sends operations to agents without holding its local task pool. Made on the
// worker thread that runs the task; elsewhere it does nothing.
class RemoteWait {
 public:
  RemoteWait();
  ~RemoteWait();
  RemoteWait(const RemoteWait&) = delete;
  RemoteWait& operator=(const RemoteWait&) = delete;

  // The hooks a run gives its worker threads.
  class Host {
   public:
    virtual void BeginRemoteWait() = 0;
    virtual void EndRemoteWait() = 0;

   protected:
    ~Host() = default;
  };

 private:
  Host* host_;
};

// Hears every task state change (to persist operations and emit task events).
class GraphObserver {
 public:
  virtual ~GraphObserver() = default;
  // kStarted when an attempt begins; kSucceeded, kFailed or kRescheduled (a retry will follow)
  // when it ends. `error` is empty unless the attempt failed.
  virtual void OnTaskState(const GraphTask& task, model::TaskState state, int retry_number,
                           std::string_view error) = 0;
};

// Opt-in exponential backoff with jitter, beyond the original (whose pause between retries is
// fixed: task_retry_interval, or the operation's retry_interval, or the delay a failure asks
// for). When enabled, a recoverable failure that names no delay of its own (no retry_after, no
// per-operation retry_interval) waits before retry n (1 = the first retry)
//   min(task_retry_interval * multiplier^(n-1), max_interval),
// shortened by a random fraction of at most `jitter`, so that many instances failing together
// do not retry in lockstep.
struct RetryBackoff {
  // Default: false (the original's fixed pause).
  bool enabled = false;
  // Growth per retry, >= 1. Default: 2.
  double multiplier = 2.0;
  // The longest pause. Default: 5 min.
  std::chrono::milliseconds max_interval = std::chrono::minutes(5);
  // The largest fraction taken off a pause, 0..1. Default: 0.5 (a pause is 50-100% of the
  // computed one).
  double jitter = 0.5;
};

// The pause before retry `retry_number` (>= 1) after `base`, under `backoff`; `unit_random` is a
// number in [0, 1) choosing the jitter. Returns `base` when backoff is disabled.
std::chrono::milliseconds BackoffDelay(std::chrono::milliseconds base, const RetryBackoff& backoff,
                                       int retry_number, double unit_random);

struct GraphRunOptions {
  // Tasks running at once, not counting those in a RemoteWait. Default: 8 (the original's
  // local task pool).
  int parallelism = 8;
  // Worker threads a run may add beyond `parallelism` for tasks in a RemoteWait, each of which
  // holds one: at most parallelism + max_remote_waits tasks run or wait at once. Enough for the
  // ready tasks to reach several agents, whose tasks are often ready one host after the other.
  // At the system's limit of threads a run adds none. Default: 256.
  int max_remote_waits = 256;
  // Retries of a recoverable failure when the task sets none; -1 = for ever. Default: 60 (the
  // manager's installed default).
  int task_retries = 60;
  // Pause before a retry when the task sets none. Default: 15 s (the manager's default).
  std::chrono::milliseconds task_retry_interval = std::chrono::seconds(15);
  // Exponential backoff for retries with no delay of their own. Default: disabled.
  RetryBackoff backoff;
  // Set to true (from any thread) to cancel: no new task starts, running ones finish.
  // Default: none.
  const std::atomic<bool>* cancel = nullptr;
  // States from an earlier run of the same graph (task id -> state): tasks that succeeded are
  // not run again. Default: empty (a fresh run).
  std::map<std::string, model::TaskState> previous_states;
};

struct GraphRunResult {
  enum class Outcome { kSucceeded, kFailed, kCancelled };
  Outcome outcome = Outcome::kSucceeded;
  // For kFailed: "Task failed: <operation> (<node instance>): <error>", the first failure.
  std::string error;
  int attempts = 0;  // executor calls made
  int skipped = 0;   // tasks not run because an earlier run had finished them
};

// kInternal when the graph is malformed (a cycle or an unknown dependency).
Result<GraphRunResult> RunGraph(const TaskGraph& graph, TaskExecutor& executor,
                                GraphObserver* observer, const GraphRunOptions& options);

}  // namespace cloudify::workflow
