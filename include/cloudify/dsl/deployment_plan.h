// PrepareDeploymentPlan: what the original's dsl_parser.tasks.prepare_deployment_plan does
// when a deployment is created from a plan.
//
// It binds the inputs (provided value, else default, else filled from a data type's
// defaults; required ones missing -> kMissingRequiredDeploymentInput; undeclared ones ->
// kUnknownDeploymentInput; type or constraint violations -> kConstraint), evaluates every
// static intrinsic function (get_input, get_property, concat, merge, string functions) in node
// properties, operation inputs, relationships, outputs, capabilities, policies and labels
// (runtime ones such as get_attribute or get_secret stay as function objects, and operations
// that still hold one are flagged has_intrinsic_functions), and expands node instances:
// ids "<node>_<6 chars>", contained_in multiplication (N instances per container instance),
// scaling groups as virtual containers, and all_to_all / all_to_one relationship instances.
//
// Thread-safety: reentrant; the IdGenerator is used by one call at a time (it is not
// thread-safe). Ownership: the result owns everything it holds.
#pragma once

#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "cloudify/ids.h"
#include "cloudify/model/node.h"
#include "cloudify/model/plan.h"
#include "cloudify/status.h"

namespace cloudify::dsl {

struct DeploymentPlanOptions {
  // Written into every Node and NodeInstance. Default: empty.
  std::string deployment_id;
  // Written into every Node. Default: empty.
  std::string blueprint_id;
  // Convert string inputs "5", "1.5", "true" to integer/float/boolean inputs when declared so
  // (the manager's auto_correct_types). Default: false.
  bool auto_correct_types = false;
  // Most node instances the plan may expand to. Default: 1,000,000.
  size_t max_node_instances = 1000000;
};

struct DeploymentPlan {
  // The input plan with static functions evaluated; its `nodes` are moved into `nodes`
  // (each Node's spec), so plan.nodes is empty.
  model::Plan plan;
  nlohmann::json inputs;                            // the bound inputs, an object
  std::vector<model::Node> nodes;                   // one per node template, plan order
  std::vector<model::NodeInstance> node_instances;  // grouped by node, plan order
};

// Errors: kMissingRequiredDeploymentInput, kUnknownDeploymentInput, kConstraint (input type or
// constraint), kFunctionsEvaluation (a static function that cannot be evaluated, e.g. a
// get_property path that does not exist), kDeploymentCreation (bad instance counts or too many
// instances).
Result<DeploymentPlan> PrepareDeploymentPlan(const model::Plan& plan, const nlohmann::json& inputs,
                                             IdGenerator& ids,
                                             const DeploymentPlanOptions& options = {});

}  // namespace cloudify::dsl
