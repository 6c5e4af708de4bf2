#include "cloudify/model/user.h"

#include <optional>
#include <string>

#include <doctest/doctest.h>

#include "cloudify/crypto.h"

namespace cloudify::model {
namespace {

TEST_CASE("role names are the original's") {
  CHECK(SystemRoleName(SystemRole::kSysAdmin) == "sys_admin");
  CHECK(*ParseSystemRole("default") == SystemRole::kDefault);
  for (auto r :
       {TenantRole::kManager, TenantRole::kUser, TenantRole::kOperations, TenantRole::kViewer}) {
    CHECK(*ParseTenantRole(TenantRoleName(r)) == r);
  }
  CHECK_FALSE(ParseTenantRole("admin").has_value());
}

TEST_CASE("the effective tenant role is the strongest of direct and group roles") {
  User alice;
  alice.username = "alice";
  alice.tenant_roles["t1"] = TenantRole::kViewer;
  alice.groups = {"ops"};
  UserGroup ops;
  ops.name = "ops";
  ops.tenant_roles["t1"] = TenantRole::kOperations;
  ops.tenant_roles["t2"] = TenantRole::kViewer;
  UserGroup admins;  // alice is not a member
  admins.name = "admins";
  admins.tenant_roles["t1"] = TenantRole::kManager;

  CHECK(*EffectiveTenantRole(alice, {ops, admins}, "t1") == TenantRole::kOperations);
  CHECK(*EffectiveTenantRole(alice, {ops, admins}, "t2") == TenantRole::kViewer);
  CHECK_FALSE(EffectiveTenantRole(alice, {ops, admins}, "t3").has_value());
  CHECK(*EffectiveTenantRole(alice, {}, "t1") == TenantRole::kViewer);
}

}  // namespace
}  // namespace cloudify::model

namespace cloudify::model {
namespace {

TEST_CASE("a minted token's value parses back to its id and a secret matching its hash") {
  const Timestamp now = SystemClock().Now();
  auto minted = MintToken("alice", "execution x", now, std::chrono::hours(2));
  REQUIRE(minted.ok());
  CHECK(minted->record.username == "alice");
  CHECK(minted->record.description == "execution x");
  CHECK(minted->record.expires_at - minted->record.created_at == std::chrono::hours(2));
  std::optional<TokenParts> parts = ParseTokenValue(minted->value);
  REQUIRE(parts.has_value());
  CHECK(parts->id == minted->record.id);
  CHECK(Sha256Hex(parts->secret) == minted->record.secret_hash);
  CHECK(minted->value.find(parts->secret) != std::string::npos);
  // Two tokens never share an id or a secret.
  auto other = MintToken("alice", "", now, std::chrono::hours(1));
  REQUIRE(other.ok());
  CHECK(other->record.id != minted->record.id);
  CHECK(other->record.secret_hash != minted->record.secret_hash);
  for (const std::string& bad :
       {std::string(), std::string("ctok-"), std::string("abc"),
        "ctok-0123456789x" + std::string(40, 'a'), minted->value.substr(1), minted->value + "a"}) {
    CHECK_FALSE(ParseTokenValue(bad).has_value());
  }
}

}  // namespace
}  // namespace cloudify::model
