#include "cloudify/model/json.h"

#include <doctest/doctest.h>

namespace cloudify::model {
namespace {

using nlohmann::json;

TEST_CASE("StringAt reads optional text, and anything else as empty") {
  const json object = {{"name", "vm"}, {"port", 22}, {"none", nullptr}};
  CHECK(StringAt(object, "name") == "vm");
  CHECK(StringAt(object, "port").empty());     // not a string
  CHECK(StringAt(object, "none").empty());     // null
  CHECK(StringAt(object, "missing").empty());  // absent
  CHECK(StringAt(json::array({"name"}), "name").empty());
  CHECK(StringAt(json("name"), "name").empty());
}

NodeTemplate FullNode() {
  NodeTemplate n;
  n.id = "app";
  n.type = "cloudify.nodes.WebServer";
  n.type_hierarchy = {"cloudify.nodes.Root", "cloudify.nodes.WebServer"};
  n.properties = {{"port", 8080}, {"nested", {{"a", json::array({1, "two"})}}}};
  OperationSpec op;
  op.implementation = "scripts/start.sh";
  op.plugin = "script";
  op.operation = "script_runner.tasks.run";
  op.executor = Executor::kHostAgent;
  op.inputs = {{"x", {{"get_input", "x"}}}};
  op.inputs_types = {{"x", "string"}};
  op.has_intrinsic_functions = true;
  op.max_retries = -1;
  op.retry_interval = 2.5;
  op.timeout = 60;
  op.timeout_recoverable = true;
  n.operations["cloudify.interfaces.lifecycle.start"] = op;
  n.operations["start"] = op;
  RelationshipSpec rel;
  rel.type = "cloudify.relationships.contained_in";
  rel.target_id = "vm";
  rel.type_hierarchy = {"cloudify.relationships.depends_on", "cloudify.relationships.contained_in"};
  rel.properties = {{"connection_type", "all_to_one"}};
  rel.source_operations["preconfigure"] = op;
  n.relationships.push_back(rel);
  n.host_id = "vm";
  PluginSpec plugin;
  plugin.name = "agent_plugin";
  plugin.executor = Executor::kHostAgent;
  plugin.package_name = "pkg";
  plugin.package_version = "1.0";
  plugin.install = false;
  plugin.install_arguments = "--pre";
  n.plugins = {plugin};
  n.plugins_to_install = {plugin};
  n.capabilities = {3, 1, ScalableProperties::kUnbounded, 3, 4};
  return n;
}

Plan FullPlan() {
  Plan plan;
  plan.tosca_definitions_version = "cloudify_dsl_1_4";
  plan.description = "everything";
  ParameterSchema input;
  input.type = "integer";
  input.default_value = 3;
  input.required = false;
  input.description = "how many";
  input.constraints = json::array({{{"greater_than", 0}}});
  input.display_label = "Count";
  input.hidden = true;
  plan.inputs["count"] = input;
  plan.outputs["url"] = {json{{"concat", {"http://", {"get_attribute", {"vm", "ip"}}}}}, "where"};
  plan.capabilities["ip"] = {json("1.2.3.4"), ""};
  plan.nodes = {FullNode()};
  plan.relationships = {{"cloudify.relationships.depends_on", {{"properties", json::object()}}}};
  plan.data_types = {{"my.Type", {{"properties", {{"a", {{"type", "string"}}}}}}}};
  WorkflowSpec wf;
  wf.plugin = "default_workflows";
  wf.operation = "cloudify.plugins.workflows.scale";
  wf.parameters["delta"] = input;
  wf.is_cascading = true;
  wf.availability_rules = {{"available", true}};
  plan.workflows["scale"] = wf;
  plan.groups["g"] = {{"app"}, {{"p", {{"type", "x"}}}}};
  plan.scaling_groups["sg"] = {{"app", "vm"}, {2, 0, 5, 2, 2}};
  plan.policies["sp"] = {"cloudify.policies.scaling", {"sg"}, {{"default_instances", 2}}};
  plan.policy_types = {{"t", json::object()}};
  plan.policy_triggers = {{"tr", json::object()}};
  plan.deployment_plugins_to_install = {FullNode().plugins[0]};
  plan.workflow_plugins_to_install = {FullNode().plugins[0]};
  plan.host_agent_plugins_to_install = {FullNode().plugins[0]};
  plan.labels = {{"env", {{"values", {"prod"}}}}};
  plan.blueprint_labels = {{"team", {{"values", {"a"}}}}};
  plan.imported_blueprints = {"other"};
  plan.requirements = {{"secrets", {"db_password"}}};
  return plan;
}

TEST_CASE("a full plan round-trips through its plan-dict JSON") {
  Plan plan = FullPlan();
  json j = ToJson(plan);
  Result<Plan> back = FromJson<Plan>(j);
  REQUIRE_MESSAGE(back.ok(), back.status().ToString());
  CHECK(*back == plan);
  // And through text, as the store keeps it.
  Result<Plan> reparsed = FromJson<Plan>(json::parse(j.dump()));
  REQUIRE(reparsed.ok());
  CHECK(*reparsed == plan);
}

TEST_CASE("nodes use the original plan's key names") {
  json j = ToJson(FullNode());
  CHECK(j["id"] == "app");
  CHECK(j["name"] == "app");
  CHECK(j["type_hierarchy"].size() == 2);
  CHECK(j["host_id"] == "vm");
  CHECK(j["capabilities"]["scalable"]["properties"]["default_instances"] == 3);
  CHECK(j["capabilities"]["scalable"]["properties"]["max_instances"] == -1);
  CHECK(j["operations"]["start"]["executor"] == "host_agent");
  CHECK(j["operations"]["start"]["max_retries"] == -1);
  CHECK(j["relationships"][0]["target_id"] == "vm");
  CHECK(j["relationships"][0]["source_operations"].contains("preconfigure"));
  CHECK(j["plugins_to_install"][0]["name"] == "agent_plugin");
  CHECK(j.contains("deployment_plugins_to_install"));
}

TEST_CASE("every plan part round-trips on its own") {
  NodeTemplate n = FullNode();
  CHECK(*FromJson<NodeTemplate>(ToJson(n)) == n);
  CHECK(*FromJson<OperationSpec>(ToJson(n.operations["start"])) == n.operations["start"]);
  CHECK(*FromJson<RelationshipSpec>(ToJson(n.relationships[0])) == n.relationships[0]);
  CHECK(*FromJson<PluginSpec>(ToJson(n.plugins[0])) == n.plugins[0]);
  CHECK(*FromJson<ScalableProperties>(ToJson(n.capabilities)) == n.capabilities);
  Plan p = FullPlan();
  CHECK(*FromJson<ParameterSchema>(ToJson(p.inputs["count"])) == p.inputs["count"]);
  CHECK(*FromJson<WorkflowSpec>(ToJson(p.workflows["scale"])) == p.workflows["scale"]);
  CHECK(*FromJson<OutputSpec>(ToJson(p.outputs["url"])) == p.outputs["url"]);
  CHECK(*FromJson<GroupSpec>(ToJson(p.groups["g"])) == p.groups["g"]);
  CHECK(*FromJson<ScalingGroupSpec>(ToJson(p.scaling_groups["sg"])) == p.scaling_groups["sg"]);
  CHECK(*FromJson<PolicySpec>(ToJson(p.policies["sp"])) == p.policies["sp"]);
  auto outputs = MapFromJson<OutputSpec>(ToJson(p.outputs));
  REQUIRE(outputs.ok());
  CHECK(*outputs == p.outputs);
}

TEST_CASE("defaults survive an empty object and missing keys") {
  Result<Plan> empty = FromJson<Plan>(json::object());
  REQUIRE(empty.ok());
  CHECK(*empty == Plan());
  Result<NodeTemplate> named = FromJson<NodeTemplate>(json{{"name", "db"}});
  REQUIRE(named.ok());
  CHECK(named->id == "db");
  Result<NodeTemplate> legacy =
      FromJson<NodeTemplate>(json{{"id", "x"}, {"instances", {{"deploy", 4}}}});
  REQUIRE(legacy.ok());
  CHECK(legacy->capabilities.default_instances == 4);
  Result<ScalableProperties> unbounded =
      FromJson<ScalableProperties>(json{{"max_instances", "UNBOUNDED"}});
  REQUIRE(unbounded.ok());
  CHECK(unbounded->max_instances == ScalableProperties::kUnbounded);
}

TEST_CASE("wrong types are kBadParameters naming the path") {
  json j = ToJson(FullPlan());
  j["nodes"][0]["operations"]["start"]["max_retries"] = "three";
  Result<Plan> bad = FromJson<Plan>(j, "plan");
  REQUIRE_FALSE(bad.ok());
  CHECK(bad.status().code() == ErrorCode::kBadParameters);
  CHECK(bad.status().message().find("plan.nodes[0].operations.start.max_retries") !=
        std::string::npos);
  CHECK(FromJson<Plan>(json::array()).status().code() == ErrorCode::kBadParameters);
  CHECK(FromJson<PluginSpec>(json{{"executor", "somewhere"}}).status().code() ==
        ErrorCode::kBadParameters);
  CHECK(FromJson<NodeTemplate>(json{{"type_hierarchy", json::array({1})}}).status().code() ==
        ErrorCode::kBadParameters);
  CHECK_NOTHROW((void)FromJson<Plan>(json{{"nodes", 5}}));
}

}  // namespace
}  // namespace cloudify::model
