#include <csignal>
#include <iostream>

#include <pthread.h>

#include "cloudify/logging.h"
#include "cloudify/manager.h"
#include "cloudify/server/server.h"
#include "cloudify/version.h"

namespace cloudify::server {

int ManagerMain(int argc, char** argv) {
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
  auto manager = Manager::Open({.data_dir = options.data_dir});
  if (!manager.ok()) {
    std::cerr << "cloudify-manager: " << manager.status().ToString() << "\n";
    return 1;
  }

  rest::Router router;
  auto server = HttpServer::Start(options, router);
  if (!server.ok()) {
    std::cerr << "cloudify-manager: " << server.status().message() << "\n";
    return 1;
  }
  DefaultLogger().Info("cloudify-manager " + std::string(kVersion) + " listening",
                       {{"url", "http://" + options.host + ":" + std::to_string((*server)->port())},
                        {"api", "/api/" + std::string(kApiVersion)},
                        {"data_dir", options.data_dir}});

  int signal = 0;
  sigwait(&stop_signals, &signal);
  DefaultLogger().Info("stopping", {{"signal", std::to_string(signal)}});
  (*server)->Stop();
  return 0;
}

}  // namespace cloudify::server
