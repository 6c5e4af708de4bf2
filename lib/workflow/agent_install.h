// Which hosts get an agent installed by the workflows (WORKFLOWS.md §6.2), shared by the graph
// builder and the engine's built-in cloudify_agent operations.
#pragma once

#include <algorithm>
#include <string>

#include "cloudify/model/node.h"

namespace cloudify::workflow {

// The built-in implementations of the cloudify_agent interface (types.yaml's `agent` plugin).
inline constexpr const char* kAgentInstaller = "agent.cloudify_agent.installer.operations.";
inline constexpr const char* kAgentCreate = "cloudify.interfaces.cloudify_agent.create";
inline constexpr const char* kAgentStart = "cloudify.interfaces.cloudify_agent.start";
inline constexpr const char* kAgentDelete = "cloudify.interfaces.cloudify_agent.delete";

// The host's agent_config.install_method ("none" when install_agent is false, as the original's
// older blueprints say it); empty for a node that is not a Compute host.
inline std::string AgentInstallMethod(const model::Node& node) {
  const auto& types = node.spec.type_hierarchy;
  if (std::find(types.begin(), types.end(), "cloudify.nodes.Compute") == types.end()) {
    return "";
  }
  const nlohmann::json& properties = node.spec.properties;
  if (auto legacy = properties.find("install_agent");
      legacy != properties.end() && legacy->is_boolean() && !legacy->get<bool>()) {
    return "none";
  }
  auto config = properties.find("agent_config");
  if (config != properties.end() && config->is_object()) {
    auto method = config->find("install_method");
    if (method != config->end() && method->is_string()) {
      return method->get<std::string>();
    }
  }
  return "remote";
}

// The methods whose agent the manager records and then waits for, the host's software being
// installed by someone else (the user for `provided`, cloud-init for `init_script`, an IaaS
// plugin for `plugin`). `remote` (over SSH or WinRM) is not done by this manager: such a host
// runs its scripts centrally unless it records an agent itself.
inline bool AwaitsAgent(const model::Node& node) {
  const std::string method = AgentInstallMethod(node);
  return method == "provided" || method == "init_script" || method == "plugin";
}

}  // namespace cloudify::workflow
