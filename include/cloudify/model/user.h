// User and UserGroup, and the roles of REST.md §5.
//
// A user has one system role (sys_admin or default) and, per tenant, a tenant role (directly
// or through a group). The bootstrap `admin` user is sys_admin in `default_tenant`.
#pragma once

#include <chrono>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "cloudify/clock.h"
#include "cloudify/status.h"

namespace cloudify::model {

enum class SystemRole { kSysAdmin, kDefault };
// Tenant roles, from most to least powerful.
enum class TenantRole { kManager, kUser, kOperations, kViewer };

std::string_view SystemRoleName(SystemRole r);  // "sys_admin", "default"
std::optional<SystemRole> ParseSystemRole(std::string_view name);
std::string_view TenantRoleName(TenantRole r);  // "manager", "user", "operations", "viewer"
std::optional<TenantRole> ParseTenantRole(std::string_view name);

inline constexpr std::string_view kBootstrapAdmin = "admin";

struct User {
  std::string username;
  // Salted PBKDF2-SHA256 as "pbkdf2_sha256$<iterations>$<salt>$<hash>"; never the password.
  std::string password_hash;
  SystemRole role = SystemRole::kDefault;
  std::map<std::string, TenantRole> tenant_roles;  // tenant name -> direct role
  std::vector<std::string> groups;
  bool active = true;
  bool is_locked = false;
  int failed_logins = 0;
  Timestamp created_at{};
  std::optional<Timestamp> first_login_at;
  std::optional<Timestamp> last_login_at;

  bool operator==(const User&) const = default;
};

// An API token (POST /tokens): the caller sends "ctok-<id>-<secret>"; only the secret's SHA-256
// is kept. Stored, so every manager sharing the store accepts it and a restart keeps it.
struct Token {
  std::string id;
  std::string secret_hash;  // hex SHA-256 of the secret
  std::string username;
  std::string description;
  Timestamp created_at{};
  Timestamp expires_at{};
  std::optional<Timestamp> last_used;

  bool operator==(const Token&) const = default;
};

// A new token for `username`, valid from `now` for `lifetime`: its record (to store) and the
// value given to its holder once. kInternal when no random bytes could be had.
struct MintedToken {
  Token record;
  std::string value;  // "ctok-<id>-<secret>"
};
Result<MintedToken> MintToken(std::string username, std::string description, Timestamp now,
                              std::chrono::milliseconds lifetime);

// The id and secret of a token value; nullopt when it is not shaped like one.
struct TokenParts {
  std::string id;
  std::string secret;
};
std::optional<TokenParts> ParseTokenValue(std::string_view value);

struct UserGroup {
  std::string name;
  std::string ldap_dn;
  SystemRole role = SystemRole::kDefault;
  std::map<std::string, TenantRole> tenant_roles;
  std::vector<std::string> users;

  bool operator==(const UserGroup&) const = default;
};

// The strongest tenant role `user` holds in `tenant`, directly or through one of `groups`
// (the groups the user is in); nullopt when the user has none there.
std::optional<TenantRole> EffectiveTenantRole(const User& user,
                                              const std::vector<UserGroup>& groups,
                                              std::string_view tenant);

}  // namespace cloudify::model
