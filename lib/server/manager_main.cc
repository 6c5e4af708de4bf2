#include <chrono>
#include <csignal>
#include <filesystem>
#include <iostream>

#include <pthread.h>
#include <unistd.h>

#include "cloudify/logging.h"
#include "cloudify/manager.h"
#include "cloudify/server/server.h"
#include "cloudify/version.h"

namespace cloudify::server {
namespace {

std::string HostName() {
  char name[256] = {};
  if (gethostname(name, sizeof name - 1) != 0 || name[0] == '\0') {
    return "manager";
  }
  return name;
}

// The agent program remote installs copy: the flag's, else the cloudify-agent installed (or
// built) beside this program, when there is one.
std::filesystem::path AgentProgram(const std::string& flag) {
  if (flag == "none") {
    return {};
  }
  if (!flag.empty()) {
    return flag;
  }
  std::error_code ec;
  const std::filesystem::path self = std::filesystem::read_symlink("/proc/self/exe", ec);
  if (ec) {
    return {};
  }
  for (const auto& candidate : {self.parent_path() / "cloudify-agent",
                                self.parent_path().parent_path() / "cloudify-agent" /
                                    "cloudify-agent"}) {  // the build tree's apps/ folders
    if (std::filesystem::is_regular_file(candidate, ec)) {
      return candidate;
    }
  }
  return {};
}

}  // namespace

int ManagerMain(int argc, char** argv, UrlFetcher url_fetcher) {
  std::vector<std::string> args(argv + 1, argv + argc);
  Result<ParsedFlags> flags = ParseFlags(args);
  if (!flags.ok()) {
    std::cerr << "cloudify-manager: " << flags.status().message() << "\n";
    return 2;
  }
  if (flags->help) {
    std::cout << flags->help_text;
    return 0;
  }
  const ServerOptions& options = flags->options;

  // Block the stop signals before any thread starts, so only sigwait below receives them.
  sigset_t stop_signals;
  sigemptyset(&stop_signals);
  sigaddset(&stop_signals, SIGINT);
  sigaddset(&stop_signals, SIGTERM);
  pthread_sigmask(SIG_BLOCK, &stop_signals, nullptr);

  // The embedded default: SQLite under the data dir, in-process broker, execution workers.
  ManagerOptions manager_options;
  manager_options.data_dir = options.data_dir;
  manager_options.store_url = options.store_url;
  manager_options.bus_url = options.bus_url;
  manager_options.url_fetcher = url_fetcher;
  manager_options.max_concurrent_executions = options.workers;
  manager_options.manager_name = options.manager_name.empty() ? HostName() : options.manager_name;
  manager_options.execution_lease = std::chrono::seconds(options.execution_lease_seconds);
  manager_options.agent_ping_timeout = std::chrono::seconds(options.agent_ping_timeout_seconds);
  manager_options.agent_ping_interval = std::chrono::seconds(options.agent_ping_interval_seconds);
  manager_options.max_remote_waits = options.max_remote_waits;
  if (options.port != 0) {
    manager_options.agent_rest_url = std::string(options.tls_cert.empty() ? "http" : "https") +
                                     "://" + options.host + ":" + std::to_string(options.port);
  }
  manager_options.agent_program = AgentProgram(options.agent_program);
  auto manager = Manager::Open(manager_options);
  if (!manager.ok()) {
    std::cerr << "cloudify-manager: " << manager.status().ToString() << "\n";
    return 1;
  }

  rest::RouterOptions router_options;
  router_options.max_json_body_bytes = options.max_json_body_bytes;
  router_options.max_archive_bytes = options.max_body_bytes;
  router_options.admin_password = options.admin_password;
  router_options.data_dir = options.data_dir;
  auto router = rest::Router::Create(**manager, router_options);
  if (!router.ok()) {
    std::cerr << "cloudify-manager: " << router.status().ToString() << "\n";
    return 1;
  }
  auto server = HttpServer::Start(options, **router);
  if (!server.ok()) {
    std::cerr << "cloudify-manager: " << server.status().message() << "\n";
    return 1;
  }
  DefaultLogger().Info("cloudify-manager " + std::string(kVersion) + " listening",
                       {{"url", std::string(options.tls_cert.empty() ? "http" : "https") + "://" +
                                    options.host + ":" + std::to_string((*server)->port())},
                        {"api", "/api/" + std::string(kApiVersion)},
                        {"data_dir", options.data_dir}});

  int signal = 0;
  sigwait(&stop_signals, &signal);
  DefaultLogger().Info("stopping", {{"signal", std::to_string(signal)}});
  // The server stops before the Manager: no request reaches a closing Manager. The Manager's
  // destructor leaves running executions resumable.
  (*server)->Stop();
  return 0;
}

}  // namespace cloudify::server
