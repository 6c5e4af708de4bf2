// Execution: one run of a workflow (REST.md §3.3, WORKFLOWS.md §1.2), its statuses and the
// transition rules the original's REST service enforces.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

#include <nlohmann/json.hpp>

#include "cloudify/model/resource.h"

namespace cloudify::model {

enum class ExecutionStatus {
  kPending,
  kStarted,
  kCancelling,
  kForceCancelling,
  kKillCancelling,
  kTerminated,
  kFailed,
  kCancelled,
  kQueued,
  kScheduled,
};

std::string_view ExecutionStatusName(ExecutionStatus s);  // e.g. "force_cancelling"
std::optional<ExecutionStatus> ParseExecutionStatus(std::string_view name);

// terminated, failed, cancelled.
bool IsTerminal(ExecutionStatus s);
// queued, scheduled.
bool IsWaiting(ExecutionStatus s);
// Neither terminal nor waiting: pending, started and the cancelling states.
bool IsActive(ExecutionStatus s);
// What the original shows as status_display: "completed" for terminated, else the name.
std::string_view StatusDisplay(ExecutionStatus s);

// The original's rules for a status update: nothing leaves an end state (except create_snapshot
// becoming terminated after a restore); from cancelling, no active state nor terminated; from
// force_cancelling, no active state, terminated or cancelling; repeating the same status is
// allowed (redelivery). kInvalidExecutionStatusUpdate otherwise. The cancel, force-cancel and
// kill actions set the cancelling states themselves and are not status updates.
Status CheckExecutionTransition(std::string_view workflow_id, ExecutionStatus from,
                                ExecutionStatus to);

// Workflows the manager runs without a deployment plan (system workflows).
bool IsSystemWorkflow(std::string_view workflow_id);

struct Execution {
  std::string id;  // uuid
  std::string workflow_id;
  std::string deployment_id;  // empty for system-wide workflows
  std::string deployment_display_name;
  std::string blueprint_id;
  ExecutionStatus status = ExecutionStatus::kPending;
  std::string error;
  nlohmann::json parameters = nlohmann::json::object();
  bool is_system_workflow = false;
  bool is_dry_run = false;
  bool allow_custom_parameters = false;
  ResourceMeta meta;
  std::optional<Timestamp> started_at;
  std::optional<Timestamp> ended_at;
  std::optional<Timestamp> scheduled_for;
  bool resume = false;
  int64_t total_operations = 0;
  int64_t finished_operations = 0;

  bool operator==(const Execution&) const = default;
};

// A system workflow of neither a deployment nor a blueprint (the original's snapshot kind):
// it runs alone, and nothing else starts while it is active or queued.
inline bool IsSystemWide(const Execution& e) {
  return e.is_system_workflow && e.deployment_id.empty() && e.blueprint_id.empty();
}

}  // namespace cloudify::model
