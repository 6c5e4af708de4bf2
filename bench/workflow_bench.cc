// The workflow engine alone: build the install graph of one node scaled to N instances with
// create, configure and start operations, and run it with an executor that does nothing, so
// the figures are the engine's own cost per operation (no storage, no broker).
//
//   workflow_bench [instances...]      default: 1000 10000
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <string>
#include <vector>

#include <sys/resource.h>

#include <cloudify/ids.h>
#include <cloudify/workflow/graph_runner.h>
#include <cloudify/workflow/lifecycle.h>

namespace {

using namespace cloudify;  // NOLINT(google-build-using-namespace): a benchmark program

class NoOpExecutor final : public workflow::TaskExecutor {
 public:
  workflow::TaskOutcome Execute(const workflow::GraphTask&, int) override {
    return workflow::TaskOutcome::Success();
  }
};

long PeakRssKb() {
  rusage usage{};
  getrusage(RUSAGE_SELF, &usage);
  return usage.ru_maxrss;
}

void RunOnce(int instances) {
  model::Node node;
  node.spec.id = "vm";
  for (const char* op : {"create", "configure", "start"}) {
    model::OperationSpec spec;
    spec.implementation = std::string("noop.") + op;
    node.spec.operations[std::string("cloudify.interfaces.lifecycle.") + op] = spec;
  }
  std::vector<model::Node> nodes = {node};
  std::vector<model::NodeInstance> list(static_cast<size_t>(instances));
  IdGenerator ids(1);
  workflow::LifecycleScope scope{.nodes = &nodes};
  for (auto& ni : list) {
    ni.id = ids.NodeInstanceId("vm");
    ni.node_id = "vm";
    scope.instances.push_back(&ni);
  }
  auto t0 = std::chrono::steady_clock::now();
  auto graph = workflow::BuildInstallGraph(scope);
  auto t1 = std::chrono::steady_clock::now();
  if (!graph.ok()) {
    std::fprintf(stderr, "build failed: %s\n", graph.status().ToString().c_str());
    std::exit(1);
  }
  NoOpExecutor executor;
  workflow::GraphRunOptions options;
  options.parallelism = 2;
  auto result = workflow::RunGraph(*graph, executor, nullptr, options);
  auto t2 = std::chrono::steady_clock::now();
  if (!result.ok() || result->outcome != workflow::GraphRunResult::Outcome::kSucceeded) {
    std::fprintf(stderr, "run failed\n");
    std::exit(1);
  }
  const double build_ms = std::chrono::duration<double, std::milli>(t1 - t0).count();
  const double run_s = std::chrono::duration<double>(t2 - t1).count();
  const int operations = instances * 3;
  std::printf(
      "instances=%d tasks=%zu operations=%d build=%.1f ms run=%.3f s tasks/s=%.0f "
      "operations/s=%.0f peak_rss=%ld KiB\n",
      instances, graph->tasks.size(), operations, build_ms, run_s,
      static_cast<double>(result->attempts) / run_s, operations / run_s, PeakRssKb());
}

}  // namespace

int main(int argc, char** argv) {
  std::vector<int> sizes;
  for (int i = 1; i < argc; ++i) {
    sizes.push_back(std::atoi(argv[i]));
  }
  if (sizes.empty()) {
    sizes = {1000, 10000};
  }
  for (int n : sizes) {
    RunOnce(n);
  }
  return 0;
}
