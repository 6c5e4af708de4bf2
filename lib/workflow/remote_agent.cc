#include "workflow/remote_agent.h"

#include <algorithm>
#include <chrono>
#include <string_view>
#include <utility>
#include <vector>

#include "cloudify/crypto.h"
#include "cloudify/files.h"
#include "cloudify/model/json.h"
#include "cloudify/process.h"

namespace cloudify::workflow {
namespace {

using nlohmann::json;

using model::StringAt;

bool IsEnvName(const std::string& name) {
  if (name.empty() || (name[0] >= '0' && name[0] <= '9')) {
    return false;
  }
  for (char c : name) {
    const bool ok =
        (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '_';
    if (!ok) {
      return false;
    }
  }
  return true;
}

// Shell code that finds the agent of the folder $d: its pid (empty when none), and alive()
// whether it runs. A pid whose process is not a cloudify-agent any more (it ended and the number
// was reused) is not the agent's, and a zombie counts as ended (an orphan's parent may not reap
// it).
constexpr const char* kFindAgent = R"SH(
pid=""
if [ -s "$d/agent.pid" ]; then pid=$(cat "$d/agent.pid"); fi
if [ -n "$pid" ] && [ -e "/proc/$pid" ] && ! tr '\0' '\n' <"/proc/$pid/cmdline" | grep -q cloudify-agent; then pid=""; fi
alive() { [ -n "$pid" ] && kill -0 "$pid" 2>/dev/null && ! grep -qs '^State:[[:space:]]*Z' "/proc/$pid/status"; }
)SH";

// Stops the agent (SIGTERM, SIGKILL after 10 s) and removes its pid file.
constexpr const char* kStopAgent = R"SH(
if alive; then kill "$pid" 2>/dev/null; fi
i=0
while alive && [ "$i" -lt 100 ]; do sleep 0.1; i=$((i + 1)); done
if alive; then kill -9 "$pid" 2>/dev/null; fi
rm -f "$d/agent.pid"
)SH";

// Starts the agent in $d with the settings of agent.env, detached from the SSH session (its own
// session, no terminal, output to agent.log), and waits up to 10 s for its pid file.
constexpr const char* kStartAgent = R"SH(
cd "$d" || exit 1
set -a
. ./agent.env || exit 1
set +a
rm -f agent.pid
export LD_LIBRARY_PATH="$d/lib${LD_LIBRARY_PATH:+:$LD_LIBRARY_PATH}"
(nohup setsid sh -c 'echo $$ > agent.pid; exec ./cloudify-agent' </dev/null >>agent.log 2>&1 &)
i=0
while [ ! -s agent.pid ] && [ "$i" -lt 100 ]; do sleep 0.1; i=$((i + 1)); done
[ -s agent.pid ] || { echo "the agent did not start: see $d/agent.log" >&2; exit 1; }
)SH";

// `script` for the agent folder `agent_dir`, run by sh whatever the user's login shell is.
std::string InDir(const std::string& agent_dir, const std::string& script) {
  return "sh -c " + ShellQuote("d=" + ShellQuote(agent_dir) + "\n" + kFindAgent + script);
}

// The agent's name is its folder's: one path component of safe characters, so that removing
// the folder never removes anything else.
bool IsFolderName(const std::string& name) {
  if (name.empty() || name == "." || name == "..") {
    return false;
  }
  for (char c : name) {
    const bool ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
                    c == '_' || c == '-' || c == '.';
    if (!ok) {
      return false;
    }
  }
  return true;
}

// This project's shared libraries (libcloudify*) that `program` loads, by the name it asks
// for, as `ldd` lists them: the host has the packages of all the others (deploy/README.md).
// None when the program is static, or when there is no `ldd` to ask (the agent then needs the
// libraries installed on the host).
Result<std::vector<std::pair<std::string, std::filesystem::path>>> ProjectLibrariesOf(
    const std::filesystem::path& program) {
  std::vector<std::pair<std::string, std::filesystem::path>> libraries;
  ProcessOptions ldd;
  ldd.argv = {"ldd", program.string()};
  ldd.timeout = std::chrono::seconds(30);
  ldd.on_stdout_line = [&libraries](std::string_view line) {
    // "\tlibcloudify.so.0.1 => /path/to/libcloudify.so.0.1 (0x...)"
    const size_t arrow = line.find(" => /");
    const size_t address = line.rfind(" (");
    if (arrow == std::string_view::npos || address == std::string_view::npos || address < arrow) {
      return;
    }
    std::string_view name = line.substr(0, arrow);
    name.remove_prefix(std::min(name.find_first_not_of(" \t"), name.size()));
    if (name.rfind("libcloudify", 0) == 0 && name.find('/') == std::string_view::npos) {
      libraries.emplace_back(std::string(name), line.substr(arrow + 4, address - arrow - 4));
    }
  };
  auto listed = RunProcess(ldd);
  if (!listed.ok() && listed.status().code() == ErrorCode::kNotFound) {
    return libraries;
  }
  CLOUDIFY_RETURN_IF_ERROR(listed.status());
  if (listed->timed_out) {
    return InternalError("listing the libraries of " + program.string() + ": ldd timed out");
  }
  return libraries;
}

}  // namespace

Result<RemoteAgentSpec> RemoteAgentSpecOf(const std::string& name, const json& config,
                                          const json& node_properties,
                                          const json& runtime_properties) {
  RemoteAgentSpec spec;
  spec.name = name;
  // The original's order: the instance's ip (set by the IaaS plugin), the node's, agent_config's.
  for (const json* from : {&runtime_properties, &node_properties, &config}) {
    if (spec.ssh.host.empty()) {
      spec.ssh.host = StringAt(*from, "ip");
    }
    if (spec.ssh.password.empty()) {
      spec.ssh.password = StringAt(*from, "password");
    }
  }
  spec.ssh.user = StringAt(config, "user");
  spec.ssh.key = StringAt(config, "key");
  if (auto port = config.find("port"); port != config.end() && !port->is_null()) {
    if (port->is_number_integer()) {
      spec.ssh.port = port->get<int>();
    } else if (port->is_string() && !port->get<std::string>().empty()) {
      try {
        spec.ssh.port = std::stoi(port->get<std::string>());
      } catch (const std::exception&) {
        spec.ssh.port = 0;
      }
    }
    if (spec.ssh.port <= 0 || spec.ssh.port > 65535) {
      return BadParametersError("agent_config.port of agent " + name +
                                " is not a port: " + port->dump());
    }
  }
  if (spec.ssh.host.empty()) {
    return BadParametersError("install_method remote: no ip to reach the host of agent " + name +
                              " at (runtime property ip, node property ip or agent_config.ip)");
  }
  if (spec.ssh.user.empty()) {
    return BadParametersError("install_method remote: agent_config.user of agent " + name +
                              " is not a string");
  }
  if (spec.ssh.key.empty() && spec.ssh.password.empty()) {
    return BadParametersError("install_method remote: agent " + name + " on " +
                              spec.ssh.Describe() +
                              " needs agent_config.key (a private key or its file) or "
                              "agent_config.password to log in with");
  }
  spec.basedir = StringAt(config, "basedir");
  if (auto env = config.find("env"); env != config.end() && env->is_object()) {
    spec.env = *env;
  }
  if (auto workers = config.find("max_workers");
      workers != config.end() && workers->is_number_integer()) {
    spec.max_workers = workers->get<int>();
  }
  return spec;
}

Result<InstalledRemoteAgent> InstallRemoteAgent(const RemoteAgentSpec& spec,
                                                const RemoteAgentSettings& settings,
                                                const std::filesystem::path& program) {
  // The settings, checked before the host is touched.
  if (!IsFolderName(spec.name)) {
    return BadParametersError("install_method remote: the agent name '" + spec.name +
                              "' cannot name its folder (letters, digits, '_', '-', '.' only)");
  }
  std::string env_file;
  auto add = [&env_file](const std::string& name, const std::string& value) {
    env_file += name + "=" + ShellQuote(value) + "\n";
  };
  for (const auto& [name, value] : spec.env.items()) {
    if (!IsEnvName(name)) {
      return BadParametersError("agent_config.env of agent " + spec.name + ": '" + name +
                                "' is not an environment variable name");
    }
    add(name, value.is_string() ? value.get<std::string>() : value.dump());
  }
  std::error_code ec;
  if (!std::filesystem::is_regular_file(program, ec)) {
    return NotFoundError("the agent program " + program.string() + " is not a file");
  }
  CLOUDIFY_ASSIGN_OR_RETURN(std::unique_ptr<SshSession> ssh, SshSession::Connect(spec.ssh));
  std::string basedir = spec.basedir;
  if (basedir.empty() || basedir == "~" || basedir.rfind("~/", 0) == 0) {
    CLOUDIFY_ASSIGN_OR_RETURN(std::string home,
                              ssh->Check("sh -c 'printf %s \"$HOME\"'", "finding the home folder"));
    if (home.empty()) {
      return InternalError("the home folder of " + spec.ssh.Describe() +
                           " is unknown: set agent_config.basedir");
    }
    basedir = basedir.size() > 1 ? home + basedir.substr(1) : home;
  }
  InstalledRemoteAgent installed;
  installed.basedir = basedir;
  installed.agent_dir = basedir + "/" + spec.name;
  installed.pid_file = installed.agent_dir + "/agent.pid";
  const std::string& dir = installed.agent_dir;

  add("CLOUDIFY_AGENT_NAME", spec.name);
  add("CLOUDIFY_AGENT_BUS_URL", settings.bus_url);
  add("CLOUDIFY_AGENT_REST_URL", settings.rest_url);
  add("CLOUDIFY_AGENT_REST_TOKEN", settings.rest_token);
  add("CLOUDIFY_AGENT_TENANT", settings.tenant);
  add("CLOUDIFY_AGENT_NODE_INSTANCE_ID", settings.node_instance_id);
  add("CLOUDIFY_AGENT_IP", spec.ssh.host);
  add("CLOUDIFY_AGENT_INSTALL_METHOD", "remote");
  add("CLOUDIFY_AGENT_WORK_DIR", dir + "/work");
  if (spec.max_workers > 0) {
    add("CLOUDIFY_AGENT_MAX_WORKERS", std::to_string(spec.max_workers));
  }

  CLOUDIFY_ASSIGN_OR_RETURN(auto libraries, ProjectLibrariesOf(program));

  // An agent of an earlier attempt goes first (one agent per name); then its folder, private.
  CLOUDIFY_RETURN_IF_ERROR(
      ssh->Check(InDir(dir, std::string(kStopAgent) +
                                "mkdir -p \"$d/work\" \"$d/lib\" && chmod 700 \"$d\"\n"),
                 "making the agent's folder " + dir)
          .status());
  auto undo = [&](Status failed) {
    (void)ssh->Run(InDir(dir, std::string(kStopAgent) + "rm -rf \"$d\"\n"));
    return failed;
  };
  if (Status copied = ssh->CopyFile(program, dir + "/cloudify-agent", 0755); !copied.ok()) {
    return undo(copied.WithContext("copying the agent program"));
  }
  // The agent starts with lib/ on its library path. A host that has the very file where the
  // program looks for it (this machine, or one that shares its installation) needs no copy.
  for (const auto& [name, path] : libraries) {
    auto content = ReadFileBytes(path);
    if (!content.ok()) {
      return undo(content.status().WithContext("reading the library " + path.string()));
    }
    auto there = ssh->Run("sha256sum " + ShellQuote(path.string()) + " 2>/dev/null");
    if (there.ok() && there->exit_status == 0 && there->out.rfind(Sha256Hex(*content), 0) == 0) {
      continue;
    }
    if (Status copied = ssh->WriteFile(dir + "/lib/" + name, *content, 0644); !copied.ok()) {
      return undo(copied.WithContext("copying the library " + path.string()));
    }
  }
  // The agent's scripts call `ctx`, which it looks for beside itself.
  const std::filesystem::path ctx = program.parent_path() / "ctx";
  if (std::filesystem::is_regular_file(ctx, ec)) {
    if (Status copied = ssh->CopyFile(ctx, dir + "/ctx", 0755); !copied.ok()) {
      return undo(copied.WithContext("copying the ctx program"));
    }
  }
  if (Status written = ssh->WriteFile(dir + "/agent.env", env_file, 0600); !written.ok()) {
    return undo(written.WithContext("writing the agent's settings"));
  }
  if (auto started = ssh->Check(InDir(dir, kStartAgent), "starting the agent"); !started.ok()) {
    return undo(started.status());
  }
  return installed;
}

Status UninstallRemoteAgent(const SshTarget& target, const std::string& agent_dir) {
  if (agent_dir.empty() || agent_dir == "/") {
    return BadParametersError("no agent folder to remove on " + target.Describe());
  }
  CLOUDIFY_ASSIGN_OR_RETURN(std::unique_ptr<SshSession> ssh, SshSession::Connect(target));
  return ssh
      ->Check(InDir(agent_dir, std::string(kStopAgent) + "rm -rf \"$d\"\n"), "stopping the agent")
      .status();
}

Result<std::string> EndedRemoteAgentLog(const SshTarget& target, const std::string& agent_dir) {
  CLOUDIFY_ASSIGN_OR_RETURN(std::unique_ptr<SshSession> ssh, SshSession::Connect(target));
  CLOUDIFY_ASSIGN_OR_RETURN(
      std::string out,
      ssh->Check(InDir(agent_dir,
                       "if alive; then exit 0; fi\necho ended\ntail -n 20 \"$d/agent.log\" "
                       "2>/dev/null\n"),
                 "looking for the agent"));
  if (out.rfind("ended\n", 0) != 0) {
    return std::string();
  }
  out.erase(0, 6);
  return out.empty() ? std::string("(its log is empty)") : out;
}

}  // namespace cloudify::workflow
