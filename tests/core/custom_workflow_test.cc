// Custom workflows: a blueprint's `workflows:` entry mapped to a C++ function registered on the
// Manager, building and running task graphs; parameters checked against the declared ones.
#include <algorithm>
#include <atomic>
#include <fstream>
#include <mutex>
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

constexpr const char* kBlueprint = R"(
tosca_definitions_version: cloudify_dsl_1_4
imports:
  - http://cloudify.co/spec/cloudify/6.4.0/types.yaml
plugins:
  p:
    executor: central_deployment_agent
    install: false
  ops:
    executor: central_deployment_agent
    install: false
node_templates:
  app:
    type: cloudify.nodes.Root
    capabilities: {scalable: {properties: {default_instances: 3}}}
    interfaces:
      cloudify.interfaces.lifecycle:
        start: p.tasks.op
        stop: p.tasks.op
      maint:
        drain:
          implementation: p.tasks.drain
          inputs:
            grace: 5
workflows:
  rolling_restart:
    mapping: ops.workflows.rolling_restart
    parameters:
      message:
        type: string
      batch_pause:
        type: integer
        default: 0
  broken:
    mapping: ops.workflows.broken
)";

struct Fixture {
  testing::TempDir tmp;
  std::unique_ptr<Manager> manager;
  storage::CallerContext caller = storage::CallerContext::System();
  std::mutex mu;
  std::vector<std::string> log;
  std::atomic<bool> hold{false};
  std::atomic<int> stops{0};

  Fixture() {
    ManagerOptions options;
    options.data_dir = tmp.path() / "data";
    options.task_retry_interval = milliseconds(1);
    auto m = Manager::Open(options);
    REQUIRE_MESSAGE(m.ok(), m.status().ToString());
    manager = std::move(*m);
    manager->operations().Add("p.tasks.op", [this](workflow::OperationContext& ctx) {
      const std::string op = ctx.operation_name().substr(ctx.operation_name().rfind('.') + 1);
      if (op == "stop") {
        ++stops;
        while (hold.load()) {
          std::this_thread::sleep_for(milliseconds(2));
        }
      }
      std::lock_guard lock(mu);
      log.push_back(op + ":" + ctx.instance().id());
    });
    manager->operations().Add("p.tasks.drain", [this](workflow::OperationContext& ctx) {
      std::lock_guard lock(mu);
      log.push_back("drain:" + ctx.instance().id() + ":" + ctx.inputs().value("message", "") + ":" +
                    std::to_string(ctx.inputs().value("grace", 0)));
    });
    // One instance after the other: drain, stop, stopped, start, started, event.
    manager->workflows().Add(
        "ops.workflows.rolling_restart", [](workflow::WorkflowContext& ctx) -> Status {
          workflow::TaskGraph graph{.name = "rolling_restart"};
          std::vector<std::string> after;
          std::vector<model::NodeInstance> apps = ctx.instances();
          std::sort(apps.begin(), apps.end(),
                    [](const auto& a, const auto& b) { return a.index < b.index; });
          for (const auto& i : apps) {
            CLOUDIFY_ASSIGN_OR_RETURN(
                auto drain, ctx.ExecuteOperation(i.id, "maint.drain",
                                                 {{"message", ctx.parameters()["message"]}}));
            CLOUDIFY_ASSIGN_OR_RETURN(
                auto stop, ctx.ExecuteOperation(i.id, "cloudify.interfaces.lifecycle.stop"));
            CLOUDIFY_ASSIGN_OR_RETURN(
                auto start, ctx.ExecuteOperation(i.id, "cloudify.interfaces.lifecycle.start"));
            after = workflow::AddSequence(
                graph,
                {drain, stop, ctx.SetState(i.id, model::NodeInstanceState::kStopped), start,
                 ctx.SetState(i.id, model::NodeInstanceState::kStarted),
                 ctx.SendEvent(i.id, "restarted " + i.id)},
                after);
            after = {after.back()};
          }
          ctx.logger().Info("restarting " + std::to_string(apps.size()) + " apps");
          return ctx.Execute(std::move(graph));
        });
    manager->workflows().Add("ops.workflows.broken", [](workflow::WorkflowContext& ctx) -> Status {
      CLOUDIFY_ASSIGN_OR_RETURN(
          auto task, ctx.ExecuteOperation(ctx.instances().at(0).id, "no.such.operation"));
      (void)task;
      return Status::Ok();
    });
    fs::create_directories(tmp.path() / "bp");
    std::ofstream(tmp.path() / "bp" / "blueprint.yaml") << kBlueprint;
    REQUIRE(manager->UploadBlueprint(caller, "bp", tmp.path() / "bp" / "blueprint.yaml").ok());
    REQUIRE(manager->CreateDeployment(caller, "bp", "d").ok());
  }

  model::Execution Wait(const std::string& id) {
    auto ended = manager->WaitForExecution(caller, id, seconds(30));
    REQUIRE_MESSAGE(ended.ok(), ended.status().ToString());
    return *ended;
  }

  std::vector<model::NodeInstance> Apps() {
    storage::ListQuery q;
    q.get_all_results = true;
    q.filters = {{"deployment_id", {"d"}}};
    q.sort = {"index"};
    auto page = manager->store().ListNodeInstances(caller, q);
    REQUIRE(page.ok());
    return page->items;
  }
};

}  // namespace

TEST_CASE("a custom workflow runs its graph in order, with kwargs, states and events") {
  Fixture f;
  auto ex = f.manager->StartExecution(f.caller, "d", "rolling_restart", {{"message", "bye"}});
  REQUIRE_MESSAGE(ex.ok(), ex.status().ToString());
  CHECK(ex->parameters["batch_pause"] == 0);  // the declared default
  auto done = f.Wait(ex->id);
  REQUIRE_MESSAGE(done.status == model::ExecutionStatus::kTerminated, done.error);
  auto apps = f.Apps();
  REQUIRE(apps.size() == 3);
  std::vector<std::string> expected;
  for (const auto& a : apps) {
    CHECK(a.state == model::NodeInstanceState::kStarted);
    expected.push_back("drain:" + a.id + ":bye:5");
    expected.push_back("stop:" + a.id);
    expected.push_back("start:" + a.id);
  }
  CHECK(f.log == expected);  // strictly one instance after the other
  CHECK(done.total_operations == 9);
  CHECK(done.finished_operations == 9);

  REQUIRE(f.manager->SyncEvents(seconds(10)).ok());
  storage::ListQuery q;
  q.get_all_results = true;
  q.filters = {{"execution_id", {ex->id}}, {"event_type", {"workflow_node_event"}}};
  auto events = f.manager->store().ListEvents(f.caller, q);
  REQUIRE(events.ok());
  CHECK(events->total == 3);
  q.filters = {{"execution_id", {ex->id}}, {"type", {"cloudify_log"}}};
  auto logs = f.manager->store().ListEvents(f.caller, q);
  REQUIRE(logs.ok());
  bool logged = false;
  for (const auto& e : logs->items) {
    logged = logged || e.message == "restarting 3 apps";
  }
  CHECK(logged);
}

TEST_CASE("custom workflow parameters are checked against the declared ones") {
  Fixture f;
  auto missing = f.manager->StartExecution(f.caller, "d", "rolling_restart");
  CHECK(missing.status().code() == ErrorCode::kIllegalExecutionParameters);
  auto extra = f.manager->StartExecution(f.caller, "d", "rolling_restart",
                                         {{"message", "x"}, {"colour", "blue"}});
  CHECK(extra.status().code() == ErrorCode::kIllegalExecutionParameters);
  auto typed = f.manager->StartExecution(f.caller, "d", "rolling_restart",
                                         {{"message", "x"}, {"batch_pause", "soon"}});
  CHECK(typed.status().code() == ErrorCode::kIllegalExecutionParameters);
  CHECK(f.log.empty());
}

TEST_CASE("a custom workflow's error fails the execution, an unregistered mapping is unknown") {
  Fixture f;
  auto ex = f.manager->StartExecution(f.caller, "d", "broken");
  REQUIRE(ex.ok());
  auto done = f.Wait(ex->id);
  CHECK(done.status == model::ExecutionStatus::kFailed);
  CHECK(done.error.find("no.such.operation") != std::string::npos);
}

TEST_CASE("a cancelled custom workflow resumes without re-running what succeeded") {
  Fixture f;
  f.hold = true;
  auto ex = f.manager->StartExecution(f.caller, "d", "rolling_restart", {{"message", "m"}});
  REQUIRE(ex.ok());
  while (f.stops.load() == 0) {
    std::this_thread::sleep_for(milliseconds(2));
  }
  REQUIRE(f.manager->CancelExecution(f.caller, ex->id).ok());
  f.hold = false;
  CHECK(f.Wait(ex->id).status == model::ExecutionStatus::kCancelled);
  size_t before = 0;
  {
    std::lock_guard lock(f.mu);
    before = f.log.size();
    CHECK(before == 2);  // the first drain and the stop that was running
  }
  REQUIRE(f.manager->ResumeExecution(f.caller, ex->id).ok());
  auto resumed = f.Wait(ex->id);
  REQUIRE_MESSAGE(resumed.status == model::ExecutionStatus::kTerminated, resumed.error);
  std::lock_guard lock(f.mu);
  CHECK(f.log.size() == 9);  // nothing ran twice
  CHECK(std::count(f.log.begin(), f.log.end(), f.log[1]) == 1);
}

}  // namespace cloudify
