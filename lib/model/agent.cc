#include "cloudify/model/agent.h"

#include <array>

#include "common/enum_table.h"

namespace cloudify::model {
namespace {

constexpr std::array<EnumName<AgentState>, 17> kStateNames{{
    {AgentState::kCreating, "creating"},
    {AgentState::kCreated, "created"},
    {AgentState::kConfiguring, "configuring"},
    {AgentState::kConfigured, "configured"},
    {AgentState::kStarting, "starting"},
    {AgentState::kStarted, "started"},
    {AgentState::kStopping, "stopping"},
    {AgentState::kStopped, "stopped"},
    {AgentState::kDeleting, "deleting"},
    {AgentState::kDeleted, "deleted"},
    {AgentState::kRestarting, "restarting"},
    {AgentState::kRestarted, "restarted"},
    {AgentState::kUpgrading, "upgrading"},
    {AgentState::kUpgraded, "upgraded"},
    {AgentState::kFailed, "failed"},
    {AgentState::kNonresponsive, "nonresponsive"},
    {AgentState::kRestored, "restored"},
}};

}  // namespace

std::string_view AgentStateName(AgentState s) { return NameOf<AgentState>(kStateNames, s); }
std::optional<AgentState> ParseAgentState(std::string_view name) {
  return ValueOf<AgentState>(kStateNames, name);
}

}  // namespace cloudify::model
