// AgentDispatcher: sends host_agent operations of one execution to the agents that run them
// and waits for their replies, as the original's amqp dispatcher does (WORKFLOWS.md §3.2):
//
//  - before a send it pings the agent (service task `ping` on exchange "<agent>", routing
//    "service"); no answer within the ping timeout is RecoverableError "Timed out waiting for
//    agent <name>". Beyond the original, an agent that answered a ping or replied to a task
//    within the last `ping_interval` is taken as alive without a new ping (a round trip and two
//    messages per operation saved); a zero interval pings before every send, as the original;
//  - the task goes to exchange "<agent>" with routing "operation", persistent, reply_to
//    "execution_responses_<execution id>" and correlation id = the task id; that durable queue
//    is bound to every agent exchange the execution sends to, so replies outlive a manager.
//    Beyond the original, the task allows reply batches, and tasks to an agent that takes
//    them go in batches while one is on its way (agent_batches.h);
//  - the reply {"ok": true, "result": ...} is success; {"ok": false, "error": {"type",
//    "message", "retry_after"}} maps OperationRetry to a retry, NonRecoverableError to a
//    failure without retry and any other error to a recoverable failure.
//
// Replies that arrive for a task nobody waits for (a duplicate after a redelivery, or the
// reply to an attempt given up) are dropped, so a stale reply never answers a new attempt.
// Each waiting task has a condition variable of its own: a reply wakes only its waiter, and
// the task's publish is not waited for apart from its reply (a refused publish ends the wait;
// destroying the dispatcher waits for the confirms of what it sent).
//
// Thread-safety: Run may be called from many worker threads at once.
#pragma once

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <set>
#include <string>
#include <thread>
#include <vector>

#include <nlohmann/json.hpp>

#include "cloudify/messaging/bus.h"
#include "cloudify/messaging/coalescing_publisher.h"
#include "cloudify/workflow/graph_runner.h"

namespace cloudify::workflow {

class AgentDispatcher {
 public:
  // The bus must outlive the dispatcher.
  AgentDispatcher(messaging::Bus& bus, std::string execution_id,
                  std::chrono::milliseconds ping_timeout,
                  std::chrono::milliseconds ping_interval = std::chrono::milliseconds(0));
  // Stops consuming replies (unacked ones go back to the queue).
  ~AgentDispatcher();
  AgentDispatcher(const AgentDispatcher&) = delete;
  AgentDispatcher& operator=(const AgentDispatcher&) = delete;

  // Pings `agent`, sends task `task_id` with `kwargs` (the operation's inputs and
  // "__cloudify_context") and waits for its reply. `cancel` (may be null) set to true stops the
  // wait: the outcome is then a failure without retry. `written` (may be null) gets the node
  // instances the agent says it stored, when its reply says (nullopt: any may have changed).
  TaskOutcome Run(const std::string& agent, const std::string& task_id,
                  const nlohmann::json& kwargs, const std::atomic<bool>* cancel,
                  std::optional<std::vector<std::string>>* written = nullptr);

  // Pings `agent` (its queues declared first, so the ping waits for an agent still starting):
  // success when it answers, else the recoverable failure "Timed out waiting for agent <name>
  // to start" (and on_silent). The cloudify_agent.start operation of an awaited agent.
  TaskOutcome AwaitAgent(const std::string& agent);

  // Called (on the caller's thread) with the name of an agent that did not answer its ping.
  // Set before the first Run.
  void set_on_silent(std::function<void(const std::string& agent)> on_silent) {
    on_silent_ = std::move(on_silent);
  }

  // True once a task was sent (the reply queue exists).
  bool used() const;
  // Tasks waiting to go in the next batch to their agent (for tests).
  size_t tasks_waiting() const { return tasks_.waiting(); }
  // The execution ended for good: deletes its reply queue when empty. Kept when `keep` (a
  // cancelled execution may be resumed and still collect replies).
  void Finish(bool keep);

 private:
  Status Prepare(const std::string& agent);
  void OnReply(messaging::Delivery delivery);
  // Hands `reply` to the task waiting for it, if one does.
  void Answer(const std::string& task_id, nlohmann::json reply);
  // CombineTasks, with a correlation id of the batch's own, remembered with its tasks' ids.
  messaging::Message CombineBatch(std::vector<messaging::Message> tasks);
  // Pings the agent unless it was heard from within the ping interval.
  bool Alive(const std::string& agent);

  messaging::Bus& bus_;
  std::function<void(const std::string&)> on_silent_;
  const std::string execution_id_;
  const std::string reply_queue_;
  const std::chrono::milliseconds ping_timeout_;
  const std::chrono::milliseconds ping_interval_;
  messaging::CoalescingPublisher tasks_;  // to agents that take task batches, in batches

  std::mutex setup_mu_;  // guards declared_ and subscription_
  std::set<std::string> declared_;
  std::unique_ptr<messaging::Subscription> subscription_;
  std::atomic<bool> used_{false};

  // One task waiting for its reply. Shared with the publish callback, which may run after
  // the wait was given up.
  struct Waiter {
    explicit Waiter(std::string agent_in) : agent(std::move(agent_in)) {}
    const std::string agent;
    std::mutex mu;  // guards reply and send_failure
    std::condition_variable cv;
    std::optional<nlohmann::json> reply;
    std::optional<Status> send_failure;
    bool cancelled = false;
  };

  // Wakes every waiting task once `cancel` is set: one thread polls the flag for all of them.
  void WatchCancel();

  std::mutex mu_;                                           // guards waiting_ and heard_from_
  std::map<std::string, std::shared_ptr<Waiter>> waiting_;  // by task id
  std::map<std::string, std::chrono::steady_clock::time_point> heard_from_;  // agent -> last
  std::set<std::string> takes_task_batches_;  // agents whose last pong said so
  // Batches sent, by their correlation id: their tasks' ids (an answer to a batch fails them).
  std::map<std::string, std::vector<std::string>> batches_;
  const std::atomic<bool>* cancel_ = nullptr;  // guarded by mu_; the last Run's, not null
  bool stopping_ = false;                      // guarded by mu_
  std::condition_variable watch_cv_;           // a task waits, or stopping_
  std::thread watcher_;                        // started by the first Run with a cancel flag
};

// The outcome a reply body stands for.
TaskOutcome OutcomeFromAgentReply(const nlohmann::json& reply);

}  // namespace cloudify::workflow
