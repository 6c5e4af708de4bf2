// cloudify-agent's flags and its main: parse, start a Worker, wait for SIGINT/SIGTERM.
#include <csignal>
#include <iostream>

#include <CLI/CLI.hpp>
#include <pthread.h>

#include "cloudify/agent/worker.h"

namespace cloudify::agent {

Result<AgentFlags> ParseAgentFlags(const std::vector<std::string>& args) {
  AgentFlags parsed;
  WorkerOptions& o = parsed.options;
  std::string work_dir = o.work_dir.string();
  std::string ctx_dir;
  CLI::App app("cloudify-agent: runs host_agent operations sent by the manager", "cloudify-agent");
  app.add_option("--name", o.name, "The agent's name (its exchange and queues)")
      ->envname("CLOUDIFY_AGENT_NAME")
      ->required();
  app.add_option("--bus-url", o.bus_url, "Broker URL: amqp://user:pass@host:5672/vhost")
      ->envname("CLOUDIFY_AGENT_BUS_URL")
      ->capture_default_str();
  app.add_option("--rest-url", o.rest_url, "The manager's REST API, http[s]://host:port")
      ->envname("CLOUDIFY_AGENT_REST_URL")
      ->capture_default_str();
  app.add_option("--rest-token", o.rest_token, "API token for tasks that carry none of their own")
      ->envname("CLOUDIFY_AGENT_REST_TOKEN");
  app.add_option("--rest-username", o.username, "REST user (when no token)")
      ->envname("CLOUDIFY_AGENT_REST_USERNAME");
  app.add_option("--rest-password", o.password, "REST password (when no token)")
      ->envname("CLOUDIFY_AGENT_REST_PASSWORD");
  app.add_option("--tenant", o.tenant, "Tenant of the REST calls")
      ->envname("CLOUDIFY_AGENT_TENANT")
      ->capture_default_str();
  app.add_option("--work-dir", work_dir, "Blueprint cache and scripts' work dirs")
      ->envname("CLOUDIFY_AGENT_WORK_DIR")
      ->capture_default_str();
  app.add_option("--max-workers", o.max_workers, "Operations run at once")
      ->envname("CLOUDIFY_AGENT_MAX_WORKERS")
      ->check(CLI::Range(1, 1024))
      ->capture_default_str();
  app.add_option("--ctx-dir", ctx_dir, "Folder of the ctx program (default: beside this one)")
      ->envname("CLOUDIFY_AGENT_CTX_DIR");
  app.add_option("--node-instance-id", o.node_instance_id,
                 "The host node instance served: register in the manager's agents table")
      ->envname("CLOUDIFY_AGENT_NODE_INSTANCE_ID");
  app.add_option("--ip", o.ip, "This host's address, recorded with the registration")
      ->envname("CLOUDIFY_AGENT_IP");
  app.add_option("--install-method", o.install_method,
                 "How this agent was installed, recorded with the registration")
      ->envname("CLOUDIFY_AGENT_INSTALL_METHOD")
      ->capture_default_str();
  int heartbeat_seconds = 30;
  app.add_option("--heartbeat-seconds", heartbeat_seconds,
                 "Seconds between state reports to the manager, when registered")
      ->envname("CLOUDIFY_AGENT_HEARTBEAT_SECONDS")
      ->check(CLI::Range(1, 86400))
      ->capture_default_str();
  // CLI11 wants argv-style input in reverse order for its vector overload.
  std::vector<std::string> reversed(args.rbegin(), args.rend());
  try {
    app.parse(reversed);
  } catch (const CLI::CallForHelp&) {
    parsed.help = true;
    parsed.help_text = app.help();
    return parsed;
  } catch (const CLI::ParseError& e) {
    return Status(ErrorCode::kBadParameters, e.what());
  }
  o.work_dir = work_dir;
  o.ctx_dir = ctx_dir;
  o.heartbeat_interval = std::chrono::seconds(heartbeat_seconds);
  return parsed;
}

int AgentMain(int argc, char** argv) {
  auto flags = ParseAgentFlags(std::vector<std::string>(argv + 1, argv + argc));
  if (!flags.ok()) {
    std::cerr << "cloudify-agent: " << flags.status().message() << "\n";
    return 2;
  }
  if (flags->help) {
    std::cout << flags->help_text;
    return 0;
  }
  // Block the stop signals before any thread starts, so only sigwait below receives them.
  sigset_t stop_signals;
  sigemptyset(&stop_signals);
  sigaddset(&stop_signals, SIGINT);
  sigaddset(&stop_signals, SIGTERM);
  pthread_sigmask(SIG_BLOCK, &stop_signals, nullptr);

  flags->options.logger = MakeStreamLogger(std::cerr);
  auto worker = Worker::Start(flags->options);
  if (!worker.ok()) {
    std::cerr << "cloudify-agent: " << worker.status().ToString() << "\n";
    return 1;
  }
  std::cout << "cloudify-agent " << (*worker)->name() << ": consuming" << std::endl;
  int signal = 0;
  sigwait(&stop_signals, &signal);
  (*worker)->Stop();
  return 0;
}

}  // namespace cloudify::agent
