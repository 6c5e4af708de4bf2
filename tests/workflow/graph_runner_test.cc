#include "cloudify/workflow/graph_runner.h"

#include <algorithm>
#include <atomic>
#include <condition_variable>
#include <filesystem>
#include <functional>
#include <iterator>
#include <map>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include <doctest/doctest.h>

namespace cloudify::workflow {
namespace {

using model::TaskState;
using std::chrono::milliseconds;

GraphTask Task(std::string id, std::vector<std::string> deps = {}, std::string subgraph = {},
               TaskKind kind = TaskKind::kOperation) {
  GraphTask t;
  t.id = id;
  t.name = id;
  t.kind = kind;
  t.dependencies = std::move(deps);
  t.containing_subgraph = std::move(subgraph);
  return t;
}

// Records the order of executions; tasks behave as a script says (by id and attempt).
class ScriptedExecutor final : public TaskExecutor {
 public:
  std::function<TaskOutcome(const GraphTask&, int)> behaviour = [](const GraphTask&, int) {
    return TaskOutcome::Success();
  };

  TaskOutcome Execute(const GraphTask& task, int retry) override {
    {
      std::lock_guard lock(mu);
      order.push_back(task.id);
      ++calls[task.id];
    }
    return behaviour(task, retry);
  }

  size_t Pos(const std::string& id) {
    return static_cast<size_t>(std::find(order.begin(), order.end(), id) - order.begin());
  }

  std::mutex mu;
  std::vector<std::string> order;
  std::map<std::string, int> calls;
};

class RecordingObserver final : public GraphObserver {
 public:
  void OnTaskState(const GraphTask& task, TaskState state, int retry,
                   std::string_view error) override {
    events.push_back(task.id + ":" + std::string(model::TaskStateName(state)) + ":" +
                     std::to_string(retry) + (error.empty() ? "" : ":" + std::string(error)));
    final_state[task.id] = state;
  }
  std::vector<std::string> events;
  std::map<std::string, TaskState> final_state;
};

GraphRunOptions Fast() {
  GraphRunOptions o;
  o.parallelism = 4;
  o.task_retry_interval = milliseconds(1);
  return o;
}

TEST_CASE("dependencies and subgraphs order the run") {
  TaskGraph g;
  g.tasks = {Task("sub_a", {}, {}, TaskKind::kSubgraph),
             Task("a1", {}, "sub_a"),
             Task("a2", {"a1"}, "sub_a"),
             Task("sub_b", {"sub_a"}, {}, TaskKind::kSubgraph),
             Task("b1", {}, "sub_b"),
             Task("free")};
  ScriptedExecutor exec;
  RecordingObserver obs;
  auto result = RunGraph(g, exec, &obs, Fast());
  REQUIRE(result.ok());
  CHECK(result->outcome == GraphRunResult::Outcome::kSucceeded);
  CHECK(result->attempts == 4);  // subgraphs are not executed
  CHECK(exec.Pos("a1") < exec.Pos("a2"));
  CHECK(exec.Pos("a2") < exec.Pos("b1"));  // sub_b waits for all of sub_a
  CHECK(obs.final_state["sub_a"] == TaskState::kSucceeded);
  CHECK(obs.final_state["sub_b"] == TaskState::kSucceeded);
  CHECK(obs.final_state["free"] == TaskState::kSucceeded);
}

TEST_CASE("independent tasks run in parallel up to the limit") {
  TaskGraph g;
  for (int i = 0; i < 8; ++i) {
    g.tasks.push_back(Task("t" + std::to_string(i)));
  }
  std::atomic<int> running{0}, peak{0};
  // The process's threads, from /proc: the run must start no more than it may use.
  auto threads = [] {
    const std::filesystem::directory_iterator tasks("/proc/self/task");
    return std::distance(std::filesystem::begin(tasks), std::filesystem::end(tasks));
  };
  const auto threads_before = threads();
  std::atomic<long> threads_peak{0};
  ScriptedExecutor exec;
  exec.behaviour = [&](const GraphTask&, int) {
    long seen_threads = threads_peak.load();
    const long now_threads = static_cast<long>(threads());
    while (now_threads > seen_threads &&
           !threads_peak.compare_exchange_weak(seen_threads, now_threads)) {
    }
    int now = ++running;
    int seen = peak.load();
    while (now > seen && !peak.compare_exchange_weak(seen, now)) {
    }
    std::this_thread::sleep_for(milliseconds(50));
    --running;
    return TaskOutcome::Success();
  };
  GraphRunOptions options = Fast();
  options.parallelism = 4;
  auto result = RunGraph(g, exec, nullptr, options);
  REQUIRE(result.ok());
  CHECK(result->outcome == GraphRunResult::Outcome::kSucceeded);
  CHECK(peak.load() == 4);
  CHECK(threads_peak.load() - threads_before <= 4);  // none beyond the limit without remote waits
}

TEST_CASE("tasks in a remote wait give their place to others, up to max_remote_waits") {
  TaskGraph g;
  for (int i = 0; i < 12; ++i) {
    g.tasks.push_back(Task("t" + std::to_string(i)));
  }
  std::mutex mu;
  std::condition_variable cv;
  int waiting = 0, peak_waiting = 0, working = 0, peak_working = 0;
  bool release = false;
  ScriptedExecutor exec;
  exec.behaviour = [&](const GraphTask&, int) {
    std::unique_lock lock(mu);
    peak_working = std::max(peak_working, ++working);
    lock.unlock();
    std::this_thread::sleep_for(milliseconds(5));  // local work, as before a send
    lock.lock();
    --working;
    {
      RemoteWait wait;
      peak_waiting = std::max(peak_waiting, ++waiting);
      cv.notify_all();
      // Held until five wait at once: with parallelism 1 that needs the remote waits.
      cv.wait_for(lock, std::chrono::seconds(5), [&] { return release || waiting == 5; });
      release = true;
      cv.notify_all();
      --waiting;
    }
    return TaskOutcome::Success();
  };
  GraphRunOptions options = Fast();
  options.parallelism = 1;
  options.max_remote_waits = 4;
  const auto begin = std::chrono::steady_clock::now();
  auto result = RunGraph(g, exec, nullptr, options);
  REQUIRE(result.ok());
  CHECK(result->outcome == GraphRunResult::Outcome::kSucceeded);
  CHECK(exec.order.size() == 12);
  CHECK(peak_working == 1);  // local work stays within parallelism
  CHECK(peak_waiting == 5);  // parallelism + max_remote_waits threads at most
  CHECK(std::chrono::steady_clock::now() - begin < std::chrono::seconds(4));
}

TEST_CASE("a RemoteWait outside a run's worker changes nothing") {
  RemoteWait wait;  // no run: nothing to tell, nothing to crash
  TaskGraph g;
  g.tasks.push_back(Task("a"));
  ScriptedExecutor exec;
  auto result = RunGraph(g, exec, nullptr, Fast());
  REQUIRE(result.ok());
  CHECK(result->outcome == GraphRunResult::Outcome::kSucceeded);
}

TEST_CASE("a recoverable failure is retried until it succeeds") {
  TaskGraph g;
  g.tasks = {Task("flaky"), Task("after", {"flaky"})};
  ScriptedExecutor exec;
  exec.behaviour = [](const GraphTask& t, int retry) {
    if (t.id == "flaky" && retry < 2) {
      return TaskOutcome::Failure("not yet");
    }
    return TaskOutcome::Success();
  };
  RecordingObserver obs;
  auto result = RunGraph(g, exec, &obs, Fast());
  REQUIRE(result.ok());
  CHECK(result->outcome == GraphRunResult::Outcome::kSucceeded);
  CHECK(exec.calls["flaky"] == 3);
  CHECK(exec.calls["after"] == 1);
  CHECK(std::count(obs.events.begin(), obs.events.end(), "flaky:rescheduled:0:not yet") == 1);
  CHECK(std::count(obs.events.begin(), obs.events.end(), "flaky:succeeded:2") == 1);
}

TEST_CASE("retries run out at the task's max_retries and the run fails naming the task") {
  TaskGraph g;
  g.tasks = {Task("broken"), Task("never", {"broken"})};
  g.tasks[0].max_retries = 2;
  g.tasks[0].node_instance_id = "vm_abc123";
  ScriptedExecutor exec;
  exec.behaviour = [](const GraphTask&, int) { return TaskOutcome::Failure("disk full"); };
  RecordingObserver obs;
  auto result = RunGraph(g, exec, &obs, Fast());
  REQUIRE(result.ok());
  CHECK(result->outcome == GraphRunResult::Outcome::kFailed);
  CHECK(exec.calls["broken"] == 3);  // the first attempt and two retries
  CHECK(exec.calls.count("never") == 0);
  CHECK(result->error == "Task failed: broken (vm_abc123): disk full");
  CHECK(obs.final_state["broken"] == TaskState::kFailed);
}

TEST_CASE("a non-recoverable failure is not retried, tasks in flight finish") {
  TaskGraph g;
  g.tasks = {Task("fatal"), Task("slow"), Task("later", {"slow"})};
  ScriptedExecutor exec;
  exec.behaviour = [](const GraphTask& t, int) {
    if (t.id == "fatal") {
      return TaskOutcome::Failure("bad input", /*recoverable=*/false);
    }
    std::this_thread::sleep_for(milliseconds(100));
    return TaskOutcome::Success();
  };
  RecordingObserver obs;
  auto result = RunGraph(g, exec, &obs, Fast());
  REQUIRE(result.ok());
  CHECK(result->outcome == GraphRunResult::Outcome::kFailed);
  CHECK(exec.calls["fatal"] == 1);
  CHECK(obs.final_state["slow"] == TaskState::kSucceeded);  // was running: allowed to finish
  CHECK(exec.calls.count("later") == 0);                    // not started after the failure
}

TEST_CASE("a requested retry waits the asked delay and counts against the retries") {
  TaskGraph g;
  g.tasks = {Task("poll")};
  g.tasks[0].max_retries = 5;
  ScriptedExecutor exec;
  exec.behaviour = [](const GraphTask&, int retry) {
    return retry < 1 ? TaskOutcome::Retry("waiting for ip", milliseconds(150))
                     : TaskOutcome::Success();
  };
  auto start = std::chrono::steady_clock::now();
  auto result = RunGraph(g, exec, nullptr, Fast());
  REQUIRE(result.ok());
  CHECK(result->outcome == GraphRunResult::Outcome::kSucceeded);
  CHECK(std::chrono::steady_clock::now() - start >= milliseconds(150));
  CHECK(exec.calls["poll"] == 2);
}

TEST_CASE("cancel stops new tasks, running ones finish") {
  TaskGraph g;
  g.tasks = {Task("first"), Task("second", {"first"})};
  std::atomic<bool> cancel{false};
  ScriptedExecutor exec;
  exec.behaviour = [&](const GraphTask&, int) {
    cancel = true;
    return TaskOutcome::Success();
  };
  GraphRunOptions options = Fast();
  options.cancel = &cancel;
  auto result = RunGraph(g, exec, nullptr, options);
  REQUIRE(result.ok());
  CHECK(result->outcome == GraphRunResult::Outcome::kCancelled);
  CHECK(exec.calls["first"] == 1);
  CHECK(exec.calls.count("second") == 0);
}

TEST_CASE("a cancel during retries ends cancelled, not failed") {
  TaskGraph g;
  g.tasks = {Task("waiting")};
  std::atomic<bool> cancel{false};
  ScriptedExecutor exec;
  exec.behaviour = [&](const GraphTask&, int retry) {
    if (retry == 1) {
      cancel = true;
    }
    return TaskOutcome::Retry("vm not up yet", milliseconds(1));
  };
  GraphRunOptions options = Fast();
  options.cancel = &cancel;
  auto result = RunGraph(g, exec, nullptr, options);
  REQUIRE(result.ok());
  CHECK(result->outcome == GraphRunResult::Outcome::kCancelled);
  CHECK(exec.calls["waiting"] == 2);
}

TEST_CASE("a member of something that is not a subgraph is refused, not waited for") {
  TaskGraph g;
  g.tasks = {Task("op"), Task("member", {}, "op")};
  ScriptedExecutor exec;
  auto result = RunGraph(g, exec, nullptr, Fast());
  CHECK(result.status().code() == ErrorCode::kInternal);
}

TEST_CASE("a resumed run skips tasks that already succeeded") {
  TaskGraph g;
  g.tasks = {Task("sub", {}, {}, TaskKind::kSubgraph), Task("done1", {}, "sub"),
             Task("done2", {"done1"}, "sub"), Task("todo", {"sub"})};
  GraphRunOptions options = Fast();
  options.previous_states = {{"done1", TaskState::kSucceeded},
                             {"done2", TaskState::kSucceeded},
                             {"todo", TaskState::kFailed}};
  ScriptedExecutor exec;
  auto result = RunGraph(g, exec, nullptr, options);
  REQUIRE(result.ok());
  CHECK(result->outcome == GraphRunResult::Outcome::kSucceeded);
  CHECK(result->skipped == 2);
  CHECK(exec.order == std::vector<std::string>{"todo"});
}

TEST_CASE("a malformed graph is refused before anything runs") {
  TaskGraph g;
  g.tasks = {Task("a", {"b"}), Task("b", {"a"})};
  ScriptedExecutor exec;
  auto result = RunGraph(g, exec, nullptr, Fast());
  CHECK(result.status().code() == ErrorCode::kInternal);
  CHECK(exec.order.empty());
}

TEST_CASE("an empty graph succeeds at once") {
  ScriptedExecutor exec;
  auto result = RunGraph(TaskGraph{}, exec, nullptr, Fast());
  REQUIRE(result.ok());
  CHECK(result->outcome == GraphRunResult::Outcome::kSucceeded);
}

}  // namespace
}  // namespace cloudify::workflow

namespace cloudify::workflow {

TEST_CASE("backoff: the pause doubles per retry up to the cap, jitter only shortens it") {
  RetryBackoff b;
  b.enabled = true;
  b.multiplier = 2.0;
  b.max_interval = std::chrono::milliseconds(1000);
  b.jitter = 0.0;
  const std::chrono::milliseconds base(100);
  std::vector<int64_t> pauses;
  for (int n = 1; n <= 6; ++n) {
    pauses.push_back(BackoffDelay(base, b, n, 0.7).count());
  }
  CHECK(pauses == std::vector<int64_t>{100, 200, 400, 800, 1000, 1000});
  b.jitter = 0.5;
  CHECK(BackoffDelay(base, b, 3, 0.0).count() == 400);
  CHECK(BackoffDelay(base, b, 3, 0.5).count() == 300);
  CHECK(BackoffDelay(base, b, 3, 0.999).count() >= 200);
  b.enabled = false;
  CHECK(BackoffDelay(base, b, 5, 0.3).count() == 100);  // the original's fixed pause
}

TEST_CASE("backoff applies to retries without a delay of their own, not to explicit intervals") {
  auto flaky = [](const GraphTask&, int retry) {
    return retry < 3 ? TaskOutcome::Failure("not yet") : TaskOutcome::Success();
  };
  GraphRunOptions o;
  o.task_retries = 5;
  o.task_retry_interval = std::chrono::milliseconds(20);
  o.backoff.enabled = true;
  o.backoff.jitter = 0.0;
  {
    TaskGraph g;
    g.tasks.push_back(GraphTask{.id = "t", .name = "op"});
    struct Exec : TaskExecutor {
      std::function<TaskOutcome(const GraphTask&, int)> f;
      TaskOutcome Execute(const GraphTask& t, int r) override { return f(t, r); }
    } exec;
    exec.f = flaky;
    auto start = std::chrono::steady_clock::now();
    auto result = RunGraph(g, exec, nullptr, o);
    REQUIRE(result.ok());
    CHECK(result->outcome == GraphRunResult::Outcome::kSucceeded);
    CHECK(result->attempts == 4);
    // 20 + 40 + 80 ms, where the fixed pause would be 60 ms.
    CHECK(std::chrono::steady_clock::now() - start >= std::chrono::milliseconds(140));
  }
  {
    TaskGraph g;
    g.tasks.push_back(GraphTask{.id = "t", .name = "op", .retry_interval = 0.001});
    struct Exec : TaskExecutor {
      std::function<TaskOutcome(const GraphTask&, int)> f;
      TaskOutcome Execute(const GraphTask& t, int r) override { return f(t, r); }
    } exec;
    exec.f = flaky;
    o.task_retry_interval = std::chrono::milliseconds(2000);  // backoff would wait 14 s
    auto start = std::chrono::steady_clock::now();
    auto result = RunGraph(g, exec, nullptr, o);
    REQUIRE(result.ok());
    CHECK(result->outcome == GraphRunResult::Outcome::kSucceeded);
    CHECK(std::chrono::steady_clock::now() - start < std::chrono::milliseconds(1500));
  }
}

}  // namespace cloudify::workflow
