#include "cloudify/workflow/events.h"

#include <condition_variable>
#include <mutex>
#include <set>
#include <thread>
#include <vector>

#include "cloudify/ids.h"
#include "cloudify/messaging/topology.h"
#include "cloudify/model/json.h"

namespace cloudify::workflow {
namespace {

using nlohmann::json;

// Marks a Sync() request travelling behind the events it waits for.
constexpr std::string_view kSyncContentType = "application/x-cloudify-event-sync";

using model::StringOrNull;

std::string StringField(const json& object, const char* key) {
  auto it = object.find(key);
  return it != object.end() && it->is_string() ? it->get<std::string>() : std::string();
}

}  // namespace

json EventToMessage(const model::Event& e) {
  json context = {
      {"blueprint_id", StringOrNull(e.blueprint_id)},
      {"deployment_id", StringOrNull(e.deployment_id)},
      {"deployment_display_name", StringOrNull(e.deployment_display_name)},
      {"execution_id", StringOrNull(e.execution_id)},
      {"execution_group_id", StringOrNull(e.execution_group_id)},
      {"workflow_id", StringOrNull(e.workflow_id)},
      {"node_id", StringOrNull(e.node_instance_id)},  // the original's name for the instance
      {"node_name", StringOrNull(e.node_name)},
      {"operation", StringOrNull(e.operation)},
      {"source_id", StringOrNull(e.source_id)},
      {"target_id", StringOrNull(e.target_id)},
      {"task_error_causes", e.error_causes},
      {"tenant_name", StringOrNull(e.tenant_name)},
      {"manager_name", StringOrNull(e.manager_name)},
      {"agent_name", StringOrNull(e.agent_name)},
  };
  std::string reported = FormatTimestamp(e.reported_timestamp);
  json out = {{"type", std::string(model::EventKindName(e.kind))},
              {"message", {{"text", e.message}, {"arguments", nullptr}}},
              {"context", std::move(context)},
              {"timestamp", reported},
              {"reported_timestamp", std::move(reported)}};
  if (e.kind == model::EventKind::kEvent) {
    out["event_type"] = e.event_type;
  } else {
    out["logger"] = e.logger;
    out["level"] = std::string(LogLevelName(e.level));
  }
  return out;
}

Result<model::Event> EventFromMessage(const json& m) {
  if (!m.is_object() || !m.contains("message") || !m["message"].is_object()) {
    return BadParametersError("not an event message: no message object");
  }
  model::Event e;
  const std::string type = StringField(m, "type");
  if (!type.empty()) {
    auto kind = model::ParseEventKind(type);
    if (!kind) {
      return BadParametersError("unknown event message type '" + type + "'");
    }
    e.kind = *kind;
  } else {
    e.kind = m.contains("event_type") ? model::EventKind::kEvent : model::EventKind::kLog;
  }
  e.message = StringField(m["message"], "text");
  if (e.kind == model::EventKind::kEvent) {
    e.event_type = StringField(m, "event_type");
    if (e.event_type.empty()) {
      return BadParametersError("event message without event_type");
    }
  } else {
    e.logger = StringField(m, "logger");
    e.level = ParseLogLevel(StringField(m, "level")).value_or(LogLevel::kInfo);
  }
  for (const char* key : {"reported_timestamp", "timestamp"}) {
    if (auto t = ParseTimestamp(StringField(m, key)); t.ok()) {
      e.reported_timestamp = *t;
      break;
    }
  }
  static const json kNoContext = json::object();
  auto found = m.find("context");
  const json& context = found != m.end() ? *found : kNoContext;
  if (context.is_object()) {
    e.blueprint_id = StringField(context, "blueprint_id");
    e.deployment_id = StringField(context, "deployment_id");
    e.deployment_display_name = StringField(context, "deployment_display_name");
    e.execution_id = StringField(context, "execution_id");
    e.execution_group_id = StringField(context, "execution_group_id");
    e.workflow_id = StringField(context, "workflow_id");
    e.node_instance_id = StringField(context, "node_id");
    e.node_name = StringField(context, "node_name");
    e.operation = StringField(context, "operation");
    e.source_id = StringField(context, "source_id");
    e.target_id = StringField(context, "target_id");
    e.tenant_name = StringField(context, "tenant_name");
    e.manager_name = StringField(context, "manager_name");
    e.agent_name = StringField(context, "agent_name");
    if (auto it = context.find("task_error_causes"); it != context.end()) {
      e.error_causes = *it;
    }
  }
  return e;
}

void EventPublisher::Publish(const model::Event& event) {
  messaging::Message message;
  message.body = EventToMessage(event).dump();
  const bool is_event = event.kind == model::EventKind::kEvent;
  bus_.PublishAsync(is_event ? messaging::kEventsExchange : messaging::kLogsExchange,
                    is_event ? messaging::kEventsRoutingKey : "", std::move(message),
                    [this](Status s) {
                      if (!s.ok()) {
                        ++failures_;
                      }
                    });
}

Status EventPublisher::Flush(std::chrono::milliseconds timeout) {
  return bus_.WaitForConfirms(timeout);
}

class EventWriter::Impl {
 public:
  Impl(messaging::Bus& bus, storage::Store& store, EventWriterOptions options)
      : bus_(bus), store_(store), options_(options) {}

  Status Start() {
    messaging::ConsumeOptions consume;
    consume.prefetch = static_cast<uint32_t>(options_.max_batch * 2);
    auto sub = bus_.Consume(messaging::kLogsEventsQueue, consume,
                            [this](messaging::Delivery d) { OnDelivery(std::move(d)); });
    if (!sub.ok()) {
      return sub.status().WithContext("event writer");
    }
    subscription_ = std::move(*sub);
    flusher_ = std::thread([this] { FlushLoop(); });
    return Status::Ok();
  }

  void Stop() {
    {
      std::lock_guard lock(mu_);
      FlushLocked();
      stopping_ = true;  // from here on nothing is stored: it would go back to the queue too
    }
    cv_.notify_all();
    if (flusher_.joinable()) {
      flusher_.join();
    }
    subscription_.reset();  // no more deliveries; unacked ones go back to the queue
    std::lock_guard lock(mu_);
    events_.clear();
    deliveries_.clear();
  }

  Status Sync(std::chrono::milliseconds timeout) {
    const std::string id = NewUuid();
    messaging::Message marker;
    marker.content_type = std::string(kSyncContentType);
    marker.correlation_id = id;
    marker.persistent = false;
    CLOUDIFY_RETURN_IF_ERROR(bus_.Publish(messaging::kLogsExchange, "", std::move(marker)));
    std::unique_lock lock(mu_);
    if (!cv_.wait_for(lock, timeout, [&] { return synced_.count(id) != 0; })) {
      return Status(ErrorCode::kUnavailable, "events were not stored within the timeout");
    }
    synced_.erase(id);
    return Status::Ok();
  }

  uint64_t stored() const {
    std::lock_guard lock(mu_);
    return stored_;
  }
  uint64_t failures() const {
    std::lock_guard lock(mu_);
    return failures_;
  }

 private:
  void OnDelivery(messaging::Delivery delivery) {
    std::lock_guard lock(mu_);
    if (delivery.message().content_type == kSyncContentType) {
      if (!stopping_) {
        FlushLocked();
      }
      (void)delivery.Ack();
      synced_.insert(delivery.message().correlation_id);
      cv_.notify_all();
      return;
    }
    json body = json::parse(delivery.message().body, nullptr, /*allow_exceptions=*/false);
    auto event = EventFromMessage(body);
    if (!event.ok()) {
      (void)delivery.Nack(/*requeue=*/false);  // a malformed message would come back for ever
      return;
    }
    events_.push_back(std::move(*event));
    deliveries_.push_back(std::move(delivery));
    if (stopping_) {
      return;  // requeued when the subscription goes
    }
    if (events_.size() >= options_.max_batch) {
      FlushLocked();
    } else if (events_.size() == 1) {
      deadline_ = std::chrono::steady_clock::now() + options_.max_delay;
      cv_.notify_all();
    }
  }

  void FlushLocked() {
    if (events_.empty()) {
      return;
    }
    const Timestamp now = SystemClock().Now();
    for (auto& e : events_) {
      e.timestamp = now;
    }
    auto stored = store_.AppendEvents(storage::CallerContext::System(), events_);
    for (const auto& d : deliveries_) {
      // Acked only after the commit: a crash before it means redelivery, never loss.
      (void)(stored.ok() ? d.Ack() : d.Nack(/*requeue=*/true));
    }
    if (stored.ok()) {
      stored_ += events_.size();
    } else {
      ++failures_;
    }
    events_.clear();
    deliveries_.clear();
  }

  void FlushLoop() {
    std::unique_lock lock(mu_);
    while (!stopping_) {
      if (events_.empty()) {
        cv_.wait(lock, [&] { return stopping_ || !events_.empty(); });
        continue;
      }
      if (cv_.wait_until(lock, deadline_, [&] { return stopping_; })) {
        break;
      }
      if (std::chrono::steady_clock::now() >= deadline_) {
        FlushLocked();
      }
    }
  }

  messaging::Bus& bus_;
  storage::Store& store_;
  const EventWriterOptions options_;
  std::unique_ptr<messaging::Subscription> subscription_;
  std::thread flusher_;
  mutable std::mutex mu_;
  std::condition_variable cv_;
  std::vector<model::Event> events_;
  std::vector<messaging::Delivery> deliveries_;
  std::chrono::steady_clock::time_point deadline_;
  std::set<std::string> synced_;
  uint64_t stored_ = 0;
  uint64_t failures_ = 0;
  bool stopping_ = false;
};

EventWriter::EventWriter(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}
EventWriter::~EventWriter() { impl_->Stop(); }

Result<std::unique_ptr<EventWriter>> EventWriter::Start(messaging::Bus& bus, storage::Store& store,
                                                        EventWriterOptions options) {
  auto impl = std::make_unique<Impl>(bus, store, options);
  CLOUDIFY_RETURN_IF_ERROR(impl->Start());
  return std::unique_ptr<EventWriter>(new EventWriter(std::move(impl)));
}

Status EventWriter::Sync(std::chrono::milliseconds timeout) { return impl_->Sync(timeout); }
uint64_t EventWriter::stored() const { return impl_->stored(); }
uint64_t EventWriter::store_failures() const { return impl_->failures(); }

}  // namespace cloudify::workflow
