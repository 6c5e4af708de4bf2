// /users, /user, /tenants, /user-groups (REST.md §3.8): management by sys_admin.
#include <algorithm>

#include "cloudify/crypto.h"
#include "cloudify/ids.h"

#include "rest/internal.h"
#include "rest/json_codec.h"

namespace cloudify::rest::internal {

using nlohmann::json;

namespace {

Result<std::string> RequiredString(const json& body, std::string_view field) {
  CLOUDIFY_ASSIGN_OR_RETURN(std::string value, StringField(body, field));
  if (value.empty()) {
    return BadParametersError("`" + std::string(field) + "` is required");
  }
  return value;
}

Result<model::SystemRole> SystemRoleField(const json& body) {
  CLOUDIFY_ASSIGN_OR_RETURN(std::string text, StringField(body, "role"));
  if (text.empty()) {
    return model::SystemRole::kDefault;
  }
  std::optional<model::SystemRole> role = model::ParseSystemRole(text);
  if (!role) {
    return BadParametersError("Invalid system role `" + text + "`: sys_admin or default");
  }
  return *role;
}

Result<model::TenantRole> TenantRoleField(const json& body) {
  CLOUDIFY_ASSIGN_OR_RETURN(std::string text, RequiredString(body, "role"));
  std::optional<model::TenantRole> role = model::ParseTenantRole(text);
  if (!role) {
    return BadParametersError("Invalid tenant role `" + text +
                              "`: manager, user, operations or viewer");
  }
  return *role;
}

Status Revoke(Context& ctx, const std::string& username) {
  ctx.services.credentials.ForgetUser(username);
  return RevokeTokens(ctx.store(), username);
}

// --- users ---

Result<HttpResponse> CurrentUser(Context& ctx) { return Json(200, ToWire(ctx.user)); }

Result<HttpResponse> ListUsers(Context& ctx) {
  CLOUDIFY_ASSIGN_OR_RETURN(storage::ListQuery q, ListQueryFrom(ctx));
  CLOUDIFY_ASSIGN_OR_RETURN(auto page, ctx.store().ListUsers(q));
  return PageResponse(page, IncludeFields(ctx), [](const model::User& u) { return ToWire(u); });
}

Result<HttpResponse> CreateUser(Context& ctx) {
  CLOUDIFY_ASSIGN_OR_RETURN(json body, JsonBody(ctx));
  model::User u;
  CLOUDIFY_ASSIGN_OR_RETURN(u.username, RequiredString(body, "username"));
  CLOUDIFY_RETURN_IF_ERROR(ValidateResourceId(u.username, "user"));
  CLOUDIFY_ASSIGN_OR_RETURN(std::string password, RequiredString(body, "password"));
  CLOUDIFY_ASSIGN_OR_RETURN(u.role, SystemRoleField(body));
  CLOUDIFY_ASSIGN_OR_RETURN(bool prehashed, BoolField(body, "is_prehashed", false));
  if (prehashed) {
    if (!IsPasswordHash(password)) {
      return BadParametersError("is_prehashed is set but `password` is not a pbkdf2_sha256 hash");
    }
    u.password_hash = password;
  } else {
    CLOUDIFY_ASSIGN_OR_RETURN(
        u.password_hash,
        HashPassword(password, {.iterations = ctx.services.options.password_iterations}));
  }
  u.created_at = SystemClock().Now();
  CLOUDIFY_RETURN_IF_ERROR(ctx.store().CreateUser(u));
  return Json(201, ToWire(u));
}

Result<HttpResponse> GetUser(Context& ctx) {
  CLOUDIFY_ASSIGN_OR_RETURN(model::User u, ctx.store().GetUser(ctx.params[0]));
  return Json(200, ToWire(u));
}

Result<HttpResponse> UpdateUser(Context& ctx) {
  CLOUDIFY_ASSIGN_OR_RETURN(json body, JsonBody(ctx));
  CLOUDIFY_ASSIGN_OR_RETURN(model::User u, ctx.store().GetUser(ctx.params[0]));
  CLOUDIFY_ASSIGN_OR_RETURN(std::string password, StringField(body, "password"));
  CLOUDIFY_ASSIGN_OR_RETURN(std::string role, StringField(body, "role"));
  if (password.empty() && role.empty()) {
    return Status(ErrorCode::kIllegalAction, "nothing to update: give `password` or `role`");
  }
  if (!password.empty()) {
    CLOUDIFY_ASSIGN_OR_RETURN(
        u.password_hash,
        HashPassword(password, {.iterations = ctx.services.options.password_iterations}));
    CLOUDIFY_RETURN_IF_ERROR(Revoke(ctx, u.username));
  }
  if (!role.empty()) {
    if (u.username == model::kBootstrapAdmin) {
      return Status(ErrorCode::kIllegalAction, "the bootstrap admin's role cannot change");
    }
    CLOUDIFY_ASSIGN_OR_RETURN(u.role, SystemRoleField(body));
  }
  CLOUDIFY_RETURN_IF_ERROR(ctx.store().UpdateUser(u));
  return Json(200, ToWire(u));
}

Result<HttpResponse> DeleteUser(Context& ctx) {
  if (ctx.params[0] == model::kBootstrapAdmin) {
    return Status(ErrorCode::kIllegalAction, "the bootstrap admin cannot be deleted");
  }
  CLOUDIFY_ASSIGN_OR_RETURN(model::User u, ctx.store().GetUser(ctx.params[0]));
  for (const auto& name : u.groups) {
    if (auto g = ctx.store().GetUserGroup(name); g.ok()) {
      std::erase(g->users, u.username);
      CLOUDIFY_RETURN_IF_ERROR(ctx.store().UpdateUserGroup(*g));
    }
  }
  CLOUDIFY_RETURN_IF_ERROR(ctx.store().DeleteUser(u.username));
  CLOUDIFY_RETURN_IF_ERROR(Revoke(ctx, u.username));
  return NoContent();
}

Result<HttpResponse> SetActive(Context& ctx) {
  CLOUDIFY_ASSIGN_OR_RETURN(json body, JsonBody(ctx));
  CLOUDIFY_ASSIGN_OR_RETURN(std::string action, RequiredString(body, "action"));
  if (action != "activate" && action != "deactivate") {
    return BadParametersError("`action` must be activate or deactivate");
  }
  CLOUDIFY_ASSIGN_OR_RETURN(model::User u, ctx.store().GetUser(ctx.params[0]));
  if (u.username == model::kBootstrapAdmin && action == "deactivate") {
    return Status(ErrorCode::kIllegalAction, "the bootstrap admin cannot be deactivated");
  }
  u.active = action == "activate";
  CLOUDIFY_RETURN_IF_ERROR(ctx.store().UpdateUser(u));
  if (!u.active) {
    CLOUDIFY_RETURN_IF_ERROR(Revoke(ctx, u.username));
  }
  return Json(200, ToWire(u));
}

Result<HttpResponse> Unlock(Context& ctx) {
  CLOUDIFY_ASSIGN_OR_RETURN(model::User u, ctx.store().GetUser(ctx.params[0]));
  u.is_locked = false;
  u.failed_logins = 0;
  CLOUDIFY_RETURN_IF_ERROR(ctx.store().UpdateUser(u));
  return Json(200, ToWire(u));
}

// --- tenants ---

json TenantToWire(Context& ctx, const model::Tenant& t) {
  json out = ToWire(t);
  json users = json::object();
  storage::ListQuery all;
  all.get_all_results = true;
  if (auto page = ctx.store().ListUsers(all); page.ok()) {
    for (const auto& u : page->items) {
      if (auto it = u.tenant_roles.find(t.name); it != u.tenant_roles.end()) {
        std::string role(model::TenantRoleName(it->second));
        users[u.username] = {{"tenant-role", role}, {"roles", {role}}};
      }
    }
  }
  json groups = json::object();
  if (auto page = ctx.store().ListUserGroups(all); page.ok()) {
    for (const auto& g : page->items) {
      if (auto it = g.tenant_roles.find(t.name); it != g.tenant_roles.end()) {
        groups[g.name] = std::string(model::TenantRoleName(it->second));
      }
    }
  }
  out["users"] = static_cast<int64_t>(users.size());
  out["groups"] = static_cast<int64_t>(groups.size());
  out["user_roles"] = {{"direct", users}, {"groups", groups}};
  return out;
}

Result<HttpResponse> ListTenants(Context& ctx) {
  CLOUDIFY_ASSIGN_OR_RETURN(storage::ListQuery q, ListQueryFrom(ctx));
  if (!ctx.is_sys_admin) {
    // Others see the tenants they belong to.
    q.filters["name"] = ctx.caller.tenants;
    if (ctx.caller.tenants.empty()) {
      return ListResponse(json::array(), 0, q.size, q.offset);
    }
  }
  CLOUDIFY_ASSIGN_OR_RETURN(auto page, ctx.store().ListTenants(q));
  return PageResponse(page, IncludeFields(ctx),
                      [&ctx](const model::Tenant& t) { return TenantToWire(ctx, t); });
}

Result<HttpResponse> GetTenant(Context& ctx) {
  const std::string& name = ctx.params[0];
  if (!ctx.is_sys_admin && std::find(ctx.caller.tenants.begin(), ctx.caller.tenants.end(), name) ==
                               ctx.caller.tenants.end()) {
    return NotFoundError("Requested `Tenant` with ID `" + name + "` was not found");
  }
  CLOUDIFY_ASSIGN_OR_RETURN(model::Tenant t, ctx.store().GetTenant(name));
  return Json(200, TenantToWire(ctx, t));
}

Result<HttpResponse> CreateTenant(Context& ctx) {
  model::Tenant t;
  t.name = ctx.params[0];
  CLOUDIFY_RETURN_IF_ERROR(ValidateResourceId(t.name, "tenant"));
  t.created_at = SystemClock().Now();
  CLOUDIFY_RETURN_IF_ERROR(ctx.store().CreateTenant(t));
  return Json(201, TenantToWire(ctx, t));
}

Result<HttpResponse> DeleteTenant(Context& ctx) {
  const std::string& name = ctx.params[0];
  if (name == model::kDefaultTenant) {
    return Status(ErrorCode::kIllegalAction, "default_tenant cannot be deleted");
  }
  CLOUDIFY_RETURN_IF_ERROR(ctx.store().GetTenant(name).status());
  storage::CallerContext in_tenant = storage::CallerContext::System(name);
  storage::ListQuery one;
  one.size = 1;
  CLOUDIFY_ASSIGN_OR_RETURN(auto blueprints, ctx.store().ListBlueprints(in_tenant, one));
  if (blueprints.total > 0) {
    return Status(ErrorCode::kDependentExists,
                  "tenant `" + name + "` still has blueprints; delete them first");
  }
  storage::ListQuery all;
  all.get_all_results = true;
  CLOUDIFY_ASSIGN_OR_RETURN(auto users, ctx.store().ListUsers(all));
  for (auto& u : users.items) {
    if (u.tenant_roles.erase(name) > 0) {
      CLOUDIFY_RETURN_IF_ERROR(ctx.store().UpdateUser(u));
    }
  }
  CLOUDIFY_ASSIGN_OR_RETURN(auto groups, ctx.store().ListUserGroups(all));
  for (auto& g : groups.items) {
    if (g.tenant_roles.erase(name) > 0) {
      CLOUDIFY_RETURN_IF_ERROR(ctx.store().UpdateUserGroup(g));
    }
  }
  CLOUDIFY_RETURN_IF_ERROR(ctx.store().DeleteTenant(name));
  return NoContent();
}

// PUT (add), PATCH (change role), DELETE (remove) a user in a tenant.
Result<HttpResponse> TenantUser(Context& ctx) {
  CLOUDIFY_ASSIGN_OR_RETURN(json body, JsonBody(ctx));
  CLOUDIFY_ASSIGN_OR_RETURN(std::string username, RequiredString(body, "username"));
  CLOUDIFY_ASSIGN_OR_RETURN(std::string tenant, RequiredString(body, "tenant_name"));
  CLOUDIFY_RETURN_IF_ERROR(ctx.store().GetTenant(tenant).status());
  CLOUDIFY_ASSIGN_OR_RETURN(model::User u, ctx.store().GetUser(username));
  const std::string& method = ctx.request.method;
  const bool member = u.tenant_roles.contains(tenant);
  if (method == "DELETE") {
    if (!member) {
      return NotFoundError("User `" + username + "` is not in tenant `" + tenant +
                           "`: membership not found");
    }
    u.tenant_roles.erase(tenant);
  } else {
    CLOUDIFY_ASSIGN_OR_RETURN(model::TenantRole role, TenantRoleField(body));
    if (method == "PUT" && member) {
      return ConflictError("User `" + username + "` is already in tenant `" + tenant + "`");
    }
    if (method == "PATCH" && !member) {
      return NotFoundError("User `" + username + "` is not in tenant `" + tenant +
                           "`: membership not found");
    }
    u.tenant_roles[tenant] = role;
  }
  CLOUDIFY_RETURN_IF_ERROR(ctx.store().UpdateUser(u));
  if (method == "DELETE") {
    return NoContent();
  }
  CLOUDIFY_ASSIGN_OR_RETURN(model::Tenant t, ctx.store().GetTenant(tenant));
  return Json(200, TenantToWire(ctx, t));
}

Result<HttpResponse> TenantGroup(Context& ctx) {
  CLOUDIFY_ASSIGN_OR_RETURN(json body, JsonBody(ctx));
  CLOUDIFY_ASSIGN_OR_RETURN(std::string name, RequiredString(body, "group_name"));
  CLOUDIFY_ASSIGN_OR_RETURN(std::string tenant, RequiredString(body, "tenant_name"));
  CLOUDIFY_RETURN_IF_ERROR(ctx.store().GetTenant(tenant).status());
  CLOUDIFY_ASSIGN_OR_RETURN(model::UserGroup g, ctx.store().GetUserGroup(name));
  const std::string& method = ctx.request.method;
  if (method == "DELETE") {
    if (g.tenant_roles.erase(tenant) == 0) {
      return NotFoundError("Group `" + name + "` is not in tenant `" + tenant +
                           "`: membership not found");
    }
  } else {
    CLOUDIFY_ASSIGN_OR_RETURN(model::TenantRole role, TenantRoleField(body));
    if (method == "PUT" && g.tenant_roles.contains(tenant)) {
      return ConflictError("Group `" + name + "` is already in tenant `" + tenant + "`");
    }
    g.tenant_roles[tenant] = role;
  }
  CLOUDIFY_RETURN_IF_ERROR(ctx.store().UpdateUserGroup(g));
  if (method == "DELETE") {
    return NoContent();
  }
  CLOUDIFY_ASSIGN_OR_RETURN(model::Tenant t, ctx.store().GetTenant(tenant));
  return Json(200, TenantToWire(ctx, t));
}

// --- user groups ---

json GroupToWire(const model::UserGroup& g) {
  json tenants = json::object();
  for (const auto& [tenant, role] : g.tenant_roles) {
    tenants[tenant] = std::string(model::TenantRoleName(role));
  }
  return {{"name", g.name},
          {"ldap_dn", g.ldap_dn.empty() ? json(nullptr) : json(g.ldap_dn)},
          {"role", std::string(model::SystemRoleName(g.role))},
          {"tenants", tenants},
          {"users", g.users}};
}

Result<HttpResponse> ListGroups(Context& ctx) {
  CLOUDIFY_ASSIGN_OR_RETURN(storage::ListQuery q, ListQueryFrom(ctx));
  CLOUDIFY_ASSIGN_OR_RETURN(auto page, ctx.store().ListUserGroups(q));
  return PageResponse(page, IncludeFields(ctx), GroupToWire);
}

Result<HttpResponse> CreateGroup(Context& ctx) {
  CLOUDIFY_ASSIGN_OR_RETURN(json body, JsonBody(ctx));
  model::UserGroup g;
  CLOUDIFY_ASSIGN_OR_RETURN(g.name, RequiredString(body, "group_name"));
  CLOUDIFY_RETURN_IF_ERROR(ValidateResourceId(g.name, "user group"));
  CLOUDIFY_ASSIGN_OR_RETURN(g.role, SystemRoleField(body));
  CLOUDIFY_ASSIGN_OR_RETURN(g.ldap_dn, StringField(body, "ldap_group_dn"));
  CLOUDIFY_RETURN_IF_ERROR(ctx.store().CreateUserGroup(g));
  return Json(201, GroupToWire(g));
}

Result<HttpResponse> GetGroup(Context& ctx) {
  CLOUDIFY_ASSIGN_OR_RETURN(model::UserGroup g, ctx.store().GetUserGroup(ctx.params[0]));
  return Json(200, GroupToWire(g));
}

Result<HttpResponse> SetGroupRole(Context& ctx) {
  CLOUDIFY_ASSIGN_OR_RETURN(json body, JsonBody(ctx));
  CLOUDIFY_ASSIGN_OR_RETURN(model::UserGroup g, ctx.store().GetUserGroup(ctx.params[0]));
  CLOUDIFY_ASSIGN_OR_RETURN(g.role, SystemRoleField(body));
  CLOUDIFY_RETURN_IF_ERROR(ctx.store().UpdateUserGroup(g));
  return Json(200, GroupToWire(g));
}

Result<HttpResponse> DeleteGroup(Context& ctx) {
  CLOUDIFY_ASSIGN_OR_RETURN(model::UserGroup g, ctx.store().GetUserGroup(ctx.params[0]));
  for (const auto& username : g.users) {
    if (auto u = ctx.store().GetUser(username); u.ok()) {
      std::erase(u->groups, g.name);
      CLOUDIFY_RETURN_IF_ERROR(ctx.store().UpdateUser(*u));
    }
  }
  CLOUDIFY_RETURN_IF_ERROR(ctx.store().DeleteUserGroup(g.name));
  return NoContent();
}

// PUT adds, DELETE removes a user from a group (both sides kept in step).
Result<HttpResponse> GroupUser(Context& ctx) {
  CLOUDIFY_ASSIGN_OR_RETURN(json body, JsonBody(ctx));
  CLOUDIFY_ASSIGN_OR_RETURN(std::string username, RequiredString(body, "username"));
  CLOUDIFY_ASSIGN_OR_RETURN(std::string name, RequiredString(body, "group_name"));
  CLOUDIFY_ASSIGN_OR_RETURN(model::UserGroup g, ctx.store().GetUserGroup(name));
  CLOUDIFY_ASSIGN_OR_RETURN(model::User u, ctx.store().GetUser(username));
  const bool member = std::find(g.users.begin(), g.users.end(), username) != g.users.end();
  if (ctx.request.method == "PUT") {
    if (member) {
      return ConflictError("User `" + username + "` is already in group `" + name + "`");
    }
    g.users.push_back(username);
    u.groups.push_back(name);
  } else {
    if (!member) {
      return NotFoundError("User `" + username + "` is not in group `" + name +
                           "`: membership not found");
    }
    std::erase(g.users, username);
    std::erase(u.groups, name);
  }
  CLOUDIFY_RETURN_IF_ERROR(ctx.store().InTransaction([&](storage::Store& tx) -> Status {
    CLOUDIFY_RETURN_IF_ERROR(tx.UpdateUserGroup(g));
    return tx.UpdateUser(u);
  }));
  if (ctx.request.method == "DELETE") {
    return NoContent();
  }
  return Json(200, GroupToWire(g));
}

}  // namespace

void AddUserRoutes(std::vector<Route>& routes) {
  routes.push_back({"GET", "/user", Access::kAuthenticated, CurrentUser});
  routes.push_back({"GET", "/users", Access::kSysAdmin, ListUsers});
  routes.push_back({"PUT", "/users", Access::kSysAdmin, CreateUser});
  routes.push_back({"POST", "/users/active/<>", Access::kSysAdmin, SetActive});
  routes.push_back({"POST", "/users/unlock/<>", Access::kSysAdmin, Unlock});
  routes.push_back({"GET", "/users/<>", Access::kSysAdmin, GetUser});
  routes.push_back({"POST", "/users/<>", Access::kSysAdmin, UpdateUser});
  routes.push_back({"DELETE", "/users/<>", Access::kSysAdmin, DeleteUser});

  routes.push_back({"GET", "/tenants", Access::kAuthenticated, ListTenants});
  for (const char* method : {"PUT", "PATCH", "DELETE"}) {
    routes.push_back({method, "/tenants/users", Access::kSysAdmin, TenantUser});
    routes.push_back({method, "/tenants/user-groups", Access::kSysAdmin, TenantGroup});
  }
  routes.push_back({"GET", "/tenants/<>", Access::kAuthenticated, GetTenant});
  routes.push_back({"POST", "/tenants/<>", Access::kSysAdmin, CreateTenant});
  routes.push_back({"DELETE", "/tenants/<>", Access::kSysAdmin, DeleteTenant});

  routes.push_back({"GET", "/user-groups", Access::kSysAdmin, ListGroups});
  routes.push_back({"POST", "/user-groups", Access::kSysAdmin, CreateGroup});
  routes.push_back({"PUT", "/user-groups/users", Access::kSysAdmin, GroupUser});
  routes.push_back({"DELETE", "/user-groups/users", Access::kSysAdmin, GroupUser});
  routes.push_back({"GET", "/user-groups/<>", Access::kSysAdmin, GetGroup});
  routes.push_back({"POST", "/user-groups/<>", Access::kSysAdmin, SetGroupRole});
  routes.push_back({"DELETE", "/user-groups/<>", Access::kSysAdmin, DeleteGroup});
}

}  // namespace cloudify::rest::internal
