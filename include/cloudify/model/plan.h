// Plan: a parsed, validated blueprint, as the original parser's plan dict holds it. The DSL
// layer produces it; deployments, nodes and workflows are made from it.
//
// Field names follow the original plan's keys so the REST wire shape is a straight mapping.
// Values that stay dynamic in the DSL (property values, operation inputs, intrinsic functions
// kept for run time) are nlohmann::json. Value types; thread-safety as for any struct.
#pragma once

#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include <nlohmann/json.hpp>

namespace cloudify::model {

// Where an operation runs.
enum class Executor {
  kCentralDeploymentAgent,  // "central_deployment_agent": the manager's worker pool
  kHostAgent,               // "host_agent": the agent on the node's host
  kAuto,                    // "auto" (DSL >= 7.0 scripts): host agent if the instance has a host
};
std::string_view ExecutorName(Executor e);
std::optional<Executor> ParseExecutor(std::string_view name);

// A declared parameter: a node-type property, a blueprint input, a workflow parameter, a
// data-type field or an operation-input schema.
struct ParameterSchema {
  std::optional<std::string> type;              // "string", "integer", ... or a data type's name
  std::optional<nlohmann::json> default_value;  // "default"
  bool required = true;                         // the DSL's default: required unless said otherwise
  std::string description;
  nlohmann::json constraints = nlohmann::json::array();  // [{"<operator>": arg}, ...]
  std::optional<std::string> display_label;
  bool hidden = false;
  std::optional<std::string> item_type;  // DSL 1_4: the type of a list input's items

  bool operator==(const ParameterSchema&) const = default;
};

// One operation of a node or relationship interface, after type/template merge.
struct OperationSpec {
  std::string implementation;  // as written; empty for a no-op
  std::string plugin;          // "script" for scripts, else the plugin's name; empty for no-op
  std::string operation;       // task path, e.g. "script_runner.tasks.run"
  std::optional<Executor> executor;
  nlohmann::json inputs = nlohmann::json::object();        // values (may hold functions)
  nlohmann::json inputs_types = nlohmann::json::object();  // declared types kept for run time
  bool has_intrinsic_functions = false;
  std::optional<int> max_retries;        // -1 = retry forever; unset = the workflow's default
  std::optional<double> retry_interval;  // seconds
  std::optional<double> timeout;         // seconds
  bool timeout_recoverable = false;

  // Operations without an implementation are skipped by workflows.
  bool IsNoOp() const { return implementation.empty(); }
  bool operator==(const OperationSpec&) const = default;
};

// Operations keyed as the original keys them: both "cloudify.interfaces.lifecycle.create" and
// the bare "create" (the bare key dropped when two interfaces share it). The DSL parser leaves
// out operations that are no-ops (no implementation): a missing operation is a no-op.
using OperationMap = std::map<std::string, OperationSpec>;

// A plugin as declared in `plugins:`.
struct PluginSpec {
  std::string name;
  Executor executor = Executor::kCentralDeploymentAgent;
  std::string source;
  std::string package_name;
  std::string package_version;
  bool install = true;
  nlohmann::json install_arguments;
  nlohmann::json properties = nlohmann::json::object();

  bool operator==(const PluginSpec&) const = default;
};

// How source instances of a connected_to/depends_on relationship meet target instances.
enum class ConnectionType { kAllToAll, kAllToOne };
std::string_view ConnectionTypeName(ConnectionType c);  // "all_to_all", "all_to_one"
std::optional<ConnectionType> ParseConnectionType(std::string_view name);

// A relationship of a node template.
struct RelationshipSpec {
  std::string type;
  std::string target_id;                    // the target node template's name
  std::vector<std::string> type_hierarchy;  // root first, ending with `type`
  nlohmann::json properties = nlohmann::json::object();
  OperationMap source_operations;
  OperationMap target_operations;

  bool IsContainedIn() const;  // the hierarchy holds cloudify.relationships.contained_in
  ConnectionType connection_type() const;  // from properties.connection_type (all_to_all default)
  bool operator==(const RelationshipSpec&) const = default;
};

// Instance counts of a node (capabilities.scalable.properties, or the deprecated instances.deploy).
struct ScalableProperties {
  static constexpr int kUnbounded = -1;

  int default_instances = 1;
  int min_instances = 0;
  int max_instances = kUnbounded;
  int current_instances = 1;
  int planned_instances = 1;

  bool operator==(const ScalableProperties&) const = default;
};

struct NodeTemplate {
  std::string id;  // the template's name; also "name" in the plan
  std::string type;
  std::vector<std::string> type_hierarchy;  // root first, ending with `type`
  nlohmann::json properties = nlohmann::json::object();
  OperationMap operations;
  std::vector<RelationshipSpec> relationships;
  std::optional<std::string> host_id;  // the Compute node hosting this one, or itself
  std::vector<PluginSpec> plugins;
  std::vector<PluginSpec> plugins_to_install;             // host_agent plugins (Compute nodes)
  std::vector<PluginSpec> deployment_plugins_to_install;  // central_deployment_agent plugins
  ScalableProperties capabilities;
  // Instance counts written as intrinsic functions (e.g. {"default_instances": {"get_input":
  // "n"}}), resolved at deployment creation; empty object when all counts are literals.
  nlohmann::json capabilities_functions = nlohmann::json::object();

  bool IsCompute() const;  // the hierarchy holds cloudify.nodes.Compute
  // The node's contained_in relationship, if any (the DSL allows at most one).
  const RelationshipSpec* ContainedIn() const;
  bool operator==(const NodeTemplate&) const = default;
};

struct WorkflowSpec {
  std::string plugin;
  std::string operation;  // e.g. "cloudify.plugins.workflows.install"
  std::map<std::string, ParameterSchema> parameters;
  bool is_cascading = false;
  nlohmann::json availability_rules;  // null when absent

  bool operator==(const WorkflowSpec&) const = default;
};

// An output or a capability: a value (possibly with functions) and its description.
struct OutputSpec {
  nlohmann::json value;
  std::string description;

  bool operator==(const OutputSpec&) const = default;
};

struct GroupSpec {
  std::vector<std::string> members;
  nlohmann::json policies = nlohmann::json::object();  // the legacy per-group policies

  bool operator==(const GroupSpec&) const = default;
};

struct ScalingGroupSpec {
  std::vector<std::string> members;
  ScalableProperties properties;

  bool operator==(const ScalingGroupSpec&) const = default;
};

struct PolicySpec {
  std::string type;  // e.g. "cloudify.policies.scaling"
  std::vector<std::string> targets;
  nlohmann::json properties = nlohmann::json::object();

  bool operator==(const PolicySpec&) const = default;
};

struct Plan {
  std::string tosca_definitions_version;  // e.g. "cloudify_dsl_1_4"
  std::string description;
  std::map<std::string, ParameterSchema> inputs;
  std::map<std::string, OutputSpec> outputs;
  std::map<std::string, OutputSpec> capabilities;
  std::vector<NodeTemplate> nodes;
  nlohmann::json relationships = nlohmann::json::object();  // relationship type definitions
  nlohmann::json data_types = nlohmann::json::object();
  std::map<std::string, WorkflowSpec> workflows;
  std::map<std::string, GroupSpec> groups;
  std::map<std::string, ScalingGroupSpec> scaling_groups;
  std::map<std::string, PolicySpec> policies;
  nlohmann::json policy_types = nlohmann::json::object();
  nlohmann::json policy_triggers = nlohmann::json::object();
  std::vector<PluginSpec> deployment_plugins_to_install;
  std::vector<PluginSpec> workflow_plugins_to_install;
  std::vector<PluginSpec> host_agent_plugins_to_install;
  nlohmann::json labels = nlohmann::json::object();
  nlohmann::json blueprint_labels = nlohmann::json::object();
  std::vector<std::string> imported_blueprints;
  nlohmann::json resource_tags = nlohmann::json::object();        // DSL 1_3: {key: value}
  nlohmann::json deployment_settings = nlohmann::json::object();  // default_schedules, ...
  nlohmann::json requirements = nlohmann::json::object();         // secrets and capabilities used

  // The node template named `id`, or null.
  const NodeTemplate* FindNode(std::string_view id) const;
  bool operator==(const Plan&) const = default;
};

}  // namespace cloudify::model
