// The HTTP binding of the REST API (cloudify::server): listen, serve a Router, shut down.
//
// ManagerMain is the whole cloudify-manager program behind its one-line main(): it parses the
// flags (and the YAML --config file and CLOUDIFY_* environment variables), opens the Manager,
// builds the Router, starts the server and waits for SIGINT/SIGTERM.
//
// Errors: Start returns kUnavailable when the address cannot be bound and kBadParameters for
// unreadable TLS files; ParseFlags returns kBadParameters.
//
// Thread-safety: HttpServer::Stop may be called from any thread; the Router must outlive the
// server and answer concurrent calls.
#pragma once

#include <cstddef>
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "cloudify/rest/router.h"
#include "cloudify/status.h"

namespace cloudify::server {

struct ServerOptions {
  // Address to listen on. Default: "127.0.0.1" (loopback; nginx in deploy/ fronts it).
  std::string host = "127.0.0.1";
  // Port; 0 picks a free one (tests). Default: 53333, the original's REST port.
  int port = 53333;
  // Where the manager keeps its SQLite file, blueprint resources and logs.
  // Default: "./cloudify-data".
  std::string data_dir = "./cloudify-data";
  // Largest request body accepted; larger ones get 413. Default: 100 MiB (blueprint archives).
  size_t max_body_bytes = size_t{100} << 20;
  // Largest JSON body accepted (checked by the Router); larger ones get 413. Default: 1 MiB.
  size_t max_json_body_bytes = size_t{1} << 20;
  // Worker threads serving connections. httplib holds one thread per keep-alive connection
  // while it stays open, so this is also the number of clients served at once. Default: 64.
  int threads = 64;
  // The store URL (sqlite:///..., postgresql://...). Default: "" (SQLite under data_dir).
  std::string store_url;
  // The broker URL (inproc://, amqp://...). Default: "inproc://".
  std::string bus_url = "inproc://";
  // Executions running at once. Default: 8.
  int workers = 8;
  // This manager's name: the owner of the executions it claims and the events' manager_name.
  // Managers sharing one store need distinct names. Default: "" (the host name).
  std::string manager_name;
  // How long an execution this manager claimed stays its own without renewal; when the
  // manager dies, another takes the execution over after this. Default: 30 s.
  int execution_lease_seconds = 30;
  // How long a cloudify-agent has to answer the ping sent before each host_agent operation.
  // Default: 30 s, as the original.
  int agent_ping_timeout_seconds = 30;
  // An agent heard from this recently is not pinged before the next host_agent operation; 0
  // pings before every one, as the original. Default: 2.
  int agent_ping_interval_seconds = 2;
  // host_agent operations of one execution that may wait for their agents beyond its 8
  // operations running at once (ManagerOptions::max_remote_waits). Default: 256.
  int max_remote_waits = 256;
  // install_method remote: the cloudify-agent program installed over SSH on hosts whose
  // agent_config gives a user (ManagerOptions::agent_program). "none" installs none. Default:
  // "" (the cloudify-agent beside this program when there is one, else none).
  std::string agent_program;
  // The bootstrap admin's password (see RouterOptions::admin_password). Default: "".
  std::string admin_password;
  // PEM certificate and private key; when both are set the server speaks HTTPS only.
  // Default: "" (plain HTTP).
  std::string tls_cert;
  std::string tls_key;
};

class HttpServer {
 public:
  // Binds and starts serving `router` on background threads. kUnavailable when the address
  // cannot be bound.
  static Result<std::unique_ptr<HttpServer>> Start(const ServerOptions& options,
                                                   const rest::Router& router);
  ~HttpServer();  // stops
  HttpServer(const HttpServer&) = delete;
  HttpServer& operator=(const HttpServer&) = delete;

  // The bound port (the chosen one when options.port was 0).
  int port() const;
  // Stops accepting, finishes in-flight requests, joins the threads. Idempotent.
  void Stop();

 private:
  class Impl;
  explicit HttpServer(std::unique_ptr<Impl> impl);
  std::unique_ptr<Impl> impl_;
};

// Parses cloudify-manager's flags (args excludes the program name). kBadParameters with
// CLI11's message on a bad flag. `help` is set when --help was asked for; the help text is then
// in `help_text`.
struct ParsedFlags {
  ServerOptions options;
  bool help = false;
  std::string help_text;
};
Result<ParsedFlags> ParseFlags(const std::vector<std::string>& args);

// Fetches what blueprints name by URL (ManagerOptions::url_fetcher).
using UrlFetcher = std::function<Result<std::string>(const std::string& url)>;

// The cloudify-manager program: flags, serve until SIGINT/SIGTERM, exit code. The program's
// main hands it cloudify::client::FetchUrl (the server layer links no HTTP client of its own).
int ManagerMain(int argc, char** argv, UrlFetcher url_fetcher = nullptr);

}  // namespace cloudify::server
