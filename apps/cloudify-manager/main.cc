// cloudify-manager: everything lives in the library; main only hands over, with the HTTP
// client that fetches what blueprints name by URL.
#include <cloudify/client/url_fetch.h>
#include <cloudify/server/server.h>

int main(int argc, char** argv) {
  return cloudify::server::ManagerMain(
      argc, argv, [](const std::string& url) { return cloudify::client::FetchUrl(url); });
}
