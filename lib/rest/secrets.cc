// /secrets (REST.md §3.7): hidden values are returned only to their creator and admins, and
// never logged.
#include "cloudify/ids.h"

#include "rest/internal.h"
#include "rest/json_codec.h"

namespace cloudify::rest::internal {

using nlohmann::json;

namespace {

bool MaySeeValue(const Context& ctx, const model::Secret& s) {
  return !s.is_hidden_value || ctx.caller.is_admin || s.meta.created_by == ctx.user.username;
}

Status RequireMayChange(const Context& ctx, const model::Secret& s) {
  if (!MaySeeValue(ctx, s)) {
    return Status(ErrorCode::kForbidden, "User `" + ctx.user.username +
                                             "` is not permitted to modify the hidden secret `" +
                                             s.key + "`");
  }
  return Status::Ok();
}

Result<std::optional<model::Visibility>> VisibilityField(const Context& ctx, const json& body) {
  CLOUDIFY_ASSIGN_OR_RETURN(std::string text, StringField(body, "visibility"));
  if (text.empty()) {
    return std::optional<model::Visibility>();
  }
  CLOUDIFY_ASSIGN_OR_RETURN(model::Visibility v, VisibilityFromText(ctx, text));
  return std::optional<model::Visibility>(v);
}

Result<HttpResponse> List(Context& ctx) {
  CLOUDIFY_ASSIGN_OR_RETURN(storage::ListQuery q, ListQueryFrom(ctx));
  CLOUDIFY_ASSIGN_OR_RETURN(auto page, ctx.store().ListSecrets(ctx.caller, q));
  return PageResponse(page, IncludeFields(ctx),
                      [](const model::Secret& s) { return SecretListItemToWire(s); });
}

Result<HttpResponse> Get(Context& ctx) {
  CLOUDIFY_ASSIGN_OR_RETURN(model::Secret s, ctx.store().GetSecret(ctx.caller, ctx.params[0]));
  CLOUDIFY_ASSIGN_OR_RETURN(bool skip_value, QueryBool(ctx, "_skip_value", false));
  return JsonResult(
      200, Project(SecretToWire(s, !skip_value && MaySeeValue(ctx, s)), IncludeFields(ctx)));
}

Result<HttpResponse> Put(Context& ctx) {
  CLOUDIFY_ASSIGN_OR_RETURN(json body, JsonBody(ctx));
  const std::string& key = ctx.params[0];
  CLOUDIFY_RETURN_IF_ERROR(ValidateResourceId(key, "secret"));
  auto value = body.find("value");
  if (value == body.end() || value->is_null() ||
      (value->is_string() && value->get<std::string>().empty())) {
    return BadParametersError("`value` is required and must not be empty");
  }
  // A non-string value is kept as its JSON text (the original stores schema'd values so).
  std::string text = value->is_string() ? value->get<std::string>() : value->dump();
  CLOUDIFY_ASSIGN_OR_RETURN(bool update, BoolField(body, "update_if_exists", false));
  CLOUDIFY_ASSIGN_OR_RETURN(bool hidden, BoolField(body, "is_hidden_value", false));
  CLOUDIFY_ASSIGN_OR_RETURN(auto visibility, VisibilityField(ctx, body));
  Result<model::Secret> existing = ctx.store().GetSecret(ctx.caller, key);
  if (existing.ok()) {
    if (!update) {
      return ConflictError("secret `" + key + "` already exists");
    }
    CLOUDIFY_RETURN_IF_ERROR(RequireMayChange(ctx, *existing));
    existing->value = text;
    existing->is_hidden_value = hidden;
    if (visibility) {
      existing->meta.visibility = *visibility;
    }
    existing->updated_at = SystemClock().Now();
    CLOUDIFY_RETURN_IF_ERROR(ctx.store().UpdateSecret(ctx.caller, *existing));
  } else if (existing.status().code() != ErrorCode::kNotFound) {
    return existing.status();
  } else {
    model::Secret s;
    s.key = key;
    s.value = text;
    s.is_hidden_value = hidden;
    s.schema = body.value("schema", json());
    s.meta.tenant_name = ctx.caller.tenant;
    s.meta.created_by = ctx.user.username;
    s.meta.created_at = SystemClock().Now();
    s.updated_at = s.meta.created_at;
    if (visibility) {
      s.meta.visibility = *visibility;
    }
    CLOUDIFY_RETURN_IF_ERROR(ctx.store().CreateSecret(ctx.caller, s));
  }
  CLOUDIFY_ASSIGN_OR_RETURN(model::Secret stored, ctx.store().GetSecret(ctx.caller, key));
  return Json(200, SecretToWire(stored, MaySeeValue(ctx, stored)));
}

Result<HttpResponse> Patch(Context& ctx) {
  CLOUDIFY_ASSIGN_OR_RETURN(json body, JsonBody(ctx));
  CLOUDIFY_ASSIGN_OR_RETURN(model::Secret s, ctx.store().GetSecret(ctx.caller, ctx.params[0]));
  CLOUDIFY_RETURN_IF_ERROR(RequireMayChange(ctx, s));
  if (body.empty()) {
    return Status(ErrorCode::kIllegalAction, "nothing to update in secret `" + s.key + "`");
  }
  if (auto value = body.find("value"); value != body.end() && !value->is_null()) {
    s.value = value->is_string() ? value->get<std::string>() : value->dump();
  }
  CLOUDIFY_ASSIGN_OR_RETURN(s.is_hidden_value,
                            BoolField(body, "is_hidden_value", s.is_hidden_value));
  CLOUDIFY_ASSIGN_OR_RETURN(auto visibility, VisibilityField(ctx, body));
  if (visibility) {
    CLOUDIFY_RETURN_IF_ERROR(model::CheckVisibilityChange(s.meta.visibility, *visibility));
    s.meta.visibility = *visibility;
  }
  s.updated_at = SystemClock().Now();
  CLOUDIFY_RETURN_IF_ERROR(ctx.store().UpdateSecret(ctx.caller, s));
  return Json(200, SecretToWire(s, MaySeeValue(ctx, s)));
}

Result<HttpResponse> Delete(Context& ctx) {
  CLOUDIFY_ASSIGN_OR_RETURN(model::Secret s, ctx.store().GetSecret(ctx.caller, ctx.params[0]));
  CLOUDIFY_RETURN_IF_ERROR(RequireMayChange(ctx, s));
  CLOUDIFY_RETURN_IF_ERROR(ctx.store().DeleteSecret(ctx.caller, s.key));
  return NoContent();
}

Result<HttpResponse> SetVisibility(Context& ctx) {
  CLOUDIFY_ASSIGN_OR_RETURN(model::Secret s, ctx.store().GetSecret(ctx.caller, ctx.params[0]));
  CLOUDIFY_RETURN_IF_ERROR(RequireMayChange(ctx, s));
  CLOUDIFY_ASSIGN_OR_RETURN(model::Visibility v, VisibilityChange(ctx, s.meta.visibility));
  if (v == model::Visibility::kGlobal) {
    CLOUDIFY_RETURN_IF_ERROR(RequireUniqueAcrossTenants(
        s.key, "secret", [&](const storage::CallerContext& c, const storage::ListQuery& q) {
          return ctx.store().ListSecrets(c, q);
        }));
  }
  s.meta.visibility = v;
  s.updated_at = SystemClock().Now();
  CLOUDIFY_RETURN_IF_ERROR(ctx.store().UpdateSecret(ctx.caller, s));
  return Json(200, SecretToWire(s, MaySeeValue(ctx, s)));
}

}  // namespace

void AddSecretRoutes(std::vector<Route>& routes) {
  routes.push_back({"GET", "/secrets", Access::kViewer, List});
  routes.push_back({"GET", "/secrets/<>", Access::kViewer, Get});
  routes.push_back({"PUT", "/secrets/<>", Access::kUser, Put});
  routes.push_back({"PATCH", "/secrets/<>", Access::kUser, Patch});
  routes.push_back({"DELETE", "/secrets/<>", Access::kUser, Delete});
  routes.push_back({"PATCH", "/secrets/<>/set-visibility", Access::kUser, SetVisibility});
}

}  // namespace cloudify::rest::internal
