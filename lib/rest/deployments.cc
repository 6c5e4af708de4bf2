// /deployments: create (waits, as the v3.1 original), list, get, delete, outputs, capabilities.
#include "rest/internal.h"
#include "rest/json_codec.h"

namespace cloudify::rest::internal {

using nlohmann::json;

namespace {

Result<HttpResponse> Create(Context& ctx) {
  CLOUDIFY_ASSIGN_OR_RETURN(json body, JsonBody(ctx));
  CLOUDIFY_ASSIGN_OR_RETURN(std::string blueprint_id, StringField(body, "blueprint_id"));
  if (blueprint_id.empty()) {
    return BadParametersError("Missing blueprint_id in the request body");
  }
  json inputs = body.value("inputs", json::object());
  if (inputs.is_null()) {
    inputs = json::object();
  }
  if (!inputs.is_object()) {
    return BadParametersError("`inputs` must be an object, got " + inputs.dump());
  }
  CLOUDIFY_ASSIGN_OR_RETURN(std::string visibility, StringField(body, "visibility"));
  if (visibility == "global" && !ctx.is_sys_admin) {
    return Status(ErrorCode::kForbidden, "only sys_admin may create global deployments");
  }
  DeploymentCreateOptions options;
  // The original's async_create: 201 once the inputs are checked, the nodes and instances
  // follow (the create_deployment_environment execution says when).
  CLOUDIFY_ASSIGN_OR_RETURN(options.async, QueryBool(ctx, "async_create", false));
  CLOUDIFY_ASSIGN_OR_RETURN(options.display_name, StringField(body, "display_name"));
  if (!visibility.empty()) {
    auto v = model::ParseVisibility(visibility);
    if (!v) {
      return BadParametersError("Invalid visibility `" + visibility +
                                "`: must be private, tenant or global");
    }
    options.visibility = *v;
  }
  CLOUDIFY_ASSIGN_OR_RETURN(
      model::Deployment d,
      ctx.manager().CreateDeployment(ctx.caller, blueprint_id, ctx.params[0], inputs, options));
  return Json(201, ToWire(d));
}

Result<HttpResponse> Get(Context& ctx) {
  CLOUDIFY_ASSIGN_OR_RETURN(model::Deployment d,
                            ctx.store().GetDeployment(ctx.caller, ctx.params[0]));
  return JsonResult(200, Project(ToWire(d), IncludeFields(ctx)));
}

Result<HttpResponse> List(Context& ctx) {
  CLOUDIFY_ASSIGN_OR_RETURN(storage::ListQuery q, ListQueryFrom(ctx));
  ReadOnlyIncludedFields(ctx, q);
  CLOUDIFY_ASSIGN_OR_RETURN(auto page, ctx.store().ListDeployments(ctx.caller, q));
  return PageResponse(page, IncludeFields(ctx),
                      [](const model::Deployment& d) { return ToWire(d); });
}

Result<HttpResponse> Delete(Context& ctx) {
  CLOUDIFY_ASSIGN_OR_RETURN(bool force, QueryBool(ctx, "force", false));
  CLOUDIFY_RETURN_IF_ERROR(ctx.store().GetDeployment(ctx.caller, ctx.params[0]).status());
  // The deletion completes before the reply, so a blueprint delete right after it succeeds.
  CLOUDIFY_RETURN_IF_ERROR(ctx.manager().DeleteDeployment(ctx.caller, ctx.params[0], force));
  return NoContent();
}

Result<HttpResponse> Outputs(Context& ctx) {
  CLOUDIFY_ASSIGN_OR_RETURN(json outputs,
                            ctx.manager().DeploymentOutputs(ctx.caller, ctx.params[0]));
  return Json(200, {{"deployment_id", ctx.params[0]}, {"outputs", outputs}});
}

Result<HttpResponse> Capabilities(Context& ctx) {
  CLOUDIFY_ASSIGN_OR_RETURN(json capabilities,
                            ctx.manager().DeploymentCapabilities(ctx.caller, ctx.params[0]));
  return Json(200, {{"deployment_id", ctx.params[0]}, {"capabilities", capabilities}});
}

Result<HttpResponse> SetVisibility(Context& ctx) {
  CLOUDIFY_ASSIGN_OR_RETURN(model::Deployment d,
                            ctx.store().GetDeployment(ctx.caller, ctx.params[0]));
  CLOUDIFY_ASSIGN_OR_RETURN(model::Visibility v, VisibilityChange(ctx, d.meta.visibility));
  if (v == model::Visibility::kGlobal) {
    CLOUDIFY_ASSIGN_OR_RETURN(model::Blueprint bp,
                              ctx.store().GetBlueprint(ctx.caller, d.blueprint_id));
    if (bp.meta.visibility != model::Visibility::kGlobal) {
      return Status(ErrorCode::kIllegalAction, "Can't set deployment `" + d.id +
                                                   "` to global: its blueprint `" + bp.id +
                                                   "` is not global");
    }
    CLOUDIFY_RETURN_IF_ERROR(RequireUniqueAcrossTenants(
        d.id, "deployment", [&](const storage::CallerContext& c, const storage::ListQuery& q) {
          return ctx.store().ListDeployments(c, q);
        }));
  }
  d.meta.visibility = v;
  CLOUDIFY_RETURN_IF_ERROR(ctx.store().UpdateDeployment(ctx.caller, d));
  return Json(200, ToWire(d));
}

}  // namespace

void AddDeploymentRoutes(std::vector<Route>& routes) {
  routes.push_back({"GET", "/deployments", Access::kViewer, List});
  routes.push_back({"GET", "/deployments/<>", Access::kViewer, Get});
  routes.push_back({"PUT", "/deployments/<>", Access::kOperations, Create});
  routes.push_back({"DELETE", "/deployments/<>", Access::kOperations, Delete});
  routes.push_back({"PATCH", "/deployments/<>/set-visibility", Access::kOperations, SetVisibility});
  routes.push_back({"GET", "/deployments/<>/outputs", Access::kViewer, Outputs});
  routes.push_back({"GET", "/deployments/<>/capabilities", Access::kViewer, Capabilities});
}

}  // namespace cloudify::rest::internal
