#include "cloudify/model/plan.h"

#include <algorithm>
#include <array>

#include "common/enum_table.h"

namespace cloudify::model {
namespace {

constexpr std::array<EnumName<Executor>, 3> kExecutorNames{{
    {Executor::kCentralDeploymentAgent, "central_deployment_agent"},
    {Executor::kHostAgent, "host_agent"},
    {Executor::kAuto, "auto"},
}};

constexpr std::array<EnumName<ConnectionType>, 2> kConnectionTypeNames{{
    {ConnectionType::kAllToAll, "all_to_all"},
    {ConnectionType::kAllToOne, "all_to_one"},
}};

constexpr std::string_view kContainedIn = "cloudify.relationships.contained_in";
constexpr std::string_view kCompute = "cloudify.nodes.Compute";

bool Contains(const std::vector<std::string>& hierarchy, std::string_view type) {
  return std::find(hierarchy.begin(), hierarchy.end(), type) != hierarchy.end();
}

}  // namespace

std::string_view ExecutorName(Executor e) { return NameOf<Executor>(kExecutorNames, e); }
std::optional<Executor> ParseExecutor(std::string_view name) {
  return ValueOf<Executor>(kExecutorNames, name);
}

std::string_view ConnectionTypeName(ConnectionType c) {
  return NameOf<ConnectionType>(kConnectionTypeNames, c);
}
std::optional<ConnectionType> ParseConnectionType(std::string_view name) {
  return ValueOf<ConnectionType>(kConnectionTypeNames, name);
}

bool RelationshipSpec::IsContainedIn() const {
  return type == kContainedIn || Contains(type_hierarchy, kContainedIn);
}

ConnectionType RelationshipSpec::connection_type() const {
  auto it = properties.find("connection_type");
  if (it != properties.end() && it->is_string()) {
    return ParseConnectionType(it->get<std::string>()).value_or(ConnectionType::kAllToAll);
  }
  return ConnectionType::kAllToAll;
}

bool NodeTemplate::IsCompute() const {
  return type == kCompute || Contains(type_hierarchy, kCompute);
}

const RelationshipSpec* NodeTemplate::ContainedIn() const {
  for (const auto& rel : relationships) {
    if (rel.IsContainedIn()) {
      return &rel;
    }
  }
  return nullptr;
}

const NodeTemplate* Plan::FindNode(std::string_view id) const {
  for (const auto& node : nodes) {
    if (node.id == id) {
      return &node;
    }
  }
  return nullptr;
}

}  // namespace cloudify::model
