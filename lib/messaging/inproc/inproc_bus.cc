#include "messaging/inproc/inproc_bus.h"

#include <algorithm>
#include <atomic>
#include <condition_variable>
#include <deque>
#include <map>
#include <mutex>
#include <optional>
#include <shared_mutex>
#include <string>
#include <thread>
#include <utility>
#include <vector>

#include "messaging/request_client.h"

namespace cloudify::messaging::inproc {
namespace {

// A message waiting in a queue or held by a consumer. The message is shared: fanout and
// requeue never copy the body.
struct Envelope {
  std::shared_ptr<const Message> message;
  std::shared_ptr<const std::string> exchange;
  std::string routing_key;
  bool redelivered = false;
};

struct QueueState;

// A consumer's unacked envelopes by delivery tag. Its tags are handed out consecutively, so a
// deque starting at the oldest unsettled tag does what a hash map would, without allocating per
// message.
class UnackedWindow {
 public:
  void Add(uint64_t tag, Envelope envelope) {
    if (slots_.empty()) {
      base_ = tag;
    }
    if (tag - base_ > slots_.size()) {
      slots_.resize(tag - base_);  // tags skipped (none today: they are consecutive)
    }
    slots_.emplace_back(std::move(envelope));
    ++count_;
  }
  Envelope* Find(uint64_t tag) {
    if (tag < base_ || tag - base_ >= slots_.size() || !slots_[tag - base_].has_value()) {
      return nullptr;
    }
    return &*slots_[tag - base_];
  }
  void Erase(uint64_t tag) {
    slots_[tag - base_].reset();
    --count_;
    while (!slots_.empty() && !slots_.front().has_value()) {
      slots_.pop_front();
      ++base_;
    }
  }
  size_t size() const { return count_; }
  // Moves every unacked envelope out, oldest first.
  std::vector<std::pair<uint64_t, Envelope>> TakeAll() {
    std::vector<std::pair<uint64_t, Envelope>> all;
    for (size_t i = 0; i < slots_.size(); ++i) {
      if (slots_[i].has_value()) {
        all.emplace_back(base_ + i, std::move(*slots_[i]));
      }
    }
    slots_.clear();
    count_ = 0;
    return all;
  }

 private:
  std::deque<std::optional<Envelope>> slots_;
  uint64_t base_ = 0;
  size_t count_ = 0;
};

// One consumer. Everything but the handler and the thread is guarded by its queue's mutex.
class ConsumerState final : public Delivery::Settler,
                            public std::enable_shared_from_this<ConsumerState> {
 public:
  ConsumerState(std::shared_ptr<QueueState> queue, ConsumeOptions options, DeliveryHandler handler,
                std::shared_ptr<std::atomic<uint64_t>> delivered)
      : queue_(std::move(queue)),
        options_(options),
        handler_(std::move(handler)),
        delivered_(std::move(delivered)) {}

  Status Ack(uint64_t delivery_tag) override;
  Status Nack(uint64_t delivery_tag, bool requeue) override;

  bool HasCapacity() const {
    return options_.auto_ack || options_.prefetch == 0 || unacked_.size() < options_.prefetch;
  }

  void RunDispatchLoop();
  void Handle(uint64_t tag, const Envelope& envelope);

  std::shared_ptr<QueueState> queue_;
  const ConsumeOptions options_;
  DeliveryHandler handler_;
  std::shared_ptr<std::atomic<uint64_t>> delivered_;  // the Bus's counter
  std::thread thread_;
  std::atomic<bool> stopping_{false};
  // Set (under queue_->mu) when the inbox gets work; read without the lock while spinning.
  std::atomic<bool> has_work_{false};
  // Guarded by queue_->mu.
  std::condition_variable wake_;
  bool sleeping_ = false;  // waiting on wake_: a publish must notify it
  std::deque<std::pair<uint64_t, Envelope>> inbox_;
  UnackedWindow unacked_;
  uint64_t next_tag_ = 1;
  bool attached_ = true;
};

// An inline delivery collected under a lock and handed to its handler after the lock is gone.
struct InlineDelivery {
  std::shared_ptr<ConsumerState> consumer;
  uint64_t tag;
  Envelope envelope;
};

struct QueueState {
  explicit QueueState(QueueSpec spec_in, const void* owner_in)
      : spec(std::move(spec_in)), owner(owner_in) {}

  const QueueSpec spec;
  const void* const owner;  // the Bus of an exclusive queue
  std::mutex mu;
  std::deque<Envelope> ready;
  std::vector<std::shared_ptr<ConsumerState>> consumers;
  size_t next_consumer = 0;
  bool deleted = false;
  bool had_consumer = false;

  // Hands ready messages to consumers with capacity, round robin. Requires mu. Consumers to
  // wake go to `wake`, deliveries for bus-thread handlers to `inline_out`.
  void Pump(std::vector<std::shared_ptr<ConsumerState>>& wake,
            std::vector<InlineDelivery>& inline_out) {
    while (!ready.empty() && !consumers.empty()) {
      ConsumerState* chosen = nullptr;
      for (size_t i = 0; i < consumers.size(); ++i) {
        ConsumerState* candidate = consumers[(next_consumer + i) % consumers.size()].get();
        if (candidate->HasCapacity()) {
          chosen = candidate;
          next_consumer = (next_consumer + i + 1) % consumers.size();
          break;
        }
      }
      if (chosen == nullptr) {
        return;
      }
      Envelope envelope = std::move(ready.front());
      ready.pop_front();
      const uint64_t tag = chosen->next_tag_++;
      if (!chosen->options_.auto_ack) {
        chosen->unacked_.Add(tag, envelope);
      }
      if (chosen->options_.dispatch_on_bus_thread) {
        inline_out.push_back({chosen->shared_from_this(), tag, std::move(envelope)});
      } else {
        if (chosen->sleeping_) {
          chosen->sleeping_ = false;  // one notify is enough
          wake.push_back(chosen->shared_from_this());
        }
        chosen->inbox_.emplace_back(tag, std::move(envelope));
        chosen->has_work_.store(true, std::memory_order_release);
      }
    }
  }
};

// Runs after every lock is released: wakes dispatch threads, runs bus-thread handlers.
void Deliver(const std::vector<std::shared_ptr<ConsumerState>>& wake,
             std::vector<InlineDelivery>& inline_out) {
  for (const auto& consumer : wake) {
    consumer->wake_.notify_one();
  }
  for (InlineDelivery& item : inline_out) {
    item.consumer->Handle(item.tag, item.envelope);
  }
}

void ConsumerState::Handle(uint64_t tag, const Envelope& envelope) {
  delivered_->fetch_add(1, std::memory_order_relaxed);
  handler_(Delivery(envelope.message, *envelope.exchange, envelope.routing_key,
                    envelope.redelivered, tag, options_.auto_ack ? nullptr : shared_from_this()));
}

void ConsumerState::RunDispatchLoop() {
  // Spinning this long before sleeping saves a futex wake-up per message when publisher and
  // consumer run at about the same pace (tens of microseconds at most).
  constexpr int kSpins = 2000;
  std::deque<std::pair<uint64_t, Envelope>> batch;
  std::unique_lock lock(queue_->mu);
  while (true) {
    if (inbox_.empty() && !stopping_.load()) {
      lock.unlock();
      for (int i = 0; i < kSpins && !has_work_.load(std::memory_order_acquire) &&
                      !stopping_.load(std::memory_order_relaxed);
           ++i) {
#if defined(__x86_64__) || defined(__i386__)
        __builtin_ia32_pause();
#endif
      }
      lock.lock();
      sleeping_ = true;
      wake_.wait(lock, [&] { return stopping_.load() || !inbox_.empty(); });
      sleeping_ = false;
    }
    if (stopping_.load()) {
      return;
    }
    batch.swap(inbox_);
    has_work_.store(false, std::memory_order_relaxed);
    lock.unlock();
    while (!batch.empty()) {
      if (stopping_.load()) {
        // Not handed out: back to the front of the inbox, the close requeues them.
        lock.lock();
        for (auto it = batch.rbegin(); it != batch.rend(); ++it) {
          inbox_.push_front(std::move(*it));
        }
        return;
      }
      Handle(batch.front().first, batch.front().second);
      batch.pop_front();
    }
    lock.lock();
  }
}

Status ConsumerState::Ack(uint64_t delivery_tag) {
  std::vector<std::shared_ptr<ConsumerState>> wake;
  std::vector<InlineDelivery> inline_out;
  {
    std::lock_guard lock(queue_->mu);
    if (!attached_) {
      return Status(ErrorCode::kIllegalAction,
                    "cannot ack delivery " + std::to_string(delivery_tag) + " of queue '" +
                        queue_->spec.name + "': its subscription is gone (it was requeued)");
    }
    if (unacked_.Find(delivery_tag) == nullptr) {
      return Status(ErrorCode::kIllegalAction, "delivery " + std::to_string(delivery_tag) +
                                                   " of queue '" + queue_->spec.name +
                                                   "' is already settled");
    }
    unacked_.Erase(delivery_tag);
    queue_->Pump(wake, inline_out);
  }
  Deliver(wake, inline_out);
  return Status::Ok();
}

Status ConsumerState::Nack(uint64_t delivery_tag, bool requeue) {
  std::vector<std::shared_ptr<ConsumerState>> wake;
  std::vector<InlineDelivery> inline_out;
  {
    std::lock_guard lock(queue_->mu);
    if (!attached_) {
      return Status(ErrorCode::kIllegalAction,
                    "cannot nack delivery " + std::to_string(delivery_tag) + " of queue '" +
                        queue_->spec.name + "': its subscription is gone (it was requeued)");
    }
    Envelope* envelope = unacked_.Find(delivery_tag);
    if (envelope == nullptr) {
      return Status(ErrorCode::kIllegalAction, "delivery " + std::to_string(delivery_tag) +
                                                   " of queue '" + queue_->spec.name +
                                                   "' is already settled");
    }
    if (requeue && !queue_->deleted) {
      envelope->redelivered = true;
      queue_->ready.push_front(std::move(*envelope));
    }
    unacked_.Erase(delivery_tag);
    queue_->Pump(wake, inline_out);
  }
  Deliver(wake, inline_out);
  return Status::Ok();
}

struct ExchangeState {
  ExchangeSpec spec;
  std::shared_ptr<const std::string> name;
  std::vector<std::pair<std::string, std::shared_ptr<QueueState>>> bindings;  // key, queue
};

// The shared broker state: topology under an rw-lock, messages under each queue's mutex.
class Broker {
 public:
  std::shared_mutex topology_mu;
  std::map<std::string, ExchangeState, std::less<>> exchanges;
  std::map<std::string, std::shared_ptr<QueueState>, std::less<>> queues;
  const std::shared_ptr<const std::string> default_exchange_name =
      std::make_shared<const std::string>();
};

std::mutex registry_mu;
std::map<std::string, std::weak_ptr<Broker>, std::less<>>& Registry() {
  static auto* registry = new std::map<std::string, std::weak_ptr<Broker>, std::less<>>();
  return *registry;
}

std::string_view TypeName(ExchangeType type) {
  switch (type) {
    case ExchangeType::kDirect:
      return "direct";
    case ExchangeType::kFanout:
      return "fanout";
    case ExchangeType::kTopic:
      return "topic";
  }
  return "unknown";
}

class InprocSubscription final : public Subscription {
 public:
  InprocSubscription(std::shared_ptr<Broker> broker, std::shared_ptr<ConsumerState> consumer)
      : broker_(std::move(broker)), consumer_(std::move(consumer)) {}
  ~InprocSubscription() override { Close(); }

  const std::string& queue() const override { return consumer_->queue_->spec.name; }

 private:
  void Close();

  std::shared_ptr<Broker> broker_;
  std::shared_ptr<ConsumerState> consumer_;
};

void InprocSubscription::Close() {
  ConsumerState& consumer = *consumer_;
  QueueState& queue = *consumer.queue_;
  {
    std::lock_guard lock(queue.mu);
    consumer.stopping_ = true;
  }
  consumer.wake_.notify_all();
  if (consumer.thread_.joinable()) {
    consumer.thread_.join();  // a running handler finishes first
  }
  std::vector<std::shared_ptr<ConsumerState>> wake;
  std::vector<InlineDelivery> inline_out;
  bool delete_queue = false;
  {
    std::lock_guard lock(queue.mu);
    consumer.attached_ = false;
    std::erase(queue.consumers, consumer_);
    // Unacked deliveries go back to the front of the queue in their original order.
    std::vector<std::pair<uint64_t, Envelope>> back = consumer.unacked_.TakeAll();
    if (consumer.options_.auto_ack) {
      for (auto& item : consumer.inbox_) {
        back.push_back(std::move(item));
      }
    }
    consumer.inbox_.clear();
    std::sort(back.begin(), back.end(),
              [](const auto& a, const auto& b) { return a.first > b.first; });
    if (!queue.deleted) {
      for (auto& [tag, envelope] : back) {
        envelope.redelivered = true;
        queue.ready.push_front(std::move(envelope));
      }
    }
    queue.Pump(wake, inline_out);
    delete_queue = queue.spec.auto_delete && queue.consumers.empty() && !queue.deleted;
  }
  Deliver(wake, inline_out);
  if (delete_queue) {
    std::unique_lock topology_lock(broker_->topology_mu);
    auto it = broker_->queues.find(queue.spec.name);
    if (it != broker_->queues.end() && it->second.get() == &queue) {
      std::lock_guard lock(queue.mu);
      if (queue.consumers.empty()) {
        queue.deleted = true;
        queue.ready.clear();
        broker_->queues.erase(it);
        for (auto& [name, exchange] : broker_->exchanges) {
          std::erase_if(exchange.bindings,
                        [&](const auto& binding) { return binding.second.get() == &queue; });
        }
      }
    }
  }
}

class InprocBus final : public Bus {
 public:
  InprocBus(std::shared_ptr<Broker> broker, BusOptions options)
      : broker_(std::move(broker)), options_(std::move(options)), requests_(*this) {}
  ~InprocBus() override;

  Status Declare(const Topology& topology) override;
  Status DeleteQueue(std::string_view queue, bool if_empty) override;
  void PublishAsync(std::string_view exchange, std::string_view routing_key, Message message,
                    PublishCallback done) override;
  Status WaitForConfirms(std::chrono::milliseconds /*timeout*/) override {
    return Status::Ok();  // publishes resolve before PublishAsync returns
  }
  Result<std::unique_ptr<Subscription>> Consume(std::string_view queue, ConsumeOptions options,
                                                DeliveryHandler handler) override;
  Result<Message> Request(std::string_view exchange, std::string_view routing_key, Message request,
                          std::chrono::milliseconds timeout) override {
    return requests_.Request(exchange, routing_key, std::move(request), timeout);
  }
  BusStats Stats() const override {
    return {.published = published_.load(),
            .publish_failures = publish_failures_.load(),
            .delivered = delivered_->load(),
            .reconnects = 0};
  }

 private:
  Status Route(std::string_view exchange, std::string_view routing_key, Message message);
  void Resolve(const PublishCallback& done, Status status) {
    (status.ok() ? published_ : publish_failures_).fetch_add(1, std::memory_order_relaxed);
    if (done) {
      done(std::move(status));
    }
  }

  std::shared_ptr<Broker> broker_;
  BusOptions options_;
  RequestClient requests_;
  std::atomic<uint64_t> published_{0};
  std::atomic<uint64_t> publish_failures_{0};
  std::shared_ptr<std::atomic<uint64_t>> delivered_ = std::make_shared<std::atomic<uint64_t>>(0);
};

InprocBus::~InprocBus() {
  requests_.Close();
  // Exclusive queues die with the connection that declared them.
  std::unique_lock topology_lock(broker_->topology_mu);
  for (auto it = broker_->queues.begin(); it != broker_->queues.end();) {
    if (it->second->owner == this) {
      const std::shared_ptr<QueueState> queue = it->second;  // outlives the map entry
      {
        std::lock_guard lock(queue->mu);
        queue->deleted = true;
        queue->ready.clear();
      }
      for (auto& [name, exchange] : broker_->exchanges) {
        std::erase_if(exchange.bindings,
                      [&](const auto& binding) { return binding.second == queue; });
      }
      it = broker_->queues.erase(it);
    } else {
      ++it;
    }
  }
}

Status InprocBus::Declare(const Topology& topology) {
  std::unique_lock topology_lock(broker_->topology_mu);
  for (const ExchangeSpec& spec : topology.exchanges) {
    if (spec.name.empty()) {
      return BadParametersError("an exchange name must not be empty (\"\" is the default one)");
    }
    auto it = broker_->exchanges.find(spec.name);
    if (it != broker_->exchanges.end()) {
      if (it->second.spec != spec) {
        return ConflictError("exchange '" + spec.name + "' already exists as " +
                             std::string(TypeName(it->second.spec.type)) +
                             (it->second.spec.durable ? ", durable" : ", transient") +
                             (it->second.spec.auto_delete ? ", auto-delete" : "") +
                             ", which differs from this declaration");
      }
      continue;
    }
    broker_->exchanges.emplace(
        spec.name, ExchangeState{spec, std::make_shared<const std::string>(spec.name), {}});
  }
  for (const QueueSpec& spec : topology.queues) {
    if (spec.name.empty()) {
      return BadParametersError("a queue name must not be empty");
    }
    auto it = broker_->queues.find(spec.name);
    if (it != broker_->queues.end()) {
      if (it->second->spec.exclusive && it->second->owner != this) {
        return ConflictError("queue '" + spec.name + "' is exclusive to another connection");
      }
      if (it->second->spec != spec) {
        return ConflictError("queue '" + spec.name +
                             "' already exists with other durable/exclusive/auto-delete flags");
      }
      continue;
    }
    broker_->queues.emplace(spec.name,
                            std::make_shared<QueueState>(spec, spec.exclusive ? this : nullptr));
  }
  for (const BindingSpec& binding : topology.bindings) {
    auto exchange = broker_->exchanges.find(binding.exchange);
    if (exchange == broker_->exchanges.end()) {
      return NotFoundError("cannot bind queue '" + binding.queue + "': no exchange '" +
                           binding.exchange + "'");
    }
    auto queue = broker_->queues.find(binding.queue);
    if (queue == broker_->queues.end()) {
      return NotFoundError("cannot bind to exchange '" + binding.exchange + "': no queue '" +
                           binding.queue + "'");
    }
    auto& bindings = exchange->second.bindings;
    const bool exists = std::any_of(bindings.begin(), bindings.end(), [&](const auto& b) {
      return b.first == binding.routing_key && b.second == queue->second;
    });
    if (!exists) {
      bindings.emplace_back(binding.routing_key, queue->second);
    }
  }
  return Status::Ok();
}

Status InprocBus::DeleteQueue(std::string_view name, bool if_empty) {
  std::unique_lock topology_lock(broker_->topology_mu);
  auto it = broker_->queues.find(name);
  if (it == broker_->queues.end()) {
    return Status::Ok();
  }
  std::shared_ptr<QueueState> queue = it->second;
  std::lock_guard lock(queue->mu);
  if (queue->spec.exclusive && queue->owner != this) {
    return ConflictError("queue '" + std::string(name) + "' is exclusive to another connection");
  }
  if (if_empty && !queue->ready.empty()) {
    return ConflictError("queue '" + std::string(name) + "' holds " +
                         std::to_string(queue->ready.size()) + " messages; not deleted");
  }
  queue->deleted = true;
  queue->ready.clear();
  broker_->queues.erase(it);
  for (auto& [exchange_name, exchange] : broker_->exchanges) {
    std::erase_if(exchange.bindings, [&](const auto& binding) { return binding.second == queue; });
  }
  return Status::Ok();
}

Status InprocBus::Route(std::string_view exchange, std::string_view routing_key, Message message) {
  auto shared = std::make_shared<const Message>(std::move(message));
  std::vector<std::shared_ptr<ConsumerState>> wake;
  std::vector<InlineDelivery> inline_out;
  std::shared_lock topology_lock(broker_->topology_mu);
  auto enqueue = [&](QueueState& queue, const std::shared_ptr<const std::string>& name) {
    std::lock_guard lock(queue.mu);
    if (queue.deleted) {
      return;
    }
    queue.ready.push_back(Envelope{shared, name, std::string(routing_key), false});
    queue.Pump(wake, inline_out);
  };
  if (exchange.empty()) {
    auto queue = broker_->queues.find(routing_key);
    if (queue != broker_->queues.end()) {
      enqueue(*queue->second, broker_->default_exchange_name);
    }
  } else {
    auto found = broker_->exchanges.find(exchange);
    if (found == broker_->exchanges.end()) {
      return NotFoundError("no exchange '" + std::string(exchange) + "' to publish to");
    }
    const ExchangeState& state = found->second;
    std::vector<QueueState*> targets;
    for (const auto& [key, queue] : state.bindings) {
      const bool matches =
          state.spec.type == ExchangeType::kFanout ||
          (state.spec.type == ExchangeType::kDirect && key == routing_key) ||
          (state.spec.type == ExchangeType::kTopic && TopicMatches(key, routing_key));
      // A queue bound twice (two matching keys) still gets the message once.
      if (matches && std::find(targets.begin(), targets.end(), queue.get()) == targets.end()) {
        targets.push_back(queue.get());
      }
    }
    for (QueueState* queue : targets) {
      enqueue(*queue, state.name);
    }
  }
  topology_lock.unlock();
  Deliver(wake, inline_out);
  return Status::Ok();
}

void InprocBus::PublishAsync(std::string_view exchange, std::string_view routing_key,
                             Message message, PublishCallback done) {
  if (message.body.size() > options_.max_message_bytes) {
    Resolve(done, Status(ErrorCode::kPayloadTooLarge,
                         "message of " + std::to_string(message.body.size()) +
                             " bytes for exchange '" + std::string(exchange) + "' routing key '" +
                             std::string(routing_key) + "' exceeds the limit of " +
                             std::to_string(options_.max_message_bytes) + " bytes"));
    return;
  }
  Resolve(done, Route(exchange, routing_key, std::move(message)));
}

Result<std::unique_ptr<Subscription>> InprocBus::Consume(std::string_view queue_name,
                                                         ConsumeOptions options,
                                                         DeliveryHandler handler) {
  if (!handler) {
    return BadParametersError("Consume needs a handler");
  }
  std::shared_lock topology_lock(broker_->topology_mu);
  auto found = broker_->queues.find(queue_name);
  if (found == broker_->queues.end()) {
    return NotFoundError("no queue '" + std::string(queue_name) + "' to consume from");
  }
  std::shared_ptr<QueueState> queue = found->second;
  auto consumer = std::make_shared<ConsumerState>(queue, options, std::move(handler), delivered_);
  std::vector<std::shared_ptr<ConsumerState>> wake;
  std::vector<InlineDelivery> inline_out;
  {
    std::lock_guard lock(queue->mu);
    if (queue->spec.exclusive && queue->owner != this) {
      return ConflictError("queue '" + std::string(queue_name) +
                           "' is exclusive to another connection");
    }
    const bool exclusive_taken = std::any_of(queue->consumers.begin(), queue->consumers.end(),
                                             [](const auto& c) { return c->options_.exclusive; });
    if (exclusive_taken || (options.exclusive && !queue->consumers.empty())) {
      return ConflictError("queue '" + std::string(queue_name) +
                           "' has an exclusive consumer, or consumers that prevent one");
    }
    if (!options.dispatch_on_bus_thread) {
      consumer->thread_ = std::thread([c = consumer.get()] { c->RunDispatchLoop(); });
    }
    queue->consumers.push_back(consumer);
    queue->had_consumer = true;
    queue->Pump(wake, inline_out);
  }
  topology_lock.unlock();
  auto subscription = std::make_unique<InprocSubscription>(broker_, consumer);
  Deliver(wake, inline_out);
  return std::unique_ptr<Subscription>(std::move(subscription));
}

}  // namespace

bool TopicMatches(std::string_view pattern, std::string_view key) {
  // Words are separated by '.'; '#' matches zero or more words, '*' exactly one.
  auto split = [](std::string_view text) {
    std::vector<std::string_view> words;
    size_t start = 0;
    while (true) {
      size_t dot = text.find('.', start);
      words.push_back(text.substr(start, dot == std::string_view::npos ? dot : dot - start));
      if (dot == std::string_view::npos) {
        return words;
      }
      start = dot + 1;
    }
  };
  const std::vector<std::string_view> p = split(pattern);
  const std::vector<std::string_view> k =
      key.empty() ? std::vector<std::string_view>{} : split(key);
  // match[i][j]: p[i..] matches k[j..].
  std::vector<std::vector<char>> match(p.size() + 1, std::vector<char>(k.size() + 1, 0));
  match[p.size()][k.size()] = 1;
  for (size_t i = p.size(); i-- > 0;) {
    for (size_t j = k.size() + 1; j-- > 0;) {
      if (p[i] == "#") {
        match[i][j] = match[i + 1][j] || (j < k.size() && match[i][j + 1]);
      } else if (j < k.size() && (p[i] == "*" || p[i] == k[j])) {
        match[i][j] = match[i + 1][j + 1];
      }
    }
  }
  return match[0][0] != 0;
}

Result<std::unique_ptr<Bus>> OpenInprocBus(std::string_view name, BusOptions options) {
  std::shared_ptr<Broker> broker;
  if (name.empty()) {
    broker = std::make_shared<Broker>();
  } else {
    std::lock_guard lock(registry_mu);
    auto& registry = Registry();
    auto it = registry.find(name);
    if (it != registry.end()) {
      broker = it->second.lock();
    }
    if (broker == nullptr) {
      std::erase_if(registry, [](const auto& entry) { return entry.second.expired(); });
      broker = std::make_shared<Broker>();
      registry.insert_or_assign(std::string(name), broker);
    }
  }
  auto bus = std::make_unique<InprocBus>(std::move(broker), options);
  CLOUDIFY_RETURN_IF_ERROR(
      bus->Declare(options.topology).WithContext("declaring the topology on connect"));
  return std::unique_ptr<Bus>(std::move(bus));
}

}  // namespace cloudify::messaging::inproc
