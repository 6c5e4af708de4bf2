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
#include <condition_variable>
#include <cstddef>
#include <memory>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

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
// A body holding one such message, or (from a batching EventPublisher) an array of them.
// kBadParameters naming the first malformed one.
Result<std::vector<model::Event>> EventsFromMessage(const nlohmann::json& body);

struct EventPublisherOptions {
  // Events published close together go to the broker as one message whose body is a JSON
  // array of the messages above (beyond the original, which sends one message each: a
  // persistent, confirmed message per event costs the broker more than the event's own work).
  // A batch leaves when this many wait, or when the first of them has waited `linger`; it goes
  // to the events exchange when it holds an event, else to the logs exchange (both feed the
  // logs-events queue, in publish order). Default: 256 and 2 ms; 1 sends each event as it
  // comes, alone, to its own exchange.
  size_t max_batch = 256;
  std::chrono::microseconds linger{2000};
};

class EventPublisher {
 public:
  // The bus must outlive the publisher and have the management topology declared.
  explicit EventPublisher(messaging::Bus& bus, EventPublisherOptions options = {});
  // Sends what waits.
  ~EventPublisher();
  EventPublisher(const EventPublisher&) = delete;
  EventPublisher& operator=(const EventPublisher&) = delete;

  // Queues the event to be sent without waiting; failures are counted (see failures()).
  void Publish(const model::Event& event);
  // Hands what waits to the bus now, without waiting for the broker: a message published on
  // the same bus after this call reaches the broker after these events.
  void Send();
  // Send()s, then waits until every event published so far is confirmed by the broker.
  Status Flush(std::chrono::milliseconds timeout);
  uint64_t failures() const { return failures_->load(); }

 private:
  struct Pending {
    bool is_event;
    std::string message;  // one event's JSON
  };
  void SendLoop();

  messaging::Bus& bus_;
  const EventPublisherOptions options_;
  // Shared with the publishes' callbacks, which may come after the publisher is gone.
  std::shared_ptr<std::atomic<uint64_t>> failures_ = std::make_shared<std::atomic<uint64_t>>(0);
  std::mutex send_mu_;  // batches go to the bus in the order they were taken
  std::mutex mu_;       // guards pending_, deadline_ and stopping_
  std::condition_variable cv_;
  std::vector<Pending> pending_;
  std::chrono::steady_clock::time_point deadline_;
  bool stopping_ = false;
  std::thread sender_;  // sends a batch when its linger is over
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
