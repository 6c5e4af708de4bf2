#include <CLI/CLI.hpp>

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

}  // namespace

Result<ParsedFlags> ParseFlags(const std::vector<std::string>& args) {
  ParsedFlags parsed;
  ServerOptions& o = parsed.options;
  CLI::App app{"cloudify-manager: the libcloudify orchestration manager and its REST API",
               "cloudify-manager"};
  std::string listen = o.host + ":" + std::to_string(o.port);
  app.add_option("--listen", listen, "Address to serve on, HOST:PORT")
      ->envname("CLOUDIFY_LISTEN")
      ->capture_default_str();
  app.add_option("--data-dir", o.data_dir, "Directory for the database, resources and logs")
      ->envname("CLOUDIFY_DATA_DIR")
      ->capture_default_str();
  app.add_option("--threads", o.threads, "HTTP worker threads")
      ->check(CLI::Range(1, 1024))
      ->capture_default_str();
  app.add_option("--max-body-bytes", o.max_body_bytes, "Largest request body accepted")
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
  CLOUDIFY_RETURN_IF_ERROR(ParseListen(listen, o));
  return parsed;
}

}  // namespace cloudify::server
