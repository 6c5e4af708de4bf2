// /agents: the agents known to the manager (the original's agents table). An agent registers
// itself (PUT) for the host node instance it serves and reports its state (PATCH); users list
// and read them.
#include "cloudify/ids.h"
#include "cloudify/model/json.h"

#include "rest/internal.h"
#include "rest/json_codec.h"

namespace cloudify::rest::internal {

using nlohmann::json;

namespace {

json AgentToWire(const model::Agent& a, bool with_broker_user) {
  json out = {
      {"id", a.id},
      {"name", a.name},
      {"node_instance_id", a.node_instance_id},
      {"host_id", a.node_instance_id},
      {"node_id", a.node_id},
      {"node", a.node_id},
      {"deployment_id", a.deployment_id},
      {"deployment", a.deployment_id},
      {"ip", model::StringOrNull(a.ip)},
      {"install_method", a.install_method},
      {"system", model::StringOrNull(a.system)},
      {"version", a.version},
      {"state", model::AgentStateName(a.state)},
      {"rabbitmq_exchange", a.rabbitmq_exchange},
      {"updated_at", FormatTimestamp(a.updated_at)},
  };
  if (with_broker_user) {
    // The original returns the broker credentials to a single-agent read only; no password
    // is kept here.
    out["rabbitmq_username"] = model::StringOrNull(a.rabbitmq_username);
    out["rabbitmq_password"] = nullptr;
  }
  AddResourceFields(a.meta, out);
  return out;
}

// The body's `state`: nullopt when absent; kBadParameters when not an agent state.
Result<std::optional<model::AgentState>> StateField(const json& body) {
  CLOUDIFY_ASSIGN_OR_RETURN(std::string text, StringField(body, "state"));
  if (text.empty()) {
    return std::optional<model::AgentState>();
  }
  std::optional<model::AgentState> state = model::ParseAgentState(text);
  if (!state) {
    return BadParametersError("Invalid agent state: `" + text + "`.");
  }
  return state;
}

Result<HttpResponse> List(Context& ctx) {
  CLOUDIFY_ASSIGN_OR_RETURN(storage::ListQuery q, ListQueryFrom(ctx));
  // The client's plural filter names (agents.list predates the table).
  for (const auto& [from, to] : std::initializer_list<std::pair<const char*, const char*>>{
           {"node_ids", "node_id"},
           {"node_instance_ids", "node_instance_id"},
           {"install_methods", "install_method"},
           {"deployment", "deployment_id"},
           {"node", "node_id"}}) {
    if (auto it = q.filters.find(from); it != q.filters.end()) {
      auto values = std::move(it->second);
      q.filters.erase(it);
      auto& into = q.filters[to];
      into.insert(into.end(), values.begin(), values.end());
    }
  }
  CLOUDIFY_ASSIGN_OR_RETURN(auto page, ctx.store().ListAgents(ctx.caller, q));
  return PageResponse(page, IncludeFields(ctx),
                      [](const model::Agent& a) { return AgentToWire(a, false); });
}

Result<HttpResponse> Get(Context& ctx) {
  CLOUDIFY_ASSIGN_OR_RETURN(model::Agent a, ctx.store().GetAgent(ctx.caller, ctx.params[0]));
  return JsonResult(200, Project(AgentToWire(a, true), IncludeFields(ctx)));
}

// Registers an agent for a node instance of the tenant; one already registered under the
// name is returned as it is (the original: an agent is created again on reinstall or heal).
Result<HttpResponse> Put(Context& ctx) {
  CLOUDIFY_ASSIGN_OR_RETURN(json body, JsonBody(ctx));
  const std::string& name = ctx.params[0];
  CLOUDIFY_RETURN_IF_ERROR(ValidateResourceId(name, "agent"));
  CLOUDIFY_ASSIGN_OR_RETURN(std::string instance_id, StringField(body, "node_instance_id"));
  if (instance_id.empty()) {
    return BadParametersError("`node_instance_id` is required");
  }
  CLOUDIFY_ASSIGN_OR_RETURN(std::optional<model::AgentState> state, StateField(body));
  if (!state) {
    return BadParametersError("`state` is required");
  }
  if (Result<model::Agent> existing = ctx.store().GetAgent(ctx.caller, name); existing.ok()) {
    return Json(200, AgentToWire(*existing, false));
  } else if (existing.status().code() != ErrorCode::kNotFound) {
    return existing.status();
  }
  CLOUDIFY_ASSIGN_OR_RETURN(model::NodeInstance instance,
                            ctx.store().GetNodeInstance(ctx.caller, instance_id));
  model::Agent a;
  a.id = a.name = name;
  a.node_instance_id = instance.id;
  a.node_id = instance.node_id;
  a.deployment_id = instance.deployment_id;
  a.state = *state;
  CLOUDIFY_ASSIGN_OR_RETURN(a.ip, StringField(body, "ip"));
  CLOUDIFY_ASSIGN_OR_RETURN(a.install_method, StringField(body, "install_method"));
  CLOUDIFY_ASSIGN_OR_RETURN(a.system, StringField(body, "system"));
  CLOUDIFY_ASSIGN_OR_RETURN(a.version, StringField(body, "version"));
  CLOUDIFY_ASSIGN_OR_RETURN(a.rabbitmq_username, StringField(body, "rabbitmq_username"));
  CLOUDIFY_ASSIGN_OR_RETURN(a.rabbitmq_exchange, StringField(body, "rabbitmq_exchange"));
  if (a.rabbitmq_exchange.empty()) {
    a.rabbitmq_exchange = name;  // the agent's direct exchange is named after it
  }
  CLOUDIFY_ASSIGN_OR_RETURN(std::string visibility, StringField(body, "visibility"));
  if (!visibility.empty()) {
    CLOUDIFY_ASSIGN_OR_RETURN(a.meta.visibility, VisibilityFromText(ctx, visibility));
  }
  a.meta.tenant_name = ctx.caller.tenant;
  a.meta.created_by = ctx.user.username;
  a.meta.created_at = SystemClock().Now();
  a.updated_at = a.meta.created_at;
  Status created = ctx.store().CreateAgent(ctx.caller, a);
  if (created.code() == ErrorCode::kConflict) {  // registered meanwhile
    CLOUDIFY_ASSIGN_OR_RETURN(model::Agent existing, ctx.store().GetAgent(ctx.caller, name));
    return Json(200, AgentToWire(existing, false));
  }
  CLOUDIFY_RETURN_IF_ERROR(created);
  return Json(201, AgentToWire(a, false));
}

// A state report (also the agent's heartbeat: updated_at moves on).
Result<HttpResponse> Patch(Context& ctx) {
  CLOUDIFY_ASSIGN_OR_RETURN(json body, JsonBody(ctx));
  CLOUDIFY_ASSIGN_OR_RETURN(model::Agent a, ctx.store().GetAgent(ctx.caller, ctx.params[0]));
  CLOUDIFY_ASSIGN_OR_RETURN(std::optional<model::AgentState> state, StateField(body));
  a.state = state.value_or(a.state);
  CLOUDIFY_ASSIGN_OR_RETURN(std::string system, StringField(body, "system"));
  CLOUDIFY_ASSIGN_OR_RETURN(std::string version, StringField(body, "version"));
  if (!system.empty()) {
    a.system = system;
  }
  if (!version.empty()) {
    a.version = version;
  }
  a.updated_at = SystemClock().Now();
  CLOUDIFY_RETURN_IF_ERROR(ctx.store().UpdateAgent(ctx.caller, a));
  return Json(200, AgentToWire(a, false));
}

}  // namespace

void AddAgentRoutes(std::vector<Route>& routes) {
  routes.push_back({"GET", "/agents", Access::kViewer, List});
  routes.push_back({"GET", "/agents/<>", Access::kViewer, Get});
  routes.push_back({"PUT", "/agents/<>", Access::kOperations, Put});
  routes.push_back({"PATCH", "/agents/<>", Access::kOperations, Patch});
}

}  // namespace cloudify::rest::internal
