#include "cloudify/agent/worker.h"

#include <atomic>
#include <cctype>
#include <condition_variable>
#include <deque>
#include <map>
#include <mutex>
#include <optional>
#include <thread>
#include <utility>

#include <nlohmann/json.hpp>

#include "cloudify/archive.h"
#include "cloudify/client/rest_client.h"
#include "cloudify/client/url_fetch.h"
#include "cloudify/clock.h"
#include "cloudify/ids.h"
#include "cloudify/messaging/coalescing_publisher.h"
#include "cloudify/messaging/topology.h"
#include "cloudify/model/json.h"
#include "cloudify/model/node.h"
#include "cloudify/url.h"
#include "cloudify/version.h"
#include "cloudify/workflow/agent_batches.h"
#include "cloudify/workflow/events.h"
#include "cloudify/workflow/script_executor.h"

namespace cloudify::agent {
namespace {

namespace fs = std::filesystem;
using nlohmann::json;

constexpr const char* kContextKey = "__cloudify_context";

// --- The manager's REST API, as one operation uses it ------------------------------------------

// Member `key` of `holder` moved out, null when missing: json::value() would copy the task's
// large parts.
json TakeMember(json& holder, const char* key) {
  if (!holder.is_object()) {
    return json();
  }
  auto it = holder.find(key);
  return it == holder.end() ? json() : std::move(*it);
}

Result<client::ClientOptions> RestOptions(const WorkerOptions& options, const json& context) {
  CLOUDIFY_ASSIGN_OR_RETURN(Url url, ParseUrl(options.rest_url));
  if (url.scheme != "http" && url.scheme != "https") {
    return Status(ErrorCode::kBadParameters,
                  "rest url " + url.Redacted() + ": expected http:// or https://");
  }
  client::ClientOptions out;
  out.host = url.host;
  out.port = url.port;
  out.ssl = url.scheme == "https";
  out.tenant = options.tenant;
  if (const json& tenant = context.value("tenant", json()); tenant.is_object()) {
    out.tenant = tenant.value("name", options.tenant);
  }
  // The execution's own token first, as the original's agent: it acts as the execution's
  // creator, whoever started the agent.
  if (const json& token = context.value("rest_token", json());
      token.is_string() && !token.get<std::string>().empty()) {
    out.token = token.get<std::string>();
  } else if (!options.rest_token.empty()) {
    out.token = options.rest_token;
  } else {
    out.username = options.username;
    out.password = options.password;
  }
  return out;
}

Result<model::NodeInstance> InstanceFromWire(const json& j) {
  if (!j.is_object()) {
    return Status(ErrorCode::kInternal, "node instance: expected an object");
  }
  model::NodeInstance ni;
  ni.id = j.value("id", "");
  ni.node_id = j.value("node_id", "");
  ni.deployment_id = j.value("deployment_id", "");
  if (auto it = j.find("host_id"); it != j.end() && it->is_string()) {
    ni.host_id = it->get<std::string>();
  }
  ni.index = j.value("index", 1);
  ni.state = model::ParseNodeInstanceState(j.value("state", "uninitialized"))
                 .value_or(model::NodeInstanceState::kUninitialized);
  ni.version = j.value("version", model::NodeInstance::kInitialVersion);
  ni.runtime_properties = j.value("runtime_properties", json::object());
  if (ni.runtime_properties.is_null()) {
    ni.runtime_properties = json::object();
  }
  ni.system_properties = j.value("system_properties", json::object());
  for (const json& rel : j.value("relationships", json::array())) {
    if (rel.is_object()) {
      ni.relationships.push_back({.target_id = rel.value("target_id", ""),
                                  .target_name = rel.value("target_name", ""),
                                  .type = rel.value("type", "")});
    }
  }
  return ni;
}

Result<model::Node> NodeFromWire(const json& j) {
  CLOUDIFY_ASSIGN_OR_RETURN(model::NodeTemplate spec, model::FromJson<model::NodeTemplate>(j));
  model::Node node;
  node.spec = std::move(spec);
  node.deployment_id = j.value("deployment_id", "");
  node.blueprint_id = j.value("blueprint_id", "");
  node.number_of_instances = j.value("number_of_instances", 1);
  return node;
}

// One node instance as the operation sees it; its changes are written back when it ends.
class RemoteInstance final : public workflow::InstanceContext {
 public:
  RemoteInstance(model::Node node, model::NodeInstance instance)
      : node_(std::move(node)),
        instance_(std::move(instance)),
        original_(instance_.runtime_properties) {}
  const model::Node& node() const override { return node_; }
  const model::NodeInstance& instance() const override { return instance_; }
  json& runtime_properties() override { return instance_.runtime_properties; }
  bool changed() const { return instance_.runtime_properties != original_; }

 private:
  model::Node node_;
  model::NodeInstance instance_;
  const json original_;
};

// The instance and node the manager put in the task beside `node_id` (null when it did not).
Result<std::unique_ptr<RemoteInstance>> CarriedInstance(const json& holder) {
  auto instance = holder.find("node_instance");
  auto node = holder.find("node");
  if (instance == holder.end() || node == holder.end() || !instance->is_object() ||
      !node->is_object()) {
    return std::unique_ptr<RemoteInstance>();
  }
  CLOUDIFY_ASSIGN_OR_RETURN(model::NodeInstance carried_instance, InstanceFromWire(*instance));
  CLOUDIFY_ASSIGN_OR_RETURN(model::Node carried_node, NodeFromWire(*node));
  return std::make_unique<RemoteInstance>(std::move(carried_node), std::move(carried_instance));
}

Result<std::unique_ptr<RemoteInstance>> FetchInstance(client::RestClient& rest,
                                                      const std::string& instance_id) {
  CLOUDIFY_ASSIGN_OR_RETURN(json wire, rest.Get("/node-instances/" + instance_id));
  CLOUDIFY_ASSIGN_OR_RETURN(model::NodeInstance instance, InstanceFromWire(wire));
  CLOUDIFY_ASSIGN_OR_RETURN(
      client::ListPage page,
      rest.List("/nodes", {{"deployment_id", instance.deployment_id}, {"id", instance.node_id}}));
  if (page.items.empty()) {
    return Status(ErrorCode::kNotFound, "node '" + instance.node_id + "' of deployment '" +
                                            instance.deployment_id + "' not found");
  }
  CLOUDIFY_ASSIGN_OR_RETURN(model::Node node, NodeFromWire(page.items[0]));
  return std::make_unique<RemoteInstance>(std::move(node), std::move(instance));
}

// --- Logs into the execution's logs ----------------------------------------------------------

class ExecutionLogger final : public Logger {
 public:
  ExecutionLogger(workflow::EventPublisher& publisher, model::Event base)
      : publisher_(publisher), base_(std::move(base)) {}
  bool Enabled(LogLevel) const override { return true; }
  void Write(LogLevel level, std::string_view message,
             std::initializer_list<LogField> fields) override {
    model::Event e = base_;
    e.message = std::string(message);
    for (const auto& f : fields) {
      e.message += " " + std::string(f.key) + "=" + f.value;
    }
    e.level = level;
    e.reported_timestamp = SystemClock().Now();
    publisher_.Publish(e);
  }

 private:
  workflow::EventPublisher& publisher_;
  const model::Event base_;
};

// --- The operation context over the task's __cloudify_context --------------------------------

class AgentContext final : public workflow::OperationContext {
 public:
  AgentContext(const json& context, json inputs, Logger& logger)
      : inputs_(std::move(inputs)), logger_(logger) {
    const json tenant = context.value("tenant", json());
    tenant_ = tenant.is_object() ? tenant.value("name", "") : "";
    deployment_id_ = context.value("deployment_id", "");
    blueprint_id_ = context.value("blueprint_id", "");
    execution_id_ = context.value("execution_id", "");
    workflow_id_ = context.value("workflow_id", "");
    const json operation = context.value("operation", json::object());
    operation_name_ = operation.value("name", "");
    retry_number_ = operation.value("retry_number", 0);
    max_retries_ = operation.value("max_retries", 0);
    relationship_ = operation.value("relationship", "");
    if (auto it = context.find("timeout"); it != context.end() && it->is_number()) {
      const double seconds = it->get<double>();
      if (seconds > 0) {
        timeout_ = std::chrono::milliseconds(static_cast<int64_t>(seconds * 1000));
      }
    }
    timeout_recoverable_ = context.value("timeout_recoverable", false);
  }

  const std::string& tenant() const override { return tenant_; }
  const std::string& deployment_id() const override { return deployment_id_; }
  const std::string& blueprint_id() const override { return blueprint_id_; }
  const std::string& execution_id() const override { return execution_id_; }
  const std::string& workflow_id() const override { return workflow_id_; }
  const std::string& operation_name() const override { return operation_name_; }
  int retry_number() const override { return retry_number_; }
  int max_retries() const override { return max_retries_; }
  const json& inputs() const override { return inputs_; }
  std::optional<std::chrono::milliseconds> timeout() const override { return timeout_; }
  bool timeout_recoverable() const override { return timeout_recoverable_; }
  bool is_relationship() const override { return !relationship_.empty(); }
  workflow::InstanceContext& instance() override { return *self; }
  workflow::InstanceContext& source() override {
    return relationship_ == "target" && other ? *other : *self;
  }
  workflow::InstanceContext& target() override {
    return relationship_ == "source" && other ? *other : *self;
  }
  Logger& logger() override { return logger_; }

  void Fail(std::string message, bool recoverable) override {
    error = {{"type", recoverable ? "RecoverableError" : "NonRecoverableError"},
             {"message", std::move(message)}};
  }
  void Retry(std::string message, std::optional<std::chrono::milliseconds> after) override {
    error = {{"type", "OperationRetry"}, {"message", std::move(message)}};
    if (after) {
      error["retry_after"] = static_cast<double>(after->count()) / 1000.0;
    }
  }
  void Return(json value) override { result = std::move(value); }
  // Through the manager's REST API (ctx `host-ip` reads the host instance's `ip`).
  Result<model::NodeInstance> ReadInstance(const std::string& id) const override {
    if (rest == nullptr) {
      return OperationContext::ReadInstance(id);
    }
    CLOUDIFY_ASSIGN_OR_RETURN(json wire, rest->Get("/node-instances/" + id));
    return InstanceFromWire(wire);
  }

  client::RestClient* rest = nullptr;  // the execution's client, while the operation runs
  std::unique_ptr<RemoteInstance> self;
  std::unique_ptr<RemoteInstance> other;
  json error;  // null while the operation succeeds
  json result;

 private:
  const json inputs_;
  Logger& logger_;
  std::string tenant_, deployment_id_, blueprint_id_, execution_id_, workflow_id_;
  std::string operation_name_, relationship_;
  int retry_number_ = 0;
  int max_retries_ = 0;
  std::optional<std::chrono::milliseconds> timeout_;
  bool timeout_recoverable_ = false;
};

json ErrorReply(const std::string& type, const std::string& message) {
  return {{"ok", false}, {"error", {{"type", type}, {"message", message}}}};
}

}  // namespace

// --- The worker ------------------------------------------------------------------------------

class Worker::Impl {
 public:
  explicit Impl(WorkerOptions options) : options_(std::move(options)) {}

  ~Impl() { Stop(); }

  Status Start() {
    if (options_.name.empty()) {
      return Status(ErrorCode::kBadParameters, "the agent needs a name");
    }
    CLOUDIFY_RETURN_IF_ERROR(ParseUrl(options_.rest_url).status());
    if (options_.max_workers < 1) {
      options_.max_workers = 1;
    }
    const messaging::Topology topology = messaging::AgentTopology(options_.name);
    if (options_.bus != nullptr) {
      bus_ = options_.bus;
      CLOUDIFY_RETURN_IF_ERROR(bus_->Declare(topology));
    } else {
      messaging::BusOptions bus_options;
      bus_options.logger = options_.logger;
      bus_options.topology = topology;
      bus_options.connection_name = "cloudify-agent-" + options_.name;
      CLOUDIFY_ASSIGN_OR_RETURN(owned_bus_, messaging::OpenBus(options_.bus_url, bus_options));
      bus_ = owned_bus_.get();
    }
    publisher_ = std::make_unique<workflow::EventPublisher>(*bus_);
    std::error_code ec;
    fs::create_directories(options_.work_dir / "tmp", ec);
    if (ec) {
      return Status(ErrorCode::kInternal,
                    "cannot make the work dir " + options_.work_dir.string() + ": " + ec.message());
    }
    if (!options_.node_instance_id.empty()) {
      CLOUDIFY_RETURN_IF_ERROR(Register());
    }
    for (int i = 0; i < options_.max_workers; ++i) {
      threads_.emplace_back([this] { WorkLoop(); });
    }
    const std::string prefix = options_.name + "_";
    CLOUDIFY_ASSIGN_OR_RETURN(
        service_, bus_->Consume(prefix + std::string(messaging::kServiceRoutingKey), {},
                                [this](messaging::Delivery d) { OnService(std::move(d)); }));
    messaging::ConsumeOptions consume;
    // Four times the workers: the tasks whose replies await their confirm still count, and
    // tasks waiting here cost the broker less than tasks waiting in the queue.
    consume.prefetch = static_cast<uint32_t>(options_.max_workers) * 4;
    // Enqueue only hands the task to a worker: no hop through a dispatch thread first.
    consume.dispatch_on_bus_thread = true;
    CLOUDIFY_ASSIGN_OR_RETURN(
        operations_, bus_->Consume(prefix + std::string(messaging::kOperationRoutingKey), consume,
                                   [this](messaging::Delivery d) { Enqueue(std::move(d)); }));
    return Status::Ok();
  }

  void Stop() {
    {
      std::lock_guard lock(mu_);
      if (stopped_) {
        return;
      }
      stopped_ = true;
      // Task messages not started go back to the queue with the subscription below. The rest
      // of a batch begun is run: the batch would go back whole, its answered tasks with it.
      std::erase_if(pending_, [](const Work& work) { return work.batch == nullptr; });
    }
    cv_.notify_all();
    heartbeat_cv_.notify_all();
    for (auto& t : threads_) {
      t.join();
    }
    threads_.clear();
    {
      // Every reply's callback runs (the bus bounds it by its publish timeout), and acks or
      // returns its task before the subscription goes.
      std::unique_lock lock(mu_);
      replies_cv_.wait(lock, [this] { return replies_in_flight_ == 0; });
    }
    if (heartbeat_.joinable()) {
      heartbeat_.join();
      if (Status s = ReportState("stopped"); !s.ok()) {
        Warn("reporting the stop: " + s.ToString());
      }
    }
    // Running operations answered and acked above; now nothing is in flight.
    operations_.reset();
    service_.reset();
    if (publisher_ != nullptr) {
      (void)publisher_->Flush(std::chrono::seconds(5));
    }
  }

  const std::string& name() const { return options_.name; }

  WorkerStats stats() const {
    WorkerStats s;
    s.pings = pings_.load();
    s.operations = answered_.load();
    s.operations_failed = failed_.load();
    s.operations_running = running_.load();
    s.instance_reads = instance_reads_.load();
    return s;
  }

 private:
  void Warn(const std::string& message) {
    if (options_.logger != nullptr) {
      options_.logger->Warning(message, {{"agent", options_.name}});
    }
  }

  void OnService(messaging::Delivery delivery) {
    json body = json::parse(delivery.message().body, nullptr, /*allow_exceptions=*/false);
    std::string task;
    try {
      if (body.is_object()) {
        const json context = body.value("cloudify_task", json::object())
                                 .value("kwargs", json::object())
                                 .value(kContextKey, json::object());
        task = context.is_object() ? context.value("task_name", "") : "";
      }
    } catch (const json::exception&) {
      task.clear();  // malformed: answered as an unknown task
    }
    json reply;
    if (task == "ping") {
      const auto now = std::chrono::system_clock::now().time_since_epoch();
      // Beyond the original: this agent takes batches of tasks (agent_batches.h).
      reply = {{"ok", true},
               {"result",
                {{"time", std::chrono::duration<double>(now).count()},
                 {std::string(workflow::kTaskBatchesKey), true}}}};
      ++pings_;
    } else {
      reply = ErrorReply("NonRecoverableError", "unknown service task '" + task + "'");
    }
    if (!delivery.message().reply_to.empty()) {
      messaging::Message m;
      m.body = reply.dump();
      m.persistent = false;
      if (Status s = bus_->Reply(delivery, std::move(m)); !s.ok()) {
        Warn("answering service task '" + task + "': " + s.ToString());
      }
    }
    (void)delivery.Ack();
  }

  void Enqueue(messaging::Delivery delivery) {
    {
      std::lock_guard lock(mu_);
      if (stopped_) {
        return;  // not acked: back to the queue when the subscription goes
      }
      pending_.push_back({std::move(delivery), std::nullopt, nullptr});
    }
    cv_.notify_one();
  }

  // The tasks of one batch message (agent_batches.h) still unanswered, and whether a reply
  // failed: the message is settled when none is left.
  struct BatchProgress {
    explicit BatchProgress(size_t tasks) : unanswered(tasks) {}
    std::atomic<size_t> unanswered;
    std::atomic<bool> failed{false};
  };
  // What a worker takes: a task message, or one task of a batch message, parsed.
  struct Work {
    messaging::Delivery delivery;
    std::optional<json> task;
    std::shared_ptr<BatchProgress> batch;
  };

  // REST clients of one worker thread, by tenant and credentials: each keeps its keep-alive
  // connection across operations.
  using ClientCache = std::map<std::string, std::unique_ptr<client::RestClient>>;

  void WorkLoop() {
    ClientCache clients;
    while (true) {
      Work work;
      {
        std::unique_lock lock(mu_);
        cv_.wait(lock, [this] { return stopped_ || !pending_.empty(); });
        if (pending_.empty()) {
          return;  // stopped, and no task of a batch begun is left
        }
        work = std::move(pending_.front());
        pending_.pop_front();
        ++running_;
      }
      Run(std::move(work), clients);
      --running_;
    }
  }

  // Runs a task message, or the first task of a batch message after handing the others to the
  // other workers.
  void Run(Work work, ClientCache& clients) {
    json body = work.task ? std::move(*work.task)
                          : json::parse(work.delivery.message().body, nullptr,
                                        /*allow_exceptions=*/false);
    if (body.is_array() && work.batch == nullptr) {
      if (body.empty()) {
        (void)work.delivery.Ack();  // nothing asked
        return;
      }
      work.batch = std::make_shared<BatchProgress>(body.size());
      {
        std::lock_guard lock(mu_);
        for (size_t i = body.size() - 1; i >= 1; --i) {
          pending_.push_front({work.delivery, std::move(body[i]), work.batch});
        }
      }
      cv_.notify_all();
      body = json(std::move(body[0]));
    }
    RunTask(work, std::move(body), clients);
  }

  // Runs one operation task and answers it; acks only once the answer is confirmed.
  void RunTask(const Work& work, json body, ClientCache& clients) {
    // From the broker: a key of the wrong type is no batch, never a throw.
    const auto batches = body.is_object() ? body.find(workflow::kReplyBatchesKey) : body.end();
    const bool batchable =
        body.is_object() && batches != body.end() && batches->is_boolean() && batches->get<bool>();
    // A task of a batch names itself; one alone is named by its message, as the original's.
    std::string correlation_id = work.delivery.message().correlation_id;
    if (work.batch != nullptr) {
      auto id = body.is_object() ? body.find("id") : body.end();
      correlation_id = body.is_object() && id != body.end() && id->is_string()
                           ? id->get<std::string>()
                           : std::string();
    }
    json reply;
    if (!body.is_object()) {
      reply = ErrorReply("NonRecoverableError", "malformed task: not a JSON object");
    } else {
      // The task comes from the broker: a field of the wrong type is a malformed task, not a
      // crash of the agent.
      try {
        json task = TakeMember(body, "cloudify_task");
        json kwargs = TakeMember(task, "kwargs");
        reply = RunOperation(kwargs.is_object() ? std::move(kwargs) : json::object(), clients);
      } catch (const json::exception& e) {
        reply = ErrorReply("NonRecoverableError", std::string("malformed task: ") + e.what());
      }
    }
    if (!reply.value("ok", false)) {
      ++failed_;
    }
    // The operation's logs go out before its reply, so they are queued when the manager
    // learns that it ended.
    publisher_->Send();
    {
      std::lock_guard lock(mu_);
      ++replies_in_flight_;
    }
    ++answered_;
    if (work.delivery.message().reply_to.empty() ||
        (work.batch != nullptr && correlation_id.empty())) {
      Warn("task without reply_to or id: its outcome is dropped");
      Settle(work, Status::Ok());
      return;
    }
    // The worker goes on to the next task while the broker confirms the reply; the task is
    // acked then, on the bus's thread.
    messaging::Message m;
    m.body = reply.dump(-1, ' ', false, json::error_handler_t::replace);
    m.correlation_id = std::move(correlation_id);
    replies_.Publish(options_.name, work.delivery.message().reply_to, std::move(m), batchable,
                     [this, delivery = work.delivery, batch = work.batch](Status sent) {
                       Settle({delivery, std::nullopt, batch}, sent);
                     });
  }

  // A task's reply was resolved: its message is acked (a batch's once every task in it is), or,
  // when a reply was not sent, left to the broker, which gives it to the next agent of this
  // name.
  void Settle(const Work& work, const Status& sent) {
    if (!sent.ok()) {
      --answered_;
      Warn("sending a reply: " + sent.ToString());
    }
    if (work.batch == nullptr) {
      (void)(sent.ok() ? work.delivery.Ack() : work.delivery.Nack(/*requeue=*/true));
    } else {
      if (!sent.ok()) {
        work.batch->failed = true;
      }
      if (--work.batch->unanswered == 0) {
        (void)(work.batch->failed ? work.delivery.Nack(/*requeue=*/true) : work.delivery.Ack());
      }
    }
    // Notified under the lock: once it is released, Stop may return and the worker go.
    std::lock_guard lock(mu_);
    --replies_in_flight_;
    replies_cv_.notify_all();
  }

  json RunOperation(json kwargs, ClientCache& clients) {
    const json context = TakeMember(kwargs, kContextKey);
    kwargs.erase(kContextKey);
    if (!context.is_object()) {
      return ErrorReply("NonRecoverableError", "task without __cloudify_context");
    }
    auto rest_options = RestOptions(options_, context);
    if (!rest_options.ok()) {
      return ErrorReply("NonRecoverableError", rest_options.status().ToString());
    }
    const std::string client_key = rest_options->tenant + "\n" + rest_options->token + "\n" +
                                   rest_options->username + "\n" + rest_options->password;
    std::unique_ptr<client::RestClient>& cached = clients[client_key];
    if (cached == nullptr) {
      auto created = client::RestClient::Create(*rest_options);
      if (!created.ok()) {
        clients.erase(client_key);
        return ErrorReply("NonRecoverableError", created.status().ToString());
      }
      cached = std::move(*created);
    }
    client::RestClient* rest = cached.get();

    model::Event base;
    base.kind = model::EventKind::kLog;
    base.logger = "ctx";
    base.blueprint_id = context.value("blueprint_id", "");
    base.deployment_id = context.value("deployment_id", "");
    base.deployment_display_name = context.value("deployment_display_name", "");
    base.execution_id = context.value("execution_id", "");
    base.workflow_id = context.value("workflow_id", "");
    base.node_instance_id = context.value("node_id", "");
    base.node_name = context.value("node_name", "");
    base.operation = context.value("operation", json::object()).value("name", "");
    base.tenant_name = rest_options->tenant;
    base.agent_name = options_.name;
    ExecutionLogger logger(*publisher_, std::move(base));

    AgentContext ctx(context, std::move(kwargs), logger);
    ctx.rest = rest;
    // REST failures here are the manager's or the network's: retried by the manager.
    auto self = InstanceOf(*rest, context);
    if (!self.ok()) {
      return ErrorReply("RecoverableError",
                        "reading the node instance: " + self.status().ToString());
    }
    ctx.self = std::move(*self);
    const auto related = context.find("related");
    if (related != context.end() && related->is_object() &&
        !model::StringAt(*related, "node_id").empty()) {
      auto other = InstanceOf(*rest, *related);
      if (!other.ok()) {
        return ErrorReply("RecoverableError",
                          "reading the related node instance: " + other.status().ToString());
      }
      ctx.other = std::move(*other);
    }

    model::OperationSpec spec;
    spec.plugin = context.value("plugin", json::object()).value("name", "");
    spec.operation = context.value("task_name", "");
    spec.implementation = context.value("implementation", "");
    const std::string handler_name =
        spec.plugin.empty() ? spec.implementation : spec.plugin + "." + spec.operation;
    const workflow::OperationHandler* handler =
        options_.operations != nullptr ? options_.operations->Find(handler_name) : nullptr;
    try {
      if (handler != nullptr) {
        (*handler)(ctx);
      } else if (workflow::IsScriptOperation(spec)) {
        RunScript(*rest, ctx);
      } else {
        ctx.Fail("agent " + options_.name + " has no handler for '" + handler_name + "'", false);
      }
    } catch (const std::exception& e) {
      ctx.Fail(e.what(), /*recoverable=*/true);
    } catch (...) {
      ctx.Fail("unknown exception", /*recoverable=*/true);
    }

    // Runtime properties go back with the version read, so a concurrent writer is a conflict.
    // The reply names the instances written: the manager reads those again, and only those.
    json written = json::array();
    for (RemoteInstance* view : {ctx.self.get(), ctx.other.get()}) {
      if (view == nullptr || !view->changed()) {
        continue;
      }
      json patch = {{"version", view->instance().version},
                    {"runtime_properties", view->instance().runtime_properties}};
      auto stored = rest->Patch("/node-instances/" + view->id(), patch);
      if (!stored.ok()) {
        return ErrorReply("RecoverableError", "storing runtime properties of " + view->id() + ": " +
                                                  stored.status().ToString());
      }
      written.push_back(view->id());
    }
    if (!ctx.error.is_null()) {
      return {{"ok", false}, {"error", ctx.error}, {"written", std::move(written)}};
    }
    return {{"ok", true}, {"result", ctx.result}, {"written", std::move(written)}};
  }

  // The instance named by holder's node_id: as the task carries it, else read from the manager.
  Result<std::unique_ptr<RemoteInstance>> InstanceOf(client::RestClient& rest, const json& holder) {
    CLOUDIFY_ASSIGN_OR_RETURN(std::unique_ptr<RemoteInstance> carried, CarriedInstance(holder));
    if (carried != nullptr) {
      return carried;
    }
    ++instance_reads_;
    return FetchInstance(rest, holder.value("node_id", ""));
  }

  void RunScript(client::RestClient& rest, AgentContext& ctx) {
    auto blueprint = BlueprintDir(rest, ctx.tenant(), ctx.blueprint_id());
    if (!blueprint.ok()) {
      ctx.Fail("fetching blueprint '" + ctx.blueprint_id() + "': " + blueprint.status().ToString(),
               /*recoverable=*/true);
      return;
    }
    workflow::ScriptOptions scripts;
    scripts.ctx_dir = options_.ctx_dir;
    scripts.work_root = options_.work_dir / "tmp";
    scripts.fetch_url = [](const std::string& url) { return client::FetchUrl(url); };
    const fs::path dir = *blueprint;
    scripts.blueprint_dir = [dir](const std::string&, const std::string&) -> Result<fs::path> {
      return dir;
    };
    workflow::RunScriptOperation(ctx, scripts);
  }

  // The blueprint's files, downloaded once per (tenant, blueprint) and kept under the work dir.
  Result<fs::path> BlueprintDir(client::RestClient& rest, const std::string& tenant,
                                const std::string& blueprint_id) {
    if (blueprint_id.empty() || blueprint_id.find('/') != std::string::npos ||
        blueprint_id == "." || blueprint_id == ".." || tenant.find('/') != std::string::npos ||
        tenant == "." || tenant == "..") {
      return Status(ErrorCode::kBadParameters, "bad blueprint id '" + blueprint_id + "'");
    }
    // Keyed by the upload time too: a blueprint deleted and uploaded again under its id is
    // another blueprint, whose files the cache must not stand in for.
    CLOUDIFY_ASSIGN_OR_RETURN(
        json blueprint, rest.Get("/blueprints/" + blueprint_id, {{"_include", "id,created_at"}}));
    std::string uploaded = blueprint.is_object() ? blueprint.value("created_at", "") : "";
    for (char& c : uploaded) {
      c = std::isalnum(static_cast<unsigned char>(c)) != 0 ? c : '-';
    }
    const fs::path root = options_.work_dir / "blueprints" / (tenant.empty() ? "_" : tenant);
    const fs::path dir = root / (blueprint_id + "@" + uploaded);
    std::lock_guard lock(blueprints_mu_);
    std::error_code ec;
    if (fs::is_directory(dir, ec)) {
      return dir;
    }
    CLOUDIFY_ASSIGN_OR_RETURN(std::string archive,
                              rest.Download("/blueprints/" + blueprint_id + "/archive"));
    fs::create_directories(root, ec);
    const fs::path staging = root / (".download-" + NewUuid());
    auto top = ExtractArchive(archive, staging, {.require_single_top_dir = true});
    if (!top.ok()) {
      fs::remove_all(staging, ec);
      return top.status();
    }
    fs::rename(*top, dir, ec);
    fs::remove_all(staging, ec);
    if (ec) {
      return Status(ErrorCode::kInternal, "keeping blueprint '" + blueprint_id + "' under " +
                                              root.string() + ": " + ec.message());
    }
    return dir;
  }

  // The agents table: registration at start, then a state report per heartbeat.
  Status Register() {
    client::ClientOptions rest;
    CLOUDIFY_ASSIGN_OR_RETURN(rest, RestOptions(options_, json::object()));
    if (rest.token.empty() && rest.username.empty()) {
      return Status(ErrorCode::kBadParameters,
                    "registering agent " + options_.name +
                        " needs REST credentials (a token, or a username and password)");
    }
    CLOUDIFY_ASSIGN_OR_RETURN(registry_, client::RestClient::Create(rest));
    json body = {{"node_instance_id", options_.node_instance_id},
                 {"state", "started"},
                 {"ip", options_.ip},
                 {"install_method", options_.install_method},
                 {"system", "linux"},
                 {"version", std::string(kVersion)},
                 {"rabbitmq_exchange", options_.name}};
    auto registered = registry_->Put("/agents/" + options_.name, body);
    if (!registered.ok()) {
      return Status(registered.status().code(),
                    "registering agent " + options_.name + ": " + registered.status().message());
    }
    // Registered before (a restart): this start is reported.
    if (registered->value("state", "") != "started") {
      CLOUDIFY_RETURN_IF_ERROR(ReportState("started"));
    }
    heartbeat_ = std::thread([this] {
      std::unique_lock lock(mu_);
      while (
          !heartbeat_cv_.wait_for(lock, options_.heartbeat_interval, [this] { return stopped_; })) {
        lock.unlock();
        if (Status s = ReportState("started"); !s.ok()) {
          Warn("heartbeat: " + s.ToString());
        }
        lock.lock();
      }
    });
    return Status::Ok();
  }

  Status ReportState(const std::string& state) {
    auto reported = registry_->Patch("/agents/" + options_.name, {{"state", state}});
    return reported.ok() ? Status::Ok() : reported.status();
  }

  WorkerOptions options_;
  std::unique_ptr<client::RestClient> registry_;  // when registered
  std::thread heartbeat_;
  std::unique_ptr<messaging::Bus> owned_bus_;
  messaging::Bus* bus_ = nullptr;
  std::unique_ptr<workflow::EventPublisher> publisher_;
  std::unique_ptr<messaging::Subscription> service_;
  std::unique_ptr<messaging::Subscription> operations_;

  std::mutex mu_;                       // guards pending_, stopped_ and replies_in_flight_
  std::condition_variable cv_;          // a task is pending, or stopped_
  std::condition_variable replies_cv_;  // a reply's publish was resolved
  int replies_in_flight_ = 0;
  // Replies, in batches to managers that take them.
  messaging::CoalescingPublisher replies_{
      [this](const std::string& exchange, const std::string& routing_key, messaging::Message m,
             messaging::PublishCallback done) {
        bus_->PublishAsync(exchange, routing_key, std::move(m), std::move(done));
      },
      workflow::CombineReplies};
  // The heartbeat's own: sharing cv_, it could take the one wake-up Enqueue gives a worker,
  // and the task would wait for the next.
  std::condition_variable heartbeat_cv_;
  std::deque<Work> pending_;
  bool stopped_ = false;
  std::vector<std::thread> threads_;

  std::mutex blueprints_mu_;  // one download at a time; the cache is then read
  std::atomic<uint64_t> pings_{0}, answered_{0}, failed_{0}, running_{0}, instance_reads_{0};
};

Result<std::unique_ptr<Worker>> Worker::Start(WorkerOptions options) {
  auto impl = std::make_unique<Impl>(std::move(options));
  CLOUDIFY_RETURN_IF_ERROR(impl->Start());
  return std::unique_ptr<Worker>(new Worker(std::move(impl)));
}

Worker::Worker(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}
Worker::~Worker() = default;
void Worker::Stop() { impl_->Stop(); }
const std::string& Worker::name() const { return impl_->name(); }
WorkerStats Worker::stats() const { return impl_->stats(); }

}  // namespace cloudify::agent
