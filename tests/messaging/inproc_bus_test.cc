// What only the in-process broker does: named brokers shared in a process, topic matching,
// exclusive queues dying with their bus.
#include "messaging/inproc/inproc_bus.h"

#include <doctest/doctest.h>

#include "messaging/bus_test_support.h"

namespace cloudify::messaging::inproc {
namespace {

using testing::Body;
using testing::Collector;
using testing::UniqueName;

TEST_CASE("InprocBus: topic patterns match words") {
  CHECK(TopicMatches("events.#", "events"));
  CHECK(TopicMatches("events.#", "events.hooks"));
  CHECK(TopicMatches("events.#", "events.a.b"));
  CHECK_FALSE(TopicMatches("events.#", "logs.a"));
  CHECK(TopicMatches("events.hooks", "events.hooks"));
  CHECK_FALSE(TopicMatches("events.hooks", "events"));
  CHECK(TopicMatches("*.hooks", "events.hooks"));
  CHECK_FALSE(TopicMatches("*.hooks", "hooks"));
  CHECK(TopicMatches("#", ""));
  CHECK(TopicMatches("#", "a.b.c"));
  CHECK(TopicMatches("a.#.c", "a.c"));
  CHECK(TopicMatches("a.#.c", "a.x.y.c"));
  CHECK_FALSE(TopicMatches("a.*.c", "a.c"));
}

TEST_CASE("InprocBus: buses opened on one name share a broker, unnamed ones do not") {
  const std::string name = UniqueName("broker");
  auto manager = OpenBus("inproc://" + name, {});
  auto worker = OpenBus("inproc://" + name, {});
  auto stranger = OpenBus("inproc://", {});
  REQUIRE(manager.ok());
  REQUIRE(worker.ok());
  REQUIRE(stranger.ok());
  Topology topology;
  topology.queues = {{.name = "tasks"}};
  REQUIRE((*manager)->Declare(topology).ok());
  Collector collector;
  auto subscription = (*worker)->Consume("tasks", {}, collector.Handler());
  REQUIRE(subscription.ok());
  REQUIRE((*manager)->Publish("", "tasks", Body("hello")).ok());
  REQUIRE(collector.WaitFor(1));
  CHECK(collector.Deliveries()[0].message().body == "hello");
  CHECK((*stranger)->Consume("tasks", {}, [](Delivery) {}).status().code() == ErrorCode::kNotFound);
}

TEST_CASE("InprocBus: an exclusive queue belongs to its bus and goes with it") {
  const std::string name = UniqueName("broker");
  auto owner = OpenBus("inproc://" + name, {});
  auto other = OpenBus("inproc://" + name, {});
  REQUIRE(owner.ok());
  REQUIRE(other.ok());
  Topology topology;
  topology.queues = {{.name = "private", .durable = false, .exclusive = true}};
  REQUIRE((*owner)->Declare(topology).ok());
  CHECK((*other)->Declare(topology).code() == ErrorCode::kConflict);
  CHECK((*other)->Consume("private", {}, [](Delivery) {}).status().code() == ErrorCode::kConflict);
  owner->reset();
  CHECK((*other)->Declare(topology).ok());  // gone with its owner: free to declare again
}

TEST_CASE("InprocBus: an auto-delete queue goes with its last consumer") {
  auto bus = OpenBus("inproc://", {});
  REQUIRE(bus.ok());
  Topology topology;
  topology.queues = {{.name = "temp", .durable = false, .auto_delete = true}};
  REQUIRE((*bus)->Declare(topology).ok());
  {
    auto subscription = (*bus)->Consume("temp", {}, [](Delivery) {});
    REQUIRE(subscription.ok());
  }
  CHECK((*bus)->Consume("temp", {}, [](Delivery) {}).status().code() == ErrorCode::kNotFound);
}

TEST_CASE("InprocBus: handlers on the bus thread run inside Publish") {
  auto bus = OpenBus("inproc://", {});
  REQUIRE(bus.ok());
  Topology topology;
  topology.queues = {{.name = "inline"}};
  REQUIRE((*bus)->Declare(topology).ok());
  int handled = 0;
  auto subscription = (*bus)->Consume("inline", {.auto_ack = true, .dispatch_on_bus_thread = true},
                                      [&](Delivery) { ++handled; });
  REQUIRE(subscription.ok());
  REQUIRE((*bus)->Publish("", "inline", Body("x")).ok());
  CHECK(handled == 1);  // no waiting: it ran before Publish returned
}

}  // namespace
}  // namespace cloudify::messaging::inproc
