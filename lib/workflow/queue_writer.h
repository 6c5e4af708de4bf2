// QueueWriter: consumes one queue of JSON messages and stores them in batches, acknowledging
// the messages only after their batch is committed (a crash before the commit means
// redelivery, never loss). EventWriter (events and logs) and MetricWriter are two of them.
//
// Thread-safety: Sync, stored and failures may be called from any thread.
#pragma once

#include <chrono>
#include <condition_variable>
#include <functional>
#include <iterator>
#include <memory>
#include <mutex>
#include <string>
#include <string_view>
#include <thread>
#include <utility>
#include <vector>

#include <nlohmann/json.hpp>

#include "cloudify/messaging/bus.h"
#include "cloudify/status.h"

namespace cloudify::workflow {

template <typename T>
struct QueueWriterSpec {
  std::string queue;  // consumed
  // Where a Sync() marker is published so that it travels behind the messages it waits for.
  std::string sync_exchange;
  std::string sync_routing_key;
  // A message body to its items (a message may carry several).
  std::function<Result<std::vector<T>>(const nlohmann::json&)> parse;
  std::function<Status(std::vector<T>&)> store;  // stores one batch (all or none)
  std::string what;                              // "events", "metrics": for errors
  size_t max_batch = 1000;
  std::chrono::milliseconds max_delay{20};
};

template <typename T>
class QueueWriter {
 public:
  QueueWriter(messaging::Bus& bus, QueueWriterSpec<T> spec) : bus_(bus), spec_(std::move(spec)) {}
  ~QueueWriter() { Stop(); }
  QueueWriter(const QueueWriter&) = delete;
  QueueWriter& operator=(const QueueWriter&) = delete;

  Status Start() {
    messaging::ConsumeOptions consume;
    consume.prefetch = static_cast<uint32_t>(spec_.max_batch * 2);
    auto sub = bus_.Consume(spec_.queue, consume,
                            [this](messaging::Delivery d) { OnDelivery(std::move(d)); });
    if (!sub.ok()) {
      return sub.status().WithContext(spec_.what + " writer");
    }
    subscription_ = std::move(*sub);
    flusher_ = std::thread([this] { FlushLoop(); });
    return Status::Ok();
  }

  // Stores what it holds, then stops. Idempotent.
  void Stop() {
    {
      std::lock_guard lock(mu_);
      if (stopping_) {
        return;
      }
      FlushLocked();
      stopping_ = true;  // from here on nothing is stored: it would go back to the queue too
    }
    cv_.notify_all();
    if (flusher_.joinable()) {
      flusher_.join();
    }
    subscription_.reset();  // no more deliveries; unacked ones go back to the queue
    std::lock_guard lock(mu_);
    items_.clear();
    deliveries_.clear();
  }

  // Waits until every message published to the queue before the call is stored.
  //
  // The marker is a request that the writer receiving it answers once it has stored what it
  // holds. On a single-active-consumer queue that is the writer holding everything ahead of
  // the marker, whichever manager it is in (distributed mode: they all consume one queue).
  Status Sync(std::chrono::milliseconds timeout) {
    messaging::Message marker;
    marker.content_type = std::string(kSyncContentType);
    marker.persistent = false;
    Result<messaging::Message> answer =
        bus_.Request(spec_.sync_exchange, spec_.sync_routing_key, std::move(marker), timeout);
    if (answer.ok()) {
      return Status::Ok();
    }
    if (answer.status().code() != ErrorCode::kUnavailable) {
      return answer.status().WithContext(spec_.what + " writer sync");
    }
    return Status(ErrorCode::kUnavailable, spec_.what + " were not stored within the timeout");
  }

  uint64_t stored() const {
    std::lock_guard lock(mu_);
    return stored_;
  }
  uint64_t failures() const {
    std::lock_guard lock(mu_);
    return failures_;
  }
  uint64_t malformed() const {
    std::lock_guard lock(mu_);
    return malformed_;
  }

 private:
  static constexpr std::string_view kSyncContentType = "application/x-cloudify-writer-sync";

  void OnDelivery(messaging::Delivery delivery) {
    std::lock_guard lock(mu_);
    if (delivery.message().content_type == kSyncContentType) {
      if (!stopping_) {
        FlushLocked();
      }
      (void)delivery.Ack();
      if (!delivery.message().reply_to.empty()) {
        messaging::Message answer;
        answer.correlation_id = delivery.message().correlation_id;
        answer.persistent = false;
        bus_.PublishAsync("", delivery.message().reply_to, std::move(answer), nullptr);
      }
      return;
    }
    nlohmann::json body =
        nlohmann::json::parse(delivery.message().body, nullptr, /*allow_exceptions=*/false);
    Result<std::vector<T>> items = spec_.parse(body);
    if (!items.ok()) {
      ++malformed_;
      (void)delivery.Nack(/*requeue=*/false);  // a malformed message would come back for ever
      return;
    }
    if (items->empty()) {
      (void)delivery.Ack();
      return;
    }
    const bool first = items_.empty();
    std::move(items->begin(), items->end(), std::back_inserter(items_));
    deliveries_.push_back(std::move(delivery));
    if (stopping_) {
      return;  // requeued when the subscription goes
    }
    if (items_.size() >= spec_.max_batch) {
      FlushLocked();
    } else if (first) {
      deadline_ = std::chrono::steady_clock::now() + spec_.max_delay;
      cv_.notify_all();
    }
  }

  void FlushLocked() {
    if (items_.empty()) {
      return;
    }
    Status stored = spec_.store(items_);
    for (const auto& d : deliveries_) {
      // Acked only after the commit: a crash before it means redelivery, never loss.
      (void)(stored.ok() ? d.Ack() : d.Nack(/*requeue=*/true));
    }
    if (stored.ok()) {
      stored_ += items_.size();
    } else {
      ++failures_;
    }
    items_.clear();
    deliveries_.clear();
  }

  void FlushLoop() {
    std::unique_lock lock(mu_);
    while (!stopping_) {
      if (items_.empty()) {
        cv_.wait(lock, [&] { return stopping_ || !items_.empty(); });
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
  const QueueWriterSpec<T> spec_;
  std::unique_ptr<messaging::Subscription> subscription_;
  std::thread flusher_;
  mutable std::mutex mu_;
  std::condition_variable cv_;
  std::vector<T> items_;
  std::vector<messaging::Delivery> deliveries_;
  std::chrono::steady_clock::time_point deadline_;
  uint64_t stored_ = 0;
  uint64_t failures_ = 0;
  uint64_t malformed_ = 0;
  bool stopping_ = false;
};

}  // namespace cloudify::workflow
