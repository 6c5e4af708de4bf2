// /status, /config, /plugins (list), and the /resources file server.
#include <sstream>

#include "cloudify/files.h"

#include "rest/internal.h"
#include "rest/json_codec.h"

namespace cloudify::rest::internal {

using nlohmann::json;
namespace fs = std::filesystem;

namespace {

Result<HttpResponse> StatusRoute(Context& ctx) {
  // The store answering is what "up" means for an embedded manager.
  storage::ListQuery one;
  one.size = 1;
  Result<storage::Page<model::Tenant>> probe = ctx.store().ListTenants(one);
  const std::string database = probe.ok() ? "Active" : "Inactive";
  json services = {
      {"Database",
       {{"status", database},
        {"is_remote", false},
        {"extra_info", {{"backend", std::string(ctx.store().backend())}}}}},
      {"Manager Rest-Service",
       {{"status", "Active"}, {"is_remote", false}, {"extra_info", json::object()}}},
      {"Management Worker",
       {{"status", "Active"}, {"is_remote", false}, {"extra_info", json::object()}}},
  };
  json body = {{"status", probe.ok() ? "OK" : "Fail"}};
  CLOUDIFY_ASSIGN_OR_RETURN(bool summary, QueryBool(ctx, "summary", false));
  if (!summary) {
    body["services"] = services;
  }
  return Json(200, body);
}

json ConfigItem(std::string name, json value, std::string scope, std::string description) {
  return {{"name", std::move(name)},
          {"value", std::move(value)},
          {"scope", std::move(scope)},
          {"schema", {{"type", "integer"}}},
          {"is_editable", false},
          {"admin_only", false},
          {"updated_at", nullptr},
          {"updater_name", nullptr},
          {"description", std::move(description)}};
}

Result<HttpResponse> Config(Context& ctx) {
  const RouterOptions& o = ctx.services.options;
  json items = json::array();
  items.push_back(ConfigItem("default_page_size", 1000, "rest", "Default page size of lists"));
  items.push_back(ConfigItem("blueprint_folder_max_size_mb",
                             static_cast<int64_t>(o.max_archive_bytes >> 20), "rest",
                             "Largest blueprint archive, in MB"));
  items.push_back(ConfigItem("blueprint_folder_max_files", 100000, "rest",
                             "Most entries in a blueprint archive"));
  items.push_back(ConfigItem("max_json_body_bytes", static_cast<int64_t>(o.max_json_body_bytes),
                             "rest", "Largest JSON request body"));
  if (auto scope = ctx.Query("scope")) {
    json filtered = json::array();
    for (auto& item : items) {
      if (item["scope"] == *scope) {
        filtered.push_back(std::move(item));
      }
    }
    items = std::move(filtered);
  }
  json roles = json::array();
  for (const char* r : {"sys_admin", "default", "manager", "user", "operations", "viewer"}) {
    roles.push_back(
        {{"name", r},
         {"type", std::string(r) == "sys_admin" || std::string(r) == "default" ? "system_role"
                                                                               : "tenant_role"}});
  }
  json permissions = {
      {"blueprint_upload", {"sys_admin", "manager", "user"}},
      {"blueprint_delete", {"sys_admin", "manager", "user"}},
      {"secret_create", {"sys_admin", "manager", "user"}},
      {"deployment_create", {"sys_admin", "manager", "user", "operations"}},
      {"deployment_delete", {"sys_admin", "manager", "user", "operations"}},
      {"execution_start", {"sys_admin", "manager", "user", "operations"}},
      {"execution_cancel", {"sys_admin", "manager", "user", "operations"}},
      {"node_instance_update", {"sys_admin", "manager", "user", "operations"}},
      {"blueprint_list", {"sys_admin", "manager", "user", "operations", "viewer"}},
      {"tenant_create", {"sys_admin"}},
      {"user_create", {"sys_admin"}},
  };
  return Json(200, {{"items", items},
                    {"metadata", json::object()},
                    {"authorization", {{"roles", roles}, {"permissions", permissions}}}});
}

std::string ContentTypeFor(const fs::path& file) {
  const std::string ext = file.extension().string();
  if (ext == ".yaml" || ext == ".yml" || ext == ".txt" || ext == ".sh" || ext == ".py") {
    return "text/plain";
  }
  if (ext == ".json") {
    return "application/json";
  }
  return "application/octet-stream";
}

}  // namespace

Result<HttpResponse> ServeResource(Context& ctx) {
  // /resources/blueprints/<tenant>/<blueprint>/<path...>
  std::vector<std::string> parts;
  std::stringstream in(ctx.request.path.substr(std::string_view("/resources/").size()));
  for (std::string part; std::getline(in, part, '/');) {
    if (part.empty()) {
      continue;
    }
    if (part == "." || part == "..") {
      return BadParametersError("resource paths may not hold `.` or `..` segments");
    }
    parts.push_back(part);
  }
  if (parts.size() < 4 || parts[0] != "blueprints") {
    return NotFoundError("Requested resource " + ctx.request.path + " was not found");
  }
  // The tenant of the path is the one checked (the Tenant header is not needed here).
  HttpRequest scoped = ctx.request;
  scoped.headers["tenant"] = parts[1];
  Context scoped_ctx{.request = scoped, .services = ctx.services};
  CLOUDIFY_RETURN_IF_ERROR(Authenticate(scoped_ctx, Access::kViewer));
  CLOUDIFY_RETURN_IF_ERROR(ctx.store().GetBlueprint(scoped_ctx.caller, parts[2]).status());
  fs::path file = fs::path(ctx.services.options.data_dir) / "resources" / "blueprints";
  for (size_t i = 1; i < parts.size(); ++i) {
    file /= parts[i];
  }
  std::error_code ec;
  // Blueprint folders come from checked archives (no links leave them), so the canonical path
  // stays inside; checked again so a file server never serves outside its root.
  fs::path root = fs::weakly_canonical(fs::path(ctx.services.options.data_dir) / "resources", ec);
  fs::path real = fs::weakly_canonical(file, ec);
  if (ec || real.string().rfind(root.string() + "/", 0) != 0 || !fs::is_regular_file(real, ec)) {
    return NotFoundError("Requested resource " + ctx.request.path + " was not found");
  }
  CLOUDIFY_ASSIGN_OR_RETURN(std::string content, ReadFileBytes(real));
  HttpResponse r;
  r.content_type = ContentTypeFor(real);
  r.body = std::move(content);
  return r;
}

void AddInfoRoutes(std::vector<Route>& routes) {
  routes.push_back({"GET", "/status", Access::kAuthenticated, StatusRoute});
  routes.push_back({"GET", "/config", Access::kAuthenticated, Config});
}

}  // namespace cloudify::rest::internal
