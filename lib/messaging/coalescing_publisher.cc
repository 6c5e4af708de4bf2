#include "cloudify/messaging/coalescing_publisher.h"

#include <algorithm>
#include <iterator>

namespace cloudify::messaging {

CoalescingPublisher::CoalescingPublisher(Send send, Combine combine, size_t max_batch,
                                         size_t max_batch_bytes)
    : send_(std::move(send)),
      combine_(std::move(combine)),
      max_batch_(std::max<size_t>(1, max_batch)),
      max_batch_bytes_(max_batch_bytes) {}

CoalescingPublisher::CoalescingPublisher(Bus& bus, Combine combine, size_t max_batch,
                                         size_t max_batch_bytes)
    : CoalescingPublisher(
          [&bus](const std::string& exchange, const std::string& routing_key, Message message,
                 PublishCallback done) {
            bus.PublishAsync(exchange, routing_key, std::move(message), std::move(done));
          },
          std::move(combine), max_batch, max_batch_bytes) {}

CoalescingPublisher::~CoalescingPublisher() {
  std::unique_lock lock(mu_);
  resolved_.wait(lock, [this] { return unresolved_ == 0; });
}

void CoalescingPublisher::Publish(std::string_view exchange, std::string_view routing_key,
                                  Message message, bool batchable, PublishCallback done) {
  Destination to{std::string(exchange), std::string(routing_key)};
  if (batchable) {
    std::lock_guard lock(mu_);
    auto [waiting, idle] = busy_.try_emplace(to);
    if (!idle) {
      waiting->second.push_back({std::move(message), std::move(done)});
      return;
    }
  }
  std::vector<Item> one;
  one.push_back({std::move(message), std::move(done)});
  Post(to, std::move(one), batchable);
}

size_t CoalescingPublisher::waiting() const {
  std::lock_guard lock(mu_);
  size_t n = 0;
  for (const auto& [to, items] : busy_) {
    n += items.size();
  }
  return n;
}

std::vector<CoalescingPublisher::Item> CoalescingPublisher::TakeNext(const Destination& to,
                                                                     bool failed) {
  std::vector<Item> next;
  std::lock_guard lock(mu_);
  auto waiting = busy_.find(to);
  std::vector<Item>& queue = waiting->second;
  // After a failure everything waiting fails with it, at once: a broker that refused one
  // message would make each later batch wait out its own timeout.
  size_t take = failed ? queue.size() : 0;
  for (size_t bytes = 0; !failed && take < queue.size() && take < max_batch_; ++take) {
    bytes += queue[take].message.body.size();
    if (take > 0 && bytes > max_batch_bytes_) {
      break;
    }
  }
  next.assign(std::make_move_iterator(queue.begin()),
              std::make_move_iterator(queue.begin() + static_cast<std::ptrdiff_t>(take)));
  queue.erase(queue.begin(), queue.begin() + static_cast<std::ptrdiff_t>(take));
  if (queue.empty() && (failed || next.empty())) {
    busy_.erase(waiting);
  }
  return next;
}

void CoalescingPublisher::Post(const Destination& to, std::vector<Item> items, bool batchable) {
  // A bus that confirms before PublishAsync returns (the in-process one) runs the callback
  // inside send_: the next batch is then sent by this loop, not from the callback, so the
  // stack does not grow with every batch.
  struct Turn {
    std::mutex mu;
    bool returned = false;  // send_ has returned
    std::vector<Item> next;
  };
  while (!items.empty()) {
    Message message;
    if (items.size() == 1) {
      message = std::move(items.front().message);
    } else {
      std::vector<Message> parts;
      parts.reserve(items.size());
      for (Item& item : items) {
        parts.push_back(std::move(item.message));
      }
      message = combine_(std::move(parts));
    }
    auto callbacks = std::make_shared<std::vector<PublishCallback>>();
    callbacks->reserve(items.size());
    for (Item& item : items) {
      callbacks->push_back(std::move(item.done));
    }
    {
      std::lock_guard lock(mu_);
      ++unresolved_;
    }
    auto turn = std::make_shared<Turn>();
    send_(to.first, to.second, std::move(message),
          [this, to, callbacks, batchable, turn](Status sent) {
            std::vector<Item> next;
            if (batchable) {
              next = TakeNext(to, !sent.ok());
            }
            for (const PublishCallback& done : *callbacks) {
              if (done) {
                done(sent);
              }
            }
            if (!sent.ok()) {
              for (Item& failed : next) {
                if (failed.done) {
                  failed.done(sent);
                }
              }
              next.clear();
            }
            bool post_here = false;
            {
              std::lock_guard lock(turn->mu);
              post_here = turn->returned;
              if (!post_here) {
                turn->next = std::move(next);
              }
            }
            if (post_here && !next.empty()) {
              Post(to, std::move(next), true);
            }
            // Notified under the lock: once it is released, the destructor may return.
            std::lock_guard lock(mu_);
            --unresolved_;
            resolved_.notify_all();
          });
    std::lock_guard lock(turn->mu);
    turn->returned = true;
    items = std::move(turn->next);
  }
}

}  // namespace cloudify::messaging
