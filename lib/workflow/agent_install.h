// Which hosts get an agent installed by the workflows (WORKFLOWS.md §6.2), shared by the graph
// builder and the engine's built-in cloudify_agent operations.
#pragma once

#include <algorithm>
#include <string>

#include <nlohmann/json.hpp>

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

// The host's agent settings as the original's installer merges them: the node's `agent_config`
// property, its deprecated `cloudify_agent` property over it, and the keys of `extra` lifted to
// the top (where settings the data type does not list, such as `basedir`, go).
inline nlohmann::json AgentConfig(const nlohmann::json& node_properties) {
  nlohmann::json config = nlohmann::json::object();
  for (const char* key : {"agent_config", "cloudify_agent"}) {
    auto it = node_properties.find(key);
    if (it != node_properties.end() && it->is_object()) {
      config.update(*it);
    }
  }
  auto extra = config.find("extra");
  if (extra != config.end() && extra->is_object()) {
    nlohmann::json lifted = *extra;
    config.erase("extra");
    config.update(lifted);
  }
  return config;
}

// True when a `remote` host names the user to log in as over SSH (a string, or a function such
// as get_secret evaluated when the agent is installed).
inline bool HasSshUser(const model::Node& node) {
  const nlohmann::json config = AgentConfig(node.spec.properties);
  auto user = config.find("user");
  return user != config.end() &&
         ((user->is_string() && !user->get<std::string>().empty()) || user->is_object());
}

// The hosts whose agent the install records and then waits for (and the uninstall deletes):
// one installed by someone else (the user for `provided`, cloud-init for `init_script`, an
// IaaS plugin for `plugin`), and one of `remote` that gives an SSH user, which the manager
// installs over SSH when it has an agent program to copy (EngineOptions::agent_program).
inline bool AwaitsAgent(const model::Node& node) {
  const std::string method = AgentInstallMethod(node);
  return method == "provided" || method == "init_script" || method == "plugin" ||
         (method == "remote" && HasSshUser(node));
}

// Why a host gets no agent though its install_method says `remote`: it gives no SSH user, so
// its operations run on the manager, as they always did here. Empty for every other host.
inline std::string CentralAgentNote(const model::Node& node) {
  if (AgentInstallMethod(node) != "remote" || HasSshUser(node)) {
    return "";
  }
  return "No agent is installed on this host: install_method is remote but agent_config gives "
         "no user to log in with over SSH, so its operations run on the manager";
}

}  // namespace cloudify::workflow
