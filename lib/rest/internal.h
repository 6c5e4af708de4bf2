// What the route files of lib/rest share: the request context (who is calling, in which
// tenant), the route table entry, and the helpers for bodies, query strings and envelopes.
#pragma once

#include <chrono>
#include <functional>
#include <map>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include <nlohmann/json.hpp>

#include "cloudify/clock.h"
#include "cloudify/manager.h"
#include "cloudify/model/user.h"
#include "cloudify/rest/router.h"
#include "cloudify/status.h"
#include "cloudify/storage/store.h"

namespace cloudify::rest::internal {

// Who may call a route (REST.md §5). Tenant roles rank viewer < operations < user < manager;
// sys_admin passes every check.
enum class Access {
  kPublic,         // no authentication
  kAuthenticated,  // any user, no tenant needed
  kViewer,         // read in the tenant
  kOperations,     // deploy and run workflows
  kUser,           // manage blueprints, secrets, plugins
  kManager,        // tenant administration
  kSysAdmin,       // users, tenants, groups
};

// API tokens live in the store (model::Token), so every manager sharing it accepts them.
// Revokes every token of `username` (deactivated or deleted users).
Status RevokeTokens(storage::Store& store, const std::string& username);

// Basic credentials already verified, keyed by SHA-256 of "user:password".
class CredentialCache {
 public:
  bool Fresh(const std::string& key, const std::string& username, Timestamp now);
  void Remember(const std::string& key, const std::string& username, Timestamp until);
  void ForgetUser(const std::string& username);

 private:
  std::mutex mutex_;
  std::map<std::string, std::pair<std::string, Timestamp>> entries_;
};

// Users (with their groups) and tenants read recently, so a hot client costs no user, group
// and tenant queries per request. Entries live RouterOptions::principal_cache_ttl; any user,
// group or tenant change made through this router drops them all at once (Invalidate).
class PrincipalCache {
 public:
  struct Principal {
    model::User user;
    std::vector<model::UserGroup> groups;
  };
  std::optional<Principal> FindUser(const std::string& username, Timestamp now);
  void PutUser(Principal principal, Timestamp until);
  bool KnownTenant(const std::string& tenant, Timestamp now);
  void PutTenant(const std::string& tenant, Timestamp until);
  void Invalidate();

 private:
  std::mutex mutex_;
  std::map<std::string, std::pair<Principal, Timestamp>> users_;
  std::map<std::string, Timestamp> tenants_;
};

// The state a full router shares between requests.
struct Services {
  Manager* manager = nullptr;
  RouterOptions options;
  CredentialCache credentials;
  PrincipalCache principals;
};

struct Context {
  const HttpRequest& request;
  Services& services;
  std::vector<std::string> params;  // the path's placeholders, in order
  model::User user;                 // the authenticated user (empty for public routes)
  bool is_sys_admin = false;
  std::optional<model::TenantRole> tenant_role;  // in caller.tenant
  storage::CallerContext caller;

  Manager& manager() const { return *services.manager; }
  storage::Store& store() const { return services.manager->store(); }
  // The first value of query parameter `name`.
  std::optional<std::string> Query(std::string_view name) const;
  std::vector<std::string> QueryAll(std::string_view name) const;
};

using Handler = std::function<Result<HttpResponse>(Context&)>;

struct Route {
  std::string method;
  // Path under /api/v3.1 with "<>" for one segment, e.g. "/blueprints/<>"; a trailing "<*>"
  // takes the rest of the path (at least one segment).
  std::string pattern;
  Access access;
  Handler handler;
};

// One per resource family.
void AddAuthRoutes(std::vector<Route>& routes);
void AddUserRoutes(std::vector<Route>& routes);
void AddBlueprintRoutes(std::vector<Route>& routes);
void AddDeploymentRoutes(std::vector<Route>& routes);
void AddExecutionRoutes(std::vector<Route>& routes);
void AddEventRoutes(std::vector<Route>& routes);
void AddNodeRoutes(std::vector<Route>& routes);
void AddSecretRoutes(std::vector<Route>& routes);
void AddAgentRoutes(std::vector<Route>& routes);
void AddPluginRoutes(std::vector<Route>& routes);
void AddInfoRoutes(std::vector<Route>& routes);

// GET /resources/blueprints/<tenant>/<id>/<path>: a file of an uploaded blueprint, readable
// by viewers of that tenant.
Result<HttpResponse> ServeResource(Context& ctx);

// Authenticates the request (Basic, then Authentication-Token) and resolves the Tenant header
// into ctx. kUnauthorized / kForbidden.
Status Authenticate(Context& ctx, Access access);
// Ensures the bootstrap admin exists (and has options.admin_password when given).
Status EnsureAdmin(Services& services);
// True when `role` (or sys_admin) grants `access`.
bool Allows(const Context& ctx, Access access);

// --- Responses ---
HttpResponse Json(int status, const nlohmann::json& body);
HttpResponse NoContent();
// {"items", "metadata": {"pagination": {"total", "size", "offset"}, "filtered": null}}.
HttpResponse ListResponse(nlohmann::json items, int64_t total, int64_t size, int64_t offset);
template <typename T, typename F>
HttpResponse PageResponse(const storage::Page<T>& page, const std::vector<std::string>& include,
                          F&& to_wire);
// Keeps only `include` keys (all when empty); kNoSuchIncludeField for a key the object lacks.
Result<nlohmann::json> Project(nlohmann::json object, const std::vector<std::string>& include);
std::vector<std::string> IncludeFields(const Context& ctx);

// --- Requests ---
// The JSON object body: 415 unless Content-Type is application/json (when a body is present),
// 413 over the limit, kBadParameters when malformed or not an object. An empty body is {}.
Result<nlohmann::json> JsonBody(const Context& ctx);
// A boolean given as true/false, "true"/"false" (any case) or null (-> fallback).
Result<bool> BoolField(const nlohmann::json& body, std::string_view field, bool fallback);
Result<bool> QueryBool(const Context& ctx, std::string_view name, bool fallback);
// A string field, "" when absent or null; kBadParameters for another type.
Result<std::string> StringField(const nlohmann::json& body, std::string_view field);
// The list request of REST.md §2 from the query string; parameters in `not_filters` are
// neither filters nor errors.
Result<storage::ListQuery> ListQueryFrom(const Context& ctx,
                                         const std::vector<std::string>& not_filters = {},
                                         int64_t default_size = 1000);

// Hands `_include` to the store too, so a list reads only the asked fields from the database
// (the reply is still projected by PageResponse, which also checks the names). `needed` are the
// fields the wire shape reads to compute others (a blueprint's plan is shown by its state).
void ReadOnlyIncludedFields(const Context& ctx, storage::ListQuery& q,
                            const std::vector<std::string>& needed = {});

// PATCH .../set-visibility: the body's `visibility`, checked as the original checks it: a
// known name (kBadParameters), never narrower than `current` (kIllegalAction), global only for
// sys_admin (kForbidden).
Result<model::Visibility> VisibilityChange(const Context& ctx, model::Visibility current);
// A visibility named in a request: kBadParameters when unknown, kForbidden for global unless
// sys_admin.
Result<model::Visibility> VisibilityFromText(const Context& ctx, const std::string& text);

// A resource made global needs an id that no other tenant uses (kConflict otherwise); `list`
// is the store's list call for its type.
template <typename ListFn>
Status RequireUniqueAcrossTenants(const std::string& id, const std::string& what, ListFn&& list) {
  storage::CallerContext everyone = storage::CallerContext::System();
  everyone.all_tenants = true;
  storage::ListQuery q;
  q.size = 2;
  q.filters[what == "secret" ? "key" : "id"] = {id};
  auto page = list(everyone, q);
  if (!page.ok()) {
    return page.status();
  }
  if (page->total > 1) {
    return ConflictError("Can't set " + what + " `" + id + "` to global: another tenant has a " +
                         what + " with this id");
  }
  return Status::Ok();
}

template <typename T, typename F>
HttpResponse PageResponse(const storage::Page<T>& page, const std::vector<std::string>& include,
                          F&& to_wire) {
  nlohmann::json items = nlohmann::json::array();
  for (const auto& item : page.items) {
    Result<nlohmann::json> projected = Project(to_wire(item), include);
    if (!projected.ok()) {
      return ErrorResponse(projected.status());
    }
    items.push_back(std::move(*projected));
  }
  return ListResponse(std::move(items), page.total, page.size, page.offset);
}

// A HttpResponse from a Result of JSON, `status` on success.
inline Result<HttpResponse> JsonResult(int status, Result<nlohmann::json> body) {
  if (!body.ok()) {
    return body.status();
  }
  return Json(status, *body);
}

}  // namespace cloudify::rest::internal
