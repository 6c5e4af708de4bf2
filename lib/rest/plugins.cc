// /plugins: upload (the body is the archive `cfy plugins upload` sends), list, get, delete and
// download of plugin wagons.
#include "cloudify/files.h"

#include "rest/internal.h"
#include "rest/json_codec.h"

namespace cloudify::rest::internal {

using nlohmann::json;

namespace {

Result<HttpResponse> List(Context& ctx) {
  CLOUDIFY_ASSIGN_OR_RETURN(storage::ListQuery q, ListQueryFrom(ctx));
  CLOUDIFY_ASSIGN_OR_RETURN(auto page, ctx.store().ListPlugins(ctx.caller, q));
  return PageResponse(page, IncludeFields(ctx), [](const model::Plugin& p) { return ToWire(p); });
}

Result<HttpResponse> Get(Context& ctx) {
  CLOUDIFY_ASSIGN_OR_RETURN(model::Plugin p, ctx.store().GetPlugin(ctx.caller, ctx.params[0]));
  return JsonResult(200, Project(ToWire(p), IncludeFields(ctx)));
}

Result<HttpResponse> Upload(Context& ctx) {
  PluginUploadOptions options;
  auto query = [&](const char* name) { return ctx.Query(name).value_or(""); };
  options.id = query("id");
  options.title = query("title");
  if (std::string visibility = query("visibility"); !visibility.empty()) {
    CLOUDIFY_ASSIGN_OR_RETURN(options.visibility, VisibilityFromText(ctx, visibility));
  }
  std::string fetched;
  std::string_view archive = ctx.request.body;
  if (std::string url = query("plugin_archive_url"); !url.empty()) {
    Result<std::string> body = ctx.manager().FetchUrl(url);
    if (!body.ok()) {
      return BadParametersError("fetching the plugin archive from " + url +
                                " failed: " + body.status().message());
    }
    fetched = std::move(*body);
    archive = fetched;
  }
  if (archive.empty()) {
    return Status(ErrorCode::kUploadMissingFile, "Missing plugin archive: the body is empty");
  }
  if (archive.size() > ctx.services.options.max_archive_bytes) {
    return Status(ErrorCode::kPayloadTooLarge,
                  "plugin archive of " + std::to_string(archive.size()) +
                      " bytes exceeds the limit of " +
                      std::to_string(ctx.services.options.max_archive_bytes));
  }
  CLOUDIFY_ASSIGN_OR_RETURN(model::Plugin p,
                            ctx.manager().UploadPlugin(ctx.caller, archive, options));
  return Json(201, ToWire(p));
}

Result<HttpResponse> Delete(Context& ctx) {
  CLOUDIFY_ASSIGN_OR_RETURN(model::Plugin p, ctx.store().GetPlugin(ctx.caller, ctx.params[0]));
  CLOUDIFY_RETURN_IF_ERROR(ctx.manager().DeletePlugin(ctx.caller, p.id));
  return Json(200, ToWire(p));
}

Result<HttpResponse> Archive(Context& ctx) {
  CLOUDIFY_ASSIGN_OR_RETURN(std::filesystem::path file,
                            ctx.manager().PluginArchivePath(ctx.caller, ctx.params[0]));
  Result<std::string> bytes = ReadFileBytes(file);
  if (!bytes.ok()) {
    return NotFoundError("Requested archive of plugin `" + ctx.params[0] + "` was not found");
  }
  HttpResponse r;
  r.content_type = "application/octet-stream";
  r.headers["Content-Disposition"] = "attachment; filename=" + file.filename().string();
  r.body = std::move(*bytes);
  return r;
}

}  // namespace

void AddPluginRoutes(std::vector<Route>& routes) {
  routes.push_back({"GET", "/plugins", Access::kViewer, List});
  routes.push_back({"POST", "/plugins", Access::kUser, Upload});
  routes.push_back({"GET", "/plugins/<>", Access::kViewer, Get});
  routes.push_back({"DELETE", "/plugins/<>", Access::kUser, Delete});
  routes.push_back({"GET", "/plugins/<>/archive", Access::kViewer, Archive});
}

}  // namespace cloudify::rest::internal
