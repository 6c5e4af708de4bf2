// dsl_bench: parse + deployment-plan speed of generated blueprints (issue 3's targets:
// <= 50 ms per 1,000 templates, <= 0.5 s for 10,000, <= 0.2 s for a node scaled to 20,000
// instances with a contained child). Each case runs in its own process so that its peak RSS
// is its own. Usage: dsl_bench [repetitions]   (default 3; the best time is reported)
//        dsl_bench REPETITIONS SHAPE N          (one case in-process, for profilers)
#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <string>

#include <sys/resource.h>
#include <sys/wait.h>
#include <unistd.h>

#include "cloudify/dsl/deployment_plan.h"
#include "cloudify/dsl/parser.h"

namespace {

namespace fs = std::filesystem;

enum class Shape { kFlat, kChain, kStar, kInheritance, kFunctions, kOperations, kScaled };

const char* ShapeName(Shape s) {
  switch (s) {
    case Shape::kFlat:
      return "flat";
    case Shape::kChain:
      return "chain";
    case Shape::kStar:
      return "star";
    case Shape::kInheritance:
      return "inheritance";
    case Shape::kFunctions:
      return "functions";
    case Shape::kOperations:
      return "operations";
    case Shape::kScaled:
      return "scaled";
  }
  return "?";
}

// A blueprint of `n` node templates of the given shape (for kScaled: one Compute node with
// n instances and a contained child, so 2n node instances).
std::string Generate(Shape shape, int n) {
  std::string out =
      "tosca_definitions_version: cloudify_dsl_1_4\n"
      "imports:\n  - http://cloudify.co/spec/cloudify/6.4.0/types.yaml\n"
      "plugins:\n  bench:\n    executor: central_deployment_agent\n    install: false\n"
      "inputs:\n  base_port: {type: integer, default: 8000}\n  prefix: {default: node}\n"
      "node_types:\n"
      "  bench.Service:\n    derived_from: cloudify.nodes.SoftwareComponent\n"
      "    properties:\n      port: {type: integer, default: 80}\n"
      "      name: {type: string, default: ''}\n      url: {default: ''}\n"
      "    interfaces:\n      cloudify.interfaces.lifecycle:\n"
      "        create:\n          implementation: bench.tasks.create\n"
      "          inputs:\n            retries: {type: integer, default: 3}\n"
      "            target: {default: here}\n"
      "        start: scripts/start.sh\n";
  for (int i = 0; i < 10; ++i) {
    out += "  bench.T" + std::to_string(i) + ":\n    derived_from: " +
           (i == 0 ? std::string("bench.Service") : "bench.T" + std::to_string(i - 1)) +
           "\n    properties:\n      p" + std::to_string(i) +
           ": {type: integer, default: " + std::to_string(i) +
           "}\n    interfaces:\n      bench.interfaces.i" + std::to_string(i) +
           ":\n        op: bench.tasks.op" + std::to_string(i) + "\n";
  }
  out += "node_templates:\n";
  if (shape == Shape::kScaled) {
    out +=
        "  vm:\n    type: cloudify.nodes.Compute\n"
        "    properties: {agent_config: {install_method: none}}\n"
        "    capabilities: {scalable: {properties: {default_instances: " +
        std::to_string(n) +
        "}}}\n"
        "  app:\n    type: bench.Service\n    relationships:\n"
        "      - {type: cloudify.relationships.contained_in, target: vm}\n";
    return out;
  }
  for (int i = 0; i < n; ++i) {
    std::string name = "node_" + std::to_string(i);
    std::string type =
        shape == Shape::kInheritance ? "bench.T" + std::to_string(i % 10) : "bench.Service";
    out += "  " + name + ":\n    type: " + type + "\n    properties:\n";
    if (shape == Shape::kFunctions) {
      out +=
          "      port: {get_input: base_port}\n"
          "      name: {concat: [{get_input: prefix}, '-" +
          std::to_string(i) + "']}\n";
      if (i > 0) {
        out += "      url: {concat: ['http://', {get_property: [node_" + std::to_string(i - 1) +
               ", name]}, ':', {get_property: [SELF, port]}]}\n";
      }
    } else {
      out += "      port: " + std::to_string(8000 + i) + "\n      name: " + name + "\n";
    }
    if (shape == Shape::kOperations) {
      out +=
          "    interfaces:\n      cloudify.interfaces.lifecycle:\n"
          "        create:\n          inputs: {retries: 5, target: " +
          name +
          "}\n"
          "        configure:\n          implementation: bench.tasks.configure\n"
          "          executor: central_deployment_agent\n          max_retries: 2\n"
          "          inputs: {a: 1, b: [1, 2, 3], c: {d: e}}\n"
          "        stop: scripts/start.sh\n";
    }
    if (i > 0 && (shape == Shape::kChain || shape == Shape::kStar)) {
      out +=
          "    relationships:\n      - type: cloudify.relationships.connected_to\n"
          "        target: node_" +
          std::to_string(shape == Shape::kChain ? i - 1 : 0) + "\n";
    }
  }
  return out;
}

double Ms(std::chrono::steady_clock::duration d) {
  return std::chrono::duration<double, std::milli>(d).count();
}

// CPU time of this process (user + system), in ms: on a shared machine wall time also counts
// the time other processes hold the cores.
double CpuMs() {
  timespec ts{};
  clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &ts);
  return static_cast<double>(ts.tv_sec) * 1e3 + static_cast<double>(ts.tv_nsec) / 1e6;
}

int RunCase(Shape shape, int n, int repetitions, const fs::path& dir) {
  std::string text = Generate(shape, n);
  double best_parse = 1e18;
  double best_plan = 1e18;
  double best_cpu = 1e18;
  size_t nodes = 0;
  size_t instances = 0;
  for (int r = 0; r < repetitions; ++r) {
    double cpu0 = CpuMs();
    auto t0 = std::chrono::steady_clock::now();
    auto plan = cloudify::dsl::ParseBlueprintText(text, "blueprint.yaml", dir);
    auto t1 = std::chrono::steady_clock::now();
    if (!plan.ok()) {
      std::fprintf(stderr, "%s: %s\n", ShapeName(shape), plan.status().ToString().c_str());
      return 1;
    }
    cloudify::IdGenerator ids(1);
    auto deployment = cloudify::dsl::PrepareDeploymentPlan(*plan, nlohmann::json::object(), ids);
    auto t2 = std::chrono::steady_clock::now();
    if (!deployment.ok()) {
      std::fprintf(stderr, "%s: %s\n", ShapeName(shape), deployment.status().ToString().c_str());
      return 1;
    }
    best_cpu = std::min(best_cpu, CpuMs() - cpu0);
    best_parse = std::min(best_parse, Ms(t1 - t0));
    best_plan = std::min(best_plan, Ms(t2 - t1));
    nodes = deployment->nodes.size();
    instances = deployment->node_instances.size();
  }
  rusage usage{};
  getrusage(RUSAGE_SELF, &usage);
  std::printf("| %-11s | %6d | %6zu | %9zu | %9.1f | %8.1f | %9.1f | %8.1f | %8.1f |\n",
              ShapeName(shape), n, nodes, instances, best_parse, best_plan, best_parse + best_plan,
              best_cpu, static_cast<double>(usage.ru_maxrss) / 1024.0);
  std::fflush(stdout);
  return 0;
}

}  // namespace

int main(int argc, char** argv) {
  int repetitions = argc > 1 ? std::max(1, std::atoi(argv[1])) : 3;
  // The blueprint folder: holds the script the generated operations name.
  fs::path dir = fs::temp_directory_path() / ("dsl_bench_" + std::to_string(getpid()));
  fs::create_directories(dir / "scripts");
  std::ofstream(dir / "scripts/start.sh") << "#!/bin/sh\n";

  std::printf(
      "| shape       | input  | nodes  | instances | parse ms  | plan ms  | total ms  | cpu ms   "
      "| peak MiB |\n");
  std::printf(
      "|-------------|--------|--------|-----------|-----------|----------|-----------|----------"
      "|----------|\n");
  std::fflush(stdout);
  struct Case {
    Shape shape;
    int n;
  };
  const Case cases[] = {
      {Shape::kFlat, 1000},         {Shape::kChain, 1000},      {Shape::kStar, 1000},
      {Shape::kInheritance, 1000},  {Shape::kFunctions, 1000},  {Shape::kOperations, 1000},
      {Shape::kFlat, 10000},        {Shape::kChain, 10000},     {Shape::kStar, 10000},
      {Shape::kInheritance, 10000}, {Shape::kFunctions, 10000}, {Shape::kOperations, 10000},
      {Shape::kScaled, 20000}};
  int failures = 0;
  if (argc > 3) {  // one case, in this process (for profilers): dsl_bench REPS SHAPE N
    for (const Case& c : cases) {
      if (std::string(ShapeName(c.shape)) == argv[2]) {
        failures += RunCase(c.shape, std::atoi(argv[3]), repetitions, dir);
        break;
      }
    }
    fs::remove_all(dir);
    return failures;
  }
  for (const Case& c : cases) {
    pid_t child = fork();
    if (child == 0) {
      _exit(RunCase(c.shape, c.n, repetitions, dir));
    }
    int status = 0;
    waitpid(child, &status, 0);
    if (!WIFEXITED(status) || WEXITSTATUS(status) != 0) {
      ++failures;
    }
  }
  std::error_code ec;
  fs::remove_all(dir, ec);
  return failures == 0 ? 0 : 1;
}
