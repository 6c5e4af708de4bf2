// Envelopes, body parsing and the list query of REST.md §2.
#include <algorithm>
#include <charconv>

#include "rest/internal.h"

namespace cloudify::rest::internal {

using nlohmann::json;

std::optional<std::string> Context::Query(std::string_view name) const {
  for (const auto& [key, value] : request.query) {
    if (key == name) {
      return value;
    }
  }
  return std::nullopt;
}

std::vector<std::string> Context::QueryAll(std::string_view name) const {
  std::vector<std::string> out;
  for (const auto& [key, value] : request.query) {
    if (key == name) {
      out.push_back(value);
    }
  }
  return out;
}

HttpResponse Json(int status, const json& body) {
  HttpResponse r;
  r.status = status;
  r.body = body.dump(-1, ' ', false, json::error_handler_t::replace);
  return r;
}

HttpResponse NoContent() {
  HttpResponse r;
  r.status = 204;
  return r;
}

HttpResponse ListResponse(json items, int64_t total, int64_t size, int64_t offset) {
  return Json(200, {{"items", std::move(items)},
                    {"metadata",
                     {{"pagination", {{"total", total}, {"size", size}, {"offset", offset}}},
                      {"filtered", nullptr}}}});
}

Result<json> Project(json object, const std::vector<std::string>& include) {
  if (include.empty() || !object.is_object()) {
    return object;
  }
  json out = json::object();
  for (const auto& field : include) {
    auto it = object.find(field);
    if (it == object.end()) {
      return Status(ErrorCode::kNoSuchIncludeField,
                    "Illegal include field `" + field + "`: no such field");
    }
    out[field] = std::move(*it);
  }
  return out;
}

std::vector<std::string> IncludeFields(const Context& ctx) {
  std::vector<std::string> out;
  for (const auto& value : ctx.QueryAll("_include")) {
    size_t start = 0;
    while (start <= value.size()) {
      size_t comma = value.find(',', start);
      std::string field =
          value.substr(start, comma == std::string::npos ? std::string::npos : comma - start);
      if (!field.empty()) {
        out.push_back(std::move(field));
      }
      if (comma == std::string::npos) {
        break;
      }
      start = comma + 1;
    }
  }
  return out;
}

namespace {

std::string Lower(std::string s) {
  std::transform(s.begin(), s.end(), s.begin(),
                 [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
  return s;
}

std::optional<bool> ParseBoolText(const std::string& text) {
  std::string lower = Lower(text);
  if (lower == "true" || lower == "1" || lower == "yes") {
    return true;
  }
  if (lower == "false" || lower == "0" || lower == "no" || lower.empty()) {
    return false;
  }
  return std::nullopt;
}

Result<int64_t> ParseCount(const std::string& text, std::string_view name) {
  int64_t n = 0;
  auto [ptr, ec] = std::from_chars(text.data(), text.data() + text.size(), n);
  if (ec != std::errc() || ptr != text.data() + text.size() || n < 0) {
    return BadParametersError(std::string(name) + " must be a non-negative integer, got `" + text +
                              "`");
  }
  return n;
}

}  // namespace

Result<json> JsonBody(const Context& ctx) {
  const std::string& body = ctx.request.body;
  if (body.empty()) {
    return json::object();
  }
  if (body.size() > ctx.services.options.max_json_body_bytes) {
    return Status(ErrorCode::kPayloadTooLarge,
                  "JSON body of " + std::to_string(body.size()) + " bytes exceeds the limit of " +
                      std::to_string(ctx.services.options.max_json_body_bytes));
  }
  auto it = ctx.request.headers.find("content-type");
  std::string type = it == ctx.request.headers.end() ? "" : Lower(it->second);
  if (type.rfind("application/json", 0) != 0) {
    return Status(ErrorCode::kUnsupportedContentType,
                  "Content-Type must be application/json, got `" + type + "`");
  }
  json parsed = json::parse(body, nullptr, false);
  if (parsed.is_discarded()) {
    return BadParametersError("the request body is not valid JSON");
  }
  if (!parsed.is_object()) {
    return BadParametersError("the request body must be a JSON object");
  }
  return parsed;
}

Result<bool> BoolField(const json& body, std::string_view field, bool fallback) {
  auto it = body.find(field);
  if (it == body.end() || it->is_null()) {
    return fallback;
  }
  if (it->is_boolean()) {
    return it->get<bool>();
  }
  if (it->is_string()) {
    if (auto b = ParseBoolText(it->get<std::string>())) {
      return *b;
    }
  }
  return BadParametersError("`" + std::string(field) + "` must be a boolean, got " + it->dump());
}

Result<bool> QueryBool(const Context& ctx, std::string_view name, bool fallback) {
  std::optional<std::string> value = ctx.Query(name);
  if (!value) {
    return fallback;
  }
  if (auto b = ParseBoolText(*value)) {
    return *b;
  }
  return BadParametersError("`" + std::string(name) + "` must be true or false, got `" + *value +
                            "`");
}

Result<std::string> StringField(const json& body, std::string_view field) {
  auto it = body.find(field);
  if (it == body.end() || it->is_null()) {
    return std::string();
  }
  if (!it->is_string()) {
    return BadParametersError("`" + std::string(field) + "` must be a string, got " + it->dump());
  }
  return it->get<std::string>();
}

Result<storage::ListQuery> ListQueryFrom(const Context& ctx,
                                         const std::vector<std::string>& not_filters,
                                         int64_t default_size) {
  storage::ListQuery q;
  q.size = default_size;
  for (const auto& [key, value] : ctx.request.query) {
    if (std::find(not_filters.begin(), not_filters.end(), key) != not_filters.end()) {
      continue;
    }
    if (key == "_size") {
      CLOUDIFY_ASSIGN_OR_RETURN(q.size, ParseCount(value, "_size"));
    } else if (key == "_offset") {
      CLOUDIFY_ASSIGN_OR_RETURN(q.offset, ParseCount(value, "_offset"));
    } else if (key == "_sort") {
      q.sort.push_back(value);
    } else if (key == "_search") {
      q.search = value;
    } else if (key == "_get_all_results") {
      CLOUDIFY_ASSIGN_OR_RETURN(q.get_all_results, QueryBool(ctx, key, false));
    } else if (key == "_all_tenants") {
      CLOUDIFY_ASSIGN_OR_RETURN(bool all, QueryBool(ctx, key, false));
      (void)all;  // applied to the caller by the router
    } else if (key == "_range") {
      // "<field>,<from>,<to>", either bound may be empty.
      size_t a = value.find(',');
      size_t b = a == std::string::npos ? std::string::npos : value.find(',', a + 1);
      if (b == std::string::npos) {
        return BadParametersError("_range must be <field>,<from>,<to>, got `" + value + "`");
      }
      storage::RangeFilter range{.field = value.substr(0, a)};
      std::string from = value.substr(a + 1, b - a - 1);
      std::string to = value.substr(b + 1);
      if (!from.empty()) {
        range.from = from;
      }
      if (!to.empty()) {
        range.to = to;
      }
      q.ranges.push_back(std::move(range));
    } else if (!key.empty() && key[0] == '_') {
      continue;  // _include (projected by the caller), _get_data and other switches
    } else {
      q.filters[key].push_back(value);
    }
  }
  // A zero page size would make pagers loop for ever (REST.md §2): 0 means the default.
  if (q.size == 0) {
    q.size = default_size;
  }
  return q;
}

void ReadOnlyIncludedFields(const Context& ctx, storage::ListQuery& q,
                            const std::vector<std::string>& needed) {
  q.include = IncludeFields(ctx);
  if (!q.include.empty()) {
    q.include.insert(q.include.end(), needed.begin(), needed.end());
  }
  q.include_unknown_reads_all = true;
}

Result<model::Visibility> VisibilityFromText(const Context& ctx, const std::string& text) {
  std::optional<model::Visibility> v = model::ParseVisibility(text);
  if (!v) {
    return BadParametersError("Invalid visibility `" + text +
                              "`: must be one of private, tenant, global");
  }
  if (*v == model::Visibility::kGlobal && !ctx.is_sys_admin) {
    return Status(ErrorCode::kForbidden,
                  "User `" + ctx.user.username + "` is not permitted to set a resource global");
  }
  return *v;
}

Result<model::Visibility> VisibilityChange(const Context& ctx, model::Visibility current) {
  CLOUDIFY_ASSIGN_OR_RETURN(nlohmann::json body, JsonBody(ctx));
  CLOUDIFY_ASSIGN_OR_RETURN(std::string text, StringField(body, "visibility"));
  CLOUDIFY_ASSIGN_OR_RETURN(model::Visibility v, VisibilityFromText(ctx, text));
  CLOUDIFY_RETURN_IF_ERROR(model::CheckVisibilityChange(current, v));
  return v;
}

}  // namespace cloudify::rest::internal
