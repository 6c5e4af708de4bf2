// Events and logs of executions on their way to the store, as the original moves them: the
// workflow publishes each one to the broker (events to the events exchange, logs to the logs
// exchange, in the original's raw message shape), and a writer consumes the logs-events queue
// and stores them in batches, acknowledging the messages only after the batch is committed
// (so a crash before the commit means redelivery, not loss).
//
// Thread-safety: EventPublisher and EventWriter may be used from any thread.
#pragma once

#include <atomic>
#include <chrono>
#include <cstddef>
#include <memory>

#include <nlohmann/json.hpp>

#include "cloudify/messaging/bus.h"
#include "cloudify/model/event.h"
#include "cloudify/status.h"
#include "cloudify/storage/store.h"

namespace cloudify::workflow {

// The original's raw event/log message: {"type", "event_type" | "logger"+"level",
// "message": {"text"}, "context": {deployment_id, execution_id, workflow_id, node_id (the node
// instance), node_name, operation, source_id, target_id, task_error_causes, ...},
// "timestamp", "reported_timestamp"}.
nlohmann::json EventToMessage(const model::Event& event);
// kBadParameters for a body that is not such a message.
Result<model::Event> EventFromMessage(const nlohmann::json& message);

class EventPublisher {
 public:
  // The bus must outlive the publisher and have the management topology declared.
  explicit EventPublisher(messaging::Bus& bus) : bus_(bus) {}

  // Sends without waiting; failures are counted (see failures()).
  void Publish(const model::Event& event);
  // Waits until every event published so far is confirmed by the broker.
  Status Flush(std::chrono::milliseconds timeout);
  uint64_t failures() const { return failures_.load(); }

 private:
  messaging::Bus& bus_;
  std::atomic<uint64_t> failures_{0};
};

struct EventWriterOptions {
  // Most events stored in one transaction. Default: 1000.
  size_t max_batch = 1000;
  // A partial batch is stored after waiting this long for more. Default: 50 ms.
  std::chrono::milliseconds max_delay{50};
};

class EventWriter {
 public:
  // Starts consuming the logs-events queue. The bus and the store must outlive the writer.
  static Result<std::unique_ptr<EventWriter>> Start(messaging::Bus& bus, storage::Store& store,
                                                    EventWriterOptions options = {});
  // Stores what it holds, then stops.
  ~EventWriter();
  EventWriter(const EventWriter&) = delete;
  EventWriter& operator=(const EventWriter&) = delete;

  // Waits until every event published (to this bus) before the call is stored.
  // kUnavailable on timeout.
  Status Sync(std::chrono::milliseconds timeout);

  uint64_t stored() const;          // events stored so far
  uint64_t store_failures() const;  // batches the store refused (their messages are requeued)

  class Impl;

 private:
  explicit EventWriter(std::unique_ptr<Impl> impl);
  std::unique_ptr<Impl> impl_;
};

}  // namespace cloudify::workflow
