// The Bus contract: one suite, run against inproc:// and the real RabbitMQ
// (CLOUDIFY_TEST_AMQP_URL). Every case uses its own queues and exchanges.
#include "cloudify/messaging/bus.h"

#include <atomic>
#include <chrono>
#include <set>
#include <string>
#include <thread>
#include <vector>

#include <doctest/doctest.h>

#include "cloudify/messaging/topology.h"

#include "messaging/bus_test_support.h"

namespace cloudify::messaging::testing {
namespace {

using namespace std::chrono_literals;

#define CONTRACT_BACKENDS Inproc, Amqp

#define SKIP_UNLESS_AVAILABLE()   \
  do {                            \
    if (!TestType::Available()) { \
      return;                     \
    }                             \
  } while (false)

TEST_CASE_TEMPLATE("Bus: publish to a queue and consume it with its properties", TestType,
                   CONTRACT_BACKENDS) {
  SKIP_UNLESS_AVAILABLE();
  auto bus = OpenTestBus<TestType>();
  ScopedQueues queues(*bus);
  const std::string queue = queues.Add("tasks", /*durable=*/true);

  Message message = Body(R"({"id": "task-1"})");
  message.correlation_id = "task-1";
  message.reply_to = "execution_responses_e1";
  message.content_type = "application/json";
  REQUIRE(bus->Publish("", queue, message).ok());

  Collector collector;
  auto subscription = bus->Consume(queue, {}, collector.Handler());
  REQUIRE_MESSAGE(subscription.ok(), subscription.status().ToString());
  REQUIRE(collector.WaitFor(1));
  const Delivery delivery = collector.Deliveries().at(0);
  CHECK(delivery.message().body == R"({"id": "task-1"})");
  CHECK(delivery.message().correlation_id == "task-1");
  CHECK(delivery.message().reply_to == "execution_responses_e1");
  CHECK(delivery.message().content_type == "application/json");
  CHECK(delivery.message().persistent);
  CHECK(delivery.exchange().empty());
  CHECK(delivery.routing_key() == queue);
  CHECK_FALSE(delivery.redelivered());
  CHECK(collector.AckFailures().empty());
  // An acked delivery is settled once.
  CHECK(delivery.Ack().code() != ErrorCode::kOk);
}

TEST_CASE_TEMPLATE("Bus: exchanges route by type and routing key", TestType, CONTRACT_BACKENDS) {
  SKIP_UNLESS_AVAILABLE();
  auto bus = OpenTestBus<TestType>();
  ScopedQueues queues(*bus);
  const std::string direct = UniqueName("direct");
  const std::string fanout = UniqueName("fanout");
  const std::string topic = UniqueName("topic");
  const std::string q_operation = queues.Add("operation");
  const std::string q_all = queues.Add("all");
  const std::string q_events = queues.Add("events");
  Topology topology;
  topology.exchanges = {{.name = direct, .type = ExchangeType::kDirect, .auto_delete = true},
                        {.name = fanout, .type = ExchangeType::kFanout, .auto_delete = true},
                        {.name = topic, .type = ExchangeType::kTopic, .auto_delete = true}};
  topology.bindings = {
      {q_operation, direct, "operation"}, {q_all, fanout, ""}, {q_events, topic, "events.#"}};
  REQUIRE(bus->Declare(topology).ok());
  // Declaring again is idempotent.
  REQUIRE(bus->Declare(topology).ok());

  REQUIRE(bus->Publish(direct, "operation", Body("op")).ok());
  REQUIRE(bus->Publish(direct, "service", Body("unroutable")).ok());  // dropped, as in AMQP
  REQUIRE(bus->Publish(fanout, "anything", Body("fan")).ok());
  REQUIRE(bus->Publish(topic, "events.hooks", Body("hook")).ok());
  REQUIRE(bus->Publish(topic, "events", Body("event")).ok());
  REQUIRE(bus->Publish(topic, "logs.x", Body("not-an-event")).ok());

  Collector operations;
  Collector all;
  Collector events;
  auto s1 = bus->Consume(q_operation, {}, operations.Handler());
  auto s2 = bus->Consume(q_all, {}, all.Handler());
  auto s3 = bus->Consume(q_events, {}, events.Handler());
  REQUIRE(s1.ok());
  REQUIRE(s2.ok());
  REQUIRE(s3.ok());
  REQUIRE(operations.WaitFor(1));
  REQUIRE(all.WaitFor(1));
  REQUIRE(events.WaitFor(2));
  // Nothing more arrives.
  CHECK_FALSE(events.WaitFor(3, 200ms));
  CHECK(operations.Count() == 1);
  CHECK(all.Count() == 1);
  CHECK(operations.Deliveries()[0].message().body == "op");
  CHECK(operations.Deliveries()[0].exchange() == direct);
  CHECK(all.Deliveries()[0].message().body == "fan");
  CHECK(all.Deliveries()[0].routing_key() == "anything");
  std::set<std::string> event_bodies;
  for (const Delivery& d : events.Deliveries()) {
    event_bodies.insert(d.message().body);
  }
  CHECK(event_bodies == std::set<std::string>{"hook", "event"});
}

TEST_CASE_TEMPLATE("Bus: missing exchanges and queues are not found", TestType, CONTRACT_BACKENDS) {
  SKIP_UNLESS_AVAILABLE();
  auto bus = OpenTestBus<TestType>();
  const std::string missing = UniqueName("missing");
  Status published = bus->Publish(missing, "key", Body("x"));
  CHECK(published.code() == ErrorCode::kNotFound);
  CHECK(published.message().find(missing) != std::string::npos);

  auto subscription = bus->Consume(missing, {}, [](Delivery) {});
  CHECK(subscription.status().code() == ErrorCode::kNotFound);

  Topology binding;
  binding.bindings = {{missing, missing, "key"}};
  CHECK(bus->Declare(binding).code() == ErrorCode::kNotFound);

  // The bus still works afterwards.
  ScopedQueues queues(*bus);
  const std::string queue = queues.Add("after");
  CHECK(bus->Publish("", queue, Body("ok")).ok());
  CHECK(bus->DeleteQueue(missing, false).ok());
}

TEST_CASE_TEMPLATE("Bus: a contradicting declaration is a conflict", TestType, CONTRACT_BACKENDS) {
  SKIP_UNLESS_AVAILABLE();
  auto bus = OpenTestBus<TestType>();
  const std::string exchange = UniqueName("exchange");
  Topology first;
  first.exchanges = {{.name = exchange, .type = ExchangeType::kDirect, .auto_delete = true}};
  REQUIRE(bus->Declare(first).ok());
  Topology second;
  second.exchanges = {{.name = exchange, .type = ExchangeType::kFanout, .auto_delete = true}};
  Status conflict = bus->Declare(second);
  CHECK(conflict.code() == ErrorCode::kConflict);
  CHECK(conflict.message().find(exchange) != std::string::npos);

  Topology empty_name;
  empty_name.queues = {{.name = ""}};
  CHECK(bus->Declare(empty_name).code() == ErrorCode::kBadParameters);
  // Still usable.
  ScopedQueues queues(*bus);
  CHECK(bus->Publish("", queues.Add("after"), Body("ok")).ok());
}

TEST_CASE_TEMPLATE("Bus: nack requeues or drops", TestType, CONTRACT_BACKENDS) {
  SKIP_UNLESS_AVAILABLE();
  auto bus = OpenTestBus<TestType>();
  ScopedQueues queues(*bus);
  const std::string queue = queues.Add("nack");
  REQUIRE(bus->Publish("", queue, Body("first")).ok());

  Collector held(Collector::Mode::kHold);
  auto subscription = bus->Consume(queue, {.prefetch = 10}, held.Handler());
  REQUIRE(subscription.ok());
  REQUIRE(held.WaitFor(1));
  CHECK_FALSE(held.Deliveries()[0].redelivered());
  REQUIRE(held.Deliveries()[0].Nack(/*requeue=*/true).ok());
  REQUIRE(held.WaitFor(2));
  const Delivery again = held.Deliveries()[1];
  CHECK(again.message().body == "first");
  CHECK(again.redelivered());
  REQUIRE(again.Nack(/*requeue=*/false).ok());
  CHECK(again.Ack().code() != ErrorCode::kOk);

  // Dropped: the next delivery is the next message, not "first" again.
  REQUIRE(bus->Publish("", queue, Body("second")).ok());
  REQUIRE(held.WaitFor(3));
  CHECK(held.Deliveries()[2].message().body == "second");
  CHECK(held.Deliveries()[2].Ack().ok());
}

TEST_CASE_TEMPLATE("Bus: prefetch limits unacked deliveries", TestType, CONTRACT_BACKENDS) {
  SKIP_UNLESS_AVAILABLE();
  auto bus = OpenTestBus<TestType>();
  ScopedQueues queues(*bus);
  const std::string queue = queues.Add("prefetch");
  for (int i = 0; i < 5; ++i) {
    bus->PublishAsync("", queue, Body(std::to_string(i)), nullptr);
  }
  REQUIRE(bus->WaitForConfirms(10s).ok());

  Collector held(Collector::Mode::kHold);
  auto subscription = bus->Consume(queue, {.prefetch = 2}, held.Handler());
  REQUIRE(subscription.ok());
  REQUIRE(held.WaitFor(2));
  CHECK_FALSE(held.WaitFor(3, 300ms));
  REQUIRE(held.Deliveries()[0].Ack().ok());
  REQUIRE(held.WaitFor(3));
  CHECK_FALSE(held.WaitFor(4, 200ms));
  for (const Delivery& d : held.Deliveries()) {
    (void)d.Ack();
  }
  REQUIRE(held.WaitFor(5));
  std::vector<std::string> bodies;
  for (const Delivery& d : held.Deliveries()) {
    bodies.push_back(d.message().body);
  }
  // One consumer sees the queue's order.
  CHECK(bodies == std::vector<std::string>{"0", "1", "2", "3", "4"});
}

TEST_CASE_TEMPLATE("Bus: unacked deliveries are redelivered when their consumer goes", TestType,
                   CONTRACT_BACKENDS) {
  SKIP_UNLESS_AVAILABLE();
  auto bus = OpenTestBus<TestType>();
  ScopedQueues queues(*bus);
  const std::string queue = queues.Add("redeliver");
  for (int i = 0; i < 3; ++i) {
    REQUIRE(bus->Publish("", queue, Body(Numbered("m", i))).ok());
  }
  Collector held(Collector::Mode::kHold);
  auto first = bus->Consume(queue, {.prefetch = 10}, held.Handler());
  REQUIRE(first.ok());
  REQUIRE(held.WaitFor(3));
  REQUIRE(held.Deliveries()[0].Ack().ok());  // only m0 is done
  first->reset();                            // the consumer goes away with m1, m2 unacked
  CHECK(held.Deliveries()[1].Ack().code() != ErrorCode::kOk);

  Collector second;
  auto next = bus->Consume(queue, {}, second.Handler());
  REQUIRE(next.ok());
  REQUIRE(second.WaitFor(2));
  CHECK_FALSE(second.WaitFor(3, 200ms));
  std::set<std::string> bodies;
  for (const Delivery& d : second.Deliveries()) {
    bodies.insert(d.message().body);
    CHECK(d.redelivered());
  }
  CHECK(bodies == std::set<std::string>{"m1", "m2"});
}

TEST_CASE_TEMPLATE("Bus: competing consumers share a queue", TestType, CONTRACT_BACKENDS) {
  SKIP_UNLESS_AVAILABLE();
  auto bus = OpenTestBus<TestType>();
  ScopedQueues queues(*bus);
  const std::string queue = queues.Add("shared");
  Collector a;
  Collector b;
  auto sa = bus->Consume(queue, {.prefetch = 1}, a.Handler());
  auto sb = bus->Consume(queue, {.prefetch = 1}, b.Handler());
  REQUIRE(sa.ok());
  REQUIRE(sb.ok());
  constexpr int kCount = 200;
  for (int i = 0; i < kCount; ++i) {
    bus->PublishAsync("", queue, Body(std::to_string(i)), nullptr);
  }
  REQUIRE(bus->WaitForConfirms(10s).ok());
  std::set<std::string> seen;
  const auto deadline = std::chrono::steady_clock::now() + 10s;
  while (a.Count() + b.Count() < kCount && std::chrono::steady_clock::now() < deadline) {
    a.WaitFor(a.Count() + 1, 10ms);
  }
  for (const Delivery& d : a.Deliveries()) {
    seen.insert(d.message().body);
  }
  for (const Delivery& d : b.Deliveries()) {
    seen.insert(d.message().body);
  }
  CHECK(seen.size() == kCount);
  CHECK(a.Count() + b.Count() == kCount);  // each message went to one consumer
}

TEST_CASE_TEMPLATE("Bus: many pipelined publishes are all confirmed and consumed", TestType,
                   CONTRACT_BACKENDS) {
  SKIP_UNLESS_AVAILABLE();
  auto bus = OpenTestBus<TestType>();
  ScopedQueues queues(*bus);
  const std::string queue = queues.Add("pipelined", /*durable=*/true);
  constexpr int kCount = 2000;
  std::atomic<int> confirmed{0};
  std::atomic<int> failed{0};
  for (int i = 0; i < kCount; ++i) {
    bus->PublishAsync("", queue, Body(std::string(1024, 'x')),
                      [&](Status status) { (status.ok() ? confirmed : failed).fetch_add(1); });
  }
  REQUIRE(bus->WaitForConfirms(30s).ok());
  CHECK(confirmed.load() == kCount);
  CHECK(failed.load() == 0);
  CHECK(bus->Stats().published >= static_cast<uint64_t>(kCount));
  Collector collector;
  auto subscription = bus->Consume(queue, {.prefetch = 500}, collector.Handler());
  REQUIRE(subscription.ok());
  REQUIRE(collector.WaitFor(kCount, 30s));
  CHECK(collector.AckFailures().empty());
}

TEST_CASE_TEMPLATE("Bus: request and reply match by correlation id", TestType, CONTRACT_BACKENDS) {
  SKIP_UNLESS_AVAILABLE();
  auto server_bus = OpenTestBus<TestType>();
  ScopedQueues queues(*server_bus);
  const std::string agent = UniqueName("agent");
  Topology topology = AgentTopology(agent);
  for (ExchangeSpec& exchange : topology.exchanges) {
    exchange.auto_delete = true;  // leave nothing behind on the shared broker
  }
  for (QueueSpec& queue : topology.queues) {
    queue.durable = false;
    queues.Track(queue.name);
  }
  REQUIRE(server_bus->Declare(topology).ok());
  Bus* responder_bus = server_bus.get();
  // The concurrent requests below are answered without waiting, and acked once the answer is
  // confirmed (on the bus's thread), as the agent answers tasks.
  auto responder = server_bus->Consume(agent + "_service", {}, [responder_bus](Delivery request) {
    Message reply = Body(R"({"ok": true, "result": ")" + request.message().body + R"("})");
    if (request.message().body.find('-') != std::string::npos) {
      responder_bus->ReplyAsync(request, reply, "", [request](Status sent) {
        (void)(sent.ok() ? request.Ack() : request.Nack(/*requeue=*/true));
      });
      return;
    }
    (void)responder_bus->Reply(request, reply);
    (void)request.Ack();
  });
  REQUIRE(responder.ok());

  // In the same bus or another one: the inproc case shares a named broker via the URL.
  Message ping = Body("ping");
  ping.correlation_id = "corr-1";
  auto reply = server_bus->Request(agent, "service", ping, 10s);
  REQUIRE_MESSAGE(reply.ok(), reply.status().ToString());
  CHECK(reply->correlation_id == "corr-1");
  CHECK(reply->body == R"({"ok": true, "result": "ping"})");

  // Many concurrent requests each get their own reply.
  std::vector<std::thread> threads;
  std::atomic<int> matched{0};
  for (int t = 0; t < 4; ++t) {
    threads.emplace_back([&, t] {
      for (int i = 0; i < 10; ++i) {
        const std::string body = std::to_string(t) + "-" + std::to_string(i);
        auto r = server_bus->Request(agent, "service", Body(body), 10s);
        if (r.ok() && r->body == R"({"ok": true, "result": ")" + body + R"("})") {
          matched.fetch_add(1);
        }
      }
    });
  }
  for (std::thread& thread : threads) {
    thread.join();
  }
  CHECK(matched.load() == 40);

  // Nobody consumes the operation queue: the request times out with a clear error.
  auto timed_out = server_bus->Request(agent, "operation", Body("ping"), 200ms);
  CHECK(timed_out.status().code() == ErrorCode::kUnavailable);
  CHECK(timed_out.status().message().find("timed out") != std::string::npos);

  // A reply needs a reply_to.
  CHECK(server_bus->Reply(Delivery(), Body("x")).code() == ErrorCode::kBadParameters);
  Status async_outcome;
  server_bus->ReplyAsync(Delivery(), Body("x"), "", [&](Status s) { async_outcome = s; });
  CHECK(async_outcome.code() == ErrorCode::kBadParameters);
}

TEST_CASE_TEMPLATE("Bus: oversized messages are rejected", TestType, CONTRACT_BACKENDS) {
  SKIP_UNLESS_AVAILABLE();
  BusOptions options = TestOptions();
  options.max_message_bytes = 1024;
  auto bus = OpenTestBus<TestType>(options);
  ScopedQueues queues(*bus);
  const std::string queue = queues.Add("big");
  Status too_big = bus->Publish("", queue, Body(std::string(1025, 'x')));
  CHECK(too_big.code() == ErrorCode::kPayloadTooLarge);
  CHECK(too_big.message().find("1025") != std::string::npos);
  CHECK(too_big.message().find("1024") != std::string::npos);
  CHECK(bus->Publish("", queue, Body(std::string(1024, 'x'))).ok());
  CHECK(bus->Stats().publish_failures == 1);
}

TEST_CASE_TEMPLATE("Bus: delete a queue, only when empty if asked", TestType, CONTRACT_BACKENDS) {
  SKIP_UNLESS_AVAILABLE();
  auto bus = OpenTestBus<TestType>();
  ScopedQueues queues(*bus);
  const std::string queue = queues.Add("delete");
  REQUIRE(bus->Publish("", queue, Body("x")).ok());
  CHECK(bus->DeleteQueue(queue, /*if_empty=*/true).code() == ErrorCode::kConflict);
  CHECK(bus->DeleteQueue(queue, /*if_empty=*/false).ok());
  CHECK(bus->Consume(queue, {}, [](Delivery) {}).status().code() == ErrorCode::kNotFound);
}

TEST_CASE_TEMPLATE("Bus: the manager topology is declared on connect", TestType,
                   CONTRACT_BACKENDS) {
  SKIP_UNLESS_AVAILABLE();
  BusOptions options = TestOptions();
  const std::string manager = UniqueName("manager");
  options.topology = ManagementTopology(manager);
  auto bus = OpenTestBus<TestType>(options);
  ScopedQueues queues(*bus);
  queues.Track(std::string(kMgmtworkerServiceExchange) + "-" + manager);

  // The per-manager service queue gets the fanout.
  const std::string marker = UniqueName("marker");
  REQUIRE(bus->Publish(std::string(kMgmtworkerServiceExchange), "", Body(marker)).ok());
  Collector service;
  auto s =
      bus->Consume(std::string(kMgmtworkerServiceExchange) + "-" + manager, {}, service.Handler());
  REQUIRE(s.ok());
  REQUIRE(service.WaitFor(1));
  CHECK(service.Deliveries()[0].message().body == marker);

  // Every exchange of the original exists (publishing to a missing one is kNotFound). Routing
  // keys that match no binding: nothing lands in queues other suites on the broker may read
  // (the logs fanout would, so it is left out; connecting declared it).
  for (std::string_view exchange : {kManagementExchange, kEventsExchange, kMonitoringExchange}) {
    CHECK_MESSAGE(bus->Publish(exchange, UniqueName("nobody"), Body("x")).ok(), exchange);
  }

  // An execution's durable reply queue, bound to the exchanges the workflow sends to: a reply
  // published to the agent's exchange with the queue's name as routing key lands in it.
  const std::string agent = UniqueName("agent");
  Topology agent_topology = AgentTopology(agent);
  agent_topology.exchanges[0].auto_delete = true;
  for (const QueueSpec& q : agent_topology.queues) {
    queues.Track(q.name);
  }
  REQUIRE(bus->Declare(agent_topology).ok());
  const std::string execution = UniqueName("exec");
  Topology replies = ExecutionReplyTopology(execution, {agent});
  REQUIRE(replies.queues.size() == 1);
  CHECK(replies.queues[0].name == "execution_responses_" + execution);
  CHECK(replies.queues[0].durable);
  queues.Track(replies.queues[0].name);
  REQUIRE(bus->Declare(replies).ok());
  Message reply = Body(R"({"ok": true, "result": null})");
  reply.correlation_id = "task-7";
  REQUIRE(bus->Publish(agent, ExecutionReplyQueue(execution), reply).ok());
  Collector collected;
  auto r = bus->Consume(ExecutionReplyQueue(execution), {}, collected.Handler());
  REQUIRE(r.ok());
  REQUIRE(collected.WaitFor(1));
  CHECK(collected.Deliveries()[0].message().correlation_id == "task-7");
}

TEST_CASE_TEMPLATE("Bus: an exclusive consumer keeps others out", TestType, CONTRACT_BACKENDS) {
  SKIP_UNLESS_AVAILABLE();
  auto bus = OpenTestBus<TestType>();
  ScopedQueues queues(*bus);
  const std::string queue = queues.Add("exclusive");
  Collector first;
  auto owner = bus->Consume(queue, {.exclusive = true}, first.Handler());
  REQUIRE(owner.ok());
  auto other = bus->Consume(queue, {}, [](Delivery) {});
  CHECK(other.status().code() == ErrorCode::kConflict);
  // The exclusive consumer still works.
  REQUIRE(bus->Publish("", queue, Body("x")).ok());
  REQUIRE(first.WaitFor(1));
}

TEST_CASE_TEMPLATE("Bus: a single-active-consumer queue delivers to one consumer at a time",
                   TestType, CONTRACT_BACKENDS) {
  SKIP_UNLESS_AVAILABLE();
  auto bus = OpenTestBus<TestType>();
  ScopedQueues queues(*bus);
  const std::string queue = UniqueName("single");
  Topology topology;
  topology.queues.push_back({.name = queue, .durable = false, .single_active_consumer = true});
  REQUIRE(bus->Declare(topology).ok());
  queues.Track(queue);
  // Declaring it again without the flag contradicts it.
  topology.queues[0].single_active_consumer = false;
  CHECK(bus->Declare(topology).code() == ErrorCode::kConflict);

  Collector first;
  Collector second;
  auto active = bus->Consume(queue, {}, first.Handler());
  REQUIRE(active.ok());
  auto standby = bus->Consume(queue, {}, second.Handler());
  REQUIRE(standby.ok());
  for (int i = 0; i < 10; ++i) {
    REQUIRE(bus->Publish("", queue, Body(Numbered("m", i))).ok());
  }
  REQUIRE(first.WaitFor(10));
  CHECK_FALSE(second.WaitFor(1, 200ms));
  // The standby takes over when the active consumer goes, in publish order.
  active->reset();
  for (int i = 10; i < 15; ++i) {
    REQUIRE(bus->Publish("", queue, Body(Numbered("m", i))).ok());
  }
  REQUIRE(second.WaitFor(5));
  const std::vector<Delivery> taken = second.Deliveries();
  for (size_t i = 0; i < taken.size(); ++i) {
    CHECK(taken[i].message().body == Numbered("m", static_cast<int>(i) + 10));
  }
}

TEST_CASE_TEMPLATE("Bus: auto-ack consumers need no settlement", TestType, CONTRACT_BACKENDS) {
  SKIP_UNLESS_AVAILABLE();
  auto bus = OpenTestBus<TestType>();
  ScopedQueues queues(*bus);
  const std::string queue = queues.Add("autoack");
  Collector collector(Collector::Mode::kHold);
  auto subscription = bus->Consume(queue, {.auto_ack = true}, collector.Handler());
  REQUIRE(subscription.ok());
  REQUIRE(bus->Publish("", queue, Body("x")).ok());
  REQUIRE(collector.WaitFor(1));
  CHECK(collector.Deliveries()[0].Ack().code() == ErrorCode::kIllegalAction);
  subscription->reset();
  // Nothing comes back: it was acked on delivery.
  Collector after;
  auto again = bus->Consume(queue, {}, after.Handler());
  REQUIRE(again.ok());
  CHECK_FALSE(after.WaitFor(1, 200ms));
}

}  // namespace
}  // namespace cloudify::messaging::testing
