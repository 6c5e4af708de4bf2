// Agent: a cloudify-agent known to the manager (the original's agents table, REST /agents):
// the host's node instance it serves, how it was installed, and its state.
#pragma once

#include <optional>
#include <string>
#include <string_view>

#include "cloudify/model/resource.h"

namespace cloudify::model {

// The original's agent states (cloudify.models_states.AgentState).
enum class AgentState {
  kCreating,
  kCreated,
  kConfiguring,
  kConfigured,
  kStarting,
  kStarted,
  kStopping,
  kStopped,
  kDeleting,
  kDeleted,
  kRestarting,
  kRestarted,
  kUpgrading,
  kUpgraded,
  kFailed,
  kNonresponsive,
  kRestored,
};

std::string_view AgentStateName(AgentState s);  // e.g. "started"
std::optional<AgentState> ParseAgentState(std::string_view name);

struct Agent {
  std::string id;  // the agent's name, which is also its queue's
  std::string name;
  // The host node instance it serves, and that instance's node and deployment.
  std::string node_instance_id;
  std::string node_id;
  std::string deployment_id;
  std::string ip;
  std::string install_method;  // none, remote, plugin, init_script, provided
  std::string system;          // e.g. "linux"
  std::string version;
  AgentState state = AgentState::kCreating;
  std::string rabbitmq_username;
  std::string rabbitmq_exchange;  // the agent's direct exchange (its name)
  ResourceMeta meta;
  Timestamp updated_at{};  // the last registration or state report

  bool operator==(const Agent&) const = default;
};

}  // namespace cloudify::model
