// The Bus functions every backend shares: blocking publish, reply, Delivery settlement.
#include "cloudify/messaging/bus.h"

#include <future>
#include <utility>

namespace cloudify::messaging {

void Topology::Merge(const Topology& other) {
  exchanges.insert(exchanges.end(), other.exchanges.begin(), other.exchanges.end());
  queues.insert(queues.end(), other.queues.begin(), other.queues.end());
  bindings.insert(bindings.end(), other.bindings.begin(), other.bindings.end());
}

const Message& Delivery::EmptyMessage() {
  static const Message* const empty = new Message();
  return *empty;
}

Status Delivery::Ack() const {
  if (settler_ == nullptr) {
    return Status(ErrorCode::kIllegalAction, "delivery has no consumer to ack to");
  }
  return settler_->Ack(delivery_tag_);
}

Status Delivery::Nack(bool requeue) const {
  if (settler_ == nullptr) {
    return Status(ErrorCode::kIllegalAction, "delivery has no consumer to nack to");
  }
  return settler_->Nack(delivery_tag_, requeue);
}

namespace {

Status NoReplyTo(const Delivery& request) {
  return BadParametersError("cannot reply to a message without reply_to (correlation id '" +
                            request.message().correlation_id + "')");
}

}  // namespace

Status Bus::Publish(std::string_view exchange, std::string_view routing_key, Message message) {
  if (OnBusThread()) {
    return Status(ErrorCode::kIllegalAction,
                  "Bus::Publish called on the bus's own thread (it would wait for itself); use "
                  "PublishAsync there");
  }
  // A callback always runs (publish_timeout bounds it), so waiting on it cannot hang.
  auto outcome = std::make_shared<std::promise<Status>>();
  std::future<Status> done = outcome->get_future();
  PublishAsync(exchange, routing_key, std::move(message),
               [outcome](Status status) { outcome->set_value(std::move(status)); });
  return done.get();
}

Status Bus::Reply(const Delivery& request, Message reply, std::string_view exchange) {
  if (request.message().reply_to.empty()) {
    return NoReplyTo(request);
  }
  reply.correlation_id = request.message().correlation_id;
  return Publish(exchange, request.message().reply_to, std::move(reply));
}

void Bus::ReplyAsync(const Delivery& request, Message reply, std::string_view exchange,
                     PublishCallback done) {
  if (request.message().reply_to.empty()) {
    if (done) {
      done(NoReplyTo(request));
    }
    return;
  }
  reply.correlation_id = request.message().correlation_id;
  PublishAsync(exchange, request.message().reply_to, std::move(reply), std::move(done));
}

}  // namespace cloudify::messaging
