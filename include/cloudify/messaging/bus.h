// Bus: the message broker interface that moves tasks, task results, events, logs and metrics
// between the manager's parts, as RabbitMQ does for the original.
//
// A Bus is opened from a URL by OpenBus():
//   - "inproc://" a private in-process broker; "inproc://<name>" a broker shared by every Bus
//     opened with that name in this process (it lives while one of them does).
//   - "amqp://user:pass@host:5672/vhost" and "amqps://..." RabbitMQ through librabbitmq-c.
// Both backends share the AMQP 0-9-1 model and these semantics: exchanges (direct, fanout,
// topic) route to queues by routing key; the default exchange "" routes to the queue named by
// the routing key; messages that match no queue are dropped, as in AMQP. Consumers receive
// deliveries with a per-consumer prefetch limit and settle them with Ack() or Nack(requeue);
// deliveries not acked when their consumer goes away (Subscription destroyed, connection lost)
// are redelivered to another consumer with redelivered = true. Publishes are confirmed: a
// publish's callback gets OK once the broker has taken responsibility for the message
// (RabbitMQ publisher confirm; for persistent messages to durable queues, written to disk).
//
// Thread-safety: every Bus and Subscription method may be called from any thread, except the
// blocking calls (Publish, WaitForConfirms, Declare, DeleteQueue, Consume, Request, and
// destroying a Subscription), which must not be called from inside a callback or a handler
// that runs on the bus's own thread (ConsumeOptions::dispatch_on_bus_thread, publish
// callbacks): they return kIllegalAction there instead of deadlocking.
// Ownership: OpenBus returns the only owner of the Bus. Subscriptions must be destroyed before
// the Bus that made them.
#pragma once

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "cloudify/logging.h"
#include "cloudify/status.h"

namespace cloudify::messaging {

enum class ExchangeType { kDirect, kFanout, kTopic };

struct ExchangeSpec {
  // Required; "" is the default exchange, which always exists and cannot be declared.
  std::string name;
  // Default: direct.
  ExchangeType type = ExchangeType::kDirect;
  // Survives a broker restart. Default: true.
  bool durable = true;
  // Deleted when its last binding goes. Default: false.
  bool auto_delete = false;

  bool operator==(const ExchangeSpec&) const = default;
};

struct QueueSpec {
  // Required (no server-named queues).
  std::string name;
  // Survives a broker restart (its persistent messages too). Default: true.
  bool durable = true;
  // Usable only by the connection that declared it, deleted with it. Default: false.
  bool exclusive = false;
  // Deleted when its last consumer goes. Default: false.
  bool auto_delete = false;
  // Of several consumers only the first delivers; the next takes over when it goes, so the
  // queue is consumed in order (RabbitMQ's x-single-active-consumer). Default: false.
  bool single_active_consumer = false;

  bool operator==(const QueueSpec&) const = default;
};

// Routes messages published to `exchange` whose routing key matches `routing_key` (exactly for
// direct exchanges, always for fanout, with the '*' and '#' word patterns for topic) to `queue`.
struct BindingSpec {
  // Required.
  std::string queue;
  // Required.
  std::string exchange;
  // Default: empty (what fanout exchanges ignore anyway).
  std::string routing_key;

  bool operator==(const BindingSpec&) const = default;
};

// A set of exchanges, queues and bindings, declared in that order. Declaring is idempotent; a
// declaration that contradicts an existing one (e.g. another exchange type) is kConflict.
struct Topology {
  // Default: empty, each.
  std::vector<ExchangeSpec> exchanges;
  std::vector<QueueSpec> queues;
  std::vector<BindingSpec> bindings;

  // Appends `other`'s entries.
  void Merge(const Topology& other);
};

// What is published and delivered: the AMQP body and the properties the original uses.
struct Message {
  // The payload, usually JSON. Default: empty.
  std::string body;
  // Default: "application/json".
  std::string content_type = "application/json";
  // Ties a reply to its request (the original uses the task id). Default: empty.
  std::string correlation_id;
  // The queue a reply goes to. Default: empty.
  std::string reply_to;
  // Survives a broker restart when in a durable queue (AMQP delivery mode 2). Default: true.
  bool persistent = true;
  // Dropped by the broker when not consumed within this many milliseconds; 0 is never.
  // Default: 0.
  int64_t expiration_ms = 0;
};

// A received message. Copyable (copies share the message, which is immutable); copies settle
// the same delivery, only the first settlement counts.
class Delivery {
 public:
  // Settles a delivery; implemented by each backend.
  class Settler {
   public:
    virtual ~Settler() = default;
    virtual Status Ack(uint64_t delivery_tag) = 0;
    virtual Status Nack(uint64_t delivery_tag, bool requeue) = 0;
  };

  Delivery() = default;
  Delivery(Message message, std::string exchange, std::string routing_key, bool redelivered,
           uint64_t delivery_tag, std::shared_ptr<Settler> settler)
      : Delivery(std::make_shared<const Message>(std::move(message)), std::move(exchange),
                 std::move(routing_key), redelivered, delivery_tag, std::move(settler)) {}
  Delivery(std::shared_ptr<const Message> message, std::string exchange, std::string routing_key,
           bool redelivered, uint64_t delivery_tag, std::shared_ptr<Settler> settler)
      : message_(std::move(message)),
        exchange_(std::move(exchange)),
        routing_key_(std::move(routing_key)),
        redelivered_(redelivered),
        delivery_tag_(delivery_tag),
        settler_(std::move(settler)) {}

  const Message& message() const { return message_ != nullptr ? *message_ : EmptyMessage(); }
  const std::string& exchange() const { return exchange_; }
  const std::string& routing_key() const { return routing_key_; }
  // True when the broker delivered this message before and it was not acked.
  bool redelivered() const { return redelivered_; }
  uint64_t delivery_tag() const { return delivery_tag_; }

  // Done with the message: the broker forgets it. Call it after the work is done (late ack), so
  // a crash meanwhile leads to redelivery. kUnavailable when the connection that received it
  // was lost (the broker redelivers it), kIllegalAction for an auto-ack subscription or a
  // delivery already settled or whose Subscription is gone.
  Status Ack() const;
  // Rejects the message: back to its queue (redelivered) when `requeue`, else dropped. Errors
  // as Ack().
  Status Nack(bool requeue) const;

 private:
  static const Message& EmptyMessage();

  std::shared_ptr<const Message> message_;
  std::string exchange_;
  std::string routing_key_;
  bool redelivered_ = false;
  uint64_t delivery_tag_ = 0;
  std::shared_ptr<Settler> settler_;
};

// Receives deliveries. Called on the subscription's own thread, one delivery at a time in
// arrival order (or on the bus's thread with ConsumeOptions::dispatch_on_bus_thread).
using DeliveryHandler = std::function<void(Delivery delivery)>;
// Resolves a publish: OK once confirmed; kUnavailable when the broker refused it or it could
// not be confirmed within BusOptions::publish_timeout; kNotFound for a missing exchange.
// Called once, on the bus's own thread (for inproc, before PublishAsync returns).
using PublishCallback = std::function<void(Status status)>;

struct ConsumeOptions {
  // At most this many unacked deliveries at a time for this consumer; 0 is unlimited.
  // Default: 100.
  uint32_t prefetch = 100;
  // The broker counts a message as acked as soon as it is sent (no Ack()/Nack() calls; lost if
  // the consumer dies with it). Default: false.
  bool auto_ack = false;
  // Only this consumer may consume from the queue. Default: false.
  bool exclusive = false;
  // Run the handler on the bus's own thread (inproc: the publishing thread; amqp: the I/O
  // thread) instead of the subscription's thread: lowest latency, but the handler must be
  // quick and must not call blocking Bus functions. Default: false.
  bool dispatch_on_bus_thread = false;
};

// A consumer of one queue. Destroying it stops deliveries (waiting for a running handler to
// return) and returns the deliveries it has not acked to the queue.
class Subscription {
 public:
  virtual ~Subscription() = default;
  virtual const std::string& queue() const = 0;
};

// Counters for tests, benchmarks and monitoring.
struct BusStats {
  uint64_t published = 0;         // publishes confirmed
  uint64_t publish_failures = 0;  // publishes resolved with an error
  uint64_t publish_retries = 0;   // publishes sent again after a connection loss
  uint64_t delivered = 0;         // deliveries handed to handlers
  uint64_t reconnects = 0;        // connections re-established after a loss
};

class Bus {
 public:
  virtual ~Bus() = default;

  // Declares `topology`, and (amqp) declares it again after every reconnect.
  // kConflict for a declaration contradicting an existing one, kBadParameters for an empty
  // name or a binding to a missing exchange or queue (kNotFound), kUnavailable when the broker
  // cannot be reached.
  virtual Status Declare(const Topology& topology) = 0;

  // Deletes a queue and its messages; with `if_empty`, a queue holding messages is kept and
  // the call returns kConflict. A missing queue is OK.
  virtual Status DeleteQueue(std::string_view queue, bool if_empty) = 0;

  // Publishes without waiting; `done` (may be empty) resolves it. Many publishes are in flight
  // at once (BusOptions::max_in_flight). kPayloadTooLarge (through `done`) for a body over
  // BusOptions::max_message_bytes; kNotFound for a missing exchange.
  virtual void PublishAsync(std::string_view exchange, std::string_view routing_key,
                            Message message, PublishCallback done) = 0;

  // PublishAsync and waits for the outcome.
  Status Publish(std::string_view exchange, std::string_view routing_key, Message message);

  // Waits until every publish made so far is resolved. kUnavailable on timeout.
  virtual Status WaitForConfirms(std::chrono::milliseconds timeout) = 0;

  // Starts consuming `queue`. kNotFound for a missing queue, kConflict when an exclusive
  // consumer holds it, kUnavailable when the broker cannot be reached.
  virtual Result<std::unique_ptr<Subscription>> Consume(std::string_view queue,
                                                        ConsumeOptions options,
                                                        DeliveryHandler handler) = 0;

  // Request/reply: publishes `request` with a correlation id (its own, or a new uuid) and
  // reply_to set to this bus's private reply queue, and waits for the reply carrying the same
  // correlation id. kUnavailable on timeout (the original's "Timed out waiting for agent").
  virtual Result<Message> Request(std::string_view exchange, std::string_view routing_key,
                                  Message request, std::chrono::milliseconds timeout) = 0;

  // Answers `request`: publishes `reply` with the request's correlation id to `exchange` (""
  // is the default exchange) with the request's reply_to as routing key, and waits for the
  // confirm. kBadParameters when the request has no reply_to.
  Status Reply(const Delivery& request, Message reply, std::string_view exchange = "");
  // Reply without waiting; `done` (may be empty) resolves it, as PublishAsync's.
  void ReplyAsync(const Delivery& request, Message reply, std::string_view exchange,
                  PublishCallback done);

  virtual BusStats Stats() const = 0;

 protected:
  // True on a thread where a blocking call would deadlock (amqp: the I/O thread).
  virtual bool OnBusThread() const { return false; }
};

struct BusOptions {
  // Library diagnostics (connection loss, reconnects). Default: none (silent).
  std::shared_ptr<Logger> logger;
  // Messages with a larger body are rejected with kPayloadTooLarge. Default: 16 MiB.
  size_t max_message_bytes = size_t{16} << 20;
  // Declared on connect (and again on every reconnect). Default: empty; see topology.h for
  // the manager's.
  Topology topology;

  // The rest applies to amqp:// and amqps:// only.
  // The name the connection shows in RabbitMQ (client property connection_name).
  // Default: empty, meaning "libcloudify-<random>".
  std::string connection_name;
  // AMQP heartbeat; 0 disables. Default: 30 s, as the original.
  std::chrono::seconds heartbeat{30};
  // TCP connect, login and every broker round trip (declare, consume) time out after this.
  // Default: 10 s.
  std::chrono::milliseconds operation_timeout{10'000};
  // Publishes sent and not yet confirmed, at most. Default: 2048.
  uint32_t max_in_flight = 2048;
  // A publish not confirmed this long after PublishAsync fails with kUnavailable. Default: 60 s.
  std::chrono::milliseconds publish_timeout{60'000};
  // After a connection loss, reconnect after this, doubling up to reconnect_max_backoff.
  // Default: 1 s up to 30 s, as the original.
  std::chrono::milliseconds reconnect_initial_backoff{1'000};
  std::chrono::milliseconds reconnect_max_backoff{30'000};
  // amqps: PEM file of the CAs that sign the broker's certificate. Default: empty (the system
  // store is not loaded; verification then fails unless verify_peer is false).
  std::string tls_ca_cert_file;
  // amqps: client certificate and key (PEM) for brokers that require one. Default: empty.
  std::string tls_client_cert_file;
  std::string tls_client_key_file;
  // amqps: check the broker's certificate chain and host name. Default: true.
  bool tls_verify_peer = true;
};

// Opens a Bus for `url` ("inproc://[name]", "amqp://...", "amqps://..."): for amqp, connects,
// logs in and declares options.topology before returning.
// kBadParameters for a malformed URL or unknown scheme; kUnauthorized for rejected
// credentials; kUnavailable when the broker cannot be reached within
// options.operation_timeout (TLS failures included, with the reason).
Result<std::unique_ptr<Bus>> OpenBus(std::string_view url, BusOptions options = {});

}  // namespace cloudify::messaging
