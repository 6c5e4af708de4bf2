// The heal workflow's scope: the failed instance's host and everything contained in it (the
// original's auto_heal_reinstall_node_subgraph, reinstall path).
#include <unordered_map>
#include <unordered_set>

#include "workflow/scale_heal.h"

namespace cloudify::workflow {
namespace {

using nlohmann::json;

// The contained_in target of an instance, or "".
std::string ContainerOf(const model::NodeInstance& instance,
                        const std::unordered_map<std::string, const model::Node*>& nodes) {
  auto node = nodes.find(instance.node_id);
  if (node == nodes.end()) {
    return "";
  }
  const model::RelationshipSpec* contained = node->second->spec.ContainedIn();
  if (contained == nullptr) {
    return "";
  }
  for (const auto& rel : instance.relationships) {
    if (rel.target_name == contained->target_id) {
      return rel.target_id;
    }
  }
  return "";
}

}  // namespace

Result<std::vector<std::string>> HealScope(const json& params,
                                           const std::vector<model::NodeInstance>& instances,
                                           const std::vector<model::Node>& nodes) {
  std::unordered_map<std::string, const model::Node*> node_by_id;
  for (const auto& n : nodes) {
    node_by_id.emplace(n.id(), &n);
  }
  std::unordered_map<std::string, const model::NodeInstance*> by_id;
  std::unordered_map<std::string, std::vector<std::string>> contained;  // container -> members
  for (const auto& i : instances) {
    by_id.emplace(i.id, &i);
  }
  for (const auto& i : instances) {
    std::string container = ContainerOf(i, node_by_id);
    if (!container.empty()) {
      contained[container].push_back(i.id);
    }
  }
  // The top of an instance's containment chain (its host, or itself).
  auto root_of = [&](const model::NodeInstance& i) {
    const model::NodeInstance* cur = &i;
    for (size_t guard = 0; guard <= instances.size(); ++guard) {
      auto up = by_id.find(ContainerOf(*cur, node_by_id));
      if (up == by_id.end()) {
        break;
      }
      cur = up->second;
    }
    return cur->id;
  };
  std::vector<std::string> roots;
  const json id = params.value("node_instance_id", json());
  if (id.is_string() && !id.get<std::string>().empty()) {
    auto it = by_id.find(id.get<std::string>());
    if (it == by_id.end()) {
      return Status(ErrorCode::kIllegalExecutionParameters,
                    "heal: node instance '" + id.get<std::string>() +
                        "' is not an instance of this deployment");
    }
    roots.push_back(root_of(*it->second));
  } else {
    std::unordered_set<std::string> seen;
    for (const auto& i : instances) {
      if (i.state != model::NodeInstanceState::kStarted) {
        std::string root = root_of(i);
        if (seen.insert(root).second) {
          roots.push_back(root);
        }
      }
    }
  }
  std::vector<std::string> out;
  std::unordered_set<std::string> added;
  std::vector<std::string> stack(roots.rbegin(), roots.rend());
  while (!stack.empty()) {
    std::string cur = std::move(stack.back());
    stack.pop_back();
    if (!added.insert(cur).second) {
      continue;
    }
    out.push_back(cur);
    for (const auto& member : contained[cur]) {
      stack.push_back(member);
    }
  }
  return out;
}

}  // namespace cloudify::workflow
