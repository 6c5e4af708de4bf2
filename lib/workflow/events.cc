#include "cloudify/workflow/events.h"

#include <algorithm>
#include <vector>

#include "cloudify/messaging/topology.h"
#include "cloudify/model/json.h"

#include "workflow/queue_writer.h"

namespace cloudify::workflow {
namespace {

using nlohmann::json;

using model::StringAt;
using model::StringOrNull;

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
  const std::string type = StringAt(m, "type");
  if (!type.empty()) {
    auto kind = model::ParseEventKind(type);
    if (!kind) {
      return BadParametersError("unknown event message type '" + type + "'");
    }
    e.kind = *kind;
  } else {
    e.kind = m.contains("event_type") ? model::EventKind::kEvent : model::EventKind::kLog;
  }
  e.message = StringAt(m["message"], "text");
  if (e.kind == model::EventKind::kEvent) {
    e.event_type = StringAt(m, "event_type");
    if (e.event_type.empty()) {
      return BadParametersError("event message without event_type");
    }
  } else {
    e.logger = StringAt(m, "logger");
    e.level = ParseLogLevel(StringAt(m, "level")).value_or(LogLevel::kInfo);
  }
  for (const char* key : {"reported_timestamp", "timestamp"}) {
    if (auto t = ParseTimestamp(StringAt(m, key)); t.ok()) {
      e.reported_timestamp = *t;
      break;
    }
  }
  static const json kNoContext = json::object();
  auto found = m.find("context");
  const json& context = found != m.end() ? *found : kNoContext;
  if (context.is_object()) {
    e.blueprint_id = StringAt(context, "blueprint_id");
    e.deployment_id = StringAt(context, "deployment_id");
    e.deployment_display_name = StringAt(context, "deployment_display_name");
    e.execution_id = StringAt(context, "execution_id");
    e.execution_group_id = StringAt(context, "execution_group_id");
    e.workflow_id = StringAt(context, "workflow_id");
    e.node_instance_id = StringAt(context, "node_id");
    e.node_name = StringAt(context, "node_name");
    e.operation = StringAt(context, "operation");
    e.source_id = StringAt(context, "source_id");
    e.target_id = StringAt(context, "target_id");
    e.tenant_name = StringAt(context, "tenant_name");
    e.manager_name = StringAt(context, "manager_name");
    e.agent_name = StringAt(context, "agent_name");
    if (auto it = context.find("task_error_causes"); it != context.end()) {
      e.error_causes = *it;
    }
  }
  return e;
}

Result<std::vector<model::Event>> EventsFromMessage(const json& body) {
  std::vector<model::Event> out;
  if (!body.is_array()) {
    CLOUDIFY_ASSIGN_OR_RETURN(model::Event e, EventFromMessage(body));
    out.push_back(std::move(e));
    return out;
  }
  out.reserve(body.size());
  for (const json& item : body) {
    CLOUDIFY_ASSIGN_OR_RETURN(model::Event e, EventFromMessage(item));
    out.push_back(std::move(e));
  }
  return out;
}

EventPublisher::EventPublisher(messaging::Bus& bus, EventPublisherOptions options)
    : bus_(bus), options_(options) {
  if (options_.max_batch > 1) {
    sender_ = std::thread([this] { SendLoop(); });
  }
}

EventPublisher::~EventPublisher() {
  {
    std::lock_guard lock(mu_);
    stopping_ = true;
  }
  cv_.notify_all();
  if (sender_.joinable()) {
    sender_.join();
  }
  Send();
}

void EventPublisher::Publish(const model::Event& event) {
  Pending item{event.kind == model::EventKind::kEvent, EventToMessage(event).dump()};
  bool full = false;
  {
    std::lock_guard lock(mu_);
    pending_.push_back(std::move(item));
    if (pending_.size() == 1) {
      deadline_ = std::chrono::steady_clock::now() + options_.linger;
      cv_.notify_all();
    }
    full = pending_.size() >= options_.max_batch || !sender_.joinable();
  }
  if (full) {
    Send();
  }
}

void EventPublisher::Send() {
  std::lock_guard send_lock(send_mu_);
  std::vector<Pending> taken;
  {
    std::lock_guard lock(mu_);
    taken.swap(pending_);
  }
  // Both exchanges feed the logs-events queue, where each item says what it is: a batch of
  // logs goes to the logs exchange, one with any event to the events exchange.
  for (size_t first = 0; first < taken.size();) {
    const size_t end = std::min(taken.size(), first + std::max<size_t>(1, options_.max_batch));
    bool is_event = false;
    for (size_t i = first; i < end; ++i) {
      is_event = is_event || taken[i].is_event;
    }
    messaging::Message message;
    if (end - first == 1) {
      message.body = std::move(taken[first].message);  // alone: the original's shape
    } else {
      message.body.reserve((taken[first].message.size() + 1) * (end - first) + 2);
      message.body = "[";
      for (size_t i = first; i < end; ++i) {
        message.body += i == first ? "" : ",";
        message.body += taken[i].message;
      }
      message.body += "]";
    }
    bus_.PublishAsync(is_event ? messaging::kEventsExchange : messaging::kLogsExchange,
                      is_event ? messaging::kEventsRoutingKey : "", std::move(message),
                      [failures = failures_](Status s) {
                        if (!s.ok()) {
                          ++*failures;
                        }
                      });
    first = end;
  }
}

void EventPublisher::SendLoop() {
  std::unique_lock lock(mu_);
  while (!stopping_) {
    if (pending_.empty()) {
      cv_.wait(lock, [&] { return stopping_ || !pending_.empty(); });
      continue;
    }
    if (cv_.wait_until(lock, deadline_, [&] { return stopping_; })) {
      break;
    }
    if (!pending_.empty() && std::chrono::steady_clock::now() >= deadline_) {
      lock.unlock();
      Send();
      lock.lock();
    }
  }
}

Status EventPublisher::Flush(std::chrono::milliseconds timeout) {
  Send();
  return bus_.WaitForConfirms(timeout);
}

class EventWriter::Impl : public QueueWriter<model::Event> {
 public:
  using QueueWriter::QueueWriter;
};

EventWriter::EventWriter(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}
EventWriter::~EventWriter() { impl_->Stop(); }

Result<std::unique_ptr<EventWriter>> EventWriter::Start(messaging::Bus& bus, storage::Store& store,
                                                        EventWriterOptions options) {
  QueueWriterSpec<model::Event> spec;
  spec.queue = std::string(messaging::kLogsEventsQueue);
  spec.sync_exchange = std::string(messaging::kLogsExchange);
  spec.parse = EventsFromMessage;
  spec.store = [&store](std::vector<model::Event>& events) {
    const Timestamp now = SystemClock().Now();
    for (auto& e : events) {
      e.timestamp = now;
    }
    return store.AppendEvents(storage::CallerContext::System(), events).status();
  };
  spec.what = "events";
  spec.max_batch = options.max_batch;
  spec.max_delay = options.max_delay;
  auto impl = std::make_unique<Impl>(bus, std::move(spec));
  CLOUDIFY_RETURN_IF_ERROR(impl->Start());
  return std::unique_ptr<EventWriter>(new EventWriter(std::move(impl)));
}

Status EventWriter::Sync(std::chrono::milliseconds timeout) { return impl_->Sync(timeout); }
uint64_t EventWriter::stored() const { return impl_->stored(); }
uint64_t EventWriter::store_failures() const { return impl_->failures(); }

}  // namespace cloudify::workflow
