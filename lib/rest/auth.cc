// Authentication (HTTP Basic, API tokens), the Tenant header, the roles of REST.md §5, the
// bootstrap admin and the /tokens routes.
#include <algorithm>

#include "cloudify/crypto.h"
#include "cloudify/logging.h"

#include "rest/internal.h"

namespace cloudify::rest::internal {

using nlohmann::json;

namespace {

Status Unauthorized(std::string message) {
  return Status(ErrorCode::kUnauthorized, std::move(message));
}
Status Forbidden(std::string message) { return Status(ErrorCode::kForbidden, std::move(message)); }

int Rank(Access a) {
  switch (a) {
    case Access::kViewer:
      return 1;
    case Access::kOperations:
      return 2;
    case Access::kUser:
      return 3;
    case Access::kManager:
      return 4;
    default:
      return 100;
  }
}

int Rank(model::TenantRole r) {
  switch (r) {
    case model::TenantRole::kViewer:
      return 1;
    case model::TenantRole::kOperations:
      return 2;
    case model::TenantRole::kUser:
      return 3;
    case model::TenantRole::kManager:
      return 4;
  }
  return 0;
}

// The user named by an API token; 401 for a malformed, unknown, or expired token.
Result<std::string> TokenUser(Services& services, const std::string& value) {
  std::optional<model::TokenParts> parts = model::ParseTokenValue(value);
  if (!parts) {
    return Unauthorized("Invalid token structure");
  }
  Result<model::Token> record = services.manager->store().GetToken(parts->id);
  if (!record.ok() && record.status().code() != ErrorCode::kNotFound) {
    return record.status();  // the store, not the token, failed
  }
  if (!record.ok() || record->secret_hash != Sha256Hex(parts->secret)) {
    return Unauthorized("Authentication failed: invalid token");
  }
  Timestamp now = SystemClock().Now();
  if (record->expires_at <= now) {
    return Unauthorized("Token is expired");
  }
  // last_used to the minute: a write per minute per token, not one per request.
  if (!record->last_used || now - *record->last_used >= std::chrono::minutes(1)) {
    record->last_used = now;
    (void)services.manager->store().UpdateToken(*record);
  }
  return record->username;
}

// The user of a Basic credential; 401 for a wrong one (counted as a failed login).
Result<model::User> BasicUser(Services& services, const std::string& header) {
  std::string encoded = header.substr(6);
  while (!encoded.empty() && encoded.front() == ' ') {
    encoded.erase(0, 1);
  }
  Result<std::string> decoded = Base64Decode(encoded);
  if (!decoded.ok()) {
    return Unauthorized("Malformed Basic authorization header");
  }
  size_t colon = decoded->find(':');
  if (colon == std::string::npos || colon == 0) {
    return Unauthorized("Malformed Basic authorization header");
  }
  std::string username = decoded->substr(0, colon);
  std::string password = decoded->substr(colon + 1);
  const std::string key = Sha256Hex(*decoded);
  Timestamp now = SystemClock().Now();
  if (services.credentials.Fresh(key, username, now)) {
    if (auto cached = services.principals.FindUser(username, now)) {
      return std::move(cached->user);
    }
  }
  Result<model::User> user = services.manager->store().GetUser(username);
  if (!user.ok()) {
    if (user.status().code() == ErrorCode::kNotFound) {
      return Unauthorized("Authentication failed for user `" + username + "`");
    }
    return user.status();
  }
  if (services.credentials.Fresh(key, username, now)) {
    return user;
  }
  if (!VerifyPassword(password, user->password_hash)) {
    user->failed_logins += 1;
    (void)services.manager->store().UpdateUser(*user);  // best effort: the 401 matters more
    return Unauthorized("Authentication failed for user `" + username + "`");
  }
  if (user->failed_logins != 0 || !user->first_login_at) {
    user->failed_logins = 0;
    if (!user->first_login_at) {
      user->first_login_at = now;
    }
    user->last_login_at = now;
    (void)services.manager->store().UpdateUser(*user);
  }
  services.credentials.Remember(key, username, now + services.options.credential_cache_ttl);
  return user;
}

}  // namespace

bool Allows(const Context& ctx, Access access) {
  if (access == Access::kPublic || access == Access::kAuthenticated || ctx.is_sys_admin) {
    return true;
  }
  if (access == Access::kSysAdmin || !ctx.tenant_role) {
    return false;
  }
  return Rank(*ctx.tenant_role) >= Rank(access);
}

Status Authenticate(Context& ctx, Access access) {
  if (access == Access::kPublic) {
    return Status::Ok();
  }
  Services& services = ctx.services;
  const auto& headers = ctx.request.headers;
  auto token = headers.find("authentication-token");
  auto basic = headers.find("authorization");
  if (token != headers.end() && !token->second.empty()) {
    CLOUDIFY_ASSIGN_OR_RETURN(std::string username, TokenUser(services, token->second));
    if (auto cached = services.principals.FindUser(username, SystemClock().Now())) {
      ctx.user = std::move(cached->user);
    } else {
      Result<model::User> user = services.manager->store().GetUser(username);
      if (!user.ok()) {
        return Unauthorized("Authentication failed: the token's user `" + username +
                            "` no longer exists");
      }
      ctx.user = std::move(*user);
    }
  } else if (basic != headers.end() && basic->second.size() > 6 &&
             (basic->second.rfind("Basic ", 0) == 0 || basic->second.rfind("basic ", 0) == 0)) {
    CLOUDIFY_ASSIGN_OR_RETURN(ctx.user, BasicUser(services, basic->second));
  } else {
    return Unauthorized("No authentication info provided");
  }
  if (!ctx.user.active) {
    return Unauthorized("User `" + ctx.user.username + "` is not active");
  }
  if (ctx.user.is_locked) {
    return Unauthorized("User `" + ctx.user.username + "` is locked");
  }

  const Timestamp now = SystemClock().Now();
  std::vector<model::UserGroup> groups;
  if (auto cached = services.principals.FindUser(ctx.user.username, now)) {
    groups = std::move(cached->groups);
  } else {
    for (const auto& name : ctx.user.groups) {
      Result<model::UserGroup> group = services.manager->store().GetUserGroup(name);
      if (group.ok()) {
        groups.push_back(std::move(*group));
      }
    }
    services.principals.PutUser({ctx.user, groups}, now + services.options.principal_cache_ttl);
  }
  ctx.is_sys_admin = ctx.user.role == model::SystemRole::kSysAdmin ||
                     std::any_of(groups.begin(), groups.end(), [](const model::UserGroup& g) {
                       return g.role == model::SystemRole::kSysAdmin;
                     });
  ctx.caller.user = ctx.user.username;
  for (const auto& [tenant, role] : ctx.user.tenant_roles) {
    ctx.caller.tenants.push_back(tenant);
  }
  for (const auto& g : groups) {
    for (const auto& [tenant, role] : g.tenant_roles) {
      ctx.caller.tenants.push_back(tenant);
    }
  }

  auto tenant_header = headers.find("tenant");
  const bool has_tenant = tenant_header != headers.end() && !tenant_header->second.empty();
  if (access == Access::kAuthenticated || access == Access::kSysAdmin) {
    if (has_tenant) {
      ctx.caller.tenant = tenant_header->second;
    }
    if (access == Access::kSysAdmin && !ctx.is_sys_admin) {
      return Forbidden("User `" + ctx.user.username + "` is not permitted to perform this action");
    }
    ctx.caller.is_admin = ctx.is_sys_admin;
    return Status::Ok();
  }
  if (!has_tenant) {
    return Forbidden("Tenant header not provided: tenant not provided for a tenant-scoped request");
  }
  const std::string& tenant = tenant_header->second;
  if (!services.principals.KnownTenant(tenant, now)) {
    Result<model::Tenant> found = services.manager->store().GetTenant(tenant);
    if (!found.ok()) {
      if (found.status().code() == ErrorCode::kNotFound) {
        return Forbidden("Tried to authenticate with invalid tenant name: " + tenant);
      }
      return found.status();
    }
    services.principals.PutTenant(tenant, now + services.options.principal_cache_ttl);
  }
  ctx.caller.tenant = tenant;
  ctx.tenant_role = model::EffectiveTenantRole(ctx.user, groups, tenant);
  if (!ctx.is_sys_admin && !ctx.tenant_role) {
    return Forbidden("User `" + ctx.user.username + "` is not a member of tenant `" + tenant + "`");
  }
  ctx.caller.is_admin =
      ctx.is_sys_admin || (ctx.tenant_role && *ctx.tenant_role == model::TenantRole::kManager);
  CLOUDIFY_ASSIGN_OR_RETURN(ctx.caller.all_tenants, QueryBool(ctx, "_all_tenants", false));
  if (!Allows(ctx, access)) {
    return Forbidden("User `" + ctx.user.username + "` with role `" +
                     std::string(model::TenantRoleName(*ctx.tenant_role)) + "` in tenant `" +
                     tenant + "` is not permitted to perform this action");
  }
  return Status::Ok();
}

Status EnsureAdmin(Services& services) {
  storage::Store& store = services.manager->store();
  const std::string name(model::kBootstrapAdmin);
  Result<model::User> existing = store.GetUser(name);
  if (existing.ok()) {
    const std::string& wanted = services.options.admin_password;
    if (!wanted.empty() && !VerifyPassword(wanted, existing->password_hash)) {
      CLOUDIFY_ASSIGN_OR_RETURN(
          existing->password_hash,
          HashPassword(wanted, {.iterations = services.options.password_iterations}));
      CLOUDIFY_RETURN_IF_ERROR(store.UpdateUser(*existing));
    }
    return Status::Ok();
  }
  if (existing.status().code() != ErrorCode::kNotFound) {
    return existing.status();
  }
  std::string password = services.options.admin_password;
  if (password.empty()) {
    CLOUDIFY_ASSIGN_OR_RETURN(password, RandomAlphanumeric(20));
    // Printed once so the operator can log in; set a known one with --admin-password.
    DefaultLogger().Warning("created the bootstrap admin with a random password",
                            {{"username", name}, {"password", password}});
  }
  model::User admin;
  admin.username = name;
  CLOUDIFY_ASSIGN_OR_RETURN(
      admin.password_hash,
      HashPassword(password, {.iterations = services.options.password_iterations}));
  admin.role = model::SystemRole::kSysAdmin;
  admin.tenant_roles[std::string(model::kDefaultTenant)] = model::TenantRole::kManager;
  admin.created_at = SystemClock().Now();
  Status created = store.CreateUser(admin);
  if (created.code() == ErrorCode::kConflict) {
    return Status::Ok();  // another manager on the same database made it first
  }
  return created;
}

// --- Tokens and CredentialCache ---

Status RevokeTokens(storage::Store& store, const std::string& username) {
  storage::ListQuery query;
  query.get_all_results = true;
  query.filters = {{"username", {username}}};
  query.include = {"id"};
  CLOUDIFY_ASSIGN_OR_RETURN(auto tokens, store.ListTokens(query));
  for (const auto& token : tokens.items) {
    Status deleted = store.DeleteToken(token.id);
    if (!deleted.ok() && deleted.code() != ErrorCode::kNotFound) {
      return deleted;
    }
  }
  return Status::Ok();
}

bool CredentialCache::Fresh(const std::string& key, const std::string& username, Timestamp now) {
  std::lock_guard lock(mutex_);
  auto it = entries_.find(key);
  return it != entries_.end() && it->second.first == username && it->second.second > now;
}

void CredentialCache::Remember(const std::string& key, const std::string& username,
                               Timestamp until) {
  std::lock_guard lock(mutex_);
  if (entries_.size() > 10000) {
    entries_.clear();  // bounded: a flood of distinct credentials cannot grow it for ever
  }
  entries_[key] = {username, until};
}

void CredentialCache::ForgetUser(const std::string& username) {
  std::lock_guard lock(mutex_);
  std::erase_if(entries_, [&](const auto& entry) { return entry.second.first == username; });
}

std::optional<PrincipalCache::Principal> PrincipalCache::FindUser(const std::string& username,
                                                                  Timestamp now) {
  std::lock_guard lock(mutex_);
  auto it = users_.find(username);
  if (it == users_.end() || it->second.second <= now) {
    return std::nullopt;
  }
  return it->second.first;
}

void PrincipalCache::PutUser(Principal principal, Timestamp until) {
  std::lock_guard lock(mutex_);
  if (users_.size() > 10000) {
    users_.clear();  // bounded
  }
  std::string name = principal.user.username;
  users_[name] = {std::move(principal), until};
}

bool PrincipalCache::KnownTenant(const std::string& tenant, Timestamp now) {
  std::lock_guard lock(mutex_);
  auto it = tenants_.find(tenant);
  return it != tenants_.end() && it->second > now;
}

void PrincipalCache::PutTenant(const std::string& tenant, Timestamp until) {
  std::lock_guard lock(mutex_);
  if (tenants_.size() > 10000) {
    tenants_.clear();
  }
  tenants_[tenant] = until;
}

void PrincipalCache::Invalidate() {
  std::lock_guard lock(mutex_);
  users_.clear();
  tenants_.clear();
}

// --- /tokens ---

namespace {

json TokenToWire(const model::Token& t, const std::string& value) {
  return {{"id", t.id},
          {"value", value},
          {"username", t.username},
          {"description", t.description.empty() ? json(nullptr) : json(t.description)},
          {"expiration_date", FormatTimestamp(t.expires_at)},
          {"last_used", t.last_used ? json(FormatTimestamp(*t.last_used)) : json(nullptr)}};
}

// "+10h" / "+30m" / "+2d" relative to now, or an absolute time.
Result<Timestamp> ParseExpiration(const std::string& text, Timestamp now) {
  if (!text.empty() && text[0] == '+' && text.size() >= 3) {
    char unit = text.back();
    long long n = 0;
    try {
      n = std::stoll(text.substr(1, text.size() - 2));
    } catch (const std::exception&) {
      n = -1;
    }
    std::chrono::seconds per{0};
    if (unit == 'm') {
      per = std::chrono::minutes(1);
    } else if (unit == 'h') {
      per = std::chrono::hours(1);
    } else if (unit == 'd') {
      per = std::chrono::hours(24);
    }
    if (n > 0 && per.count() > 0) {
      return now + std::chrono::duration_cast<std::chrono::milliseconds>(per * n);
    }
    return BadParametersError("expiration_date `" + text + "`: expected +<n>m, +<n>h or +<n>d");
  }
  std::string iso = text;
  if (iso.size() == 16 && iso[10] == ' ') {  // "YYYY-MM-DD HH:MM"
    iso[10] = 'T';
    iso += ":00.000Z";
  }
  Result<Timestamp> t = ParseTimestamp(iso);
  if (!t.ok()) {
    return BadParametersError("expiration_date `" + text + "` is not a date");
  }
  return *t;
}

Result<HttpResponse> CreateToken(Context& ctx) {
  CLOUDIFY_ASSIGN_OR_RETURN(json body, JsonBody(ctx));
  CLOUDIFY_ASSIGN_OR_RETURN(std::string description, StringField(body, "description"));
  CLOUDIFY_ASSIGN_OR_RETURN(std::string expiration, StringField(body, "expiration_date"));
  Timestamp now = SystemClock().Now();
  CLOUDIFY_ASSIGN_OR_RETURN(model::MintedToken minted,
                            model::MintToken(ctx.user.username, description, now,
                                             std::chrono::duration_cast<std::chrono::milliseconds>(
                                                 ctx.services.options.token_lifetime)));
  model::Token& t = minted.record;
  if (!expiration.empty()) {
    CLOUDIFY_ASSIGN_OR_RETURN(t.expires_at, ParseExpiration(expiration, now));
  }
  CLOUDIFY_RETURN_IF_ERROR(ctx.store().CreateToken(t));
  json out = TokenToWire(t, minted.value);
  out["role"] = ctx.is_sys_admin ? "sys_admin" : "default";
  return Json(200, out);
}

Result<HttpResponse> ListTokens(Context& ctx) {
  storage::ListQuery query;
  query.get_all_results = true;
  if (!ctx.is_sys_admin) {
    query.filters = {{"username", {ctx.user.username}}};
  }
  CLOUDIFY_ASSIGN_OR_RETURN(auto tokens, ctx.store().ListTokens(query));
  json items = json::array();
  for (const auto& t : tokens.items) {
    items.push_back(TokenToWire(t, "********"));
  }
  int64_t total = static_cast<int64_t>(items.size());
  return ListResponse(std::move(items), total, std::max<int64_t>(total, 1000), 0);
}

Result<model::Token> VisibleToken(Context& ctx) {
  Result<model::Token> t = ctx.store().GetToken(ctx.params[0]);
  if (!t.ok() && t.status().code() != ErrorCode::kNotFound) {
    return t.status();
  }
  if (!t.ok() || (!ctx.is_sys_admin && t->username != ctx.user.username)) {
    return NotFoundError("Requested `Token` with ID `" + ctx.params[0] + "` was not found");
  }
  return t;
}

}  // namespace

void AddAuthRoutes(std::vector<Route>& routes) {
  routes.push_back({"POST", "/tokens", Access::kAuthenticated, CreateToken});
  routes.push_back({"GET", "/tokens", Access::kAuthenticated, ListTokens});
  routes.push_back(
      {"GET", "/tokens/<>", Access::kAuthenticated, [](Context& ctx) -> Result<HttpResponse> {
         CLOUDIFY_ASSIGN_OR_RETURN(model::Token t, VisibleToken(ctx));
         return Json(200, TokenToWire(t, "********"));
       }});
  routes.push_back(
      {"DELETE", "/tokens/<>", Access::kAuthenticated, [](Context& ctx) -> Result<HttpResponse> {
         CLOUDIFY_ASSIGN_OR_RETURN(model::Token t, VisibleToken(ctx));
         CLOUDIFY_RETURN_IF_ERROR(ctx.store().DeleteToken(t.id));
         return NoContent();
       }});
}

}  // namespace cloudify::rest::internal
