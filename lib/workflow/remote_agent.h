// The `remote` agent installer (WORKFLOWS.md §6.2) for Linux hosts: over SSH, it copies the
// cloudify-agent program (and the `ctx` program beside it, which the agent's scripts call) into
// <basedir>/<agent name>/ on the host, and into its lib/ this project's shared libraries that
// the program loads, unless the host has the same files where the program looks for them (the
// host must have the packages of the others, as deploy/README.md lists); writes the agent's
// settings to agent.env there (mode 600: the broker password and the REST token are never on
// a command line); and starts the agent detached from the SSH session (setsid, nohup) with its
// pid in agent.pid and its output in agent.log. Uninstalling stops the agent by its pid file
// and removes the folder.
//
// Errors: the SshSession's (kUnavailable where a retry may help, kUnauthorized for refused
// credentials), kBadParameters for settings that cannot work (no ip, a bad env name), kInternal
// for a step that failed on the host, each naming user@host:port.
#pragma once

#include <filesystem>
#include <string>

#include <nlohmann/json.hpp>

#include "cloudify/status.h"

#include "workflow/ssh.h"

namespace cloudify::workflow {

// Where and how to install one agent.
struct RemoteAgentSpec {
  SshTarget ssh;
  std::string name;     // the agent's name (its queue)
  std::string basedir;  // the agent's folder goes under it. Empty: the user's home folder.
  nlohmann::json env = nlohmann::json::object();  // agent_config.env: more variables
  int max_workers = 0;                            // 0: the agent's default
};

// What the agent is told: how it reaches the manager, and for whom it works.
struct RemoteAgentSettings {
  std::string bus_url;  // with its password
  std::string rest_url;
  std::string rest_token;
  std::string tenant;
  std::string node_instance_id;
};

// Where an installed agent lives on its host: what uninstalling needs.
struct InstalledRemoteAgent {
  std::string basedir;    // as resolved on the host
  std::string agent_dir;  // <basedir>/<name>
  std::string pid_file;
};

// The spec from the host's merged, evaluated agent config (agent_install.h's AgentConfig), its
// node properties and runtime properties: the ip as the original looks it up (runtime property
// `ip`, node property `ip`, agent_config.ip), `user`, `key`, `password` (also a runtime or node
// property of that name), `port` (default 22), `basedir`, `env`, `max_workers`.
Result<RemoteAgentSpec> RemoteAgentSpecOf(const std::string& name, const nlohmann::json& config,
                                          const nlohmann::json& node_properties,
                                          const nlohmann::json& runtime_properties);

// Installs and starts the agent; an agent already running there under that name is stopped
// first (a retried install leaves one). On a failure after the folder was made, the folder is
// removed again.
Result<InstalledRemoteAgent> InstallRemoteAgent(const RemoteAgentSpec& spec,
                                                const RemoteAgentSettings& settings,
                                                const std::filesystem::path& program);

// Stops the agent whose folder is `agent_dir` (SIGTERM, SIGKILL after 10 s) and removes the
// folder.
Status UninstallRemoteAgent(const SshTarget& ssh, const std::string& agent_dir);

// When the agent of `agent_dir` is not running: the last lines of its log (never empty); an
// empty string while it runs.
Result<std::string> EndedRemoteAgentLog(const SshTarget& ssh, const std::string& agent_dir);

}  // namespace cloudify::workflow
