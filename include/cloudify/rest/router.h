// The REST layer's transport-agnostic surface: requests and responses as plain values, a
// Router that answers them, and the one table mapping error codes to HTTP statuses.
//
// The HTTP binding (cloudify::server) turns sockets into HttpRequest and HttpResponse into
// bytes (it parses multipart bodies into HttpRequest::form); everything about routes, auth,
// tenants, JSON shapes and errors lives here, testable without sockets.
//
// A Router built with Router::Create serves the API of REST.md under /api/v3.1 (plus
// /api/version and the /resources file server) on top of a Manager it borrows: HTTP Basic and
// Authentication-Token auth, the Tenant header, the roles of REST.md §5, the list envelope and
// the error envelope. A default-constructed Router serves only /api/version and /api/v3.1/ok.
//
// Errors: Handle never fails; errors are HttpResponses carrying the envelope
// {"message", "error_code", "server_traceback"} with HttpStatusFor(code). Create returns the
// store's errors when the bootstrap admin cannot be read or written.
//
// Thread-safety: Router::Handle may be called from many threads at once. Ownership: the Manager
// is borrowed and must outlive the Router.
#pragma once

#include <chrono>
#include <cstddef>
#include <functional>
#include <map>
#include <memory>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "cloudify/status.h"

namespace cloudify {
class Manager;
}  // namespace cloudify

namespace cloudify::rest {

// One part of a multipart/form-data body, as parsed by the HTTP binding.
struct FormPart {
  std::string name;
  std::string filename;
  std::string content_type;
  std::string content;
};

struct HttpRequest {
  std::string method;  // "GET", "PUT", ...
  std::string path;    // without the query string, e.g. "/api/v3.1/ok"
  std::vector<std::pair<std::string, std::string>> query;  // decoded, in order
  std::map<std::string, std::string> headers;              // names lowercased
  std::string body;                                        // empty for multipart bodies
  std::vector<FormPart> form;                              // multipart/form-data parts
  std::string client_address;                              // peer IP, "" when unknown
};

// Writes one chunk of a streamed body; false when the client went away.
using ChunkSink = std::function<bool(std::string_view chunk)>;
// Produces a streamed body: called repeatedly (on a server thread) with a sink; returns true
// to be called again, false when the body is complete.
using ChunkProvider = std::function<bool(const ChunkSink& sink)>;

struct HttpResponse {
  int status = 200;
  std::string content_type = "application/json";
  std::string body;
  std::map<std::string, std::string> headers;
  // When set, the body is streamed (chunked) from it instead of `body` (Server-Sent Events).
  ChunkProvider stream;
};

// The HTTP status for an error code (REST.md §1.4), e.g. kNotFound -> 404.
int HttpStatusFor(ErrorCode code);

// The original's error envelope: {"message", "error_code", "server_traceback": null}.
HttpResponse ErrorResponse(const Status& status);

struct RouterOptions {
  // Largest JSON body accepted; larger ones get 413. Default: 1 MiB.
  size_t max_json_body_bytes = size_t{1} << 20;
  // Largest blueprint archive accepted; larger ones get 413. Default: 100 MiB.
  size_t max_archive_bytes = size_t{100} << 20;
  // The bootstrap admin's password: set when the admin user is created, and reset to it when
  // given and different. Default: "" (a new admin gets a random password, logged once).
  std::string admin_password;
  // Lifetime of tokens from POST /tokens without an expiration_date. Default: 10 hours.
  std::chrono::seconds token_lifetime = std::chrono::hours(10);
  // PBKDF2 rounds for passwords set through the API. Default: 100000.
  int password_iterations = 100000;
  // How long a verified Basic credential is trusted before PBKDF2 runs again (a cache keyed by
  // the credential's SHA-256, so hot clients do not pay ~50 ms per request). Default: 60 s.
  std::chrono::seconds credential_cache_ttl = std::chrono::seconds(60);
  // How long a user's record, groups and tenant memberships read for one request serve the
  // next ones (changes made through this router apply at once; changes made by another
  // manager on the same database apply after this long). Default: 1 s.
  std::chrono::milliseconds principal_cache_ttl = std::chrono::seconds(1);
  // How often the events stream looks for new events. Default: 200 ms.
  std::chrono::milliseconds stream_poll_interval = std::chrono::milliseconds(200);
  // How long PUT /blueprints and PUT /deployments may wait for their work. Default: 120 s.
  std::chrono::milliseconds wait_timeout = std::chrono::seconds(120);
  // The data dir of the Manager, for the /resources file server. Default: "./cloudify-data".
  std::string data_dir = "./cloudify-data";
};

class Router {
 public:
  // Only /api/version and /api/v3.1/ok.
  Router();
  // The whole API over `manager`; ensures the bootstrap admin exists in default_tenant.
  static Result<std::unique_ptr<Router>> Create(Manager& manager, RouterOptions options = {});
  ~Router();
  Router(const Router&) = delete;
  Router& operator=(const Router&) = delete;

  // Answers one request. Never throws.
  HttpResponse Handle(const HttpRequest& request) const;

  // The options in force (the server reads the body limits).
  const RouterOptions& options() const;

 private:
  class Impl;
  explicit Router(std::unique_ptr<Impl> impl);
  std::unique_ptr<Impl> impl_;
};

}  // namespace cloudify::rest
