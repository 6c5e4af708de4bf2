#include "cloudify/rest/router.h"

#include <exception>

#include <nlohmann/json.hpp>

#include "cloudify/version.h"

namespace cloudify::rest {

// The routes grow with the REST issue; for now the unauthenticated liveness and version calls.
class Router::Impl {
 public:
  HttpResponse Route(const HttpRequest& request) const {
    const std::string api = "/api/" + std::string(kApiVersion);
    if (request.path == "/api/version" || request.path == api + "/version") {
      return Version(request);
    }
    if (request.path == api + "/ok") {
      return Ok(request);
    }
    return ErrorResponse(NotFoundError("Requested URL " + request.path + " was not found"));
  }

 private:
  static Status RequireGet(const HttpRequest& request) {
    if (request.method != "GET" && request.method != "HEAD") {
      return Status(ErrorCode::kMethodNotAllowed,
                    "Method " + request.method + " is not allowed on " + request.path);
    }
    return Status::Ok();
  }

  static HttpResponse Version(const HttpRequest& request) {
    if (Status s = RequireGet(request); !s.ok()) {
      return ErrorResponse(s);
    }
    nlohmann::json body = {{"edition", "community"},
                           {"version", std::string(kCompatibleManagerVersion)},
                           {"build", nullptr},
                           {"date", nullptr},
                           {"commit", nullptr},
                           {"distribution", "libcloudify"},
                           {"distro_release", std::string(kVersion)}};
    return HttpResponse{.status = 200, .body = body.dump()};
  }

  static HttpResponse Ok(const HttpRequest& request) {
    if (Status s = RequireGet(request); !s.ok()) {
      return ErrorResponse(s);
    }
    return HttpResponse{.status = 200, .content_type = "text/plain", .body = "OK"};
  }
};

Router::Router() : impl_(std::make_unique<Impl>()) {}
Router::~Router() = default;

HttpResponse Router::Handle(const HttpRequest& request) const {
  try {
    return impl_->Route(request);
  } catch (const std::exception& e) {
    // A bug, not an expected failure; it must still not escape the public API.
    return ErrorResponse(InternalError(e.what()));
  }
}

}  // namespace cloudify::rest
