#include "cloudify/model/operation.h"

#include <array>

#include "common/enum_table.h"

namespace cloudify::model {
namespace {

using S = TaskState;
constexpr std::array<EnumName<TaskState>, 8> kStateNames{{
    {S::kPending, "pending"},
    {S::kSending, "sending"},
    {S::kSent, "sent"},
    {S::kStarted, "started"},
    {S::kRescheduled, "rescheduled"},
    {S::kResponseSent, "response-sent"},
    {S::kSucceeded, "succeeded"},
    {S::kFailed, "failed"},
}};

}  // namespace

std::string_view TaskStateName(TaskState s) { return NameOf<TaskState>(kStateNames, s); }

std::optional<TaskState> ParseTaskState(std::string_view name) {
  return ValueOf<TaskState>(kStateNames, name);
}

bool IsTerminal(TaskState s) {
  return s == S::kRescheduled || s == S::kSucceeded || s == S::kFailed;
}

}  // namespace cloudify::model
