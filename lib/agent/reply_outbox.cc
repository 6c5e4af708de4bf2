#include "agent/reply_outbox.h"

#include <utility>

#include "cloudify/workflow/agent_reply.h"

namespace cloudify::agent {

ReplyOutbox::ReplyOutbox(Publish publish, Settled settled)
    : publish_(std::move(publish)), settled_(std::move(settled)) {}

void ReplyOutbox::Send(const messaging::Delivery& task, std::string reply, bool batchable) {
  if (batchable) {
    std::lock_guard lock(mu_);
    auto [queue, idle] = sending_.try_emplace(task.message().reply_to);
    if (!idle) {
      queue->second.waiting.push_back({task, std::move(reply)});
      return;
    }
  }
  auto replies = std::make_shared<Replies>();
  replies->push_back({task, std::move(reply)});
  Post(std::move(replies), batchable);
}

void ReplyOutbox::Post(std::shared_ptr<Replies> replies, bool batchable) {
  const std::string reply_to = replies->front().task.message().reply_to;
  messaging::Message message;
  message.persistent = true;
  if (replies->size() == 1) {
    message.body = std::move(replies->front().reply);  // alone: the original's shape
    message.correlation_id = replies->front().task.message().correlation_id;
  } else {
    std::vector<workflow::BatchedReply> batch;
    batch.reserve(replies->size());
    for (Reply& r : *replies) {
      batch.push_back({r.task.message().correlation_id, std::move(r.reply)});
    }
    message.body = workflow::ReplyBatchBody(batch);
  }
  publish_(reply_to, std::move(message), [this, replies, reply_to, batchable](Status sent) {
    auto next = std::make_shared<Replies>();
    if (batchable) {
      std::lock_guard lock(mu_);
      auto queue = sending_.find(reply_to);
      next->swap(queue->second.waiting);
      if (next->empty()) {
        sending_.erase(queue);
      }
    }
    // The last settlement may let the owner go: nothing of this outbox is touched after it,
    // unless replies still wait (and keep their owner).
    for (const Reply& r : *replies) {
      settled_(r.task, sent);
    }
    if (!next->empty()) {
      Post(std::move(next), true);
    }
  });
}

}  // namespace cloudify::agent
