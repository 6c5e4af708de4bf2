// /executions: start (the client's body with string booleans and nulls), get, list, actions.
#include "rest/internal.h"
#include "rest/json_codec.h"

namespace cloudify::rest::internal {

using nlohmann::json;

namespace {

Result<HttpResponse> Start(Context& ctx) {
  CLOUDIFY_ASSIGN_OR_RETURN(json body, JsonBody(ctx));
  CLOUDIFY_ASSIGN_OR_RETURN(std::string deployment_id, StringField(body, "deployment_id"));
  CLOUDIFY_ASSIGN_OR_RETURN(std::string workflow_id, StringField(body, "workflow_id"));
  if (deployment_id.empty() || workflow_id.empty()) {
    return BadParametersError("deployment_id and workflow_id are required");
  }
  json parameters = body.value("parameters", json::object());
  if (parameters.is_null()) {
    parameters = json::object();
  }
  if (!parameters.is_object()) {
    return BadParametersError("`parameters` must be an object, got " + parameters.dump());
  }
  StartOptions options;
  CLOUDIFY_ASSIGN_OR_RETURN(options.allow_custom_parameters,
                            BoolField(body, "allow_custom_parameters", false));
  CLOUDIFY_ASSIGN_OR_RETURN(options.force, BoolField(body, "force", false));
  CLOUDIFY_ASSIGN_OR_RETURN(options.queue, BoolField(body, "queue", false));
  CLOUDIFY_ASSIGN_OR_RETURN(options.dry_run, BoolField(body, "dry_run", false));
  if (auto it = body.find("scheduled_time"); it != body.end() && !it->is_null()) {
    // The execution waits as `scheduled` until then (UTC, ISO 8601 as the client sends it).
    Result<Timestamp> when = it->is_string()
                                 ? ParseTimestamp(it->get<std::string>())
                                 : Result<Timestamp>(BadParametersError("not a string"));
    if (!when.ok()) {
      return BadParametersError(
          "`scheduled_time` must be a UTC time such as "
          "2026-12-24T18:00:00.000Z, got " +
          it->dump());
    }
    options.scheduled_for = *when;
  }
  // Snapshot-restore fields (id, created_by, status, timestamps): only sys_admin may set them,
  // and this manager does not restore snapshots, so non-null values are refused.
  for (const char* field : {"force_status", "created_by", "created_at", "started_at", "ended_at",
                            "id", "is_system_workflow", "error"}) {
    if (auto it = body.find(field); it != body.end() && !it->is_null()) {
      if (!ctx.is_sys_admin) {
        return Status(ErrorCode::kForbidden,
                      std::string("only sys_admin may set `") + field + "` on an execution");
      }
      return BadParametersError(std::string("setting `") + field +
                                "` on a new execution is not supported");
    }
  }
  CLOUDIFY_ASSIGN_OR_RETURN(
      model::Execution e,
      ctx.manager().StartExecution(ctx.caller, deployment_id, workflow_id, parameters, options));
  return Json(201, ToWire(e));
}

Result<HttpResponse> Get(Context& ctx) {
  CLOUDIFY_ASSIGN_OR_RETURN(model::Execution e,
                            ctx.store().GetExecution(ctx.caller, ctx.params[0]));
  return JsonResult(200, Project(ToWire(e), IncludeFields(ctx)));
}

Result<HttpResponse> List(Context& ctx) {
  CLOUDIFY_ASSIGN_OR_RETURN(storage::ListQuery q, ListQueryFrom(ctx));
  ReadOnlyIncludedFields(ctx, q);
  CLOUDIFY_ASSIGN_OR_RETURN(bool system, QueryBool(ctx, "_include_system_workflows", false));
  if (!system && !q.filters.contains("is_system_workflow")) {
    q.filters["is_system_workflow"] = {"false"};
  }
  if (q.sort.empty()) {
    q.sort.push_back("created_at");
  }
  CLOUDIFY_ASSIGN_OR_RETURN(auto page, ctx.store().ListExecutions(ctx.caller, q));
  return PageResponse(page, IncludeFields(ctx),
                      [](const model::Execution& e) { return ToWire(e); });
}

// The original's status update: {"status", "error"}.
Result<HttpResponse> Patch(Context& ctx) {
  CLOUDIFY_ASSIGN_OR_RETURN(json body, JsonBody(ctx));
  CLOUDIFY_ASSIGN_OR_RETURN(std::string text, StringField(body, "status"));
  if (text.empty()) {
    return BadParametersError("`status` is required");
  }
  std::optional<model::ExecutionStatus> status = model::ParseExecutionStatus(text);
  if (!status) {
    return BadParametersError("Invalid execution status: `" + text + "`");
  }
  CLOUDIFY_ASSIGN_OR_RETURN(std::string error, StringField(body, "error"));
  CLOUDIFY_ASSIGN_OR_RETURN(model::Execution e, ctx.manager().UpdateExecutionStatus(
                                                    ctx.caller, ctx.params[0], *status, error));
  return Json(200, ToWire(e));
}

Result<HttpResponse> Action(Context& ctx) {
  CLOUDIFY_ASSIGN_OR_RETURN(json body, JsonBody(ctx));
  CLOUDIFY_ASSIGN_OR_RETURN(std::string action, StringField(body, "action"));
  if (action == "cancel" || action == "force-cancel" || action == "kill") {
    // cancel lets running operations finish; force-cancel and kill also tell them to stop
    // (Manager::CancelExecution says what each can do to operations already running).
    const CancelKind kind = action == "kill"           ? CancelKind::kKill
                            : action == "force-cancel" ? CancelKind::kForce
                                                       : CancelKind::kCancel;
    CLOUDIFY_ASSIGN_OR_RETURN(model::Execution e,
                              ctx.manager().CancelExecution(ctx.caller, ctx.params[0], kind));
    return Json(200, ToWire(e));
  }
  if (action == "resume" || action == "force-resume") {
    CLOUDIFY_ASSIGN_OR_RETURN(model::Execution e,
                              ctx.manager().ResumeExecution(ctx.caller, ctx.params[0]));
    return Json(200, ToWire(e));
  }
  return Status(ErrorCode::kUnknownAction,
                "Unknown action `" + action +
                    "`: expected cancel, force-cancel, kill, resume or force-resume");
}

}  // namespace

void AddExecutionRoutes(std::vector<Route>& routes) {
  routes.push_back({"GET", "/executions", Access::kViewer, List});
  routes.push_back({"POST", "/executions", Access::kOperations, Start});
  routes.push_back({"GET", "/executions/<>", Access::kViewer, Get});
  routes.push_back({"POST", "/executions/<>", Access::kOperations, Action});
  routes.push_back({"PATCH", "/executions/<>", Access::kOperations, Patch});
}

}  // namespace cloudify::rest::internal
