#include "cloudify/model/json.h"

#include <optional>
#include <utility>

namespace cloudify::model {
namespace {

using nlohmann::json;

std::string Join(std::string_view path, std::string_view key) {
  if (path.empty()) {
    return std::string(key);
  }
  return std::string(path) + "." + std::string(key);
}

// Reads the keys of one JSON object with type checks; the first error sticks and later reads
// are no-ops, so a FromJson body reads straight through and checks status() once.
class Reader {
 public:
  Reader(const json& j, std::string_view path) : j_(j), path_(path) {
    if (!j.is_object()) {
      status_ = BadParametersError((path_.empty() ? std::string("value") : path_) +
                                   ": expected an object, got " + j.type_name());
    }
  }

  const Status& status() const { return status_; }
  std::string PathOf(std::string_view key) const { return Join(path_, key); }

  // The value at `key`, or null when absent (or after an error).
  const json* Find(std::string_view key) const {
    if (!status_.ok()) {
      return nullptr;
    }
    auto it = j_.find(key);
    if (it == j_.end() || it->is_null()) {
      return nullptr;
    }
    return &*it;
  }

  void String(std::string_view key, std::string& out) {
    if (const json* v = Find(key)) {
      if (!v->is_string()) {
        return Fail(key, "a string", *v);
      }
      out = v->get<std::string>();
    }
  }
  void OptString(std::string_view key, std::optional<std::string>& out) {
    if (const json* v = Find(key)) {
      if (!v->is_string()) {
        return Fail(key, "a string", *v);
      }
      out = v->get<std::string>();
    }
  }
  void Bool(std::string_view key, bool& out) {
    if (const json* v = Find(key)) {
      if (!v->is_boolean()) {
        return Fail(key, "a boolean", *v);
      }
      out = v->get<bool>();
    }
  }
  void Int(std::string_view key, int& out) {
    if (const json* v = Find(key)) {
      if (!v->is_number_integer()) {
        return Fail(key, "an integer", *v);
      }
      out = v->get<int>();
    }
  }
  void OptInt(std::string_view key, std::optional<int>& out) {
    if (const json* v = Find(key)) {
      if (!v->is_number_integer()) {
        return Fail(key, "an integer", *v);
      }
      out = v->get<int>();
    }
  }
  void OptDouble(std::string_view key, std::optional<double>& out) {
    if (const json* v = Find(key)) {
      if (!v->is_number()) {
        return Fail(key, "a number", *v);
      }
      out = v->get<double>();
    }
  }
  // Any JSON value; absent keeps `out` as it is.
  void Any(std::string_view key, json& out) {
    if (const json* v = Find(key)) {
      out = *v;
    }
  }
  void Object(std::string_view key, json& out) {
    if (const json* v = Find(key)) {
      if (!v->is_object()) {
        return Fail(key, "an object", *v);
      }
      out = *v;
    }
  }
  void Strings(std::string_view key, std::vector<std::string>& out) {
    if (const json* v = Find(key)) {
      if (!v->is_array()) {
        return Fail(key, "a list", *v);
      }
      out.clear();
      for (const auto& item : *v) {
        if (!item.is_string()) {
          return Fail(key, "a list of strings", *v);
        }
        out.push_back(item.get<std::string>());
      }
    }
  }
  void Executor(std::string_view key, std::optional<model::Executor>& out) {
    std::optional<std::string> name;
    OptString(key, name);
    if (name) {
      out = ParseExecutor(*name);
      if (!out) {
        status_ = BadParametersError(PathOf(key) + ": unknown executor `" + *name + "`");
      }
    }
  }
  template <typename T>
  void Item(std::string_view key, T& out) {
    if (const json* v = Find(key)) {
      Take(FromJson<T>(*v, PathOf(key)), out);
    }
  }
  template <typename T>
  void List(std::string_view key, std::vector<T>& out) {
    if (const json* v = Find(key)) {
      if (!v->is_array()) {
        return Fail(key, "a list", *v);
      }
      out.clear();
      for (size_t i = 0; i < v->size() && status_.ok(); ++i) {
        T item;
        Take(FromJson<T>((*v)[i], PathOf(key) + "[" + std::to_string(i) + "]"), item);
        out.push_back(std::move(item));
      }
    }
  }
  template <typename T>
  void Map(std::string_view key, std::map<std::string, T>& out) {
    if (const json* v = Find(key)) {
      Take(MapFromJson<T>(*v, PathOf(key)), out);
    }
  }
  void Fail(std::string_view key, std::string_view expected, const json& got) {
    status_ = BadParametersError(PathOf(key) + ": expected " + std::string(expected) + ", got " +
                                 got.type_name());
  }

 private:
  template <typename T>
  void Take(Result<T> result, T& out) {
    if (!result.ok()) {
      status_ = result.status();
      return;
    }
    out = std::move(result).value();
  }

  const json& j_;
  std::string path_;
  Status status_;
};

template <typename T>
json ListToJson(const std::vector<T>& items) {
  json out = json::array();
  for (const auto& item : items) {
    out.push_back(ToJson(item));
  }
  return out;
}

template <typename T>
Result<T> Done(Reader& r, T value) {
  if (!r.status().ok()) {
    return r.status();
  }
  return value;
}

}  // namespace

json ToJson(const ParameterSchema& p) {
  json out = json::object();
  if (p.type) {
    out["type"] = *p.type;
  }
  if (p.default_value) {
    out["default"] = *p.default_value;
  }
  out["required"] = p.required;
  if (!p.description.empty()) {
    out["description"] = p.description;
  }
  if (!p.constraints.empty()) {
    out["constraints"] = p.constraints;
  }
  if (p.display_label) {
    out["display_label"] = *p.display_label;
  }
  if (p.hidden) {
    out["hidden"] = true;
  }
  if (p.item_type) {
    out["item_type"] = *p.item_type;
  }
  return out;
}

template <>
Result<ParameterSchema> FromJson<ParameterSchema>(const json& j, std::string_view path) {
  ParameterSchema p;
  Reader r(j, path);
  r.OptString("type", p.type);
  // `default: null` is a declared default (the parameter is optional), unlike no default.
  if (j.is_object() && j.contains("default")) {
    p.default_value = j.at("default");
  }
  r.Bool("required", p.required);
  r.String("description", p.description);
  if (const json* v = r.Find("constraints")) {
    if (!v->is_array()) {
      r.Fail("constraints", "a list", *v);
    } else {
      p.constraints = *v;
    }
  }
  r.OptString("display_label", p.display_label);
  r.Bool("hidden", p.hidden);
  r.OptString("item_type", p.item_type);
  return Done(r, std::move(p));
}

json ToJson(const OperationSpec& op) {
  json out = {{"implementation", op.implementation},
              {"plugin", op.plugin.empty() ? json() : json(op.plugin)},
              {"operation", op.operation.empty() ? json() : json(op.operation)},
              {"executor", op.executor ? json(ExecutorName(*op.executor)) : json()},
              {"inputs", op.inputs},
              {"has_intrinsic_functions", op.has_intrinsic_functions},
              {"max_retries", op.max_retries ? json(*op.max_retries) : json()},
              {"retry_interval", op.retry_interval ? json(*op.retry_interval) : json()},
              {"timeout", op.timeout ? json(*op.timeout) : json()},
              {"timeout_recoverable", op.timeout_recoverable}};
  if (!op.inputs_types.empty()) {
    out["inputs_types"] = op.inputs_types;
  }
  return out;
}

template <>
Result<OperationSpec> FromJson<OperationSpec>(const json& j, std::string_view path) {
  OperationSpec op;
  Reader r(j, path);
  r.String("implementation", op.implementation);
  r.String("plugin", op.plugin);
  r.String("operation", op.operation);
  r.Executor("executor", op.executor);
  r.Object("inputs", op.inputs);
  r.Object("inputs_types", op.inputs_types);
  r.Bool("has_intrinsic_functions", op.has_intrinsic_functions);
  r.OptInt("max_retries", op.max_retries);
  r.OptDouble("retry_interval", op.retry_interval);
  r.OptDouble("timeout", op.timeout);
  r.Bool("timeout_recoverable", op.timeout_recoverable);
  return Done(r, std::move(op));
}

json ToJson(const PluginSpec& p) {
  return {{"name", p.name},
          {"executor", ExecutorName(p.executor)},
          {"source", p.source.empty() ? json() : json(p.source)},
          {"package_name", p.package_name.empty() ? json() : json(p.package_name)},
          {"package_version", p.package_version.empty() ? json() : json(p.package_version)},
          {"install", p.install},
          {"install_arguments", p.install_arguments},
          {"properties", p.properties}};
}

template <>
Result<PluginSpec> FromJson<PluginSpec>(const json& j, std::string_view path) {
  PluginSpec p;
  Reader r(j, path);
  r.String("name", p.name);
  std::optional<Executor> executor;
  r.Executor("executor", executor);
  if (executor) {
    p.executor = *executor;
  }
  r.String("source", p.source);
  r.String("package_name", p.package_name);
  r.String("package_version", p.package_version);
  r.Bool("install", p.install);
  r.Any("install_arguments", p.install_arguments);
  r.Object("properties", p.properties);
  return Done(r, std::move(p));
}

json ToJson(const RelationshipSpec& rel) {
  return {{"type", rel.type},
          {"target_id", rel.target_id},
          {"type_hierarchy", rel.type_hierarchy},
          {"properties", rel.properties},
          {"source_operations", ToJson(rel.source_operations)},
          {"target_operations", ToJson(rel.target_operations)}};
}

template <>
Result<RelationshipSpec> FromJson<RelationshipSpec>(const json& j, std::string_view path) {
  RelationshipSpec rel;
  Reader r(j, path);
  r.String("type", rel.type);
  r.String("target_id", rel.target_id);
  r.Strings("type_hierarchy", rel.type_hierarchy);
  r.Object("properties", rel.properties);
  r.Map("source_operations", rel.source_operations);
  r.Map("target_operations", rel.target_operations);
  return Done(r, std::move(rel));
}

json ToJson(const ScalableProperties& s) {
  return {{"default_instances", s.default_instances},
          {"min_instances", s.min_instances},
          {"max_instances", s.max_instances},
          {"current_instances", s.current_instances},
          {"planned_instances", s.planned_instances}};
}

template <>
Result<ScalableProperties> FromJson<ScalableProperties>(const json& j, std::string_view path) {
  ScalableProperties s;
  Reader r(j, path);
  r.Int("default_instances", s.default_instances);
  r.Int("min_instances", s.min_instances);
  // The original writes UNBOUNDED as -1, or the string "UNBOUNDED" in blueprints.
  if (const json* v = r.Find("max_instances"); v != nullptr && v->is_string()) {
    if (v->get<std::string>() != "UNBOUNDED") {
      r.Fail("max_instances", "an integer or \"UNBOUNDED\"", *v);
    }
    s.max_instances = ScalableProperties::kUnbounded;
  } else {
    r.Int("max_instances", s.max_instances);
  }
  r.Int("current_instances", s.current_instances);
  r.Int("planned_instances", s.planned_instances);
  return Done(r, s);
}

json ToJson(const NodeTemplate& n) {
  return {{"id", n.id},
          {"name", n.id},
          {"type", n.type},
          {"type_hierarchy", n.type_hierarchy},
          {"properties", n.properties},
          {"operations", ToJson(n.operations)},
          {"relationships", ListToJson(n.relationships)},
          {"host_id", n.host_id ? json(*n.host_id) : json()},
          {"plugins", ListToJson(n.plugins)},
          {"plugins_to_install", ListToJson(n.plugins_to_install)},
          {"deployment_plugins_to_install", ListToJson(n.deployment_plugins_to_install)},
          {"capabilities", {{"scalable", {{"properties", ToJson(n.capabilities)}}}}},
          {"instances", {{"deploy", n.capabilities.default_instances}}},
          {"capabilities_functions", n.capabilities_functions}};
}

template <>
Result<NodeTemplate> FromJson<NodeTemplate>(const json& j, std::string_view path) {
  NodeTemplate n;
  Reader r(j, path);
  r.String("id", n.id);
  if (n.id.empty()) {
    r.String("name", n.id);
  }
  r.String("type", n.type);
  r.Strings("type_hierarchy", n.type_hierarchy);
  r.Object("properties", n.properties);
  r.Map("operations", n.operations);
  r.List("relationships", n.relationships);
  r.OptString("host_id", n.host_id);
  r.List("plugins", n.plugins);
  r.List("plugins_to_install", n.plugins_to_install);
  r.List("deployment_plugins_to_install", n.deployment_plugins_to_install);
  r.Object("capabilities_functions", n.capabilities_functions);
  if (const json* caps = r.Find("capabilities")) {
    const json* props = nullptr;
    if (caps->is_object() && caps->contains("scalable") && caps->at("scalable").is_object() &&
        caps->at("scalable").contains("properties")) {
      props = &caps->at("scalable").at("properties");
    }
    if (props != nullptr) {
      Result<ScalableProperties> s =
          FromJson<ScalableProperties>(*props, r.PathOf("capabilities.scalable.properties"));
      if (!s.ok()) {
        return s.status();
      }
      n.capabilities = *s;
    }
  } else if (const json* instances = r.Find("instances");
             instances != nullptr && instances->is_object() && instances->contains("deploy") &&
             instances->at("deploy").is_number_integer()) {
    // The deprecated instances.deploy form.
    int deploy = instances->at("deploy").get<int>();
    n.capabilities.default_instances = n.capabilities.current_instances =
        n.capabilities.planned_instances = deploy;
  }
  return Done(r, std::move(n));
}

json ToJson(const WorkflowSpec& w) {
  return {{"plugin", w.plugin},
          {"operation", w.operation},
          {"parameters", ToJson(w.parameters)},
          {"is_cascading", w.is_cascading},
          {"availability_rules", w.availability_rules}};
}

template <>
Result<WorkflowSpec> FromJson<WorkflowSpec>(const json& j, std::string_view path) {
  WorkflowSpec w;
  Reader r(j, path);
  r.String("plugin", w.plugin);
  r.String("operation", w.operation);
  r.Map("parameters", w.parameters);
  r.Bool("is_cascading", w.is_cascading);
  r.Any("availability_rules", w.availability_rules);
  return Done(r, std::move(w));
}

json ToJson(const OutputSpec& o) { return {{"value", o.value}, {"description", o.description}}; }

template <>
Result<OutputSpec> FromJson<OutputSpec>(const json& j, std::string_view path) {
  OutputSpec o;
  Reader r(j, path);
  r.Any("value", o.value);
  r.String("description", o.description);
  return Done(r, std::move(o));
}

json ToJson(const GroupSpec& g) { return {{"members", g.members}, {"policies", g.policies}}; }

template <>
Result<GroupSpec> FromJson<GroupSpec>(const json& j, std::string_view path) {
  GroupSpec g;
  Reader r(j, path);
  r.Strings("members", g.members);
  r.Object("policies", g.policies);
  return Done(r, std::move(g));
}

json ToJson(const ScalingGroupSpec& g) {
  return {{"members", g.members}, {"properties", ToJson(g.properties)}};
}

template <>
Result<ScalingGroupSpec> FromJson<ScalingGroupSpec>(const json& j, std::string_view path) {
  ScalingGroupSpec g;
  Reader r(j, path);
  r.Strings("members", g.members);
  r.Item("properties", g.properties);
  return Done(r, std::move(g));
}

json ToJson(const PolicySpec& p) {
  return {{"type", p.type}, {"targets", p.targets}, {"properties", p.properties}};
}

template <>
Result<PolicySpec> FromJson<PolicySpec>(const json& j, std::string_view path) {
  PolicySpec p;
  Reader r(j, path);
  r.String("type", p.type);
  r.Strings("targets", p.targets);
  r.Object("properties", p.properties);
  return Done(r, std::move(p));
}

json ToJson(const Plan& plan) {
  return {{"version", {{"raw", plan.tosca_definitions_version}}},
          {"description", plan.description},
          {"inputs", ToJson(plan.inputs)},
          {"outputs", ToJson(plan.outputs)},
          {"capabilities", ToJson(plan.capabilities)},
          {"nodes", ListToJson(plan.nodes)},
          {"relationships", plan.relationships},
          {"data_types", plan.data_types},
          {"workflows", ToJson(plan.workflows)},
          {"groups", ToJson(plan.groups)},
          {"scaling_groups", ToJson(plan.scaling_groups)},
          {"policies", ToJson(plan.policies)},
          {"policy_types", plan.policy_types},
          {"policy_triggers", plan.policy_triggers},
          {"deployment_plugins_to_install", ListToJson(plan.deployment_plugins_to_install)},
          {"workflow_plugins_to_install", ListToJson(plan.workflow_plugins_to_install)},
          {"host_agent_plugins_to_install", ListToJson(plan.host_agent_plugins_to_install)},
          {"labels", plan.labels},
          {"blueprint_labels", plan.blueprint_labels},
          {"imported_blueprints", plan.imported_blueprints},
          {"requirements", plan.requirements},
          {"resource_tags", plan.resource_tags},
          {"deployment_settings", plan.deployment_settings}};
}

template <>
Result<Plan> FromJson<Plan>(const json& j, std::string_view path) {
  Plan plan;
  Reader r(j, path);
  if (const json* version = r.Find("version")) {
    if (version->is_object() && version->contains("raw") && version->at("raw").is_string()) {
      plan.tosca_definitions_version = version->at("raw").get<std::string>();
    } else if (version->is_string()) {
      plan.tosca_definitions_version = version->get<std::string>();
    } else {
      r.Fail("version", "an object with `raw`", *version);
    }
  }
  r.String("description", plan.description);
  r.Map("inputs", plan.inputs);
  r.Map("outputs", plan.outputs);
  r.Map("capabilities", plan.capabilities);
  r.List("nodes", plan.nodes);
  r.Object("relationships", plan.relationships);
  r.Object("data_types", plan.data_types);
  r.Map("workflows", plan.workflows);
  r.Map("groups", plan.groups);
  r.Map("scaling_groups", plan.scaling_groups);
  r.Map("policies", plan.policies);
  r.Object("policy_types", plan.policy_types);
  r.Object("policy_triggers", plan.policy_triggers);
  r.List("deployment_plugins_to_install", plan.deployment_plugins_to_install);
  r.List("workflow_plugins_to_install", plan.workflow_plugins_to_install);
  r.List("host_agent_plugins_to_install", plan.host_agent_plugins_to_install);
  r.Object("labels", plan.labels);
  r.Object("blueprint_labels", plan.blueprint_labels);
  r.Strings("imported_blueprints", plan.imported_blueprints);
  r.Object("requirements", plan.requirements);
  r.Object("resource_tags", plan.resource_tags);
  r.Object("deployment_settings", plan.deployment_settings);
  return Done(r, std::move(plan));
}

}  // namespace cloudify::model
