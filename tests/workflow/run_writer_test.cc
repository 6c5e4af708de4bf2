// The RunWriter against a real (in-memory SQLite) store: batching, queue order, stale
// instances handed back, and a failed batch stopping every later write.
#include "workflow/run_writer.h"

#include <atomic>
#include <mutex>
#include <thread>

#include <doctest/doctest.h>

namespace cloudify::workflow {
namespace {

using State = model::NodeInstanceState;

struct Fixture {
  std::unique_ptr<storage::Store> store;
  storage::CallerContext caller = storage::CallerContext::System();

  explicit Fixture(int instances) {
    auto opened = storage::OpenStore("sqlite://:memory:");
    REQUIRE_MESSAGE(opened.ok(), opened.status().ToString());
    store = std::move(*opened);
    std::vector<model::NodeInstance> list;
    for (int i = 0; i < instances; ++i) {
      model::NodeInstance instance;
      instance.id = "vm_" + std::to_string(i);
      instance.node_id = "vm";
      instance.deployment_id = "d1";
      list.push_back(instance);
    }
    REQUIRE(store->CreateNodeInstances(caller, list).ok());
    model::Operation op;
    op.id = "op1";
    op.name = "cloudify.interfaces.lifecycle.create";
    op.type = "RemoteWorkflowTask";
    op.tasks_graph_id = "g1";
    op.execution_id = "e1";
    REQUIRE(store->CreateTasksGraph(caller, {"g1", "install", "e1", {}}, {op}).ok());
  }
};

TEST_CASE("RunWriter: writes queued while the store is busy go in one batch, in order") {
  Fixture f(50);
  RunWriter writer(*f.store, f.caller, nullptr);
  // The store's only connection is held: the writer's first batch waits, the rest queue up.
  REQUIRE(
      f.store
          ->InTransaction([&](storage::Store&) {
            for (int i = 0; i < 50; ++i) {
              const std::string id = "vm_" + std::to_string(i);
              writer.SetInstanceState(id, State::kCreating, 1);
              writer.SetInstanceState(id, State::kCreated, 2);
              writer.SetInstanceState(id, State::kConfiguring, 3);
            }
            writer.SetOperationState("op1", model::TaskState::kSucceeded, {{"current_retries", 0}});
            return Status::Ok();
          })
          .ok());
  REQUIRE(writer.Flush().ok());
  CHECK(writer.batches() <= 2);  // 151 writes: the one taken before the others queued, the rest
  for (int i = 0; i < 50; ++i) {
    auto stored = f.store->GetNodeInstance(f.caller, "vm_" + std::to_string(i));
    REQUIRE(stored.ok());
    CHECK(stored->state == State::kConfiguring);
    CHECK(stored->version == 4);
  }
  CHECK(f.store->GetOperation(f.caller, "op1")->state == model::TaskState::kSucceeded);
}

TEST_CASE("RunWriter: an instance written by someone else goes to the stale handler") {
  Fixture f(2);
  std::mutex mu;
  std::vector<std::string> stale;
  RunWriter writer(*f.store, f.caller, [&](const std::vector<std::string>& ids) {
    std::lock_guard lock(mu);
    stale.insert(stale.end(), ids.begin(), ids.end());
  });
  storage::NodeInstanceUpdate outside;
  outside.version = 1;
  outside.runtime_properties = nlohmann::json{{"k", "v"}};
  REQUIRE(f.store->UpdateNodeInstance(f.caller, "vm_1", outside).ok());
  writer.SetInstanceState("vm_0", State::kCreating, 1);
  writer.SetInstanceState("vm_1", State::kCreating, 1);  // stored version is 2 now
  REQUIRE(writer.Flush().ok());
  std::lock_guard lock(mu);
  CHECK(stale == std::vector<std::string>{"vm_1"});
  CHECK(f.store->GetNodeInstance(f.caller, "vm_0")->state == State::kCreating);
  CHECK(f.store->GetNodeInstance(f.caller, "vm_1")->state == State::kUninitialized);
}

TEST_CASE("RunWriter: after a failed batch nothing more is stored and Flush says why") {
  Fixture f(1);
  RunWriter writer(*f.store, f.caller, nullptr);
  writer.SetOperationState("no-such-operation", model::TaskState::kSucceeded, {});
  Status first = writer.Flush();
  CHECK(first.code() == ErrorCode::kNotFound);
  // A later outcome must not be stored without the earlier one.
  writer.SetInstanceState("vm_0", State::kCreating, 1);
  writer.SetOperationState("op1", model::TaskState::kSucceeded, {});
  CHECK(writer.Flush().code() == ErrorCode::kNotFound);
  CHECK(f.store->GetNodeInstance(f.caller, "vm_0")->state == State::kUninitialized);
  CHECK(f.store->GetOperation(f.caller, "op1")->state == model::TaskState::kPending);
}

TEST_CASE("RunWriter: writes from many threads all land, and the destructor stores the rest") {
  Fixture f(8);
  {
    RunWriter writer(*f.store, f.caller, nullptr);
    std::vector<std::thread> threads;
    for (int t = 0; t < 8; ++t) {
      threads.emplace_back([&writer, t] {
        const std::string id = "vm_" + std::to_string(t);
        for (int v = 1; v <= 100; ++v) {
          writer.SetInstanceState(id, v % 2 == 0 ? State::kStarted : State::kStopped, v);
        }
      });
    }
    for (auto& t : threads) {
      t.join();
    }
  }
  for (int t = 0; t < 8; ++t) {
    auto stored = f.store->GetNodeInstance(f.caller, "vm_" + std::to_string(t));
    REQUIRE(stored.ok());
    CHECK(stored->version == 101);
    CHECK(stored->state == State::kStarted);
  }
}

}  // namespace
}  // namespace cloudify::workflow
