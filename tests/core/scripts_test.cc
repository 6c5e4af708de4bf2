// Script operations end to end through the Manager facade: the sample webapp blueprint, and
// the retry rules of script operations.
#include <fstream>

#include <doctest/doctest.h>

#include "cloudify/archive.h"
#include "cloudify/manager.h"

#include "support/temp_dir.h"

namespace cloudify {
namespace {

using nlohmann::json;
using std::chrono::milliseconds;
using std::chrono::seconds;
namespace fs = std::filesystem;

struct ScriptFixture {
  testing::TempDir tmp;
  std::unique_ptr<Manager> manager;
  storage::CallerContext caller = storage::CallerContext::System();

  ScriptFixture() {
    ManagerOptions options;
    options.data_dir = tmp.path() / "data";
    options.task_retry_interval = milliseconds(1);
    options.ctx_dir = CLOUDIFY_CTX_DIR;
    options.script_work_dir = tmp.path() / "work";
    auto m = Manager::Open(options);
    REQUIRE_MESSAGE(m.ok(), m.status().ToString());
    manager = std::move(*m);
  }

  model::Execution Run(const std::string& dep, const std::string& workflow) {
    auto started = manager->StartExecution(caller, dep, workflow);
    REQUIRE_MESSAGE(started.ok(), started.status().ToString());
    auto ended = manager->WaitForExecution(caller, started->id, seconds(60));
    REQUIRE_MESSAGE(ended.ok(), ended.status().ToString());
    return *ended;
  }

  std::vector<model::Event> Events(const std::string& execution_id) {
    REQUIRE(manager->SyncEvents(seconds(10)).ok());
    storage::ListQuery q;
    q.get_all_results = true;
    q.filters = {{"execution_id", {execution_id}}};
    auto events = manager->store().ListEvents(caller, q);
    REQUIRE_MESSAGE(events.ok(), events.status().ToString());
    return events->items;
  }

  std::vector<model::NodeInstance> Instances(const std::string& dep) {
    storage::ListQuery q;
    q.filters = {{"deployment_id", {dep}}};
    auto page = manager->store().ListNodeInstances(caller, q);
    REQUIRE(page.ok());
    return page->items;
  }
};

size_t Count(const std::vector<model::Event>& events, const std::string& text,
             const std::string& event_type = "") {
  size_t n = 0;
  for (const auto& e : events) {
    if (e.message.find(text) != std::string::npos &&
        (event_type.empty() || e.event_type == event_type)) {
      ++n;
    }
  }
  return n;
}

TEST_CASE("scripts: the webapp sample installs and uninstalls end to end") {
  ScriptFixture f;
  const fs::path main = fs::path(CLOUDIFY_SHARED_DIR) / "blueprints" / "webapp" / "blueprint.yaml";
  auto bp = f.manager->UploadBlueprint(f.caller, "webapp", main);
  REQUIRE_MESSAGE(bp.ok(), bp.status().ToString());
  auto dep = f.manager->CreateDeployment(f.caller, "webapp", "webapp-1");
  REQUIRE_MESSAGE(dep.ok(), dep.status().ToString());

  auto install = f.Run("webapp-1", "install");
  CHECK_MESSAGE(install.status == model::ExecutionStatus::kTerminated, install.error);
  auto instances = f.Instances("webapp-1");
  REQUIRE(instances.size() == 4);
  int apps = 0;
  for (const auto& i : instances) {
    CAPTURE(i.id);
    CHECK(i.state == model::NodeInstanceState::kStarted);
    if (i.node_id == "app") {
      ++apps;
      CHECK(i.runtime_properties["database_url"] == "db://127.0.0.1/appdb");
      CHECK(i.runtime_properties["role"] == "application");
      CHECK(i.runtime_properties.contains("created_at"));
    } else if (i.node_id == "db") {
      CHECK(i.runtime_properties["role"] == "database");
      CHECK(i.runtime_properties["database_url"] == "db://127.0.0.1/appdb");
    }
  }
  CHECK(apps == 2);

  auto outputs = f.manager->DeploymentOutputs(f.caller, "webapp-1");
  REQUIRE_MESSAGE(outputs.ok(), outputs.status().ToString());
  CHECK((*outputs)["endpoint"] == "http://127.0.0.1:8080");
  CHECK((*outputs)["database"] == "db://127.0.0.1/appdb");

  // Logs of every script: create (3), start (3), link (2).
  auto events = f.Events(install.id);
  CHECK(Count(events, "creating database instance db_") == 1);
  CHECK(Count(events, "creating application instance app_") == 2);
  CHECK(Count(events, "started database instance db_") == 1);
  CHECK(Count(events, "started application instance app_") == 2);
  CHECK(Count(events, "now uses db://127.0.0.1/appdb") == 2);
  CHECK(Count(events, "", "task_failed") == 0);

  auto uninstall = f.Run("webapp-1", "uninstall");
  CHECK_MESSAGE(uninstall.status == model::ExecutionStatus::kTerminated, uninstall.error);
  CHECK(Count(f.Events(uninstall.id), "deleting ") == 3);
  for (const auto& i : f.Instances("webapp-1")) {
    CHECK(i.state == model::NodeInstanceState::kDeleted);
  }
  // No work dir is left behind.
  CHECK(fs::is_empty(f.tmp.path() / "work"));
}

TEST_CASE("scripts: ctx instance host-ip is the ip of the host the instance is contained in") {
  ScriptFixture f;
  const fs::path dir = f.tmp.path() / "hosted";
  fs::create_directories(dir / "scripts");
  std::ofstream(dir / "blueprint.yaml") << R"(tosca_definitions_version: cloudify_dsl_1_4
imports:
  - http://cloudify.co/spec/cloudify/6.4.0/types.yaml
node_templates:
  vm:
    type: cloudify.nodes.Compute
    properties:
      agent_config:
        install_method: none
    interfaces:
      cloudify.interfaces.lifecycle:
        create: scripts/vm.sh
  app:
    type: cloudify.nodes.Root
    interfaces:
      cloudify.interfaces.lifecycle:
        create: scripts/app.sh
    relationships:
      - type: cloudify.relationships.contained_in
        target: vm
)";
  std::ofstream(dir / "scripts" / "vm.sh")
      << "#!/bin/sh\nset -e\nctx instance runtime-properties ip 10.1.2.3\n";
  std::ofstream(dir / "scripts" / "app.sh")
      << "#!/bin/sh\nset -e\nctx instance runtime-properties seen \"$(ctx instance host-ip)\"\n";
  REQUIRE(f.manager->UploadBlueprint(f.caller, "hosted", dir / "blueprint.yaml").ok());
  REQUIRE(f.manager->CreateDeployment(f.caller, "hosted", "h").ok());
  auto install = f.Run("h", "install");
  REQUIRE_MESSAGE(install.status == model::ExecutionStatus::kTerminated, install.error);
  bool checked = false;
  for (const auto& ni : f.Instances("h")) {
    if (ni.node_id == "app") {
      CHECK(ni.runtime_properties.value("seen", "") == "10.1.2.3");
      checked = true;
    }
  }
  CHECK(checked);
}

TEST_CASE("scripts: a blueprint uploaded as an archive finds its scripts in its top folder") {
  ScriptFixture f;
  const fs::path tgz = f.tmp.path() / "webapp.tar.gz";
  REQUIRE(CreateTarGz(fs::path(CLOUDIFY_SHARED_DIR) / "blueprints" / "webapp", tgz, "webapp").ok());
  std::ifstream in(tgz, std::ios::binary);
  const std::string bytes((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  auto bp = f.manager->UploadBlueprintArchive(f.caller, "webapp", bytes, "blueprint.yaml");
  REQUIRE_MESSAGE(bp.ok(), bp.status().ToString());
  REQUIRE(f.manager->CreateDeployment(f.caller, "webapp", "w").ok());
  auto install = f.Run("w", "install");
  CHECK_MESSAGE(install.status == model::ExecutionStatus::kTerminated, install.error);
  for (const auto& i : f.Instances("w")) {
    CHECK(i.state == model::NodeInstanceState::kStarted);
  }
}

constexpr const char* kRetryBlueprint = R"(
tosca_definitions_version: cloudify_dsl_1_4
imports:
  - http://cloudify.co/spec/cloudify/6.4.0/types.yaml
node_templates:
  flaky:
    type: cloudify.nodes.Root
    interfaces:
      cloudify.interfaces.lifecycle:
        create:
          implementation: scripts/flaky.sh
          executor: central_deployment_agent
          max_retries: 5
          retry_interval: 0
        start:
          implementation: scripts/reader.sh
          executor: central_deployment_agent
outputs:
  attempts:
    value: { get_attribute: [flaky, attempts] }
)";

constexpr const char* kAbortBlueprint = R"(
tosca_definitions_version: cloudify_dsl_1_4
imports:
  - http://cloudify.co/spec/cloudify/6.4.0/types.yaml
node_templates:
  slow:
    type: cloudify.nodes.Root
    interfaces:
      cloudify.interfaces.lifecycle:
        create:
          implementation: scripts/slow.sh
          executor: central_deployment_agent
          timeout: 1
          max_retries: 5
          retry_interval: 0
  aborting:
    type: cloudify.nodes.Root
    interfaces:
      cloudify.interfaces.lifecycle:
        create:
          implementation: scripts/abort.sh
          executor: central_deployment_agent
          max_retries: 5
          retry_interval: 0
)";

TEST_CASE(
    "scripts: failing twice then succeeding is retried but abort_operation and timeouts are not") {
  ScriptFixture f;
  const fs::path dir = f.tmp.path() / "bp";
  fs::create_directories(dir / "scripts");
  std::ofstream(dir / "blueprint.yaml") << kRetryBlueprint;
  std::ofstream(dir / "abort.yaml") << kAbortBlueprint;
  std::ofstream(dir / "scripts" / "flaky.sh")
      // -j: without it a 0 prints nothing, as the original's ctx prints it
      << "#!/bin/bash\nset -e\nn=$(ctx -j operation retry-number)\n"
         "ctx instance runtime-properties attempts $((n + 1))\n"
         "if [ \"$n\" -lt 2 ]; then echo \"attempt $n fails\" >&2; exit 1; fi\n";
  std::ofstream(dir / "scripts" / "reader.sh") << "#!/bin/bash\nset -e\nctx logger info \"saw "
                                                  "$(ctx instance runtime-properties attempts)\"\n";
  std::ofstream(dir / "scripts" / "slow.sh") << "#!/bin/sh\nsleep 60\n";
  std::ofstream(dir / "scripts" / "abort.sh")
      << "#!/bin/bash\nctx abort_operation 'giving up for good'\nexit 0\n";
  auto bp = f.manager->UploadBlueprint(f.caller, "retry", dir / "blueprint.yaml");
  REQUIRE_MESSAGE(bp.ok(), bp.status().ToString());
  REQUIRE(f.manager->CreateDeployment(f.caller, "retry", "retry-1").ok());
  auto abort_bp = f.manager->UploadBlueprint(f.caller, "abort", dir / "abort.yaml");
  REQUIRE_MESSAGE(abort_bp.ok(), abort_bp.status().ToString());
  REQUIRE(f.manager->CreateDeployment(f.caller, "abort", "abort-1").ok());

  auto install = f.Run("retry-1", "install");
  CHECK_MESSAGE(install.status == model::ExecutionStatus::kTerminated, install.error);
  auto events = f.Events(install.id);
  // flaky: two reschedules then success, and the property written by the third attempt is
  // what the next operation reads.
  CHECK(Count(events, "<err> attempt 0 fails") == 1);
  CHECK(Count(events, "<err> attempt 1 fails") == 1);
  CHECK(Count(events, "flaky", "task_rescheduled") == 2);
  CHECK(Count(events, "exited with code 1; last stderr lines:\n  attempt 1 fails",
              "task_rescheduled") == 1);
  CHECK(Count(events, "saw 3") == 1);
  auto outputs = f.manager->DeploymentOutputs(f.caller, "retry-1");
  REQUIRE(outputs.ok());
  CHECK((*outputs)["attempts"] == "3");

  // aborting: failed at once, never rescheduled, although 5 retries are allowed.
  auto aborted = f.Run("abort-1", "install");
  CHECK(aborted.status == model::ExecutionStatus::kFailed);
  CHECK(aborted.error.find("giving up for good") != std::string::npos);
  auto abort_events = f.Events(aborted.id);
  CHECK(Count(abort_events, "", "task_rescheduled") == 0);
  CHECK(Count(abort_events, "giving up for good", "task_failed") == 1);
  // slow: killed at its blueprint timeout, not retried (timeout_recoverable is false).
  CHECK(Count(abort_events, "timed out after 1 s", "task_failed") == 1);
}

}  // namespace
}  // namespace cloudify
