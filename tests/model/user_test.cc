#include "cloudify/model/user.h"

#include <doctest/doctest.h>

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
