// Replies of agents to operation tasks (WORKFLOWS.md §3.2), beyond the original's one reply per
// message: a task that carries `"reply_batches": true` (kReplyBatchesKey) tells the agent that
// the manager also takes several replies in one message. An agent then sends a reply alone
// while none to the same reply queue awaits its confirm, and the replies that finish meanwhile
// together in the next message, so a busy agent sends far fewer messages than it runs tasks.
//
// A batch is a message without correlation id whose body is a JSON array of
//   {"id": "<the task's correlation id>", "reply": <the reply, as alone>}.
#pragma once

#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace cloudify::workflow {

// The task message's top-level key saying that its manager takes reply batches.
inline constexpr std::string_view kReplyBatchesKey = "reply_batches";

// One reply of a batch: the task's correlation id and the reply's JSON text.
struct BatchedReply {
  std::string task_id;
  std::string reply;
};

// The body of a batch holding `replies` (their JSON texts are copied in, not parsed).
std::string ReplyBatchBody(const std::vector<BatchedReply>& replies);

}  // namespace cloudify::workflow
