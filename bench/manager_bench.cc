// The embedded manager end to end (SQLite file, in-process broker, worker threads):
//   1. install of one node scaled to N instances with C++ no-op handlers on create, configure
//      and start: operations per second, and peak memory;
//   2. D deployments of a 2-node blueprint installed concurrently: installs per second.
//
//   manager_bench [--instances N ...] [--deployments D]     defaults: 1000 10000, 100
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <string>
#include <vector>

#include <sys/resource.h>
#include <unistd.h>

#include <cloudify/manager.h>

namespace {

namespace fs = std::filesystem;
using Clock = std::chrono::steady_clock;

// CPU seconds of the whole process (every thread), user + system.
double CpuSeconds() {
  rusage usage{};
  getrusage(RUSAGE_SELF, &usage);
  auto seconds = [](const timeval& t) { return static_cast<double>(t.tv_sec) + t.tv_usec / 1e6; };
  return seconds(usage.ru_utime) + seconds(usage.ru_stime);
}

long PeakRssKb() {
  rusage usage{};
  getrusage(RUSAGE_SELF, &usage);
  return usage.ru_maxrss;
}

[[noreturn]] void Die(const std::string& what, const cloudify::Status& s) {
  std::fprintf(stderr, "%s: %s\n", what.c_str(), s.ToString().c_str());
  std::exit(1);
}

std::string Blueprint(int instances, bool two_nodes) {
  std::string text =
      "tosca_definitions_version: cloudify_dsl_1_4\n"
      "imports:\n  - http://cloudify.co/spec/cloudify/6.4.0/types.yaml\n"
      "plugins:\n  p:\n    executor: central_deployment_agent\n    install: false\n"
      "node_templates:\n"
      "  vm:\n    type: cloudify.nodes.Root\n"
      "    capabilities:\n      scalable:\n        properties:\n          default_instances: " +
      std::to_string(instances) +
      "\n"
      "    interfaces:\n      cloudify.interfaces.lifecycle:\n"
      "        create: p.tasks.noop\n        configure: p.tasks.noop\n        start: "
      "p.tasks.noop\n";
  if (two_nodes) {
    text +=
        "  app:\n    type: cloudify.nodes.Root\n"
        "    interfaces:\n      cloudify.interfaces.lifecycle:\n"
        "        create: p.tasks.noop\n        configure: p.tasks.noop\n        start: "
        "p.tasks.noop\n"
        "    relationships:\n      - type: cloudify.relationships.contained_in\n        target: "
        "vm\n";
  }
  return text;
}

std::unique_ptr<cloudify::Manager> OpenManager(const fs::path& dir, int concurrency) {
  cloudify::ManagerOptions options;
  options.data_dir = dir;
  options.max_concurrent_executions = concurrency;
  auto m = cloudify::Manager::Open(options);
  if (!m.ok()) {
    Die("open", m.status());
  }
  (*m)->operations().Add("p.tasks.noop", [](cloudify::workflow::OperationContext&) {});
  return std::move(*m);
}

fs::path WriteBlueprint(const fs::path& dir, const std::string& text) {
  fs::create_directories(dir);
  std::ofstream(dir / "blueprint.yaml") << text;
  return dir / "blueprint.yaml";
}

void ScaledInstall(const fs::path& root, int instances) {
  const fs::path dir = root / ("scaled-" + std::to_string(instances));
  auto m = OpenManager(dir / "data", 1);
  auto caller = cloudify::storage::CallerContext::System();
  auto file = WriteBlueprint(dir / "bp", Blueprint(instances, false));
  if (auto bp = m->UploadBlueprint(caller, "bp", file); !bp.ok()) {
    Die("upload", bp.status());
  }
  auto t0 = Clock::now();
  if (auto d = m->CreateDeployment(caller, "bp", "d"); !d.ok()) {
    Die("deploy", d.status());
  }
  auto t1 = Clock::now();
  const double cpu0 = CpuSeconds();
  auto e = m->StartExecution(caller, "d", "install");
  if (!e.ok()) {
    Die("start", e.status());
  }
  auto done = m->WaitForExecution(caller, e->id, std::chrono::minutes(30));
  auto t2 = Clock::now();
  if (!done.ok() || done->status != cloudify::model::ExecutionStatus::kTerminated) {
    Die("install", done.ok() ? cloudify::InternalError(done->error) : done.status());
  }
  const double cpu = CpuSeconds() - cpu0;
  const double deploy_s = std::chrono::duration<double>(t1 - t0).count();
  const double install_s = std::chrono::duration<double>(t2 - t1).count();
  const int operations = instances * 3;
  std::printf(
      "scaled install: instances=%d operations=%d create_deployment=%.2f s install=%.2f s "
      "operations/s=%.0f cpu=%.2f s (%.0f us per operation) peak_rss=%ld KiB\n",
      instances, operations, deploy_s, install_s, operations / install_s, cpu,
      cpu * 1e6 / operations, PeakRssKb());
}

void ConcurrentInstalls(const fs::path& root, int deployments) {
  const fs::path dir = root / "concurrent";
  auto m = OpenManager(dir / "data", 8);
  auto caller = cloudify::storage::CallerContext::System();
  auto file = WriteBlueprint(dir / "bp", Blueprint(1, true));
  if (auto bp = m->UploadBlueprint(caller, "bp", file); !bp.ok()) {
    Die("upload", bp.status());
  }
  for (int i = 0; i < deployments; ++i) {
    if (auto d = m->CreateDeployment(caller, "bp", "d" + std::to_string(i)); !d.ok()) {
      Die("deploy", d.status());
    }
  }
  auto t0 = Clock::now();
  std::vector<std::string> ids;
  for (int i = 0; i < deployments; ++i) {
    auto e = m->StartExecution(caller, "d" + std::to_string(i), "install");
    if (!e.ok()) {
      Die("start", e.status());
    }
    ids.push_back(e->id);
  }
  for (const auto& id : ids) {
    auto done = m->WaitForExecution(caller, id, std::chrono::minutes(10));
    if (!done.ok() || done->status != cloudify::model::ExecutionStatus::kTerminated) {
      Die("install", done.ok() ? cloudify::InternalError(done->error) : done.status());
    }
  }
  const double s = std::chrono::duration<double>(Clock::now() - t0).count();
  std::printf("concurrent installs: deployments=%d nodes_each=2 time=%.2f s installs/s=%.1f\n",
              deployments, s, deployments / s);
}

}  // namespace

int main(int argc, char** argv) {
  std::vector<int> sizes;
  int deployments = 100;
  for (int i = 1; i < argc; ++i) {
    std::string arg = argv[i];
    if (arg == "--instances" && i + 1 < argc) {
      sizes.push_back(std::atoi(argv[++i]));
    } else if (arg == "--deployments" && i + 1 < argc) {
      deployments = std::atoi(argv[++i]);
    }
  }
  if (sizes.empty()) {
    sizes = {1000, 10000};
  }
  const fs::path root = fs::temp_directory_path() / ("manager_bench-" + std::to_string(getpid()));
  for (int n : sizes) {
    ScaledInstall(root, n);
  }
  if (deployments > 0) {
    ConcurrentInstalls(root, deployments);
  }
  std::error_code ec;
  fs::remove_all(root, ec);
  return 0;
}
