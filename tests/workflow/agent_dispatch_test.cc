// The engine's side of host_agent operations: ping, send, the reply mapped to an outcome. The
// agent here is a small responder on the in-process bus (tests/agent runs the real Worker).
#include "workflow/agent_dispatch.h"

#include <algorithm>
#include <atomic>
#include <functional>
#include <map>
#include <mutex>
#include <set>
#include <thread>
#include <vector>

#include <doctest/doctest.h>

#include "cloudify/ids.h"
#include "cloudify/messaging/topology.h"
#include "cloudify/workflow/agent_batches.h"

namespace cloudify::workflow {
namespace {

using nlohmann::json;
using std::chrono::milliseconds;

TEST_CASE("OutcomeFromAgentReply: ok, retry, non-recoverable, and anything else recoverable") {
  CHECK(OutcomeFromAgentReply({{"ok", true}, {"result", 7}}).kind == TaskOutcome::Kind::kSucceeded);

  TaskOutcome retry = OutcomeFromAgentReply(
      {{"ok", false},
       {"error", {{"type", "OperationRetry"}, {"message", "later"}, {"retry_after", 1.5}}}});
  CHECK(retry.kind == TaskOutcome::Kind::kRetryRequested);
  CHECK(retry.error == "later");
  CHECK(retry.retry_after == milliseconds(1500));

  TaskOutcome fatal = OutcomeFromAgentReply(
      {{"ok", false}, {"error", {{"type", "NonRecoverableError"}, {"message", "no"}}}});
  CHECK(fatal.kind == TaskOutcome::Kind::kNonRecoverableError);
  CHECK(fatal.error == "no");

  for (const char* type : {"RecoverableError", "KeyError", ""}) {
    TaskOutcome t =
        OutcomeFromAgentReply({{"ok", false}, {"error", {{"type", type}, {"message", "flaky"}}}});
    CHECK(t.kind == TaskOutcome::Kind::kRecoverableError);
    CHECK(t.error == "flaky");
  }
  CHECK(OutcomeFromAgentReply(json("junk")).kind == TaskOutcome::Kind::kRecoverableError);
  // Fields of the wrong type are malformed, never a crash.
  CHECK(OutcomeFromAgentReply({{"ok", "yes"}}).kind == TaskOutcome::Kind::kRecoverableError);
  CHECK(OutcomeFromAgentReply({{"ok", false}, {"error", {{"type", 3}, {"message", 4}}}}).kind ==
        TaskOutcome::Kind::kRecoverableError);
  CHECK(OutcomeFromAgentReply({{"ok", false}, {"error", "boom"}}).error == "boom");
}

// Answers pings, and operations with `reply`.
struct Responder {
  std::string name = "agent-" + NewUuid().substr(0, 8);
  std::unique_ptr<messaging::Bus> bus;
  std::unique_ptr<messaging::Subscription> service, operations;
  std::mutex mu;  // guards tasks, reply, hold and held
  std::vector<json> tasks;
  std::atomic<int> pings{0};
  json reply = {{"ok", true}, {"result", nullptr}};
  bool hold = false;  // keep the tasks unanswered in `held`
  std::vector<messaging::Delivery> held;

  explicit Responder(const std::string& url, bool answer_pings = true, bool task_batches = false) {
    bus = messaging::OpenBus(url).value();
    REQUIRE(bus->Declare(messaging::AgentTopology(name)).ok());
    if (answer_pings) {
      service = bus->Consume(name + "_service", {},
                             [this, task_batches](messaging::Delivery d) {
                               ++pings;
                               messaging::Message m;
                               json result = {{"time", 1}};
                               if (task_batches) {
                                 result[std::string(kTaskBatchesKey)] = true;
                               }
                               m.body = json{{"ok", true}, {"result", result}}.dump();
                               CHECK(bus->Reply(d, m).ok());
                               (void)d.Ack();
                             })
                    .value();
    }
    operations = bus->Consume(name + "_operation", {},
                              [this](messaging::Delivery d) {
                                messaging::Message m;
                                {
                                  std::lock_guard lock(mu);
                                  tasks.push_back(json::parse(d.message().body));
                                  if (hold) {
                                    held.push_back(d);
                                    return;
                                  }
                                  m.body = reply.dump();
                                }
                                CHECK(bus->Reply(d, m, name).ok());
                                (void)d.Ack();
                              })
                     .value();
  }
};

TEST_CASE("AgentDispatcher: pings, sends the task with its reply queue and maps the reply") {
  const std::string url = "inproc://dispatch-" + NewUuid();
  auto manager_bus = messaging::OpenBus(url).value();
  Responder agent(url);
  AgentDispatcher dispatcher(*manager_bus, "exec-1", milliseconds(2000));
  json kwargs = {{"x", 1}, {"__cloudify_context", {{"task_id", "t1"}}}};

  TaskOutcome ok = dispatcher.Run(agent.name, "t1", kwargs, nullptr);
  CHECK(ok.kind == TaskOutcome::Kind::kSucceeded);
  REQUIRE(agent.tasks.size() == 1);
  CHECK(agent.tasks[0]["id"] == "t1");
  CHECK(agent.tasks[0]["cloudify_task"]["kwargs"] == kwargs);
  CHECK(dispatcher.used());

  SUBCASE("the instances the agent says it stored, or nothing when it does not say") {
    std::optional<std::vector<std::string>> written;
    REQUIRE(dispatcher.Run(agent.name, "t2", kwargs, nullptr, &written).kind ==
            TaskOutcome::Kind::kSucceeded);
    CHECK_FALSE(written.has_value());  // the reply above has no "written"
    {
      std::lock_guard lock(agent.mu);
      agent.reply = {{"ok", true}, {"result", nullptr}, {"written", {"app_1"}}};
    }
    REQUIRE(dispatcher.Run(agent.name, "t3", kwargs, nullptr, &written).kind ==
            TaskOutcome::Kind::kSucceeded);
    REQUIRE(written.has_value());
    CHECK(*written == std::vector<std::string>{"app_1"});
    {
      std::lock_guard lock(agent.mu);
      agent.reply = {{"ok", true}, {"written", {1}}};  // malformed: treated as not saying
    }
    REQUIRE(dispatcher.Run(agent.name, "t4", kwargs, nullptr, &written).kind ==
            TaskOutcome::Kind::kSucceeded);
    CHECK_FALSE(written.has_value());
  }
  SUBCASE("an error reply") {
    {
      std::lock_guard lock(agent.mu);
      agent.reply = {{"ok", false}, {"error", {{"type", "NonRecoverableError"}, {"message", "x"}}}};
    }
    CHECK(dispatcher.Run(agent.name, "t2", kwargs, nullptr).kind ==
          TaskOutcome::Kind::kNonRecoverableError);
  }
  dispatcher.Finish(/*keep=*/false);
}

TEST_CASE("AgentDispatcher: one message of batched replies answers each task it names") {
  const std::string url = "inproc://dispatch-" + NewUuid();
  auto manager_bus = messaging::OpenBus(url).value();
  Responder agent(url);
  agent.hold = true;
  AgentDispatcher dispatcher(*manager_bus, "exec-7", milliseconds(2000));
  std::vector<TaskOutcome> outcomes(3);
  std::vector<std::thread> threads;
  for (int i = 0; i < 3; ++i) {
    threads.emplace_back([&, i] {
      outcomes[static_cast<size_t>(i)] = dispatcher.Run(
          agent.name, "t" + std::to_string(i), {{"__cloudify_context", json::object()}}, nullptr);
    });
  }
  std::vector<messaging::Delivery> held;
  for (int waited = 0; waited < 500; ++waited) {
    {
      std::lock_guard lock(agent.mu);
      if (agent.held.size() == 3) {
        held = agent.held;
        break;
      }
    }
    std::this_thread::sleep_for(milliseconds(10));
  }
  REQUIRE(held.size() == 3);
  {
    std::lock_guard lock(agent.mu);
    for (const json& task : agent.tasks) {
      CHECK(task.value(std::string(kReplyBatchesKey), false));  // the manager takes batches
    }
  }
  auto id_of = [&](size_t i) { return held[i].message().correlation_id; };
  // t0 and t1 in one message, with an item for nobody and a malformed one passed over.
  auto reply = [](const std::string& id, const json& body) {
    messaging::Message m;
    m.correlation_id = id;
    m.body = body.dump();
    return m;
  };
  messaging::Message message = CombineReplies(
      {reply(id_of(0), {{"ok", true}}), reply("nobody-waits", {{"ok", true}}),
       reply(id_of(1), {{"ok", false}, {"error", {{"type", "NonRecoverableError"}}}})});
  CHECK(message.correlation_id.empty());
  json parsed = json::parse(message.body);
  REQUIRE(parsed.is_array());
  CHECK(parsed[0]["id"] == id_of(0));
  CHECK(parsed[2]["reply"]["ok"] == false);
  parsed.push_back({{"reply", {{"ok", true}}}});  // no id
  message.body = parsed.dump();
  REQUIRE(agent.bus->Publish(agent.name, held[0].message().reply_to, message).ok());
  // t2 alone, as the original.
  messaging::Message alone;
  alone.body = json{{"ok", true}}.dump();
  REQUIRE(agent.bus->Reply(held[2], alone, agent.name).ok());
  for (auto& t : threads) {
    t.join();
  }
  std::map<std::string, TaskOutcome::Kind> by_id;
  for (size_t i = 0; i < 3; ++i) {
    by_id[id_of(i)] = TaskOutcome::Kind::kSucceeded;
  }
  by_id[id_of(1)] = TaskOutcome::Kind::kNonRecoverableError;
  for (size_t i = 0; i < 3; ++i) {
    CHECK(outcomes[i].kind == by_id["t" + std::to_string(i)]);
  }
  for (auto& d : held) {
    (void)d.Ack();
  }
  dispatcher.Finish(/*keep=*/false);
}

// An in-process bus whose publish confirms are held while hold() is set, as a broker's that
// are on their way.
class HeldConfirmsBus final : public messaging::Bus {
 public:
  explicit HeldConfirmsBus(std::unique_ptr<messaging::Bus> inner) : inner_(std::move(inner)) {}

  void Hold(bool hold) {
    std::vector<std::function<void()>> release;
    {
      std::lock_guard lock(mu_);
      hold_ = hold;
      release.swap(held_);
    }
    for (auto& confirm : release) {
      confirm();
    }
  }

  Status Declare(const messaging::Topology& topology) override { return inner_->Declare(topology); }
  Status DeleteQueue(std::string_view queue, bool if_empty) override {
    return inner_->DeleteQueue(queue, if_empty);
  }
  void PublishAsync(std::string_view exchange, std::string_view routing_key,
                    messaging::Message message, messaging::PublishCallback done) override {
    inner_->PublishAsync(exchange, routing_key, std::move(message),
                         [this, done = std::move(done)](Status sent) {
                           std::function<void()> confirm = [done, sent] {
                             if (done) {
                               done(sent);
                             }
                           };
                           {
                             std::lock_guard lock(mu_);
                             if (hold_) {
                               held_.push_back(std::move(confirm));
                               return;
                             }
                           }
                           confirm();
                         });
  }
  Status WaitForConfirms(milliseconds timeout) override { return inner_->WaitForConfirms(timeout); }
  Result<std::unique_ptr<messaging::Subscription>> Consume(
      std::string_view queue, messaging::ConsumeOptions options,
      messaging::DeliveryHandler handler) override {
    return inner_->Consume(queue, options, std::move(handler));
  }
  Result<messaging::Message> Request(std::string_view exchange, std::string_view routing_key,
                                     messaging::Message request, milliseconds timeout) override {
    return inner_->Request(exchange, routing_key, std::move(request), timeout);
  }
  messaging::BusStats Stats() const override { return inner_->Stats(); }

 private:
  std::unique_ptr<messaging::Bus> inner_;
  std::mutex mu_;
  bool hold_ = false;
  std::vector<std::function<void()>> held_;
};

TEST_CASE(
    "AgentDispatcher: tasks sent while one is unconfirmed go in one batch, if the agent takes "
    "them") {
  const std::string url = "inproc://dispatch-" + NewUuid();
  for (const auto& [takes_batches, answer_whole] :
       {std::pair{true, false}, std::pair{false, false}, std::pair{true, true}}) {
    CAPTURE(takes_batches);
    CAPTURE(answer_whole);
    HeldConfirmsBus manager_bus(messaging::OpenBus(url).value());
    Responder agent(url, /*answer_pings=*/true, takes_batches);
    agent.hold = true;
    AgentDispatcher dispatcher(manager_bus, "exec-8", milliseconds(2000));
    manager_bus.Hold(true);
    std::vector<TaskOutcome> outcomes(3);
    std::vector<std::thread> threads;
    auto run = [&](int i) {
      threads.emplace_back([&, i] {
        outcomes[static_cast<size_t>(i)] = dispatcher.Run(
            agent.name, "t" + std::to_string(i), {{"__cloudify_context", json::object()}}, nullptr);
      });
    };
    auto wait_for = [](const std::function<bool()>& done) {
      for (int i = 0; i < 500 && !done(); ++i) {
        std::this_thread::sleep_for(milliseconds(10));
      }
      return done();
    };
    run(0);
    REQUIRE(wait_for([&] {
      std::lock_guard lock(agent.mu);
      return agent.held.size() == 1;
    }));
    run(1);
    run(2);
    if (takes_batches) {
      // Both wait for t0's confirm, then go as one message.
      REQUIRE(wait_for([&] { return dispatcher.tasks_waiting() == 2; }));
      manager_bus.Hold(false);
    }
    REQUIRE(wait_for([&] {
      std::lock_guard lock(agent.mu);
      return agent.held.size() == (takes_batches ? 2u : 3u);
    }));
    manager_bus.Hold(false);
    std::vector<messaging::Delivery> held;
    {
      std::lock_guard lock(agent.mu);
      held = agent.held;
      CHECK(agent.tasks[0].is_object());
      if (takes_batches) {
        REQUIRE(agent.tasks[1].is_array());
        REQUIRE(agent.tasks[1].size() == 2);
        std::set<std::string> ids = {agent.tasks[1][0]["id"], agent.tasks[1][1]["id"]};
        CHECK(ids == std::set<std::string>{"t1", "t2"});
        CHECK(held[1].message().reply_to == held[0].message().reply_to);
      }
    }
    if (!answer_whole) {  // every task answered alone
      for (size_t m = 0; m < held.size(); ++m) {
        json body = json::parse(held[m].message().body);
        for (const json& task : body.is_array() ? body : json::array({body})) {
          messaging::Message reply;
          reply.body = json{{"ok", true}}.dump();
          reply.correlation_id = task["id"];
          REQUIRE(agent.bus->Publish(agent.name, held[m].message().reply_to, reply).ok());
        }
        (void)held[m].Ack();
      }
      for (auto& t : threads) {
        t.join();
      }
      for (const TaskOutcome& outcome : outcomes) {
        CHECK(outcome.kind == TaskOutcome::Kind::kSucceeded);
      }
    }
    if (answer_whole) {  // the batch answered whole, as an agent that cannot read batches does
      std::vector<std::string> in_batch;
      for (size_t m = 0; m < held.size(); ++m) {
        json body = json::parse(held[m].message().body);
        messaging::Message reply;
        reply.correlation_id = held[m].message().correlation_id;
        if (body.is_array()) {
          CHECK(reply.correlation_id.rfind("batch-", 0) == 0);
          reply.body = json{{"ok", false},
                            {"error",
                             {{"type", "NonRecoverableError"},
                              {"message", "malformed task: not a JSON object"}}}}
                           .dump();
          for (const json& task : body) {
            in_batch.push_back(task["id"]);
          }
        } else {
          reply.body = json{{"ok", true}}.dump();
        }
        REQUIRE(agent.bus->Publish(agent.name, held[m].message().reply_to, reply).ok());
        (void)held[m].Ack();
      }
      for (auto& t : threads) {
        t.join();
      }
      CHECK(in_batch.size() == (takes_batches ? 2u : 0u));
      for (size_t i = 0; i < outcomes.size(); ++i) {
        const std::string id = "t" + std::to_string(i);
        if (std::find(in_batch.begin(), in_batch.end(), id) == in_batch.end()) {
          CHECK(outcomes[i].kind == TaskOutcome::Kind::kSucceeded);
        } else {
          // Recoverable: the retry goes alone.
          CHECK(outcomes[i].kind == TaskOutcome::Kind::kRecoverableError);
          CHECK(outcomes[i].error ==
                "the agent could not read a batch of tasks: malformed task: not a JSON object");
        }
      }
    }
    dispatcher.Finish(/*keep=*/false);
  }
}

TEST_CASE("AgentDispatcher: concurrent tasks each get their own reply, a refused send ends one") {
  const std::string url = "inproc://dispatch-" + NewUuid();
  messaging::BusOptions options;
  options.max_message_bytes = 4096;
  auto manager_bus = messaging::OpenBus(url, options).value();
  Responder agent(url);
  AgentDispatcher dispatcher(*manager_bus, "exec-6", milliseconds(2000));
  {
    std::lock_guard lock(agent.mu);
    agent.reply = {{"ok", false}, {"error", {{"type", "NonRecoverableError"}, {"message", "x"}}}};
  }
  std::vector<std::thread> threads;
  std::atomic<int> answered{0};
  for (int t = 0; t < 8; ++t) {
    threads.emplace_back([&, t] {
      for (int i = 0; i < 10; ++i) {
        const std::string id = "t" + std::to_string(t) + "-" + std::to_string(i);
        TaskOutcome outcome = dispatcher.Run(agent.name, id, json{{"n", i}}, nullptr);
        if (outcome.kind == TaskOutcome::Kind::kNonRecoverableError && outcome.error == "x") {
          ++answered;
        }
      }
    });
  }
  for (std::thread& thread : threads) {
    thread.join();
  }
  CHECK(answered.load() == 80);
  // The broker refuses a task over the size limit: the wait ends with the reason, not never.
  TaskOutcome refused =
      dispatcher.Run(agent.name, "big", json{{"blob", std::string(8192, 'x')}}, nullptr);
  CHECK(refused.kind == TaskOutcome::Kind::kRecoverableError);
  CHECK_MESSAGE(refused.error.find("sending to agent " + agent.name) == 0, refused.error);
  dispatcher.Finish(/*keep=*/false);
}

TEST_CASE("AgentDispatcher: no ping answer is the recoverable 'Timed out waiting for agent'") {
  const std::string url = "inproc://dispatch-" + NewUuid();
  auto manager_bus = messaging::OpenBus(url).value();
  Responder silent(url, /*answer_pings=*/false);
  AgentDispatcher dispatcher(*manager_bus, "exec-2", milliseconds(100));
  TaskOutcome t = dispatcher.Run(silent.name, "t1", json::object(), nullptr);
  CHECK(t.kind == TaskOutcome::Kind::kRecoverableError);
  CHECK(t.error == "Timed out waiting for agent " + silent.name);
  CHECK(silent.tasks.empty());  // nothing was sent
}

TEST_CASE("AgentDispatcher: a force-cancel stops waiting for the reply") {
  const std::string url = "inproc://dispatch-" + NewUuid();
  auto manager_bus = messaging::OpenBus(url).value();
  Responder agent(url);
  agent.operations.reset();  // takes the task and never answers
  std::atomic<bool> cancel{true};
  AgentDispatcher dispatcher(*manager_bus, "exec-3", milliseconds(2000));
  TaskOutcome t = dispatcher.Run(agent.name, "t1", json::object(), &cancel);
  CHECK(t.kind == TaskOutcome::Kind::kNonRecoverableError);
  dispatcher.Finish(/*keep=*/true);
}

TEST_CASE("AgentDispatcher: an agent heard from within the ping interval is not pinged again") {
  const std::string url = "inproc://dispatch-" + NewUuid();
  auto manager_bus = messaging::OpenBus(url).value();
  Responder agent(url);
  {
    // Zero: a ping before every task, as the original.
    AgentDispatcher every(*manager_bus, "exec-4", milliseconds(2000), milliseconds(0));
    for (const char* id : {"t1", "t2", "t3"}) {
      CHECK(every.Run(agent.name, id, json::object(), nullptr).kind ==
            TaskOutcome::Kind::kSucceeded);
    }
    CHECK(agent.pings.load() == 3);
    every.Finish(/*keep=*/false);
  }
  agent.pings = 0;
  {
    AgentDispatcher recent(*manager_bus, "exec-5", milliseconds(2000), milliseconds(300));
    for (const char* id : {"t1", "t2", "t3"}) {
      CHECK(recent.Run(agent.name, id, json::object(), nullptr).kind ==
            TaskOutcome::Kind::kSucceeded);
    }
    CHECK(agent.pings.load() == 1);  // the first task's ping; each reply vouches for the next
    // Silent for longer than the interval: pinged again, and a dead agent is found out.
    std::this_thread::sleep_for(milliseconds(400));
    agent.service.reset();
    TaskOutcome t = recent.Run(agent.name, "t4", json::object(), nullptr);
    CHECK(t.kind == TaskOutcome::Kind::kRecoverableError);
    CHECK(t.error == "Timed out waiting for agent " + agent.name);
    recent.Finish(/*keep=*/false);
  }
}

}  // namespace
}  // namespace cloudify::workflow
