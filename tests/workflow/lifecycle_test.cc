#include "cloudify/workflow/lifecycle.h"

#include <algorithm>
#include <map>
#include <string>
#include <vector>

#include <doctest/doctest.h>
#include <nlohmann/json.hpp>

namespace cloudify::workflow {
namespace {

using model::NodeInstanceState;
using State = NodeInstanceState;

const std::string kCreate = "cloudify.interfaces.lifecycle.create";
const std::string kConfigure = "cloudify.interfaces.lifecycle.configure";
const std::string kStart = "cloudify.interfaces.lifecycle.start";
const std::string kStop = "cloudify.interfaces.lifecycle.stop";
const std::string kDelete = "cloudify.interfaces.lifecycle.delete";
const std::string kPreconfigure = "cloudify.interfaces.relationship_lifecycle.preconfigure";
const std::string kEstablish = "cloudify.interfaces.relationship_lifecycle.establish";
const std::string kUnlink = "cloudify.interfaces.relationship_lifecycle.unlink";

model::OperationSpec Impl(std::string implementation) {
  model::OperationSpec op;
  op.implementation = std::move(implementation);
  return op;
}

model::Node MakeNode(std::string id, std::vector<std::string> ops) {
  model::Node node;
  node.spec.id = std::move(id);
  for (auto& op : ops) {
    node.spec.operations[op] = Impl("scripts/" + op + ".sh");
  }
  return node;
}

model::RelationshipSpec Rel(std::string type, std::string target,
                            std::vector<std::string> source_ops = {},
                            std::vector<std::string> target_ops = {}) {
  model::RelationshipSpec rel;
  rel.type = std::move(type);
  rel.target_id = std::move(target);
  for (auto& op : source_ops) {
    rel.source_operations[op] = Impl("s.sh");
  }
  for (auto& op : target_ops) {
    rel.target_operations[op] = Impl("t.sh");
  }
  return rel;
}

model::NodeInstance Instance(std::string id, std::string node,
                             State state = State::kUninitialized) {
  model::NodeInstance ni;
  ni.id = std::move(id);
  ni.node_id = std::move(node);
  ni.state = state;
  return ni;
}

void Link(model::NodeInstance& source, const model::NodeInstance& target, std::string type) {
  source.relationships.push_back({target.id, target.node_id, std::move(type)});
}

// The graph's tasks in an execution order, for asserting "a runs before b".
struct Ordered {
  explicit Ordered(const TaskGraph& g) : graph(g) {
    auto order = g.TopologicalOrder();
    REQUIRE_MESSAGE(order.ok(), order.status().ToString());
    for (size_t i = 0; i < order->size(); ++i) {
      position[(*order)[i]] = i;
    }
  }
  // Position of the (first) task matching.
  size_t Pos(const std::string& instance, TaskKind kind, const std::string& name,
             State state = State::kUninitialized) const {
    for (const auto& t : graph.tasks) {
      if (t.node_instance_id == instance && t.kind == kind &&
          (kind == TaskKind::kSetNodeState ? t.state == state : t.name == name)) {
        return position.at(t.id);
      }
    }
    FAIL("no task " << name << " for " << instance);
    return 0;
  }
  size_t Op(const std::string& instance, const std::string& name) const {
    return Pos(instance, TaskKind::kOperation, name);
  }
  size_t SetState(const std::string& instance, State s) const {
    return Pos(instance, TaskKind::kSetNodeState, "", s);
  }
  int Count(const std::string& instance, TaskKind kind, const std::string& name = "") const {
    return static_cast<int>(std::count_if(graph.tasks.begin(), graph.tasks.end(), [&](auto& t) {
      return t.node_instance_id == instance && t.kind == kind && (name.empty() || t.name == name);
    }));
  }
  const TaskGraph& graph;
  std::map<std::string, size_t> position;
};

struct VmApp {
  std::vector<model::Node> nodes;
  model::NodeInstance vm = Instance("vm_1", "vm");
  model::NodeInstance app = Instance("app_1", "app");
  VmApp() {
    nodes.push_back(MakeNode("vm", {kCreate, kConfigure, kStart, kStop, kDelete}));
    nodes.push_back(MakeNode("app", {kCreate, kConfigure, kStart, kStop, kDelete}));
    nodes[1].spec.relationships.push_back(
        Rel("cloudify.relationships.contained_in", "vm", {kPreconfigure, kEstablish, kUnlink}));
    Link(app, vm, "cloudify.relationships.contained_in");
  }
  LifecycleScope Scope() { return {.nodes = &nodes, .instances = {&vm, &app}}; }
};

TEST_CASE("install runs each instance's lifecycle in order with its state changes") {
  VmApp d;
  auto graph = BuildInstallGraph(d.Scope());
  REQUIRE(graph.ok());
  CHECK(graph->name == "install");
  Ordered o(*graph);
  for (const char* id : {"vm_1", "app_1"}) {
    CAPTURE(id);
    CHECK(o.SetState(id, State::kInitializing) < o.SetState(id, State::kCreating));
    CHECK(o.SetState(id, State::kCreating) < o.Op(id, kCreate));
    CHECK(o.Op(id, kCreate) < o.SetState(id, State::kCreated));
    CHECK(o.SetState(id, State::kCreated) < o.SetState(id, State::kConfiguring));
    CHECK(o.SetState(id, State::kConfiguring) < o.Op(id, kConfigure));
    CHECK(o.Op(id, kConfigure) < o.SetState(id, State::kConfigured));
    CHECK(o.SetState(id, State::kConfigured) < o.SetState(id, State::kStarting));
    CHECK(o.SetState(id, State::kStarting) < o.Op(id, kStart));
    CHECK(o.Op(id, kStart) < o.SetState(id, State::kStarted));
    CHECK(o.Count(id, TaskKind::kOperation, kStop) == 0);
  }
}

TEST_CASE("install: the whole target instance finishes before its source begins") {
  VmApp d;
  auto graph = BuildInstallGraph(d.Scope());
  REQUIRE(graph.ok());
  Ordered o(*graph);
  CHECK(o.SetState("vm_1", State::kStarted) < o.SetState("app_1", State::kInitializing));
  // The relationship's source operations run for app, between its own lifecycle steps.
  CHECK(o.SetState("app_1", State::kCreated) < o.Op("app_1", kPreconfigure));
  CHECK(o.Op("app_1", kPreconfigure) < o.Op("app_1", kConfigure));
  CHECK(o.Op("app_1", kStart) < o.Op("app_1", kEstablish));
  CHECK(o.Op("app_1", kEstablish) < o.SetState("app_1", State::kStarted));
}

TEST_CASE("uninstall reverses the order: sources go first, unlink before delete") {
  VmApp d;
  d.vm.state = d.app.state = State::kStarted;
  auto graph = BuildUninstallGraph(d.Scope());
  REQUIRE(graph.ok());
  CHECK(graph->name == "uninstall");
  Ordered o(*graph);
  CHECK(o.SetState("app_1", State::kDeleted) < o.SetState("vm_1", State::kStopping));
  CHECK(o.SetState("app_1", State::kStopping) < o.Op("app_1", kStop));
  CHECK(o.Op("app_1", kStop) < o.SetState("app_1", State::kStopped));
  CHECK(o.SetState("app_1", State::kStopped) < o.Op("app_1", kUnlink));
  CHECK(o.Op("app_1", kUnlink) < o.SetState("app_1", State::kDeleting));
  CHECK(o.SetState("app_1", State::kDeleting) < o.Op("app_1", kDelete));
  CHECK(o.Op("app_1", kDelete) < o.SetState("app_1", State::kDeleted));
  CHECK(o.Count("app_1", TaskKind::kOperation, kCreate) == 0);
}

TEST_CASE("install skips what the instance's state says is done") {
  VmApp d;
  d.vm.state = State::kStarted;
  d.app.state = State::kConfigured;
  auto graph = BuildInstallGraph(d.Scope());
  REQUIRE(graph.ok());
  Ordered o(*graph);
  CHECK(o.Count("vm_1", TaskKind::kOperation) == 0);
  CHECK(o.Count("vm_1", TaskKind::kSetNodeState) == 0);
  CHECK(o.Count("vm_1", TaskKind::kNodeEvent) == 1);  // "nothing to do"
  CHECK(o.Count("app_1", TaskKind::kOperation, kCreate) == 0);
  CHECK(o.Count("app_1", TaskKind::kOperation, kConfigure) == 0);
  CHECK(o.Count("app_1", TaskKind::kOperation, kStart) == 1);
}

TEST_CASE("an instance uninstalled or stopped is installed again from create") {
  for (State s : {State::kDeleted, State::kStopped, State::kStopping, State::kDeleting}) {
    CAPTURE(model::NodeInstanceStateName(s));
    VmApp d;
    d.vm.state = s;
    d.app.state = s;
    auto graph = BuildInstallGraph(d.Scope());
    REQUIRE(graph.ok());
    Ordered o(*graph);
    CHECK(o.Count("vm_1", TaskKind::kOperation, kCreate) == 1);
    CHECK(o.Count("app_1", TaskKind::kOperation, kConfigure) == 1);
  }
}

TEST_CASE("uninstall unlinks an instance even when its stop part is already done") {
  VmApp d;
  d.vm.state = State::kStarted;
  d.app.state = State::kStopped;
  auto graph = BuildUninstallGraph(d.Scope());
  REQUIRE(graph.ok());
  Ordered o(*graph);
  CHECK(o.Count("app_1", TaskKind::kOperation, kStop) == 0);
  CHECK(o.Count("app_1", TaskKind::kOperation, kUnlink) == 1);
  CHECK(o.Op("app_1", kUnlink) < o.Op("app_1", kDelete));
}

TEST_CASE("operations without an implementation are left out, an empty node just starts") {
  std::vector<model::Node> nodes = {MakeNode("empty", {}), MakeNode("partial", {kStart})};
  nodes[1].spec.operations[kCreate] = model::OperationSpec{};  // declared, no implementation
  auto empty = Instance("empty_1", "empty");
  auto partial = Instance("partial_1", "partial");
  auto graph = BuildInstallGraph({.nodes = &nodes, .instances = {&empty, &partial}});
  REQUIRE(graph.ok());
  Ordered o(*graph);
  CHECK(o.Count("empty_1", TaskKind::kOperation) == 0);
  CHECK(o.Count("empty_1", TaskKind::kSetNodeState) == 1);
  o.SetState("empty_1", State::kStarted);
  CHECK(o.Count("partial_1", TaskKind::kOperation) == 1);
  CHECK(o.Count("partial_1", TaskKind::kOperation, kCreate) == 0);
  CHECK(o.SetState("partial_1", State::kCreated) < o.Op("partial_1", kStart));
}

TEST_CASE("remote hosts: with an SSH user the agent is installed and removed, without one a note") {
  const std::string agent_create = "cloudify.interfaces.cloudify_agent.create";
  const std::string agent_start = "cloudify.interfaces.cloudify_agent.start";
  const std::string agent_delete = "cloudify.interfaces.cloudify_agent.delete";
  auto host = [&](std::string id, nlohmann::json agent_config) {
    model::Node node = MakeNode(std::move(id), {});
    node.spec.type_hierarchy = {"cloudify.nodes.Root", "cloudify.nodes.Compute"};
    node.spec.properties = {{"agent_config", std::move(agent_config)}};
    for (const auto& op : {agent_create, agent_start, agent_delete}) {
      node.spec.operations[op] = Impl("agent.cloudify_agent.installer.operations.x");
    }
    return node;
  };
  std::vector<model::Node> nodes = {
      host("ssh", {{"install_method", "remote"}, {"user", "centos"}}),
      host("secret", {{"install_method", "remote"}, {"extra", {{"user", {{"get_secret", "u"}}}}}}),
      host("central", {{"install_method", "remote"}, {"user", ""}}),
      host("none", {{"install_method", "none"}, {"user", "centos"}})};
  std::vector<model::NodeInstance> instances = {
      Instance("ssh_1", "ssh"), Instance("secret_1", "secret"), Instance("central_1", "central"),
      Instance("none_1", "none")};
  LifecycleScope scope{.nodes = &nodes};
  for (auto& i : instances) {
    scope.instances.push_back(&i);
  }
  auto install = BuildInstallGraph(scope);
  REQUIRE(install.ok());
  Ordered o(*install);
  for (const char* id : {"ssh_1", "secret_1"}) {
    CHECK(o.Op(id, agent_create) < o.Op(id, agent_start));
    CHECK(o.Count(id, TaskKind::kNodeEvent) == 0);
  }
  CHECK(o.Count("central_1", TaskKind::kOperation) == 0);
  REQUIRE(o.Count("central_1", TaskKind::kNodeEvent) == 1);
  for (const auto& t : install->tasks) {
    if (t.node_instance_id == "central_1" && t.kind == TaskKind::kNodeEvent) {
      CHECK(t.message.find("no user to log in with over SSH") != std::string::npos);
    }
  }
  CHECK(o.Count("none_1", TaskKind::kOperation) == 0);
  CHECK(o.Count("none_1", TaskKind::kNodeEvent) == 0);

  for (auto& i : instances) {
    i.state = State::kStarted;
  }
  auto uninstall = BuildUninstallGraph(scope);
  REQUIRE(uninstall.ok());
  Ordered u(*uninstall);
  CHECK(u.Count("ssh_1", TaskKind::kOperation, agent_delete) == 1);
  CHECK(u.Count("central_1", TaskKind::kOperation) == 0);
}

TEST_CASE("connected_to: target-side operations run for the target, with the source related") {
  std::vector<model::Node> nodes = {MakeNode("db", {kCreate}), MakeNode("app", {kCreate})};
  nodes[1].spec.relationships.push_back(
      Rel("cloudify.relationships.connected_to", "db", {kPreconfigure}, {kEstablish}));
  auto db = Instance("db_1", "db");
  auto app1 = Instance("app_1", "app");
  auto app2 = Instance("app_2", "app");
  Link(app1, db, "cloudify.relationships.connected_to");
  Link(app2, db, "cloudify.relationships.connected_to");
  auto graph = BuildInstallGraph({.nodes = &nodes, .instances = {&db, &app1, &app2}});
  REQUIRE(graph.ok());
  Ordered o(*graph);
  int target_side = 0;
  for (const auto& t : graph->tasks) {
    if (t.kind == TaskKind::kOperation && t.name == kEstablish) {
      CHECK(t.side == RelationshipSide::kTarget);
      CHECK(t.node_instance_id == "db_1");
      CHECK((t.related_instance_id == "app_1" || t.related_instance_id == "app_2"));
      ++target_side;
    }
    if (t.kind == TaskKind::kOperation && t.name == kPreconfigure) {
      CHECK(t.side == RelationshipSide::kSource);
      CHECK(t.related_instance_id == "db_1");
    }
  }
  CHECK(target_side == 2);
  CHECK(o.SetState("db_1", State::kStarted) < o.SetState("app_1", State::kInitializing));
  CHECK(o.SetState("db_1", State::kStarted) < o.SetState("app_2", State::kInitializing));
}

TEST_CASE("scaling out: existing sources establish their links to the new target") {
  std::vector<model::Node> nodes = {MakeNode("db", {kCreate}), MakeNode("app", {kCreate})};
  nodes[1].spec.relationships.push_back(
      Rel("cloudify.relationships.connected_to", "db", {kEstablish, kUnlink}));
  auto new_db = Instance("db_2", "db");
  auto old_app = Instance("app_1", "app", State::kStarted);
  Link(old_app, new_db, "cloudify.relationships.connected_to");
  auto install =
      BuildInstallGraph({.nodes = &nodes, .instances = {&new_db}, .related = {&old_app}});
  REQUIRE(install.ok());
  Ordered o(*install);
  CHECK(o.Count("app_1", TaskKind::kOperation, kEstablish) == 1);
  CHECK(o.Count("app_1", TaskKind::kSetNodeState) == 0);  // the old instance is left as it is
  CHECK(o.SetState("db_2", State::kStarted) < o.Op("app_1", kEstablish));

  new_db.state = State::kStarted;
  auto uninstall =
      BuildUninstallGraph({.nodes = &nodes, .instances = {&new_db}, .related = {&old_app}});
  REQUIRE(uninstall.ok());
  Ordered u(*uninstall);
  CHECK(u.Op("app_1", kUnlink) < u.SetState("db_2", State::kDeleted));
}

TEST_CASE("a chain of many instances stays ordered and is built in linear time") {
  // vm <- n1 <- n2 <- ... : each contained in the previous.
  const int kDepth = 2000;
  std::vector<model::Node> nodes;
  std::vector<model::NodeInstance> instances;
  nodes.push_back(MakeNode("n0", {kCreate}));
  instances.push_back(Instance("n0_1", "n0"));
  for (int i = 1; i < kDepth; ++i) {
    nodes.push_back(MakeNode("n" + std::to_string(i), {kCreate}));
    nodes.back().spec.relationships.push_back(
        Rel("cloudify.relationships.contained_in", "n" + std::to_string(i - 1)));
    instances.push_back(Instance("n" + std::to_string(i) + "_1", "n" + std::to_string(i)));
    Link(instances.back(), instances[instances.size() - 2], "cloudify.relationships.contained_in");
  }
  LifecycleScope scope{.nodes = &nodes};
  for (auto& ni : instances) {
    scope.instances.push_back(&ni);
  }
  auto graph = BuildInstallGraph(scope);
  REQUIRE(graph.ok());
  Ordered o(*graph);
  for (int i = 1; i < kDepth; i += 97) {
    std::string prev = "n" + std::to_string(i - 1) + "_1";
    std::string cur = "n" + std::to_string(i) + "_1";
    CHECK(o.SetState(prev, State::kStarted) < o.Op(cur, kCreate));
  }
}

TEST_CASE("an instance of an unknown node is bad parameters") {
  std::vector<model::Node> nodes = {MakeNode("vm", {kCreate})};
  auto stray = Instance("x_1", "x");
  auto graph = BuildInstallGraph({.nodes = &nodes, .instances = {&stray}});
  REQUIRE_FALSE(graph.ok());
  CHECK(graph.status().code() == ErrorCode::kBadParameters);
  CHECK(graph.status().message().find("'x'") != std::string::npos);
  CHECK(BuildInstallGraph({}).status().code() == ErrorCode::kBadParameters);
}

}  // namespace
}  // namespace cloudify::workflow
