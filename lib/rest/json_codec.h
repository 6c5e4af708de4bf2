// The REST API's JSON shapes of the model types (REST.md §3): field names and null
// conventions exactly as the original's responses carry them, so the official clients read
// them unchanged. Wire shapes live here, not in the model.
#pragma once

#include <nlohmann/json.hpp>

#include "cloudify/model/blueprint.h"
#include "cloudify/model/deployment.h"
#include "cloudify/model/event.h"
#include "cloudify/model/execution.h"
#include "cloudify/model/node.h"
#include "cloudify/model/plugin.h"
#include "cloudify/model/resource.h"
#include "cloudify/model/secret.h"
#include "cloudify/model/tenant.h"
#include "cloudify/model/user.h"

namespace cloudify::rest {

// The fields every tenant-scoped resource carries: visibility, tenant_name, created_by,
// created_at, and the deprecated resource_availability and private_resource.
void AddResourceFields(const model::ResourceMeta& meta, nlohmann::json& out);

nlohmann::json ToWire(const model::Blueprint& blueprint);
// `workflows` is the list of {name, plugin, operation, parameters, ...} the client indexes.
nlohmann::json ToWire(const model::Deployment& deployment);
nlohmann::json ToWire(const model::Node& node);
nlohmann::json ToWire(const model::Execution& execution);
nlohmann::json ToWire(const model::NodeInstance& instance);
nlohmann::json ToWire(const model::Event& event);
nlohmann::json ToWire(const model::Plugin& plugin);
nlohmann::json ToWire(const model::Tenant& tenant);
nlohmann::json ToWire(const model::User& user);

// GET /secrets/<key>: the value only when `include_value` (hidden values are "" for those who
// may not see them).
nlohmann::json SecretToWire(const model::Secret& secret, bool include_value);
// GET /secrets items: no value, schema or provider options.
nlohmann::json SecretListItemToWire(const model::Secret& secret);

// A timestamp field: the ISO-8601 form, or null when unset.
nlohmann::json TimestampOrNull(const std::optional<Timestamp>& t);

}  // namespace cloudify::rest
