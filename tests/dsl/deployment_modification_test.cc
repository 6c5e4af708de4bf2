// ModifyDeployment: new instances follow PrepareDeploymentPlan's rules; removals take whole
// subtrees and strip relationships to them.
#include "cloudify/dsl/deployment_modification.h"

#include <map>
#include <set>

#include <doctest/doctest.h>

#include "cloudify/dsl/deployment_plan.h"
#include "cloudify/dsl/parser.h"

namespace cloudify::dsl {
namespace {

using nlohmann::json;

DeploymentPlan Prepare(const std::string& text, IdGenerator& ids) {
  auto plan = ParseBlueprintText(text, "blueprint.yaml", "");
  REQUIRE_MESSAGE(plan.ok(), plan.status().ToString());
  auto d = PrepareDeploymentPlan(*plan, json::object(), ids, {.deployment_id = "dep"});
  REQUIRE_MESSAGE(d.ok(), d.status().ToString());
  return std::move(*d);
}

std::map<std::string, int> CountByNode(const std::vector<model::NodeInstance>& instances) {
  std::map<std::string, int> out;
  for (const auto& i : instances) {
    ++out[i.node_id];
  }
  return out;
}

const model::NodeInstance* Find(const std::vector<model::NodeInstance>& v, const std::string& id) {
  for (const auto& i : v) {
    if (i.id == id) {
      return &i;
    }
  }
  return nullptr;
}

std::set<std::string> Targets(const model::NodeInstance& i, const std::string& node) {
  std::set<std::string> out;
  for (const auto& r : i.relationships) {
    if (r.target_name == node) {
      out.insert(r.target_id);
    }
  }
  return out;
}

constexpr const char* kTopology = R"(tosca_definitions_version: cloudify_dsl_1_4
imports: [cloudify/types/types.yaml]
node_templates:
  vm:
    type: cloudify.nodes.Compute
    properties: {agent_config: {install_method: none}}
    capabilities: {scalable: {properties: {default_instances: 2}}}
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

}  // namespace

TEST_CASE("Modify deployment: a contained node scales per container, with hosts and indexes") {
  IdGenerator ids(7);
  DeploymentPlan d = Prepare(kTopology, ids);
  auto r = ModifyDeployment(d.nodes, d.plan.scaling_groups, d.node_instances,
                            {{"app", {.instances = 4}}}, ids);
  REQUIRE_MESSAGE(r.ok(), r.status().ToString());
  CHECK(r->node_counts == std::map<std::string, int>{{"app", 4}});
  CHECK(CountByNode(r->added) == std::map<std::string, int>{{"app", 2}});  // one more per vm
  CHECK(r->removed.empty());
  CHECK(r->extended.empty());
  std::map<std::string, int> per_vm;
  std::set<int> indexes;
  for (const auto& app : r->added) {
    CHECK(app.state == model::NodeInstanceState::kUninitialized);
    CHECK(app.deployment_id == "dep");
    REQUIRE(app.relationships.size() == 1);
    CHECK(app.relationships[0].type == "cloudify.relationships.contained_in");
    CHECK(app.host_id == app.relationships[0].target_id);
    ++per_vm[*app.host_id];
    indexes.insert(app.index);
    CHECK(Find(d.node_instances, app.id) == nullptr);
  }
  CHECK(per_vm.size() == 2);
  CHECK(indexes == std::set<int>{7, 8});  // after the 6 existing apps
}

TEST_CASE("Modify deployment: scaling a compute node brings its contained instances") {
  IdGenerator ids(8);
  DeploymentPlan d = Prepare(kTopology, ids);
  auto r = ModifyDeployment(d.nodes, d.plan.scaling_groups, d.node_instances,
                            {{"vm", {.instances = 3}}}, ids);
  REQUIRE_MESSAGE(r.ok(), r.status().ToString());
  CHECK(CountByNode(r->added) == std::map<std::string, int>{{"app", 3}, {"vm", 1}});
  for (const auto& i : r->added) {
    if (i.node_id == "app") {
      CHECK(i.host_id == i.relationships.at(0).target_id);
      CHECK(Find(r->added, *i.host_id) != nullptr);
    }
  }
  // Scale in to 1: one vm and its 3 apps go.
  auto in = ModifyDeployment(d.nodes, d.plan.scaling_groups, d.node_instances,
                             {{"vm", {.instances = 1}}}, ids);
  REQUIRE(in.ok());
  CHECK(CountByNode(in->removed) == std::map<std::string, int>{{"app", 3}, {"vm", 1}});
  CHECK(in->added.empty());
}

TEST_CASE("Modify deployment: connected sources are extended and reduced, all_to_one kept") {
  IdGenerator ids(9);
  DeploymentPlan d = Prepare(kTopology, ids);
  auto out = ModifyDeployment(d.nodes, d.plan.scaling_groups, d.node_instances,
                              {{"db", {.instances = 3}}}, ids);
  REQUIRE_MESSAGE(out.ok(), out.status().ToString());
  REQUIRE(out->added.size() == 1);
  const std::string new_db = out->added[0].id;
  REQUIRE(out->extended.size() == 1);  // `all` gains the new db; `one` keeps its single db
  CHECK(out->extended[0].node_id == "all");
  CHECK(Targets(out->extended[0], "db").size() == 3);
  CHECK(Targets(out->extended[0], "db").count(new_db) == 1);

  // Scale in to 1, naming the db to remove.
  std::string one_target;
  for (const auto& i : d.node_instances) {
    if (i.node_id == "one") {
      one_target = i.relationships.at(0).target_id;
    }
  }
  std::string other_db;
  for (const auto& i : d.node_instances) {
    if (i.node_id == "db" && i.id != one_target) {
      other_db = i.id;
    }
  }
  auto in =
      ModifyDeployment(d.nodes, d.plan.scaling_groups, d.node_instances,
                       {{"db", {.instances = 1, .removed_ids_include_hint = {one_target}}}}, ids);
  REQUIRE(in.ok());
  REQUIRE(in->removed.size() == 1);
  CHECK(in->removed[0].id == one_target);
  std::map<std::string, const model::NodeInstance*> reduced;
  for (const auto& i : in->reduced) {
    reduced[i.node_id] = &i;
  }
  REQUIRE(reduced.count("all") == 1);
  CHECK(Targets(*reduced["all"], "db") == std::set<std::string>{other_db});
  REQUIRE(reduced.count("one") == 1);
  CHECK(reduced["one"]->relationships.empty());

  // The exclude hint keeps a db.
  auto keep =
      ModifyDeployment(d.nodes, d.plan.scaling_groups, d.node_instances,
                       {{"db", {.instances = 1, .removed_ids_exclude_hint = {other_db}}}}, ids);
  REQUIRE(keep.ok());
  REQUIRE(keep->removed.size() == 1);
  CHECK(keep->removed[0].id == one_target);
}

TEST_CASE("Modify deployment: a scaling group grows and shrinks as a unit") {
  IdGenerator ids(10);
  DeploymentPlan d = Prepare(R"(tosca_definitions_version: cloudify_dsl_1_4
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
)",
                             ids);
  auto r = ModifyDeployment(d.nodes, d.plan.scaling_groups, d.node_instances,
                            {{"pair", {.instances = 3}}}, ids);
  REQUIRE_MESSAGE(r.ok(), r.status().ToString());
  CHECK(r->group_counts == std::map<std::string, int>{{"pair", 3}});
  CHECK(CountByNode(r->added) == std::map<std::string, int>{{"app", 1}, {"ip", 1}, {"vm", 1}});
  CHECK(r->extended.empty());  // the old ips stay with their own vms
  const model::NodeInstance* vm = nullptr;
  const model::NodeInstance* ip = nullptr;
  for (const auto& i : r->added) {
    if (i.node_id == "vm") {
      vm = &i;
    } else if (i.node_id == "ip") {
      ip = &i;
    }
  }
  REQUIRE(vm != nullptr);
  REQUIRE(ip != nullptr);
  REQUIRE(ip->relationships.size() == 1);
  CHECK(ip->relationships[0].target_id == vm->id);
  REQUIRE(vm->scaling_groups.size() == 1);
  REQUIRE(ip->scaling_groups.size() == 1);
  CHECK(ip->scaling_groups[0] == vm->scaling_groups[0]);
  CHECK(vm->scaling_groups[0].name == "pair");
  for (const auto& old : d.node_instances) {
    for (const auto& g : old.scaling_groups) {
      CHECK(g.id != vm->scaling_groups[0].id);
    }
  }

  auto in = ModifyDeployment(d.nodes, d.plan.scaling_groups, d.node_instances,
                             {{"pair", {.instances = 1}}}, ids);
  REQUIRE(in.ok());
  CHECK(CountByNode(in->removed) == std::map<std::string, int>{{"app", 1}, {"ip", 1}, {"vm", 1}});
  std::set<std::string> groups;
  for (const auto& i : in->removed) {
    groups.insert(i.scaling_groups.empty() ? i.id : i.scaling_groups[0].id);
  }
  CHECK(groups.size() <= 2);  // app carries its vm's group through containment
  CHECK(in->reduced.empty());
}

TEST_CASE("Modify deployment: unknown entities and negative counts are refused") {
  IdGenerator ids(11);
  DeploymentPlan d = Prepare(kTopology, ids);
  auto unknown = ModifyDeployment(d.nodes, d.plan.scaling_groups, d.node_instances,
                                  {{"nope", {.instances = 1}}}, ids);
  CHECK(unknown.status().code() == ErrorCode::kBadParameters);
  CHECK(unknown.status().message().find("nope") != std::string::npos);
  auto negative = ModifyDeployment(d.nodes, d.plan.scaling_groups, d.node_instances,
                                   {{"db", {.instances = -1}}}, ids);
  CHECK(negative.status().code() == ErrorCode::kBadParameters);
}

}  // namespace cloudify::dsl
