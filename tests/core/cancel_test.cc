// cancel, force-cancel and kill of running executions with in-process C++ handlers.
#include <atomic>
#include <fstream>
#include <thread>

#include <doctest/doctest.h>

#include "cloudify/manager.h"

#include "support/temp_dir.h"

namespace cloudify {
namespace {

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
node_templates:
  vm:
    type: cloudify.nodes.Root
    interfaces:
      cloudify.interfaces.lifecycle:
        create: p.tasks.long
        start: p.tasks.quick
)";

struct Fixture {
  testing::TempDir tmp;
  std::unique_ptr<Manager> manager;
  storage::CallerContext caller = storage::CallerContext::System();
  std::atomic<int> long_runs{0};
  std::atomic<int> long_ends{0};
  std::atomic<bool> saw_cancel_request{false};
  std::atomic<bool> release{false};
  std::atomic<int> quick_runs{0};

  Fixture() {
    ManagerOptions options;
    options.data_dir = tmp.path() / "data";
    options.task_retry_interval = milliseconds(1);
    auto m = Manager::Open(options);
    REQUIRE_MESSAGE(m.ok(), m.status().ToString());
    manager = std::move(*m);
    // Runs until released, or until a force-cancel / kill asks it to stop (10 s at most).
    manager->operations().Add("p.tasks.long", [this](workflow::OperationContext& ctx) {
      ++long_runs;
      const auto deadline = std::chrono::steady_clock::now() + seconds(10);
      while (!release.load() && std::chrono::steady_clock::now() < deadline) {
        if (ctx.cancel_requested()) {
          saw_cancel_request = true;
          break;
        }
        std::this_thread::sleep_for(milliseconds(2));
      }
      ++long_ends;
    });
    manager->operations().Add("p.tasks.quick",
                              [this](workflow::OperationContext&) { ++quick_runs; });
    fs::create_directories(tmp.path() / "bp");
    std::ofstream(tmp.path() / "bp" / "blueprint.yaml") << kBlueprint;
    REQUIRE(manager->UploadBlueprint(caller, "bp", tmp.path() / "bp" / "blueprint.yaml").ok());
    REQUIRE(manager->CreateDeployment(caller, "bp", "d").ok());
  }

  std::string StartAndWaitForLong() {
    auto ex = manager->StartExecution(caller, "d", "install");
    REQUIRE_MESSAGE(ex.ok(), ex.status().ToString());
    while (long_runs.load() == 0) {
      std::this_thread::sleep_for(milliseconds(2));
    }
    return ex->id;
  }

  model::Execution Wait(const std::string& id) {
    auto ended = manager->WaitForExecution(caller, id, seconds(30));
    REQUIRE_MESSAGE(ended.ok(), ended.status().ToString());
    return *ended;
  }
};

}  // namespace

TEST_CASE("force-cancel tells the running handler, the operation is not a success and resumes") {
  Fixture f;
  const std::string id = f.StartAndWaitForLong();
  auto forced = f.manager->CancelExecution(f.caller, id, CancelKind::kForce);
  REQUIRE_MESSAGE(forced.ok(), forced.status().ToString());
  CHECK(forced->status == model::ExecutionStatus::kForceCancelling);
  auto ended = f.Wait(id);
  CHECK(ended.status == model::ExecutionStatus::kCancelled);
  CHECK(f.saw_cancel_request.load());
  CHECK(f.quick_runs == 0);
  auto vm = f.manager->store().ListNodeInstances(f.caller, {});
  REQUIRE(vm.ok());
  REQUIRE(vm->items.size() == 1);
  CHECK(vm->items[0].state != model::NodeInstanceState::kStarted);

  // The interrupted create runs again on resume.
  f.release = true;
  REQUIRE(f.manager->ResumeExecution(f.caller, id).ok());
  auto resumed = f.Wait(id);
  CHECK_MESSAGE(resumed.status == model::ExecutionStatus::kTerminated, resumed.error);
  CHECK(f.long_runs == 2);
  CHECK(f.quick_runs == 1);
}

TEST_CASE("a plain cancel lets the running handler finish without asking it to stop") {
  Fixture f;
  const std::string id = f.StartAndWaitForLong();
  auto cancelled = f.manager->CancelExecution(f.caller, id);
  REQUIRE(cancelled.ok());
  CHECK(cancelled->status == model::ExecutionStatus::kCancelling);
  std::this_thread::sleep_for(milliseconds(50));
  CHECK(f.long_ends == 0);  // still running: a cancel waits for it
  // From cancelling, a force-cancel is allowed and reaches the handler.
  auto forced = f.manager->CancelExecution(f.caller, id, CancelKind::kForce);
  REQUIRE_MESSAGE(forced.ok(), forced.status().ToString());
  CHECK(f.Wait(id).status == model::ExecutionStatus::kCancelled);
  CHECK(f.saw_cancel_request.load());
  // Nothing to cancel any more.
  CHECK(f.manager->CancelExecution(f.caller, id, CancelKind::kForce).status().code() ==
        ErrorCode::kIllegalAction);
  CHECK(f.manager->CancelExecution(f.caller, id, CancelKind::kKill).status().code() ==
        ErrorCode::kIllegalAction);
}

TEST_CASE("kill is allowed from cancelling and ends the execution cancelled") {
  Fixture f;
  const std::string id = f.StartAndWaitForLong();
  REQUIRE(f.manager->CancelExecution(f.caller, id).ok());
  // A second plain cancel is refused; kill is not.
  CHECK(f.manager->CancelExecution(f.caller, id).status().code() == ErrorCode::kIllegalAction);
  auto killed = f.manager->CancelExecution(f.caller, id, CancelKind::kKill);
  REQUIRE_MESSAGE(killed.ok(), killed.status().ToString());
  CHECK(killed->status == model::ExecutionStatus::kKillCancelling);
  CHECK(f.Wait(id).status == model::ExecutionStatus::kCancelled);
  CHECK(f.saw_cancel_request.load());
}

}  // namespace cloudify
