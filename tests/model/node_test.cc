#include "cloudify/model/node.h"

#include <vector>

#include <doctest/doctest.h>

namespace cloudify::model {
namespace {

TEST_CASE("node instance states carry the original's names in lifecycle order") {
  const std::vector<std::string_view> names = {
      "uninitialized", "initializing", "creating", "created", "configuring", "configured",
      "starting",      "started",      "stopping", "stopped", "deleting",    "deleted"};
  for (size_t i = 0; i < names.size(); ++i) {
    auto state = static_cast<NodeInstanceState>(i);
    CHECK(NodeInstanceStateName(state) == names[i]);
    CHECK(*ParseNodeInstanceState(names[i]) == state);
  }
  CHECK_FALSE(ParseNodeInstanceState("running").has_value());
}

TEST_CASE("a new node instance is uninitialized at the initial version") {
  NodeInstance ni;
  CHECK(ni.state == NodeInstanceState::kUninitialized);
  CHECK(ni.version == NodeInstance::kInitialVersion);
  CHECK(ni.version == 1);
  CHECK(ni.runtime_properties.is_object());
  CHECK(ni.runtime_properties.empty());
}

TEST_CASE("a stale version is a conflict, the current or a newer one is accepted") {
  CHECK(CheckNodeInstanceVersion("vm_abc123", 3, 3).ok());
  CHECK(CheckNodeInstanceVersion("vm_abc123", 3, 4).ok());
  Status stale = CheckNodeInstanceVersion("vm_abc123", 3, 2);
  CHECK(stale.code() == ErrorCode::kConflict);
  CHECK(stale.message().find("current version=3") != std::string::npos);
  CHECK(stale.message().find("update version=2") != std::string::npos);
  CHECK(stale.message().find("vm_abc123") != std::string::npos);
  CHECK(CheckNodeInstanceVersion("vm_abc123", 3, -1).code() == ErrorCode::kBadParameters);
}

TEST_CASE("a node's id is its template's name") {
  Node node;
  node.spec.id = "web";
  CHECK(node.id() == "web");
  CHECK(node.max_number_of_instances == ScalableProperties::kUnbounded);
}

}  // namespace
}  // namespace cloudify::model
