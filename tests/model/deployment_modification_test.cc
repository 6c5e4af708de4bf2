#include "cloudify/model/deployment_modification.h"

#include <doctest/doctest.h>

namespace cloudify::model {
namespace {

using nlohmann::json;

TEST_CASE("deployment modification statuses: every name round-trips, unknown names do not") {
  for (auto s : {DeploymentModificationStatus::kStarted, DeploymentModificationStatus::kFinished,
                 DeploymentModificationStatus::kRolledback}) {
    CHECK(*ParseDeploymentModificationStatus(DeploymentModificationStatusName(s)) == s);
  }
  CHECK(DeploymentModificationStatusName(DeploymentModificationStatus::kRolledback) ==
        "rolledback");
  CHECK_FALSE(ParseDeploymentModificationStatus("rolled_back").has_value());
  CHECK(DeploymentModification{}.status == DeploymentModificationStatus::kStarted);
}

TEST_CASE("a node instance as a modification holds it: the REST shape, read back unchanged") {
  NodeInstance instance;
  instance.id = "web_a1b2c3";
  instance.node_id = "web";
  instance.deployment_id = "d1";
  instance.host_id = "vm_x9y8z7";
  instance.index = 3;
  instance.state = NodeInstanceState::kStarted;
  instance.version = 7;
  instance.runtime_properties = {{"ip", "10.0.0.7"}};
  instance.relationships = {{"vm_x9y8z7", "vm", "cloudify.relationships.contained_in"}};
  instance.scaling_groups = {{"group", "group_q1w2e3"}};
  json j = NodeInstanceToJson(instance);
  CHECK(j["state"] == "started");
  CHECK(j["relationships"][0]["target_name"] == "vm");
  CHECK(j["scaling_groups"][0] == json{{"name", "group"}, {"id", "group_q1w2e3"}});
  auto back = NodeInstanceFromJson(j);
  REQUIRE(back.ok());
  CHECK(*back == instance);

  // Absent fields take the defaults of a new instance; a null host is no host.
  auto minimal = NodeInstanceFromJson({{"id", "x_1"}, {"host_id", nullptr}});
  REQUIRE(minimal.ok());
  CHECK(minimal->state == NodeInstanceState::kUninitialized);
  CHECK(minimal->version == NodeInstance::kInitialVersion);
  CHECK_FALSE(minimal->host_id.has_value());
}

TEST_CASE("a malformed node instance dict is refused, naming what is wrong") {
  auto not_object = NodeInstanceFromJson(json::array());
  CHECK(not_object.status().code() == ErrorCode::kBadParameters);
  auto no_id = NodeInstanceFromJson({{"node_id", "web"}});
  CHECK(no_id.status().code() == ErrorCode::kBadParameters);
  CHECK(no_id.status().message().find("`id`") != std::string::npos);
  auto bad_state = NodeInstanceFromJson({{"id", "web_1"}, {"state", "sleeping"}});
  CHECK(bad_state.status().code() == ErrorCode::kBadParameters);
  CHECK(bad_state.status().message().find("web_1") != std::string::npos);
  auto bad_version = NodeInstanceFromJson({{"id", "web_1"}, {"version", "seven"}});
  CHECK(bad_version.status().code() == ErrorCode::kBadParameters);
}

}  // namespace
}  // namespace cloudify::model
