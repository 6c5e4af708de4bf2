#include "cloudify/dsl/parser.h"

#include <filesystem>

#include <doctest/doctest.h>

#include "cloudify/dsl/deployment_plan.h"

namespace cloudify::dsl {
namespace {

TEST_CASE("Parser: the shared webapp blueprint") {
  auto plan = ParseBlueprintFile(std::filesystem::path(CLOUDIFY_SHARED_DIR) /
                                 "blueprints/webapp/blueprint.yaml");
  INFO(plan.status().ToString());
  REQUIRE(plan.ok());
  CHECK(plan->nodes.size() == 3);
  IdGenerator ids(1);
  auto dep = PrepareDeploymentPlan(*plan, nlohmann::json::object(), ids);
  INFO(dep.status().ToString());
  REQUIRE(dep.ok());
  CHECK(dep->node_instances.size() == 4);
  for (auto& ni : dep->node_instances)
    MESSAGE(ni.id << " host " << ni.host_id.value_or("-") << " rels " << ni.relationships.size());
  MESSAGE(dep->plan.outputs.at("endpoint").value.dump());
  MESSAGE(dep->plan.FindNode("app")
              ->operations.at("cloudify.interfaces.lifecycle.create")
              .inputs.dump());
}

}  // namespace
}  // namespace cloudify::dsl
