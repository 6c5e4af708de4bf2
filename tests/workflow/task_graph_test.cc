#include "cloudify/workflow/task_graph.h"

#include <algorithm>

#include <doctest/doctest.h>

namespace cloudify::workflow {
namespace {

GraphTask Task(std::string id, std::vector<std::string> deps = {}, std::string subgraph = {},
               TaskKind kind = TaskKind::kOperation) {
  GraphTask t;
  t.id = std::move(id);
  t.kind = kind;
  t.dependencies = std::move(deps);
  t.containing_subgraph = std::move(subgraph);
  return t;
}

size_t Pos(const std::vector<std::string>& order, const std::string& id) {
  return static_cast<size_t>(std::find(order.begin(), order.end(), id) - order.begin());
}

TEST_CASE("topological order puts dependencies, subgraphs and their members first") {
  TaskGraph g;
  g.name = "t";
  g.tasks = {Task("after", {"sub"}), Task("m2", {"m1"}, "sub"), Task("m1", {}, "sub"),
             Task("sub", {}, {}, TaskKind::kSubgraph), Task("free")};
  auto order = g.TopologicalOrder();
  REQUIRE(order.ok());
  CHECK(order->size() == 5);
  CHECK(Pos(*order, "sub") < Pos(*order, "m1"));
  CHECK(Pos(*order, "m1") < Pos(*order, "m2"));
  // Waiting for a subgraph is waiting for all of its members.
  CHECK(Pos(*order, "m2") < Pos(*order, "after"));
  CHECK(g.Find("m1") != nullptr);
  CHECK(g.Find("nope") == nullptr);
}

TEST_CASE("cycles, dangling dependencies and duplicate ids are reported") {
  TaskGraph cycle;
  cycle.name = "c";
  cycle.tasks = {Task("a", {"b"}), Task("b", {"a"})};
  CHECK(cycle.TopologicalOrder().status().code() == ErrorCode::kInternal);
  CHECK(cycle.TopologicalOrder().status().message().find("cycle") != std::string::npos);

  TaskGraph dangling;
  dangling.tasks = {Task("a", {"ghost"})};
  CHECK(dangling.TopologicalOrder().status().message().find("ghost") != std::string::npos);

  TaskGraph twice;
  twice.tasks = {Task("a"), Task("a")};
  CHECK_FALSE(twice.TopologicalOrder().ok());
}

TEST_CASE("task kinds carry the original's type names") {
  CHECK(TaskKindName(TaskKind::kSubgraph) == "SubgraphTask");
  CHECK(TaskKindName(TaskKind::kSetNodeState) == "SetNodeInstanceStateTask");
  CHECK(TaskKindName(TaskKind::kNodeEvent) == "SendNodeEventTask");
}

}  // namespace
}  // namespace cloudify::workflow
