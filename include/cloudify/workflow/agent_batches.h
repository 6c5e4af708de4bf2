// Several operation tasks, or several replies, in one message: beyond the original's one per
// message (WORKFLOWS.md §3.2), so that a busy manager and agent send far fewer messages than
// they run operations. Both are sent through a messaging::CoalescingPublisher, so nothing waits
// longer than a confirm round trip, and each side uses them only when the other says it takes
// them:
//  - a task that carries `"reply_batches": true` (kReplyBatchesKey) may be answered in a batch
//    of replies: a message without correlation id whose body is a JSON array of
//      {"id": "<the task's correlation id>", "reply": <the reply, as alone>};
//  - an agent whose answer to a ping has `"task_batches": true` (kTaskBatchesKey) in its
//    result may be sent a batch of tasks: a message whose body is a JSON array of task bodies
//    (each as alone, its "id" the correlation id), all with the message's reply_to. The agent
//    answers each task and acks the message once every task in it is answered (a batch
//    redelivered after the agent died runs again whole). The message's correlation id names the
//    batch: only an agent that cannot read batches answers it, and its tasks then fail
//    recoverably.
#pragma once

#include <string_view>
#include <vector>

#include "cloudify/messaging/bus.h"

namespace cloudify::workflow {

inline constexpr std::string_view kReplyBatchesKey = "reply_batches";
inline constexpr std::string_view kTaskBatchesKey = "task_batches";

// A batch of replies (each with its task's correlation id) for CoalescingPublisher.
messaging::Message CombineReplies(std::vector<messaging::Message> replies);
// A batch of tasks, all bound for one agent with one reply_to, for CoalescingPublisher.
messaging::Message CombineTasks(std::vector<messaging::Message> tasks);

}  // namespace cloudify::workflow
