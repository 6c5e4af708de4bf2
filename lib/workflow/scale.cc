// The scale workflow's parameters and deployment-modification records (the original's
// scale_entity and the REST side of deployment modifications).
#include <set>
#include <unordered_map>

#include "cloudify/ids.h"

#include "workflow/scale_heal.h"

namespace cloudify::workflow {
namespace {

using nlohmann::json;

Status Illegal(const std::string& message) {
  return Status(ErrorCode::kIllegalExecutionParameters, message);
}

// include_instances / exclude_instances: a list, one id, or null.
std::vector<std::string> Ids(const json& v) {
  std::vector<std::string> out;
  if (v.is_string()) {
    out.push_back(v.get<std::string>());
  } else if (v.is_array()) {
    for (const auto& item : v) {
      if (item.is_string()) {
        out.push_back(item.get<std::string>());
      }
    }
  }
  return out;
}

json Tagged(const std::vector<model::NodeInstance>& instances, const char* modification) {
  json out = json::array();
  for (const auto& i : instances) {
    json j = model::NodeInstanceToJson(i);
    if (modification != nullptr) {
      j["modification"] = modification;
    }
    out.push_back(std::move(j));
  }
  return out;
}

const model::Node* FindNode(const std::vector<model::Node>& nodes, const std::string& id) {
  for (const auto& n : nodes) {
    if (n.id() == id) {
      return &n;
    }
  }
  return nullptr;
}

// The nodes whose counts the modification sets: the scaled node, with both counts or only the
// planned one.
Status SetNodeCounts(const ScaleRequest& request, const std::vector<model::Node>& nodes,
                     int planned, std::optional<int> current, storage::NodeInstanceChanges& out) {
  if (request.is_group) {
    return Status::Ok();
  }
  const model::Node* node = FindNode(nodes, request.entity);
  if (node == nullptr) {
    return Status(ErrorCode::kNotFound, "node '" + request.entity + "' not found");
  }
  model::Node n = *node;
  n.planned_number_of_instances = planned;
  if (current) {
    n.number_of_instances = *current;
  }
  out.nodes.push_back(std::move(n));
  return Status::Ok();
}

}  // namespace

Result<ScaleRequest> ParseScaleRequest(const json& params, const model::Deployment& deployment,
                                       const std::vector<model::Node>& nodes) {
  ScaleRequest r;
  if (!params.contains("scalable_entity_name") || !params["scalable_entity_name"].is_string()) {
    return Illegal("scale needs the `scalable_entity_name` parameter (a node or scaling group)");
  }
  const std::string name = params["scalable_entity_name"].get<std::string>();
  const json delta = params.value("delta", json(1));
  if (delta.is_number_integer()) {
    r.delta = delta.get<int>();
  } else if (delta.is_string()) {
    try {
      size_t used = 0;
      r.delta = std::stoi(delta.get<std::string>(), &used);
      if (used != delta.get<std::string>().size()) {
        return Illegal("The delta parameter must be a number. Got: " + delta.get<std::string>());
      }
    } catch (const std::exception&) {
      return Illegal("The delta parameter must be a number. Got: " + delta.get<std::string>());
    }
  } else {
    return Illegal("The delta parameter must be a number. Got: " + delta.dump());
  }
  r.include_instances = Ids(params.value("include_instances", json()));
  r.exclude_instances = Ids(params.value("exclude_instances", json()));
  r.ignore_failure = params.value("ignore_failure", false);
  r.rollback_if_failed = params.value("rollback_if_failed", true);
  r.abort_started = params.value("abort_started", false);

  if (auto group = deployment.scaling_groups.find(name); group != deployment.scaling_groups.end()) {
    r.entity = name;
    r.is_group = true;
    r.current = group->second.properties.current_instances;
  } else {
    const model::Node* node = FindNode(nodes, name);
    if (node == nullptr) {
      return Illegal("No scalable entity named " + name + " was found");
    }
    if (params.value("scale_compute", false) && node->spec.host_id &&
        *node->spec.host_id != node->id()) {
      node = FindNode(nodes, *node->spec.host_id);
      if (node == nullptr) {
        return Illegal("the host node of " + name + " was not found");
      }
    }
    r.entity = node->id();
    r.current = node->number_of_instances;
  }
  r.planned = r.current + r.delta;
  if (r.planned < 0) {
    return Illegal("Provided delta: " + std::to_string(r.delta) +
                   " is illegal. current number of instances of entity " + r.entity + " is " +
                   std::to_string(r.current));
  }
  return r;
}

model::DeploymentModification MakeModification(const ScaleRequest& request,
                                               const dsl::DeploymentModificationResult& result,
                                               const std::vector<model::NodeInstance>& before,
                                               const std::string& deployment_id,
                                               const std::string& execution_id) {
  model::DeploymentModification m;
  m.id = NewUuid();
  m.deployment_id = deployment_id;
  m.modified_nodes = json::object();
  m.modified_nodes[request.entity] = {{"instances", request.planned},
                                      {"removed_ids_include_hint", request.include_instances},
                                      {"removed_ids_exclude_hint", request.exclude_instances}};
  json added = Tagged(result.added, "added");
  for (auto& j : Tagged(result.extended, "extended")) {
    added.push_back(std::move(j));
  }
  json removed = Tagged(result.removed, "removed");
  for (auto& j : Tagged(result.reduced, "reduced")) {
    removed.push_back(std::move(j));
  }
  m.node_instances = json::object();
  m.node_instances["added_and_related"] = std::move(added);
  m.node_instances["removed_and_related"] = std::move(removed);
  m.node_instances["before_modification"] = Tagged(before, nullptr);
  m.context = {{"execution_id", execution_id},
               {"workflow_id", "scale"},
               {"scalable_entity_name", request.entity},
               {"delta", request.delta},
               {"is_group", request.is_group}};
  return m;
}

Result<std::vector<model::NodeInstance>> ModificationInstances(
    const model::DeploymentModification& m, const std::string& modification) {
  std::vector<model::NodeInstance> out;
  auto read = [&](const char* list, bool all) -> Status {
    const json items = m.node_instances.value(list, json::array());
    for (const auto& item : items) {
      if (!all && item.value("modification", "") != modification) {
        continue;
      }
      CLOUDIFY_ASSIGN_OR_RETURN(model::NodeInstance i, model::NodeInstanceFromJson(item));
      out.push_back(std::move(i));
    }
    return Status::Ok();
  };
  if (modification == "before") {
    CLOUDIFY_RETURN_IF_ERROR(read("before_modification", true));
  } else if (modification == "added" || modification == "extended") {
    CLOUDIFY_RETURN_IF_ERROR(read("added_and_related", false));
  } else {
    CLOUDIFY_RETURN_IF_ERROR(read("removed_and_related", false));
  }
  return out;
}

Result<storage::NodeInstanceChanges> StartChanges(const ScaleRequest& request,
                                                  const model::DeploymentModification& m,
                                                  const std::vector<model::Node>& nodes) {
  storage::NodeInstanceChanges changes;
  CLOUDIFY_ASSIGN_OR_RETURN(changes.create, ModificationInstances(m, "added"));
  CLOUDIFY_ASSIGN_OR_RETURN(changes.replace, ModificationInstances(m, "extended"));
  CLOUDIFY_RETURN_IF_ERROR(SetNodeCounts(request, nodes, request.planned, std::nullopt, changes));
  return changes;
}

Result<storage::NodeInstanceChanges> FinishChanges(
    const ScaleRequest& request, const model::DeploymentModification& m,
    const std::vector<model::Node>& nodes, const model::Deployment& deployment,
    const std::vector<model::NodeInstance>& current) {
  storage::NodeInstanceChanges changes;
  CLOUDIFY_ASSIGN_OR_RETURN(auto removed, ModificationInstances(m, "removed"));
  for (const auto& i : removed) {
    changes.remove.push_back(i.id);
  }
  // Kept instances lose their relationships to removed ones; the rest is as the run left it
  // (unlink operations may have changed their runtime properties).
  std::set<std::string> gone(changes.remove.begin(), changes.remove.end());
  for (const auto& i : current) {
    if (gone.count(i.id) != 0) {
      continue;
    }
    model::NodeInstance kept = i;
    std::erase_if(kept.relationships, [&](const model::RelationshipInstance& r) {
      return gone.count(r.target_id) != 0;
    });
    if (kept.relationships.size() != i.relationships.size()) {
      changes.replace.push_back(std::move(kept));
    }
  }
  CLOUDIFY_RETURN_IF_ERROR(
      SetNodeCounts(request, nodes, request.planned, request.planned, changes));
  if (request.is_group) {
    model::Deployment d = deployment;
    auto& props = d.scaling_groups[request.entity].properties;
    props.current_instances = props.planned_instances = request.planned;
    changes.deployment = std::move(d);
  }
  return changes;
}

Result<storage::NodeInstanceChanges> RollbackChanges(const ScaleRequest& request,
                                                     const model::DeploymentModification& m,
                                                     const std::vector<model::Node>& nodes) {
  storage::NodeInstanceChanges changes;
  CLOUDIFY_ASSIGN_OR_RETURN(auto added, ModificationInstances(m, "added"));
  for (const auto& i : added) {
    changes.remove.push_back(i.id);
  }
  CLOUDIFY_ASSIGN_OR_RETURN(auto extended, ModificationInstances(m, "extended"));
  CLOUDIFY_ASSIGN_OR_RETURN(auto before, ModificationInstances(m, "before"));
  std::set<std::string> changed;
  for (const auto& i : extended) {
    changed.insert(i.id);
  }
  for (auto& i : before) {
    if (changed.count(i.id) != 0) {
      changes.replace.push_back(std::move(i));
    }
  }
  CLOUDIFY_RETURN_IF_ERROR(
      SetNodeCounts(request, nodes, request.current, request.current, changes));
  return changes;
}

Result<ScaleRequest> RequestOfModification(const model::DeploymentModification& m) {
  ScaleRequest r;
  const json& c = m.context;
  if (!c.contains("scalable_entity_name") || !c["scalable_entity_name"].is_string() ||
      !m.modified_nodes.contains(c["scalable_entity_name"].get<std::string>())) {
    return BadParametersError("deployment modification " + m.id +
                              " does not record which entity it scales");
  }
  r.entity = c["scalable_entity_name"].get<std::string>();
  r.is_group = c.value("is_group", false);
  r.delta = c.value("delta", 0);
  r.planned = m.modified_nodes[r.entity].value("instances", 0);
  r.current = r.planned - r.delta;
  return r;
}

}  // namespace cloudify::workflow
