#include "cloudify/model/plan.h"

#include <doctest/doctest.h>

namespace cloudify::model {
namespace {

RelationshipSpec Rel(std::string type, std::vector<std::string> hierarchy) {
  RelationshipSpec r;
  r.type = std::move(type);
  r.type_hierarchy = std::move(hierarchy);
  return r;
}

TEST_CASE("contained_in is found through the type hierarchy") {
  NodeTemplate app;
  app.id = "app";
  app.relationships.push_back(
      Rel("cloudify.relationships.connected_to",
          {"cloudify.relationships.depends_on", "cloudify.relationships.connected_to"}));
  CHECK(app.ContainedIn() == nullptr);
  app.relationships.push_back(
      Rel("my.hosted_on", {"cloudify.relationships.depends_on",
                           "cloudify.relationships.contained_in", "my.hosted_on"}));
  REQUIRE(app.ContainedIn() != nullptr);
  CHECK(app.ContainedIn()->type == "my.hosted_on");
}

TEST_CASE("Compute nodes are recognised through the hierarchy") {
  NodeTemplate vm;
  vm.type = "my.VM";
  vm.type_hierarchy = {"cloudify.nodes.Root", "cloudify.nodes.Compute", "my.VM"};
  CHECK(vm.IsCompute());
  NodeTemplate app;
  app.type = "cloudify.nodes.WebServer";
  app.type_hierarchy = {"cloudify.nodes.Root", "cloudify.nodes.SoftwareComponent",
                        "cloudify.nodes.WebServer"};
  CHECK_FALSE(app.IsCompute());
}

TEST_CASE("connection_type defaults to all_to_all and reads all_to_one") {
  RelationshipSpec r = Rel("cloudify.relationships.connected_to", {});
  CHECK(r.connection_type() == ConnectionType::kAllToAll);
  r.properties["connection_type"] = "all_to_one";
  CHECK(r.connection_type() == ConnectionType::kAllToOne);
  CHECK(ConnectionTypeName(ConnectionType::kAllToOne) == "all_to_one");
}

TEST_CASE("executors have the original's names") {
  CHECK(ExecutorName(Executor::kCentralDeploymentAgent) == "central_deployment_agent");
  CHECK(*ParseExecutor("host_agent") == Executor::kHostAgent);
  CHECK(*ParseExecutor("auto") == Executor::kAuto);
  CHECK_FALSE(ParseExecutor("remote").has_value());
}

TEST_CASE("operations without an implementation are no-ops") {
  OperationSpec op;
  CHECK(op.IsNoOp());
  op.implementation = "scripts/create.sh";
  CHECK_FALSE(op.IsNoOp());
}

TEST_CASE("DSL defaults: parameters are required, scalable defaults are 1/0/unbounded") {
  ParameterSchema p;
  CHECK(p.required);
  CHECK_FALSE(p.default_value.has_value());
  ScalableProperties s;
  CHECK(s.default_instances == 1);
  CHECK(s.min_instances == 0);
  CHECK(s.max_instances == ScalableProperties::kUnbounded);
}

TEST_CASE("a plan finds its nodes by name") {
  Plan plan;
  plan.nodes.resize(2);
  plan.nodes[0].id = "vm";
  plan.nodes[1].id = "app";
  REQUIRE(plan.FindNode("app") != nullptr);
  CHECK(plan.FindNode("app") == &plan.nodes[1]);
  CHECK(plan.FindNode("db") == nullptr);
}

}  // namespace
}  // namespace cloudify::model
