#include "messaging/inproc/inproc_bus.h"

#if defined(__linux__)
#include <sched.h>
#endif

#include <algorithm>
#include <array>
#include <atomic>
#include <chrono>
#include <condition_variable>
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

// Publisher and consumers usually run on different cores: state that one side writes per
// message is kept off the cache lines the other side reads.
constexpr size_t kCacheLine = 64;

// The name of an exchange, shared by its messages. Aligned so that the reference count, which
// the publisher changes per message, is not on the line consumers read the name from.
struct alignas(kCacheLine) ExchangeName {
  std::string value;
};

// A message waiting in a queue or held by a consumer. The message is shared: fanout and
// requeue never copy the body.
struct Envelope {
  std::shared_ptr<const Message> message;
  std::shared_ptr<const ExchangeName> exchange;
  std::string routing_key;
  bool redelivered = false;
};

// A double-ended queue in one circular buffer that doubles when full. std::deque allocates and
// frees a block every few elements as it moves along, which for a busy queue is an allocation
// per few messages, often freed on another thread than the one that made it.
template <typename T>
class Ring {
 public:
  bool empty() const { return size_ == 0; }
  size_t size() const { return size_; }
  T& operator[](size_t i) { return slots_[(head_ + i) & (slots_.size() - 1)]; }
  T& front() { return slots_[head_]; }
  void push_back(T value) {
    Reserve();
    (*this)[size_] = std::move(value);
    ++size_;
  }
  void push_front(T value) {
    Reserve();
    head_ = (head_ + slots_.size() - 1) & (slots_.size() - 1);
    slots_[head_] = std::move(value);
    ++size_;
  }
  void pop_front() {
    slots_[head_] = T();
    head_ = (head_ + 1) & (slots_.size() - 1);
    --size_;
  }
  void clear() {
    slots_.clear();
    head_ = 0;
    size_ = 0;
  }
  // Releases the buffer a backlog left, when empty. Not done on every emptying: a busy queue
  // empties and refills all the time, and a large buffer comes from mmap, whose every new
  // page faults.
  void Trim() {
    if (size_ == 0 && slots_.size() > kKeepSlots) {
      clear();
      slots_.shrink_to_fit();
    }
  }

 private:
  static constexpr size_t kKeepSlots = size_t{1} << 12;

  void Reserve() {
    if (size_ < slots_.size()) {
      return;
    }
    std::vector<T> bigger(std::max<size_t>(16, slots_.size() * 2));
    for (size_t i = 0; i < size_; ++i) {
      bigger[i] = std::move((*this)[i]);
    }
    slots_.swap(bigger);
    head_ = 0;
  }

  std::vector<T> slots_;  // size is 0 or a power of two
  size_t head_ = 0;
  size_t size_ = 0;
};

struct QueueState;

// A consumer's unacked envelopes by delivery tag. Its tags are handed out consecutively, so a
// ring starting at the oldest unsettled tag does what a hash map would, without allocating per
// message.
class UnackedWindow {
 public:
  void Add(uint64_t tag, Envelope envelope) {
    if (slots_.empty()) {
      base_ = tag;
    }
    while (tag - base_ > slots_.size()) {
      slots_.push_back(std::nullopt);  // tags skipped (none today: they are consecutive)
    }
    slots_.push_back(std::move(envelope));
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
  void Trim() { slots_.Trim(); }
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
  Ring<std::optional<Envelope>> slots_;
  uint64_t base_ = 0;
  size_t count_ = 0;
};

class ConsumerState;

// An inline delivery collected under a lock and handed to its handler after the lock is gone.
struct InlineDelivery {
  std::shared_ptr<ConsumerState> consumer;
  uint64_t tag;
  Envelope envelope;
};

// What a holder of a queue's mutex found to do once the mutex is released.
struct AfterUnlock {
  std::vector<std::shared_ptr<ConsumerState>> wake;
  std::vector<InlineDelivery> inline_deliveries;

  bool empty() const { return wake.empty() && inline_deliveries.empty(); }
  // Wakes dispatch threads, runs bus-thread handlers. Requires no lock held.
  void Run();
};

// Frees an empty vector's buffer when a backlog made it large.
template <typename T>
void ReleaseIfLarge(std::vector<T>& items) {
  if (items.empty() && items.capacity() > 4096) {
    std::vector<T>().swap(items);
  }
}

// The CPU this thread runs on, or -1 when unknown.
int CurrentCpu() {
#if defined(__linux__)
  return sched_getcpu();
#else
  return -1;
#endif
}

// The consumer whose dispatch thread this is, if any: its handler's acks take the fast path.
thread_local const ConsumerState* t_dispatching = nullptr;

// One consumer. Its fields are grouped by who may touch them; the groups are on separate cache
// lines so that the publisher's work under the queue's mutex and the dispatch thread's work
// outside it do not slow each other down.
class alignas(kCacheLine) ConsumerState final : public Delivery::Settler,
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

  // Requires the queue's mutex.
  bool HasCapacity() const {
    return options_.auto_ack || options_.prefetch == 0 || outstanding_ < options_.prefetch;
  }

  void RunDispatchLoop();
  void Handle(uint64_t tag, const Envelope& envelope);

  // Set at construction, then read-only (but thread_, which Consume and Close own).
  std::shared_ptr<QueueState> queue_;
  const ConsumeOptions options_;
  DeliveryHandler handler_;
  std::shared_ptr<std::atomic<uint64_t>> delivered_;  // the Bus's counter
  std::thread thread_;

  // Guarded by queue_->mu.
  alignas(kCacheLine) std::vector<std::pair<uint64_t, Envelope>> inbox_;
  // Handed to this consumer and not yet settled, or settled by its own handlers and not yet
  // counted back (`credits_`): what the prefetch limit counts.
  size_t outstanding_ = 0;
  uint64_t next_tag_ = 1;
  bool sleeping_ = false;  // waiting on wake_: a publish must notify it
  int waker_cpu_ = -1;     // the CPU the last notify came from
  std::condition_variable wake_;
  std::atomic<bool> stopping_{false};  // also read without the lock
  // Set when the inbox gets work; read without the lock while spinning.
  std::atomic<bool> has_work_{false};

  // Guarded by settle_mu_. Never taken before the queue's mutex is, when both are held.
  alignas(kCacheLine) std::mutex settle_mu_;
  UnackedWindow unacked_;
  bool attached_ = true;

  // The dispatch thread's own (then Close's, once it has joined the thread).
  alignas(kCacheLine) std::vector<std::pair<uint64_t, Envelope>> batch_;
  std::vector<Delivery> deliveries_;
  // Acks by this consumer's handlers, on its dispatch thread, not yet counted back in
  // outstanding_: they are counted back per batch, under one lock acquisition.
  size_t credits_ = 0;
  // Settled envelopes, handed back to the queue for its next publisher to free (see
  // QueueState::recycle).
  std::vector<Envelope> garbage_;
  size_t garbage_bytes_ = 0;  // of the bodies in garbage_
  void FreeGarbage() {
    garbage_.clear();
    garbage_bytes_ = 0;
  }
  AfterUnlock after_;

 private:
  void DispatchBatch();
  void Discard(Envelope envelope) {
    garbage_bytes_ += envelope.message->body.size();
    garbage_.push_back(std::move(envelope));
  }
  // Requires the queue's mutex.
  void SettleBatch();
};

struct QueueState {
  explicit QueueState(QueueSpec spec_in, const void* owner_in)
      : spec(std::move(spec_in)), owner(owner_in) {}

  const QueueSpec spec;
  const void* const owner;  // the Bus of an exclusive queue
  std::mutex mu;
  Ring<Envelope> ready;
  std::vector<std::shared_ptr<ConsumerState>> consumers;
  size_t next_consumer = 0;
  bool deleted = false;
  bool had_consumer = false;
  // Messages its consumers are done with. Each publish to the queue frees one of them (two
  // while many wait) on its own thread: messages are mostly allocated by publishers, and
  // memory freed on the thread that allocated it, one block per block allocated, is reused
  // from that thread's cache instead of contending for the allocator's locks (or being
  // returned to the system in bulk and faulted in again). A consumer idle for a while frees
  // what is left; a consumer finding it full frees its own.
  std::vector<Envelope> recycle;
  size_t recycle_bytes = 0;  // of the bodies in `recycle`
  static constexpr size_t kMaxRecycle = 4096;
  static constexpr size_t kMaxRecycleBytes = size_t{4} << 20;
  static constexpr size_t kRecycleBacklog = 256;

  // Requires mu.
  void Delete() {
    deleted = true;
    ready.clear();
    recycle.clear();
    recycle_bytes = 0;
  }

  // Hands ready messages to consumers with capacity, round robin. Requires mu. What to do
  // after unlocking goes to `after`.
  void Pump(AfterUnlock& after) {
    if (next_consumer >= consumers.size()) {
      next_consumer = 0;  // consumers went
    }
    // A single active consumer is the earliest still there; the others wait for it to go.
    const size_t candidates = spec.single_active_consumer ? 1 : consumers.size();
    while (!ready.empty() && !consumers.empty()) {
      if (spec.single_active_consumer) {
        next_consumer = 0;
      }
      ConsumerState* chosen = nullptr;
      for (size_t i = 0; i < candidates; ++i) {
        size_t index = next_consumer + i;
        if (index >= consumers.size()) {
          index -= consumers.size();
        }
        ConsumerState* candidate = consumers[index].get();
        if (candidate->HasCapacity()) {
          chosen = candidate;
          next_consumer = index + 1 == consumers.size() ? 0 : index + 1;
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
        ++chosen->outstanding_;
      }
      if (chosen->options_.dispatch_on_bus_thread) {
        if (!chosen->options_.auto_ack) {
          std::lock_guard settle_lock(chosen->settle_mu_);
          chosen->unacked_.Add(tag, envelope);
        }
        after.inline_deliveries.push_back({chosen->shared_from_this(), tag, std::move(envelope)});
      } else {
        // A dispatch thread registers its unacked deliveries itself, once per batch.
        if (chosen->sleeping_) {
          chosen->sleeping_ = false;  // one notify is enough
          chosen->waker_cpu_ = CurrentCpu();
          after.wake.push_back(chosen->shared_from_this());
        }
        chosen->inbox_.emplace_back(tag, std::move(envelope));
        if (!chosen->has_work_.load(std::memory_order_relaxed)) {
          chosen->has_work_.store(true, std::memory_order_release);
        }
      }
    }
  }
};

void AfterUnlock::Run() {
  for (const auto& consumer : wake) {
    consumer->wake_.notify_one();
  }
  wake.clear();
  for (InlineDelivery& item : inline_deliveries) {
    item.consumer->Handle(item.tag, item.envelope);
  }
  inline_deliveries.clear();
}

void ConsumerState::Handle(uint64_t tag, const Envelope& envelope) {
  delivered_->fetch_add(1, std::memory_order_relaxed);
  handler_(Delivery(envelope.message, envelope.exchange->value, envelope.routing_key,
                    envelope.redelivered, tag, options_.auto_ack ? nullptr : shared_from_this()));
}

void ConsumerState::SettleBatch() {
  outstanding_ -= credits_;
  const bool freed = credits_ != 0;
  credits_ = 0;
  QueueState& queue = *queue_;
  if (!garbage_.empty() && queue.recycle.size() + garbage_.size() <= QueueState::kMaxRecycle &&
      queue.recycle_bytes + garbage_bytes_ <= QueueState::kMaxRecycleBytes) {
    if (queue.recycle.empty()) {
      queue.recycle.swap(garbage_);
    } else {
      std::move(garbage_.begin(), garbage_.end(), std::back_inserter(queue.recycle));
      garbage_.clear();
    }
    queue.recycle_bytes += garbage_bytes_;
    garbage_bytes_ = 0;
  }
  if (freed) {
    queue_->Pump(after_);
  }
}

void ConsumerState::RunDispatchLoop() {
  t_dispatching = this;
  // Spinning a while before sleeping saves a futex wake-up per message when publisher and
  // consumer run at about the same pace on two cores. Spinning while the publisher waits for
  // this core only wastes it, so the spin adapts: longer after a spin that found work,
  // shorter after one that did not (up to 2000 pauses: tens of microseconds).
  constexpr int kMinSpins = 16;
  constexpr int kMaxSpins = 2000;
  int spins = kMaxSpins;
  bool spun = false;
  // After this long asleep the consumer tidies up (see below), then sleeps without a timeout.
  constexpr auto kIdleAfter = std::chrono::milliseconds(100);
  bool idle = false;
  bool tidy = false;  // nothing to give back since the last batch
  std::unique_lock lock(queue_->mu);
  while (true) {
    SettleBatch();
    if (stopping_.load()) {
      break;
    }
    if (!inbox_.empty()) {
      // Everything ready at once: one lock acquisition per batch, not per message.
      batch_.swap(inbox_);
      has_work_.store(false, std::memory_order_relaxed);
      lock.unlock();
      after_.Run();
      FreeGarbage();  // what the queue would not take
      DispatchBatch();
      spun = false;
      tidy = false;
      lock.lock();
      continue;
    }
    if (!after_.empty() || !garbage_.empty()) {
      lock.unlock();
      after_.Run();
      FreeGarbage();
      lock.lock();
      continue;
    }
    if (!spun) {
      spun = true;
      lock.unlock();
      for (int i = 0; i < spins && !has_work_.load(std::memory_order_acquire) &&
                      !stopping_.load(std::memory_order_relaxed);
           ++i) {
#if defined(__x86_64__) || defined(__i386__)
        __builtin_ia32_pause();
#endif
      }
      spins = has_work_.load(std::memory_order_relaxed) ? std::min(kMaxSpins, spins * 2)
                                                        : std::max(kMinSpins, spins / 2);
      lock.lock();
      continue;
    }
    if (idle) {
      // Idle for a while: give back what the publishers left and what a backlog grew.
      idle = false;
      tidy = true;
      std::vector<Envelope> leftovers;
      leftovers.swap(queue_->recycle);
      queue_->recycle_bytes = 0;
      queue_->ready.Trim();
      ReleaseIfLarge(inbox_);
      lock.unlock();
      leftovers.clear();
      ReleaseIfLarge(batch_);
      ReleaseIfLarge(deliveries_);
      ReleaseIfLarge(garbage_);
      {
        std::lock_guard settle_lock(settle_mu_);
        unacked_.Trim();
      }
      lock.lock();
      continue;
    }
    sleeping_ = true;
    if (tidy) {
      wake_.wait(lock);
    } else {
      idle = wake_.wait_for(lock, kIdleAfter) == std::cv_status::timeout && sleeping_;
    }
    sleeping_ = false;
    spun = false;
    if (!idle && !stopping_.load() && waker_cpu_ >= 0 && waker_cpu_ == CurrentCpu()) {
      // Woken by a publisher that this thread now displaces from its core: running now would
      // take its first message or few and sleep again, two context switches each time.
      // Yielding once lets the publisher go on, and the loop then takes a batch.
      lock.unlock();
      std::this_thread::yield();
      lock.lock();
    }
  }
  lock.unlock();
  after_.Run();
}

void ConsumerState::DispatchBatch() {
  const bool settled = !options_.auto_ack;
  const std::shared_ptr<Settler> self =
      settled ? shared_from_this() : std::shared_ptr<ConsumerState>();
  deliveries_.clear();
  for (auto& [tag, envelope] : batch_) {
    deliveries_.emplace_back(envelope.message, envelope.exchange->value, envelope.routing_key,
                             envelope.redelivered, tag, self);
  }
  if (settled) {
    // Registered before any handler runs: from here on a Close requeues them.
    std::lock_guard settle_lock(settle_mu_);
    for (auto& [tag, envelope] : batch_) {
      unacked_.Add(tag, std::move(envelope));
    }
  }
  size_t handled = 0;
  for (; handled < deliveries_.size(); ++handled) {
    if (stopping_.load(std::memory_order_relaxed)) {
      break;
    }
    delivered_->fetch_add(1, std::memory_order_relaxed);
    handler_(std::move(deliveries_[handled]));
  }
  deliveries_.clear();
  if (!settled) {
    if (handled < batch_.size()) {
      // Not handed out: back to the front of the inbox, the close requeues them.
      std::lock_guard lock(queue_->mu);
      inbox_.insert(inbox_.begin(), std::make_move_iterator(batch_.begin() + handled),
                    std::make_move_iterator(batch_.end()));
    }
    for (size_t i = 0; i < handled; ++i) {
      Discard(std::move(batch_[i].second));
    }
  }
  batch_.clear();
}

Status ConsumerState::Ack(uint64_t delivery_tag) {
  Envelope released;
  {
    std::lock_guard settle_lock(settle_mu_);
    if (!attached_) {
      return Status(ErrorCode::kIllegalAction,
                    "cannot ack delivery " + std::to_string(delivery_tag) + " of queue '" +
                        queue_->spec.name + "': its subscription is gone (it was requeued)");
    }
    Envelope* envelope = unacked_.Find(delivery_tag);
    if (envelope == nullptr) {
      return Status(ErrorCode::kIllegalAction, "delivery " + std::to_string(delivery_tag) +
                                                   " of queue '" + queue_->spec.name +
                                                   "' is already settled");
    }
    released = std::move(*envelope);
    unacked_.Erase(delivery_tag);
  }
  if (t_dispatching == this) {
    // From this consumer's own handler: the dispatch loop counts it back with the rest of the
    // batch, so acking costs no trip to the queue's mutex.
    ++credits_;
    Discard(std::move(released));
    return Status::Ok();
  }
  AfterUnlock after;
  {
    std::lock_guard lock(queue_->mu);
    --outstanding_;
    queue_->Pump(after);
  }
  after.Run();
  return Status::Ok();
}

Status ConsumerState::Nack(uint64_t delivery_tag, bool requeue) {
  Envelope released;
  {
    std::lock_guard settle_lock(settle_mu_);
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
    released = std::move(*envelope);
    unacked_.Erase(delivery_tag);
  }
  AfterUnlock after;
  {
    std::lock_guard lock(queue_->mu);
    --outstanding_;
    if (requeue && !queue_->deleted) {
      released.redelivered = true;
      queue_->ready.push_front(std::move(released));
    }
    queue_->Pump(after);
  }
  after.Run();
  return Status::Ok();
}

struct ExchangeState {
  ExchangeSpec spec;
  std::shared_ptr<const ExchangeName> name;
  std::vector<std::pair<std::string, std::shared_ptr<QueueState>>> bindings;  // key, queue
};

// The shared broker state: topology under an rw-lock, messages under each queue's mutex.
class Broker {
 public:
  std::shared_mutex topology_mu;
  std::map<std::string, ExchangeState, std::less<>> exchanges;
  std::map<std::string, std::shared_ptr<QueueState>, std::less<>> queues;
  const std::shared_ptr<const ExchangeName> default_exchange_name =
      std::make_shared<const ExchangeName>();
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
  consumer.FreeGarbage();
  AfterUnlock after;
  bool delete_queue = false;
  {
    std::lock_guard lock(queue.mu);
    std::erase(queue.consumers, consumer_);
    // Unacked deliveries and those not handed to the handler yet go back to the front of the
    // queue in their original order.
    std::vector<std::pair<uint64_t, Envelope>> back;
    {
      std::lock_guard settle_lock(consumer.settle_mu_);
      consumer.attached_ = false;
      back = consumer.unacked_.TakeAll();
    }
    for (auto& item : consumer.inbox_) {
      back.push_back(std::move(item));
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
    queue.Pump(after);
    delete_queue = queue.spec.auto_delete && queue.consumers.empty() && !queue.deleted;
  }
  after.Run();
  if (delete_queue) {
    std::unique_lock topology_lock(broker_->topology_mu);
    auto it = broker_->queues.find(queue.spec.name);
    if (it != broker_->queues.end() && it->second.get() == &queue) {
      std::lock_guard lock(queue.mu);
      if (queue.consumers.empty()) {
        queue.Delete();
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
        queue->Delete();
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
        spec.name,
        ExchangeState{spec, std::make_shared<const ExchangeName>(ExchangeName{spec.name}), {}});
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
  queue->Delete();
  broker_->queues.erase(it);
  for (auto& [exchange_name, exchange] : broker_->exchanges) {
    std::erase_if(exchange.bindings, [&](const auto& binding) { return binding.second == queue; });
  }
  return Status::Ok();
}

Status InprocBus::Route(std::string_view exchange, std::string_view routing_key, Message message) {
  // Messages consumers are done with, taken from the queues published to (see
  // QueueState::recycle), freed once the locks are released.
  std::array<Envelope, 2> recycled;
  size_t recycled_count = 0;
  auto shared = std::make_shared<const Message>(std::move(message));
  AfterUnlock after;
  std::shared_lock topology_lock(broker_->topology_mu);
  // `last`: the message moves into the last queue, so that this thread holds no reference to
  // it once a consumer has it.
  auto enqueue = [&](QueueState& queue, const std::shared_ptr<const ExchangeName>& name,
                     bool last) {
    std::lock_guard lock(queue.mu);
    for (int i = queue.recycle.size() > QueueState::kRecycleBacklog ? 2 : 1;
         i > 0 && !queue.recycle.empty() && recycled_count < recycled.size(); --i) {
      Envelope& envelope = recycled[recycled_count++];
      envelope = std::move(queue.recycle.back());
      queue.recycle.pop_back();
      queue.recycle_bytes -= envelope.message->body.size();
    }
    if (queue.deleted) {
      return;
    }
    queue.ready.push_back(
        Envelope{last ? std::move(shared) : shared, name, std::string(routing_key), false});
    queue.Pump(after);
  };
  if (exchange.empty()) {
    auto queue = broker_->queues.find(routing_key);
    if (queue != broker_->queues.end()) {
      enqueue(*queue->second, broker_->default_exchange_name, /*last=*/true);
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
    for (size_t i = 0; i < targets.size(); ++i) {
      enqueue(*targets[i], state.name, i + 1 == targets.size());
    }
  }
  topology_lock.unlock();
  for (size_t i = 0; i < recycled_count; ++i) {
    recycled[i] = Envelope();
  }
  after.Run();
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
  AfterUnlock after;
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
    queue->Pump(after);
  }
  topology_lock.unlock();
  auto subscription = std::make_unique<InprocSubscription>(broker_, consumer);
  after.Run();
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
