#include "cloudify/workflow/engine.h"

#include <algorithm>
#include <atomic>
#include <mutex>
#include <string>
#include <vector>

#include <doctest/doctest.h>

#include "cloudify/dsl/deployment_plan.h"
#include "cloudify/dsl/parser.h"
#include "cloudify/ids.h"
#include "cloudify/workflow/events.h"

#include "support/plumbing.h"

namespace cloudify::workflow {
namespace {

using nlohmann::json;
using std::chrono::milliseconds;

constexpr std::string_view kBlueprint = R"(
tosca_definitions_version: cloudify_dsl_1_4
imports:
  - http://cloudify.co/spec/cloudify/6.4.0/types.yaml
plugins:
  p:
    executor: central_deployment_agent
    install: false
node_templates:
  vm:
    type: cloudify.nodes.Root
    interfaces:
      cloudify.interfaces.lifecycle:
        create: p.tasks.create
        configure: p.tasks.configure
        start: p.tasks.start
        stop: p.tasks.stop
        delete: p.tasks.delete
  app:
    type: cloudify.nodes.Root
    capabilities:
      scalable:
        properties:
          default_instances: 2
    interfaces:
      cloudify.interfaces.lifecycle:
        create:
          implementation: p.tasks.create
          inputs:
            vm_ip: { get_attribute: [vm, ip] }
        start: p.tasks.start
        stop: p.tasks.stop
        delete: p.tasks.delete
      custom:
        greet:
          implementation: p.tasks.greet
          inputs:
            greeting: hello
    relationships:
      - type: cloudify.relationships.contained_in
        target: vm
)";

// A store, a bus and an event writer like the manager's, and a deployment of kBlueprint.
struct Fixture : testing::Plumbing {
  std::unique_ptr<EventWriter> writer;
  OperationRegistry operations;
  storage::CallerContext caller = storage::CallerContext::System();
  std::mutex mu;
  std::vector<std::string> calls;  // "<operation>@<instance>"

  Fixture() {
    auto w = EventWriter::Start(*bus, *store);
    REQUIRE_MESSAGE(w.ok(), w.status().ToString());
    writer = std::move(*w);
    for (const char* op : {"create", "configure", "start", "stop", "delete", "greet"}) {
      operations.Add(std::string("p.tasks.") + op, [this, op](OperationContext& ctx) {
        Record(std::string(op) + "@" + ctx.instance().instance().node_id);
        if (std::string(op) == "create" && ctx.instance().node().id() == "vm") {
          ctx.instance().runtime_properties()["ip"] = "10.0.0.7";
        }
        if (std::string(op) == "create" && ctx.inputs().contains("vm_ip")) {
          ctx.instance().runtime_properties()["seen_ip"] = ctx.inputs()["vm_ip"];
        }
        if (std::string(op) == "greet") {
          ctx.instance().runtime_properties()["greeting"] = ctx.inputs()["greeting"];
          ctx.logger().Info("greeted");
        }
      });
    }
    Deploy();
  }

  void Record(std::string call) {
    std::lock_guard lock(mu);
    calls.push_back(std::move(call));
  }

  size_t Pos(const std::string& call) {
    std::lock_guard lock(mu);
    return static_cast<size_t>(std::find(calls.begin(), calls.end(), call) - calls.begin());
  }
  int Count(const std::string& call) {
    std::lock_guard lock(mu);
    return static_cast<int>(std::count(calls.begin(), calls.end(), call));
  }

  void Deploy() {
    auto plan = dsl::ParseBlueprintText(kBlueprint, "blueprint.yaml", {});
    REQUIRE_MESSAGE(plan.ok(), plan.status().ToString());
    IdGenerator ids(3);
    auto dp = dsl::PrepareDeploymentPlan(*plan, json::object(), ids,
                                         {.deployment_id = "dep", .blueprint_id = "bp"});
    REQUIRE_MESSAGE(dp.ok(), dp.status().ToString());
    model::Blueprint bp;
    bp.id = "bp";
    bp.plan = *plan;
    bp.state = model::BlueprintState::kUploaded;
    REQUIRE(store->CreateBlueprint(caller, bp).ok());
    model::Deployment d;
    d.id = "dep";
    d.blueprint_id = "bp";
    d.workflows = dp->plan.workflows;
    REQUIRE(store->CreateDeployment(caller, d).ok());
    REQUIRE(store->CreateNodes(caller, dp->nodes).ok());
    REQUIRE(store->CreateNodeInstances(caller, dp->node_instances).ok());
  }

  std::string NewExecution(std::string workflow, json params = json::object()) {
    model::Execution e;
    e.id = NewUuid();
    e.workflow_id = std::move(workflow);
    e.deployment_id = "dep";
    e.blueprint_id = "bp";
    e.parameters = std::move(params);
    REQUIRE(store->CreateExecution(caller, e).ok());
    return e.id;
  }

  std::vector<model::NodeInstance> Instances(const std::string& node) {
    storage::ListQuery q;
    q.filters = {{"deployment_id", {"dep"}}, {"node_id", {node}}};
    auto page = store->ListNodeInstances(caller, q);
    REQUIRE(page.ok());
    return page->items;
  }

  std::vector<model::Event> Events(const std::string& execution_id) {
    REQUIRE(writer->Sync(std::chrono::seconds(10)).ok());
    storage::ListQuery q;
    q.get_all_results = true;
    q.filters = {{"execution_id", {execution_id}}};
    auto page = store->ListEvents(caller, q);
    REQUIRE(page.ok());
    return page->items;
  }
};

EngineOptions FastOptions() {
  EngineOptions o;
  o.task_retry_interval = milliseconds(1);
  return o;
}

int CountType(const std::vector<model::Event>& events, std::string_view type) {
  return static_cast<int>(std::count_if(events.begin(), events.end(),
                                        [&](const auto& e) { return e.event_type == type; }));
}

TEST_CASE("install runs every lifecycle operation in order and starts every instance") {
  Fixture f;
  Engine engine(*f.store, *f.bus, f.operations, FastOptions());
  auto id = f.NewExecution("install");
  auto result = engine.Run(f.caller, id);
  REQUIRE_MESSAGE(result.ok(), result.status().ToString());
  CHECK(result->status == model::ExecutionStatus::kTerminated);
  CHECK(result->error.empty());
  CHECK(result->started_at.has_value());
  CHECK(result->ended_at.has_value());
  CHECK(result->total_operations == 3 + 2 * 2);
  CHECK(result->finished_operations == 7);

  CHECK(f.Count("create@vm") == 1);
  CHECK(f.Count("create@app") == 2);
  CHECK(f.Count("stop@vm") == 0);
  // The contained app waits for its host to be started.
  CHECK(f.Pos("start@vm") < f.Pos("create@app"));
  for (const auto& ni : f.Instances("app")) {
    CHECK(ni.state == model::NodeInstanceState::kStarted);
    // get_attribute in an operation input saw the host's runtime property.
    CHECK(ni.runtime_properties["seen_ip"] == "10.0.0.7");
  }
  auto vm = f.Instances("vm");
  REQUIRE(vm.size() == 1);
  CHECK(vm[0].runtime_properties["ip"] == "10.0.0.7");

  auto stored = f.store->GetExecution(f.caller, id);
  REQUIRE(stored.ok());
  CHECK(stored->status == model::ExecutionStatus::kTerminated);
  auto deployment = f.store->GetDeployment(f.caller, "dep");
  REQUIRE(deployment.ok());
  CHECK(deployment->installation_status == model::InstallationStatus::kActive);

  auto events = f.Events(id);
  CHECK(CountType(events, "workflow_started") == 1);
  CHECK(CountType(events, "workflow_succeeded") == 1);
  CHECK(CountType(events, "task_succeeded") == 7);
  CHECK(CountType(events, "task_started") == 7);
  CHECK(CountType(events, "workflow_node_event") > 0);
}

TEST_CASE("uninstall after install stops and deletes, sources before their host") {
  Fixture f;
  Engine engine(*f.store, *f.bus, f.operations, FastOptions());
  REQUIRE(engine.Run(f.caller, f.NewExecution("install"))->status ==
          model::ExecutionStatus::kTerminated);
  auto result = engine.Run(f.caller, f.NewExecution("uninstall"));
  REQUIRE(result.ok());
  CHECK(result->status == model::ExecutionStatus::kTerminated);
  CHECK(f.Count("delete@app") == 2);
  CHECK(f.Pos("delete@app") < f.Pos("stop@vm"));
  for (const auto& ni : f.Instances("app")) {
    CHECK(ni.state == model::NodeInstanceState::kDeleted);
  }
  auto deployment = f.store->GetDeployment(f.caller, "dep");
  CHECK(deployment->installation_status == model::InstallationStatus::kInactive);
}

TEST_CASE("a failing operation is retried, then fails the execution with its error") {
  Fixture f;
  std::atomic<int> attempts{0};
  f.operations.Add("p.tasks.configure", [&](OperationContext& ctx) {
    ++attempts;
    ctx.Fail("configure exploded", /*recoverable=*/true);
  });
  Engine engine(*f.store, *f.bus, f.operations, FastOptions());
  auto id = f.NewExecution("install", {{"task_retries", 2}});
  auto result = engine.Run(f.caller, id);
  REQUIRE(result.ok());
  CHECK(result->status == model::ExecutionStatus::kFailed);
  CHECK(attempts == 3);
  CHECK(result->error.find("configure exploded") != std::string::npos);
  CHECK(result->error.find("cloudify.interfaces.lifecycle.configure") != std::string::npos);
  CHECK(f.Count("create@app") == 0);  // never got past the host
  auto events = f.Events(id);
  CHECK(CountType(events, "task_rescheduled") == 2);
  CHECK(CountType(events, "task_failed") == 1);
  CHECK(CountType(events, "workflow_failed") == 1);
  auto deployment = f.store->GetDeployment(f.caller, "dep");
  CHECK(deployment->deployment_status == model::DeploymentStatus::kRequiresAttention);
}

TEST_CASE("resuming a failed install runs only what had not succeeded") {
  Fixture f;
  bool broken = true;
  f.operations.Add("p.tasks.start", [&](OperationContext& ctx) {
    f.Record("start@" + ctx.instance().instance().node_id);
    if (broken) {
      ctx.Fail("not today", /*recoverable=*/false);
    }
  });
  Engine engine(*f.store, *f.bus, f.operations, FastOptions());
  auto id = f.NewExecution("install");
  REQUIRE(engine.Run(f.caller, id)->status == model::ExecutionStatus::kFailed);
  CHECK(f.Count("create@vm") == 1);
  CHECK(f.Count("configure@vm") == 1);

  // Resume: the execution goes back to started and runs from its stored graph.
  broken = false;
  auto e = f.store->GetExecution(f.caller, id);
  e->status = model::ExecutionStatus::kStarted;
  e->ended_at.reset();
  REQUIRE(f.store->UpdateExecution(f.caller, *e).ok());
  auto resumed = engine.Run(f.caller, id);
  REQUIRE(resumed.ok());
  CHECK(resumed->status == model::ExecutionStatus::kTerminated);
  CHECK(f.Count("create@vm") == 1);  // succeeded before: not run again
  CHECK(f.Count("configure@vm") == 1);
  CHECK(f.Count("start@vm") == 2);  // failed before: run again
  CHECK(f.Count("create@app") == 2);
}

TEST_CASE("execute_operation runs the operation on the selected instances with kwargs") {
  Fixture f;
  Engine engine(*f.store, *f.bus, f.operations, FastOptions());
  json params = {{"operation", "custom.greet"},
                 {"operation_kwargs", {{"greeting", "hi"}}},
                 {"allow_kwargs_override", true},
                 {"node_ids", {"app"}}};
  auto id = f.NewExecution("execute_operation", params);
  auto result = engine.Run(f.caller, id);
  REQUIRE(result.ok());
  CHECK(result->status == model::ExecutionStatus::kTerminated);
  CHECK(f.Count("greet@app") == 2);
  for (const auto& ni : f.Instances("app")) {
    CHECK(ni.runtime_properties["greeting"] == "hi");
  }
  auto events = f.Events(id);
  int logs = 0;
  for (const auto& e : events) {
    logs += e.kind == model::EventKind::kLog && e.message == "greeted" ? 1 : 0;
  }
  CHECK(logs == 2);

  // Without allow_kwargs_override a clash with an input is an error.
  params["allow_kwargs_override"] = false;
  auto clash = engine.Run(f.caller, f.NewExecution("execute_operation", params));
  REQUIRE(clash.ok());
  CHECK(clash->status == model::ExecutionStatus::kFailed);
  CHECK(clash->error.find("greeting") != std::string::npos);
}

TEST_CASE("start honours the node filter, install after uninstall creates again") {
  Fixture f;
  Engine engine(*f.store, *f.bus, f.operations, FastOptions());
  REQUIRE(engine.Run(f.caller, f.NewExecution("start", {{"node_ids", {"vm"}}}))->status ==
          model::ExecutionStatus::kTerminated);
  CHECK(f.Count("start@vm") == 1);
  CHECK(f.Count("start@app") == 0);
  REQUIRE(engine.Run(f.caller, f.NewExecution("install"))->status ==
          model::ExecutionStatus::kTerminated);
  REQUIRE(engine.Run(f.caller, f.NewExecution("uninstall"))->status ==
          model::ExecutionStatus::kTerminated);
  REQUIRE(engine.Run(f.caller, f.NewExecution("install"))->status ==
          model::ExecutionStatus::kTerminated);
  CHECK(f.Count("create@vm") == 2);
  CHECK(f.Count("create@app") == 4);
}

TEST_CASE("a cancel written before the run starts ends it cancelled without running") {
  Fixture f;
  Engine engine(*f.store, *f.bus, f.operations, FastOptions());
  auto id = f.NewExecution("install");
  auto e = f.store->GetExecution(f.caller, id);
  e->status = model::ExecutionStatus::kCancelling;
  REQUIRE(f.store->UpdateExecution(f.caller, *e).ok());
  auto result = engine.Run(f.caller, id);
  REQUIRE(result.ok());
  CHECK(result->status == model::ExecutionStatus::kCancelled);
  CHECK(f.Count("create@vm") == 0);
}

TEST_CASE("an operation without a handler fails without retries, unknown workflows fail") {
  Fixture f;
  OperationRegistry empty;
  Engine engine(*f.store, *f.bus, empty, FastOptions());
  auto result = engine.Run(f.caller, f.NewExecution("install"));
  REQUIRE(result.ok());
  CHECK(result->status == model::ExecutionStatus::kFailed);
  CHECK(result->error.find("no handler is registered for 'p.tasks.create'") != std::string::npos);

  auto unknown = engine.Run(f.caller, f.NewExecution("frobnicate"));
  REQUIRE(unknown.ok());
  CHECK(unknown->status == model::ExecutionStatus::kFailed);
  CHECK(unknown->error.find("frobnicate") != std::string::npos);
  CHECK(engine.Run(f.caller, "no-such-execution").status().code() == ErrorCode::kNotFound);
}

TEST_CASE("a cancelled execution stops starting operations and ends cancelled") {
  Fixture f;
  std::atomic<bool> cancel{false};
  f.operations.Add("p.tasks.create", [&](OperationContext&) { cancel = true; });
  Engine engine(*f.store, *f.bus, f.operations, FastOptions());
  auto result = engine.Run(f.caller, f.NewExecution("install"), &cancel);
  REQUIRE(result.ok());
  CHECK(result->status == model::ExecutionStatus::kCancelled);
  CHECK(f.Count("configure@vm") == 0);
}

}  // namespace
}  // namespace cloudify::workflow
