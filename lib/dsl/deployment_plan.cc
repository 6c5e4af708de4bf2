#include "cloudify/dsl/deployment_plan.h"

#include <algorithm>
#include <map>
#include <set>
#include <unordered_map>
#include <unordered_set>

#include "cloudify/dsl/functions.h"

#include "dsl/internal.h"

namespace cloudify::dsl {
namespace {

using nlohmann::json;

std::string JoinNames(const std::vector<std::string>& names) {
  std::string out = "[";
  for (size_t i = 0; i < names.size(); ++i) {
    out += (i ? ", " : "") + names[i];
  }
  return out + "]";
}

// Type check against primitive types and the plan's raw data_types (derived_from followed).
class TypeChecker {
 public:
  explicit TypeChecker(const json& data_types) : data_types_(data_types) {}

  // "" when fine, else what is wrong.
  std::string Check(const json& value, const std::string& type, const std::string& what,
                    int depth = 0) const {
    if (value.is_null() || IsFunctionCall(value)) {
      return "";
    }
    if (depth > 64) {
      return what + ": data types nested too deeply";
    }
    if (!data_types_.contains(type)) {
      if (!MatchesPrimitiveType(value, type)) {
        return what + ": value " + value.dump() + " is not of type '" + type + "'";
      }
      return "";
    }
    if (!value.is_object()) {
      return what + ": value " + value.dump() + " is not a dict as data type '" + type + "' needs";
    }
    json props = Properties(type);
    for (auto it = value.begin(); it != value.end(); ++it) {
      if (!props.contains(it.key())) {
        return what + ": property '" + it.key() + "' is not part of data type '" + type + "'";
      }
    }
    for (auto it = props.begin(); it != props.end(); ++it) {
      const json& def = it.value();
      auto v = value.find(it.key());
      if (v == value.end()) {
        bool required = !def.is_object() || def.value("required", true);
        if (required && !(def.is_object() && def.contains("default"))) {
          return what + ": required property '" + it.key() + "' of data type '" + type +
                 "' is missing a value";
        }
        continue;
      }
      if (def.is_object() && def.contains("type") && def["type"].is_string()) {
        std::string e = Check(*v, def["type"].get<std::string>(), what + "." + it.key(), depth + 1);
        if (!e.empty()) {
          return e;
        }
      }
    }
    return "";
  }

  // Defaults of a data type's properties, as an object; null when some required one has none.
  json Defaults(const std::string& type) const {
    json out = json::object();
    json props = Properties(type);
    for (auto it = props.begin(); it != props.end(); ++it) {
      const json& def = it.value();
      if (def.is_object() && def.contains("default")) {
        out[it.key()] = def["default"];
      } else if (!def.is_object() || def.value("required", true)) {
        return nullptr;
      }
    }
    return out;
  }

 private:
  json Properties(const std::string& type) const {
    json props = json::object();
    std::vector<const json*> chain;
    std::string current = type;
    std::set<std::string> seen;
    while (data_types_.contains(current) && seen.insert(current).second) {
      const json& def = data_types_[current];
      chain.push_back(&def);
      if (!def.is_object() || !def.contains("derived_from") || !def["derived_from"].is_string()) {
        break;
      }
      current = def["derived_from"].get<std::string>();
    }
    for (auto it = chain.rbegin(); it != chain.rend(); ++it) {
      if ((*it)->is_object() && (*it)->contains("properties") && (**it)["properties"].is_object()) {
        for (auto p = (**it)["properties"].begin(); p != (**it)["properties"].end(); ++p) {
          props[p.key()] = p.value();
        }
      }
    }
    return props;
  }

  const json& data_types_;
};

json AutoCorrect(const json& value, const std::string& type) {
  if (!value.is_string()) {
    return value;
  }
  const std::string& s = value.get_ref<const std::string&>();
  try {
    if (type == "integer") {
      size_t used = 0;
      long long v = std::stoll(s, &used);
      return used == s.size() ? json(v) : value;
    }
    if (type == "float") {
      size_t used = 0;
      double v = std::stod(s, &used);
      return used == s.size() ? json(v) : value;
    }
  } catch (const std::exception&) {
    return value;
  }
  if (type == "boolean") {
    if (s == "true" || s == "True") {
      return true;
    }
    if (s == "false" || s == "False") {
      return false;
    }
  }
  return value;
}

class StaticContext : public FunctionContext {
 public:
  StaticContext(const json& inputs, const model::Plan& plan) : inputs_(inputs) {
    for (const auto& node : plan.nodes) {
      properties_.emplace(node.id, &node.properties);
    }
  }
  Result<json> GetInput(const std::string& name) override {
    auto it = inputs_.find(name);
    if (it == inputs_.end()) {
      return Status(ErrorCode::kFunctionsEvaluation,
                    "get_input function references an unknown input '" + name + "'");
    }
    return *it;
  }
  const json* FindNodeProperties(const std::string& node_id) override {
    auto it = properties_.find(node_id);
    return it == properties_.end() ? nullptr : it->second;
  }
  Result<json> GetNodeProperties(const std::string& node_id) override {
    auto it = properties_.find(node_id);
    if (it == properties_.end()) {
      return Status(ErrorCode::kFunctionsEvaluation, "get_property function references a node '" +
                                                         node_id + "' that does not exist");
    }
    return *it->second;
  }

 private:
  const json& inputs_;
  std::unordered_map<std::string, const json*> properties_;
};

Status BindInputs(const model::Plan& plan, const json& given, const DeploymentPlanOptions& options,
                  json& bound) {
  if (!given.is_null() && !given.is_object()) {
    return BadParametersError("deployment inputs must be a dict, got " + given.dump());
  }
  std::vector<std::string> unknown;
  if (given.is_object()) {
    for (auto it = given.begin(); it != given.end(); ++it) {
      if (!plan.inputs.count(it.key())) {
        unknown.push_back(it.key());
      }
    }
  }
  if (!unknown.empty()) {
    return Status(ErrorCode::kUnknownDeploymentInput,
                  "Unknown inputs " + JoinNames(unknown) + " specified");
  }
  TypeChecker types(plan.data_types);
  std::vector<std::string> missing;
  bound = json::object();
  for (const auto& [name, schema] : plan.inputs) {
    json value;
    bool have = false;
    if (given.is_object() && given.contains(name)) {
      value = given[name];
      have = true;
    } else if (schema.default_value) {
      value = *schema.default_value;
      have = true;
    } else if (schema.type && plan.data_types.contains(*schema.type)) {
      json defaults = types.Defaults(*schema.type);
      if (!defaults.is_null()) {
        value = std::move(defaults);
        have = true;
      }
    }
    if (!have) {
      if (schema.required) {
        missing.push_back(name);
      }
      bound[name] = nullptr;
      continue;
    }
    if (schema.type && options.auto_correct_types) {
      value = AutoCorrect(value, *schema.type);
    }
    if (schema.type) {
      std::string error = types.Check(value, *schema.type, "input '" + name + "'");
      if (!error.empty()) {
        return Status(ErrorCode::kConstraint, error);
      }
      if (schema.item_type && value.is_array()) {
        for (size_t i = 0; i < value.size(); ++i) {
          error = types.Check(value[i], *schema.item_type,
                              "input '" + name + "' item " + std::to_string(i));
          if (!error.empty()) {
            return Status(ErrorCode::kConstraint, error);
          }
        }
      }
    }
    if (!IsFunctionCall(value)) {
      std::string violation =
          ConstraintViolation(value, schema.constraints, "input '" + name + "'");
      if (!violation.empty()) {
        return Status(ErrorCode::kConstraint, violation);
      }
    }
    bound[name] = std::move(value);
  }
  if (!missing.empty()) {
    return Status(ErrorCode::kMissingRequiredDeploymentInput,
                  "Required inputs " + JoinNames(missing) + " were not specified");
  }
  // Constraints whose arguments call functions (`less_than: {get_input: limit}`), now that
  // every input is bound.
  StaticContext context(bound, plan);
  for (const auto& [name, schema] : plan.inputs) {
    const json& value = bound[name];
    if (value.is_null() || IsFunctionCall(value) || !ConstraintsHaveFunctions(schema.constraints)) {
      continue;
    }
    FunctionScope scope;
    auto constraints =
        EvaluateFunctions(schema.constraints, scope, context, EvaluationMode::kStatic);
    if (!constraints.ok()) {
      return Status(ErrorCode::kConstraint, "input '" + name + "': evaluating its constraints: " +
                                                constraints.status().message());
    }
    std::string violation = ConstraintViolation(value, *constraints, "input '" + name + "'");
    if (!violation.empty()) {
      return Status(ErrorCode::kConstraint, violation);
    }
  }
  return Status::Ok();
}

// Evaluates the calls in `value` where they stand: the parts without calls are neither copied
// nor rebuilt (the same result as replacing `value` by EvaluateFunctions of it).
Status EvaluateInPlace(json& value, const FunctionScope& scope, FunctionContext& context) {
  if (value.is_object()) {
    if (IsFunctionCall(value)) {
      CLOUDIFY_ASSIGN_OR_RETURN(json evaluated,
                                EvaluateFunctions(value, scope, context, EvaluationMode::kStatic));
      value = std::move(evaluated);
      return Status::Ok();
    }
    for (auto& item : value) {
      CLOUDIFY_RETURN_IF_ERROR(EvaluateInPlace(item, scope, context));
    }
  } else if (value.is_array()) {
    for (auto& item : value) {
      CLOUDIFY_RETURN_IF_ERROR(EvaluateInPlace(item, scope, context));
    }
  }
  return Status::Ok();
}

Status EvaluateOperations(model::OperationMap& ops, const FunctionScope& scope,
                          FunctionContext& context) {
  for (auto& [key, op] : ops) {
    if (!op.has_intrinsic_functions) {
      continue;
    }
    CLOUDIFY_RETURN_IF_ERROR(EvaluateInPlace(op.inputs, scope, context));
    op.has_intrinsic_functions = ContainsFunctionCall(op.inputs);
  }
  return Status::Ok();
}

Status CountFromJson(const json& value, const std::string& what, int& out) {
  if (value == "UNBOUNDED") {
    out = model::ScalableProperties::kUnbounded;
    return Status::Ok();
  }
  if (!value.is_number_integer() || value.get<long long>() < 0 ||
      value.get<long long>() > 100000000) {
    return Status(ErrorCode::kDeploymentCreation,
                  what + " must be a non-negative integer, got " + value.dump());
  }
  out = value.get<int>();
  return Status::Ok();
}

Status ApplyScalable(const json& values, const std::string& what, model::ScalableProperties& p) {
  for (auto it = values.begin(); it != values.end(); ++it) {
    int* target = it.key() == "default_instances" ? &p.default_instances
                  : it.key() == "min_instances"   ? &p.min_instances
                  : it.key() == "max_instances"   ? &p.max_instances
                                                  : nullptr;
    if (target) {
      CLOUDIFY_RETURN_IF_ERROR(CountFromJson(it.value(), what + " " + it.key(), *target));
    }
  }
  bool bounded = p.max_instances != model::ScalableProperties::kUnbounded;
  if (p.min_instances > p.default_instances ||
      (bounded && (p.default_instances > p.max_instances || p.min_instances > p.max_instances))) {
    return Status(ErrorCode::kDeploymentCreation,
                  what +
                      ": instances must satisfy min_instances <= default_instances <= "
                      "max_instances");
  }
  p.current_instances = p.planned_instances = p.default_instances;
  return Status::Ok();
}

// ---------------------------------------------------------------------------------------------
// Node instance expansion: nodes and scaling groups form a containment forest ("entities").

class InstanceExpander {
 public:
  InstanceExpander(const model::Plan& plan, IdGenerator& ids, const DeploymentPlanOptions& options)
      : plan_(plan), ids_(ids), options_(options) {}

  Result<std::vector<model::NodeInstance>> Run() {
    CLOUDIFY_RETURN_IF_ERROR(BuildEntities());
    for (size_t e = 0; e < parent_.size(); ++e) {
      if (parent_[e] < 0) {
        CLOUDIFY_RETURN_IF_ERROR(Expand(static_cast<int>(e), -1));
      }
    }
    CLOUDIFY_RETURN_IF_ERROR(Connect());
    // Grouped by node in plan order; within a node, creation order.
    std::vector<model::NodeInstance> out;
    out.reserve(node_instances_.size());
    std::vector<std::vector<size_t>> by_node(node_count_);
    for (size_t i = 0; i < node_instances_.size(); ++i) {
      by_node[static_cast<size_t>(insts_[inst_of_node_instance_[i]].entity)].push_back(i);
    }
    for (const auto& list : by_node) {
      for (size_t i : list) {
        out.push_back(std::move(node_instances_[i]));
      }
    }
    return out;
  }

 private:
  struct Inst {
    int entity;
    int parent;  // index into insts_, -1 for a root
    std::string id;
    long node_instance = -1;  // index into node_instances_ for node entities
  };

  Status BuildEntities() {
    node_count_ = plan_.nodes.size();
    instances_of_node_.resize(node_count_);
    index_per_node_.assign(node_count_, 0);
    for (size_t i = 0; i < node_count_; ++i) {
      index_[plan_.nodes[i].id] = static_cast<int>(i);
      names_.push_back(plan_.nodes[i].id);
      counts_.push_back(plan_.nodes[i].capabilities.default_instances);
    }
    for (const auto& [name, group] : plan_.scaling_groups) {
      index_[name] = static_cast<int>(names_.size());
      names_.push_back(name);
      counts_.push_back(group.properties.default_instances);
    }
    parent_.assign(names_.size(), -1);
    for (const auto& [name, group] : plan_.scaling_groups) {
      int g = index_.at(name);
      for (const auto& member : group.members) {
        auto it = index_.find(member);
        if (it == index_.end()) {
          return Status(ErrorCode::kDeploymentCreation,
                        "scaling group '" + name + "' member '" + member + "' does not exist");
        }
        parent_[static_cast<size_t>(it->second)] = g;
      }
    }
    for (size_t i = 0; i < node_count_; ++i) {
      const model::RelationshipSpec* contained = plan_.nodes[i].ContainedIn();
      if (contained == nullptr) {
        continue;
      }
      int container = index_.at(contained->target_id);
      if (parent_[i] < 0) {
        parent_[i] = container;
        continue;
      }
      // A group member contained in a node outside the group: the group sits in that node.
      int group = parent_[i];
      int& group_parent = parent_[static_cast<size_t>(group)];
      if (group_parent < 0) {
        group_parent = container;
      } else if (group_parent != container) {
        return Status(ErrorCode::kDeploymentCreation,
                      "scaling group '" + names_[static_cast<size_t>(group)] +
                          "' has members contained in different nodes ('" +
                          names_[static_cast<size_t>(group_parent)] + "' and '" +
                          contained->target_id + "')");
      }
    }
    // Depths, and cycles (a group containing its own container).
    depth_.assign(names_.size(), -1);
    for (size_t e = 0; e < names_.size(); ++e) {
      int d = 0;
      int cur = static_cast<int>(e);
      while (parent_[static_cast<size_t>(cur)] >= 0) {
        cur = parent_[static_cast<size_t>(cur)];
        if (++d > static_cast<int>(names_.size())) {
          return Status(ErrorCode::kDeploymentCreation,
                        "containment and scaling groups form a cycle around '" + names_[e] + "'");
        }
      }
      depth_[e] = d;
    }
    children_.assign(names_.size(), {});
    for (size_t e = 0; e < names_.size(); ++e) {
      if (parent_[e] >= 0) {
        children_[static_cast<size_t>(parent_[e])].push_back(static_cast<int>(e));
      }
    }
    return Status::Ok();
  }

  std::string UniqueId(const std::string& name) {
    while (true) {
      std::string id = ids_.NodeInstanceId(name);
      if (used_ids_.insert(id).second) {
        return id;
      }
    }
  }

  Status Expand(int entity, int parent_inst) {
    auto e = static_cast<size_t>(entity);
    for (int k = 0; k < counts_[e]; ++k) {
      if (node_instances_.size() >= options_.max_node_instances) {
        return Status(ErrorCode::kDeploymentCreation,
                      "the deployment would have more than " +
                          std::to_string(options_.max_node_instances) + " node instances");
      }
      int inst = static_cast<int>(insts_.size());
      insts_.push_back(Inst{entity, parent_inst, UniqueId(names_[e])});
      if (e < node_count_) {
        const model::NodeTemplate& node = plan_.nodes[e];
        model::NodeInstance instance;
        instance.id = insts_.back().id;
        instance.node_id = node.id;
        instance.deployment_id = options_.deployment_id;
        instance.index = ++index_per_node_[e];
        for (int p = parent_inst; p >= 0; p = insts_[static_cast<size_t>(p)].parent) {
          const Inst& anc = insts_[static_cast<size_t>(p)];
          if (static_cast<size_t>(anc.entity) >= node_count_) {
            instance.scaling_groups.push_back(
                model::ScalingGroupRef{names_[static_cast<size_t>(anc.entity)], anc.id});
          }
        }
        if (node.IsCompute()) {
          instance.host_id = instance.id;
        } else if (const model::RelationshipSpec* contained = node.ContainedIn()) {
          long container = AncestorNodeInstance(inst, index_.at(contained->target_id));
          if (container >= 0) {
            instance.host_id = node_instances_[static_cast<size_t>(container)].host_id;
          }
        }
        insts_.back().node_instance = static_cast<long>(node_instances_.size());
        inst_of_node_instance_.push_back(static_cast<size_t>(inst));
        instances_of_node_[entity].push_back(static_cast<size_t>(inst));
        node_instances_.push_back(std::move(instance));
      }
      for (int child : children_[e]) {
        CLOUDIFY_RETURN_IF_ERROR(Expand(child, inst));
      }
    }
    return Status::Ok();
  }

  // The node instance of `entity` above instance `inst`, or -1.
  long AncestorNodeInstance(int inst, int entity) const {
    for (int p = insts_[static_cast<size_t>(inst)].parent; p >= 0;
         p = insts_[static_cast<size_t>(p)].parent) {
      if (insts_[static_cast<size_t>(p)].entity == entity) {
        return insts_[static_cast<size_t>(p)].node_instance;
      }
    }
    return -1;
  }

  // The instance of `entity` at or above `inst`, or -1.
  int AncestorInst(int inst, int entity) const {
    for (int p = inst; p >= 0; p = insts_[static_cast<size_t>(p)].parent) {
      if (insts_[static_cast<size_t>(p)].entity == entity) {
        return p;
      }
    }
    return -1;
  }

  int CommonAncestor(int a, int b) const {
    // Proper ancestors of a and b (an entity is not its own container here).
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

  Status Connect() {
    // (target entity, common ancestor) -> ancestor inst -> target insts
    std::map<std::pair<int, int>, std::unordered_map<int, std::vector<size_t>>> buckets;
    for (size_t n = 0; n < node_instances_.size(); ++n) {
      int inst = static_cast<int>(inst_of_node_instance_[n]);
      int entity = insts_[static_cast<size_t>(inst)].entity;
      const model::NodeTemplate& node = plan_.nodes[static_cast<size_t>(entity)];
      for (const auto& rel : node.relationships) {
        int target = index_.at(rel.target_id);
        if (rel.IsContainedIn()) {
          long container = AncestorNodeInstance(inst, target);
          if (container >= 0) {
            node_instances_[n].relationships.push_back(model::RelationshipInstance{
                node_instances_[static_cast<size_t>(container)].id, rel.target_id, rel.type});
          }
          continue;
        }
        int common = CommonAncestor(entity, target);
        const std::vector<size_t>* candidates = &instances_of_node_[target];
        if (common >= 0) {
          auto& bucket = buckets[{target, common}];
          if (bucket.empty()) {
            for (size_t t : instances_of_node_[target]) {
              bucket[AncestorInst(static_cast<int>(t), common)].push_back(t);
            }
          }
          auto it = bucket.find(AncestorInst(inst, common));
          static const std::vector<size_t> kNone;
          candidates = it == bucket.end() ? &kNone : &it->second;
        }
        if (rel.connection_type() == model::ConnectionType::kAllToOne) {
          const Inst* best = nullptr;
          for (size_t t : *candidates) {
            if (best == nullptr || insts_[t].id < best->id) {
              best = &insts_[t];
            }
          }
          if (best) {
            node_instances_[n].relationships.push_back(
                model::RelationshipInstance{best->id, rel.target_id, rel.type});
          }
        } else {
          for (size_t t : *candidates) {
            node_instances_[n].relationships.push_back(
                model::RelationshipInstance{insts_[t].id, rel.target_id, rel.type});
          }
        }
      }
    }
    return Status::Ok();
  }

  const model::Plan& plan_;
  IdGenerator& ids_;
  const DeploymentPlanOptions& options_;
  size_t node_count_ = 0;
  std::unordered_map<std::string, int> index_;
  std::vector<std::string> names_;
  std::vector<int> counts_;
  std::vector<int> parent_;
  std::vector<int> depth_;
  std::vector<std::vector<int>> children_;
  std::vector<Inst> insts_;
  std::vector<model::NodeInstance> node_instances_;
  std::vector<size_t> inst_of_node_instance_;
  std::vector<std::vector<size_t>> instances_of_node_;  // by node
  std::vector<int> index_per_node_;                     // by node: the last index given
  std::unordered_set<std::string> used_ids_;
};

}  // namespace

Result<DeploymentPlan> PrepareDeploymentPlan(const model::Plan& plan, const json& inputs,
                                             IdGenerator& ids,
                                             const DeploymentPlanOptions& options) {
  try {
    DeploymentPlan out;
    CLOUDIFY_RETURN_IF_ERROR(BindInputs(plan, inputs, options, out.inputs));
    out.plan = plan;
    model::Plan& p = out.plan;
    StaticContext context(out.inputs, plan);

    for (auto& node : p.nodes) {
      FunctionScope scope;
      scope.self_node = node.id;
      CLOUDIFY_RETURN_IF_ERROR(EvaluateInPlace(node.properties, scope, context));
      CLOUDIFY_RETURN_IF_ERROR(EvaluateOperations(node.operations, scope, context));
      if (!node.capabilities_functions.empty()) {
        CLOUDIFY_ASSIGN_OR_RETURN(json counts, EvaluateFunctions(node.capabilities_functions, scope,
                                                                 context, EvaluationMode::kStatic));
        CLOUDIFY_RETURN_IF_ERROR(
            ApplyScalable(counts, "node '" + node.id + "'", node.capabilities));
      }
      for (auto& rel : node.relationships) {
        FunctionScope rscope;
        rscope.source_node = node.id;
        rscope.target_node = rel.target_id;
        CLOUDIFY_RETURN_IF_ERROR(EvaluateInPlace(rel.properties, rscope, context));
        CLOUDIFY_RETURN_IF_ERROR(EvaluateOperations(rel.source_operations, rscope, context));
        CLOUDIFY_RETURN_IF_ERROR(EvaluateOperations(rel.target_operations, rscope, context));
      }
    }
    FunctionScope none;
    for (auto* outputs : {&p.outputs, &p.capabilities}) {
      for (auto& [name, spec] : *outputs) {
        CLOUDIFY_ASSIGN_OR_RETURN(
            spec.value, EvaluateFunctions(spec.value, none, context, EvaluationMode::kStatic));
      }
    }
    CLOUDIFY_ASSIGN_OR_RETURN(p.labels,
                              EvaluateFunctions(p.labels, none, context, EvaluationMode::kStatic));
    for (auto& [name, policy] : p.policies) {
      CLOUDIFY_ASSIGN_OR_RETURN(
          policy.properties,
          EvaluateFunctions(policy.properties, none, context, EvaluationMode::kStatic));
      for (const auto& target : policy.targets) {
        auto group = p.scaling_groups.find(target);
        if (group != p.scaling_groups.end()) {
          CLOUDIFY_RETURN_IF_ERROR(ApplyScalable(policy.properties, "scaling policy '" + name + "'",
                                                 group->second.properties));
        }
      }
    }

    InstanceExpander expander(p, ids, options);
    CLOUDIFY_ASSIGN_OR_RETURN(out.node_instances, expander.Run());
    out.nodes.reserve(p.nodes.size());
    for (auto& node : p.nodes) {
      model::Node n;
      n.deployment_id = options.deployment_id;
      n.blueprint_id = options.blueprint_id;
      n.spec = std::move(node);
      n.number_of_instances = node.capabilities.current_instances;
      n.planned_number_of_instances = node.capabilities.planned_instances;
      n.deploy_number_of_instances = node.capabilities.default_instances;
      n.min_number_of_instances = node.capabilities.min_instances;
      n.max_number_of_instances = node.capabilities.max_instances;
      out.nodes.push_back(std::move(n));
    }
    p.nodes.clear();  // moved into `nodes`: one copy of every template is enough
    return out;
  } catch (const std::exception& e) {  // nlohmann type errors we failed to foresee
    return Status(ErrorCode::kDeploymentCreation,
                  std::string("deployment plan could not be prepared: ") + e.what());
  }
}

}  // namespace cloudify::dsl
