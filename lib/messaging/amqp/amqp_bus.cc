#include "messaging/amqp/amqp_bus.h"

#include <algorithm>
#include <atomic>
#include <condition_variable>
#include <cstring>
#include <deque>
#include <future>
#include <map>
#include <mutex>
#include <set>
#include <string>
#include <thread>
#include <unordered_map>
#include <utility>
#include <vector>

#include <amqp.h>
#include <amqp_ssl_socket.h>
#include <amqp_tcp_socket.h>
#include <poll.h>
#include <sys/eventfd.h>
#include <unistd.h>

#include "cloudify/ids.h"
#include "cloudify/url.h"

#include "messaging/request_client.h"

namespace cloudify::messaging::amqp {
namespace {

using Clock = std::chrono::steady_clock;
using std::chrono::milliseconds;

constexpr amqp_channel_t kPublishChannel = 1;
constexpr amqp_channel_t kControlChannel = 2;
constexpr amqp_channel_t kFirstConsumerChannel = 3;
constexpr amqp_channel_t kMaxChannel = 2047;  // RabbitMQ's default channel_max
constexpr int kFrameMax = 131072;
// Delivery tags handed to callers carry the connection generation in their top bits, so an
// ack for a delivery of a lost connection is recognised and never sent on a new one.
constexpr int kGenerationShift = 40;
constexpr uint64_t kRawTagMask = (uint64_t{1} << kGenerationShift) - 1;

amqp_bytes_t Bytes(std::string_view text) {
  return amqp_bytes_t{text.size(), const_cast<char*>(text.data())};  // NOLINT: librabbitmq's API
}
std::string String(amqp_bytes_t bytes) {
  return std::string(static_cast<const char*>(bytes.bytes), bytes.len);
}
timeval ToTimeval(milliseconds ms) {
  timeval tv{};
  tv.tv_sec = static_cast<time_t>(ms.count() / 1000);
  tv.tv_usec = static_cast<suseconds_t>((ms.count() % 1000) * 1000);
  return tv;
}

std::string RedactedUrl(std::string_view url) {
  auto parsed = ParseUrl(url);
  if (parsed.ok()) {
    return parsed->Redacted();
  }
  // Unparseable: hide everything between the scheme and the last '@'.
  const size_t scheme_end = url.find("://");
  const size_t at = url.rfind('@');
  if (scheme_end == std::string_view::npos || at == std::string_view::npos || at < scheme_end) {
    return std::string(url);
  }
  return std::string(url.substr(0, scheme_end + 3)) + "***" + std::string(url.substr(at));
}

// Maps an AMQP reply code (connection or channel close) to our codes.
ErrorCode CodeForReply(uint16_t reply_code) {
  switch (reply_code) {
    case 404:  // NOT_FOUND
      return ErrorCode::kNotFound;
    case 405:  // RESOURCE_LOCKED (exclusive to another connection)
    case 406:  // PRECONDITION_FAILED (inequivalent arguments, not empty)
      return ErrorCode::kConflict;
    case 403:  // ACCESS_REFUSED
      return ErrorCode::kForbidden;
    case 530:  // NOT_ALLOWED (e.g. no access to the vhost)
      return ErrorCode::kUnauthorized;
    default:
      return ErrorCode::kUnavailable;
  }
}

// A publish waiting to be sent or confirmed.
struct PendingPublish {
  std::string exchange;
  std::string routing_key;
  Message message;
  PublishCallback done;
  Clock::time_point deadline;
  int attempts = 0;
};

// A settlement for the I/O thread to send.
struct Settlement {
  amqp_channel_t channel;
  uint64_t generation;
  uint64_t raw_tag;
  enum Kind { kAck, kRequeue, kDrop } kind;
};

class AmqpBus;

// Set on a consumer's dispatch thread while it runs a batch of deliveries: settlements made by
// its handler wake the I/O thread once at the end of the batch, not once each.
thread_local const AmqpBus* defer_wake_for = nullptr;
thread_local bool wake_deferred = false;

// One consumer: its own channel on the connection, and a dispatch thread unless it runs on the
// I/O thread.
class AmqpConsumer final : public Delivery::Settler,
                           public std::enable_shared_from_this<AmqpConsumer> {
 public:
  AmqpConsumer(AmqpBus* bus, std::string queue, ConsumeOptions options, DeliveryHandler handler)
      : bus_(bus), queue_(std::move(queue)), options_(options), handler_(std::move(handler)) {}

  Status Ack(uint64_t delivery_tag) override { return Settle(delivery_tag, Settlement::kAck); }
  Status Nack(uint64_t delivery_tag, bool requeue) override {
    return Settle(delivery_tag, requeue ? Settlement::kRequeue : Settlement::kDrop);
  }
  Status Settle(uint64_t delivery_tag, Settlement::Kind kind);

  void RunDispatchLoop();
  // I/O thread: a delivery arrived.
  void OnDelivery(Delivery delivery, uint64_t raw_tag);
  // I/O thread: the connection was lost; everything unacked will be redelivered.
  void ForgetGeneration() {
    std::lock_guard lock(mu_);
    unacked_.clear();
    inbox_.clear();
  }
  void StopDispatch() {
    {
      std::lock_guard lock(mu_);
      stopping_ = true;
    }
    wake_.notify_all();
    if (thread_.joinable()) {
      thread_.join();
    }
  }

  AmqpBus* const bus_;
  const std::string queue_;
  const ConsumeOptions options_;
  DeliveryHandler handler_;
  std::thread thread_;
  // I/O thread only.
  amqp_channel_t channel_ = 0;
  std::string consumer_tag_;
  bool active_ = false;             // consuming on the current connection
  std::set<uint64_t> outstanding_;  // delivered on this connection, not yet settled with it

  std::mutex mu_;  // guards the rest
  std::condition_variable wake_;
  std::deque<Delivery> inbox_;
  std::set<uint64_t> unacked_;  // raw tags of the current generation
  bool stopping_ = false;
  bool detached_ = false;
};

class AmqpSubscription final : public Subscription {
 public:
  AmqpSubscription(AmqpBus* bus, std::shared_ptr<AmqpConsumer> consumer)
      : bus_(bus), consumer_(std::move(consumer)) {}
  ~AmqpSubscription() override;
  const std::string& queue() const override { return consumer_->queue_; }

 private:
  AmqpBus* bus_;
  std::shared_ptr<AmqpConsumer> consumer_;
};

class AmqpBus final : public Bus {
 public:
  AmqpBus(AmqpEndpoint endpoint, std::string redacted_url, BusOptions options)
      : endpoint_(std::move(endpoint)),
        redacted_url_(std::move(redacted_url)),
        options_(std::move(options)),
        requests_(*this) {
    if (options_.connection_name.empty()) {
      options_.connection_name = "libcloudify-" + NewUuid().substr(0, 8);
    }
  }
  ~AmqpBus() override;

  // Connects once on the caller's thread, then starts the I/O thread.
  Status Start();

  Status Declare(const Topology& topology) override;
  Status DeleteQueue(std::string_view queue, bool if_empty) override;
  void PublishAsync(std::string_view exchange, std::string_view routing_key, Message message,
                    PublishCallback done) override;
  Status WaitForConfirms(milliseconds timeout) override;
  Result<std::unique_ptr<Subscription>> Consume(std::string_view queue, ConsumeOptions options,
                                                DeliveryHandler handler) override;
  Result<Message> Request(std::string_view exchange, std::string_view routing_key, Message request,
                          milliseconds timeout) override {
    if (OnBusThread()) {
      return Status(ErrorCode::kIllegalAction, "Bus::Request called on the bus's I/O thread");
    }
    return requests_.Request(exchange, routing_key, std::move(request), timeout);
  }
  BusStats Stats() const override {
    return {.published = published_.load(),
            .publish_failures = publish_failures_.load(),
            .publish_retries = publish_retries_.load(),
            .delivered = delivered_.load(),
            .reconnects = reconnects_.load()};
  }

  // For consumers and subscriptions.
  uint64_t generation() const { return generation_.load(); }
  void PostSettlement(Settlement settlement);
  void WakeIfSleeping();
  void CloseConsumer(const std::shared_ptr<AmqpConsumer>& consumer);
  void CountDelivered() { delivered_.fetch_add(1, std::memory_order_relaxed); }

 protected:
  bool OnBusThread() const override {
    return std::this_thread::get_id() == io_thread_id_.load(std::memory_order_relaxed);
  }

 private:
  // Runs `work` on the I/O thread and waits for its Status.
  Status RunOnIoThread(std::function<Status()> work);
  void Wake();

  // --- I/O thread ---
  void IoLoop();
  Status Connect();
  void Disconnect(const Status& reason);
  void ReconnectWithBackoff();
  Status ReplyStatus(amqp_rpc_reply_t reply, amqp_channel_t channel, std::string_view what);
  Status EnsureControlChannel();
  Status DeclareNow(const Topology& topology);
  Status StartConsumer(AmqpConsumer& consumer);
  Status CheckExchange(const std::string& exchange);
  void DrainCommands();
  void SendSettlements(const std::vector<Settlement>& settlements);
  void SendPublishes();
  void Resolve(PendingPublish& publish, Status status);
  void OnConfirm(uint64_t tag, bool multiple, bool ok);
  Status ReadFrames();
  Status HandleFrame(const amqp_frame_t& frame);
  void ExpirePublishes();
  void FailEverything(const Status& reason);

  const AmqpEndpoint endpoint_;
  const std::string redacted_url_;
  BusOptions options_;
  RequestClient requests_;

  // Shared between callers and the I/O thread, under mu_.
  std::mutex mu_;
  std::deque<PendingPublish> incoming_;
  std::vector<Settlement> settlements_;
  std::vector<std::function<void()>> commands_;
  bool io_sleeping_ = false;
  bool stop_ = false;
  int wake_fd_ = -1;

  std::mutex outstanding_mu_;
  std::condition_variable outstanding_cv_;
  uint64_t outstanding_ = 0;  // publishes not yet resolved

  std::atomic<uint64_t> generation_{1};
  std::atomic<bool> connected_{false};
  std::atomic<uint64_t> published_{0};
  std::atomic<uint64_t> publish_failures_{0};
  std::atomic<uint64_t> publish_retries_{0};
  std::atomic<uint64_t> delivered_{0};
  std::atomic<uint64_t> reconnects_{0};

  std::thread io_thread_;
  std::atomic<std::thread::id> io_thread_id_{};

  // I/O thread only (and the caller's thread in Start, before the I/O thread exists).
  amqp_connection_state_t conn_ = nullptr;
  bool control_open_ = false;
  Topology remembered_;
  std::set<std::string> known_exchanges_;
  std::deque<PendingPublish> to_send_;
  std::map<uint64_t, PendingPublish> in_flight_;  // by publish sequence number
  uint64_t next_publish_seq_ = 1;
  std::map<amqp_channel_t, std::shared_ptr<AmqpConsumer>> consumers_;
  amqp_channel_t next_channel_ = kFirstConsumerChannel;
  Clock::time_point last_received_;
  Clock::time_point next_expiry_check_;
  milliseconds backoff_{0};
};

// --- AmqpConsumer ---

Status AmqpConsumer::Settle(uint64_t delivery_tag, Settlement::Kind kind) {
  const uint64_t generation = delivery_tag >> kGenerationShift;
  const uint64_t raw_tag = delivery_tag & kRawTagMask;
  amqp_channel_t channel = 0;
  {
    std::lock_guard lock(mu_);
    if (detached_) {
      return Status(ErrorCode::kIllegalAction,
                    "cannot settle a delivery of queue '" + queue_ +
                        "': its subscription is gone (the broker requeued it)");
    }
    if (generation != bus_->generation()) {
      return Status(ErrorCode::kUnavailable,
                    "cannot settle a delivery of queue '" + queue_ +
                        "': the connection that received it was lost (it will be redelivered)");
    }
    if (unacked_.erase(raw_tag) == 0) {
      return Status(ErrorCode::kIllegalAction, "delivery " + std::to_string(raw_tag) +
                                                   " of queue '" + queue_ + "' is already settled");
    }
    channel = channel_;
  }
  bus_->PostSettlement({channel, generation, raw_tag, kind});
  return Status::Ok();
}

void AmqpConsumer::OnDelivery(Delivery delivery, uint64_t raw_tag) {
  bus_->CountDelivered();
  if (options_.dispatch_on_bus_thread) {
    if (!options_.auto_ack) {
      std::lock_guard lock(mu_);
      unacked_.insert(raw_tag);
    }
    handler_(std::move(delivery));
    return;
  }
  bool wake = false;
  {
    std::lock_guard lock(mu_);
    if (!options_.auto_ack) {
      unacked_.insert(raw_tag);
    }
    wake = inbox_.empty();
    inbox_.push_back(std::move(delivery));
  }
  if (wake) {
    wake_.notify_one();
  }
}

void AmqpConsumer::RunDispatchLoop() {
  std::deque<Delivery> batch;
  std::unique_lock lock(mu_);
  while (true) {
    wake_.wait(lock, [&] { return stopping_ || !inbox_.empty(); });
    if (stopping_) {
      return;
    }
    batch.swap(inbox_);
    lock.unlock();
    defer_wake_for = bus_;
    wake_deferred = false;
    for (Delivery& delivery : batch) {
      {
        // Skip deliveries of a connection lost meanwhile: they come again.
        std::lock_guard check(mu_);
        if (stopping_) {
          break;
        }
        if ((delivery.delivery_tag() >> kGenerationShift) != bus_->generation() &&
            !options_.auto_ack) {
          continue;
        }
      }
      handler_(std::move(delivery));
    }
    defer_wake_for = nullptr;
    if (wake_deferred) {
      bus_->WakeIfSleeping();
    }
    batch.clear();
    lock.lock();
  }
}

AmqpSubscription::~AmqpSubscription() { bus_->CloseConsumer(consumer_); }

// --- AmqpBus: caller side ---

void AmqpBus::Wake() {
  const uint64_t one = 1;
  // A full eventfd counter still wakes the poll; nothing to handle on failure.
  [[maybe_unused]] ssize_t written = write(wake_fd_, &one, sizeof(one));
}

Status AmqpBus::RunOnIoThread(std::function<Status()> work) {
  if (OnBusThread()) {
    return Status(ErrorCode::kIllegalAction,
                  "a blocking Bus call was made on the bus's own I/O thread (from a publish "
                  "callback or a dispatch_on_bus_thread handler); it would wait for itself");
  }
  auto result = std::make_shared<std::promise<Status>>();
  std::future<Status> done = result->get_future();
  {
    std::lock_guard lock(mu_);
    if (stop_) {
      return Status(ErrorCode::kUnavailable, "the bus is closing");
    }
    commands_.push_back([result, work = std::move(work)] { result->set_value(work()); });
  }
  Wake();
  // The I/O thread answers within a connect attempt plus one round trip; the margin is for a
  // thread starved of CPU.
  if (done.wait_for(options_.operation_timeout * 3 + std::chrono::seconds(1)) !=
      std::future_status::ready) {
    return Status(ErrorCode::kUnavailable,
                  "the broker connection to " + redacted_url_ + " did not answer in time");
  }
  return done.get();
}

void AmqpBus::PostSettlement(Settlement settlement) {
  // The I/O thread itself (bus-thread handlers) drains the queue before it sleeps.
  const bool defer = defer_wake_for == this || OnBusThread();
  bool wake = false;
  {
    std::lock_guard lock(mu_);
    settlements_.push_back(settlement);
    if (!defer) {
      wake = io_sleeping_;
      io_sleeping_ = false;
    }
  }
  if (defer_wake_for == this) {
    wake_deferred = true;
  } else if (wake) {
    Wake();
  }
}

void AmqpBus::WakeIfSleeping() {
  bool wake = false;
  {
    std::lock_guard lock(mu_);
    wake = io_sleeping_;
    io_sleeping_ = false;
  }
  if (wake) {
    Wake();
  }
}

void AmqpBus::PublishAsync(std::string_view exchange, std::string_view routing_key, Message message,
                           PublishCallback done) {
  if (message.body.size() > options_.max_message_bytes) {
    publish_failures_.fetch_add(1);
    if (done) {
      done(Status(ErrorCode::kPayloadTooLarge,
                  "message of " + std::to_string(message.body.size()) + " bytes for exchange '" +
                      std::string(exchange) + "' routing key '" + std::string(routing_key) +
                      "' exceeds the limit of " + std::to_string(options_.max_message_bytes) +
                      " bytes"));
    }
    return;
  }
  {
    std::lock_guard lock(outstanding_mu_);
    ++outstanding_;
  }
  bool wake = false;
  bool stopped = false;
  {
    std::lock_guard lock(mu_);
    stopped = stop_;
    if (!stopped) {
      incoming_.push_back({std::string(exchange), std::string(routing_key), std::move(message),
                           std::move(done), Clock::now() + options_.publish_timeout, 0});
      wake = io_sleeping_;
      io_sleeping_ = false;
    }
  }
  if (stopped) {
    PendingPublish rejected{
        std::string(exchange), std::string(routing_key), {}, std::move(done), {}, 0};
    Resolve(rejected, Status(ErrorCode::kUnavailable, "the bus is closing"));
    return;
  }
  if (wake) {
    Wake();
  }
}

Status AmqpBus::WaitForConfirms(milliseconds timeout) {
  if (OnBusThread()) {
    return Status(ErrorCode::kIllegalAction, "WaitForConfirms called on the bus's I/O thread");
  }
  std::unique_lock lock(outstanding_mu_);
  if (!outstanding_cv_.wait_for(lock, timeout, [&] { return outstanding_ == 0; })) {
    return Status(ErrorCode::kUnavailable, std::to_string(outstanding_) +
                                               " publishes still unconfirmed after " +
                                               std::to_string(timeout.count()) + " ms");
  }
  return Status::Ok();
}

Status AmqpBus::Declare(const Topology& topology) {
  for (const ExchangeSpec& exchange : topology.exchanges) {
    if (exchange.name.empty()) {
      return BadParametersError("an exchange name must not be empty (\"\" is the default one)");
    }
  }
  for (const QueueSpec& queue : topology.queues) {
    if (queue.name.empty()) {
      return BadParametersError("a queue name must not be empty");
    }
  }
  return RunOnIoThread([this, topology] {
    CLOUDIFY_RETURN_IF_ERROR(DeclareNow(topology));
    // Remembered for reconnects (once each).
    for (const ExchangeSpec& e : topology.exchanges) {
      if (std::find(remembered_.exchanges.begin(), remembered_.exchanges.end(), e) ==
          remembered_.exchanges.end()) {
        remembered_.exchanges.push_back(e);
      }
    }
    for (const QueueSpec& q : topology.queues) {
      if (std::find(remembered_.queues.begin(), remembered_.queues.end(), q) ==
          remembered_.queues.end()) {
        remembered_.queues.push_back(q);
      }
    }
    for (const BindingSpec& b : topology.bindings) {
      if (std::find(remembered_.bindings.begin(), remembered_.bindings.end(), b) ==
          remembered_.bindings.end()) {
        remembered_.bindings.push_back(b);
      }
    }
    return Status::Ok();
  });
}

Status AmqpBus::DeleteQueue(std::string_view queue_view, bool if_empty) {
  std::string queue(queue_view);
  return RunOnIoThread([this, queue, if_empty]() -> Status {
    if (!connected_) {
      return Status(ErrorCode::kUnavailable, "not connected to " + redacted_url_);
    }
    CLOUDIFY_RETURN_IF_ERROR(EnsureControlChannel());
    amqp_queue_delete(conn_, kControlChannel, Bytes(queue), 0, if_empty ? 1 : 0);
    Status status =
        ReplyStatus(amqp_get_rpc_reply(conn_), kControlChannel, "deleting queue '" + queue + "'");
    if (status.code() == ErrorCode::kNotFound) {
      status = Status::Ok();
    }
    if (status.ok()) {
      std::erase_if(remembered_.queues, [&](const QueueSpec& q) { return q.name == queue; });
      std::erase_if(remembered_.bindings, [&](const BindingSpec& b) { return b.queue == queue; });
    }
    return status;
  });
}

Result<std::unique_ptr<Subscription>> AmqpBus::Consume(std::string_view queue,
                                                       ConsumeOptions options,
                                                       DeliveryHandler handler) {
  if (!handler) {
    return BadParametersError("Consume needs a handler");
  }
  auto consumer =
      std::make_shared<AmqpConsumer>(this, std::string(queue), options, std::move(handler));
  Status started = RunOnIoThread([this, consumer]() -> Status {
    if (!connected_) {
      return Status(ErrorCode::kUnavailable, "not connected to " + redacted_url_);
    }
    // A channel of its own; numbers are not reused soon, so frames of a closed channel still
    // queued in librabbitmq cannot be taken for the new one's.
    for (int tries = 0; tries <= kMaxChannel; ++tries) {
      amqp_channel_t candidate = next_channel_;
      next_channel_ = next_channel_ >= kMaxChannel ? kFirstConsumerChannel : next_channel_ + 1;
      if (consumers_.count(candidate) == 0) {
        consumer->channel_ = candidate;
        break;
      }
    }
    if (consumer->channel_ == 0) {
      return Status(ErrorCode::kUnavailable, "no free AMQP channel for another consumer");
    }
    consumer->consumer_tag_ = "ctag-" + NewUuid();
    CLOUDIFY_RETURN_IF_ERROR(StartConsumer(*consumer));
    consumers_[consumer->channel_] = consumer;
    return Status::Ok();
  });
  if (!started.ok()) {
    return started;
  }
  if (!options.dispatch_on_bus_thread) {
    consumer->thread_ = std::thread([c = consumer.get()] { c->RunDispatchLoop(); });
  }
  return std::unique_ptr<Subscription>(std::make_unique<AmqpSubscription>(this, consumer));
}

void AmqpBus::CloseConsumer(const std::shared_ptr<AmqpConsumer>& consumer) {
  consumer->StopDispatch();  // a running handler finishes first
  {
    std::lock_guard lock(consumer->mu_);
    consumer->detached_ = true;
    consumer->unacked_.clear();
    consumer->inbox_.clear();
  }
  // Closing its channel makes the broker requeue what it did not ack.
  Status closed = RunOnIoThread([this, consumer]() -> Status {
    consumers_.erase(consumer->channel_);
    if (connected_ && consumer->active_) {
      consumer->active_ = false;
      amqp_rpc_reply_t reply = amqp_channel_close(conn_, consumer->channel_, AMQP_REPLY_SUCCESS);
      if (reply.reply_type != AMQP_RESPONSE_NORMAL) {
        return ReplyStatus(reply, consumer->channel_, "closing a consumer channel");
      }
    }
    return Status::Ok();
  });
  if (!closed.ok() && options_.logger != nullptr) {
    options_.logger->Warning("amqp: closing a consumer failed",
                             {{"queue", consumer->queue_}, {"error", closed.ToString()}});
  }
}

AmqpBus::~AmqpBus() {
  requests_.Close();
  {
    std::lock_guard lock(mu_);
    stop_ = true;
  }
  if (io_thread_.joinable()) {
    Wake();
    io_thread_.join();
  } else {
    FailEverything(Status(ErrorCode::kUnavailable, "the bus is closing"));
  }
  if (wake_fd_ >= 0) {
    close(wake_fd_);
  }
}

// --- AmqpBus: I/O thread ---

Status AmqpBus::Start() {
  wake_fd_ = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
  if (wake_fd_ < 0) {
    return InternalError(std::string("eventfd: ") + std::strerror(errno));
  }
  Status connected = Connect();
  if (connected.ok()) {
    connected = DeclareNow(options_.topology).WithContext("declaring the topology");
  }
  if (!connected.ok()) {
    if (conn_ != nullptr) {
      amqp_destroy_connection(conn_);  // no goodbye: the connection may be half open
      conn_ = nullptr;
    }
    connected_ = false;
    return connected;
  }
  remembered_ = options_.topology;
  io_thread_ = std::thread([this] {
    io_thread_id_ = std::this_thread::get_id();
    IoLoop();
  });
  return Status::Ok();
}

Status AmqpBus::ReplyStatus(amqp_rpc_reply_t reply, amqp_channel_t channel, std::string_view what) {
  switch (reply.reply_type) {
    case AMQP_RESPONSE_NORMAL:
      return Status::Ok();
    case AMQP_RESPONSE_NONE:
      return Status(ErrorCode::kUnavailable, std::string(what) + ": no reply from the broker");
    case AMQP_RESPONSE_LIBRARY_EXCEPTION:
      connected_ = false;  // the socket is gone or out of step: reconnect
      return Status(ErrorCode::kUnavailable, std::string(what) + " on " + redacted_url_ + ": " +
                                                 amqp_error_string2(reply.library_error));
    case AMQP_RESPONSE_SERVER_EXCEPTION:
      break;
  }
  if (reply.reply.id == AMQP_CHANNEL_CLOSE_METHOD) {
    const auto* close = static_cast<const amqp_channel_close_t*>(reply.reply.decoded);
    amqp_channel_close_ok_t close_ok{};
    amqp_send_method(conn_, channel, AMQP_CHANNEL_CLOSE_OK_METHOD, &close_ok);
    if (channel == kControlChannel) {
      control_open_ = false;
    } else if (channel == kPublishChannel) {
      connected_ = false;  // publishing needs its channel: start over
    }
    return Status(CodeForReply(close->reply_code), std::string(what) + ": the broker answered " +
                                                       std::to_string(close->reply_code) + " " +
                                                       String(close->reply_text));
  }
  if (reply.reply.id == AMQP_CONNECTION_CLOSE_METHOD) {
    const auto* close = static_cast<const amqp_connection_close_t*>(reply.reply.decoded);
    amqp_connection_close_ok_t close_ok{};
    amqp_send_method(conn_, 0, AMQP_CONNECTION_CLOSE_OK_METHOD, &close_ok);
    connected_ = false;
    const ErrorCode code =
        close->reply_code == 403 ? ErrorCode::kUnauthorized : CodeForReply(close->reply_code);
    return Status(code, std::string(what) + ": the broker closed the connection: " +
                            std::to_string(close->reply_code) + " " + String(close->reply_text));
  }
  return Status(ErrorCode::kUnavailable,
                std::string(what) + ": unexpected broker method " + std::to_string(reply.reply.id));
}

Status AmqpBus::Connect() {
  conn_ = amqp_new_connection();
  if (conn_ == nullptr) {
    return InternalError("amqp_new_connection failed");
  }
  amqp_socket_t* socket = nullptr;
  if (endpoint_.tls) {
    socket = amqp_ssl_socket_new(conn_);
    if (socket != nullptr) {
      amqp_ssl_socket_set_verify_peer(socket, options_.tls_verify_peer ? 1 : 0);
      amqp_ssl_socket_set_verify_hostname(socket, options_.tls_verify_peer ? 1 : 0);
      if (!options_.tls_ca_cert_file.empty() &&
          amqp_ssl_socket_set_cacert(socket, options_.tls_ca_cert_file.c_str()) != AMQP_STATUS_OK) {
        return BadParametersError("cannot load the CA certificates from '" +
                                  options_.tls_ca_cert_file + "'");
      }
      if (!options_.tls_client_cert_file.empty() &&
          amqp_ssl_socket_set_key(socket, options_.tls_client_cert_file.c_str(),
                                  options_.tls_client_key_file.c_str()) != AMQP_STATUS_OK) {
        return BadParametersError("cannot load the client certificate '" +
                                  options_.tls_client_cert_file + "' and key '" +
                                  options_.tls_client_key_file + "'");
      }
    }
  } else {
    socket = amqp_tcp_socket_new(conn_);
  }
  if (socket == nullptr) {
    return InternalError("cannot create an AMQP socket");
  }
  timeval timeout = ToTimeval(options_.operation_timeout);
  const int opened =
      amqp_socket_open_noblock(socket, endpoint_.host.c_str(), endpoint_.port, &timeout);
  if (opened != AMQP_STATUS_OK) {
    return Status(
        ErrorCode::kUnavailable,
        std::string("cannot connect to ") + redacted_url_ + ": " + amqp_error_string2(opened) +
            (endpoint_.tls ? " (TLS handshake or certificate verification included)" : ""));
  }
  amqp_set_handshake_timeout(conn_, &timeout);
  amqp_set_rpc_timeout(conn_, &timeout);

  amqp_table_entry_t entry;
  entry.key = amqp_cstring_bytes("connection_name");
  entry.value.kind = AMQP_FIELD_KIND_UTF8;
  entry.value.value.bytes = Bytes(options_.connection_name);
  amqp_table_t properties{1, &entry};
  const amqp_rpc_reply_t login = amqp_login_with_properties(
      conn_, endpoint_.vhost.c_str(), 0, kFrameMax, static_cast<int>(options_.heartbeat.count()),
      &properties, AMQP_SASL_METHOD_PLAIN, endpoint_.user.c_str(), endpoint_.password.c_str());
  if (login.reply_type != AMQP_RESPONSE_NORMAL) {
    Status status = ReplyStatus(
        login, 0, "logging in as '" + endpoint_.user + "' to vhost '" + endpoint_.vhost + "'");
    if (login.reply_type == AMQP_RESPONSE_LIBRARY_EXCEPTION &&
        (login.library_error == AMQP_STATUS_CONNECTION_CLOSED ||
         login.library_error == AMQP_STATUS_SOCKET_CLOSED)) {
      // Brokers without authentication_failure_close just hang up on bad credentials.
      status = Status(ErrorCode::kUnauthorized,
                      status.message() + " (the broker hung up: wrong user or password?)");
    }
    return status;
  }
  amqp_channel_open(conn_, kPublishChannel);
  CLOUDIFY_RETURN_IF_ERROR(
      ReplyStatus(amqp_get_rpc_reply(conn_), kPublishChannel, "opening the publish channel"));
  amqp_confirm_select(conn_, kPublishChannel);
  CLOUDIFY_RETURN_IF_ERROR(
      ReplyStatus(amqp_get_rpc_reply(conn_), kPublishChannel, "enabling publisher confirms"));
  control_open_ = false;
  CLOUDIFY_RETURN_IF_ERROR(EnsureControlChannel());
  next_publish_seq_ = 1;
  known_exchanges_.clear();
  connected_ = true;
  last_received_ = Clock::now();
  return Status::Ok();
}

Status AmqpBus::EnsureControlChannel() {
  if (control_open_) {
    return Status::Ok();
  }
  amqp_channel_open(conn_, kControlChannel);
  CLOUDIFY_RETURN_IF_ERROR(
      ReplyStatus(amqp_get_rpc_reply(conn_), kControlChannel, "opening the control channel"));
  control_open_ = true;
  return Status::Ok();
}

Status AmqpBus::DeclareNow(const Topology& topology) {
  if (!connected_) {
    return Status(ErrorCode::kUnavailable, "not connected to " + redacted_url_);
  }
  CLOUDIFY_RETURN_IF_ERROR(EnsureControlChannel());
  static const amqp_table_t kNoArguments{0, nullptr};
  for (const ExchangeSpec& e : topology.exchanges) {
    const char* type = e.type == ExchangeType::kDirect   ? "direct"
                       : e.type == ExchangeType::kFanout ? "fanout"
                                                         : "topic";
    amqp_exchange_declare(conn_, kControlChannel, Bytes(e.name), amqp_cstring_bytes(type), 0,
                          e.durable ? 1 : 0, e.auto_delete ? 1 : 0, 0, kNoArguments);
    CLOUDIFY_RETURN_IF_ERROR(ReplyStatus(amqp_get_rpc_reply(conn_), kControlChannel,
                                         "declaring exchange '" + e.name + "'"));
    known_exchanges_.insert(e.name);
  }
  amqp_table_entry_t single_active;
  single_active.key = amqp_cstring_bytes("x-single-active-consumer");
  single_active.value.kind = AMQP_FIELD_KIND_BOOLEAN;
  single_active.value.value.boolean = 1;
  const amqp_table_t kSingleActive{1, &single_active};
  for (const QueueSpec& q : topology.queues) {
    amqp_queue_declare(conn_, kControlChannel, Bytes(q.name), 0, q.durable ? 1 : 0,
                       q.exclusive ? 1 : 0, q.auto_delete ? 1 : 0,
                       q.single_active_consumer ? kSingleActive : kNoArguments);
    CLOUDIFY_RETURN_IF_ERROR(ReplyStatus(amqp_get_rpc_reply(conn_), kControlChannel,
                                         "declaring queue '" + q.name + "'"));
  }
  for (const BindingSpec& b : topology.bindings) {
    amqp_queue_bind(conn_, kControlChannel, Bytes(b.queue), Bytes(b.exchange), Bytes(b.routing_key),
                    kNoArguments);
    CLOUDIFY_RETURN_IF_ERROR(ReplyStatus(amqp_get_rpc_reply(conn_), kControlChannel,
                                         "binding queue '" + b.queue + "' to exchange '" +
                                             b.exchange + "' with key '" + b.routing_key + "'"));
  }
  return Status::Ok();
}

Status AmqpBus::StartConsumer(AmqpConsumer& consumer) {
  const amqp_channel_t channel = consumer.channel_;
  const std::string what = "consuming queue '" + consumer.queue_ + "'";
  amqp_channel_open(conn_, channel);
  CLOUDIFY_RETURN_IF_ERROR(ReplyStatus(amqp_get_rpc_reply(conn_), channel, what));
  if (!consumer.options_.auto_ack) {
    amqp_basic_qos(conn_, channel, 0,
                   static_cast<uint16_t>(std::min<uint32_t>(consumer.options_.prefetch, 65535)), 0);
    CLOUDIFY_RETURN_IF_ERROR(ReplyStatus(amqp_get_rpc_reply(conn_), channel, what));
  }
  static const amqp_table_t kNoArguments{0, nullptr};
  amqp_basic_consume(conn_, channel, Bytes(consumer.queue_), Bytes(consumer.consumer_tag_), 0,
                     consumer.options_.auto_ack ? 1 : 0, consumer.options_.exclusive ? 1 : 0,
                     kNoArguments);
  Status status = ReplyStatus(amqp_get_rpc_reply(conn_), channel, what);
  if (status.code() == ErrorCode::kForbidden) {
    // RabbitMQ answers ACCESS_REFUSED when an exclusive consumer holds the queue.
    status = ConflictError(status.message() + " (an exclusive consumer holds it?)");
  }
  consumer.active_ = status.ok();
  return status;
}

Status AmqpBus::CheckExchange(const std::string& exchange) {
  if (exchange.empty() || known_exchanges_.count(exchange) != 0) {
    return Status::Ok();
  }
  // A publish to a missing exchange would close the publish channel and lose every publish in
  // flight; a passive declare on the control channel finds out first.
  CLOUDIFY_RETURN_IF_ERROR(EnsureControlChannel());
  amqp_exchange_declare(conn_, kControlChannel, Bytes(exchange), amqp_cstring_bytes(""), 1, 0, 0, 0,
                        amqp_empty_table);
  Status status = ReplyStatus(amqp_get_rpc_reply(conn_), kControlChannel,
                              "publishing to exchange '" + exchange + "'");
  if (status.ok()) {
    known_exchanges_.insert(exchange);
  } else if (status.code() == ErrorCode::kNotFound) {
    status =
        NotFoundError("no exchange '" + exchange + "' to publish to (" + status.message() + ")");
  }
  return status;
}

void AmqpBus::Resolve(PendingPublish& publish, Status status) {
  (status.ok() ? published_ : publish_failures_).fetch_add(1, std::memory_order_relaxed);
  if (publish.done) {
    publish.done(std::move(status));
  } else if (!status.ok() && options_.logger != nullptr) {
    options_.logger->Error("amqp: a publish failed and nobody was told",
                           {{"exchange", publish.exchange}, {"error", status.ToString()}});
  }
  {
    std::lock_guard lock(outstanding_mu_);
    --outstanding_;
  }
  outstanding_cv_.notify_all();
}

void AmqpBus::OnConfirm(uint64_t tag, bool multiple, bool ok) {
  auto end = multiple ? in_flight_.upper_bound(tag) : in_flight_.find(tag);
  auto begin = multiple ? in_flight_.begin() : end;
  if (!multiple) {
    if (end == in_flight_.end()) {
      return;
    }
    ++end;
  }
  for (auto it = begin; it != end; ++it) {
    Resolve(it->second,
            ok ? Status::Ok()
               : Status(ErrorCode::kUnavailable, "the broker refused the message for exchange '" +
                                                     it->second.exchange + "' (basic.nack)"));
  }
  in_flight_.erase(begin, end);
}

void AmqpBus::SendPublishes() {
  while (connected_ && !to_send_.empty() && in_flight_.size() < options_.max_in_flight) {
    PendingPublish& next = to_send_.front();
    Status exchange_ok = CheckExchange(next.exchange);
    if (!exchange_ok.ok()) {
      if (!connected_) {
        return;  // retried after the reconnect
      }
      Resolve(next, exchange_ok);
      to_send_.pop_front();
      continue;
    }
    const Message& m = next.message;
    amqp_basic_properties_t props{};
    props._flags = AMQP_BASIC_CONTENT_TYPE_FLAG | AMQP_BASIC_DELIVERY_MODE_FLAG;
    props.content_type = Bytes(m.content_type);
    props.delivery_mode = m.persistent ? 2 : 1;
    if (!m.correlation_id.empty()) {
      props._flags |= AMQP_BASIC_CORRELATION_ID_FLAG;
      props.correlation_id = Bytes(m.correlation_id);
    }
    if (!m.reply_to.empty()) {
      props._flags |= AMQP_BASIC_REPLY_TO_FLAG;
      props.reply_to = Bytes(m.reply_to);
    }
    std::string expiration;
    if (m.expiration_ms > 0) {
      expiration = std::to_string(m.expiration_ms);
      props._flags |= AMQP_BASIC_EXPIRATION_FLAG;
      props.expiration = Bytes(expiration);
    }
    const int sent = amqp_basic_publish(conn_, kPublishChannel, Bytes(next.exchange),
                                        Bytes(next.routing_key), 0, 0, &props, Bytes(m.body));
    const uint64_t seq = next_publish_seq_++;
    ++next.attempts;
    in_flight_.emplace(seq, std::move(next));
    to_send_.pop_front();
    if (sent != AMQP_STATUS_OK) {
      connected_ = false;  // it stays in flight and is sent again after the reconnect
      if (options_.logger != nullptr) {
        options_.logger->Warning("amqp: publish failed, reconnecting",
                                 {{"error", amqp_error_string2(sent)}});
      }
      return;
    }
  }
}

void AmqpBus::SendSettlements(const std::vector<Settlement>& settlements) {
  // Nacks go one by one; acks are gathered per channel and, when they cover every delivery the
  // broker still counts as unsettled up to the highest of them (the usual in-order case), sent
  // as one "multiple" ack.
  const uint64_t generation = generation_.load();
  std::map<amqp_channel_t, std::vector<uint64_t>> acks;
  for (const Settlement& s : settlements) {
    if (!connected_ || s.generation != generation) {
      continue;  // that delivery is redelivered by the broker anyway
    }
    auto consumer = consumers_.find(s.channel);
    if (consumer == consumers_.end() || !consumer->second->active_ ||
        consumer->second->outstanding_.count(s.raw_tag) == 0) {
      continue;
    }
    if (s.kind == Settlement::kAck) {
      acks[s.channel].push_back(s.raw_tag);
      continue;
    }
    consumer->second->outstanding_.erase(s.raw_tag);
    if (amqp_basic_nack(conn_, s.channel, s.raw_tag, 0, s.kind == Settlement::kRequeue) !=
        AMQP_STATUS_OK) {
      connected_ = false;
      return;
    }
  }
  for (auto& [channel, tags] : acks) {
    std::set<uint64_t>& outstanding = consumers_[channel]->outstanding_;
    const uint64_t highest = *std::max_element(tags.begin(), tags.end());
    const auto end = outstanding.upper_bound(highest);
    const bool covers_all =
        static_cast<size_t>(std::distance(outstanding.begin(), end)) == tags.size();
    int rc = AMQP_STATUS_OK;
    if (covers_all) {
      rc = amqp_basic_ack(conn_, channel, highest, 1);
      outstanding.erase(outstanding.begin(), end);
    } else {
      for (uint64_t tag : tags) {
        if (rc == AMQP_STATUS_OK) {
          rc = amqp_basic_ack(conn_, channel, tag, 0);
        }
        outstanding.erase(tag);
      }
    }
    if (rc != AMQP_STATUS_OK) {
      connected_ = false;
      return;
    }
  }
}

void AmqpBus::DrainCommands() {
  std::deque<PendingPublish> publishes;
  std::vector<Settlement> settlements;
  std::vector<std::function<void()>> commands;
  {
    std::lock_guard lock(mu_);
    publishes.swap(incoming_);
    settlements.swap(settlements_);
    commands.swap(commands_);
  }
  for (PendingPublish& p : publishes) {
    to_send_.push_back(std::move(p));
  }
  SendSettlements(settlements);
  for (auto& command : commands) {
    command();
  }
}

Status AmqpBus::HandleFrame(const amqp_frame_t& frame) {
  last_received_ = Clock::now();
  if (frame.frame_type != AMQP_FRAME_METHOD) {
    return Status::Ok();  // heartbeats; stray content of a closed channel
  }
  const amqp_channel_t channel = frame.channel;
  switch (frame.payload.method.id) {
    case AMQP_BASIC_ACK_METHOD: {
      const auto* ack = static_cast<const amqp_basic_ack_t*>(frame.payload.method.decoded);
      OnConfirm(ack->delivery_tag, ack->multiple != 0, true);
      return Status::Ok();
    }
    case AMQP_BASIC_NACK_METHOD: {
      const auto* nack = static_cast<const amqp_basic_nack_t*>(frame.payload.method.decoded);
      OnConfirm(nack->delivery_tag, nack->multiple != 0, false);
      return Status::Ok();
    }
    case AMQP_BASIC_DELIVER_METHOD: {
      const auto* deliver = static_cast<const amqp_basic_deliver_t*>(frame.payload.method.decoded);
      const uint64_t raw_tag = deliver->delivery_tag;
      std::string exchange = String(deliver->exchange);
      std::string routing_key = String(deliver->routing_key);
      const bool redelivered = deliver->redelivered != 0;
      amqp_message_t content;
      const amqp_rpc_reply_t read = amqp_read_message(conn_, channel, &content, 0);
      if (read.reply_type != AMQP_RESPONSE_NORMAL) {
        return ReplyStatus(read, channel, "reading a delivery");
      }
      Message message;
      message.body = String(content.body);
      const amqp_basic_properties_t& p = content.properties;
      if ((p._flags & AMQP_BASIC_CONTENT_TYPE_FLAG) != 0) {
        message.content_type = String(p.content_type);
      } else {
        message.content_type.clear();
      }
      if ((p._flags & AMQP_BASIC_CORRELATION_ID_FLAG) != 0) {
        message.correlation_id = String(p.correlation_id);
      }
      if ((p._flags & AMQP_BASIC_REPLY_TO_FLAG) != 0) {
        message.reply_to = String(p.reply_to);
      }
      message.persistent = (p._flags & AMQP_BASIC_DELIVERY_MODE_FLAG) != 0 && p.delivery_mode == 2;
      if ((p._flags & AMQP_BASIC_EXPIRATION_FLAG) != 0) {
        message.expiration_ms = std::atoll(String(p.expiration).c_str());
      }
      amqp_destroy_message(&content);
      auto consumer = consumers_.find(channel);
      if (consumer == consumers_.end() || !consumer->second->active_) {
        return Status::Ok();  // its channel is closing: the broker requeues it
      }
      const uint64_t tag = (generation_.load() << kGenerationShift) | (raw_tag & kRawTagMask);
      if (!consumer->second->options_.auto_ack) {
        consumer->second->outstanding_.insert(raw_tag);
      }
      consumer->second->OnDelivery(
          Delivery(std::move(message), std::move(exchange), std::move(routing_key), redelivered,
                   tag, consumer->second->options_.auto_ack ? nullptr : consumer->second),
          raw_tag);
      return Status::Ok();
    }
    case AMQP_BASIC_RETURN_METHOD: {
      amqp_message_t content;
      const amqp_rpc_reply_t read = amqp_read_message(conn_, channel, &content, 0);
      if (read.reply_type != AMQP_RESPONSE_NORMAL) {
        return ReplyStatus(read, channel, "reading a returned message");
      }
      amqp_destroy_message(&content);
      return Status::Ok();
    }
    case AMQP_BASIC_CANCEL_METHOD: {
      // The broker cancelled a consumer (its queue was deleted).
      auto consumer = consumers_.find(channel);
      if (consumer != consumers_.end()) {
        consumer->second->active_ = false;
        if (options_.logger != nullptr) {
          options_.logger->Warning("amqp: the broker cancelled a consumer",
                                   {{"queue", consumer->second->queue_}});
        }
      }
      return Status::Ok();
    }
    case AMQP_CHANNEL_CLOSE_METHOD: {
      const auto* close = static_cast<const amqp_channel_close_t*>(frame.payload.method.decoded);
      amqp_channel_close_ok_t close_ok{};
      amqp_send_method(conn_, channel, AMQP_CHANNEL_CLOSE_OK_METHOD, &close_ok);
      connected_ = false;
      return Status(ErrorCode::kUnavailable,
                    "the broker closed channel " + std::to_string(channel) + ": " +
                        std::to_string(close->reply_code) + " " + String(close->reply_text));
    }
    case AMQP_CONNECTION_CLOSE_METHOD: {
      const auto* close = static_cast<const amqp_connection_close_t*>(frame.payload.method.decoded);
      amqp_connection_close_ok_t close_ok{};
      amqp_send_method(conn_, 0, AMQP_CONNECTION_CLOSE_OK_METHOD, &close_ok);
      connected_ = false;
      return Status(ErrorCode::kUnavailable,
                    "the broker closed the connection: " + std::to_string(close->reply_code) + " " +
                        String(close->reply_text));
    }
    default:
      return Status::Ok();
  }
}

Status AmqpBus::ReadFrames() {
  // Bounded so a flood of deliveries cannot starve publishing and settlements.
  for (int i = 0; i < 256 && connected_; ++i) {
    amqp_frame_t frame;
    timeval zero{0, 0};
    const int rc = amqp_simple_wait_frame_noblock(conn_, &frame, &zero);
    if (rc == AMQP_STATUS_TIMEOUT) {
      break;
    }
    if (rc != AMQP_STATUS_OK) {
      connected_ = false;
      return Status(ErrorCode::kUnavailable, std::string("connection to ") + redacted_url_ +
                                                 " lost: " + amqp_error_string2(rc));
    }
    CLOUDIFY_RETURN_IF_ERROR(HandleFrame(frame));
  }
  if (connected_ && !amqp_frames_enqueued(conn_)) {
    amqp_maybe_release_buffers(conn_);
  }
  return Status::Ok();
}

void AmqpBus::ExpirePublishes() {
  const auto now = Clock::now();
  if (now < next_expiry_check_) {
    return;
  }
  next_expiry_check_ = now + milliseconds(100);
  auto expired = [&](const PendingPublish& p) { return p.deadline <= now; };
  const Status timeout(ErrorCode::kUnavailable,
                       "publish not confirmed by " + redacted_url_ + " within " +
                           std::to_string(options_.publish_timeout.count()) + " ms");
  for (auto it = to_send_.begin(); it != to_send_.end();) {
    if (expired(*it)) {
      Resolve(*it, timeout);
      it = to_send_.erase(it);
    } else {
      ++it;
    }
  }
  for (auto it = in_flight_.begin(); it != in_flight_.end();) {
    if (expired(it->second)) {
      Resolve(it->second, timeout);
      it = in_flight_.erase(it);
    } else {
      ++it;
    }
  }
}

void AmqpBus::Disconnect(const Status& reason) {
  connected_ = false;
  if (conn_ != nullptr) {
    // No goodbye handshake: the socket may be dead, and waiting on it would stall recovery.
    amqp_destroy_connection(conn_);
    conn_ = nullptr;
  }
  control_open_ = false;
  generation_.fetch_add(1);
  for (auto& [channel, consumer] : consumers_) {
    consumer->active_ = false;
    consumer->outstanding_.clear();
    consumer->ForgetGeneration();
  }
  // Unconfirmed publishes go first when sending resumes, in their order.
  for (auto it = in_flight_.rbegin(); it != in_flight_.rend(); ++it) {
    publish_retries_.fetch_add(1, std::memory_order_relaxed);
    to_send_.push_front(std::move(it->second));
  }
  in_flight_.clear();
  if (options_.logger != nullptr) {
    options_.logger->Warning("amqp: connection lost",
                             {{"url", redacted_url_}, {"error", reason.ToString()}});
  }
}

void AmqpBus::ReconnectWithBackoff() {
  backoff_ = options_.reconnect_initial_backoff;
  while (true) {
    // Wait out the backoff, still answering callers (with kUnavailable) meanwhile.
    const auto wake_at = Clock::now() + backoff_;
    while (Clock::now() < wake_at) {
      {
        std::lock_guard lock(mu_);
        if (stop_) {
          return;
        }
      }
      DrainCommands();
      ExpirePublishes();
      const auto left = std::chrono::duration_cast<milliseconds>(wake_at - Clock::now()).count();
      pollfd wake{wake_fd_, POLLIN, 0};
      poll(&wake, 1, static_cast<int>(std::clamp<int64_t>(left, 0, 100)));
      uint64_t drained = 0;
      [[maybe_unused]] ssize_t got = read(wake_fd_, &drained, sizeof(drained));
    }
    Status connected = Connect();
    if (connected.ok()) {
      Status declared = DeclareNow(remembered_);
      for (auto& [channel, consumer] : consumers_) {
        if (!declared.ok() || !connected_) {
          break;
        }
        Status started = StartConsumer(*consumer);
        if (!started.ok() && options_.logger != nullptr) {
          options_.logger->Error("amqp: a consumer could not be restarted",
                                 {{"queue", consumer->queue_}, {"error", started.ToString()}});
        }
      }
      if (connected_) {
        reconnects_.fetch_add(1);
        if (!declared.ok() && options_.logger != nullptr) {
          options_.logger->Error("amqp: declaring the topology again failed",
                                 {{"error", declared.ToString()}});
        }
        if (options_.logger != nullptr) {
          options_.logger->Info("amqp: reconnected", {{"url", redacted_url_}});
        }
        return;
      }
      connected = Status(ErrorCode::kUnavailable, "lost again while restoring the topology");
    }
    if (conn_ != nullptr) {
      amqp_destroy_connection(conn_);
      conn_ = nullptr;
    }
    connected_ = false;
    if (options_.logger != nullptr) {
      options_.logger->Warning("amqp: reconnect failed",
                               {{"url", redacted_url_}, {"error", connected.ToString()}});
    }
    backoff_ = std::min(backoff_ * 2, options_.reconnect_max_backoff);
  }
}

void AmqpBus::FailEverything(const Status& reason) {
  DrainCommands();  // commands answer kUnavailable or run against a closing connection
  for (PendingPublish& p : to_send_) {
    Resolve(p, reason);
  }
  to_send_.clear();
  for (auto& [seq, p] : in_flight_) {
    Resolve(p, reason);
  }
  in_flight_.clear();
}

void AmqpBus::IoLoop() {
  while (true) {
    {
      std::lock_guard lock(mu_);
      if (stop_) {
        break;
      }
    }
    if (!connected_) {
      Disconnect(Status(ErrorCode::kUnavailable, "connection lost"));
      ReconnectWithBackoff();
      continue;
    }
    DrainCommands();
    SendPublishes();
    Status frames = ReadFrames();
    if (!frames.ok() || !connected_) {
      Disconnect(frames.ok() ? Status(ErrorCode::kUnavailable, "connection lost") : frames);
      ReconnectWithBackoff();
      continue;
    }
    ExpirePublishes();
    if (options_.heartbeat.count() > 0 && Clock::now() - last_received_ > options_.heartbeat * 2) {
      Disconnect(Status(ErrorCode::kUnavailable, "no heartbeat from the broker"));
      ReconnectWithBackoff();
      continue;
    }
    // Sleep until the socket or a caller has something, unless work is already waiting.
    const bool can_send = !to_send_.empty() && in_flight_.size() < options_.max_in_flight;
    if (can_send || amqp_frames_enqueued(conn_) || amqp_data_in_buffer(conn_)) {
      continue;
    }
    {
      std::lock_guard lock(mu_);
      if (!incoming_.empty() || !settlements_.empty() || !commands_.empty() || stop_) {
        continue;
      }
      io_sleeping_ = true;
    }
    pollfd fds[2] = {{amqp_get_sockfd(conn_), POLLIN, 0}, {wake_fd_, POLLIN, 0}};
    const int wait_ms =
        options_.heartbeat.count() > 0
            ? static_cast<int>(std::min<int64_t>(
                  100, std::chrono::duration_cast<milliseconds>(options_.heartbeat).count() / 2))
            : 100;
    poll(fds, 2, wait_ms);
    {
      std::lock_guard lock(mu_);
      io_sleeping_ = false;
    }
    if ((fds[0].revents & POLLIN) != 0) {
      last_received_ = Clock::now();  // heartbeats too, which librabbitmq-c swallows
    }
    if ((fds[1].revents & POLLIN) != 0) {
      uint64_t drained = 0;
      [[maybe_unused]] ssize_t got = read(wake_fd_, &drained, sizeof(drained));
    }
  }
  // Closing: everything still pending fails, the connection says goodbye.
  FailEverything(Status(ErrorCode::kUnavailable, "the bus is closing"));
  if (conn_ != nullptr) {
    if (connected_) {
      amqp_connection_close(conn_, AMQP_REPLY_SUCCESS);
    }
    amqp_destroy_connection(conn_);
    conn_ = nullptr;
  }
  connected_ = false;
}

}  // namespace

Result<AmqpEndpoint> ParseAmqpUrl(std::string_view url) {
  std::string buffer(url);  // amqp_parse_url parses in place
  amqp_connection_info info{};
  amqp_default_connection_info(&info);
  const int rc = amqp_parse_url(buffer.data(), &info);
  if (rc != AMQP_STATUS_OK) {
    return BadParametersError("malformed AMQP URL '" + RedactedUrl(url) +
                              "': " + amqp_error_string2(rc) +
                              " (expected amqp[s]://user:password@host:port/vhost)");
  }
  AmqpEndpoint endpoint;
  endpoint.host = info.host != nullptr ? info.host : "";
  endpoint.port = info.port;
  endpoint.user = info.user != nullptr ? info.user : "";
  endpoint.password = info.password != nullptr ? info.password : "";
  endpoint.vhost = info.vhost != nullptr ? info.vhost : "/";
  endpoint.tls = info.ssl != 0;
  if (endpoint.host.empty()) {
    return BadParametersError("AMQP URL '" + RedactedUrl(url) + "' names no host");
  }
  return endpoint;
}

Result<std::unique_ptr<Bus>> OpenAmqpBus(std::string_view url, BusOptions options) {
  CLOUDIFY_ASSIGN_OR_RETURN(AmqpEndpoint endpoint, ParseAmqpUrl(url));
  auto bus = std::make_unique<AmqpBus>(std::move(endpoint), RedactedUrl(url), std::move(options));
  CLOUDIFY_RETURN_IF_ERROR(bus->Start());
  return std::unique_ptr<Bus>(std::move(bus));
}

}  // namespace cloudify::messaging::amqp
