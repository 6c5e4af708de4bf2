// What every tenant-scoped resource carries: tenant, creator, visibility, creation time and
// labels (the original's SQLResourceBase), and the visibility rules of the REST API.
//
// Value types; thread-safety as for any struct.
#pragma once

#include <optional>
#include <string>
#include <string_view>

#include "cloudify/clock.h"
#include "cloudify/status.h"

namespace cloudify::model {

// private: the creator (and tenant managers); tenant: every user of the tenant (the default);
// global: every user of every tenant.
enum class Visibility { kPrivate, kTenant, kGlobal };

std::string_view VisibilityName(Visibility v);  // "private", "tenant", "global"
std::optional<Visibility> ParseVisibility(std::string_view name);

// Visibility may only be widened (private -> tenant -> global); setting the same is allowed.
// kIllegalAction when `to` is narrower than `from`.
Status CheckVisibilityChange(Visibility from, Visibility to);

inline constexpr std::string_view kDefaultTenant = "default_tenant";

struct ResourceMeta {
  std::string tenant_name{kDefaultTenant};
  std::string created_by;
  Visibility visibility = Visibility::kTenant;
  Timestamp created_at{};

  bool operator==(const ResourceMeta&) const = default;
};

// A label as the REST API shows it. Keys starting "csys-" are reserved for the system.
struct Label {
  std::string key;
  std::string value;
  Timestamp created_at{};
  std::string created_by;

  bool operator==(const Label&) const = default;
};

}  // namespace cloudify::model
