// agent_bench: host_agent operations per second through one cloudify-agent Worker (and through
// two, each serving its own host), over the in-process broker and over RabbitMQ, against the
// same install run by the manager's own workers (central_deployment_agent) as the baseline.
//
// The blueprint: Compute hosts (each one's create records its agent) and N app instances
// contained in them, each with create and start implemented by a C++ handler that does
// nothing, so the figure is the dispatch cost: per operation the task and its reply over the
// broker (a ping when the agent was not heard from lately), with the instances carried in the
// task, and the run's state writes. Agents and manager share this process.
//
//   agent_bench [--instances N] [--amqp URL] [--workers N] [--only LABEL] [--op-ms N]
//   (--amqp defaults to $CLOUDIFY_TEST_AMQP_URL; without one only inproc runs; --only runs the
//   one figure whose label starts with LABEL, e.g. "amqp agent", for a profiler; --op-ms makes
//   each app operation take N ms, sleeping, so that the agents' workers are what bounds the
//   rate rather than the CPU)
#include <atomic>
#include <chrono>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <string>
#include <string_view>
#include <thread>
#include <vector>

#include <sys/resource.h>

#include "cloudify/agent/worker.h"
#include "cloudify/ids.h"
#include "cloudify/manager.h"
#include "cloudify/rest/router.h"
#include "cloudify/server/server.h"

namespace {

namespace fs = std::filesystem;
using cloudify::NewUuid;
using Clock = std::chrono::steady_clock;

constexpr const char* kPassword = "bench-password";

// The hosts' agents are started by the benchmark (`provided`); the central baseline has none.
std::string Blueprint(int hosts, int instances, const char* executor) {
  const bool central = std::string_view(executor) == "central_deployment_agent";
  return std::string(R"(tosca_definitions_version: cloudify_dsl_1_4
imports:
  - http://cloudify.co/spec/cloudify/6.4.0/types.yaml
plugins:
  iaas: {executor: central_deployment_agent, install: false}
  app: {executor: )") +
         executor + R"(, install: false}
node_templates:
  vm:
    type: cloudify.nodes.Compute
    properties: {agent_config: {install_method: )" +
         (central ? "none" : "provided") + R"(}}
    capabilities:
      scalable: {properties: {default_instances: )" +
         std::to_string(hosts) + R"(}}
    interfaces:
      cloudify.interfaces.lifecycle:
        create: iaas.tasks.create_vm
  app:
    type: cloudify.nodes.ApplicationModule
    capabilities:
      scalable: {properties: {default_instances: )" +
         std::to_string(instances) + R"(}}
    interfaces:
      cloudify.interfaces.lifecycle:
        create: app.tasks.op
        start: app.tasks.op
    relationships:
      - {type: cloudify.relationships.contained_in, target: vm}
)";
}

double CpuSeconds() {
  rusage usage{};
  getrusage(RUSAGE_SELF, &usage);
  return static_cast<double>(usage.ru_utime.tv_sec + usage.ru_stime.tv_sec) +
         static_cast<double>(usage.ru_utime.tv_usec + usage.ru_stime.tv_usec) / 1e6;
}

struct Figures {
  double ops_per_second = -1;
  double cpu_ms_per_op = -1;  // the whole process: manager, REST server and agent
};

// One install of N app instances spread over `agents` hosts, each with its own agent: the app
// operations per second and their CPU cost.
Figures Run(const std::string& bus_url, int instances, int workers, bool on_agent, int agents,
            int op_ms) {
  Figures figures;
  std::string pattern = (fs::temp_directory_path() / "agent-bench-XXXXXX").string();
  if (mkdtemp(pattern.data()) == nullptr) {
    return figures;
  }
  const fs::path tmp = pattern;
  std::vector<std::string> agent_names;
  for (int i = 0; i < agents; ++i) {
    agent_names.push_back("bench-agent-" + NewUuid().substr(0, 8));
  }
  std::atomic<size_t> next_agent{0};
  {
    cloudify::ManagerOptions options;
    options.data_dir = tmp / "data";
    options.bus_url = bus_url;
    options.manager_name = "bench-" + NewUuid().substr(0, 8);
    options.operation_parallelism = workers;
    options.task_retries = 0;
    auto manager = cloudify::Manager::Open(options);
    if (!manager.ok()) {
      std::cerr << manager.status().ToString() << "\n";
      return figures;
    }
    auto& m = **manager;
    m.operations().Add("iaas.tasks.create_vm", [&](cloudify::workflow::OperationContext& ctx) {
      const std::string& name = agent_names[next_agent++ % agent_names.size()];
      ctx.instance().runtime_properties()["cloudify_agent"] = {{"name", name}, {"queue", name}};
    });
    auto op = [op_ms](cloudify::workflow::OperationContext&) {
      if (op_ms > 0) {
        std::this_thread::sleep_for(std::chrono::milliseconds(op_ms));
      }
    };
    cloudify::workflow::OperationRegistry handlers;
    handlers.Add("app.tasks.op", op);
    m.operations().Add("app.tasks.op", op);

    cloudify::rest::RouterOptions router_options;
    router_options.admin_password = kPassword;
    router_options.password_iterations = 1000;
    router_options.data_dir = options.data_dir.string();
    auto router = cloudify::rest::Router::Create(m, router_options);
    cloudify::server::ServerOptions server_options;
    server_options.port = 0;
    server_options.threads = 16;
    auto http = cloudify::server::HttpServer::Start(server_options, **router);
    if (!router.ok() || !http.ok()) {
      std::cerr << "cannot serve the REST API\n";
      return figures;
    }

    fs::create_directories(tmp / "bp");
    std::ofstream(tmp / "bp" / "blueprint.yaml") << Blueprint(
        agents, instances / agents, on_agent ? "host_agent" : "central_deployment_agent");
    const auto caller = cloudify::storage::CallerContext::System();
    if (!m.UploadBlueprint(caller, "bp", tmp / "bp" / "blueprint.yaml").ok() ||
        !m.CreateDeployment(caller, "bp", "dep").ok()) {
      std::cerr << "cannot create the deployment\n";
      return figures;
    }

    std::vector<std::unique_ptr<cloudify::agent::Worker>> workers_of_agents;
    for (int i = 0; on_agent && i < agents; ++i) {
      cloudify::agent::WorkerOptions agent;
      agent.name = agent_names[static_cast<size_t>(i)];
      agent.bus_url = bus_url;
      agent.rest_url = "http://127.0.0.1:" + std::to_string((*http)->port());
      agent.username = "admin";
      agent.password = kPassword;
      agent.work_dir = tmp / ("agent-" + std::to_string(i));
      agent.max_workers = workers;
      agent.operations = &handlers;
      auto started = cloudify::agent::Worker::Start(agent);
      if (!started.ok()) {
        std::cerr << started.status().ToString() << "\n";
        return figures;
      }
      workers_of_agents.push_back(std::move(*started));
    }

    const auto begin = Clock::now();
    const double cpu_begin = CpuSeconds();
    auto execution = m.StartExecution(caller, "dep", "install");
    auto ended = execution.ok()
                     ? m.WaitForExecution(caller, execution->id, std::chrono::minutes(30))
                     : cloudify::Result<cloudify::model::Execution>(execution.status());
    const double seconds = std::chrono::duration<double>(Clock::now() - begin).count();
    const double cpu = CpuSeconds() - cpu_begin;
    if (!ended.ok() || ended->status != cloudify::model::ExecutionStatus::kTerminated) {
      std::cerr << "install did not end well: "
                << (ended.ok() ? ended->error : ended.status().ToString()) << "\n";
    } else {
      const double operations = 2.0 * (instances / agents) * agents;
      figures.ops_per_second = operations / seconds;
      figures.cpu_ms_per_op = cpu * 1000.0 / operations;
    }
    for (auto& worker : workers_of_agents) {
      worker->Stop();
    }
  }
  std::error_code ec;
  fs::remove_all(tmp, ec);
  return figures;
}

void Print(const char* label, const Figures& f) {
  std::cout << label << f.ops_per_second << " ops/s, " << f.cpu_ms_per_op
            << " ms CPU per operation\n";
}

}  // namespace

int main(int argc, char** argv) {
  int instances = 500;
  int workers = 8;
  int op_ms = 0;
  std::string only;
  const char* env_amqp = std::getenv("CLOUDIFY_TEST_AMQP_URL");  // NOLINT(concurrency-mt-unsafe)
  std::string amqp = env_amqp != nullptr ? env_amqp : "";
  for (int i = 1; i + 1 < argc; i += 2) {
    if (std::strcmp(argv[i], "--instances") == 0) {
      instances = std::atoi(argv[i + 1]);
    } else if (std::strcmp(argv[i], "--workers") == 0) {
      workers = std::atoi(argv[i + 1]);
    } else if (std::strcmp(argv[i], "--amqp") == 0) {
      amqp = argv[i + 1];
    } else if (std::strcmp(argv[i], "--only") == 0) {
      only = argv[i + 1];
    } else if (std::strcmp(argv[i], "--op-ms") == 0) {
      op_ms = std::atoi(argv[i + 1]);
    }
  }
  std::cout << "instances " << instances << " (" << 2 * instances
            << " operations), engine parallelism and agent workers " << workers
            << ", each operation " << op_ms << " ms\n";
  const std::string inproc = "inproc://agent-bench-" + NewUuid();
  struct Case {
    const char* label;
    const std::string* bus_url;
    bool on_agent;
    int agents;
  };
  const Case cases[] = {
      {"inproc central (baseline): ", &inproc, false, 1},
      {"inproc agent:              ", &inproc, true, 1},
      {"inproc two agents:         ", &inproc, true, 2},
      {"amqp central (baseline):   ", &amqp, false, 1},
      {"amqp agent:                ", &amqp, true, 1},
      {"amqp two agents:           ", &amqp, true, 2},
  };
  for (const Case& c : cases) {
    if (c.bus_url->empty() || std::string_view(c.label).rfind(only, 0) != 0) {
      continue;
    }
    Print(c.label, Run(*c.bus_url, instances, workers, c.on_agent, c.agents, op_ms));
  }
  return 0;
}
