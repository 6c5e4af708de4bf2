#include <CLI/CLI.hpp>

#include "cloudify/dsl/yaml.h"
#include "cloudify/files.h"
#include "cloudify/server/server.h"

namespace cloudify::server {
namespace {

// The listen address as "host:port" (IPv6 as "[::1]:53333"); a bare port is accepted too.
Status ParseListen(const std::string& listen, ServerOptions& options) {
  std::string host = options.host;
  std::string port = listen;
  if (size_t colon = listen.rfind(':'); colon != std::string::npos) {
    host = listen.substr(0, colon);
    port = listen.substr(colon + 1);
    if (host.size() >= 2 && host.front() == '[' && host.back() == ']') {
      host = host.substr(1, host.size() - 2);
    }
  }
  try {
    size_t used = 0;
    int value = std::stoi(port, &used);
    if (used != port.size() || value < 0 || value > 65535) {
      throw std::out_of_range(port);
    }
    options.port = value;
  } catch (const std::exception&) {
    return BadParametersError("--listen: invalid port in '" + listen + "'");
  }
  options.host = host;
  return Status::Ok();
}

// The YAML config file: a map whose keys are the long flag names (dashes or underscores).
// Values apply to options given neither as flags nor in the environment.
Status ApplyConfigFile(CLI::App& app, const std::string& path) {
  auto text = ReadFileBytes(path);
  if (!text.ok()) {
    return BadParametersError("--config: cannot read " + path);
  }
  CLOUDIFY_ASSIGN_OR_RETURN(nlohmann::json config, dsl::YamlToJson(*text, path));
  if (config.is_null()) {
    return Status::Ok();
  }
  if (!config.is_object()) {
    return BadParametersError(path + ": expected a map of option names to values");
  }
  for (const auto& [key, value] : config.items()) {
    std::string name = key;
    std::replace(name.begin(), name.end(), '_', '-');
    CLI::Option* option = app.get_option_no_throw("--" + name);
    if (option == nullptr || name == "config") {
      return BadParametersError(path + ": unknown option `" + key + "`");
    }
    if (option->count() > 0) {
      continue;  // the command line and the environment win
    }
    std::string text_value = value.is_string() ? value.get<std::string>() : value.dump();
    option->add_result(text_value);
    try {
      option->run_callback();
    } catch (const CLI::Error& e) {
      return BadParametersError(path + ": `" + key + "`: " + e.what());
    }
  }
  return Status::Ok();
}

}  // namespace

Result<ParsedFlags> ParseFlags(const std::vector<std::string>& args) {
  ParsedFlags parsed;
  ServerOptions& o = parsed.options;
  CLI::App app{"cloudify-manager: the libcloudify orchestration manager and its REST API",
               "cloudify-manager"};
  std::string listen = o.host + ":" + std::to_string(o.port);
  std::string config;
  app.add_option("--config", config,
                 "YAML file of options (keys are the long flag names); flags and environment "
                 "variables override it")
      ->envname("CLOUDIFY_CONFIG");
  app.add_option("--listen", listen, "Address to serve on, HOST:PORT")
      ->envname("CLOUDIFY_LISTEN")
      ->capture_default_str();
  app.add_option("--data-dir", o.data_dir, "Directory for the database, resources and logs")
      ->envname("CLOUDIFY_DATA_DIR")
      ->capture_default_str();
  app.add_option("--store-url", o.store_url,
                 "Store URL: sqlite:///path or postgresql://user:pass@host/db (default: SQLite "
                 "under the data dir)")
      ->envname("CLOUDIFY_STORE_URL");
  app.add_option("--bus-url", o.bus_url, "Broker URL: inproc:// or amqp://user:pass@host/vhost")
      ->envname("CLOUDIFY_BUS_URL")
      ->capture_default_str();
  app.add_option("--workers", o.workers, "Executions running at once")
      ->envname("CLOUDIFY_WORKERS")
      ->check(CLI::Range(1, 1024))
      ->capture_default_str();
  app.add_option(
         "--manager-name", o.manager_name,
         "This manager's name, distinct among managers sharing a store (default: host name)")
      ->envname("CLOUDIFY_MANAGER_NAME");
  app.add_option("--execution-lease-seconds", o.execution_lease_seconds,
                 "Seconds before another manager takes over the executions of one that died")
      ->envname("CLOUDIFY_EXECUTION_LEASE_SECONDS")
      ->check(CLI::Range(1, 3600))
      ->capture_default_str();
  app.add_option("--agent-ping-timeout-seconds", o.agent_ping_timeout_seconds,
                 "Seconds an agent has to answer the ping before each host_agent operation")
      ->envname("CLOUDIFY_AGENT_PING_TIMEOUT_SECONDS")
      ->check(CLI::Range(1, 3600))
      ->capture_default_str();
  app.add_option("--agent-ping-interval-seconds", o.agent_ping_interval_seconds,
                 "An agent heard from this recently is not pinged again before an operation "
                 "(0: ping before every one)")
      ->envname("CLOUDIFY_AGENT_PING_INTERVAL_SECONDS")
      ->check(CLI::Range(0, 3600))
      ->capture_default_str();
  app.add_option("--max-remote-waits", o.max_remote_waits,
                 "host_agent operations of one execution that may wait for their agents at once, "
                 "beyond its running operations (each holds a thread)")
      ->envname("CLOUDIFY_MAX_REMOTE_WAITS")
      ->check(CLI::Range(0, 4096))
      ->capture_default_str();
  app.add_option("--agent-program", o.agent_program,
                 "cloudify-agent installed over SSH on hosts of install_method remote with an "
                 "agent_config.user (default: the one beside this program; none: no installs)")
      ->envname("CLOUDIFY_AGENT_PROGRAM");
  app.add_option("--admin-password", o.admin_password,
                 "Password of the bootstrap admin (default: random on first start, logged)")
      ->envname("CLOUDIFY_ADMIN_PASSWORD");
  app.add_option("--tls-cert", o.tls_cert, "PEM certificate: serve HTTPS (with --tls-key)")
      ->envname("CLOUDIFY_TLS_CERT");
  app.add_option("--tls-key", o.tls_key, "PEM private key of --tls-cert")
      ->envname("CLOUDIFY_TLS_KEY");
  app.add_option("--threads", o.threads, "HTTP worker threads")
      ->envname("CLOUDIFY_THREADS")
      ->check(CLI::Range(1, 1024))
      ->capture_default_str();
  app.add_option("--max-body-bytes", o.max_body_bytes,
                 "Largest request body (blueprint archives) accepted")
      ->envname("CLOUDIFY_MAX_BODY_BYTES")
      ->capture_default_str();
  app.add_option("--max-json-body-bytes", o.max_json_body_bytes, "Largest JSON body accepted")
      ->envname("CLOUDIFY_MAX_JSON_BODY_BYTES")
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
    return BadParametersError(e.what());
  }
  if (!config.empty()) {
    CLOUDIFY_RETURN_IF_ERROR(ApplyConfigFile(app, config));
  }
  CLOUDIFY_RETURN_IF_ERROR(ParseListen(listen, o));
  if (o.tls_cert.empty() != o.tls_key.empty()) {
    return BadParametersError("--tls-cert and --tls-key go together");
  }
  return parsed;
}

}  // namespace cloudify::server
