#include "workflow/agent_dispatch.h"

#include <algorithm>
#include <system_error>
#include <utility>

#include "cloudify/ids.h"
#include "cloudify/messaging/topology.h"
#include "cloudify/workflow/agent_batches.h"

namespace cloudify::workflow {
namespace {

using nlohmann::json;

// Tasks in one message to an agent at most (agent_batches.h).
constexpr size_t kMaxTasksPerMessage = 16;

// How often a wait for a reply looks at the cancel flag.
constexpr std::chrono::milliseconds kCancelPoll{50};

std::string ErrorText(const json& error) {
  if (error.is_object()) {
    auto message = error.find("message");
    if (message != error.end() && message->is_string() && !message->get<std::string>().empty()) {
      return message->get<std::string>();
    }
  }
  if (error.is_string()) {
    return error.get<std::string>();
  }
  return error.is_null() ? std::string("the agent reported an error")
                         : error.dump(-1, ' ', false, json::error_handler_t::replace);
}

}  // namespace

TaskOutcome OutcomeFromAgentReply(const json& reply) {
  if (!reply.is_object()) {
    return TaskOutcome::Failure("malformed reply from the agent: " +
                                reply.dump(-1, ' ', false, json::error_handler_t::replace));
  }
  auto ok = reply.find("ok");
  if (ok != reply.end() && ok->is_boolean() && ok->get<bool>()) {
    return TaskOutcome::Success();
  }
  const json error = reply.value("error", json());
  const auto type_it = error.is_object() ? error.find("type") : error.end();
  const std::string type = error.is_object() && type_it != error.end() && type_it->is_string()
                               ? type_it->get<std::string>()
                               : "";
  const std::string message = ErrorText(error);
  if (type == "OperationRetry") {
    std::optional<std::chrono::milliseconds> after;
    auto it = error.find("retry_after");
    if (it != error.end() && it->is_number() && it->get<double>() >= 0) {
      after = std::chrono::milliseconds(static_cast<int64_t>(it->get<double>() * 1000));
    }
    return TaskOutcome::Retry(message, after);
  }
  // Unknown errors are retried, as the original treats exceptions that are not
  // NonRecoverableError.
  return TaskOutcome::Failure(message, type != "NonRecoverableError");
}

namespace {

// The instances an agent's reply says it stored; nullopt when it does not say (an agent of an
// earlier version, or a failure before the operation ran).
std::optional<std::vector<std::string>> WrittenInstances(const json& reply) {
  auto it = reply.is_object() ? reply.find("written") : reply.end();
  if (!reply.is_object() || it == reply.end() || !it->is_array()) {
    return std::nullopt;
  }
  std::vector<std::string> ids;
  for (const json& id : *it) {
    if (!id.is_string()) {
      return std::nullopt;
    }
    ids.push_back(id.get<std::string>());
  }
  return ids;
}

}  // namespace

// The parts are JSON already: they are joined, not parsed.
messaging::Message CombineReplies(std::vector<messaging::Message> replies) {
  messaging::Message batch;
  batch.body = "[";
  for (const messaging::Message& reply : replies) {
    batch.body += batch.body.size() > 1 ? ",{\"id\":" : "{\"id\":";
    // The id comes from the broker: bytes that are not UTF-8 are replaced, never thrown on.
    batch.body += json(reply.correlation_id).dump(-1, ' ', false, json::error_handler_t::replace);
    batch.body += ",\"reply\":";
    batch.body += reply.body;
    batch.body += "}";
  }
  batch.body += "]";
  return batch;
}

messaging::Message CombineTasks(std::vector<messaging::Message> tasks) {
  messaging::Message batch;
  batch.reply_to = tasks.front().reply_to;
  batch.body = "[";
  for (const messaging::Message& task : tasks) {
    if (batch.body.size() > 1) {
      batch.body += ",";
    }
    batch.body += task.body;
  }
  batch.body += "]";
  return batch;
}

AgentDispatcher::AgentDispatcher(messaging::Bus& bus, std::string execution_id,
                                 std::chrono::milliseconds ping_timeout,
                                 std::chrono::milliseconds ping_interval)
    : bus_(bus),
      execution_id_(std::move(execution_id)),
      reply_queue_(messaging::ExecutionReplyQueue(execution_id_)),
      ping_timeout_(ping_timeout),
      ping_interval_(ping_interval),
      tasks_(
          bus,
          [this](std::vector<messaging::Message> tasks) { return CombineBatch(std::move(tasks)); },
          kMaxTasksPerMessage) {}

messaging::Message AgentDispatcher::CombineBatch(std::vector<messaging::Message> tasks) {
  std::vector<std::string> ids;
  ids.reserve(tasks.size());
  for (const messaging::Message& task : tasks) {
    ids.push_back(task.correlation_id);
  }
  messaging::Message batch = CombineTasks(std::move(tasks));
  batch.correlation_id = "batch-" + NewUuid();
  std::lock_guard lock(mu_);
  batches_[batch.correlation_id] = std::move(ids);
  return batch;
}

AgentDispatcher::~AgentDispatcher() {
  {
    std::lock_guard lock(mu_);
    stopping_ = true;
  }
  watch_cv_.notify_all();
  if (watcher_.joinable()) {
    watcher_.join();
  }
  std::lock_guard lock(setup_mu_);
  subscription_.reset();
}

void AgentDispatcher::WatchCancel() {
  std::unique_lock lock(mu_);
  while (!stopping_) {
    watch_cv_.wait(lock, [this] { return stopping_ || !waiting_.empty(); });
    if (watch_cv_.wait_for(lock, kCancelPoll, [this] { return stopping_; })) {
      break;
    }
    if (cancel_ == nullptr || !cancel_->load()) {
      continue;
    }
    for (auto& [id, waiter] : waiting_) {
      {
        std::lock_guard waiter_lock(waiter->mu);
        waiter->cancelled = true;
      }
      waiter->cv.notify_one();
    }
  }
}

bool AgentDispatcher::used() const { return used_.load(); }

void AgentDispatcher::Finish(bool keep) {
  std::lock_guard lock(setup_mu_);
  subscription_.reset();
  if (used_.load() && !keep) {
    (void)bus_.DeleteQueue(reply_queue_, /*if_empty=*/true);
  }
}

Status AgentDispatcher::Prepare(const std::string& agent) {
  std::lock_guard lock(setup_mu_);
  if (declared_.count(agent) == 0) {
    // The agent's exchange and queues are declared here too (idempotent), so the reply
    // queue's binding never names a missing exchange and a task sent before the agent first
    // connects waits in its queue.
    messaging::Topology topology = messaging::AgentTopology(agent);
    topology.Merge(messaging::ExecutionReplyTopology(execution_id_, {agent}));
    CLOUDIFY_RETURN_IF_ERROR(bus_.Declare(topology));
    declared_.insert(agent);
  }
  if (subscription_ == nullptr) {
    CLOUDIFY_ASSIGN_OR_RETURN(
        subscription_, bus_.Consume(reply_queue_, {.dispatch_on_bus_thread = true},
                                    [this](messaging::Delivery d) { OnReply(std::move(d)); }));
  }
  used_ = true;
  return Status::Ok();
}

void AgentDispatcher::OnReply(messaging::Delivery delivery) {
  json body = json::parse(delivery.message().body, nullptr, /*allow_exceptions=*/false);
  const std::string& id = delivery.message().correlation_id;
  std::vector<std::string> batch;
  if (!id.empty()) {
    std::lock_guard lock(mu_);
    if (auto it = batches_.find(id); it != batches_.end()) {
      batch = std::move(it->second);
      batches_.erase(it);
    }
  }
  if (!batch.empty()) {
    // Only an agent that cannot read batches answers one (a process of an earlier version on
    // the agent's queue): its tasks fail recoverably, and go alone until a ping says otherwise.
    const std::string why = ErrorText(body.is_object() ? body.value("error", json()) : json());
    json reply = {{"ok", false},
                  {"error",
                   {{"type", "RecoverableError"},
                    {"message", "the agent could not read a batch of tasks: " + why}}}};
    {
      std::lock_guard lock(mu_);
      for (const std::string& task : batch) {
        if (auto it = waiting_.find(task); it != waiting_.end()) {
          takes_task_batches_.erase(it->second->agent);
        }
      }
    }
    for (const std::string& task : batch) {
      Answer(task, reply);
    }
  } else if (!id.empty() && !body.is_discarded()) {
    Answer(id, std::move(body));
  } else if (id.empty() && body.is_array()) {
    for (json& item : body) {  // a batch (agent_batches.h)
      auto task = item.is_object() ? item.find("id") : item.end();
      auto reply = item.is_object() ? item.find("reply") : item.end();
      if (task != item.end() && task->is_string() && reply != item.end()) {
        Answer(task->get<std::string>(), std::move(*reply));
      }
    }
  }
  (void)delivery.Ack();
}

void AgentDispatcher::Answer(const std::string& task_id, json reply) {
  std::shared_ptr<Waiter> waiter;
  {
    std::lock_guard lock(mu_);
    auto it = waiting_.find(task_id);
    if (it == waiting_.end()) {
      return;
    }
    waiter = it->second;
    heard_from_[waiter->agent] = std::chrono::steady_clock::now();
  }
  {
    std::lock_guard lock(waiter->mu);
    waiter->reply = std::move(reply);
  }
  waiter->cv.notify_one();
}

bool AgentDispatcher::Alive(const std::string& agent) {
  if (ping_interval_.count() > 0) {
    std::lock_guard lock(mu_);
    auto it = heard_from_.find(agent);
    if (it != heard_from_.end() && std::chrono::steady_clock::now() - it->second < ping_interval_) {
      return true;
    }
  }
  json ping_context = {{"type", "service"}, {"task_name", "ping"}};
  messaging::Message ping;
  ping.body = json{{"id", NewUuid()},
                   {"cloudify_task", {{"kwargs", {{"__cloudify_context", ping_context}}}}}}
                  .dump();
  ping.persistent = false;
  // Dropped unanswered, as the original's ping expires just before its timeout.
  ping.expiration_ms = std::max<int64_t>(1, ping_timeout_.count() - ping_timeout_.count() / 150);
  auto pong = bus_.Request(agent, messaging::kServiceRoutingKey, std::move(ping), ping_timeout_);
  if (!pong.ok()) {
    return false;
  }
  json answer = json::parse(pong->body, nullptr, /*allow_exceptions=*/false);
  const json* result =
      answer.is_object() && answer.contains("result") ? &answer["result"] : nullptr;
  const bool batches = result != nullptr && result->is_object() &&
                       result->value(kTaskBatchesKey, json(false)) == json(true);
  std::lock_guard lock(mu_);
  heard_from_[agent] = std::chrono::steady_clock::now();
  if (batches) {
    takes_task_batches_.insert(agent);
  } else {
    takes_task_batches_.erase(agent);
  }
  return true;
}

TaskOutcome AgentDispatcher::AwaitAgent(const std::string& agent) {
  if (Status s = Prepare(agent); !s.ok()) {
    return TaskOutcome::Failure("pinging agent " + agent + ": " + s.ToString());
  }
  if (!Alive(agent)) {
    if (on_silent_) {
      on_silent_(agent);
    }
    return TaskOutcome::Failure("Timed out waiting for agent " + agent + " to start");
  }
  return TaskOutcome::Success();
}

TaskOutcome AgentDispatcher::Run(const std::string& agent, const std::string& task_id,
                                 const json& kwargs, const std::atomic<bool>* cancel,
                                 std::optional<std::vector<std::string>>* written) {
  const std::string timed_out = "Timed out waiting for agent " + agent;
  if (Status s = Prepare(agent); !s.ok()) {
    return TaskOutcome::Failure("sending to agent " + agent + ": " + s.ToString());
  }
  if (!Alive(agent)) {
    if (on_silent_) {
      on_silent_(agent);
    }
    return TaskOutcome::Failure(timed_out);
  }

  auto waiter = std::make_shared<Waiter>(agent);
  bool watched = false;  // else this wait polls the cancel flag itself
  {
    std::lock_guard lock(mu_);
    const bool first = waiting_.empty();
    waiting_[task_id] = waiter;
    if (cancel != nullptr) {
      cancel_ = cancel;
      if (!watcher_.joinable()) {
        try {
          watcher_ = std::thread([this] { WatchCancel(); });
        } catch (const std::system_error&) {
          // At the system's limit of threads: polled below.
        }
      }
    }
    watched = watcher_.joinable();
    if (first) {
      watch_cv_.notify_all();
    }
  }
  messaging::Message task;
  // {"cloudify_task": {"kwargs": ...}, "id": ...}, written around kwargs rather than copying it.
  task.body = R"({"cloudify_task":{"kwargs":)" + kwargs.dump() + R"(},"id":)" +
              json(task_id).dump() + ",\"" + std::string(kReplyBatchesKey) + "\":true}";
  task.correlation_id = task_id;
  task.reply_to = reply_queue_;
  task.persistent = true;
  // The confirm usually comes long before the reply; only a refusal needs the waiter.
  bool batchable = false;
  {
    std::lock_guard lock(mu_);
    batchable = takes_task_batches_.count(agent) != 0;
  }
  tasks_.Publish(agent, messaging::kOperationRoutingKey, std::move(task), batchable,
                 [waiter](Status sent) {
                   if (sent.ok()) {
                     return;
                   }
                   {
                     std::lock_guard lock(waiter->mu);
                     waiter->send_failure = std::move(sent);
                   }
                   waiter->cv.notify_one();
                 });

  std::optional<json> reply;
  std::optional<Status> send_failure;
  {
    std::unique_lock lock(waiter->mu);
    // A cancel set from now on is seen by WatchCancel, which knows of this waiter.
    auto done = [&] {
      return (cancel != nullptr && cancel->load()) || waiter->cancelled || waiter->reply ||
             waiter->send_failure;
    };
    if (watched || cancel == nullptr) {
      waiter->cv.wait(lock, done);
    } else {
      while (!waiter->cv.wait_for(lock, kCancelPoll, done)) {
      }
    }
    reply = std::move(waiter->reply);
    send_failure = std::move(waiter->send_failure);
  }
  {
    std::lock_guard lock(mu_);
    if (auto it = waiting_.find(task_id); it != waiting_.end() && it->second == waiter) {
      waiting_.erase(it);
    }
  }
  if (reply) {
    if (written != nullptr) {
      *written = WrittenInstances(*reply);
    }
    return OutcomeFromAgentReply(*reply);
  }
  if (send_failure) {
    return TaskOutcome::Failure("sending to agent " + agent + ": " + send_failure->ToString());
  }
  return TaskOutcome::Failure("operation cancelled (force-cancel or kill)", false);
}

}  // namespace cloudify::workflow
