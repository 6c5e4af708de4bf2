// Intrinsic functions of the Cloudify DSL and their evaluator.
//
// A function call is a JSON object with exactly one key naming a function, e.g.
// {"get_input": "port"} or {"concat": ["http://", {"get_attribute": ["vm", "ip"]}]}.
// Known functions: get_input, get_property, get_attribute, get_attributes_list,
// get_attributes_dict, concat, merge, get_secret, get_capability, get_environment_capability,
// get_group_capability, get_label, get_sys, get_consumers, string_find, string_replace,
// string_split, string_lower, string_upper.
//
// The parser validates calls at upload; PrepareDeploymentPlan evaluates the static ones;
// the workflow layer evaluates what is left at run time through EvaluateFunctions with its own
// FunctionContext (instance runtime properties, secrets, capabilities of other deployments).
//
// Thread-safety: the free functions are reentrant; a FunctionContext is used by one
// evaluation at a time unless its implementation says otherwise.
#pragma once

#include <string>
#include <string_view>

#include <nlohmann/json.hpp>

#include "cloudify/status.h"

namespace cloudify::dsl {

// True when `name` is a known intrinsic function.
bool IsFunctionName(std::string_view name);
// True when `value` is a call of a known function (one key naming it).
bool IsFunctionCall(const nlohmann::json& value);
// True when `value` holds a call anywhere inside it.
bool ContainsFunctionCall(const nlohmann::json& value);
// True for functions that can only be evaluated at run time (get_attribute, get_secret, ...).
bool IsRuntimeFunction(std::string_view name);

// Who SELF, SOURCE and TARGET are. Node names are always known where a function is evaluated;
// instance ids only at run time.
struct FunctionScope {
  std::string self_node;        // node-template scope: the node; empty in relationship scope
  std::string source_node;      // relationship scope: the source node
  std::string target_node;      // relationship scope: the target node
  std::string self_instance;    // run time: the operation's instance
  std::string source_instance;  // run time: the relationship's source instance
  std::string target_instance;  // run time: the relationship's target instance
};

// What an evaluation needs from the outside. Every method has a default that answers
// kFunctionsEvaluation ("not available here"), so a context implements what it can.
class FunctionContext {
 public:
  virtual ~FunctionContext() = default;

  // The bound deployment input `name`. kFunctionsEvaluation when there is no such input.
  virtual Result<nlohmann::json> GetInput(const std::string& name);
  // The properties of node template `node_id` (may contain calls: the evaluator resolves them).
  virtual Result<nlohmann::json> GetNodeProperties(const std::string& node_id);
  // The same without a copy, for contexts that hold the properties: a pointer valid for the
  // evaluation, or null (the default) to make the evaluator call GetNodeProperties.
  virtual const nlohmann::json* FindNodeProperties(const std::string& node_id);
  // get_attribute: the value of attribute path `path` (a JSON array, first item the attribute
  // name) for node `node_id`. `instance_id` is the instance when SELF/SOURCE/TARGET named it,
  // else empty and the context picks the instance (the original's rules), using
  // `from_instance_id` (the operation's own instance, may be empty). Lookup order:
  // runtime properties, node_instance_id / node_instance_index, node properties, null.
  virtual Result<nlohmann::json> GetAttribute(const std::string& node_id,
                                              const std::string& instance_id,
                                              const std::string& from_instance_id,
                                              const nlohmann::json& path);
  // get_attributes_list / get_attributes_dict: the attribute of every instance of the node,
  // as an object {instance_id: value}.
  virtual Result<nlohmann::json> GetAttributeOfAllInstances(const std::string& node_id,
                                                            const nlohmann::json& path);
  // The secret's value (a string; the evaluator JSON-decodes it for nested paths).
  // kUnknownDeploymentSecret when missing.
  virtual Result<nlohmann::json> GetSecret(const std::string& key);
  virtual Result<nlohmann::json> GetCapability(const std::string& deployment_id,
                                               const std::string& capability);
  virtual Result<nlohmann::json> GetEnvironmentCapability(const std::string& capability);
  virtual Result<nlohmann::json> GetGroupCapability(const std::string& group_id,
                                                    const nlohmann::json& capabilities);
  // The deployment label's values (a list of strings).
  virtual Result<nlohmann::json> GetLabel(const std::string& key);
  // get_sys: entity "tenant" (property "name") or "deployment" (id, name, blueprint, owner).
  virtual Result<nlohmann::json> GetSys(const std::string& entity, const std::string& property);
  // get_consumers: "ids", "names" or "count".
  virtual Result<nlohmann::json> GetConsumers(const std::string& what);
};

enum class EvaluationMode {
  // Deployment creation: runtime functions, and calls that take them as arguments, stay
  // as they are; the context is asked only for inputs and node properties.
  kStatic,
  // Run time: everything is evaluated.
  kRuntime,
};

// Evaluates every call in `value` (recursively, nested calls first). Errors: whatever the
// context returns, or kFunctionsEvaluation for a malformed call, a path that does not exist,
// SELF/SOURCE/TARGET outside their scope, or get_property recursion deeper than 50.
Result<nlohmann::json> EvaluateFunctions(const nlohmann::json& value, const FunctionScope& scope,
                                         FunctionContext& context, EvaluationMode mode);

}  // namespace cloudify::dsl
