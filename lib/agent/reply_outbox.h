// ReplyOutbox: how an agent sends its replies to operation tasks. A reply to a task that
// allows batches (cloudify/workflow/agent_reply.h) goes out alone while no other message to
// its reply queue awaits a confirm; otherwise it waits, and goes out with the replies that
// finished meanwhile as soon as that message is confirmed. A reply to any other task goes out
// alone at once, as the original's.
//
// Thread-safety: Send may be called from any thread; `publish` and `settled` are called without
// the outbox's lock held, `settled` on the thread that resolves the publish.
#pragma once

#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

#include "cloudify/messaging/bus.h"

namespace cloudify::agent {

class ReplyOutbox {
 public:
  // Publishes one message to `reply_to`; `done` resolves it.
  using Publish = std::function<void(const std::string& reply_to, messaging::Message message,
                                     messaging::PublishCallback done)>;
  // Hears, once per reply, how the message that carried it was resolved.
  using Settled = std::function<void(const messaging::Delivery& task, const Status& sent)>;

  ReplyOutbox(Publish publish, Settled settled);

  // Sends `reply` (JSON text) to `task`'s reply_to, which must not be empty.
  void Send(const messaging::Delivery& task, std::string reply, bool batchable);

 private:
  struct Reply {
    messaging::Delivery task;
    std::string reply;
  };
  using Replies = std::vector<Reply>;
  // The replies bound for one reply queue while a message to it awaits its confirm.
  struct Queue {
    Replies waiting;
  };

  void Post(std::shared_ptr<Replies> replies, bool batchable);

  const Publish publish_;
  const Settled settled_;
  std::mutex mu_;
  std::map<std::string, Queue> sending_;  // by reply queue; guarded by mu_
};

}  // namespace cloudify::agent
