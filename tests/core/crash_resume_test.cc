// Crash-resume: a child process installs 200 instances whose C++ operations append a line to a
// file, and is SIGKILLed at a random point of the install; a manager opened on the same data
// dir takes the execution over when its lease runs out and finishes it. Every instance ends
// started, and every operation the store held as succeeded at the kill ran exactly once.
#include <chrono>
#include <fstream>
#include <map>
#include <random>
#include <set>
#include <sstream>
#include <thread>

#include <doctest/doctest.h>
#include <fcntl.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include "cloudify/manager.h"

#include "support/temp_dir.h"

namespace cloudify {
namespace {

namespace fs = std::filesystem;
using std::chrono::milliseconds;

constexpr int kInstances = 200;
constexpr int kOperations = kInstances * 3;  // create, configure, start

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
    capabilities:
      scalable:
        properties:
          default_instances: 200
    interfaces:
      cloudify.interfaces.lifecycle:
        create: p.tasks.run
        configure: p.tasks.run
        start: p.tasks.run
)";

ManagerOptions Options(const fs::path& dir, std::string name) {
  ManagerOptions options;
  options.data_dir = dir / "data";
  options.manager_name = std::move(name);
  // A dead manager's execution is taken over once its lease runs out.
  options.execution_lease = milliseconds(1000);
  options.task_retry_interval = milliseconds(1);
  return options;
}

// Each run of an operation appends "<instance> <operation>" (one write: appends of several
// processes never interleave, and the page cache outlives a SIGKILL).
void AddAppendingHandler(Manager& m, const fs::path& log) {
  m.operations().Add("p.tasks.run", [log](workflow::OperationContext& ctx) {
    const std::string line = ctx.instance().instance().id + " " + ctx.operation_name() + "\n";
    int fd = open(log.c_str(), O_WRONLY | O_APPEND | O_CREAT, 0600);
    if (fd < 0 || write(fd, line.data(), line.size()) != static_cast<ssize_t>(line.size())) {
      ctx.Fail("cannot append to the log", false);
    }
    if (fd >= 0) {
      close(fd);
    }
  });
}

// In the child: upload, deploy, install, wait.
[[noreturn]] void InstallInChild(const fs::path& dir, const fs::path& log) {
  auto opened = Manager::Open(Options(dir, "crashing"));
  if (!opened.ok()) {
    _exit(2);
  }
  Manager& m = **opened;
  AddAppendingHandler(m, log);
  const auto caller = storage::CallerContext::System();
  if (!m.UploadBlueprint(caller, "bp", dir / "bp" / "blueprint.yaml").ok() ||
      !m.CreateDeployment(caller, "bp", "d").ok()) {
    _exit(3);
  }
  auto run = m.StartExecution(caller, "d", "install");
  if (!run.ok()) {
    _exit(4);
  }
  auto done = m.WaitForExecution(caller, run->id, std::chrono::minutes(5));
  _exit(done.ok() && done->status == model::ExecutionStatus::kTerminated ? 0 : 5);
}

std::map<std::string, int> CountRuns(const fs::path& log) {
  std::map<std::string, int> runs;
  std::ifstream in(log);
  std::string instance, operation;
  while (in >> instance >> operation) {
    ++runs[instance + " " + operation];
  }
  return runs;
}

int LineCount(const fs::path& log) {
  std::ifstream in(log);
  return static_cast<int>(std::count(std::istreambuf_iterator<char>(in), {}, '\n'));
}

// The operations the store holds as succeeded, as "<instance> <operation>".
std::set<std::string> StoredSucceeded(const fs::path& dir) {
  storage::StoreOptions options;
  options.data_dir = dir / "data";
  auto store = storage::OpenStore("sqlite://" + (dir / "data" / "db.sqlite").string(), options);
  REQUIRE_MESSAGE(store.ok(), store.status().ToString());
  storage::ListQuery query;
  query.get_all_results = true;
  query.filters = {{"state", {"succeeded"}}, {"type", {"RemoteWorkflowTask"}}};
  auto ops = (*store)->ListOperations(storage::CallerContext::System(), query);
  REQUIRE(ops.ok());
  std::set<std::string> succeeded;
  for (const auto& op : ops->items) {
    const auto kwargs = op.parameters.value("task_kwargs", nlohmann::json::object());
    succeeded.insert(kwargs.value("node_instance_id", "") + " " + op.name);
  }
  return succeeded;
}

void KillAndResume(int kill_after_lines) {
  testing::TempDir tmp;
  const fs::path log = tmp.path() / "runs.log";
  fs::create_directories(tmp.path() / "bp");
  std::ofstream(tmp.path() / "bp" / "blueprint.yaml") << kBlueprint;

  pid_t child = fork();
  REQUIRE(child >= 0);
  if (child == 0) {
    InstallInChild(tmp.path(), log);
  }
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::minutes(2);
  int status = 0;
  bool exited = false;
  while (LineCount(log) < kill_after_lines && std::chrono::steady_clock::now() < deadline) {
    if (waitpid(child, &status, WNOHANG) == child) {
      exited = true;
      break;
    }
    std::this_thread::sleep_for(std::chrono::microseconds(200));
  }
  if (!exited) {
    kill(child, SIGKILL);
    REQUIRE(waitpid(child, &status, 0) == child);
  }
  const int runs_at_kill = LineCount(log);
  INFO("killed after " << runs_at_kill << " operation runs (aimed at " << kill_after_lines << ")");
  REQUIRE((WIFSIGNALED(status) || (WIFEXITED(status) && WEXITSTATUS(status) == 0)));
  const std::set<std::string> succeeded = StoredSucceeded(tmp.path());

  {
    auto opened = Manager::Open(Options(tmp.path(), "taking-over"));
    REQUIRE_MESSAGE(opened.ok(), opened.status().ToString());
    Manager& m = **opened;
    AddAppendingHandler(m, log);
    const auto caller = storage::CallerContext::System();
    storage::ListQuery query;
    query.filters = {{"deployment_id", {"d"}}, {"workflow_id", {"install"}}};
    auto executions = m.store().ListExecutions(caller, query);
    REQUIRE(executions.ok());
    REQUIRE(executions->items.size() == 1);
    auto done = m.WaitForExecution(caller, executions->items[0].id, std::chrono::minutes(2));
    REQUIRE(done.ok());
    CHECK_MESSAGE(done->status == model::ExecutionStatus::kTerminated, done->error);

    storage::ListQuery instances_query;
    instances_query.get_all_results = true;
    instances_query.filters = {{"deployment_id", {"d"}}};
    auto instances = m.store().ListNodeInstances(caller, instances_query);
    REQUIRE(instances.ok());
    CHECK(instances->items.size() == kInstances);
    for (const auto& instance : instances->items) {
      CHECK(instance.state == model::NodeInstanceState::kStarted);
    }
  }

  const std::map<std::string, int> runs = CountRuns(log);
  CHECK(runs.size() == kOperations);  // every operation ran
  for (const auto& [operation, count] : runs) {
    if (succeeded.count(operation) != 0) {
      CHECK_MESSAGE(count == 1, operation << " was stored as succeeded and ran " << count);
    } else {
      // Not stored as succeeded at the kill: it may have run then, and runs again.
      CHECK_MESSAGE(count <= 2, operation << " ran " << count << " times");
    }
  }
}

TEST_CASE("an install killed at random points resumes and never re-runs a stored success") {
  std::mt19937 random(std::random_device{}());
  std::uniform_int_distribution<int> point(1, kOperations);
  for (int run = 0; run < 10; ++run) {
    const int kill_after = point(random);
    CAPTURE(kill_after);
    KillAndResume(kill_after);
  }
}

}  // namespace
}  // namespace cloudify
