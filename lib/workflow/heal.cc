// The heal workflow's pure parts (the original's auto_heal_reinstall_node_subgraph): its scope,
// which instances are healthy, and which of the others are healed or reinstalled.
#include <unordered_map>
#include <unordered_set>

#include "workflow/scale_heal.h"

namespace cloudify::workflow {
namespace {

using nlohmann::json;

// Who contains whom, by contained_in relationships.
class Containment {
 public:
  Containment(const std::vector<model::NodeInstance>& instances,
              const std::vector<model::Node>& nodes) {
    std::unordered_map<std::string, const model::Node*> node_by_id;
    for (const auto& n : nodes) {
      node_by_id.emplace(n.id(), &n);
    }
    for (const auto& i : instances) {
      by_id_.emplace(i.id, &i);
      auto node = node_by_id.find(i.node_id);
      const model::RelationshipSpec* contained =
          node == node_by_id.end() ? nullptr : node->second->spec.ContainedIn();
      if (contained == nullptr) {
        continue;
      }
      for (const auto& rel : i.relationships) {
        if (rel.target_name == contained->target_id) {
          members_[rel.target_id].push_back(i.id);
          break;
        }
      }
    }
  }

  const model::NodeInstance* Find(const std::string& id) const {
    auto it = by_id_.find(id);
    return it == by_id_.end() ? nullptr : it->second;
  }

  // `root` and every instance contained in it, transitively; appended to `out` once each.
  void AddSubgraph(const std::string& root, std::vector<std::string>& out,
                   std::unordered_set<std::string>& added) const {
    std::vector<std::string> stack{root};
    while (!stack.empty()) {
      std::string cur = std::move(stack.back());
      stack.pop_back();
      if (!added.insert(cur).second) {
        continue;
      }
      out.push_back(cur);
      if (auto it = members_.find(cur); it != members_.end()) {
        stack.insert(stack.end(), it->second.rbegin(), it->second.rend());
      }
    }
  }

  // The subgraph of the instance's host, or of the instance itself when it has no host.
  void AddHostSubgraph(const model::NodeInstance& instance, std::vector<std::string>& out,
                       std::unordered_set<std::string>& added) const {
    const model::NodeInstance* host = instance.host_id ? Find(*instance.host_id) : nullptr;
    AddSubgraph(host != nullptr ? host->id : instance.id, out, added);
  }

 private:
  std::unordered_map<std::string, const model::NodeInstance*> by_id_;
  std::unordered_map<std::string, std::vector<std::string>> members_;  // container -> members
};

}  // namespace

Result<std::vector<std::string>> HealScope(const json& params,
                                           const std::vector<model::NodeInstance>& instances,
                                           const std::vector<model::Node>& nodes) {
  Containment containment(instances, nodes);
  std::vector<std::string> out;
  std::unordered_set<std::string> added;
  const json id = params.value("node_instance_id", json());
  if (id.is_string() && !id.get<std::string>().empty()) {
    const model::NodeInstance* failing = containment.Find(id.get<std::string>());
    if (failing == nullptr) {
      return Status(ErrorCode::kIllegalExecutionParameters,
                    "heal: node instance '" + id.get<std::string>() +
                        "' is not an instance of this deployment");
    }
    containment.AddHostSubgraph(*failing, out, added);
    return out;
  }
  for (const auto& i : instances) {
    containment.AddHostSubgraph(i, out, added);
  }
  return out;
}

std::set<std::string> HealthyInstances(const std::vector<model::NodeInstance>& instances,
                                       const std::vector<std::string>& scope, bool require_task) {
  std::unordered_set<std::string> in_scope(scope.begin(), scope.end());
  std::set<std::string> healthy;
  for (const auto& i : instances) {
    if (in_scope.count(i.id) == 0) {
      continue;
    }
    const json* status = nullptr;
    if (auto it = i.system_properties.find("status");
        it != i.system_properties.end() && it->is_object()) {
      status = &*it;
    }
    const bool ok = status != nullptr && status->value("ok", false) == true;
    const bool checked =
        status != nullptr && status->contains("task") && !(*status)["task"].is_null();
    if (ok || (!checked && !require_task)) {
      healthy.insert(i.id);
    }
  }
  return healthy;
}

HealSplit SplitHeal(const std::vector<model::NodeInstance>& instances,
                    const std::vector<model::Node>& nodes, const std::vector<std::string>& scope,
                    const std::set<std::string>& healthy) {
  Containment containment(instances, nodes);
  std::unordered_map<std::string, const model::Node*> node_by_id;
  for (const auto& n : nodes) {
    node_by_id.emplace(n.id(), &n);
  }
  auto has_heal = [&](const model::NodeInstance& i) {
    auto node = node_by_id.find(i.node_id);
    if (node == node_by_id.end()) {
      return false;
    }
    auto op = node->second->spec.operations.find("cloudify.interfaces.lifecycle.heal");
    return op != node->second->spec.operations.end() && !op->second.IsNoOp();
  };
  HealSplit split;
  std::vector<std::string> subgraph;
  std::unordered_set<std::string> reinstalled;
  for (const auto& id : scope) {
    const model::NodeInstance* i = containment.Find(id);
    if (i == nullptr || healthy.count(id) != 0 || reinstalled.count(id) != 0) {
      continue;
    }
    if (has_heal(*i)) {
      split.heal.insert(id);
      continue;
    }
    // Not healthy and no heal operation: it is reinstalled with everything it contains.
    containment.AddSubgraph(id, subgraph, reinstalled);
  }
  for (const auto& id : subgraph) {
    split.heal.erase(id);
    split.reinstall.insert(id);
  }
  return split;
}

}  // namespace cloudify::workflow
