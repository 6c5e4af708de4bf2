// scale and heal through the Manager facade with C++ handlers: instance counts, deployment
// modification records, and which operations ran in what order.
#include <algorithm>
#include <fstream>
#include <mutex>
#include <set>
#include <thread>

#include <doctest/doctest.h>

#include "cloudify/manager.h"

#include "support/temp_dir.h"

namespace cloudify {
namespace {

using nlohmann::json;
using std::chrono::milliseconds;
using std::chrono::seconds;
namespace fs = std::filesystem;

// vm hosts app; lb is connected to every app; db stands apart.
constexpr const char* kBlueprint = R"(
tosca_definitions_version: cloudify_dsl_1_4
imports:
  - http://cloudify.co/spec/cloudify/6.4.0/types.yaml
plugins:
  p:
    executor: central_deployment_agent
    install: false
node_templates:
  vm:
    type: cloudify.nodes.Compute
    properties: {agent_config: {install_method: none}}
    interfaces:
      cloudify.interfaces.lifecycle:
        create: p.tasks.op
        start: p.tasks.op
        stop: p.tasks.op
        delete: p.tasks.op
      cloudify.interfaces.validation:
        check_status: p.tasks.op
  app:
    type: cloudify.nodes.ApplicationModule
    interfaces:
      cloudify.interfaces.lifecycle:
        create: p.tasks.op
        start: p.tasks.op
        stop: p.tasks.op
        delete: p.tasks.op
        preheal: p.tasks.op
        heal: p.tasks.op
        postheal: p.tasks.op
      cloudify.interfaces.validation:
        check_status: p.tasks.op
    relationships:
      - {type: cloudify.relationships.contained_in, target: vm}
  lb:
    type: cloudify.nodes.Root
    interfaces:
      cloudify.interfaces.lifecycle:
        create: p.tasks.op
    relationships:
      - type: cloudify.relationships.connected_to
        target: app
        source_interfaces:
          cloudify.interfaces.relationship_lifecycle:
            establish: p.tasks.rel
            unlink: p.tasks.rel
  db:
    type: cloudify.nodes.DBMS
    interfaces:
      cloudify.interfaces.lifecycle:
        create: p.tasks.op
      cloudify.interfaces.validation:
        check_status: p.tasks.op
)";

struct Fixture {
  testing::TempDir tmp;
  std::unique_ptr<Manager> manager;
  storage::CallerContext caller = storage::CallerContext::System();
  std::mutex mu;
  std::vector<std::string> log;       // "<op>:<instance>" / "<op>:<source>-><target>"
  std::set<std::string> fail_for;     // instances whose create fails (non-recoverable)
  std::set<std::string> unhealthy;    // instances whose check_status fails
  std::set<std::string> heal_fails;   // instances whose heal operation fails
  bool fail_new_creates = false;      // creates of instances not in `known` fail
  std::atomic<bool> hold_new{false};  // operations of new instances wait while set
  std::atomic<int> held{0};
  std::set<std::string> known;

  Fixture() {
    ManagerOptions options;
    options.data_dir = tmp.path() / "data";
    options.task_retry_interval = milliseconds(1);
    auto m = Manager::Open(options);
    REQUIRE_MESSAGE(m.ok(), m.status().ToString());
    manager = std::move(*m);
    manager->operations().Add("p.tasks.op", [this](workflow::OperationContext& ctx) {
      const std::string op = ctx.operation_name().substr(ctx.operation_name().rfind('.') + 1);
      if (hold_new.load() && known.count(ctx.instance().id()) == 0) {
        ++held;
        while (hold_new.load()) {
          std::this_thread::sleep_for(milliseconds(2));
        }
      }
      std::lock_guard lock(mu);
      log.push_back(op + ":" + ctx.instance().id());
      if (op == "create" && fail_new_creates && known.count(ctx.instance().id()) == 0) {
        ctx.Fail("create refused", false);
      }
      if (op == "check_status" && unhealthy.count(ctx.instance().id()) != 0) {
        ctx.Fail("not responding", false);
      }
      if (op == "heal" && heal_fails.count(ctx.instance().id()) != 0) {
        ctx.Fail("heal refused", false);
      }
    });
    manager->operations().Add("p.tasks.rel", [this](workflow::OperationContext& ctx) {
      const std::string op = ctx.operation_name().substr(ctx.operation_name().rfind('.') + 1);
      std::lock_guard lock(mu);
      log.push_back(op + ":" + ctx.source().id() + "->" + ctx.target().id());
    });
    fs::create_directories(tmp.path() / "bp");
    std::ofstream(tmp.path() / "bp" / "blueprint.yaml") << kBlueprint;
    REQUIRE(manager->UploadBlueprint(caller, "bp", tmp.path() / "bp" / "blueprint.yaml").ok());
    REQUIRE(manager->CreateDeployment(caller, "bp", "d").ok());
    REQUIRE(Run("install").status == model::ExecutionStatus::kTerminated);
    for (const auto& i : Instances()) {
      known.insert(i.id);
    }
    std::lock_guard lock(mu);
    log.clear();
  }

  model::Execution Run(const std::string& workflow, const json& params = json::object()) {
    auto started = manager->StartExecution(caller, "d", workflow, params);
    REQUIRE_MESSAGE(started.ok(), started.status().ToString());
    auto ended = manager->WaitForExecution(caller, started->id, seconds(30));
    REQUIRE_MESSAGE(ended.ok(), ended.status().ToString());
    return *ended;
  }

  std::vector<model::NodeInstance> Instances(const std::string& node = "") {
    storage::ListQuery q;
    q.get_all_results = true;
    q.filters = {{"deployment_id", {"d"}}};
    if (!node.empty()) {
      q.filters["node_id"] = {node};
    }
    auto page = manager->store().ListNodeInstances(caller, q);
    REQUIRE(page.ok());
    return page->items;
  }

  model::NodeInstance Only(const std::string& node) {
    auto items = Instances(node);
    REQUIRE(items.size() == 1);
    return items.front();
  }

  std::vector<model::DeploymentModification> Modifications() {
    storage::ListQuery q;
    q.filters = {{"deployment_id", {"d"}}};
    auto page = manager->store().ListDeploymentModifications(caller, q);
    REQUIRE(page.ok());
    return page->items;
  }

  int Position(const std::string& entry) {
    std::lock_guard lock(mu);
    auto it = std::find(log.begin(), log.end(), entry);
    return it == log.end() ? -1 : static_cast<int>(it - log.begin());
  }

  size_t Count(const std::string& prefix) {
    std::lock_guard lock(mu);
    return static_cast<size_t>(std::count_if(
        log.begin(), log.end(), [&](const std::string& e) { return e.rfind(prefix, 0) == 0; }));
  }
};

}  // namespace

TEST_CASE("scale out a contained node: new instances installed, related sources established") {
  Fixture f;
  const std::string lb = f.Only("lb").id;
  auto ex = f.Run("scale", {{"scalable_entity_name", "app"}, {"delta", 2}});
  REQUIRE_MESSAGE(ex.status == model::ExecutionStatus::kTerminated, ex.error);

  auto apps = f.Instances("app");
  REQUIRE(apps.size() == 3);
  const std::string vm = f.Only("vm").id;
  std::vector<std::string> added;
  for (const auto& app : apps) {
    CHECK(app.state == model::NodeInstanceState::kStarted);
    CHECK(app.host_id == vm);
    if (f.known.count(app.id) == 0) {
      added.push_back(app.id);
    }
  }
  REQUIRE(added.size() == 2);
  auto node = f.manager->store().GetNode(f.caller, "d", "app");
  REQUIRE(node.ok());
  CHECK(node->number_of_instances == 3);
  CHECK(node->planned_number_of_instances == 3);

  // Only the new apps ran create/start; the lb established each after its app started.
  CHECK(f.Count("create:") == 2);
  CHECK(f.Count("start:") == 2);
  CHECK(f.Count("create:vm") == 0);
  for (const auto& id : added) {
    const int start = f.Position("start:" + id);
    const int establish = f.Position("establish:" + lb + "->" + id);
    CHECK(start >= 0);
    CHECK(establish > start);
  }
  CHECK(f.Only("lb").relationships.size() == 3);

  auto mods = f.Modifications();
  REQUIRE(mods.size() == 1);
  CHECK(mods[0].status == model::DeploymentModificationStatus::kFinished);
  CHECK(mods[0].ended_at.has_value());
  CHECK(mods[0].context["execution_id"] == ex.id);
  CHECK(mods[0].modified_nodes["app"]["instances"] == 3);
  int added_count = 0;
  int extended_count = 0;
  for (const auto& i : mods[0].node_instances["added_and_related"]) {
    added_count += i["modification"] == "added" ? 1 : 0;
    extended_count += i["modification"] == "extended" ? 1 : 0;
  }
  CHECK(added_count == 2);
  CHECK(extended_count == 1);  // the lb
  CHECK(mods[0].node_instances["before_modification"].size() == 4);

  // Scale in by two, naming one to remove: unlink before the app goes, rows deleted.
  const std::string victim = added[0];
  {
    std::lock_guard lock(f.mu);
    f.log.clear();
  }
  auto in = f.Run("scale", {{"scalable_entity_name", "app"},
                            {"delta", -2},
                            {"include_instances", json::array({victim})}});
  REQUIRE_MESSAGE(in.status == model::ExecutionStatus::kTerminated, in.error);
  auto left = f.Instances("app");
  REQUIRE(left.size() == 1);
  CHECK(left[0].id != victim);
  CHECK(f.Count("stop:") == 2);
  CHECK(f.Count("delete:") == 2);
  const int unlink = f.Position("unlink:" + lb + "->" + victim);
  CHECK(unlink >= 0);
  CHECK(unlink < f.Position("delete:" + victim));
  auto lb_after = f.Only("lb");
  REQUIRE(lb_after.relationships.size() == 1);
  CHECK(lb_after.relationships[0].target_id == left[0].id);
  CHECK(f.manager->store().GetNode(f.caller, "d", "app")->number_of_instances == 1);
  CHECK(f.Modifications().size() == 2);
}

TEST_CASE("a cancelled scale keeps its modification started and a resume finishes it") {
  Fixture f;
  f.hold_new = true;
  auto ex = f.manager->StartExecution(f.caller, "d", "scale",
                                      {{"scalable_entity_name", "app"}, {"delta", 1}});
  REQUIRE(ex.ok());
  while (f.held.load() == 0) {
    std::this_thread::sleep_for(milliseconds(2));
  }
  REQUIRE(f.manager->CancelExecution(f.caller, ex->id).ok());
  f.hold_new = false;
  auto cancelled = f.manager->WaitForExecution(f.caller, ex->id, seconds(30));
  REQUIRE(cancelled.ok());
  CHECK(cancelled->status == model::ExecutionStatus::kCancelled);
  auto mods = f.Modifications();
  REQUIRE(mods.size() == 1);
  CHECK(mods[0].status == model::DeploymentModificationStatus::kStarted);
  CHECK(f.Instances("app").size() == 2);  // the new one exists, not yet started

  REQUIRE(f.manager->ResumeExecution(f.caller, ex->id).ok());
  auto resumed = f.manager->WaitForExecution(f.caller, ex->id, seconds(30));
  REQUIRE(resumed.ok());
  CHECK_MESSAGE(resumed->status == model::ExecutionStatus::kTerminated, resumed->error);
  mods = f.Modifications();
  REQUIRE(mods.size() == 1);  // the same modification, finished
  CHECK(mods[0].status == model::DeploymentModificationStatus::kFinished);
  auto apps = f.Instances("app");
  REQUIRE(apps.size() == 2);
  for (const auto& a : apps) {
    CHECK(a.state == model::NodeInstanceState::kStarted);
  }
  CHECK(f.Count("create:") == 1);  // the create that ran before the cancel did not run again
  CHECK(f.manager->store().GetNode(f.caller, "d", "app")->number_of_instances == 2);
}

TEST_CASE("scale_compute scales the host with everything it contains") {
  Fixture f;
  auto ex = f.Run("scale", {{"scalable_entity_name", "app"}, {"scale_compute", true}});
  REQUIRE_MESSAGE(ex.status == model::ExecutionStatus::kTerminated, ex.error);
  CHECK(f.Instances("vm").size() == 2);
  CHECK(f.Instances("app").size() == 2);
  CHECK(f.manager->store().GetNode(f.caller, "d", "vm")->number_of_instances == 2);
  // The new vm was created before the new app in it.
  std::string new_vm;
  std::string new_app;
  for (const auto& i : f.Instances()) {
    if (f.known.count(i.id) == 0) {
      (i.node_id == "vm" ? new_vm : new_app) = i.id;
      CHECK(i.state == model::NodeInstanceState::kStarted);
    }
  }
  REQUIRE(!new_vm.empty());
  REQUIRE(!new_app.empty());
  CHECK(f.Position("start:" + new_vm) < f.Position("create:" + new_app));
}

TEST_CASE("a failed scale out is scaled back in and its modification rolled back") {
  Fixture f;
  f.fail_new_creates = true;
  auto before_lb = f.Only("lb");
  auto ex = f.Run("scale", {{"scalable_entity_name", "app"}, {"delta", 1}});
  CHECK(ex.status == model::ExecutionStatus::kFailed);
  CHECK(ex.error.find("create refused") != std::string::npos);
  CHECK(f.Instances("app").size() == 1);
  CHECK(f.Instances().size() == f.known.size());
  auto lb = f.Only("lb");
  CHECK(lb.relationships == before_lb.relationships);
  auto node = f.manager->store().GetNode(f.caller, "d", "app");
  CHECK(node->number_of_instances == 1);
  CHECK(node->planned_number_of_instances == 1);
  auto mods = f.Modifications();
  REQUIRE(mods.size() == 1);
  CHECK(mods[0].status == model::DeploymentModificationStatus::kRolledback);
  // The half-created app was uninstalled (its delete ran) before the rollback.
  CHECK(f.Count("delete:app") == 1);
  REQUIRE(f.manager->SyncEvents(seconds(10)).ok());
  storage::ListQuery q;
  q.filters = {{"execution_id", {ex.id}}, {"type", {"cloudify_log"}}};
  q.get_all_results = true;
  auto logs = f.manager->store().ListEvents(f.caller, q);
  REQUIRE(logs.ok());
  bool scaling_back = false;
  for (const auto& e : logs->items) {
    scaling_back = scaling_back || e.message == "Scale out failed, scaling back in.";
  }
  CHECK(scaling_back);

  // Without rollback the modification stays started and blocks the next scale, until a
  // scale with abort_started rolls it back.
  auto kept = f.Run("scale",
                    {{"scalable_entity_name", "app"}, {"delta", 1}, {"rollback_if_failed", false}});
  CHECK(kept.status == model::ExecutionStatus::kFailed);
  REQUIRE(f.Modifications().size() == 2);
  CHECK(f.Instances("app").size() == 2);  // the added row stays with the started modification
  auto blocked = f.Run("scale", {{"scalable_entity_name", "db"}, {"delta", 1}});
  CHECK(blocked.status == model::ExecutionStatus::kFailed);
  CHECK(blocked.error.find("existing started deployment modifications") != std::string::npos);

  // The deployment can be scaled again afterwards.
  f.fail_new_creates = false;
  auto again =
      f.Run("scale", {{"scalable_entity_name", "app"}, {"delta", 1}, {"abort_started", true}});
  CHECK_MESSAGE(again.status == model::ExecutionStatus::kTerminated, again.error);
  CHECK(f.Instances("app").size() == 2);
}

TEST_CASE("bad scale parameters fail the execution and change nothing") {
  Fixture f;
  auto unknown = f.Run("scale", {{"scalable_entity_name", "nope"}});
  CHECK(unknown.status == model::ExecutionStatus::kFailed);
  CHECK(unknown.error.find("No scalable entity named nope") != std::string::npos);
  auto negative = f.Run("scale", {{"scalable_entity_name", "db"}, {"delta", -2}});
  CHECK(negative.status == model::ExecutionStatus::kFailed);
  CHECK(negative.error.find("is illegal") != std::string::npos);
  auto text = f.manager->StartExecution(f.caller, "d", "scale",
                                        {{"scalable_entity_name", "db"}, {"delta", "x"}});
  CHECK(text.status().code() == ErrorCode::kIllegalExecutionParameters);
  CHECK(f.Instances().size() == f.known.size());
  CHECK(f.Modifications().empty());
  auto zero = f.Run("scale", {{"scalable_entity_name", "db"}, {"delta", 0}});
  CHECK(zero.status == model::ExecutionStatus::kTerminated);
  CHECK(f.Modifications().empty());
}

TEST_CASE("heal reinstalls the failed instance's host subgraph and re-links its dependents") {
  Fixture f;
  const std::string vm = f.Only("vm").id;
  const std::string app = f.Only("app").id;
  const std::string lb = f.Only("lb").id;
  const std::string db = f.Only("db").id;
  f.unhealthy = {vm, app};  // vm has no heal operation: its whole subgraph is reinstalled
  auto ex = f.Run("heal", {{"node_instance_id", app}, {"diagnose_value", "app is down"}});
  REQUIRE_MESSAGE(ex.status == model::ExecutionStatus::kTerminated, ex.error);
  for (const auto& i : f.Instances()) {
    CHECK(i.state == model::NodeInstanceState::kStarted);
  }
  // Checks first; uninstall app then vm, install vm then app; lb unlinked first, established
  // last; app is not healed on its own, being part of vm's reinstall.
  const std::vector<std::string> order = {"check_status:" + vm,
                                          "unlink:" + lb + "->" + app,
                                          "stop:" + app,
                                          "delete:" + app,
                                          "stop:" + vm,
                                          "delete:" + vm,
                                          "create:" + vm,
                                          "start:" + vm,
                                          "create:" + app,
                                          "start:" + app,
                                          "establish:" + lb + "->" + app};
  int last = -1;
  for (const auto& entry : order) {
    const int at = f.Position(entry);
    CHECK_MESSAGE(at > last, entry);
    last = at;
  }
  CHECK(f.Position("check_status:" + app) >= 0);
  CHECK(f.Position("check_status:" + db) < 0);  // outside the scope
  CHECK(f.Count("heal:") == 0);
  CHECK(f.Count("create:" + db) == 0);
  CHECK(f.Count("create:" + lb) == 0);
  // The failed checks are recorded as the original records them.
  const json status = f.Only("vm").system_properties["status"];
  CHECK(status["ok"] == false);
  CHECK(status["task"] == "cloudify.interfaces.validation.check_status");
  CHECK(status["result"].get<std::string>().find("not responding") != std::string::npos);
  CHECK(status["timestamp"].is_string());
  REQUIRE(f.manager->SyncEvents(seconds(10)).ok());
  storage::ListQuery q;
  q.filters = {{"execution_id", {ex.id}}, {"type", {"cloudify_log"}}};
  q.get_all_results = true;
  auto logs = f.manager->store().ListEvents(f.caller, q);
  REQUIRE(logs.ok());
  bool diagnosed = false;
  for (const auto& e : logs->items) {
    diagnosed = diagnosed || e.message == "Diagnose: app is down";
  }
  CHECK(diagnosed);

  auto bad = f.Run("heal", {{"node_instance_id", "ghost"}});
  CHECK(bad.status == model::ExecutionStatus::kFailed);
  CHECK(bad.error.find("ghost") != std::string::npos);
}

TEST_CASE("heal runs the heal operations of an unhealthy instance that defines them") {
  Fixture f;
  const std::string vm = f.Only("vm").id;
  const std::string app = f.Only("app").id;
  f.unhealthy = {app};
  auto ex = f.Run("heal", {{"node_instance_id", app}});
  REQUIRE_MESSAGE(ex.status == model::ExecutionStatus::kTerminated, ex.error);
  CHECK(f.Position("check_status:" + vm) >= 0);
  CHECK(f.Position("preheal:" + app) > f.Position("check_status:" + app));
  CHECK(f.Position("heal:" + app) > f.Position("preheal:" + app));
  CHECK(f.Position("postheal:" + app) > f.Position("heal:" + app));
  CHECK(f.Count("stop:") == 0);
  CHECK(f.Count("create:") == 0);
  const json status = f.Only("app").system_properties["status"];
  CHECK(status["ok"] == true);
  CHECK(status["healed"] == true);
  CHECK(status["task"].is_null());
  CHECK(f.Only("app").system_properties["previous_status"].is_null());
}

TEST_CASE("heal reinstalls an instance whose heal operation failed, and only it") {
  Fixture f;
  const std::string vm = f.Only("vm").id;
  const std::string app = f.Only("app").id;
  f.unhealthy = {app};
  f.heal_fails = {app};
  auto ex = f.Run("heal", {{"node_instance_id", app}});
  REQUIRE_MESSAGE(ex.status == model::ExecutionStatus::kTerminated, ex.error);
  CHECK(f.Position("heal:" + app) >= 0);
  CHECK(f.Count("postheal:") == 0);  // the sequence stops at the failure
  CHECK(f.Position("delete:" + app) > f.Position("heal:" + app));
  CHECK(f.Position("create:" + app) > f.Position("delete:" + app));
  CHECK(f.Count("delete:" + vm) == 0);
  CHECK(f.Only("app").state == model::NodeInstanceState::kStarted);
}

TEST_CASE("heal with allow_reinstall false fails before it touches anything") {
  Fixture f;
  const std::string vm = f.Only("vm").id;
  const std::string app = f.Only("app").id;
  f.unhealthy = {vm};
  auto ex = f.Run("heal", {{"node_instance_id", app}, {"allow_reinstall", false}});
  CHECK(ex.status == model::ExecutionStatus::kFailed);
  CHECK(ex.error.find("allow_reinstall is false, but would need to reinstall instances: ") !=
        std::string::npos);
  CHECK(ex.error.find(vm) != std::string::npos);
  CHECK(f.Count("stop:") == 0);
  CHECK(f.Count("delete:") == 0);
  CHECK(f.Count("heal:") == 0);

  // A failed heal with reinstalls disallowed fails after the heal.
  f.unhealthy = {app};
  f.heal_fails = {app};
  auto failed = f.Run("heal", {{"node_instance_id", app}, {"allow_reinstall", false}});
  CHECK(failed.status == model::ExecutionStatus::kFailed);
  CHECK(failed.error.find(app) != std::string::npos);
  CHECK(f.Count("heal:" + app) == 1);
  CHECK(f.Count("delete:") == 0);
}

TEST_CASE("heal without an instance reinstalls what its checks find unhealthy") {
  Fixture f;
  const std::string db = f.Only("db").id;
  f.unhealthy = {db};
  auto ex = f.Run("heal");
  REQUIRE_MESSAGE(ex.status == model::ExecutionStatus::kTerminated, ex.error);
  CHECK(f.Count("check_status:") == 3);  // vm, app and db define a check
  CHECK(f.Count("create:") == 1);
  CHECK(f.Count("create:" + db) == 1);
  CHECK(f.Only("db").state == model::NodeInstanceState::kStarted);
  CHECK(f.Only("vm").system_properties["status"]["ok"] == true);

  // All healthy: nothing is done. Without checks, a deployment-wide heal presumes health.
  f.unhealthy.clear();
  {
    std::lock_guard lock(f.mu);
    f.log.clear();
  }
  CHECK(f.Run("heal").status == model::ExecutionStatus::kTerminated);
  CHECK(f.Count("check_status:") == 3);
  CHECK(f.Count("create:") == 0);
  CHECK(f.Run("heal", {{"check_status", false}}).status == model::ExecutionStatus::kTerminated);
  CHECK(f.Count("check_status:") == 3);
  CHECK(f.Count("create:") == 0);
}

TEST_CASE("heal with force_reinstall reinstalls the subgraph without checking") {
  Fixture f;
  const std::string vm = f.Only("vm").id;
  const std::string app = f.Only("app").id;
  auto ex = f.Run("heal", {{"node_instance_id", vm}, {"force_reinstall", true}});
  REQUIRE_MESSAGE(ex.status == model::ExecutionStatus::kTerminated, ex.error);
  CHECK(f.Count("check_status:") == 0);
  CHECK(f.Count("heal:") == 0);
  CHECK(f.Count("create:" + vm) == 1);
  CHECK(f.Count("create:" + app) == 1);
}

TEST_CASE("check_status stores each instance's result and fails when a check failed") {
  Fixture f;
  const std::string vm = f.Only("vm").id;
  const std::string db = f.Only("db").id;
  auto ok = f.Run("check_status");
  REQUIRE_MESSAGE(ok.status == model::ExecutionStatus::kTerminated, ok.error);
  CHECK(f.Count("check_status:") == 3);
  const json first = f.Only("db").system_properties["status"];
  CHECK(first["ok"] == true);
  CHECK(f.Only("lb").system_properties.count("status") == 0);  // lb defines no check

  f.unhealthy = {db};
  auto failed = f.Run("check_status", {{"node_ids", {"db", "vm"}}});
  CHECK(failed.status == model::ExecutionStatus::kFailed);
  CHECK(failed.error == "Status check failed for: " + db);
  const auto props = f.Only("db").system_properties;
  CHECK(props["status"]["ok"] == false);
  CHECK(props["previous_status"] == first);
  CHECK(f.Count("check_status:" + vm) == 2);
  CHECK(f.Count("check_status:") == 5);  // app was filtered out
}

}  // namespace cloudify

namespace cloudify {

TEST_CASE("scaling a group adds and removes whole group instances and records its count") {
  testing::TempDir tmp;
  ManagerOptions options;
  options.data_dir = tmp.path() / "data";
  options.task_retry_interval = milliseconds(1);
  auto m = Manager::Open(options);
  REQUIRE_MESSAGE(m.ok(), m.status().ToString());
  std::mutex mu;
  std::vector<std::string> creates;
  (*m)->operations().Add("p.tasks.op", [&](workflow::OperationContext& ctx) {
    std::lock_guard lock(mu);
    if (ctx.operation_name() == "cloudify.interfaces.lifecycle.create") {
      creates.push_back(ctx.instance().node().id());
    }
  });
  fs::create_directories(tmp.path() / "bp");
  std::ofstream(tmp.path() / "bp" / "blueprint.yaml") << R"(
tosca_definitions_version: cloudify_dsl_1_4
imports:
  - http://cloudify.co/spec/cloudify/6.4.0/types.yaml
plugins:
  p: {executor: central_deployment_agent, install: false}
node_templates:
  vm:
    type: cloudify.nodes.Compute
    properties: {agent_config: {install_method: none}}
    interfaces:
      cloudify.interfaces.lifecycle: {create: p.tasks.op, delete: p.tasks.op}
  ip:
    type: cloudify.nodes.VirtualIP
    interfaces:
      cloudify.interfaces.lifecycle: {create: p.tasks.op, delete: p.tasks.op}
    relationships:
      - {type: cloudify.relationships.connected_to, target: vm}
groups:
  pair: {members: [vm, ip]}
policies:
  scale:
    type: cloudify.policies.scaling
    targets: [pair]
    properties: {default_instances: 1}
)";
  auto caller = storage::CallerContext::System();
  REQUIRE((*m)->UploadBlueprint(caller, "bp", tmp.path() / "bp" / "blueprint.yaml").ok());
  REQUIRE((*m)->CreateDeployment(caller, "bp", "d").ok());
  auto run = [&](const std::string& wf, const json& params) {
    auto ex = (*m)->StartExecution(caller, "d", wf, params);
    REQUIRE_MESSAGE(ex.ok(), ex.status().ToString());
    auto done = (*m)->WaitForExecution(caller, ex->id, seconds(30));
    REQUIRE(done.ok());
    return *done;
  };
  REQUIRE(run("install", json::object()).status == model::ExecutionStatus::kTerminated);
  auto out = run("scale", {{"scalable_entity_name", "pair"}, {"delta", 2}});
  REQUIRE_MESSAGE(out.status == model::ExecutionStatus::kTerminated, out.error);
  storage::ListQuery q;
  q.get_all_results = true;
  q.filters = {{"deployment_id", {"d"}}};
  auto instances = (*m)->store().ListNodeInstances(caller, q);
  REQUIRE(instances.ok());
  CHECK(instances->items.size() == 6);
  std::map<std::string, std::vector<std::string>> by_group;  // group instance -> nodes
  std::map<std::string, std::string> group_of;
  for (const auto& i : instances->items) {
    CHECK(i.state == model::NodeInstanceState::kStarted);
    REQUIRE(i.scaling_groups.size() == 1);
    by_group[i.scaling_groups[0].id].push_back(i.node_id);
    group_of[i.id] = i.scaling_groups[0].id;
  }
  CHECK(by_group.size() == 3);
  for (const auto& i : instances->items) {
    if (i.node_id == "ip") {
      REQUIRE(i.relationships.size() == 1);  // its own vm only
      CHECK(group_of[i.relationships[0].target_id] == group_of[i.id]);
    }
  }
  CHECK(creates.size() == 6);  // 2 at install, 4 at scale
  auto d = (*m)->store().GetDeployment(caller, "d");
  REQUIRE(d.ok());
  CHECK(d->scaling_groups.at("pair").properties.current_instances == 3);

  auto in = run("scale", {{"scalable_entity_name", "pair"}, {"delta", -2}});
  REQUIRE_MESSAGE(in.status == model::ExecutionStatus::kTerminated, in.error);
  instances = (*m)->store().ListNodeInstances(caller, q);
  REQUIRE(instances.ok());
  CHECK(instances->items.size() == 2);
  CHECK((*m)->store()
            .GetDeployment(caller, "d")
            ->scaling_groups.at("pair")
            .properties.current_instances == 1);
}

}  // namespace cloudify
