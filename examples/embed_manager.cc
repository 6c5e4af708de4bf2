// Embeds a whole manager in a program: a C++ operation handler, a blueprint, a deployment, an
// install and an uninstall, all in-process (SQLite file in a temporary folder, in-process
// broker). No HTTP, no scripts, no network.
#include <filesystem>
#include <fstream>
#include <iostream>

#include <unistd.h>

#include <cloudify/manager.h>

namespace fs = std::filesystem;

constexpr const char* kBlueprint = R"(tosca_definitions_version: cloudify_dsl_1_4
imports:
  - http://cloudify.co/spec/cloudify/6.4.0/types.yaml
plugins:
  demo:
    executor: central_deployment_agent
    install: false
node_templates:
  server:
    type: cloudify.nodes.Root
    interfaces:
      cloudify.interfaces.lifecycle:
        create: demo.tasks.create
        delete: demo.tasks.delete
outputs:
  address:
    value: { get_attribute: [server, ip] }
)";

int main() {
  const fs::path dir = fs::temp_directory_path() / ("embed_manager-" + std::to_string(getpid()));
  fs::create_directories(dir / "blueprint");
  std::ofstream(dir / "blueprint" / "blueprint.yaml") << kBlueprint;

  auto opened = cloudify::Manager::Open({.data_dir = dir / "data"});
  if (!opened.ok()) {
    std::cerr << "open: " << opened.status().ToString() << "\n";
    return 1;
  }
  auto& manager = **opened;
  manager.operations().Add("demo.tasks.create", [](cloudify::workflow::OperationContext& ctx) {
    ctx.instance().runtime_properties()["ip"] = "10.0.0.7";
    ctx.logger().Info("server created");
  });
  manager.operations().Add("demo.tasks.delete", [](cloudify::workflow::OperationContext& ctx) {
    ctx.logger().Info("server deleted");
  });

  const auto caller = cloudify::storage::CallerContext::System();
  auto run = [&](const char* workflow) -> bool {
    auto started = manager.StartExecution(caller, "demo-1", workflow);
    if (!started.ok()) {
      std::cerr << workflow << ": " << started.status().ToString() << "\n";
      return false;
    }
    auto ended = manager.WaitForExecution(caller, started->id, std::chrono::minutes(1));
    if (!ended.ok()) {
      std::cerr << workflow << ": " << ended.status().ToString() << "\n";
      return false;
    }
    std::cout << workflow << ": " << cloudify::model::StatusDisplay(ended->status) << "\n";
    return ended->status == cloudify::model::ExecutionStatus::kTerminated;
  };

  bool ok = manager.UploadBlueprint(caller, "demo", dir / "blueprint" / "blueprint.yaml").ok() &&
            manager.CreateDeployment(caller, "demo", "demo-1").ok() && run("install");
  if (ok) {
    auto outputs = manager.DeploymentOutputs(caller, "demo-1");
    ok = outputs.ok();
    if (ok) {
      std::cout << "outputs: " << outputs->dump() << "\n";
    }
  }
  ok = ok && run("uninstall") && manager.DeleteDeployment(caller, "demo-1").ok();
  opened->reset();
  std::error_code ec;
  fs::remove_all(dir, ec);
  return ok ? 0 : 1;
}
