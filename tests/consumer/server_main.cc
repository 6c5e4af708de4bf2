// Links the installed cloudify::server and serves one request on a free port.
#include <cloudify/server/server.h>

int main() {
  cloudify::rest::Router router;
  cloudify::server::ServerOptions options;
  options.port = 0;
  auto server = cloudify::server::HttpServer::Start(options, router);
  return server.ok() && (*server)->port() > 0 ? 0 : 1;
}
