// CoalescingPublisher: publishes so that a busy sender sends far fewer messages than it has
// things to say. A message published as batchable goes out at once while no other message to
// the same exchange and routing key awaits its confirm; otherwise it waits, and the messages
// that wait when that confirm comes go out together, as one message that `combine` makes of
// them (at most `max_batch` in one, and no more than `max_batch_bytes` of bodies unless one
// alone has more, so a batch stays far below the bus's message limit). When a message fails,
// everything waiting for its destination fails with it. Nothing waits longer than a confirm
// round trip, and a
// sender that is not busy sends every message alone, as it is.
//
// Thread-safety: Publish may be called from any thread. `send`, `combine` and the callbacks are
// called without the publisher's lock; a callback runs on the thread that resolves the
// message. Destroying the publisher waits until every message it sent is resolved, so it must
// not be destroyed on the bus's thread.
#pragma once

#include <condition_variable>
#include <cstddef>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "cloudify/messaging/bus.h"

namespace cloudify::messaging {

class CoalescingPublisher {
 public:
  // Publishes one message; `done` resolves it (Bus::PublishAsync).
  using Send = std::function<void(const std::string& exchange, const std::string& routing_key,
                                  Message message, PublishCallback done)>;
  // Makes one message of several (two or more), in publish order.
  using Combine = std::function<Message(std::vector<Message> messages)>;

  CoalescingPublisher(Send send, Combine combine, size_t max_batch = 64,
                      size_t max_batch_bytes = size_t{1} << 20);
  // Sends through `bus`, which must outlive the publisher.
  CoalescingPublisher(Bus& bus, Combine combine, size_t max_batch = 64,
                      size_t max_batch_bytes = size_t{1} << 20);
  ~CoalescingPublisher();
  CoalescingPublisher(const CoalescingPublisher&) = delete;
  CoalescingPublisher& operator=(const CoalescingPublisher&) = delete;

  // Publishes `message`; `done` (may be empty) gets the outcome of the message that carried it.
  void Publish(std::string_view exchange, std::string_view routing_key, Message message,
               bool batchable, PublishCallback done);

  // Messages waiting for a confirm before they go (for tests and monitoring).
  size_t waiting() const;

 private:
  struct Item {
    Message message;
    PublishCallback done;
  };
  using Destination = std::pair<std::string, std::string>;  // exchange, routing key

  // Sends `items` as one message, then what waits for `to` when it is resolved.
  void Post(const Destination& to, std::vector<Item> items, bool batchable);
  // What waits for `to` goes next (everything, failing, when `failed`); `to` is idle again when
  // nothing waits.
  std::vector<Item> TakeNext(const Destination& to, bool failed);

  const Send send_;
  const Combine combine_;
  const size_t max_batch_;
  const size_t max_batch_bytes_;
  mutable std::mutex mu_;
  // Destinations a batchable message to is awaiting its confirm, with what waits for them.
  std::map<Destination, std::vector<Item>> busy_;  // guarded by mu_
  size_t unresolved_ = 0;                          // messages sent, not resolved; guarded by mu_
  std::condition_variable resolved_;
};

}  // namespace cloudify::messaging
