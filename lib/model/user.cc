#include "cloudify/model/user.h"

#include <array>

#include "cloudify/crypto.h"

#include "common/enum_table.h"

namespace cloudify::model {
namespace {

constexpr std::array<EnumName<SystemRole>, 2> kSystemRoleNames{{
    {SystemRole::kSysAdmin, "sys_admin"},
    {SystemRole::kDefault, "default"},
}};
constexpr std::array<EnumName<TenantRole>, 4> kTenantRoleNames{{
    {TenantRole::kManager, "manager"},
    {TenantRole::kUser, "user"},
    {TenantRole::kOperations, "operations"},
    {TenantRole::kViewer, "viewer"},
}};

void Strongest(std::optional<TenantRole>& best, TenantRole candidate) {
  // Lower enumerators are stronger.
  if (!best || static_cast<int>(candidate) < static_cast<int>(*best)) {
    best = candidate;
  }
}

}  // namespace

std::string_view SystemRoleName(SystemRole r) { return NameOf<SystemRole>(kSystemRoleNames, r); }
std::optional<SystemRole> ParseSystemRole(std::string_view name) {
  return ValueOf<SystemRole>(kSystemRoleNames, name);
}
std::string_view TenantRoleName(TenantRole r) { return NameOf<TenantRole>(kTenantRoleNames, r); }
std::optional<TenantRole> ParseTenantRole(std::string_view name) {
  return ValueOf<TenantRole>(kTenantRoleNames, name);
}

std::optional<TenantRole> EffectiveTenantRole(const User& user,
                                              const std::vector<UserGroup>& groups,
                                              std::string_view tenant) {
  std::optional<TenantRole> best;
  const std::string key(tenant);
  if (auto it = user.tenant_roles.find(key); it != user.tenant_roles.end()) {
    Strongest(best, it->second);
  }
  for (const auto& group : groups) {
    bool member = false;
    for (const auto& name : user.groups) {
      member = member || name == group.name;
    }
    if (!member) {
      continue;
    }
    if (auto it = group.tenant_roles.find(key); it != group.tenant_roles.end()) {
      Strongest(best, it->second);
    }
  }
  return best;
}

namespace {
constexpr std::string_view kTokenPrefix = "ctok-";
constexpr size_t kTokenIdLength = 10;
constexpr size_t kTokenSecretLength = 40;
}  // namespace

Result<MintedToken> MintToken(std::string username, std::string description, Timestamp now,
                              std::chrono::milliseconds lifetime) {
  MintedToken out;
  CLOUDIFY_ASSIGN_OR_RETURN(out.record.id, RandomAlphanumeric(kTokenIdLength));
  CLOUDIFY_ASSIGN_OR_RETURN(std::string secret, RandomAlphanumeric(kTokenSecretLength));
  out.record.secret_hash = Sha256Hex(secret);
  out.record.username = std::move(username);
  out.record.description = std::move(description);
  out.record.created_at = now;
  out.record.expires_at = now + lifetime;
  out.value = std::string(kTokenPrefix) + out.record.id + "-" + secret;
  return out;
}

std::optional<TokenParts> ParseTokenValue(std::string_view value) {
  if (value.substr(0, kTokenPrefix.size()) != kTokenPrefix ||
      value.size() != kTokenPrefix.size() + kTokenIdLength + 1 + kTokenSecretLength ||
      value[kTokenPrefix.size() + kTokenIdLength] != '-') {
    return std::nullopt;
  }
  return TokenParts{std::string(value.substr(kTokenPrefix.size(), kTokenIdLength)),
                    std::string(value.substr(kTokenPrefix.size() + kTokenIdLength + 1))};
}

}  // namespace cloudify::model
