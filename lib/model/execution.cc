#include "cloudify/model/execution.h"

#include <algorithm>
#include <array>

#include "common/enum_table.h"

namespace cloudify::model {
namespace {

using S = ExecutionStatus;
constexpr std::array<EnumName<ExecutionStatus>, 10> kStatusNames{{
    {S::kPending, "pending"},
    {S::kStarted, "started"},
    {S::kCancelling, "cancelling"},
    {S::kForceCancelling, "force_cancelling"},
    {S::kKillCancelling, "kill_cancelling"},
    {S::kTerminated, "terminated"},
    {S::kFailed, "failed"},
    {S::kCancelled, "cancelled"},
    {S::kQueued, "queued"},
    {S::kScheduled, "scheduled"},
}};

constexpr std::array<std::string_view, 10> kSystemWorkflows{
    "create_snapshot",
    "restore_snapshot",
    "uninstall_plugin",
    "create_deployment_environment",
    "delete_deployment_environment",
    "update_plugin",
    "upload_blueprint",
    "csys_update_deployment",
    "update",
    "create_log_bundle",
};

}  // namespace

std::string_view ExecutionStatusName(ExecutionStatus s) {
  return NameOf<ExecutionStatus>(kStatusNames, s);
}

std::optional<ExecutionStatus> ParseExecutionStatus(std::string_view name) {
  return ValueOf<ExecutionStatus>(kStatusNames, name);
}

bool IsTerminal(ExecutionStatus s) {
  return s == S::kTerminated || s == S::kFailed || s == S::kCancelled;
}

bool IsWaiting(ExecutionStatus s) { return s == S::kQueued || s == S::kScheduled; }

bool IsActive(ExecutionStatus s) { return !IsTerminal(s) && !IsWaiting(s); }

std::string_view StatusDisplay(ExecutionStatus s) {
  return s == S::kTerminated ? "completed" : ExecutionStatusName(s);
}

Status CheckExecutionTransition(std::string_view workflow_id, ExecutionStatus from,
                                ExecutionStatus to) {
  if (from == to) {
    return Status::Ok();
  }
  bool allowed = true;
  if (IsTerminal(from)) {
    allowed = workflow_id == "create_snapshot" && to == S::kTerminated;
  } else if (from == S::kCancelling) {
    allowed = !IsActive(to) && to != S::kTerminated;
  } else if (from == S::kForceCancelling) {
    allowed = !IsActive(to) && to != S::kTerminated && to != S::kCancelling;
  }
  if (!allowed) {
    return Status(ErrorCode::kInvalidExecutionStatusUpdate,
                  "Can't update execution status from `" + std::string(ExecutionStatusName(from)) +
                      "` to `" + std::string(ExecutionStatusName(to)) + "`");
  }
  return Status::Ok();
}

bool IsSystemWorkflow(std::string_view workflow_id) {
  return std::find(kSystemWorkflows.begin(), kSystemWorkflows.end(), workflow_id) !=
         kSystemWorkflows.end();
}

}  // namespace cloudify::model
