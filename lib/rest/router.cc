#include "cloudify/rest/router.h"

#include <exception>

#include <nlohmann/json.hpp>

#include "cloudify/logging.h"
#include "cloudify/version.h"

#include "rest/internal.h"

namespace cloudify::rest {

using internal::Access;
using internal::Context;

namespace {

std::vector<std::string_view> Split(std::string_view path) {
  std::vector<std::string_view> out;
  size_t start = 0;
  while (start < path.size()) {
    size_t slash = path.find('/', start);
    if (slash == std::string_view::npos) {
      slash = path.size();
    }
    if (slash > start) {
      out.push_back(path.substr(start, slash - start));
    }
    start = slash + 1;
  }
  return out;
}

struct CompiledRoute {
  std::vector<std::string> segments;  // "<>" one segment, "<*>" the rest
  const internal::Route* route = nullptr;
};

bool Match(const CompiledRoute& r, const std::vector<std::string_view>& path,
           std::vector<std::string>& params) {
  params.clear();
  size_t i = 0;
  for (; i < r.segments.size(); ++i) {
    const std::string& seg = r.segments[i];
    if (seg == "<*>") {
      if (i >= path.size()) {
        return false;
      }
      std::string rest;
      for (size_t j = i; j < path.size(); ++j) {
        rest += (j == i ? "" : "/") + std::string(path[j]);
      }
      params.push_back(std::move(rest));
      return true;
    }
    if (i >= path.size()) {
      return false;
    }
    if (seg == "<>") {
      params.emplace_back(path[i]);
    } else if (seg != path[i]) {
      return false;
    }
  }
  return i == path.size();
}

}  // namespace

class Router::Impl {
 public:
  Impl() = default;
  explicit Impl(std::unique_ptr<internal::Services> services) : services_(std::move(services)) {
    internal::AddAuthRoutes(routes_);
    internal::AddUserRoutes(routes_);
    internal::AddBlueprintRoutes(routes_);
    internal::AddDeploymentRoutes(routes_);
    internal::AddExecutionRoutes(routes_);
    internal::AddEventRoutes(routes_);
    internal::AddNodeRoutes(routes_);
    internal::AddSecretRoutes(routes_);
    internal::AddAgentRoutes(routes_);
    internal::AddPluginRoutes(routes_);
    internal::AddInfoRoutes(routes_);
    for (const internal::Route& r : routes_) {
      CompiledRoute c;
      for (std::string_view s : Split(r.pattern)) {
        c.segments.emplace_back(s);
      }
      c.route = &r;
      compiled_.push_back(std::move(c));
    }
  }

  internal::Services* services() const { return services_.get(); }

  HttpResponse Dispatch(const HttpRequest& request) const {
    const std::string api = "/api/" + std::string(kApiVersion);
    if (request.path == "/api/version" || request.path == api + "/version") {
      return Version(request);
    }
    if (request.path == api + "/ok") {
      return Ok(request);
    }
    if (services_ == nullptr) {
      return ErrorResponse(NotFoundError("Requested URL " + request.path + " was not found"));
    }
    if (request.path.rfind("/resources/", 0) == 0) {
      Context ctx{.request = request, .services = *services_};
      if (request.method != "GET" && request.method != "HEAD") {
        return ErrorResponse(Status(ErrorCode::kMethodNotAllowed,
                                    "Method " + request.method + " is not allowed on /resources"));
      }
      return Finish(internal::ServeResource(ctx));
    }
    if (request.path.rfind(api + "/", 0) != 0) {
      return ErrorResponse(NotFoundError("Requested URL " + request.path + " was not found"));
    }
    std::vector<std::string_view> segments =
        Split(std::string_view(request.path).substr(api.size()));
    const std::string method = request.method == "HEAD" ? "GET" : request.method;
    std::vector<std::string> params;
    bool path_matched = false;
    for (const CompiledRoute& c : compiled_) {
      if (!Match(c, segments, params)) {
        continue;
      }
      path_matched = true;
      if (c.route->method != method) {
        continue;
      }
      Context ctx{.request = request, .services = *services_, .params = std::move(params)};
      if (Status s = internal::Authenticate(ctx, c.route->access); !s.ok()) {
        return ErrorResponse(s);
      }
      HttpResponse response = Finish(c.route->handler(ctx));
      if (c.route->access == Access::kSysAdmin && method != "GET") {
        // Users, groups and tenants changed: nobody keeps acting on the old roles.
        services_->principals.Invalidate();
      }
      return response;
    }
    if (path_matched) {
      return ErrorResponse(
          Status(ErrorCode::kMethodNotAllowed,
                 "Method " + request.method + " is not allowed on " + request.path));
    }
    return ErrorResponse(NotFoundError("Requested URL " + request.path + " was not found"));
  }

 private:
  static HttpResponse Finish(Result<HttpResponse> result) {
    if (!result.ok()) {
      return ErrorResponse(result.status());
    }
    return std::move(result).value();
  }

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

  std::unique_ptr<internal::Services> services_;
  std::vector<internal::Route> routes_;
  std::vector<CompiledRoute> compiled_;
};

Router::Router() : impl_(std::make_unique<Impl>()) {}
Router::Router(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}
Router::~Router() = default;

Result<std::unique_ptr<Router>> Router::Create(Manager& manager, RouterOptions options) {
  auto services = std::make_unique<internal::Services>();
  services->manager = &manager;
  services->options = std::move(options);
  CLOUDIFY_RETURN_IF_ERROR(internal::EnsureAdmin(*services));
  return std::unique_ptr<Router>(new Router(std::make_unique<Impl>(std::move(services))));
}

const RouterOptions& Router::options() const {
  static const RouterOptions kDefaults;
  internal::Services* s = impl_->services();
  return s != nullptr ? s->options : kDefaults;
}

HttpResponse Router::Handle(const HttpRequest& request) const {
  try {
    return impl_->Dispatch(request);
  } catch (const std::exception& e) {
    // A bug, not an expected failure; it must still not escape the public API.
    return ErrorResponse(InternalError(e.what()));
  }
}

}  // namespace cloudify::rest
