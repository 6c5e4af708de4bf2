// Event: an event or a log line of an execution, with every field of the original's /events
// items (REST.md §3.6). Events have event_type; logs have logger and level.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

#include <nlohmann/json.hpp>

#include "cloudify/clock.h"
#include "cloudify/logging.h"

namespace cloudify::model {

enum class EventKind { kEvent, kLog };

std::string_view EventKindName(EventKind k);  // "cloudify_event", "cloudify_log"
std::optional<EventKind> ParseEventKind(std::string_view name);

// The event types the original's workflows emit.
namespace event_types {
inline constexpr std::string_view kWorkflowStarted = "workflow_started";
inline constexpr std::string_view kWorkflowSucceeded = "workflow_succeeded";
inline constexpr std::string_view kWorkflowFailed = "workflow_failed";
inline constexpr std::string_view kWorkflowCancelled = "workflow_cancelled";
inline constexpr std::string_view kWorkflowQueued = "workflow_queued";
inline constexpr std::string_view kWorkflowStage = "workflow_stage";
inline constexpr std::string_view kWorkflowEvent = "workflow_event";
inline constexpr std::string_view kWorkflowNodeEvent = "workflow_node_event";
inline constexpr std::string_view kSendingTask = "sending_task";
inline constexpr std::string_view kTaskStarted = "task_started";
inline constexpr std::string_view kTaskSucceeded = "task_succeeded";
inline constexpr std::string_view kTaskRescheduled = "task_rescheduled";
inline constexpr std::string_view kTaskFailed = "task_failed";
}  // namespace event_types

// workflow_succeeded, workflow_failed, workflow_cancelled: the CLI stops following there.
bool IsWorkflowEndEvent(std::string_view event_type);

struct Event {
  EventKind kind = EventKind::kEvent;
  int64_t storage_id = 0;          // assigned by the store; the keyset-paging key
  Timestamp timestamp{};           // when stored
  Timestamp reported_timestamp{};  // when emitted
  std::string message;
  std::string blueprint_id;
  std::string deployment_id;
  std::string deployment_display_name;
  std::string execution_id;
  std::string execution_group_id;
  std::string workflow_id;
  std::string node_instance_id;
  std::string node_name;
  std::string operation;
  std::string source_id;
  std::string target_id;
  nlohmann::json error_causes;  // null, or [{message, traceback, type}, ...]
  std::string manager_name;
  std::string agent_name;
  std::string tenant_name;
  // Events only.
  std::string event_type;
  // Logs only.
  std::string logger;
  LogLevel level = LogLevel::kInfo;

  bool operator==(const Event&) const = default;
};

}  // namespace cloudify::model
