#include "cloudify/model/deployment_modification.h"

#include <array>

#include "common/enum_table.h"

namespace cloudify::model {
namespace {

using nlohmann::json;

constexpr std::array<EnumName<DeploymentModificationStatus>, 3> kStatusNames{{
    {DeploymentModificationStatus::kStarted, "started"},
    {DeploymentModificationStatus::kFinished, "finished"},
    {DeploymentModificationStatus::kRolledback, "rolledback"},
}};

Status Bad(const std::string& what) { return BadParametersError("node instance dict: " + what); }

}  // namespace

std::string_view DeploymentModificationStatusName(DeploymentModificationStatus s) {
  return NameOf<DeploymentModificationStatus>(kStatusNames, s);
}
std::optional<DeploymentModificationStatus> ParseDeploymentModificationStatus(
    std::string_view name) {
  return ValueOf<DeploymentModificationStatus>(kStatusNames, name);
}

json NodeInstanceToJson(const NodeInstance& instance) {
  json rels = json::array();
  for (const auto& r : instance.relationships) {
    rels.push_back({{"target_id", r.target_id}, {"target_name", r.target_name}, {"type", r.type}});
  }
  json groups = json::array();
  for (const auto& g : instance.scaling_groups) {
    groups.push_back({{"name", g.name}, {"id", g.id}});
  }
  return {{"id", instance.id},
          {"node_id", instance.node_id},
          {"deployment_id", instance.deployment_id},
          {"host_id", instance.host_id ? json(*instance.host_id) : json(nullptr)},
          {"index", instance.index},
          {"state", std::string(NodeInstanceStateName(instance.state))},
          {"version", instance.version},
          {"runtime_properties", instance.runtime_properties},
          {"system_properties", instance.system_properties},
          {"relationships", std::move(rels)},
          {"scaling_groups", std::move(groups)}};
}

Result<NodeInstance> NodeInstanceFromJson(const json& j) {
  if (!j.is_object()) {
    return Bad("not an object");
  }
  NodeInstance out;
  try {
    if (!j.contains("id") || !j["id"].is_string()) {
      return Bad("`id` must be a string");
    }
    out.id = j["id"].get<std::string>();
    out.node_id = j.value("node_id", "");
    out.deployment_id = j.value("deployment_id", "");
    if (j.contains("host_id") && j["host_id"].is_string()) {
      out.host_id = j["host_id"].get<std::string>();
    }
    out.index = j.value("index", 1);
    auto state = ParseNodeInstanceState(j.value("state", "uninitialized"));
    if (!state) {
      return Bad("instance " + out.id + ": unknown state");
    }
    out.state = *state;
    out.version = j.value("version", NodeInstance::kInitialVersion);
    out.runtime_properties = j.value("runtime_properties", json::object());
    out.system_properties = j.value("system_properties", json::object());
    for (const auto& r : j.value("relationships", json::array())) {
      out.relationships.push_back(
          {r.value("target_id", ""), r.value("target_name", ""), r.value("type", "")});
    }
    for (const auto& g : j.value("scaling_groups", json::array())) {
      out.scaling_groups.push_back({g.value("name", ""), g.value("id", "")});
    }
  } catch (const json::exception& e) {
    return Bad("instance " + out.id + ": " + e.what());
  }
  return out;
}

}  // namespace cloudify::model
