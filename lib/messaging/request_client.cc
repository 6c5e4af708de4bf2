#include "messaging/request_client.h"

#include <utility>

#include "cloudify/ids.h"

namespace cloudify::messaging {

Status RequestClient::EnsureReplyQueue() {
  std::lock_guard lock(setup_mu_);
  if (subscription_ != nullptr) {
    return Status::Ok();
  }
  std::string queue = "cloudify.reply." + NewUuid();
  Topology topology;
  topology.queues.push_back(
      {.name = queue, .durable = false, .exclusive = true, .auto_delete = true});
  CLOUDIFY_RETURN_IF_ERROR(bus_.Declare(topology).WithContext("declaring the reply queue"));
  auto subscription =
      bus_.Consume(queue, {.prefetch = 0, .auto_ack = true, .dispatch_on_bus_thread = true},
                   [this](Delivery delivery) { OnReply(std::move(delivery)); });
  if (!subscription.ok()) {
    return subscription.status().WithContext("consuming the reply queue");
  }
  subscription_ = std::move(subscription).value();
  reply_queue_ = std::move(queue);
  return Status::Ok();
}

void RequestClient::OnReply(Delivery delivery) {
  std::shared_ptr<Pending> pending;
  {
    std::lock_guard lock(pending_mu_);
    auto it = pending_.find(delivery.message().correlation_id);
    if (it == pending_.end()) {
      return;  // a late reply: its request timed out
    }
    pending = it->second;
  }
  {
    std::lock_guard lock(pending->mu);
    pending->reply = delivery.message();
  }
  pending->cv.notify_one();
}

Result<Message> RequestClient::Request(std::string_view exchange, std::string_view routing_key,
                                       Message request, std::chrono::milliseconds timeout) {
  CLOUDIFY_RETURN_IF_ERROR(EnsureReplyQueue());
  if (request.correlation_id.empty()) {
    request.correlation_id = NewUuid();
  }
  {
    std::lock_guard lock(setup_mu_);
    request.reply_to = reply_queue_;
  }
  const std::string correlation_id = request.correlation_id;
  auto pending = std::make_shared<Pending>();
  {
    std::lock_guard lock(pending_mu_);
    if (!pending_.emplace(correlation_id, pending).second) {
      return ConflictError("a request with correlation id '" + correlation_id +
                           "' is already waiting for its reply");
    }
  }
  struct Unregister {
    RequestClient* self;
    const std::string& id;
    ~Unregister() {
      std::lock_guard lock(self->pending_mu_);
      self->pending_.erase(id);
    }
  } unregister{this, correlation_id};

  const auto deadline = std::chrono::steady_clock::now() + timeout;
  Status published = bus_.Publish(exchange, routing_key, std::move(request));
  if (!published.ok()) {
    return published.WithContext("publishing request '" + correlation_id + "'");
  }
  std::unique_lock lock(pending->mu);
  if (!pending->cv.wait_until(lock, deadline, [&] { return pending->reply.has_value(); })) {
    return Status(ErrorCode::kUnavailable, "timed out after " + std::to_string(timeout.count()) +
                                               " ms waiting for the reply to request '" +
                                               correlation_id + "' sent to '" +
                                               std::string(exchange) + "' with routing key '" +
                                               std::string(routing_key) + "'");
  }
  return std::move(*pending->reply);
}

void RequestClient::Close() {
  std::unique_ptr<Subscription> subscription;
  {
    std::lock_guard lock(setup_mu_);
    subscription = std::move(subscription_);
  }
  subscription.reset();
}

}  // namespace cloudify::messaging
