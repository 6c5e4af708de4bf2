// JSON codec for the model's plan structs: ToJson(x) writes the original plan dict's shape
// (dsl_parser's key names: a node has id, name, type, type_hierarchy, properties, operations,
// relationships, plugins, plugins_to_install, deployment_plugins_to_install, host_id,
// capabilities.scalable.properties, ...), FromJson<X>(json) reads it back. The storage layer
// keeps plans and deployment pieces in this form; the REST layer serves it.
//
// FromJson is lenient about missing keys (they keep the struct's defaults, as the original
// treats absent keys) and strict about wrong types: kBadParameters naming the key's path,
// e.g. "nodes[2].operations.create.max_retries: expected an integer".
//
// Thread-safety: free functions on values; safe from any thread. No exception escapes.
#pragma once

#include <map>
#include <string>
#include <string_view>
#include <vector>

#include <nlohmann/json.hpp>

#include "cloudify/model/plan.h"
#include "cloudify/status.h"

namespace cloudify::model {

// The wire's convention for optional text: an empty string is sent as null.
inline nlohmann::json StringOrNull(const std::string& s) {
  return s.empty() ? nlohmann::json(nullptr) : nlohmann::json(s);
}

// The string at `key` of `object`; empty when `object` is no object, or the key is absent or
// holds something else (what optional text in the wire's JSON reads as).
inline std::string StringAt(const nlohmann::json& object, const char* key) {
  if (!object.is_object()) {
    return "";
  }
  auto it = object.find(key);
  return it != object.end() && it->is_string() ? it->get<std::string>() : std::string();
}

nlohmann::json ToJson(const ParameterSchema& p);
nlohmann::json ToJson(const OperationSpec& op);
nlohmann::json ToJson(const PluginSpec& p);
nlohmann::json ToJson(const RelationshipSpec& r);
nlohmann::json ToJson(const ScalableProperties& s);
nlohmann::json ToJson(const NodeTemplate& n);
nlohmann::json ToJson(const WorkflowSpec& w);
nlohmann::json ToJson(const OutputSpec& o);
nlohmann::json ToJson(const GroupSpec& g);
nlohmann::json ToJson(const ScalingGroupSpec& g);
nlohmann::json ToJson(const PolicySpec& p);
nlohmann::json ToJson(const Plan& plan);

// A map of any of the above as a JSON object keyed like the map.
template <typename T>
nlohmann::json ToJson(const std::map<std::string, T>& items) {
  nlohmann::json out = nlohmann::json::object();
  for (const auto& [key, value] : items) {
    out[key] = ToJson(value);
  }
  return out;
}

// FromJson<X>(j): X from its plan-dict form. `path` prefixes error messages (e.g. "plan").
template <typename T>
Result<T> FromJson(const nlohmann::json& j, std::string_view path = "");

template <>
Result<ParameterSchema> FromJson<ParameterSchema>(const nlohmann::json& j, std::string_view path);
template <>
Result<OperationSpec> FromJson<OperationSpec>(const nlohmann::json& j, std::string_view path);
template <>
Result<PluginSpec> FromJson<PluginSpec>(const nlohmann::json& j, std::string_view path);
template <>
Result<RelationshipSpec> FromJson<RelationshipSpec>(const nlohmann::json& j, std::string_view path);
template <>
Result<ScalableProperties> FromJson<ScalableProperties>(const nlohmann::json& j,
                                                        std::string_view path);
template <>
Result<NodeTemplate> FromJson<NodeTemplate>(const nlohmann::json& j, std::string_view path);
template <>
Result<WorkflowSpec> FromJson<WorkflowSpec>(const nlohmann::json& j, std::string_view path);
template <>
Result<OutputSpec> FromJson<OutputSpec>(const nlohmann::json& j, std::string_view path);
template <>
Result<GroupSpec> FromJson<GroupSpec>(const nlohmann::json& j, std::string_view path);
template <>
Result<ScalingGroupSpec> FromJson<ScalingGroupSpec>(const nlohmann::json& j, std::string_view path);
template <>
Result<PolicySpec> FromJson<PolicySpec>(const nlohmann::json& j, std::string_view path);
template <>
Result<Plan> FromJson<Plan>(const nlohmann::json& j, std::string_view path);

// A JSON object of X's (or null, read as empty) into a map keyed like the object.
template <typename T>
Result<std::map<std::string, T>> MapFromJson(const nlohmann::json& j, std::string_view path = "") {
  std::map<std::string, T> out;
  if (j.is_null()) {
    return out;
  }
  if (!j.is_object()) {
    return BadParametersError(std::string(path) + ": expected an object");
  }
  for (const auto& [key, value] : j.items()) {
    Result<T> item = FromJson<T>(value, std::string(path) + "." + key);
    if (!item.ok()) {
      return item.status();
    }
    out.emplace(key, std::move(item).value());
  }
  return out;
}

}  // namespace cloudify::model
