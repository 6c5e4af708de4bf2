// RequestClient: request/reply over any Bus, shared by the backends.
//
// Declares one private reply queue per bus ("cloudify.reply.<uuid>": exclusive, auto-delete),
// consumes it on the bus's own thread and hands each reply to the Request() call waiting for its
// correlation id. Replies nobody waits for (late, after a timeout) are dropped.
//
// Thread-safety: Request() may be called from many threads at once.
// Ownership: holds a reference to the Bus, which must outlive it; Close() before the Bus's
// backend goes away.
#pragma once

#include <chrono>
#include <condition_variable>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>
#include <unordered_map>

#include "cloudify/messaging/bus.h"

namespace cloudify::messaging {

class RequestClient {
 public:
  explicit RequestClient(Bus& bus) : bus_(bus) {}
  ~RequestClient() { Close(); }
  RequestClient(const RequestClient&) = delete;
  RequestClient& operator=(const RequestClient&) = delete;

  Result<Message> Request(std::string_view exchange, std::string_view routing_key, Message request,
                          std::chrono::milliseconds timeout);

  // Stops consuming replies; pending requests then time out.
  void Close();

 private:
  struct Pending {
    std::mutex mu;
    std::condition_variable cv;
    std::optional<Message> reply;
  };

  Status EnsureReplyQueue();
  void OnReply(Delivery delivery);

  Bus& bus_;
  std::mutex setup_mu_;  // guards reply_queue_ and subscription_
  std::string reply_queue_;
  std::unique_ptr<Subscription> subscription_;
  std::mutex pending_mu_;
  std::unordered_map<std::string, std::shared_ptr<Pending>> pending_;
};

}  // namespace cloudify::messaging
