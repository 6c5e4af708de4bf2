// host_agent operations end to end: a real Manager (SQLite) serving its REST API on
// 127.0.0.1 port 0, the engine sending host_agent operations over the bus, and a real agent
// Worker running them with the script executor and the real `ctx` program, its ctx calls and
// blueprint download going through the REST API. The bus is the in-process broker shared by
// name, or RabbitMQ when CLOUDIFY_TEST_AMQP_URL is set.
#include "cloudify/agent/worker.h"

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <filesystem>
#include <fstream>
#include <map>
#include <mutex>
#include <optional>
#include <thread>

#include <doctest/doctest.h>
#include <nlohmann/json.hpp>
#include <signal.h>
#include <spawn.h>
#include <sys/wait.h>
#include <unistd.h>

#include "cloudify/crypto.h"
#include "cloudify/ids.h"
#include "cloudify/manager.h"
#include "cloudify/process.h"
#include "cloudify/rest/router.h"
#include "cloudify/server/server.h"

#include "support/env.h"
#include "support/plumbing.h"
#include "support/temp_dir.h"

namespace cloudify::agent {
namespace {

using nlohmann::json;
using std::chrono::milliseconds;
using std::chrono::seconds;
namespace fs = std::filesystem;

constexpr const char* kAdminPassword = "agent-test-password";

// vm is made by a central C++ handler that records the host's agent; app's lifecycle scripts
// run on that agent.
constexpr const char* kBlueprint = R"(
tosca_definitions_version: cloudify_dsl_1_4
imports:
  - http://cloudify.co/spec/cloudify/6.4.0/types.yaml
inputs:
  install_method: {default: provided}
plugins:
  iaas:
    executor: central_deployment_agent
    install: false
node_templates:
  vm:
    type: cloudify.nodes.Compute
    properties: {agent_config: {install_method: {get_input: install_method}}}
    interfaces:
      cloudify.interfaces.lifecycle:
        create: iaas.tasks.create_vm
  app:
    type: cloudify.nodes.ApplicationModule
    interfaces:
      cloudify.interfaces.lifecycle:
        create:
          implementation: scripts/create.sh
          executor: host_agent
          inputs: {greeting: hello}
        start:
          implementation: scripts/start.sh
          executor: host_agent
    relationships:
      - {type: cloudify.relationships.contained_in, target: vm}
)";

constexpr const char* kCreateScript = R"SH(#!/bin/sh
set -e
ctx instance runtime-properties greeting "$greeting"
ctx instance runtime-properties ran_in "$PWD"
ctx instance runtime-properties host_ip "$(ctx instance host-ip)"
ctx instance runtime-properties node_seen "$(ctx node id) $(ctx node type)"
ctx logger info "created by the agent"
)SH";

constexpr const char* kStartScript = R"(#!/bin/sh
set -e
if [ -n "$HOLD_FILE" ]; then
  touch "$HOLD_FILE.started"
  while [ -e "$HOLD_FILE" ]; do sleep 0.05; done
fi
g=$(ctx instance runtime-properties greeting)
ctx instance runtime-properties started "$g started"
)";

// A manager with its REST API, on `bus_url`; its vm's create records agent `agent_name`
// (none when empty).
struct ManagerUnderTest {
  testing::TempDir tmp;
  std::string agent_name;
  std::unique_ptr<Manager> manager;
  std::unique_ptr<rest::Router> router;
  std::unique_ptr<server::HttpServer> http;
  storage::CallerContext caller = storage::CallerContext::System();

  ManagerUnderTest(const std::string& bus_url, std::string agent, milliseconds ping_timeout,
                   int task_retries = 0, const std::string& start_script = kStartScript,
                   const std::string& install_method = "provided")
      : agent_name(std::move(agent)) {
    ManagerOptions options;
    options.data_dir = tmp.path() / "data";
    options.bus_url = bus_url;
    options.manager_name = "agent-test-" + NewUuid().substr(0, 8);
    options.task_retries = task_retries;
    options.task_retry_interval = milliseconds(10);
    options.agent_ping_timeout = ping_timeout;
    options.ctx_dir = CLOUDIFY_CTX_DIR;
    auto m = Manager::Open(options);
    REQUIRE_MESSAGE(m.ok(), m.status().ToString());
    manager = std::move(*m);
    manager->operations().Add("iaas.tasks.create_vm", [this](workflow::OperationContext& ctx) {
      ctx.instance().runtime_properties()["ip"] = "10.9.8.7";
      if (!agent_name.empty()) {
        ctx.instance().runtime_properties()["cloudify_agent"] = {{"name", agent_name},
                                                                 {"queue", agent_name}};
      }
    });
    rest::RouterOptions router_options;
    router_options.admin_password = kAdminPassword;
    router_options.password_iterations = 1000;
    router_options.data_dir = options.data_dir.string();
    auto r = rest::Router::Create(*manager, router_options);
    REQUIRE_MESSAGE(r.ok(), r.status().ToString());
    router = std::move(*r);
    server::ServerOptions server_options;
    server_options.port = 0;
    server_options.threads = 8;
    auto h = server::HttpServer::Start(server_options, *router);
    REQUIRE_MESSAGE(h.ok(), h.status().ToString());
    http = std::move(*h);

    const fs::path folder = tmp.path() / "bp";
    fs::create_directories(folder / "scripts");
    std::ofstream(folder / "blueprint.yaml") << kBlueprint;
    std::ofstream(folder / "scripts" / "create.sh") << kCreateScript;
    std::ofstream(folder / "scripts" / "start.sh") << start_script;
    auto bp = manager->UploadBlueprint(caller, "agent-bp", folder / "blueprint.yaml");
    REQUIRE_MESSAGE(bp.ok(), bp.status().ToString());
    auto dep = manager->CreateDeployment(caller, "agent-bp", "agent-dep",
                                         {{"install_method", install_method}});
    REQUIRE_MESSAGE(dep.ok(), dep.status().ToString());
  }

  std::string RestUrl() const { return "http://127.0.0.1:" + std::to_string(http->port()); }

  WorkerOptions AgentOptions(const std::string& bus_url) const {
    WorkerOptions o;
    o.name = agent_name;
    o.bus_url = bus_url;
    o.rest_url = RestUrl();  // no credentials: each task carries its execution's token
    o.work_dir = tmp.path() / "agent-work";
    o.ctx_dir = CLOUDIFY_CTX_DIR;
    return o;
  }

  model::Execution Install(seconds timeout = seconds(60)) {
    auto started = manager->StartExecution(caller, "agent-dep", "install");
    REQUIRE_MESSAGE(started.ok(), started.status().ToString());
    auto ended = manager->WaitForExecution(caller, started->id, timeout);
    REQUIRE_MESSAGE(ended.ok(), ended.status().ToString());
    return *ended;
  }

  model::NodeInstance InstanceOf(const std::string& node) {
    return testing::OnlyInstance(manager->store(), caller, "agent-dep", node);
  }

  // What a successful install on the agent leaves behind.
  void CheckInstalledByAgent() {
    model::NodeInstance vm = InstanceOf("vm");
    model::NodeInstance app = InstanceOf("app");
    CHECK(vm.state == model::NodeInstanceState::kStarted);
    CHECK(app.state == model::NodeInstanceState::kStarted);
    CHECK(app.runtime_properties.value("greeting", "") == "hello");
    CHECK(app.runtime_properties.value("started", "") == "hello started");
    // host-ip read the Compute host's ip through the manager's REST API.
    CHECK(app.runtime_properties.value("host_ip", "") == "10.9.8.7");
    // The node as the task carried it.
    CHECK(app.runtime_properties.value("node_seen", "") == "app cloudify.nodes.ApplicationModule");
    // The script ran in a work dir of the agent's, not the manager's.
    const std::string ran_in = app.runtime_properties.value("ran_in", "");
    CHECK_MESSAGE(ran_in.find("agent-work") != std::string::npos, ran_in);
  }
};

std::string UniqueAgentName() { return "agent-" + NewUuid().substr(0, 12); }

TEST_CASE("worker: install runs host_agent operations on the agent (inproc bus)") {
  const std::string bus = "inproc://agent-test-" + NewUuid();
  ManagerUnderTest m(bus, UniqueAgentName(), seconds(10));
  auto worker = Worker::Start(m.AgentOptions(bus));
  REQUIRE_MESSAGE(worker.ok(), worker.status().ToString());

  model::Execution ended = m.Install();
  CHECK_MESSAGE(ended.status == model::ExecutionStatus::kTerminated, ended.error);
  m.CheckInstalledByAgent();
  WorkerStats stats = (*worker)->stats();
  CHECK(stats.operations == 2);  // app's create and start
  CHECK(stats.operations_failed == 0);
  // Pinged before the first operation; its reply vouches for the agent within the ping interval.
  CHECK(stats.pings >= 1);
  CHECK(stats.instance_reads == 0);  // the tasks carry their instances

  // The script's ctx logger line reached the execution's logs.
  REQUIRE(m.manager->SyncEvents(seconds(10)).ok());
  storage::ListQuery query;
  query.filters = {{"execution_id", {ended.id}}};
  query.get_all_results = true;
  auto events = m.manager->store().ListEvents(m.caller, query);
  REQUIRE(events.ok());
  bool logged = false;
  for (const auto& e : events->items) {
    logged = logged || e.message.find("created by the agent") != std::string::npos;
  }
  CHECK(logged);

  // The execution's token was deleted when its run ended, and no longer opens the API.
  auto tokens = m.manager->store().ListTokens(storage::ListQuery{});
  REQUIRE(tokens.ok());
  for (const auto& token : tokens->items) {
    CHECK(token.description.rfind("execution ", 0) != 0);
  }
}

TEST_CASE("worker: a task's REST token acts as the execution's creator, whatever the agent has") {
  const std::string bus = "inproc://agent-test-" + NewUuid();
  ManagerUnderTest m(bus, UniqueAgentName(), seconds(10));
  auto add_user = [&](const std::string& name, model::TenantRole role) {
    model::User user;
    user.username = name;
    user.tenant_roles = {{std::string(model::kDefaultTenant), role}};
    user.password_hash = HashPassword("unused", {.iterations = 1000}).value();
    Status created = m.manager->store().CreateUser(user);
    REQUIRE_MESSAGE(created.ok(), created.ToString());
    storage::CallerContext caller;
    caller.user = name;
    return caller;
  };
  const storage::CallerContext viewer = add_user("vera", model::TenantRole::kViewer);
  const storage::CallerContext operations = add_user("otto", model::TenantRole::kOperations);
  WorkerOptions options = m.AgentOptions(bus);
  options.username = "admin";  // never used: the task's token wins
  options.password = "wrong";
  auto worker = Worker::Start(options);
  REQUIRE_MESSAGE(worker.ok(), worker.status().ToString());

  auto run = [&](const storage::CallerContext& caller) {
    auto started = m.manager->StartExecution(caller, "agent-dep", "install");
    REQUIRE_MESSAGE(started.ok(), started.status().ToString());
    auto ended = m.manager->WaitForExecution(caller, started->id, seconds(60));
    REQUIRE_MESSAGE(ended.ok(), ended.status().ToString());
    return *ended;
  };
  // A viewer's execution may not write runtime properties through the API: the script fails.
  model::Execution refused = run(viewer);
  CHECK(refused.status == model::ExecutionStatus::kFailed);
  CHECK_MESSAGE(refused.error.find("User `vera` with role `viewer`") != std::string::npos,
                refused.error);
  CHECK(m.InstanceOf("app").runtime_properties.count("greeting") == 0);
  // An operations user's may.
  model::Execution ended = run(operations);
  CHECK_MESSAGE(ended.status == model::ExecutionStatus::kTerminated, ended.error);
  m.CheckInstalledByAgent();
  auto tokens = m.manager->store().ListTokens(storage::ListQuery{});
  REQUIRE(tokens.ok());
  CHECK(tokens->items.empty());
}

TEST_CASE("worker: an agent given its host registers, reports while it runs, and its stop") {
  const std::string bus = "inproc://agent-test-" + NewUuid();
  ManagerUnderTest m(bus, UniqueAgentName(), seconds(10));
  const std::string vm = m.InstanceOf("vm").id;
  WorkerOptions options = m.AgentOptions(bus);
  options.node_instance_id = vm;
  options.ip = "10.9.8.7";
  options.heartbeat_interval = milliseconds(50);
  // Registering needs credentials of the agent's own.
  auto refused = Worker::Start(options);
  REQUIRE_FALSE(refused.ok());
  CHECK(refused.status().message().find("needs REST credentials") != std::string::npos);
  CHECK(m.manager->store().GetAgent(m.caller, options.name).status().code() ==
        ErrorCode::kNotFound);
  options.username = "admin";
  options.password = kAdminPassword;
  WorkerOptions ghost = options;
  ghost.node_instance_id = "ghost_123456";
  auto unknown = Worker::Start(ghost);
  REQUIRE_FALSE(unknown.ok());
  CHECK(unknown.status().message().find("registering agent") != std::string::npos);

  auto worker = Worker::Start(options);
  REQUIRE_MESSAGE(worker.ok(), worker.status().ToString());
  auto agent = m.manager->store().GetAgent(m.caller, options.name);
  REQUIRE(agent.ok());
  CHECK(agent->state == model::AgentState::kStarted);
  CHECK(agent->node_instance_id == vm);
  CHECK(agent->node_id == "vm");
  CHECK(agent->deployment_id == "agent-dep");
  CHECK(agent->ip == "10.9.8.7");
  CHECK(agent->install_method == "provided");
  CHECK(agent->rabbitmq_exchange == options.name);
  const Timestamp registered = agent->updated_at;
  // Heartbeats move updated_at on.
  bool reported = false;
  for (int i = 0; i < 100 && !reported; ++i) {
    std::this_thread::sleep_for(milliseconds(20));
    reported = m.manager->store().GetAgent(m.caller, options.name)->updated_at > registered;
  }
  CHECK(reported);
  (*worker)->Stop();
  CHECK(m.manager->store().GetAgent(m.caller, options.name)->state == model::AgentState::kStopped);
  // Started again under the same name: the registration is reused and reported started.
  auto again = Worker::Start(options);
  REQUIRE_MESSAGE(again.ok(), again.status().ToString());
  CHECK(m.manager->store().GetAgent(m.caller, options.name)->state == model::AgentState::kStarted);
  auto page = m.manager->store().ListAgents(m.caller, {});
  REQUIRE(page.ok());
  CHECK(page->total == 1);
}

TEST_CASE("worker: a registered agent runs operations: its heartbeat takes no task's wake-up") {
  const std::string bus = "inproc://agent-test-" + NewUuid();
  ManagerUnderTest m(bus, UniqueAgentName(), seconds(10));
  WorkerOptions options = m.AgentOptions(bus);
  options.node_instance_id = m.InstanceOf("vm").id;
  options.username = "admin";
  options.password = kAdminPassword;
  options.max_workers = 1;  // one worker and the heartbeat wait at once
  options.heartbeat_interval = std::chrono::hours(1);
  auto worker = Worker::Start(options);
  REQUIRE_MESSAGE(worker.ok(), worker.status().ToString());
  model::Execution ended = m.Install(seconds(30));
  CHECK_MESSAGE(ended.status == model::ExecutionStatus::kTerminated, ended.error);
  CHECK((*worker)->stats().operations == 2);
}

TEST_CASE("worker: operations waiting for the agent do not hold the engine's workers") {
  // One engine worker and four app instances: their creates run on the agent at once only if
  // the engine sends the next while the first waits for its reply.
  testing::TempDir tmp;
  const std::string bus = "inproc://agent-test-" + NewUuid();
  const std::string agent_name = UniqueAgentName();
  ManagerOptions options;
  options.data_dir = tmp.path() / "data";
  options.bus_url = bus;
  options.operation_parallelism = 1;
  options.task_retries = 0;
  auto manager = Manager::Open(options);
  REQUIRE_MESSAGE(manager.ok(), manager.status().ToString());
  (*manager)->operations().Add("iaas.tasks.create_vm", [&](workflow::OperationContext& ctx) {
    ctx.instance().runtime_properties()["cloudify_agent"] = {{"name", agent_name},
                                                             {"queue", agent_name}};
  });
  std::mutex mu;
  std::condition_variable cv;
  int running = 0, peak = 0;
  workflow::OperationRegistry handlers;
  handlers.Add("app.tasks.hold", [&](workflow::OperationContext&) {
    std::unique_lock lock(mu);
    peak = std::max(peak, ++running);
    cv.notify_all();
    cv.wait_for(lock, seconds(2), [&] { return peak >= 4; });
    --running;
  });
  const fs::path blueprint = tmp.path() / "bp" / "blueprint.yaml";
  fs::create_directories(blueprint.parent_path());
  std::ofstream(blueprint) << R"(tosca_definitions_version: cloudify_dsl_1_4
imports:
  - http://cloudify.co/spec/cloudify/6.4.0/types.yaml
plugins:
  iaas: {executor: central_deployment_agent, install: false}
  app: {executor: host_agent, install: false}
node_templates:
  vm:
    type: cloudify.nodes.Compute
    properties: {agent_config: {install_method: provided}}
    interfaces:
      cloudify.interfaces.lifecycle: {create: iaas.tasks.create_vm}
  app:
    type: cloudify.nodes.ApplicationModule
    capabilities: {scalable: {properties: {default_instances: 4}}}
    interfaces:
      cloudify.interfaces.lifecycle: {create: app.tasks.hold}
    relationships:
      - {type: cloudify.relationships.contained_in, target: vm}
)";
  const auto caller = storage::CallerContext::System();
  auto uploaded = (*manager)->UploadBlueprint(caller, "bp", blueprint);
  REQUIRE_MESSAGE(uploaded.ok(), uploaded.status().ToString());
  auto created = (*manager)->CreateDeployment(caller, "bp", "dep");
  REQUIRE_MESSAGE(created.ok(), created.status().ToString());
  WorkerOptions agent;
  agent.name = agent_name;
  agent.bus_url = bus;
  agent.rest_url = "http://127.0.0.1:9";  // the handlers make no REST calls
  agent.work_dir = tmp.path() / "agent-work";
  agent.max_workers = 4;
  agent.operations = &handlers;
  auto worker = Worker::Start(agent);
  REQUIRE_MESSAGE(worker.ok(), worker.status().ToString());

  auto started = (*manager)->StartExecution(caller, "dep", "install");
  REQUIRE_MESSAGE(started.ok(), started.status().ToString());
  auto ended = (*manager)->WaitForExecution(caller, started->id, seconds(60));
  REQUIRE_MESSAGE(ended.ok(), ended.status().ToString());
  CHECK_MESSAGE(ended->status == model::ExecutionStatus::kTerminated, ended->error);
  std::lock_guard lock(mu);
  CHECK(peak == 4);
  CHECK((*worker)->stats().operations == 4);
}

TEST_CASE("worker: an agent that does not answer the ping fails the operation with a timeout") {
  const std::string bus = "inproc://agent-test-" + NewUuid();
  const std::string name = UniqueAgentName();
  ManagerUnderTest m(bus, name, milliseconds(200));
  // It registered once, then went away: the agents table shows it nonresponsive.
  model::Agent registered;
  registered.id = registered.name = name;
  registered.node_instance_id = m.InstanceOf("vm").id;
  registered.deployment_id = "agent-dep";
  registered.state = model::AgentState::kStarted;
  REQUIRE(m.manager->store().CreateAgent(m.caller, registered).ok());
  model::Execution ended = m.Install();
  CHECK(ended.status == model::ExecutionStatus::kFailed);
  CHECK_MESSAGE(ended.error.find("Timed out waiting for agent " + name) != std::string::npos,
                ended.error);
  CHECK(m.InstanceOf("app").state != model::NodeInstanceState::kStarted);
  CHECK(m.manager->store().GetAgent(m.caller, name)->state == model::AgentState::kNonresponsive);
}

TEST_CASE("install_method provided: the agent is recorded, its command logged, and awaited") {
  const std::string bus = "inproc://agent-test-" + NewUuid();
  // The vm's own create records no agent: the workflow's cloudify_agent.create names it.
  ManagerUnderTest m(bus, "", seconds(10), /*task_retries=*/5);
  auto started = m.manager->StartExecution(m.caller, "agent-dep", "install");
  REQUIRE(started.ok());
  const std::string vm_id = m.InstanceOf("vm").id;
  // The user reads the command from the execution's logs and starts the agent with it.
  std::string command;
  for (int i = 0; i < 1000 && command.empty(); ++i) {
    REQUIRE(m.manager->SyncEvents(seconds(10)).ok());
    storage::ListQuery query;
    query.filters = {{"execution_id", {started->id}}};
    query.get_all_results = true;
    auto events = m.manager->store().ListEvents(m.caller, query);
    REQUIRE(events.ok());
    for (const auto& e : events->items) {
      if (e.message.find("On its host, run: cloudify-agent") != std::string::npos) {
        command = e.message;
      }
    }
    std::this_thread::sleep_for(milliseconds(10));
  }
  REQUIRE_MESSAGE(!command.empty(), "no command was logged");
  CHECK_MESSAGE(command.find("--name " + vm_id + " ") != std::string::npos, command);
  CHECK_MESSAGE(command.find("--node-instance-id " + vm_id) != std::string::npos, command);
  CHECK_MESSAGE(command.find("--bus-url " + bus) != std::string::npos, command);
  CHECK(m.InstanceOf("vm").runtime_properties["cloudify_agent"] ==
        json{{"name", vm_id}, {"queue", vm_id}, {"install_method", "provided"}});
  m.agent_name = vm_id;
  auto worker = Worker::Start(m.AgentOptions(bus));
  REQUIRE_MESSAGE(worker.ok(), worker.status().ToString());
  auto ended = m.manager->WaitForExecution(m.caller, started->id, seconds(60));
  REQUIRE(ended.ok());
  CHECK_MESSAGE(ended->status == model::ExecutionStatus::kTerminated, ended->error);
  m.CheckInstalledByAgent();
  CHECK((*worker)->stats().operations == 2);

  // Uninstall forgets the agent (its host's owner stops it).
  auto uninstall = m.manager->StartExecution(m.caller, "agent-dep", "uninstall");
  REQUIRE(uninstall.ok());
  auto removed = m.manager->WaitForExecution(m.caller, uninstall->id, seconds(60));
  REQUIRE(removed.ok());
  CHECK_MESSAGE(removed->status == model::ExecutionStatus::kTerminated, removed->error);
  CHECK_FALSE(m.InstanceOf("vm").runtime_properties.contains("cloudify_agent"));
}

TEST_CASE("worker: a host without cloudify_agent fails host_agent operations without retry") {
  const std::string bus = "inproc://agent-test-" + NewUuid();
  // remote: this manager installs no agent over SSH, so none is recorded.
  ManagerUnderTest m(bus, "", milliseconds(200), /*task_retries=*/5, kStartScript, "remote");
  model::Execution ended = m.Install();
  CHECK(ended.status == model::ExecutionStatus::kFailed);
  CHECK_MESSAGE(ended.error.find("missing cloudify_agent") != std::string::npos, ended.error);
  CHECK_MESSAGE(ended.error.find("Compute node was never started") != std::string::npos,
                ended.error);
}

TEST_CASE("worker: abort_operation is not retried but a failing script is, as on the manager") {
  const std::string bus = "inproc://agent-test-" + NewUuid();
  SUBCASE("abort_operation: a non-recoverable error, no retry") {
    ManagerUnderTest m(bus, UniqueAgentName(), seconds(10), /*task_retries=*/3,
                       "#!/bin/sh\nctx abort_operation 'stop here'\n");
    auto worker = Worker::Start(m.AgentOptions(bus));
    REQUIRE(worker.ok());
    model::Execution ended = m.Install();
    CHECK(ended.status == model::ExecutionStatus::kFailed);
    CHECK_MESSAGE(ended.error.find("stop here") != std::string::npos, ended.error);
    CHECK((*worker)->stats().operations == 2);  // create, and start once
    CHECK((*worker)->stats().operations_failed == 1);
  }
  SUBCASE("a non-zero exit: recoverable, retried task_retries times") {
    ManagerUnderTest m(bus, UniqueAgentName(), seconds(10), /*task_retries=*/2,
                       "#!/bin/sh\necho broken >&2\nexit 3\n");
    auto worker = Worker::Start(m.AgentOptions(bus));
    REQUIRE(worker.ok());
    model::Execution ended = m.Install();
    CHECK(ended.status == model::ExecutionStatus::kFailed);
    CHECK((*worker)->stats().operations == 4);  // create, and start three times
    CHECK((*worker)->stats().operations_failed == 3);
  }
}

// An agent Worker with no manager, on an in-process broker of its own, and a client there: a
// bus and a reply queue bound to the agent's exchange, whose replies are kept by correlation id.
struct BareAgent {
  testing::TempDir tmp;
  WorkerOptions options;
  std::unique_ptr<Worker> worker;
  std::unique_ptr<messaging::Bus> bus;
  const std::string replies = "replies-" + NewUuid();
  std::mutex mu;
  std::condition_variable cv;
  std::map<std::string, json> answers;  // guarded by mu
  std::unique_ptr<messaging::Subscription> subscription;

  explicit BareAgent(int max_workers = 5) {
    options.name = UniqueAgentName();
    options.bus_url = "inproc://agent-test-" + NewUuid();
    options.work_dir = tmp.path();
    options.max_workers = max_workers;
    auto started = Worker::Start(options);
    REQUIRE_MESSAGE(started.ok(), started.status().ToString());
    worker = std::move(*started);
    auto opened = messaging::OpenBus(options.bus_url);
    REQUIRE(opened.ok());
    bus = std::move(*opened);
    REQUIRE(bus->Declare({.queues = {{.name = replies, .durable = false}},
                          .bindings = {{replies, options.name, replies}}})
                .ok());
    auto consumed = bus->Consume(replies, {}, [this](messaging::Delivery d) {
      std::lock_guard lock(mu);
      answers[d.message().correlation_id] = json::parse(d.message().body);
      (void)d.Ack();
      cv.notify_all();
    });
    REQUIRE(consumed.ok());
    subscription = std::move(*consumed);
  }

  // Sends an operation task message with this reply queue.
  void Send(const std::string& body, const std::string& correlation_id = "") {
    messaging::Message task;
    task.body = body;
    task.reply_to = replies;
    task.correlation_id = correlation_id;
    REQUIRE(bus->Publish(options.name, "operation", task).ok());
  }

  // Waits until `n` replies came, in all.
  bool WaitForReplies(size_t n) {
    std::unique_lock lock(mu);
    return cv.wait_for(lock, seconds(10), [&] { return answers.size() >= n; });
  }
};

TEST_CASE("worker: answers ping on its service queue and refuses a worker without a name") {
  BareAgent agent;
  messaging::Message ping;
  ping.body =
      json{{"id", "p1"},
           {"cloudify_task",
            {{"kwargs", {{"__cloudify_context", {{"type", "service"}, {"task_name", "ping"}}}}}}}}
          .dump();
  auto pong = agent.bus->Request(agent.options.name, "service", ping, seconds(5));
  REQUIRE_MESSAGE(pong.ok(), pong.status().ToString());
  json reply = json::parse(pong->body);
  CHECK(reply["ok"] == true);
  CHECK(reply["result"]["time"].is_number());
  CHECK(reply["result"]["task_batches"] == true);  // agent_batches.h
  CHECK(agent.worker->stats().pings == 1);

  // A malformed operation task is answered with a non-recoverable error; the agent lives on.
  const json malformed[] = {json("not an object"), json{{"kwargs", {{"x", 1}}}},
                            json{{"kwargs", {{"x", 1}}}}};
  for (size_t i = 0; i < 3; ++i) {
    const std::string id = "t" + std::to_string(i);
    json task = {{"id", id}, {"cloudify_task", malformed[i]}};
    if (i == 2) {
      task["reply_batches"] = "yes";  // of the wrong type: no batches, no crash
    }
    agent.Send(task.dump(), id);
    REQUIRE(agent.WaitForReplies(i + 1));
    std::lock_guard lock(agent.mu);
    CHECK(agent.answers[id]["ok"] == false);
    CHECK(agent.answers[id]["error"]["type"] == "NonRecoverableError");
    CHECK(agent.answers[id]["error"]["message"] == "task without __cloudify_context");
  }
  CHECK(agent.bus->Request(agent.options.name, "service", ping, seconds(5)).ok());
  agent.worker->Stop();

  WorkerOptions nameless = agent.options;
  nameless.name.clear();
  CHECK(Worker::Start(nameless).status().code() == ErrorCode::kBadParameters);
}

TEST_CASE("worker: a batch of tasks is answered task by task, and acked once all are") {
  BareAgent agent(/*max_workers=*/2);
  // Three tasks in one message (agent_batches.h); the third, not an object, has no id to be
  // answered by.
  agent.Send(json::array({{{"id", "t1"}, {"cloudify_task", {{"kwargs", {{"x", 1}}}}}},
                          {{"id", "t2"}, {"cloudify_task", {{"kwargs", {{"y", 2}}}}}},
                          "junk"})
                 .dump());
  REQUIRE(agent.WaitForReplies(2));
  {
    std::lock_guard lock(agent.mu);
    CHECK(agent.answers.size() == 2);
    for (const char* id : {"t1", "t2"}) {
      REQUIRE(agent.answers.count(id) == 1);
      CHECK(agent.answers[id]["error"]["message"] == "task without __cloudify_context");
    }
  }
  for (int i = 0; i < 500 && agent.worker->stats().operations < 3; ++i) {
    std::this_thread::sleep_for(milliseconds(10));
  }
  CHECK(agent.worker->stats().operations == 3);
  agent.worker->Stop();
  // Acked: nothing went back to the queue when the agent stopped.
  std::atomic<int> redelivered{0};
  auto leftover =
      agent.bus->Consume(agent.options.name + "_operation", {}, [&](messaging::Delivery d) {
        ++redelivered;
        (void)d.Ack();
      });
  REQUIRE(leftover.ok());
  std::this_thread::sleep_for(milliseconds(200));
  CHECK(redelivered.load() == 0);
}

TEST_CASE("worker: install runs host_agent operations on the agent over RabbitMQ" *
          testing::kSharedAmqpVhost) {
  const std::string amqp = testing::AmqpTestUrl();
  if (!testing::HaveServer(amqp, "CLOUDIFY_TEST_AMQP_URL")) {
    return;
  }
  ManagerUnderTest m(amqp, UniqueAgentName(), seconds(10));
  auto worker = Worker::Start(m.AgentOptions(amqp));
  REQUIRE_MESSAGE(worker.ok(), worker.status().ToString());
  model::Execution ended = m.Install();
  CHECK_MESSAGE(ended.status == model::ExecutionStatus::kTerminated, ended.error);
  m.CheckInstalledByAgent();
  CHECK((*worker)->stats().operations == 2);
}

// The cloudify-agent program as a child process, killed with SIGKILL on request or at the end.
class AgentProcess {
 public:
  AgentProcess(const WorkerOptions& o, const std::string& hold_file) {
    std::vector<std::string> args = {CLOUDIFY_AGENT_PROGRAM,
                                     "--name=" + o.name,
                                     "--bus-url=" + o.bus_url,
                                     "--rest-url=" + o.rest_url,
                                     "--work-dir=" + o.work_dir.string(),
                                     "--ctx-dir=" + o.ctx_dir.string()};
    std::vector<std::string> env_strings = {"HOLD_FILE=" + hold_file};
    for (char** e = environ; *e != nullptr; ++e) {
      env_strings.emplace_back(*e);
    }
    std::vector<char*> argv;
    for (auto& a : args) {
      argv.push_back(a.data());
    }
    argv.push_back(nullptr);
    std::vector<char*> envp;
    for (auto& e : env_strings) {
      envp.push_back(e.data());
    }
    envp.push_back(nullptr);
    REQUIRE(posix_spawn(&pid_, argv[0], nullptr, nullptr, argv.data(), envp.data()) == 0);
  }
  ~AgentProcess() { Kill(); }
  void Kill() {
    if (pid_ > 0) {
      kill(pid_, SIGKILL);
      int status = 0;
      waitpid(pid_, &status, 0);
      pid_ = 0;
    }
  }

 private:
  pid_t pid_ = 0;
};

bool WaitForFile(const fs::path& path, seconds timeout) {
  const auto until = std::chrono::steady_clock::now() + timeout;
  std::error_code ec;
  while (!fs::exists(path, ec)) {
    if (std::chrono::steady_clock::now() > until) {
      return false;
    }
    std::this_thread::sleep_for(milliseconds(20));
  }
  return true;
}

TEST_CASE("worker: an agent killed mid-operation: the operation is redelivered to its successor" *
          testing::kSharedAmqpVhost) {
  const std::string amqp = testing::AmqpTestUrl();
  if (!testing::HaveServer(amqp, "CLOUDIFY_TEST_AMQP_URL")) {
    return;
  }
  ManagerUnderTest m(amqp, UniqueAgentName(), seconds(10));
  const WorkerOptions options = m.AgentOptions(amqp);
  // The first agent's start script waits while the hold file exists.
  const fs::path hold = m.tmp.path() / "hold";
  std::ofstream(hold) << "hold";
  AgentProcess first(options, hold.string());

  auto started = m.manager->StartExecution(m.caller, "agent-dep", "install");
  REQUIRE(started.ok());
  REQUIRE_MESSAGE(WaitForFile(fs::path(hold.string() + ".started"), seconds(60)),
                  "the first agent never started the start operation");
  first.Kill();
  std::error_code ec;
  fs::remove(hold, ec);  // lets the orphaned script end

  auto second = Worker::Start(options);  // same name, no hold file in its environment
  REQUIRE_MESSAGE(second.ok(), second.status().ToString());
  auto ended = m.manager->WaitForExecution(m.caller, started->id, seconds(60));
  REQUIRE(ended.ok());
  CHECK_MESSAGE(ended->status == model::ExecutionStatus::kTerminated, ended->error);
  m.CheckInstalledByAgent();
  CHECK((*second)->stats().operations == 1);  // the redelivered start
}

}  // namespace
}  // namespace cloudify::agent
