#include "cloudify/workflow/ctx_resolver.h"

#include <algorithm>
#include <cctype>
#include <cmath>
#include <fstream>
#include <iterator>
#include <optional>
#include <variant>
#include <vector>

#include "cloudify/files.h"
#include "cloudify/ids.h"
#include "cloudify/process.h"

namespace cloudify::workflow {
namespace {

namespace fs = std::filesystem;
using nlohmann::json;

// A get-resource answer or a rendered template larger than this is refused.
constexpr uintmax_t kMaxResourceBytes = 64 * 1024 * 1024;

// An error answer is a Status whose message the script sees; the type is the original's
// exception class name where one fits.
struct CtxError {
  std::string type;
  std::string message;
};
using Answer = std::variant<json, CtxError>;

CtxError Illegal(std::string message) { return {"RuntimeError", std::move(message)}; }

std::string Name(const json& arg) {
  if (!arg.is_string()) {
    return arg.dump();
  }
  std::string s = arg.get<std::string>();
  std::replace(s.begin(), s.end(), '_', '-');
  return s;
}

std::string ArgsText(const json& args) { return args.dump(); }

// One step of a property path: a key, then any number of [index].
struct PathStep {
  std::string key;
  std::vector<size_t> indexes;
};

std::optional<std::vector<PathStep>> ParsePath(const std::string& path) {
  std::vector<PathStep> steps;
  std::string segment;
  size_t start = 0;
  while (start <= path.size()) {
    size_t dot = path.find('.', start);
    segment = path.substr(start, dot == std::string::npos ? std::string::npos : dot - start);
    start = dot == std::string::npos ? path.size() + 1 : dot + 1;
    PathStep step;
    size_t bracket = segment.find('[');
    // "name[2]" (and "name[2][0]"); a key without a well-formed index is taken literally.
    if (bracket != std::string::npos && bracket > 0 && segment.back() == ']') {
      std::vector<size_t> indexes;
      size_t pos = bracket;
      bool ok = true;
      while (pos < segment.size() && ok) {
        size_t close = segment.find(']', pos);
        if (segment[pos] != '[' || close == std::string::npos || close == pos + 1) {
          ok = false;
          break;
        }
        std::string digits = segment.substr(pos + 1, close - pos - 1);
        ok = std::all_of(digits.begin(), digits.end(),
                         [](unsigned char c) { return std::isdigit(c) != 0; }) &&
             digits.size() < 10;
        if (ok) {
          indexes.push_back(std::stoul(digits));
        }
        pos = close + 1;
      }
      if (ok) {
        step.key = segment.substr(0, bracket);
        step.indexes = std::move(indexes);
      } else {
        step.key = segment;
      }
    } else {
      step.key = segment;
    }
    if (step.key.empty()) {
      return std::nullopt;
    }
    steps.push_back(std::move(step));
  }
  return steps;
}

// Follows `step` from `current`; creates a missing dict when `create` (and there is no index).
json* Follow(json* current, const PathStep& step, bool create) {
  if (!current->is_object()) {
    return nullptr;
  }
  auto it = current->find(step.key);
  if (it == current->end()) {
    if (!create || !step.indexes.empty()) {
      return nullptr;
    }
    it = current->emplace(step.key, json::object()).first;
  }
  json* value = &*it;
  for (size_t index : step.indexes) {
    if (!value->is_array() || index >= value->size()) {
      return nullptr;
    }
    value = &(*value)[index];
  }
  return value;
}

// The original's dict access: no argument -> the dict, PATH -> read, PATH VALUE -> write.
Answer DictAccess(json& dict, const json& args, size_t from, bool writable,
                  const std::string& what) {
  const size_t left = args.size() - from;
  if (left == 0) {
    return dict;
  }
  if (!args[from].is_string()) {
    return Illegal("a " + what + " path must be a string, got " + args[from].dump());
  }
  const std::string path = args[from].get<std::string>();
  auto steps = ParsePath(path);
  if (!steps) {
    return Illegal("illegal path: " + path);
  }
  if (left == 1) {
    json* current = &dict;
    for (const auto& step : *steps) {
      current = Follow(current, step, false);
      if (current == nullptr) {
        return Illegal("illegal path: " + path);
      }
    }
    return *current;
  }
  if (left > 2) {
    return Illegal("Illegal argument while accessing dict: " + ArgsText(args));
  }
  if (!writable) {
    return CtxError{"NonRecoverableError", "Cannot modify " + what + " (read-only): " + path};
  }
  json* current = &dict;
  for (size_t i = 0; i + 1 < steps->size(); ++i) {
    current = Follow(current, (*steps)[i], true);
    if (current == nullptr) {
      return Illegal("illegal path: " + path);
    }
  }
  const PathStep& last = steps->back();
  if (!current->is_object()) {
    return Illegal("illegal path: " + path);
  }
  if (last.indexes.empty()) {
    (*current)[last.key] = args[from + 1];
    return json(nullptr);
  }
  json* target = Follow(current, PathStep{last.key, {}}, false);
  for (size_t i = 0; target != nullptr && i < last.indexes.size(); ++i) {
    if (!target->is_array() || last.indexes[i] >= target->size()) {
      target = nullptr;
    } else {
      target = &(*target)[last.indexes[i]];
    }
  }
  if (target == nullptr) {
    return Illegal("illegal path: " + path);
  }
  *target = args[from + 1];
  return json(nullptr);
}

std::string Str(const json& v) { return v.is_string() ? v.get<std::string>() : v.dump(); }

Result<std::string> ReadFile(const fs::path& path) {
  std::error_code ec;
  auto size = fs::file_size(path, ec);
  if (ec) {
    return NotFoundError("cannot read " + path.string() + ": " + ec.message());
  }
  if (size > kMaxResourceBytes) {
    return BadParametersError(path.string() + " is larger than 64 MiB");
  }
  return ReadFileBytes(path);
}

}  // namespace

Result<fs::path> ResolveBlueprintResource(const fs::path& root, const std::string& relative) {
  if (relative.empty()) {
    return BadParametersError("empty resource path");
  }
  const fs::path rel(relative);
  if (rel.is_absolute()) {
    return BadParametersError("resource path '" + relative +
                              "' is absolute; it must be relative to the blueprint folder");
  }
  std::error_code ec;
  const fs::path base = fs::weakly_canonical(root, ec);
  if (ec) {
    return NotFoundError("blueprint folder " + root.string() + ": " + ec.message());
  }
  const fs::path full = fs::weakly_canonical(base / rel, ec);
  if (ec) {
    return NotFoundError("resource '" + relative + "': " + ec.message());
  }
  auto [b, f] = std::mismatch(base.begin(), base.end(), full.begin(), full.end());
  if (b != base.end()) {
    return BadParametersError("resource path '" + relative +
                              "' leads outside the blueprint folder");
  }
  if (!fs::exists(full, ec)) {
    return NotFoundError("resource '" + relative + "' not found in the blueprint folder");
  }
  return full;
}

CtxResolver::CtxResolver(OperationContext& ctx, CtxResolverOptions options)
    : ctx_(ctx), options_(std::move(options)) {}

namespace {

// The resolver's walk, with the context and options it needs.
class Walk {
 public:
  Walk(OperationContext& ctx, const CtxResolverOptions& options, bool& stop_requested,
       bool& outcome_set)
      : ctx_(ctx), options_(options), stop_requested_(stop_requested), outcome_set_(outcome_set) {}

  // A result, an error, or (stop=true) a stop_operation message.
  Answer Run(const json& args, bool& stop) {
    if (args.empty()) {
      return Illegal("ctx needs arguments, e.g. `ctx instance id`");
    }
    const std::string first = Name(args[0]);
    if (first == "logger") {
      return Logger(args);
    }
    if (first == "instance" || first == "node") {
      if (ctx_.is_relationship()) {
        return CtxError{"NonRecoverableError",
                        first + " is not available in a relationship operation; use `ctx source " +
                            first + "` or `ctx target " + first + "`"};
      }
      return first == "instance" ? Instance(ctx_.instance(), args, 1)
                                 : Node(ctx_.instance(), args, 1);
    }
    if (first == "source" || first == "target") {
      if (!ctx_.is_relationship()) {
        return CtxError{"NonRecoverableError",
                        first +
                            " is only available in a relationship operation; use `ctx "
                            "instance` or `ctx node`"};
      }
      InstanceContext& side = first == "source" ? ctx_.source() : ctx_.target();
      if (args.size() < 2) {
        return Illegal(first + " needs `instance` or `node`: " + ArgsText(args));
      }
      const std::string what = Name(args[1]);
      if (what == "instance") {
        return Instance(side, args, 2);
      }
      if (what == "node") {
        return Node(side, args, 2);
      }
      return Illegal(Str(args[1]) + " cannot be processed in " + ArgsText(args));
    }
    if (first == "deployment" || first == "blueprint") {
      if (args.size() == 2 && Name(args[1]) == "id") {
        return json(first == "deployment" ? ctx_.deployment_id() : ctx_.blueprint_id());
      }
      return Illegal("`ctx " + first + "` knows only `id`: " + ArgsText(args));
    }
    if (args.size() == 1) {
      if (first == "execution-id") {
        return json(ctx_.execution_id());
      }
      if (first == "workflow-id") {
        return json(ctx_.workflow_id());
      }
      if (first == "tenant-name") {
        return json(ctx_.tenant());
      }
    }
    if (first == "operation") {
      return Operation(args, stop);
    }
    if (first == "returns") {
      if (args.size() != 2) {
        return Illegal("`ctx returns` takes one value: " + ArgsText(args));
      }
      if (auto error = ClaimOutcome("returns")) {
        return *error;
      }
      ctx_.Return(args[1]);
      return json(nullptr);
    }
    if (first == "abort-operation") {
      if (auto error = ClaimOutcome("abort_operation")) {
        return *error;
      }
      std::string message = args.size() > 1 ? Str(args[1]) : "aborted";
      ctx_.Fail(message, /*recoverable=*/false);
      stop_requested_ = stop = true;
      return json(message);
    }
    if (first == "retry-operation") {
      return RetryOperation(args, 1, stop);
    }
    if (first == "download-resource" || first == "download-resource-and-render") {
      return Download(args, first == "download-resource-and-render");
    }
    if (first == "get-resource" || first == "get-resource-and-render") {
      if (args.size() < 2 || !args[1].is_string()) {
        return Illegal("`ctx " + first + "` needs a resource path");
      }
      auto data = Resource(args[1].get<std::string>());
      if (!data.ok()) {
        return CtxError{"HttpException", data.status().message()};
      }
      if (first == "get-resource-and-render") {
        auto rendered = Render(*data, args.size() > 2 ? args[2] : json::object());
        if (!rendered.ok()) {
          return CtxError{"NonRecoverableError", rendered.status().message()};
        }
        return json(*rendered);
      }
      return json(*data);
    }
    return Illegal(Str(args[0]) + " cannot be processed in " + ArgsText(args));
  }

 private:
  std::optional<CtxError> ClaimOutcome(const std::string& what) {
    if (outcome_set_) {
      // The original's rule: one of returns / abort / retry per run; a second is fatal.
      std::string message =
          "only one of returns, abort_operation and retry_operation may be "
          "called in an operation (then " +
          what + ")";
      ctx_.Fail(message, /*recoverable=*/false);
      stop_requested_ = true;
      return CtxError{"NonRecoverableError", message};
    }
    outcome_set_ = true;
    return std::nullopt;
  }

  Answer Logger(const json& args) {
    if (args.size() < 3) {
      return Illegal("usage: ctx logger debug|info|warning|error MESSAGE");
    }
    const std::string level_name = Name(args[1]);
    auto level = ParseLogLevel(level_name == "critical" ? "error" : level_name);
    if (!level) {
      return Illegal("unknown log level '" + Str(args[1]) + "'");
    }
    std::string message = Str(args[2]);
    for (size_t i = 3; i < args.size(); ++i) {
      message += " " + Str(args[i]);
    }
    ctx_.logger().Write(*level, message, {});
    return json(nullptr);
  }

  Answer Instance(InstanceContext& instance, const json& args, size_t at) {
    if (args.size() <= at) {
      return Illegal("`instance` needs what to read: id, runtime-properties, host-ip");
    }
    const std::string what = Name(args[at]);
    if (what == "id" && args.size() == at + 1) {
      return json(instance.id());
    }
    if (what == "runtime-properties") {
      return DictAccess(instance.runtime_properties(), args, at + 1, true, "runtime properties");
    }
    if (what == "host-ip" && args.size() == at + 1) {
      // The host instance's ip runtime property (the original's host_ip), else the instance's
      // own ip (a Compute), else its node's ip property.
      const std::optional<std::string>& host_id = instance.instance().host_id;
      if (host_id && *host_id != instance.id()) {
        Result<model::NodeInstance> host = ctx_.ReadInstance(*host_id);
        if (host.ok() && host->runtime_properties.is_object() &&
            host->runtime_properties.contains("ip")) {
          return host->runtime_properties["ip"];
        }
      }
      const json& rp = instance.runtime_properties();
      if (rp.is_object() && rp.contains("ip")) {
        return rp["ip"];
      }
      const json& props = instance.node().spec.properties;
      if (props.is_object() && props.contains("ip")) {
        return props["ip"];
      }
      return CtxError{"NonRecoverableError", "host ip of " + instance.id() +
                                                 " is unknown (no `ip` runtime property "
                                                 "or property)"};
    }
    if (what == "update" && args.size() == at + 1) {
      return json(nullptr);  // stored when the operation ends
    }
    return Illegal(Str(args[at]) + " cannot be processed in " + ArgsText(args));
  }

  Answer Node(InstanceContext& instance, const json& args, size_t at) {
    if (args.size() <= at) {
      return Illegal("`node` needs what to read: id, name, type, properties");
    }
    const model::Node& node = instance.node();
    const std::string what = Name(args[at]);
    const bool last = args.size() == at + 1;
    if ((what == "id" || what == "name") && last) {
      return json(node.id());
    }
    if (what == "type" && last) {
      return json(node.spec.type);
    }
    if (what == "type-hierarchy" && last) {
      return json(node.spec.type_hierarchy);
    }
    if (what == "properties") {
      json properties = node.spec.properties;
      return DictAccess(properties, args, at + 1, false, "node properties");
    }
    return Illegal(Str(args[at]) + " cannot be processed in " + ArgsText(args));
  }

  Answer Operation(const json& args, bool& stop) {
    if (args.size() < 2) {
      return Illegal("`operation` needs what to read: name, retry-number, max-retries");
    }
    const std::string what = Name(args[1]);
    const bool last = args.size() == 2;
    if (what == "name" && last) {
      return json(ctx_.operation_name());
    }
    if (what == "retry-number" && last) {
      return json(ctx_.retry_number());
    }
    if (what == "max-retries" && last) {
      return json(ctx_.max_retries());
    }
    if (what == "retry") {
      return RetryOperation(args, 2, stop);
    }
    return Illegal(Str(args[1]) + " cannot be processed in " + ArgsText(args));
  }

  Answer RetryOperation(const json& args, size_t at, bool& stop) {
    std::string message = args.size() > at ? Str(args[at]) : "retry requested";
    std::optional<std::chrono::milliseconds> after;
    if (args.size() > at + 1) {
      const json& v = args[at + 1];
      double seconds = -1;
      if (v.is_number()) {
        seconds = v.get<double>();
      } else if (v.is_string()) {
        try {
          seconds = std::stod(v.get<std::string>());
        } catch (const std::exception&) {
          seconds = -1;
        }
      }
      if (!(seconds >= 0) || !std::isfinite(seconds)) {
        return Illegal("retry_operation: AFTER must be a number of seconds, got " + v.dump());
      }
      after = std::chrono::milliseconds(static_cast<int64_t>(seconds * 1000));
    }
    if (auto error = ClaimOutcome("retry_operation")) {
      return *error;
    }
    ctx_.Retry(message, after);
    stop_requested_ = stop = true;
    return json(message);
  }

  Result<std::string> Resource(const std::string& path) {
    if (options_.blueprint_dir.empty()) {
      return NotFoundError("this operation has no blueprint resources");
    }
    CLOUDIFY_ASSIGN_OR_RETURN(fs::path full,
                              ResolveBlueprintResource(options_.blueprint_dir, path));
    if (!fs::is_regular_file(full)) {
      return BadParametersError("resource '" + path + "' is not a file");
    }
    return ReadFile(full);
  }

  Answer Download(const json& args, bool render) {
    const std::string verb = render ? "download-resource-and-render" : "download-resource";
    if (args.size() < 2 || !args[1].is_string()) {
      return Illegal("`ctx " + verb + "` needs a resource path");
    }
    const std::string path = args[1].get<std::string>();
    auto data = Resource(path);
    if (!data.ok()) {
      return CtxError{"HttpException", data.status().message()};
    }
    json vars = json::object();
    fs::path target;
    for (size_t i = 2; i < args.size(); ++i) {
      if (args[i].is_object() && render) {
        vars = args[i];
      } else if (args[i].is_string() && target.empty()) {
        target = args[i].get<std::string>();
      } else {
        return Illegal("unexpected argument " + args[i].dump() + " to `ctx " + verb + "`");
      }
    }
    if (render) {
      auto rendered = Render(*data, vars);
      if (!rendered.ok()) {
        return CtxError{"NonRecoverableError", rendered.status().message()};
      }
      *data = std::move(*rendered);
    }
    if (target.empty()) {
      target = options_.work_dir / "resources" / fs::path(path).lexically_normal();
    } else if (target.is_relative()) {
      target = options_.work_dir / target;
    }
    std::error_code ec;
    if (target.has_parent_path()) {
      fs::create_directories(target.parent_path(), ec);
    }
    std::ofstream out(target, std::ios::binary | std::ios::trunc);
    out.write(data->data(), static_cast<std::streamsize>(data->size()));
    out.close();
    if (!out) {
      return CtxError{"IOError", "cannot write " + target.string()};
    }
    return json(target.string());
  }

  // The value of a template expression `a.b.c`, from the vars or from ctx.
  std::optional<json> Lookup(const std::string& expr, const json& vars) {
    auto steps = ParsePath(expr);
    if (!steps || steps->empty()) {
      return std::nullopt;
    }
    json root;
    size_t from = 0;
    const std::string& head = (*steps)[0].key;
    if (vars.is_object() && vars.contains(head)) {
      root = vars;
    } else if (head == "ctx" && (*steps)[0].indexes.empty()) {
      root = CtxView();
      from = 1;
    } else {
      return std::nullopt;
    }
    json* current = &root;
    for (size_t i = from; i < steps->size(); ++i) {
      current = Follow(current, (*steps)[i], false);
      if (current == nullptr) {
        return std::nullopt;
      }
    }
    return *current;
  }

  // What templates see as `ctx`.
  json CtxView() {
    json view = {
        {"deployment", {{"id", ctx_.deployment_id()}}},
        {"blueprint", {{"id", ctx_.blueprint_id()}}},
        {"execution_id", ctx_.execution_id()},
        {"workflow_id", ctx_.workflow_id()},
        {"tenant_name", ctx_.tenant()},
        {"operation", {{"name", ctx_.operation_name()}, {"retry_number", ctx_.retry_number()}}}};
    auto side = [](InstanceContext& i) {
      return json{{"node",
                   {{"id", i.node().id()},
                    {"name", i.node().id()},
                    {"type", i.node().spec.type},
                    {"properties", i.node().spec.properties}}},
                  {"instance", {{"id", i.id()}, {"runtime_properties", i.runtime_properties()}}}};
    };
    if (ctx_.is_relationship()) {
      view["source"] = side(ctx_.source());
      view["target"] = side(ctx_.target());
    } else {
      json self = side(ctx_.instance());
      view["node"] = self["node"];
      view["instance"] = self["instance"];
    }
    return view;
  }

  // `vars` is the variables, or the original's keyword form {"template_variables": {...}}.
  Result<std::string> Render(const std::string& text, const json& given) {
    const auto keyword = given.is_object() ? given.find("template_variables") : given.end();
    const json& vars =
        given.is_object() && given.size() == 1 && keyword != given.end() && keyword->is_object()
            ? *keyword
            : given;
    auto simple = RenderSubstitutions(text, vars);
    if (!simple.ok() || *simple) {
      return simple.ok() ? Result<std::string>(std::move(**simple)) : simple.status();
    }
    return RenderWithJinja(text, vars);
  }

  // A template of plain `{{ name.path }}` substitutions of strings and numbers, rendered here;
  // nullopt for any other template (Jinja2 renders it, as the original does).
  Result<std::optional<std::string>> RenderSubstitutions(const std::string& text,
                                                         const json& vars) {
    if (text.find("{%") != std::string::npos || text.find("{#") != std::string::npos) {
      return std::optional<std::string>();
    }
    std::string out;
    size_t pos = 0;
    for (;;) {
      size_t open = text.find("{{", pos);
      if (open == std::string::npos) {
        out.append(text, pos, std::string::npos);
        break;
      }
      size_t close = text.find("}}", open + 2);
      if (close == std::string::npos) {
        return BadParametersError("unterminated {{ in template");
      }
      out.append(text, pos, open - pos);
      std::string expr = text.substr(open + 2, close - open - 2);
      expr.erase(0, expr.find_first_not_of(" \t"));
      expr.erase(expr.find_last_not_of(" \t") + 1);
      const bool plain = !expr.empty() && std::all_of(expr.begin(), expr.end(), [](char c) {
        return std::isalnum(static_cast<unsigned char>(c)) != 0 || c == '_' || c == '.' ||
               c == '[' || c == ']';
      });
      if (!plain) {
        return std::optional<std::string>();  // filters, expressions, string indexes
      }
      auto value = Lookup(expr, vars);
      if (!value) {
        return BadParametersError("template variable '" + expr + "' is undefined");
      }
      if (value->is_string()) {
        out += value->get<std::string>();
      } else if (value->is_number()) {
        out += value->dump();
      } else {
        return std::optional<std::string>();  // Python's str() of it: Jinja2's to write
      }
      if (out.size() > kMaxResourceBytes) {
        return BadParametersError("rendered template is larger than 64 MiB");
      }
      pos = close + 2;
    }
    return std::optional<std::string>(std::move(out));
  }

  // Renders through `python3 -m cloudify.render` (Jinja2), with VARS and `ctx` as variables.
  Result<std::string> RenderWithJinja(const std::string& text, const json& vars) {
    if (options_.python_dir.empty()) {
      return BadParametersError(
          "the template uses Jinja2 beyond {{ name.path }} substitutions, and no renderer is "
          "configured");
    }
    std::error_code ec;
    const fs::path dir =
        options_.work_dir.empty() ? fs::temp_directory_path(ec) : options_.work_dir;
    const std::string stem = ".render-" + NewUuid();
    const fs::path request_file = dir / (stem + ".json");
    const fs::path output_file = dir / (stem + ".out");
    json variables = vars.is_object() ? vars : json::object();
    if (!variables.contains("ctx")) {
      variables["ctx"] = CtxView();
    }
    {
      std::ofstream request(request_file, std::ios::binary);
      request << json{{"template", text}, {"variables", variables}}.dump(
          -1, ' ', false, json::error_handler_t::replace);
      if (!request) {
        return InternalError("cannot write " + request_file.string());
      }
    }
    ProcessOptions run;
    run.argv = {"python3", "-m", "cloudify.render", request_file.string(), output_file.string()};
    run.env["PYTHONPATH"] = options_.python_dir.string();
    run.cwd = dir;
    run.timeout = std::chrono::seconds(60);
    std::string errors;
    run.on_stderr_line = [&errors](std::string_view line) {
      if (errors.size() < 4096) {
        errors += (errors.empty() ? "" : "; ") + std::string(line);
      }
    };
    auto result = RunProcess(run);
    fs::remove(request_file, ec);
    std::string rendered;
    if (result.ok() && result->succeeded()) {
      std::ifstream in(output_file, std::ios::binary);
      rendered.assign(std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>());
    }
    fs::remove(output_file, ec);
    if (!result.ok()) {
      return BadParametersError("rendering the template needs python3 with Jinja2: " +
                                result.status().message());
    }
    if (!result->succeeded()) {
      return BadParametersError(
          "rendering the template failed: " +
          (errors.empty() ? "exit code " + std::to_string(result->exit_code) : errors));
    }
    if (rendered.size() > kMaxResourceBytes) {
      return BadParametersError("rendered template is larger than 64 MiB");
    }
    return rendered;
  }

  OperationContext& ctx_;
  const CtxResolverOptions& options_;
  bool& stop_requested_;
  bool& outcome_set_;
};

}  // namespace

json CtxResolver::Handle(const json& args) {
  bool stop = false;
  Walk walk(ctx_, options_, stop_requested_, outcome_set_);
  Answer answer =
      args.is_array() ? walk.Run(args, stop) : Answer(Illegal("ctx args must be a list"));
  if (auto* error = std::get_if<CtxError>(&answer)) {
    return {{"type", "error"},
            {"payload", {{"type", error->type}, {"message", error->message}, {"traceback", ""}}}};
  }
  json& payload = std::get<json>(answer);
  if (stop) {
    return {{"type", "stop_operation"}, {"payload", {{"message", payload}}}};
  }
  return {{"type", "result"}, {"payload", std::move(payload)}};
}

}  // namespace cloudify::workflow
