// install_method remote end to end: a real Manager serving its REST API, RabbitMQ
// (CLOUDIFY_TEST_AMQP_URL), and an sshd of the test's own on loopback (tests/support/sshd.h).
// The install copies the real cloudify-agent and ctx programs over SSH into a folder of the
// test's, starts the agent there, and runs a host_agent script on it; the uninstall stops it.
#include <chrono>
#include <filesystem>
#include <fstream>
#include <thread>

#include <doctest/doctest.h>
#include <nlohmann/json.hpp>
#include <signal.h>
#include <sys/stat.h>

#include "cloudify/files.h"
#include "cloudify/ids.h"
#include "cloudify/manager.h"
#include "cloudify/rest/router.h"
#include "cloudify/server/server.h"

#include "support/env.h"
#include "support/plumbing.h"
#include "support/sshd.h"
#include "support/temp_dir.h"

namespace cloudify::agent {
namespace {

using nlohmann::json;
using std::chrono::milliseconds;
using std::chrono::seconds;
using testing::EventuallyStopped;
using testing::ModeOf;
using testing::Running;
namespace fs = std::filesystem;

// vm is reached over SSH at 127.0.0.1 with the inputs' credentials; app's create script runs
// on its agent, record's central handler on the manager.
constexpr const char* kBlueprint = R"(
tosca_definitions_version: cloudify_dsl_1_4
imports:
  - http://cloudify.co/spec/cloudify/6.4.0/types.yaml
inputs:
  user: {default: ''}
  key: {default: ''}
  port: {default: 22}
  basedir: {default: ''}
  os_family: {default: linux}
plugins:
  iaas:
    executor: central_deployment_agent
    install: false
node_templates:
  vm:
    type: cloudify.nodes.Compute
    properties:
      ip: 127.0.0.1
      os_family: {get_input: os_family}
      agent_config:
        install_method: remote
        user: {get_input: user}
        key: {get_input: key}
        port: {get_input: port}
        extra: {basedir: {get_input: basedir}}
    interfaces:
      cloudify.interfaces.lifecycle:
        configure: iaas.tasks.record
  app:
    type: cloudify.nodes.ApplicationModule
    interfaces:
      cloudify.interfaces.lifecycle:
        create:
          implementation: scripts/create.sh
          executor: @EXECUTOR@
    relationships:
      - {type: cloudify.relationships.contained_in, target: vm}
)";

constexpr const char* kCreateScript = R"SH(#!/bin/sh
set -e
ctx instance runtime-properties ran_in "$PWD"
ctx instance runtime-properties agent "${CLOUDIFY_AGENT_NAME:-none}"
ctx logger info "created on the host"
)SH";

// Kills, when the test ends however it ends, every agent still running under `basedir`.
struct AgentReaper {
  fs::path basedir;
  ~AgentReaper() {
    std::error_code ec;
    for (const auto& entry : fs::directory_iterator(basedir, ec)) {
      auto pid = ReadFileBytes(entry.path() / "agent.pid");
      if (pid.ok() && !pid->empty()) {
        kill(std::stoi(*pid), SIGKILL);
      }
    }
  }
};

// A manager on `bus_url` with its REST API on a port known before it opens (the agents it
// installs are told it), the agent program and ctx in one folder, and a deployment of
// kBlueprint with `inputs` whose app runs on `app_executor`.
struct RemoteManager {
  testing::TempDir tmp;
  fs::path basedir = tmp.path() / "host-home";
  AgentReaper reaper{basedir};
  std::unique_ptr<Manager> manager;
  std::unique_ptr<rest::Router> router;
  std::unique_ptr<server::HttpServer> http;
  storage::CallerContext caller = storage::CallerContext::System();
  bool recorded_centrally = false;

  RemoteManager(const std::string& bus_url, json inputs, bool with_program = true,
                const std::string& app_executor = "host_agent") {
    const fs::path programs = tmp.path() / "programs";
    fs::create_directories(programs);
    fs::copy_file(CLOUDIFY_AGENT_PROGRAM, programs / "cloudify-agent");
    fs::copy_file(fs::path(CLOUDIFY_CTX_DIR) / "ctx", programs / "ctx");
    const int port = testing::FreeLoopbackPort();
    ManagerOptions options;
    options.data_dir = tmp.path() / "data";
    options.bus_url = bus_url;
    options.manager_name = "remote-test-" + NewUuid().substr(0, 8);
    options.task_retries = 0;
    options.task_retry_interval = milliseconds(10);
    options.agent_ping_timeout = seconds(20);
    options.ctx_dir = CLOUDIFY_CTX_DIR;
    options.agent_rest_url = "http://127.0.0.1:" + std::to_string(port);
    if (with_program) {
      options.agent_program = programs / "cloudify-agent";
    }
    auto m = Manager::Open(options);
    REQUIRE_MESSAGE(m.ok(), m.status().ToString());
    manager = std::move(*m);
    manager->operations().Add("iaas.tasks.record",
                              [this](workflow::OperationContext&) { recorded_centrally = true; });
    rest::RouterOptions router_options;
    router_options.admin_password = "remote-test-password";
    router_options.password_iterations = 1000;
    router_options.data_dir = options.data_dir.string();
    auto r = rest::Router::Create(*manager, router_options);
    REQUIRE_MESSAGE(r.ok(), r.status().ToString());
    router = std::move(*r);
    server::ServerOptions server_options;
    server_options.port = port;
    server_options.threads = 8;
    auto h = server::HttpServer::Start(server_options, *router);
    REQUIRE_MESSAGE(h.ok(), h.status().ToString());
    http = std::move(*h);

    const fs::path folder = tmp.path() / "bp";
    fs::create_directories(folder / "scripts");
    std::string blueprint = kBlueprint;
    blueprint.replace(blueprint.find("@EXECUTOR@"), 10, app_executor);
    std::ofstream(folder / "blueprint.yaml") << blueprint;
    std::ofstream(folder / "scripts" / "create.sh") << kCreateScript;
    auto bp = manager->UploadBlueprint(caller, "remote-bp", folder / "blueprint.yaml");
    REQUIRE_MESSAGE(bp.ok(), bp.status().ToString());
    inputs["basedir"] = basedir.string();
    auto dep = manager->CreateDeployment(caller, "remote-bp", "remote-dep", inputs);
    REQUIRE_MESSAGE(dep.ok(), dep.status().ToString());
  }

  model::Execution Run(const std::string& workflow) {
    auto started = manager->StartExecution(caller, "remote-dep", workflow);
    REQUIRE_MESSAGE(started.ok(), started.status().ToString());
    auto ended = manager->WaitForExecution(caller, started->id, seconds(120));
    if (!ended.ok()) {
      // Killed, or the manager's end would wait for an agent's reply that may never come.
      (void)manager->CancelExecution(caller, started->id, CancelKind::kKill);
    }
    REQUIRE_MESSAGE(ended.ok(), ended.status().ToString());
    return *ended;
  }

  model::NodeInstance InstanceOf(const std::string& node) {
    return testing::OnlyInstance(manager->store(), caller, "remote-dep", node);
  }

  std::vector<std::string> Messages(const std::string& execution_id) {
    REQUIRE(manager->SyncEvents(seconds(10)).ok());
    storage::ListQuery query;
    query.filters = {{"execution_id", {execution_id}}};
    query.get_all_results = true;
    auto events = manager->store().ListEvents(caller, query);
    REQUIRE(events.ok());
    std::vector<std::string> out;
    for (const auto& e : events->items) {
      out.push_back(e.message);
    }
    return out;
  }

  bool Logged(const std::string& execution_id, const std::string& text) {
    for (const auto& m : Messages(execution_id)) {
      if (m.find(text) != std::string::npos) {
        return true;
      }
    }
    return false;
  }
};

TEST_CASE("install_method remote: the manager installs the agent over SSH, uses it, removes it" *
          testing::kSharedAmqpVhost) {
  auto sshd = testing::SshdWithBroker();
  if (sshd == nullptr) {
    return;
  }
  const std::string amqp = testing::AmqpTestUrl();
  RemoteManager m(
      amqp, {{"user", sshd->user()}, {"key", sshd->client_key().string()}, {"port", sshd->port()}});
  model::Execution installed = m.Run("install");
  CHECK_MESSAGE(installed.status == model::ExecutionStatus::kTerminated, installed.error
                                                                             << "\n"
                                                                             << sshd->Log());
  const model::NodeInstance vm = m.InstanceOf("vm");
  const fs::path dir = m.basedir / vm.id;
  // Recorded as the original records it, plus where the agent lives.
  const json agent = vm.runtime_properties.value("cloudify_agent", json::object());
  CHECK(agent.value("name", "") == vm.id);
  CHECK(agent.value("queue", "") == vm.id);
  CHECK(agent.value("install_method", "") == "remote");
  CHECK(agent.value("ip", "") == "127.0.0.1");
  CHECK(agent.value("port", 0) == sshd->port());
  CHECK(agent.value("user", "") == sshd->user());
  CHECK(agent.value("basedir", "") == m.basedir.string());
  CHECK(agent.value("agent_dir", "") == dir.string());
  CHECK(agent.value("pid_file", "") == (dir / "agent.pid").string());
  CHECK_FALSE(agent.contains("key"));
  // The programs were copied and the agent runs from there, its secrets in a private file.
  CHECK(ModeOf(dir / "cloudify-agent") == 0755);
  CHECK(ModeOf(dir / "ctx") == 0755);
  CHECK(ModeOf(dir / "agent.env") == 0600);
  auto pid_text = ReadFileBytes(dir / "agent.pid");
  REQUIRE(pid_text.ok());
  const pid_t pid = std::stoi(*pid_text);
  CHECK(Running(pid));
  std::error_code ec;
  CHECK(fs::read_symlink("/proc/" + std::to_string(pid) + "/exe", ec) == dir / "cloudify-agent");
  // This project's libraries go with the agent to a host that lacks them; this host has the
  // very files where the program looks for them, so none was copied, and the agent maps them
  // from there.
  CHECK(fs::is_directory(dir / "lib"));
  CHECK_FALSE(fs::exists(dir / "lib" / "libcloudify.so.0.1"));
  auto maps = ReadFileBytes("/proc/" + std::to_string(pid) + "/maps");
  REQUIRE(maps.ok());
  CHECK(maps->find("libcloudify.so.0.1") != std::string::npos);
  // The host_agent script ran on that agent, in its work dir.
  const model::NodeInstance app = m.InstanceOf("app");
  CHECK(app.state == model::NodeInstanceState::kStarted);
  const std::string ran_in = app.runtime_properties.value("ran_in", "");
  CHECK_MESSAGE(ran_in.rfind((dir / "work").string(), 0) == 0, ran_in);
  CHECK(app.runtime_properties.value("agent", "") == vm.id);
  CHECK(m.recorded_centrally);  // vm's central operation still ran here
  CHECK(m.Logged(installed.id, "created on the host"));
  // The agent registered with its own token, as installed remotely.
  auto registered = m.manager->store().GetAgent(m.caller, vm.id);
  REQUIRE_MESSAGE(registered.ok(), registered.status().ToString());
  CHECK(registered->install_method == "remote");
  CHECK(registered->state == model::AgentState::kStarted);
  CHECK(registered->ip == "127.0.0.1");

  model::Execution uninstalled = m.Run("uninstall");
  CHECK_MESSAGE(uninstalled.status == model::ExecutionStatus::kTerminated, uninstalled.error);
  CHECK(EventuallyStopped(pid));
  CHECK_FALSE(fs::exists(dir));
  CHECK_FALSE(m.InstanceOf("vm").runtime_properties.contains("cloudify_agent"));
  CHECK(m.manager->store().GetAgent(m.caller, vm.id)->state == model::AgentState::kStopped);
  // No token of the agent's (nor of the executions') is left.
  auto tokens = m.manager->store().ListTokens(storage::ListQuery{});
  REQUIRE(tokens.ok());
  CHECK(tokens->items.empty());
}

TEST_CASE(
    "install_method remote: a host without this project's libraries gets them beside the agent" *
    testing::kSharedAmqpVhost) {
  // The host is this machine: its `sha256sum` is made to disagree, so that it looks like a
  // host without the libraries.
  auto loaded = ReadFileBytes("/proc/self/maps");
  REQUIRE(loaded.ok());
  const size_t found = loaded->find("libcloudify.so");
  REQUIRE(found != std::string::npos);
  const size_t line = loaded->rfind('\n', found) + 1;  // npos + 1 is 0: the first line
  const size_t at = loaded->find('/', line);
  const fs::path library = loaded->substr(at, loaded->find('\n', at) - at);
  std::error_code ec;
  if (fs::file_size(library, ec) > (size_t{64} << 20)) {
    MESSAGE("skipped: " << library << " is a sanitizer build, too large to copy in time");
    return;
  }
  testing::TempDir fake;
  std::ofstream(fake.path() / "sha256sum") << "#!/bin/sh\necho \"0000  $1\"\n";
  fs::permissions(fake.path() / "sha256sum", fs::perms::owner_all);
  auto sshd = testing::SshdWithBroker(
      {"SetEnv PATH=" + fake.path().string() + ":/usr/local/bin:/usr/bin:/bin:/usr/sbin:/sbin"});
  if (sshd == nullptr) {
    return;
  }
  RemoteManager m(
      testing::AmqpTestUrl(),
      {{"user", sshd->user()}, {"key", sshd->client_key().string()}, {"port", sshd->port()}});
  model::Execution installed = m.Run("install");
  REQUIRE_MESSAGE(installed.status == model::ExecutionStatus::kTerminated, installed.error);
  const fs::path dir = m.basedir / m.InstanceOf("vm").id;
  CHECK(fs::is_regular_file(dir / "lib" / "libcloudify.so.0.1"));
  auto pid_text = ReadFileBytes(dir / "agent.pid");
  REQUIRE(pid_text.ok());
  auto maps = ReadFileBytes("/proc/" + std::to_string(std::stoi(*pid_text)) + "/maps");
  REQUIRE(maps.ok());
  // The agent runs on the copies.
  CHECK_MESSAGE(maps->find((dir / "lib" / "libcloudify.so.0.1").string()) != std::string::npos,
                *maps);
  CHECK(m.Run("uninstall").status == model::ExecutionStatus::kTerminated);
  CHECK_FALSE(fs::exists(dir));
}

TEST_CASE("install_method remote: a refused key or a closed port fails the install, clearly" *
          testing::kSharedAmqpVhost) {
  auto sshd = testing::SshdWithBroker();
  if (sshd == nullptr) {
    return;
  }
  const std::string amqp = testing::AmqpTestUrl();
  const std::string user = sshd->user();
  int port = sshd->port();
  std::string key = sshd->client_key().string();
  std::string expected;
  SUBCASE("a key the host does not know") {
    key = sshd->unknown_key().string();
    expected = "authentication failed (SSH to " + user + "@127.0.0.1:" + std::to_string(port);
  }
  SUBCASE("a port nothing listens on") {
    port = testing::FreeLoopbackPort();
    expected = "connecting (SSH to " + user + "@127.0.0.1:" + std::to_string(port) + ")";
  }
  RemoteManager m(amqp, {{"user", user}, {"key", key}, {"port", port}});
  model::Execution installed = m.Run("install");
  CHECK(installed.status == model::ExecutionStatus::kFailed);
  CHECK_MESSAGE(installed.error.find(expected) != std::string::npos, installed.error);
  CHECK(installed.error.find("installing agent " + m.InstanceOf("vm").id) != std::string::npos);
  CHECK_FALSE(m.InstanceOf("vm").runtime_properties.contains("cloudify_agent"));
  // Nothing was made on the host, and no token is left for an agent that never ran.
  CHECK_FALSE(fs::exists(m.basedir));
  auto tokens = m.manager->store().ListTokens(storage::ListQuery{});
  REQUIRE(tokens.ok());
  CHECK(tokens->items.empty());
}

TEST_CASE("install_method remote without an SSH user, or without an agent program: central") {
  const std::string bus = "inproc://remote-test-" + NewUuid();
  SUBCASE("no agent_config.user") {
    RemoteManager m(bus, json::object(), true, "central_deployment_agent");
    model::Execution installed = m.Run("install");
    CHECK_MESSAGE(installed.status == model::ExecutionStatus::kTerminated, installed.error);
    CHECK(m.Logged(installed.id, "agent_config gives no user to log in with over SSH"));
    CHECK_FALSE(m.InstanceOf("vm").runtime_properties.contains("cloudify_agent"));
    CHECK(m.recorded_centrally);
    CHECK(m.InstanceOf("app").runtime_properties.value("agent", "") == "none");
    model::Execution uninstalled = m.Run("uninstall");
    CHECK_MESSAGE(uninstalled.status == model::ExecutionStatus::kTerminated, uninstalled.error);
  }
  SUBCASE("a user, but no agent program to install") {
    RemoteManager m(bus, {{"user", "nobody"}, {"key", "/nonexistent"}}, /*with_program=*/false,
                    "central_deployment_agent");
    model::Execution installed = m.Run("install");
    CHECK_MESSAGE(installed.status == model::ExecutionStatus::kTerminated, installed.error);
    CHECK(m.Logged(installed.id, "this manager has no agent program to copy"));
    CHECK_FALSE(m.InstanceOf("vm").runtime_properties.contains("cloudify_agent"));
    CHECK(m.InstanceOf("app").runtime_properties.value("agent", "") == "none");
    model::Execution uninstalled = m.Run("uninstall");
    CHECK_MESSAGE(uninstalled.status == model::ExecutionStatus::kTerminated, uninstalled.error);
  }
  SUBCASE("a Windows host, which needs WinRM") {
    RemoteManager m(bus, {{"user", "nobody"}, {"key", "/nonexistent"}, {"os_family", "Windows"}});
    model::Execution installed = m.Run("install");
    CHECK(installed.status == model::ExecutionStatus::kFailed);
    CHECK_MESSAGE(installed.error.find("needs WinRM") != std::string::npos, installed.error);
  }
  SUBCASE("an in-process broker the host cannot reach") {
    RemoteManager m(bus, {{"user", "nobody"}, {"key", "/nonexistent"}, {"port", 1}});
    model::Execution installed = m.Run("install");
    CHECK(installed.status == model::ExecutionStatus::kFailed);
    CHECK_MESSAGE(installed.error.find("needs a broker it can reach") != std::string::npos,
                  installed.error);
  }
}

}  // namespace
}  // namespace cloudify::agent
