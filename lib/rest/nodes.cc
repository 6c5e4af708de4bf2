// /nodes and /node-instances (GET, and PATCH with the optimistic version check).
#include "rest/internal.h"
#include "rest/json_codec.h"

namespace cloudify::rest::internal {

using nlohmann::json;

namespace {

Result<HttpResponse> ListNodes(Context& ctx) {
  CLOUDIFY_ASSIGN_OR_RETURN(storage::ListQuery q, ListQueryFrom(ctx, {"_evaluate_functions"}));
  CLOUDIFY_ASSIGN_OR_RETURN(auto page, ctx.store().ListNodes(ctx.caller, q));
  return PageResponse(page, IncludeFields(ctx), [](const model::Node& n) { return ToWire(n); });
}

Result<HttpResponse> ListInstances(Context& ctx) {
  CLOUDIFY_ASSIGN_OR_RETURN(storage::ListQuery q, ListQueryFrom(ctx));
  ReadOnlyIncludedFields(ctx, q);
  CLOUDIFY_ASSIGN_OR_RETURN(auto page, ctx.store().ListNodeInstances(ctx.caller, q));
  return PageResponse(page, IncludeFields(ctx),
                      [](const model::NodeInstance& n) { return ToWire(n); });
}

Result<HttpResponse> GetInstance(Context& ctx) {
  CLOUDIFY_ASSIGN_OR_RETURN(model::NodeInstance ni,
                            ctx.store().GetNodeInstance(ctx.caller, ctx.params[0]));
  return JsonResult(200, Project(ToWire(ni), IncludeFields(ctx)));
}

Result<HttpResponse> PatchInstance(Context& ctx) {
  CLOUDIFY_ASSIGN_OR_RETURN(json body, JsonBody(ctx));
  storage::NodeInstanceUpdate update;
  auto version = body.find("version");
  if (version == body.end() || !version->is_number_integer() || version->get<int64_t>() < 0) {
    return BadParametersError("`version` is required and must be a non-negative integer");
  }
  update.version = version->get<int64_t>();
  CLOUDIFY_ASSIGN_OR_RETURN(update.force, QueryBool(ctx, "force", false));
  if (auto it = body.find("state"); it != body.end() && !it->is_null()) {
    std::optional<model::NodeInstanceState> state =
        it->is_string() ? model::ParseNodeInstanceState(it->get<std::string>()) : std::nullopt;
    if (!state) {
      return BadParametersError("`state` " + it->dump() + " is not a node instance state");
    }
    update.state = state;
  }
  for (const char* field : {"runtime_properties", "system_properties"}) {
    auto it = body.find(field);
    if (it == body.end() || it->is_null()) {
      continue;
    }
    if (!it->is_object()) {
      return BadParametersError(std::string("`") + field + "` must be an object");
    }
    (std::string(field) == "runtime_properties" ? update.runtime_properties
                                                : update.system_properties) = *it;
  }
  CLOUDIFY_ASSIGN_OR_RETURN(model::NodeInstance ni,
                            ctx.store().UpdateNodeInstance(ctx.caller, ctx.params[0], update));
  return Json(200, ToWire(ni));
}

}  // namespace

void AddNodeRoutes(std::vector<Route>& routes) {
  routes.push_back({"GET", "/nodes", Access::kViewer, ListNodes});
  routes.push_back({"GET", "/node-instances", Access::kViewer, ListInstances});
  routes.push_back({"GET", "/node-instances/<>", Access::kViewer, GetInstance});
  routes.push_back({"PATCH", "/node-instances/<>", Access::kOperations, PatchInstance});
}

}  // namespace cloudify::rest::internal
