// /blueprints: multipart upload (REST.md §3.1, §4.1), list, get, delete.
#include <filesystem>

#include "cloudify/archive.h"
#include "cloudify/files.h"
#include "cloudify/ids.h"
#include "cloudify/url.h"

#include "rest/internal.h"
#include "rest/json_codec.h"

namespace cloudify::rest::internal {

using nlohmann::json;

namespace {

const FormPart* FindPart(const HttpRequest& request, std::string_view name) {
  for (const auto& part : request.form) {
    if (part.name == name) {
      return &part;
    }
  }
  return nullptr;
}

// The upload parameters: the `params` part (v3.1 client), else the query string (legacy).
Result<json> UploadParams(const Context& ctx) {
  if (const FormPart* part = FindPart(ctx.request, "params")) {
    json params = json::parse(part->content, nullptr, false);
    if (params.is_discarded() || !params.is_object()) {
      return BadParametersError("the `params` part must be a JSON object");
    }
    return params;
  }
  json params = json::object();
  for (const auto& [key, value] : ctx.request.query) {
    params[key] = value;
  }
  return params;
}

Result<HttpResponse> Upload(Context& ctx) {
  const std::string& id = ctx.params[0];
  CLOUDIFY_ASSIGN_OR_RETURN(json params, UploadParams(ctx));
  CLOUDIFY_ASSIGN_OR_RETURN(std::string file_name, StringField(params, "application_file_name"));
  if (file_name.empty()) {
    file_name = "blueprint.yaml";
  }
  // The client URL-quotes the name.
  CLOUDIFY_ASSIGN_OR_RETURN(file_name, PercentDecode(file_name));
  CLOUDIFY_ASSIGN_OR_RETURN(std::string visibility, StringField(params, "visibility"));
  if (!visibility.empty() && visibility != "tenant" && visibility != "private" &&
      visibility != "global") {
    return BadParametersError("Invalid visibility `" + visibility +
                              "`: must be private, tenant or global");
  }
  if (visibility == "global" && !ctx.is_sys_admin) {
    return Status(ErrorCode::kForbidden, "only sys_admin may create global blueprints");
  }
  // async_upload: 201 once the archive is extracted, the blueprint `uploading`; the client
  // follows its state. Without it, the reply waits for the parse (as the original waits).
  BlueprintUploadOptions upload_options;
  CLOUDIFY_ASSIGN_OR_RETURN(upload_options.async, BoolField(params, "async_upload", false));
  CLOUDIFY_ASSIGN_OR_RETURN(std::string url, StringField(params, "blueprint_archive_url"));
  std::string fetched;
  std::string_view archive;
  if (!url.empty()) {
    // The original's upload_blueprint workflow downloads it; here the manager's URL fetcher.
    CLOUDIFY_RETURN_IF_ERROR(ValidateBlueprintId(id));
    Result<std::string> body = ctx.manager().FetchUrl(url);
    if (!body.ok()) {
      return BadParametersError("Blueprint `" + id + "`: fetching its archive from " + url +
                                " failed: " + body.status().message());
    }
    fetched = std::move(*body);
    archive = fetched;
  } else if (const FormPart* part = FindPart(ctx.request, "blueprint_archive")) {
    archive = part->content;
  } else {
    archive = ctx.request.body;  // legacy: the archive is the whole body
  }
  if (archive.empty()) {
    return Status(ErrorCode::kUploadMissingFile,
                  "Missing blueprint archive: no "
                  "`blueprint_archive` part and no body");
  }
  if (archive.size() > ctx.services.options.max_archive_bytes) {
    return Status(ErrorCode::kPayloadTooLarge,
                  "blueprint archive of " + std::to_string(archive.size()) +
                      " bytes exceeds the limit of " +
                      std::to_string(ctx.services.options.max_archive_bytes));
  }
  CLOUDIFY_RETURN_IF_ERROR(ValidateBlueprintId(id));
  // A blueprint left invalid by an earlier upload is replaced silently (as the original does).
  if (auto old = ctx.store().GetBlueprint(ctx.caller, id);
      old.ok() && model::IsFailedBlueprintState(old->state)) {
    CLOUDIFY_RETURN_IF_ERROR(ctx.manager().DeleteBlueprint(ctx.caller, id));
  }
  Result<model::Blueprint> bp =
      ctx.manager().UploadBlueprintArchive(ctx.caller, id, archive, file_name, upload_options);
  if (!bp.ok()) {
    Status s = bp.status();
    if (s.code() != ErrorCode::kInvalidBlueprint) {
      if (s.code() == ErrorCode::kBadParameters &&
          s.message().find("rchive") != std::string::npos) {
        return Status(ErrorCode::kInvalidBlueprint,
                      "Blueprint `" + id + "` has an invalid archive: " + s.ToString());
      }
      return s;
    }
    // Kept as an `invalid` row so GET shows the parser's error, as the original does.
    model::Blueprint failed;
    failed.id = id;
    failed.meta.tenant_name = ctx.caller.tenant;
    failed.meta.created_by = ctx.caller.user;
    failed.meta.created_at = SystemClock().Now();
    failed.updated_at = failed.meta.created_at;
    failed.main_file_name = file_name;
    failed.state = model::BlueprintState::kInvalid;
    failed.error = s.ToString();
    (void)ctx.store().CreateBlueprint(ctx.caller, failed);
    return Status(ErrorCode::kInvalidBlueprint,
                  "Blueprint `" + id + "` is invalid. Error: " + s.ToString());
  }
  if (!visibility.empty() && visibility != "tenant") {
    bp->meta.visibility = *model::ParseVisibility(visibility);
    CLOUDIFY_RETURN_IF_ERROR(ctx.store().UpdateBlueprint(ctx.caller, *bp));
  }
  return Json(201, ToWire(*bp));
}

Result<HttpResponse> Get(Context& ctx) {
  CLOUDIFY_ASSIGN_OR_RETURN(model::Blueprint bp,
                            ctx.store().GetBlueprint(ctx.caller, ctx.params[0]));
  return JsonResult(200, Project(ToWire(bp), IncludeFields(ctx)));
}

// The blueprint as a tar.gz of its folder under one top-level directory named after it (what
// `cfy blueprints download` saves, and what an upload accepts again).
Result<HttpResponse> Archive(Context& ctx) {
  CLOUDIFY_ASSIGN_OR_RETURN(model::Blueprint bp,
                            ctx.store().GetBlueprint(ctx.caller, ctx.params[0]));
  const std::filesystem::path folder = std::filesystem::path(ctx.services.options.data_dir) /
                                       "resources" / "blueprints" / bp.meta.tenant_name / bp.id;
  std::error_code ec;
  if (!std::filesystem::is_directory(folder, ec)) {
    return NotFoundError("Requested archive of blueprint `" + bp.id + "` was not found");
  }
  const std::filesystem::path temp =
      std::filesystem::temp_directory_path() / ("cloudify-archive-" + NewUuid() + ".tar.gz");
  ScopedRemoval cleanup(temp);
  CLOUDIFY_RETURN_IF_ERROR(CreateTarGz(folder, temp, bp.id));
  CLOUDIFY_ASSIGN_OR_RETURN(std::string bytes, ReadFileBytes(temp));
  HttpResponse r;
  r.content_type = "application/octet-stream";
  r.headers["Content-Disposition"] = "attachment; filename=" + bp.id + ".tar.gz";
  r.body = std::move(bytes);
  return r;
}

Result<HttpResponse> List(Context& ctx) {
  CLOUDIFY_ASSIGN_OR_RETURN(storage::ListQuery q, ListQueryFrom(ctx));
  ReadOnlyIncludedFields(ctx, q, {"state"});
  CLOUDIFY_ASSIGN_OR_RETURN(auto page, ctx.store().ListBlueprints(ctx.caller, q));
  return PageResponse(page, IncludeFields(ctx),
                      [](const model::Blueprint& b) { return ToWire(b); });
}

Result<HttpResponse> Delete(Context& ctx) {
  CLOUDIFY_ASSIGN_OR_RETURN(model::Blueprint bp,
                            ctx.store().GetBlueprint(ctx.caller, ctx.params[0]));
  (void)bp;
  CLOUDIFY_RETURN_IF_ERROR(ctx.manager().DeleteBlueprint(ctx.caller, ctx.params[0]));
  return NoContent();
}

Result<HttpResponse> SetVisibility(Context& ctx) {
  CLOUDIFY_ASSIGN_OR_RETURN(model::Blueprint bp,
                            ctx.store().GetBlueprint(ctx.caller, ctx.params[0]));
  CLOUDIFY_ASSIGN_OR_RETURN(model::Visibility v, VisibilityChange(ctx, bp.meta.visibility));
  if (v == model::Visibility::kGlobal) {
    CLOUDIFY_RETURN_IF_ERROR(RequireUniqueAcrossTenants(
        bp.id, "blueprint", [&](const storage::CallerContext& c, const storage::ListQuery& q) {
          return ctx.store().ListBlueprints(c, q);
        }));
  }
  bp.meta.visibility = v;
  CLOUDIFY_RETURN_IF_ERROR(ctx.store().UpdateBlueprint(ctx.caller, bp));
  return Json(200, ToWire(bp));
}

}  // namespace

void AddBlueprintRoutes(std::vector<Route>& routes) {
  routes.push_back({"GET", "/blueprints", Access::kViewer, List});
  routes.push_back({"GET", "/blueprints/<>", Access::kViewer, Get});
  routes.push_back({"GET", "/blueprints/<>/archive", Access::kViewer, Archive});
  routes.push_back({"PUT", "/blueprints/<>", Access::kUser, Upload});
  routes.push_back({"DELETE", "/blueprints/<>", Access::kUser, Delete});
  routes.push_back({"PATCH", "/blueprints/<>/set-visibility", Access::kUser, SetVisibility});
}

}  // namespace cloudify::rest::internal
