// The REST layer's transport-agnostic surface: requests and responses as plain values, a
// Router that answers them, and the one table mapping error codes to HTTP statuses.
//
// The HTTP binding (cloudify::server) turns sockets into HttpRequest and HttpResponse into
// bytes; everything about routes, JSON shapes and errors lives here, testable without sockets.
//
// Thread-safety: Router::Handle may be called from many threads at once.
#pragma once

#include <map>
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "cloudify/status.h"

namespace cloudify::rest {

struct HttpRequest {
  std::string method;  // "GET", "PUT", ...
  std::string path;    // without the query string, e.g. "/api/v3.1/ok"
  std::vector<std::pair<std::string, std::string>> query;  // decoded, in order
  std::map<std::string, std::string> headers;              // names lowercased
  std::string body;
};

struct HttpResponse {
  int status = 200;
  std::string content_type = "application/json";
  std::string body;
  std::map<std::string, std::string> headers;
};

// The HTTP status for an error code (REST.md §1.4), e.g. kNotFound -> 404.
int HttpStatusFor(ErrorCode code);

// The original's error envelope: {"message", "error_code", "server_traceback": null}.
HttpResponse ErrorResponse(const Status& status);

class Router {
 public:
  Router();
  ~Router();
  Router(const Router&) = delete;
  Router& operator=(const Router&) = delete;

  // Answers one request. Never throws.
  HttpResponse Handle(const HttpRequest& request) const;

 private:
  class Impl;
  std::unique_ptr<Impl> impl_;
};

}  // namespace cloudify::rest
