#include "cloudify/dsl/deployment_modification.h"

#include <algorithm>
#include <set>
#include <unordered_map>
#include <unordered_set>

namespace cloudify::dsl {
namespace {

using model::NodeInstance;

// The deployment's containment forest as PrepareDeploymentPlan builds it: nodes and scaling
// groups are entities, and every instance (of a node or of a group) sits under one instance of
// its entity's parent.
class Modifier {
 public:
  Modifier(const std::vector<model::Node>& nodes,
           const std::map<std::string, model::ScalingGroupSpec>& groups, IdGenerator& ids)
      : nodes_(nodes), groups_(groups), ids_(ids) {}

  Result<DeploymentModificationResult> Run(const std::vector<NodeInstance>& instances,
                                           const std::map<std::string, EntityModification>& mods) {
    CLOUDIFY_RETURN_IF_ERROR(BuildEntities());
    CLOUDIFY_RETURN_IF_ERROR(LoadInstances(instances));
    DeploymentModificationResult out;
    for (const auto& [name, mod] : mods) {
      auto it = index_.find(name);
      if (it == index_.end()) {
        return BadParametersError("modified entity '" + name +
                                  "' is neither a node nor a scaling group of the deployment");
      }
      if (mod.instances < 0) {
        return BadParametersError("modified entity '" + name + "': instances must be >= 0, got " +
                                  std::to_string(mod.instances));
      }
      const int e = it->second;
      counts_[static_cast<size_t>(e)] = mod.instances;
      (IsNode(e) ? out.node_counts : out.group_counts)[name] = mod.instances;
      CLOUDIFY_RETURN_IF_ERROR(Scale(e, mod));
    }
    CLOUDIFY_RETURN_IF_ERROR(Connect());
    Collect(out);
    return out;
  }

 private:
  struct Inst {
    int entity = -1;
    int parent = -1;  // index into insts_, -1 for a root
    std::string id;
    long node_instance = -1;  // index into all_ for node entities
    bool added = false;
    bool removed = false;
    std::vector<int> children;
  };

  bool IsNode(int e) const { return static_cast<size_t>(e) < nodes_.size(); }
  const model::NodeTemplate& Spec(int e) const { return nodes_[static_cast<size_t>(e)].spec; }

  Status BuildEntities() {
    for (size_t i = 0; i < nodes_.size(); ++i) {
      index_[nodes_[i].id()] = static_cast<int>(i);
      names_.push_back(nodes_[i].id());
      counts_.push_back(nodes_[i].number_of_instances);
    }
    for (const auto& [name, group] : groups_) {
      index_[name] = static_cast<int>(names_.size());
      names_.push_back(name);
      counts_.push_back(group.properties.current_instances);
    }
    parent_.assign(names_.size(), -1);
    for (const auto& [name, group] : groups_) {
      for (const auto& member : group.members) {
        auto it = index_.find(member);
        if (it == index_.end()) {
          return BadParametersError("scaling group '" + name + "' member '" + member +
                                    "' does not exist");
        }
        parent_[static_cast<size_t>(it->second)] = index_.at(name);
      }
    }
    for (size_t i = 0; i < nodes_.size(); ++i) {
      const model::RelationshipSpec* contained = nodes_[i].spec.ContainedIn();
      if (contained == nullptr) {
        continue;
      }
      auto target = index_.find(contained->target_id);
      if (target == index_.end()) {
        return BadParametersError("node '" + nodes_[i].id() + "' is contained in unknown node '" +
                                  contained->target_id + "'");
      }
      if (parent_[i] < 0) {
        parent_[i] = target->second;
      } else if (parent_[static_cast<size_t>(parent_[i])] < 0) {
        parent_[static_cast<size_t>(parent_[i])] = target->second;
      }
    }
    depth_.assign(names_.size(), 0);
    for (size_t e = 0; e < names_.size(); ++e) {
      int d = 0;
      for (int cur = parent_[e]; cur >= 0; cur = parent_[static_cast<size_t>(cur)]) {
        if (++d > static_cast<int>(names_.size())) {
          return BadParametersError("containment and scaling groups form a cycle around '" +
                                    names_[e] + "'");
        }
      }
      depth_[e] = d;
    }
    return Status::Ok();
  }

  int GroupInst(const std::string& id, int entity) {
    auto [it, fresh] = inst_by_id_.emplace(id, static_cast<int>(insts_.size()));
    if (fresh) {
      insts_.push_back(Inst{.entity = entity, .id = id});
    }
    return it->second;
  }

  // The contained_in target of a stored instance, or "".
  std::string ContainerId(const NodeInstance& instance) const {
    const auto it = index_.find(instance.node_id);
    const model::RelationshipSpec* contained =
        it == index_.end() ? nullptr : Spec(it->second).ContainedIn();
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

  // Finds the instance of entity `p` above node instance `from` (by its group refs and
  // containers), or -1.
  int InstAbove(const NodeInstance& from, int p) const {
    if (!IsNode(p)) {
      for (const auto& ref : from.scaling_groups) {
        if (ref.name == names_[static_cast<size_t>(p)]) {
          auto it = inst_by_id_.find(ref.id);
          return it == inst_by_id_.end() ? -1 : it->second;
        }
      }
      return -1;
    }
    const NodeInstance* cur = &from;
    for (size_t guard = 0; guard <= all_.size(); ++guard) {
      auto it = inst_by_id_.find(ContainerId(*cur));
      if (it == inst_by_id_.end()) {
        return -1;
      }
      const Inst& container = insts_[static_cast<size_t>(it->second)];
      if (container.entity == p) {
        return it->second;
      }
      cur = &all_[static_cast<size_t>(container.node_instance)];
    }
    return -1;
  }

  Status LoadInstances(const std::vector<NodeInstance>& instances) {
    all_ = instances;
    std::unordered_map<int, size_t> representative;  // group inst -> a member node instance
    for (size_t n = 0; n < all_.size(); ++n) {
      auto it = index_.find(all_[n].node_id);
      if (it == index_.end()) {
        return BadParametersError("node instance '" + all_[n].id + "' belongs to unknown node '" +
                                  all_[n].node_id + "'");
      }
      int inst = static_cast<int>(insts_.size());
      insts_.push_back(Inst{.entity = it->second, .id = all_[n].id, .node_instance = long(n)});
      inst_by_id_[all_[n].id] = inst;
      max_index_[all_[n].node_id] = std::max(max_index_[all_[n].node_id], all_[n].index);
      used_ids_.insert(all_[n].id);
    }
    for (size_t n = 0; n < all_.size(); ++n) {
      for (const auto& ref : all_[n].scaling_groups) {
        auto g = index_.find(ref.name);
        if (g == index_.end() || IsNode(g->second)) {
          return BadParametersError("node instance '" + all_[n].id +
                                    "' names unknown scaling group '" + ref.name + "'");
        }
        int inst = GroupInst(ref.id, g->second);
        representative.emplace(inst, n);
        used_ids_.insert(ref.id);
      }
    }
    for (size_t i = 0; i < insts_.size(); ++i) {
      Inst& inst = insts_[i];
      const int p = parent_[static_cast<size_t>(inst.entity)];
      if (p < 0) {
        continue;
      }
      const NodeInstance& from = IsNode(inst.entity) ? all_[static_cast<size_t>(inst.node_instance)]
                                                     : all_[representative.at(static_cast<int>(i))];
      inst.parent = InstAbove(from, p);
      if (inst.parent < 0) {
        return BadParametersError(
            "instance '" + inst.id + "' of '" + names_[static_cast<size_t>(inst.entity)] +
            "' has no instance of '" + names_[static_cast<size_t>(p)] + "' above it");
      }
    }
    for (size_t i = 0; i < insts_.size(); ++i) {
      if (insts_[i].parent >= 0) {
        insts_[static_cast<size_t>(insts_[i].parent)].children.push_back(static_cast<int>(i));
      }
    }
    return Status::Ok();
  }

  // Every instance under `inst` (itself included) that is a node instance.
  void Subtree(int inst, std::vector<int>& out) const {
    out.push_back(inst);
    for (int child : insts_[static_cast<size_t>(inst)].children) {
      Subtree(child, out);
    }
  }

  Status Scale(int entity, const EntityModification& mod) {
    std::vector<int> parents;
    const int p = parent_[static_cast<size_t>(entity)];
    if (p < 0) {
      parents.push_back(-1);
    } else {
      for (size_t i = 0; i < insts_.size(); ++i) {
        if (insts_[i].entity == p && !insts_[i].removed) {
          parents.push_back(static_cast<int>(i));
        }
      }
    }
    for (int parent : parents) {
      std::vector<int> current;
      for (size_t i = 0; i < insts_.size(); ++i) {
        if (insts_[i].entity == entity && insts_[i].parent == parent && !insts_[i].removed) {
          current.push_back(static_cast<int>(i));
        }
      }
      const int have = static_cast<int>(current.size());
      for (int k = have; k < mod.instances; ++k) {
        CLOUDIFY_RETURN_IF_ERROR(Expand(entity, parent));
      }
      if (have > mod.instances) {
        Remove(current, have - mod.instances, mod);
      }
    }
    return Status::Ok();
  }

  // Removes `count` of `candidates`: include-hinted first, exclude-hinted last, newest first.
  void Remove(const std::vector<int>& candidates, int count, const EntityModification& mod) {
    const std::set<std::string> include(mod.removed_ids_include_hint.begin(),
                                        mod.removed_ids_include_hint.end());
    const std::set<std::string> exclude(mod.removed_ids_exclude_hint.begin(),
                                        mod.removed_ids_exclude_hint.end());
    auto rank = [&](int inst) {
      std::vector<int> sub;
      Subtree(inst, sub);
      bool in = false;
      bool out = false;
      for (int s : sub) {
        in = in || include.count(insts_[static_cast<size_t>(s)].id) != 0;
        out = out || exclude.count(insts_[static_cast<size_t>(s)].id) != 0;
      }
      return in ? 0 : (out ? 2 : 1);
    };
    std::vector<std::pair<int, int>> order;  // (rank, -position)
    for (size_t k = 0; k < candidates.size(); ++k) {
      order.emplace_back(rank(candidates[k]), -static_cast<int>(k));
    }
    std::sort(order.begin(), order.end());
    for (int k = 0; k < count; ++k) {
      std::vector<int> sub;
      Subtree(candidates[static_cast<size_t>(-order[static_cast<size_t>(k)].second)], sub);
      for (int s : sub) {
        insts_[static_cast<size_t>(s)].removed = true;
      }
    }
  }

  std::string UniqueId(const std::string& name) {
    while (true) {
      std::string id = ids_.NodeInstanceId(name);
      if (used_ids_.insert(id).second) {
        return id;
      }
    }
  }

  // The node instance of `entity` at or above `inst`, or -1.
  int AncestorInst(int inst, int entity) const {
    for (int cur = inst; cur >= 0; cur = insts_[static_cast<size_t>(cur)].parent) {
      if (insts_[static_cast<size_t>(cur)].entity == entity) {
        return cur;
      }
    }
    return -1;
  }

  Status Expand(int entity, int parent) {
    const auto e = static_cast<size_t>(entity);
    const int inst = static_cast<int>(insts_.size());
    insts_.push_back(
        Inst{.entity = entity, .parent = parent, .id = UniqueId(names_[e]), .added = true});
    if (parent >= 0) {
      insts_[static_cast<size_t>(parent)].children.push_back(inst);
    }
    if (IsNode(entity)) {
      const model::Node& node = nodes_[e];
      NodeInstance instance;
      instance.id = insts_.back().id;
      instance.node_id = node.id();
      instance.deployment_id = node.deployment_id;
      instance.index = ++max_index_[node.id()];
      for (int p = parent; p >= 0; p = insts_[static_cast<size_t>(p)].parent) {
        const Inst& anc = insts_[static_cast<size_t>(p)];
        if (!IsNode(anc.entity)) {
          instance.scaling_groups.push_back({names_[static_cast<size_t>(anc.entity)], anc.id});
        }
      }
      if (node.spec.IsCompute()) {
        instance.host_id = instance.id;
      } else if (const model::RelationshipSpec* contained = node.spec.ContainedIn()) {
        const int container = AncestorInst(parent, index_.at(contained->target_id));
        if (container >= 0) {
          instance.host_id =
              all_[static_cast<size_t>(insts_[static_cast<size_t>(container)].node_instance)]
                  .host_id;
        }
      }
      insts_[static_cast<size_t>(inst)].node_instance = static_cast<long>(all_.size());
      inst_by_id_[instance.id] = inst;
      all_.push_back(std::move(instance));
    }
    for (size_t child = 0; child < names_.size(); ++child) {
      if (parent_[child] != entity) {
        continue;
      }
      for (int k = 0; k < counts_[child]; ++k) {
        CLOUDIFY_RETURN_IF_ERROR(Expand(static_cast<int>(child), inst));
      }
    }
    return Status::Ok();
  }

  int CommonAncestor(int a, int b) const {
    int x = parent_[static_cast<size_t>(a)];
    int y = parent_[static_cast<size_t>(b)];
    while (x >= 0 && y >= 0 && x != y) {
      if (depth_[static_cast<size_t>(x)] >= depth_[static_cast<size_t>(y)]) {
        x = parent_[static_cast<size_t>(x)];
      } else {
        y = parent_[static_cast<size_t>(y)];
      }
    }
    return (x >= 0 && x == y) ? x : -1;
  }

  // Live instances of `target` that instance `inst` (of `entity`) may connect to: those under
  // the same instance of their closest common container.
  std::vector<int> Candidates(int inst, int entity, int target) const {
    const int common = CommonAncestor(entity, target);
    const int mine = common >= 0 ? AncestorInst(inst, common) : -1;
    std::vector<int> out;
    for (size_t t = 0; t < insts_.size(); ++t) {
      if (insts_[t].entity != target || insts_[t].removed) {
        continue;
      }
      if (common >= 0 && AncestorInst(static_cast<int>(t), common) != mine) {
        continue;
      }
      out.push_back(static_cast<int>(t));
    }
    return out;
  }

  Status Connect() {
    for (size_t i = 0; i < insts_.size(); ++i) {
      const Inst& inst = insts_[i];
      if (!IsNode(inst.entity) || inst.removed) {
        continue;
      }
      NodeInstance& instance = all_[static_cast<size_t>(inst.node_instance)];
      for (const auto& rel : Spec(inst.entity).relationships) {
        auto target_it = index_.find(rel.target_id);
        if (target_it == index_.end()) {
          return BadParametersError("node '" + instance.node_id + "' relates to unknown node '" +
                                    rel.target_id + "'");
        }
        const int target = target_it->second;
        if (rel.IsContainedIn()) {
          if (inst.added) {
            const int container = AncestorInst(inst.parent, target);
            if (container >= 0) {
              instance.relationships.push_back(
                  {insts_[static_cast<size_t>(container)].id, rel.target_id, rel.type});
            }
          }
          continue;
        }
        std::vector<int> candidates = Candidates(static_cast<int>(i), inst.entity, target);
        if (rel.connection_type() == model::ConnectionType::kAllToOne) {
          // A new source takes the smallest id, as the plan does; an existing one keeps its
          // target (and loses it when it is removed), unless it had none to keep.
          bool has_target = false;
          for (const auto& r : instance.relationships) {
            has_target = has_target || r.target_name == rel.target_id;
          }
          if (has_target || candidates.empty()) {
            continue;
          }
          int best = candidates.front();
          for (int c : candidates) {
            if (insts_[static_cast<size_t>(c)].id < insts_[static_cast<size_t>(best)].id) {
              best = c;
            }
          }
          instance.relationships.push_back(
              {insts_[static_cast<size_t>(best)].id, rel.target_id, rel.type});
          continue;
        }
        for (int c : candidates) {
          const Inst& t = insts_[static_cast<size_t>(c)];
          if (inst.added || t.added) {
            instance.relationships.push_back({t.id, rel.target_id, rel.type});
          }
        }
      }
    }
    return Status::Ok();
  }

  void Collect(DeploymentModificationResult& out) {
    std::unordered_set<std::string> removed_ids;
    for (const auto& inst : insts_) {
      if (inst.removed && !inst.added && inst.node_instance >= 0) {
        removed_ids.insert(inst.id);
      }
    }
    for (size_t i = 0; i < insts_.size(); ++i) {
      const Inst& inst = insts_[i];
      if (inst.node_instance < 0) {
        continue;
      }
      NodeInstance& instance = all_[static_cast<size_t>(inst.node_instance)];
      if (inst.added) {
        if (!inst.removed) {
          out.added.push_back(instance);
        }
        continue;
      }
      if (inst.removed) {
        out.removed.push_back(original_.at(instance.id));
        continue;
      }
      const NodeInstance& before = original_.at(instance.id);
      if (instance.relationships.size() > before.relationships.size()) {
        out.extended.push_back(instance);
      }
      std::vector<model::RelationshipInstance> kept;
      for (const auto& rel : instance.relationships) {
        if (removed_ids.count(rel.target_id) == 0) {
          kept.push_back(rel);
        }
      }
      if (kept.size() != instance.relationships.size()) {
        instance.relationships = std::move(kept);
        out.reduced.push_back(instance);
      }
    }
  }

 public:
  void Remember(const std::vector<NodeInstance>& instances) {
    for (const auto& i : instances) {
      original_.emplace(i.id, i);
    }
  }

 private:
  const std::vector<model::Node>& nodes_;
  const std::map<std::string, model::ScalingGroupSpec>& groups_;
  IdGenerator& ids_;
  std::unordered_map<std::string, int> index_;
  std::vector<std::string> names_;
  std::vector<int> counts_;
  std::vector<int> parent_;
  std::vector<int> depth_;
  std::vector<Inst> insts_;
  std::unordered_map<std::string, int> inst_by_id_;
  std::vector<NodeInstance> all_;
  std::unordered_map<std::string, NodeInstance> original_;
  std::unordered_map<std::string, int> max_index_;
  std::unordered_set<std::string> used_ids_;
};

}  // namespace

Result<DeploymentModificationResult> ModifyDeployment(
    const std::vector<model::Node>& nodes,
    const std::map<std::string, model::ScalingGroupSpec>& scaling_groups,
    const std::vector<model::NodeInstance>& instances,
    const std::map<std::string, EntityModification>& modified, IdGenerator& ids) {
  Modifier modifier(nodes, scaling_groups, ids);
  modifier.Remember(instances);
  return modifier.Run(instances, modified);
}

}  // namespace cloudify::dsl
