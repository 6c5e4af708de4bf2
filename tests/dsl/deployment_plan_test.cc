#include "cloudify/dsl/deployment_plan.h"

#include <map>
#include <regex>
#include <set>

#include <doctest/doctest.h>

#include "cloudify/dsl/parser.h"

namespace cloudify::dsl {
namespace {

using nlohmann::json;

model::Plan Parse(const std::string& text) {
  auto plan = ParseBlueprintText(text, "blueprint.yaml", "");
  REQUIRE_MESSAGE(plan.ok(), plan.status().ToString());
  return *plan;
}

std::map<std::string, std::vector<const model::NodeInstance*>> ByNode(const DeploymentPlan& d) {
  std::map<std::string, std::vector<const model::NodeInstance*>> out;
  for (const auto& instance : d.node_instances) {
    out[instance.node_id].push_back(&instance);
  }
  return out;
}

const model::NodeInstance* Find(const DeploymentPlan& d, const std::string& id) {
  for (const auto& instance : d.node_instances) {
    if (instance.id == id) {
      return &instance;
    }
  }
  return nullptr;
}

constexpr const char* kTopology = R"(tosca_definitions_version: cloudify_dsl_1_4
imports: [cloudify/types/types.yaml]
inputs:
  vms: {type: integer, default: 2}
node_templates:
  vm:
    type: cloudify.nodes.Compute
    properties: {agent_config: {install_method: none}}
    capabilities: {scalable: {properties: {default_instances: {get_input: vms}}}}
  app:
    type: cloudify.nodes.ApplicationModule
    capabilities: {scalable: {properties: {default_instances: 3}}}
    relationships:
      - {type: cloudify.relationships.contained_in, target: vm}
  db:
    type: cloudify.nodes.DBMS
    capabilities: {scalable: {properties: {default_instances: 2}}}
  all:
    type: cloudify.nodes.Root
    relationships:
      - {type: cloudify.relationships.connected_to, target: db}
  one:
    type: cloudify.nodes.Root
    relationships:
      - type: cloudify.relationships.connected_to
        target: db
        properties: {connection_type: all_to_one}
)";

TEST_CASE("Deployment plan: contained_in multiplies, connected_to links all or one") {
  model::Plan plan = Parse(kTopology);
  IdGenerator ids(42);
  auto d = PrepareDeploymentPlan(plan, json{{"vms", 3}}, ids, {.deployment_id = "dep"});
  REQUIRE_MESSAGE(d.ok(), d.status().ToString());
  auto by = ByNode(*d);
  CHECK(by["vm"].size() == 3);
  CHECK(by["app"].size() == 9);  // 3 per vm instance
  CHECK(by["db"].size() == 2);
  CHECK(d->node_instances.size() == 3 + 9 + 2 + 1 + 1);

  std::regex id_form("(vm|app|db|all|one)_[a-z0-9]{6}");
  std::set<std::string> unique;
  for (const auto& instance : d->node_instances) {
    CHECK(std::regex_match(instance.id, id_form));
    CHECK(instance.deployment_id == "dep");
    CHECK(instance.state == model::NodeInstanceState::kUninitialized);
    unique.insert(instance.id);
  }
  CHECK(unique.size() == d->node_instances.size());

  std::map<std::string, int> apps_per_vm;
  for (const auto* app : by["app"]) {
    REQUIRE(app->relationships.size() == 1);
    const model::NodeInstance* vm = Find(*d, app->relationships[0].target_id);
    REQUIRE(vm != nullptr);
    CHECK(vm->node_id == "vm");
    CHECK(app->host_id == vm->id);
    ++apps_per_vm[vm->id];
  }
  for (const auto* vm : by["vm"]) {
    CHECK(vm->host_id == vm->id);
    CHECK(apps_per_vm[vm->id] == 3);
  }
  CHECK(by["all"][0]->relationships.size() == 2);
  REQUIRE(by["one"][0]->relationships.size() == 1);
  // all_to_one picks the smallest target id.
  CHECK(by["one"][0]->relationships[0].target_id == std::min(by["db"][0]->id, by["db"][1]->id));
  // Indexes are 1-based per node, in creation order.
  CHECK(by["app"][8]->index == 9);

  // Nodes carry the counts; plan.nodes moved into them.
  REQUIRE(d->nodes.size() == 5);
  CHECK(d->nodes[0].number_of_instances == 3);
  CHECK(d->nodes[0].spec.capabilities.default_instances == 3);
  CHECK(d->plan.nodes.empty());

  // The same seed makes the same ids.
  IdGenerator again(42);
  auto d2 = PrepareDeploymentPlan(plan, json{{"vms", 3}}, again, {.deployment_id = "dep"});
  REQUIRE(d2.ok());
  CHECK(d2->node_instances == d->node_instances);
}

TEST_CASE("Deployment plan: a scaling group is a virtual container") {
  model::Plan plan = Parse(R"(tosca_definitions_version: cloudify_dsl_1_4
imports: [cloudify/types/types.yaml]
node_templates:
  vm:
    type: cloudify.nodes.Compute
    properties: {agent_config: {install_method: none}}
  ip:
    type: cloudify.nodes.VirtualIP
    relationships:
      - {type: cloudify.relationships.connected_to, target: vm}
  app:
    type: cloudify.nodes.ApplicationModule
    relationships:
      - {type: cloudify.relationships.contained_in, target: vm}
groups:
  pair: {members: [vm, ip, app]}
policies:
  scale:
    type: cloudify.policies.scaling
    targets: [pair]
    properties: {default_instances: 2}
)");
  // app is contained in vm, a member: it is dropped from the group's members.
  CHECK(plan.scaling_groups.at("pair").members == std::vector<std::string>{"vm", "ip"});
  IdGenerator ids(1);
  auto d = PrepareDeploymentPlan(plan, json::object(), ids);
  REQUIRE_MESSAGE(d.ok(), d.status().ToString());
  auto by = ByNode(*d);
  REQUIRE(by["vm"].size() == 2);
  REQUIRE(by["ip"].size() == 2);
  REQUIRE(by["app"].size() == 2);
  for (const auto* ip : by["ip"]) {
    REQUIRE(ip->scaling_groups.size() == 1);
    CHECK(ip->scaling_groups[0].name == "pair");
    // Linked only to the vm of its own group instance.
    REQUIRE(ip->relationships.size() == 1);
    const model::NodeInstance* vm = Find(*d, ip->relationships[0].target_id);
    REQUIRE(vm != nullptr);
    CHECK(vm->scaling_groups == ip->scaling_groups);
  }
  CHECK(by["ip"][0]->scaling_groups[0].id != by["ip"][1]->scaling_groups[0].id);
  CHECK(by["app"][0]->scaling_groups.size() == 1);
}

TEST_CASE("Deployment plan: inputs are bound, defaulted, typed and constrained") {
  model::Plan plan = Parse(R"(tosca_definitions_version: cloudify_dsl_1_4
data_types:
  endpoint:
    properties:
      host: {type: string, default: localhost}
      port: {type: integer, default: 80}
inputs:
  count: {type: integer, constraints: [{in_range: [1, 5]}]}
  flag: {type: boolean, default: false}
  where: {type: endpoint}
  optional: {required: false}
  names: {type: list, item_type: string, default: [a]}
)");
  IdGenerator ids(1);
  SUBCASE("bound and defaulted") {
    auto d = PrepareDeploymentPlan(plan, json{{"count", 2}}, ids);
    REQUIRE_MESSAGE(d.ok(), d.status().ToString());
    CHECK(d->inputs == json::parse(R"({"count": 2, "flag": false, "names": ["a"],
                                      "optional": null,
                                      "where": {"host": "localhost", "port": 80}})"));
  }
  SUBCASE("missing required") {
    auto d = PrepareDeploymentPlan(plan, json::object(), ids);
    REQUIRE_FALSE(d.ok());
    CHECK(d.status().code() == ErrorCode::kMissingRequiredDeploymentInput);
    CHECK(d.status().message() == "Required inputs [count] were not specified");
  }
  SUBCASE("unknown") {
    auto d = PrepareDeploymentPlan(plan, json{{"count", 1}, {"zzz", 1}, {"aaa", 2}}, ids);
    REQUIRE_FALSE(d.ok());
    CHECK(d.status().code() == ErrorCode::kUnknownDeploymentInput);
    CHECK(d.status().message() == "Unknown inputs [aaa, zzz] specified");
  }
  SUBCASE("constraint") {
    auto d = PrepareDeploymentPlan(plan, json{{"count", 9}}, ids);
    REQUIRE_FALSE(d.ok());
    CHECK(d.status().code() == ErrorCode::kConstraint);
    CHECK(d.status().message() == "input 'count': value 9 violates constraint in_range [1,5]");
  }
  SUBCASE("type, and auto_correct_types") {
    auto wrong = PrepareDeploymentPlan(plan, json{{"count", "3"}}, ids);
    REQUIRE_FALSE(wrong.ok());
    CHECK(wrong.status().code() == ErrorCode::kConstraint);
    auto corrected = PrepareDeploymentPlan(plan, json{{"count", "3"}, {"flag", "true"}}, ids,
                                           {.auto_correct_types = true});
    REQUIRE_MESSAGE(corrected.ok(), corrected.status().ToString());
    CHECK(corrected->inputs["count"] == 3);
    CHECK(corrected->inputs["flag"] == true);
  }
  SUBCASE("data type fields and list items") {
    auto extra = PrepareDeploymentPlan(plan, json{{"count", 1}, {"where", {{"hots", "x"}}}}, ids);
    REQUIRE_FALSE(extra.ok());
    CHECK(extra.status().message() ==
          "input 'where': property 'hots' is not part of data type 'endpoint'");
    auto items = PrepareDeploymentPlan(plan, json{{"count", 1}, {"names", {1}}}, ids);
    CHECK(items.ok());  // string accepts any value, as the original
  }
}

TEST_CASE("Deployment plan: static functions are evaluated, runtime ones kept and flagged") {
  model::Plan plan = Parse(R"(tosca_definitions_version: cloudify_dsl_1_4
imports: [cloudify/types/types.yaml]
inputs:
  port: {default: 8080}
node_templates:
  web:
    type: cloudify.nodes.WebServer
    properties: {port: {get_input: port}}
    interfaces:
      cloudify.interfaces.lifecycle:
        create:
          implementation: cfy_extensions.x
          inputs:
            static: {get_property: [SELF, port]}
        start:
          implementation: cfy_extensions.y
          inputs:
            runtime: {get_attribute: [SELF, pid]}
outputs:
  url: {value: {concat: ['http://h:', {get_property: [web, port]}]}}
  pid: {value: {get_attribute: [web, pid]}}
)");
  IdGenerator ids(1);
  auto d = PrepareDeploymentPlan(plan, json{{"port", 9000}}, ids);
  REQUIRE_MESSAGE(d.ok(), d.status().ToString());
  const model::NodeTemplate& web = d->nodes[0].spec;
  CHECK(web.properties["port"] == 9000);
  const auto& create = web.operations.at("cloudify.interfaces.lifecycle.create");
  CHECK(create.inputs["static"] == 9000);
  CHECK_FALSE(create.has_intrinsic_functions);
  const auto& start = web.operations.at("cloudify.interfaces.lifecycle.start");
  CHECK(start.inputs["runtime"] == json::parse(R"({"get_attribute": ["SELF", "pid"]})"));
  CHECK(start.has_intrinsic_functions);
  CHECK(d->plan.outputs.at("url").value == "http://h:9000");
  CHECK(d->plan.outputs.at("pid").value == json::parse(R"({"get_attribute": ["web", "pid"]})"));
}

TEST_CASE("Deployment plan: instance limits and bad counts are refused") {
  model::Plan plan = Parse(kTopology);
  IdGenerator ids(1);
  auto negative = PrepareDeploymentPlan(plan, json{{"vms", -1}}, ids);
  REQUIRE_FALSE(negative.ok());
  CHECK(negative.status().code() == ErrorCode::kDeploymentCreation);
  auto too_many = PrepareDeploymentPlan(plan, json{{"vms", 2}}, ids, {.max_node_instances = 5});
  REQUIRE_FALSE(too_many.ok());
  CHECK(too_many.status().code() == ErrorCode::kDeploymentCreation);
  CHECK(too_many.status().message() == "the deployment would have more than 5 node instances");
}

}  // namespace
}  // namespace cloudify::dsl
