#include "cloudify/manager.h"

#include <algorithm>
#include <atomic>
#include <fstream>
#include <thread>

#include <doctest/doctest.h>

#include "cloudify/archive.h"
#include "cloudify/files.h"
#include "cloudify/messaging/topology.h"
#include "cloudify/workflow/metrics.h"

#include "support/temp_dir.h"

namespace cloudify {
namespace {

using nlohmann::json;
using std::chrono::milliseconds;
using std::chrono::seconds;
namespace fs = std::filesystem;

constexpr const char* kBlueprint = R"(
tosca_definitions_version: cloudify_dsl_1_4
description: two tiers
imports:
  - http://cloudify.co/spec/cloudify/6.4.0/types.yaml
inputs:
  port:
    type: integer
    default: 8080
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
        start: p.tasks.start
        delete: p.tasks.delete
  web:
    type: cloudify.nodes.WebServer
    properties:
      port: { get_input: port }
    interfaces:
      cloudify.interfaces.lifecycle:
        start: p.tasks.start
    relationships:
      - type: cloudify.relationships.contained_in
        target: vm
outputs:
  url:
    value: { concat: ["http://", { get_attribute: [vm, ip] }, ":", { get_property: [web, port] }] }
)";

struct Fixture {
  testing::TempDir tmp;
  std::unique_ptr<Manager> manager;
  storage::CallerContext caller = storage::CallerContext::System();
  std::atomic<int> starts{0};
  std::atomic<bool> hold{false};

  Fixture() {
    ManagerOptions options;
    options.data_dir = tmp.path() / "data";
    options.task_retry_interval = milliseconds(1);
    options.max_concurrent_executions = 2;
    auto m = Manager::Open(options);
    REQUIRE_MESSAGE(m.ok(), m.status().ToString());
    manager = std::move(*m);
    manager->operations().Add("p.tasks.create", [](workflow::OperationContext& ctx) {
      ctx.instance().runtime_properties()["ip"] = "10.0.0.7";
    });
    manager->operations().Add("p.tasks.start", [this](workflow::OperationContext&) {
      ++starts;
      while (hold.load()) {
        std::this_thread::sleep_for(milliseconds(5));
      }
    });
    manager->operations().Add("p.tasks.delete", [](workflow::OperationContext&) {});
    fs::create_directories(tmp.path() / "bp");
    std::ofstream(tmp.path() / "bp" / "blueprint.yaml") << kBlueprint;
  }

  model::Execution Run(const std::string& dep, const std::string& workflow) {
    auto started = manager->StartExecution(caller, dep, workflow);
    REQUIRE_MESSAGE(started.ok(), started.status().ToString());
    auto ended = manager->WaitForExecution(caller, started->id, seconds(30));
    REQUIRE_MESSAGE(ended.ok(), ended.status().ToString());
    return *ended;
  }

  // Deploys "web" as "d" and starts its install, held in its first operation (until `hold`
  // is cleared).
  model::Execution StartHeldInstall() {
    REQUIRE(manager->UploadBlueprint(caller, "web", tmp.path() / "bp" / "blueprint.yaml").ok());
    REQUIRE(manager->CreateDeployment(caller, "web", "d").ok());
    hold = true;
    auto run = manager->StartExecution(caller, "d", "install");
    REQUIRE_MESSAGE(run.ok(), run.status().ToString());
    while (starts.load() == 0) {
      std::this_thread::sleep_for(milliseconds(5));
    }
    return *run;
  }
};

TEST_CASE("upload, deploy, install, outputs, uninstall, delete: the whole embedded flow") {
  Fixture f;
  auto bp = f.manager->UploadBlueprint(f.caller, "web", f.tmp.path() / "bp" / "blueprint.yaml");
  REQUIRE_MESSAGE(bp.ok(), bp.status().ToString());
  CHECK(bp->state == model::BlueprintState::kUploaded);
  CHECK(bp->description == "two tiers");
  CHECK(fs::exists(f.tmp.path() / "data" / "resources" / "blueprints" / "default_tenant" / "web" /
                   "blueprint.yaml"));

  auto dep = f.manager->CreateDeployment(f.caller, "web", "web-1", {{"port", 9090}});
  REQUIRE_MESSAGE(dep.ok(), dep.status().ToString());
  CHECK(dep->inputs["port"] == 9090);
  CHECK(dep->workflows.count("install") == 1);

  auto install = f.Run("web-1", "install");
  CHECK(install.status == model::ExecutionStatus::kTerminated);
  CHECK(f.starts == 2);
  auto outputs = f.manager->DeploymentOutputs(f.caller, "web-1");
  REQUIRE_MESSAGE(outputs.ok(), outputs.status().ToString());
  CHECK((*outputs)["url"] == "http://10.0.0.7:9090");

  REQUIRE(f.manager->SyncEvents(seconds(10)).ok());
  storage::ListQuery q;
  q.filters = {{"execution_id", {install.id}}, {"event_type", {"workflow_succeeded"}}};
  auto events = f.manager->store().ListEvents(f.caller, q);
  REQUIRE(events.ok());
  CHECK(events->total == 1);

  // Live nodes keep the deployment.
  CHECK(f.manager->DeleteDeployment(f.caller, "web-1").code() == ErrorCode::kDependentExists);
  CHECK(f.manager->DeleteBlueprint(f.caller, "web").code() == ErrorCode::kDependentExists);
  CHECK(f.Run("web-1", "uninstall").status == model::ExecutionStatus::kTerminated);
  CHECK(f.manager->DeleteDeployment(f.caller, "web-1").ok());
  CHECK(f.manager->DeleteBlueprint(f.caller, "web").ok());
  CHECK(f.manager->store().GetDeployment(f.caller, "web-1").status().code() ==
        ErrorCode::kNotFound);
}

TEST_CASE("metric samples on the monitoring exchange are stored and go with their deployment") {
  testing::TempDir tmp;
  messaging::BusOptions bus_options;
  bus_options.topology = messaging::ManagementTopology("m1");
  auto bus = messaging::OpenBus("inproc://", bus_options);
  REQUIRE(bus.ok());
  ManagerOptions options;
  options.data_dir = tmp.path() / "data";
  options.bus = bus->get();
  auto manager = Manager::Open(options);
  REQUIRE_MESSAGE(manager.ok(), manager.status().ToString());
  storage::CallerContext caller = storage::CallerContext::System();
  fs::create_directories(tmp.path() / "bp");
  std::ofstream(tmp.path() / "bp" / "blueprint.yaml") << kBlueprint;
  REQUIRE((*manager)->UploadBlueprint(caller, "web", tmp.path() / "bp" / "blueprint.yaml").ok());
  REQUIRE((*manager)->CreateDeployment(caller, "web", "web-1", {}).ok());

  // What a host's monitoring agent sends: one sample per second of vm's cpu.
  workflow::MetricPublisher publisher(**bus);
  for (int i = 0; i < 10; ++i) {
    model::Metric m;
    m.deployment_id = "web-1";
    m.node_name = "vm";
    m.node_instance_id = "vm_1";
    m.name = "cpu";
    m.path = "total_user";
    m.value = 10.0 * i;
    m.time = Timestamp(seconds(1'700'000'000 + i));
    publisher.Publish(m);
  }
  REQUIRE((*manager)->SyncMetrics(seconds(10)).ok());
  storage::ListQuery q;
  q.filters = {{"deployment_id", {"web-1"}}, {"name", {"cpu"}}};
  q.sort = {"-time"};
  auto stored = (*manager)->store().ListMetrics(caller, q);
  REQUIRE(stored.ok());
  CHECK(stored->total == 10);
  REQUIRE(!stored->items.empty());
  CHECK(stored->items[0].value == 90.0);

  REQUIRE((*manager)->DeleteDeployment(caller, "web-1").ok());
  CHECK((*manager)->store().ListMetrics(caller, {})->total == 0);
}

TEST_CASE("scheduled executions wait for their time, then run one after the other") {
  testing::TempDir tmp;
  ManagerOptions options;
  options.data_dir = tmp.path() / "data";
  options.schedule_check_interval = milliseconds(20);
  auto manager = Manager::Open(options);
  REQUIRE_MESSAGE(manager.ok(), manager.status().ToString());
  Manager& m = **manager;
  for (const char* op : {"p.tasks.create", "p.tasks.start", "p.tasks.delete"}) {
    m.operations().Add(
        op, [](workflow::OperationContext&) { std::this_thread::sleep_for(milliseconds(20)); });
  }
  storage::CallerContext caller = storage::CallerContext::System();
  fs::create_directories(tmp.path() / "bp");
  std::ofstream(tmp.path() / "bp" / "blueprint.yaml") << kBlueprint;
  REQUIRE(m.UploadBlueprint(caller, "web", tmp.path() / "bp" / "blueprint.yaml").ok());
  REQUIRE(m.CreateDeployment(caller, "web", "web-1", {}).ok());

  // Two executions due at the same moment: one runs, the other queues behind it.
  const Timestamp due = SystemClock().Now() + milliseconds(600);
  StartOptions at_due;
  at_due.scheduled_for = due;
  auto first = m.StartExecution(caller, "web-1", "install", json::object(), at_due);
  auto second = m.StartExecution(caller, "web-1", "install", json::object(), at_due);
  REQUIRE(first.ok());
  REQUIRE(second.ok());
  CHECK(first->status == model::ExecutionStatus::kScheduled);
  CHECK(first->scheduled_for == due);
  auto waiting = m.store().GetExecution(caller, first->id);
  REQUIRE(waiting.ok());
  CHECK(waiting->status == model::ExecutionStatus::kScheduled);

  auto a = m.WaitForExecution(caller, first->id, seconds(30));
  auto b = m.WaitForExecution(caller, second->id, seconds(30));
  REQUIRE(a.ok());
  REQUIRE(b.ok());
  CHECK(a->status == model::ExecutionStatus::kTerminated);
  CHECK(b->status == model::ExecutionStatus::kTerminated);
  REQUIRE(a->started_at.has_value());
  REQUIRE(b->started_at.has_value());
  CHECK(*a->started_at >= due);
  CHECK(*b->started_at >= due);
  // Never both at once on one deployment.
  const bool a_first = *a->started_at <= *b->started_at;
  const model::Execution& earlier = a_first ? *a : *b;
  const model::Execution& later = a_first ? *b : *a;
  REQUIRE(earlier.ended_at.has_value());
  CHECK(*later.started_at >= *earlier.ended_at);

  // A time already past starts at once; a far one can be cancelled while it waits.
  StartOptions past;
  past.scheduled_for = SystemClock().Now() - seconds(5);
  auto at_once = m.StartExecution(caller, "web-1", "install", json::object(), past);
  REQUIRE(at_once.ok());
  CHECK(at_once->status != model::ExecutionStatus::kScheduled);
  REQUIRE(m.WaitForExecution(caller, at_once->id, seconds(30)).ok());
  StartOptions later_on;
  later_on.scheduled_for = SystemClock().Now() + std::chrono::hours(1);
  auto far = m.StartExecution(caller, "web-1", "install", json::object(), later_on);
  REQUIRE(far.ok());
  auto dropped = m.CancelExecution(caller, far->id);
  REQUIRE(dropped.ok());
  CHECK(dropped->status == model::ExecutionStatus::kCancelled);
}

TEST_CASE("an invalid blueprint is refused with its location and nothing is stored") {
  Fixture f;
  fs::create_directories(f.tmp.path() / "bad");
  std::ofstream(f.tmp.path() / "bad" / "blueprint.yaml")
      << "tosca_definitions_version: cloudify_dsl_1_4\nnode_templates:\n  x:\n    type: "
         "no.such.Type\n";
  auto bp = f.manager->UploadBlueprint(f.caller, "bad", f.tmp.path() / "bad" / "blueprint.yaml");
  REQUIRE_FALSE(bp.ok());
  CHECK(bp.status().code() == ErrorCode::kInvalidBlueprint);
  CHECK(bp.status().ToString().find("blueprint.yaml:4") != std::string::npos);
  CHECK(f.manager->store().GetBlueprint(f.caller, "bad").status().code() == ErrorCode::kNotFound);
  CHECK_FALSE(
      fs::exists(f.tmp.path() / "data" / "resources" / "blueprints" / "default_tenant" / "bad"));
  CHECK(f.manager->UploadBlueprint(f.caller, "9bad", f.tmp.path() / "bp" / "blueprint.yaml")
            .status()
            .code() == ErrorCode::kBadParameters);
}

TEST_CASE("bad inputs, unknown workflows and bad parameters are refused with their codes") {
  Fixture f;
  REQUIRE(f.manager->UploadBlueprint(f.caller, "web", f.tmp.path() / "bp" / "blueprint.yaml").ok());
  CHECK(f.manager->CreateDeployment(f.caller, "web", "d", {{"nope", 1}}).status().code() ==
        ErrorCode::kUnknownDeploymentInput);
  CHECK(f.manager->CreateDeployment(f.caller, "missing", "d").status().code() ==
        ErrorCode::kNotFound);
  REQUIRE(f.manager->CreateDeployment(f.caller, "web", "d").ok());
  CHECK(f.manager->CreateDeployment(f.caller, "web", "d").status().code() == ErrorCode::kConflict);
  CHECK(f.manager->StartExecution(f.caller, "d", "frobnicate").status().code() ==
        ErrorCode::kNonexistentWorkflow);
  CHECK(f.manager->StartExecution(f.caller, "d", "install", {{"bogus", 1}}).status().code() ==
        ErrorCode::kIllegalExecutionParameters);
  CHECK(f.manager->StartExecution(f.caller, "d", "execute_operation").status().code() ==
        ErrorCode::kIllegalExecutionParameters);  // `operation` is required
  CHECK(f.manager
            ->StartExecution(f.caller, "d", "install", {{"bogus", 1}},
                             {.allow_custom_parameters = true})
            .ok());
}

TEST_CASE("a dry run traces the workflow in order and changes nothing") {
  Fixture f;
  REQUIRE(f.manager->UploadBlueprint(f.caller, "web", f.tmp.path() / "bp" / "blueprint.yaml").ok());
  REQUIRE(f.manager->CreateDeployment(f.caller, "web", "d").ok());
  auto started = f.manager->StartExecution(f.caller, "d", "install", {}, {.dry_run = true});
  REQUIRE_MESSAGE(started.ok(), started.status().ToString());
  CHECK(started->is_dry_run);
  auto ended = f.manager->WaitForExecution(f.caller, started->id, seconds(30));
  REQUIRE(ended.ok());
  CHECK(ended->status == model::ExecutionStatus::kTerminated);
  CHECK(ended->is_dry_run);
  CHECK(f.starts == 0);  // no handler ran

  storage::ListQuery all;
  all.get_all_results = true;
  all.filters = {{"deployment_id", {"d"}}};
  auto instances = f.manager->store().ListNodeInstances(f.caller, all);
  REQUIRE(instances.ok());
  REQUIRE(instances->items.size() == 2);
  for (const auto& ni : instances->items) {
    CHECK(ni.state == model::NodeInstanceState::kUninitialized);
    CHECK(ni.runtime_properties.empty());
  }
  storage::ListQuery graphs;
  graphs.filters = {{"execution_id", {started->id}}};
  auto stored = f.manager->store().ListTasksGraphs(f.caller, graphs);
  REQUIRE(stored.ok());
  CHECK(stored->total == 0);

  // The trace: every operation's task events, marked, vm's before web's start.
  REQUIRE(f.manager->SyncEvents(seconds(10)).ok());
  storage::ListQuery q;
  q.get_all_results = true;
  q.filters = {{"execution_id", {started->id}}, {"event_type", {"task_succeeded"}}};
  auto events = f.manager->store().ListEvents(f.caller, q);
  REQUIRE(events.ok());
  std::vector<std::string> trace;
  for (const auto& e : events->items) {
    CHECK(e.message.ends_with(" (dry run)"));
    trace.push_back(e.node_name + " " + e.operation);
  }
  CHECK(trace.size() == 3);  // vm create + start, web start
  auto vm_start = std::find(trace.begin(), trace.end(), "vm cloudify.interfaces.lifecycle.start");
  auto web_start = std::find(trace.begin(), trace.end(), "web cloudify.interfaces.lifecycle.start");
  CHECK(vm_start < web_start);
  CHECK(web_start != trace.end());

  // A real install afterwards starts from nothing; scale cannot be dry-run.
  CHECK(f.Run("d", "install").status == model::ExecutionStatus::kTerminated);
  CHECK(f.starts == 2);
  CHECK(f.manager
            ->StartExecution(f.caller, "d", "scale", {{"scalable_entity_name", "vm"}},
                             {.dry_run = true})
            .status()
            .code() == ErrorCode::kBadParameters);
}

TEST_CASE("one active execution per deployment: a second is refused or queued") {
  Fixture f;
  REQUIRE(f.manager->UploadBlueprint(f.caller, "web", f.tmp.path() / "bp" / "blueprint.yaml").ok());
  REQUIRE(f.manager->CreateDeployment(f.caller, "web", "d").ok());
  f.hold = true;
  auto first = f.manager->StartExecution(f.caller, "d", "install");
  REQUIRE(first.ok());
  auto refused = f.manager->StartExecution(f.caller, "d", "install");
  CHECK(refused.status().code() == ErrorCode::kExistingRunningExecution);
  auto queued = f.manager->StartExecution(f.caller, "d", "install", {}, {.queue = true});
  REQUIRE(queued.ok());
  CHECK(queued->status == model::ExecutionStatus::kQueued);
  auto dropped = f.manager->StartExecution(f.caller, "d", "install", {}, {.queue = true});
  REQUIRE(dropped.ok());
  auto cancelled = f.manager->CancelExecution(f.caller, dropped->id);
  REQUIRE(cancelled.ok());
  CHECK(cancelled->status == model::ExecutionStatus::kCancelled);
  f.hold = false;
  auto a = f.manager->WaitForExecution(f.caller, first->id, seconds(30));
  auto b = f.manager->WaitForExecution(f.caller, queued->id, seconds(30));
  REQUIRE(a.ok());
  REQUIRE(b.ok());
  CHECK(a->status == model::ExecutionStatus::kTerminated);
  CHECK(b->status == model::ExecutionStatus::kTerminated);
  CHECK(*b->started_at >= *a->ended_at);  // the queued one ran after the first ended
  CHECK(f.manager->CancelExecution(f.caller, first->id).status().code() ==
        ErrorCode::kIllegalAction);
}

// Registers system-wide workflow "snapshot", which records what it saw and waits while
// `hold_system` is set.
struct SystemWide {
  std::atomic<bool> hold_system{false};
  std::atomic<int> runs{0};
  std::atomic<bool> saw_deployment{false};
  nlohmann::json parameters;

  explicit SystemWide(Manager& manager) {
    manager.workflows().AddSystemWide("snapshot", [this](workflow::WorkflowContext& ctx) {
      ++runs;
      saw_deployment = !ctx.deployment_id().empty() || !ctx.instances().empty();
      parameters = ctx.parameters();
      ctx.logger().Info("snapshot taken");
      while (hold_system.load()) {
        std::this_thread::sleep_for(milliseconds(5));
      }
      return Status::Ok();
    });
  }
};

model::Execution Stored(Fixture& f, const std::string& id) {
  auto e = f.manager->store().GetExecution(f.caller, id);
  REQUIRE_MESSAGE(e.ok(), e.status().ToString());
  return *e;
}

TEST_CASE("a system-wide execution waits for every other one, and holds back every other") {
  Fixture f;
  SystemWide system(*f.manager);
  CHECK(f.manager->StartSystemExecution(f.caller, "nope").status().code() ==
        ErrorCode::kNonexistentWorkflow);
  CHECK(
      f.manager->StartSystemExecution(f.caller, "snapshot", {}, {.force = true}).status().code() ==
      ErrorCode::kBadParameters);
  const model::Execution first = f.StartHeldInstall();
  REQUIRE(f.manager->CreateDeployment(f.caller, "web", "d2").ok());

  // An install of another deployment is running: the system-wide one is refused or queued.
  auto refused = f.manager->StartSystemExecution(f.caller, "snapshot");
  CHECK(refused.status().code() == ErrorCode::kExistingRunningExecution);
  CHECK(refused.status().message().find(first.id) != std::string::npos);
  system.hold_system = true;
  auto snapshot = f.manager->StartSystemExecution(f.caller, "snapshot", {{"include_logs", true}},
                                                  {.queue = true});
  REQUIRE_MESSAGE(snapshot.ok(), snapshot.status().ToString());
  CHECK(snapshot->status == model::ExecutionStatus::kQueued);
  CHECK(snapshot->is_system_workflow);
  CHECK(snapshot->deployment_id.empty());

  // Queued behind it: an idle deployment's execution too, forced or not.
  CHECK(f.manager->StartExecution(f.caller, "d2", "install").status().code() ==
        ErrorCode::kExistingRunningExecution);
  CHECK(f.manager->StartExecution(f.caller, "d2", "install", {}, {.force = true}).status().code() ==
        ErrorCode::kExistingRunningExecution);
  auto behind = f.manager->StartExecution(f.caller, "d2", "install", {}, {.queue = true});
  REQUIRE(behind.ok());
  CHECK(behind->status == model::ExecutionStatus::kQueued);

  // The install ends: the system-wide execution runs, alone.
  f.hold = false;
  auto a = f.manager->WaitForExecution(f.caller, first.id, seconds(30));
  REQUIRE(a.ok());
  CHECK(a->status == model::ExecutionStatus::kTerminated);
  while (system.runs.load() == 0) {
    std::this_thread::sleep_for(milliseconds(5));
  }
  CHECK(Stored(f, snapshot->id).status == model::ExecutionStatus::kStarted);
  CHECK(Stored(f, behind->id).status == model::ExecutionStatus::kQueued);
  CHECK(f.manager->StartExecution(f.caller, "d", "uninstall").status().code() ==
        ErrorCode::kExistingRunningExecution);

  // It ends: what waited behind it runs.
  system.hold_system = false;
  auto s = f.manager->WaitForExecution(f.caller, snapshot->id, seconds(30));
  REQUIRE(s.ok());
  CHECK(s->status == model::ExecutionStatus::kTerminated);
  CHECK(*s->started_at >= *a->ended_at);
  CHECK_FALSE(system.saw_deployment.load());
  CHECK(system.parameters == json{{"include_logs", true}});
  auto b = f.manager->WaitForExecution(f.caller, behind->id, seconds(30));
  REQUIRE(b.ok());
  CHECK(b->status == model::ExecutionStatus::kTerminated);
  CHECK(*b->started_at >= *s->ended_at);
  CHECK(system.runs == 1);

  // Its events and logs are its own.
  REQUIRE(f.manager->SyncEvents(seconds(10)).ok());
  storage::ListQuery q;
  q.get_all_results = true;
  q.filters["execution_id"] = {snapshot->id};
  auto events = f.manager->store().ListEvents(f.caller, q);
  REQUIRE(events.ok());
  bool logged = false;
  bool succeeded = false;
  for (const auto& event : events->items) {
    logged |= event.message == "snapshot taken";
    succeeded |= event.event_type == "workflow_succeeded";
  }
  CHECK(logged);
  CHECK(succeeded);
}

TEST_CASE("a queued system-wide execution cancelled lets what waited behind it start") {
  Fixture f;
  SystemWide system(*f.manager);
  const model::Execution first = f.StartHeldInstall();
  REQUIRE(f.manager->CreateDeployment(f.caller, "web", "d2").ok());
  auto snapshot = f.manager->StartSystemExecution(f.caller, "snapshot", {}, {.queue = true});
  if (!snapshot.ok()) {
    f.hold = false;  // a failed REQUIRE must not leave the install held
  }
  REQUIRE_MESSAGE(snapshot.ok(), snapshot.status().ToString());
  auto behind = f.manager->StartExecution(f.caller, "d2", "install", {}, {.queue = true});
  REQUIRE(behind.ok());
  CHECK(behind->status == model::ExecutionStatus::kQueued);
  auto cancelled = f.manager->CancelExecution(f.caller, snapshot->id);
  REQUIRE(cancelled.ok());
  CHECK(cancelled->status == model::ExecutionStatus::kCancelled);
  // d2 has nothing active: its install no longer waits (while d's still runs).
  CHECK(Stored(f, behind->id).status != model::ExecutionStatus::kQueued);
  f.hold = false;
  auto b = f.manager->WaitForExecution(f.caller, behind->id, seconds(30));
  REQUIRE(b.ok());
  CHECK(b->status == model::ExecutionStatus::kTerminated);
  REQUIRE(f.manager->WaitForExecution(f.caller, first.id, seconds(30)).ok());
  CHECK(system.runs == 0);
}

TEST_CASE("async upload and create: recorded at once, finished by a worker") {
  Fixture f;
  REQUIRE(f.manager->UploadBlueprint(f.caller, "web", f.tmp.path() / "bp" / "blueprint.yaml").ok());
  REQUIRE(f.manager->CreateDeployment(f.caller, "web", "d1").ok());
  REQUIRE(f.manager->CreateDeployment(f.caller, "web", "d2").ok());
  // Both workers held in installs: what is recorded now waits for them.
  f.hold = true;
  auto i1 = f.manager->StartExecution(f.caller, "d1", "install");
  auto i2 = f.manager->StartExecution(f.caller, "d2", "install");
  REQUIRE(i1.ok());
  REQUIRE(i2.ok());
  while (f.starts.load() < 2) {
    std::this_thread::sleep_for(milliseconds(5));
  }

  auto d = f.manager->CreateDeployment(f.caller, "web", "a", {{"port", 9090}},
                                       {.async = true, .display_name = "A"});
  if (!d.ok()) {
    f.hold = false;
  }
  REQUIRE_MESSAGE(d.ok(), d.status().ToString());
  CHECK(d->display_name == "A");
  CHECK(d->latest_execution_status == model::LatestExecutionStatus::kInProgress);
  storage::ListQuery of_a;
  of_a.filters["deployment_id"] = {"a"};
  CHECK(f.manager->store().ListNodeInstances(f.caller, of_a)->total == 0);
  CHECK(f.manager->StartExecution(f.caller, "a", "install").status().code() ==
        ErrorCode::kDeploymentEnvironmentCreationPending);
  CHECK(f.manager->DeleteDeployment(f.caller, "a").code() == ErrorCode::kDependentExists);
  // Bad inputs are refused at once, async or not, and nothing is recorded.
  CHECK(f.manager->CreateDeployment(f.caller, "web", "b", {{"nope", 1}}, {.async = true})
            .status()
            .code() == ErrorCode::kUnknownDeploymentInput);
  CHECK(f.manager->store().GetDeployment(f.caller, "b").status().code() == ErrorCode::kNotFound);

  const fs::path archive = f.tmp.path() / "bp.tar.gz";
  REQUIRE(CreateTarGz(f.tmp.path() / "bp", archive, "bp").ok());
  auto bytes = ReadFileBytes(archive);
  REQUIRE(bytes.ok());
  auto bp = f.manager->UploadBlueprintArchive(f.caller, "later", *bytes, "blueprint.yaml",
                                              {.async = true});
  REQUIRE_MESSAGE(bp.ok(), bp.status().ToString());
  CHECK(bp->state == model::BlueprintState::kUploading);
  CHECK(f.manager->CreateDeployment(f.caller, "later", "l").status().code() ==
        ErrorCode::kDeploymentCreation);

  f.hold = false;
  auto env = f.manager->WaitForExecution(f.caller, d->create_execution_id, seconds(30));
  REQUIRE(env.ok());
  CHECK(env->status == model::ExecutionStatus::kTerminated);
  CHECK(f.manager->store().ListNodeInstances(f.caller, of_a)->total == 2);
  CHECK(f.Run("a", "install").status == model::ExecutionStatus::kTerminated);
  auto outputs = f.manager->DeploymentOutputs(f.caller, "a");
  REQUIRE(outputs.ok());
  CHECK((*outputs)["url"] == "http://10.0.0.7:9090");
  CHECK(f.manager->store().GetDeployment(f.caller, "a")->latest_execution_status ==
        model::LatestExecutionStatus::kCompleted);

  while (f.manager->store().GetBlueprint(f.caller, "later")->state ==
         model::BlueprintState::kUploading) {
    std::this_thread::sleep_for(milliseconds(5));
  }
  auto later = f.manager->store().GetBlueprint(f.caller, "later");
  CHECK(later->state == model::BlueprintState::kUploaded);
  CHECK(later->description == "two tiers");
  CHECK(f.manager->CreateDeployment(f.caller, "later", "l").ok());
  REQUIRE(f.manager->WaitForExecution(f.caller, i1->id, seconds(30)).ok());
  REQUIRE(f.manager->WaitForExecution(f.caller, i2->id, seconds(30)).ok());
}

TEST_CASE("a status update ending an execution lets the queued one start") {
  Fixture f;
  const model::Execution first = f.StartHeldInstall();
  auto queued = f.manager->StartExecution(f.caller, "d", "install", {}, {.queue = true});
  REQUIRE(queued.ok());
  CHECK(queued->status == model::ExecutionStatus::kQueued);
  auto ended = f.manager->UpdateExecutionStatus(f.caller, first.id, model::ExecutionStatus::kFailed,
                                                "given up");
  REQUIRE_MESSAGE(ended.ok(), ended.status().ToString());
  CHECK(ended->ended_at.has_value());
  // The queued execution no longer waits for the first.
  auto promoted = f.manager->store().GetExecution(f.caller, queued->id);
  REQUIRE(promoted.ok());
  CHECK(promoted->status != model::ExecutionStatus::kQueued);
  f.hold = false;
  auto b = f.manager->WaitForExecution(f.caller, queued->id, seconds(30));
  REQUIRE(b.ok());
  CHECK(b->status == model::ExecutionStatus::kTerminated);
  // The first run stopped at its end status, and it stays as reported.
  auto a = f.manager->WaitForExecution(f.caller, first.id, seconds(30));
  REQUIRE(a.ok());
  CHECK(a->status == model::ExecutionStatus::kFailed);
  CHECK(a->error == "given up");
  CHECK(f.manager->UpdateExecutionStatus(f.caller, first.id, model::ExecutionStatus::kTerminated)
            .status()
            .code() == ErrorCode::kInvalidExecutionStatusUpdate);
}

TEST_CASE("a cancelled execution can be resumed and finishes without re-running") {
  Fixture f;
  const model::Execution run = f.StartHeldInstall();
  REQUIRE(f.manager->CancelExecution(f.caller, run.id).ok());
  f.hold = false;
  auto cancelled = f.manager->WaitForExecution(f.caller, run.id, seconds(30));
  REQUIRE(cancelled.ok());
  CHECK(cancelled->status == model::ExecutionStatus::kCancelled);
  const int starts_before = f.starts.load();
  CHECK(f.manager->ResumeExecution(f.caller, "nope").status().code() == ErrorCode::kNotFound);
  REQUIRE(f.manager->ResumeExecution(f.caller, run.id).ok());
  auto resumed = f.manager->WaitForExecution(f.caller, run.id, seconds(30));
  REQUIRE(resumed.ok());
  CHECK(resumed->status == model::ExecutionStatus::kTerminated);
  CHECK(f.starts.load() == starts_before + 1);  // only the web start that never ran
}

// Installs deployment "d" of a node with `instances` instances whose create and start are
// p.tasks.create and p.tasks.start (the caller registers them); the ended execution.
model::Execution InstallOneNode(Manager& m, const fs::path& dir, int instances) {
  fs::create_directories(dir / "bp");
  std::ofstream(dir / "bp" / "blueprint.yaml")
      << "tosca_definitions_version: cloudify_dsl_1_4\n"
         "imports:\n  - http://cloudify.co/spec/cloudify/6.4.0/types.yaml\n"
         "plugins:\n  p:\n    executor: central_deployment_agent\n    install: false\n"
         "node_templates:\n  vm:\n    type: cloudify.nodes.Root\n"
         "    capabilities:\n      scalable:\n        properties:\n          default_instances: "
      << instances
      << "\n    interfaces:\n      cloudify.interfaces.lifecycle:\n"
         "        create: p.tasks.create\n        start: p.tasks.start\n";
  const auto caller = storage::CallerContext::System();
  REQUIRE(m.UploadBlueprint(caller, "bp", dir / "bp" / "blueprint.yaml").ok());
  REQUIRE(m.CreateDeployment(caller, "bp", "d").ok());
  auto run = m.StartExecution(caller, "d", "install");
  REQUIRE(run.ok());
  auto done = m.WaitForExecution(caller, run->id, seconds(30));
  REQUIRE(done.ok());
  return *done;
}

TEST_CASE(
    "instances written from outside during a run end in the run's state, outside write kept") {
  testing::TempDir tmp;
  ManagerOptions options;
  options.data_dir = tmp.path() / "data";
  auto opened = Manager::Open(options);
  REQUIRE_MESSAGE(opened.ok(), opened.status().ToString());
  Manager& m = **opened;
  const auto caller = storage::CallerContext::System();
  std::atomic<int> outside_writes{0};
  // As another client's PATCH /node-instances would, while the run still has states to store.
  m.operations().Add("p.tasks.create", [&](workflow::OperationContext& ctx) {
    storage::NodeInstanceUpdate patch;
    patch.force = true;
    patch.runtime_properties = json{{"patched", ctx.instance().instance().id}};
    if (m.store().UpdateNodeInstance(caller, ctx.instance().instance().id, patch).ok()) {
      ++outside_writes;
    }
  });
  m.operations().Add("p.tasks.start", [](workflow::OperationContext&) {});
  const model::Execution done = InstallOneNode(m, tmp.path(), 5);
  CHECK_MESSAGE(done.status == model::ExecutionStatus::kTerminated, done.error);
  CHECK(outside_writes.load() == 5);
  storage::ListQuery query;
  query.filters = {{"deployment_id", {"d"}}};
  auto instances = m.store().ListNodeInstances(caller, query);
  REQUIRE(instances.ok());
  REQUIRE(instances->items.size() == 5);
  for (const auto& instance : instances->items) {
    CHECK(instance.state == model::NodeInstanceState::kStarted);
    CHECK(instance.runtime_properties == json{{"patched", instance.id}});
  }
}

TEST_CASE("an execution whose lease lapsed while its manager runs it is not run a second time") {
  testing::TempDir tmp;
  ManagerOptions options;
  options.data_dir = tmp.path() / "data";
  options.manager_name = "m1";
  options.max_concurrent_executions = 3;  // idle workers that could claim it again
  auto opened = Manager::Open(options);
  REQUIRE_MESSAGE(opened.ok(), opened.status().ToString());
  Manager& m = **opened;
  std::atomic<int> creates{0};
  m.operations().Add("p.tasks.create", [&](workflow::OperationContext& ctx) {
    ++creates;
    // As a stalled lease keeper would leave it: claimable while it still runs here.
    REQUIRE(m.store().ReleaseExecution(ctx.execution_id(), "m1").ok());
    std::this_thread::sleep_for(milliseconds(600));  // three claim rounds of the idle workers
  });
  m.operations().Add("p.tasks.start", [](workflow::OperationContext&) {});
  const model::Execution done = InstallOneNode(m, tmp.path(), 1);
  CHECK_MESSAGE(done.status == model::ExecutionStatus::kTerminated, done.error);
  CHECK(creates.load() == 1);
}

}  // namespace
}  // namespace cloudify
