// What only the in-process broker does: named brokers shared in a process, topic matching,
// exclusive queues dying with their bus, and its batched hand-over to consumers.
#include "messaging/inproc/inproc_bus.h"

#include <atomic>
#include <condition_variable>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include <doctest/doctest.h>

#include "messaging/bus_test_support.h"

namespace cloudify::messaging::inproc {
namespace {

using testing::Body;
using testing::Collector;
using testing::Numbered;
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

TEST_CASE("InprocBus: a consumer stopped in the middle of a batch loses and repeats nothing") {
  auto bus = OpenBus("inproc://", {});
  REQUIRE(bus.ok());
  Topology topology;
  topology.queues = {{.name = "batch"}};
  REQUIRE((*bus)->Declare(topology).ok());
  constexpr int kCount = 200;
  for (int i = 0; i < kCount; ++i) {
    (*bus)->PublishAsync("", "batch", Body(std::to_string(i)), nullptr);
  }
  // Published before consuming: the first batch holds them all. The handler acks the odd ones
  // itself, keeps the even ones unacked, and blocks at 50 until the subscription is going.
  std::mutex mu;
  std::condition_variable cv;
  bool reached = false;
  bool release = false;
  int last_handled = -1;
  std::vector<Delivery> held;
  int ack_failures = 0;
  auto first = (*bus)->Consume("batch", {.prefetch = 0}, [&](Delivery delivery) {
    const int n = std::stoi(delivery.message().body);
    std::unique_lock lock(mu);
    last_handled = n;
    if (n % 2 == 1) {
      ack_failures += delivery.Ack().ok() ? 0 : 1;
    } else {
      held.push_back(delivery);
    }
    if (n == 50) {
      reached = true;
      cv.notify_all();
      cv.wait(lock, [&] { return release; });
    }
  });
  REQUIRE(first.ok());
  {
    std::unique_lock lock(mu);
    REQUIRE(cv.wait_for(lock, std::chrono::seconds(10), [&] { return reached; }));
  }
  std::thread closer([&] { first->reset(); });  // waits for the running handler
  std::this_thread::sleep_for(std::chrono::milliseconds(50));
  {
    std::lock_guard lock(mu);
    release = true;
  }
  cv.notify_all();
  closer.join();
  CHECK(ack_failures == 0);
  REQUIRE_FALSE(held.empty());
  CHECK(held[0].Ack().code() == ErrorCode::kIllegalAction);  // requeued with its subscription

  // Back in the queue, in order: the unacked even ones, then all it did not handle.
  std::vector<std::string> expected;
  for (int i = 0; i < kCount; ++i) {
    if (i % 2 == 0 || i > last_handled) {
      expected.push_back(std::to_string(i));
    }
  }
  Collector second;
  auto next = (*bus)->Consume("batch", {.prefetch = 7}, second.Handler());
  REQUIRE(next.ok());
  REQUIRE(second.WaitFor(expected.size()));
  CHECK_FALSE(second.WaitFor(expected.size() + 1, std::chrono::milliseconds(100)));
  std::vector<std::string> bodies;
  for (const Delivery& d : second.Deliveries()) {
    bodies.push_back(d.message().body);
  }
  CHECK(bodies == expected);
  CHECK(second.AckFailures().empty());
}

TEST_CASE("InprocBus: competing consumers acking in their handlers get each message once") {
  auto bus = OpenBus("inproc://", {});
  REQUIRE(bus.ok());
  Topology topology;
  topology.queues = {{.name = "stress"}};
  REQUIRE((*bus)->Declare(topology).ok());
  constexpr int kCount = 20000;
  constexpr int kConsumers = 3;
  std::vector<std::vector<int>> seen(kConsumers);
  std::atomic<int> total{0};
  std::atomic<int> failures{0};
  std::vector<std::unique_ptr<Subscription>> subscriptions;
  for (int c = 0; c < kConsumers; ++c) {
    auto subscription = (*bus)->Consume(
        "stress", {.prefetch = static_cast<uint32_t>(1 + c * 50)}, [&, c](Delivery delivery) {
          seen[c].push_back(std::stoi(delivery.message().body));
          // Every tenth is rejected once and comes back, the others are acked.
          const bool reject = seen[c].back() % 10 == 0 && !delivery.redelivered();
          const Status settled = reject ? delivery.Nack(/*requeue=*/true) : delivery.Ack();
          failures.fetch_add(settled.ok() ? 0 : 1);
          if (!reject) {
            total.fetch_add(1);
          }
        });
    REQUIRE(subscription.ok());
    subscriptions.push_back(std::move(subscription).value());
  }
  std::thread publisher([&] {
    for (int i = 0; i < kCount; ++i) {
      (*bus)->PublishAsync("", "stress", Body(Numbered("", i)), nullptr);
    }
  });
  publisher.join();
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(30);
  while (total.load() < kCount && std::chrono::steady_clock::now() < deadline) {
    std::this_thread::sleep_for(std::chrono::milliseconds(5));
  }
  subscriptions.clear();
  CHECK(failures.load() == 0);
  CHECK(total.load() == kCount);
  std::vector<int> acked(kCount, 0);
  for (const std::vector<int>& numbers : seen) {
    for (int n : numbers) {
      ++acked[n];
    }
  }
  int wrong = 0;
  for (int n = 0; n < kCount; ++n) {
    wrong += acked[n] != (n % 10 == 0 ? 2 : 1) ? 1 : 0;  // a rejected one twice
  }
  CHECK(wrong == 0);
  CHECK((*bus)->Stats().delivered == static_cast<uint64_t>(kCount + kCount / 10));
}

}  // namespace
}  // namespace cloudify::messaging::inproc
