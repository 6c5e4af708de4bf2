// CoalescingPublisher: batchable messages to a destination with one on its way go together once
// it is confirmed; others go alone at once. The send is a recorder whose confirms the test gives;
// the last case runs on a real bus.
#include "cloudify/messaging/coalescing_publisher.h"

#include <algorithm>
#include <chrono>
#include <mutex>
#include <string>
#include <thread>
#include <utility>
#include <vector>

#include <doctest/doctest.h>

#include "cloudify/ids.h"

namespace cloudify::messaging {
namespace {

struct Sent {
  std::string exchange;
  std::string routing_key;
  Message message;
  PublishCallback done;
};

// Counts one more level of nesting, keeping the deepest.
void EnterLevel(int& depth, int& deepest) { deepest = std::max(deepest, ++depth); }

// Joins bodies with '+'.
Message Join(std::vector<Message> parts) {
  Message joined;
  for (const Message& part : parts) {
    joined.body += (joined.body.empty() ? "" : "+") + part.body;
  }
  return joined;
}

struct Recorder {
  std::vector<Sent> sent;
  std::vector<std::pair<std::string, bool>> resolved;  // body, ok
  CoalescingPublisher publisher{
      [this](const std::string& exchange, const std::string& routing_key, Message m,
             PublishCallback done) {
        sent.push_back({exchange, routing_key, std::move(m), std::move(done)});
      },
      Join, /*max_batch=*/3};

  void Publish(const std::string& routing_key, const std::string& body, bool batchable) {
    Message m;
    m.body = body;
    publisher.Publish("x", routing_key, std::move(m), batchable,
                      [this, body](Status s) { resolved.emplace_back(body, s.ok()); });
  }
};

TEST_CASE("CoalescingPublisher: what waits for a confirm goes in one message, in order") {
  Recorder r;
  r.Publish("q", "a", true);
  REQUIRE(r.sent.size() == 1);  // nothing on its way: alone, at once, unchanged
  CHECK(r.sent[0].exchange == "x");
  CHECK(r.sent[0].routing_key == "q");
  CHECK(r.sent[0].message.body == "a");

  r.Publish("q", "b", true);
  r.Publish("q", "c", true);
  r.Publish("other", "o", true);  // another destination is not held up
  REQUIRE(r.sent.size() == 2);
  CHECK(r.sent[1].routing_key == "other");
  CHECK(r.resolved.empty());

  r.sent[0].done(Status::Ok());
  REQUIRE(r.resolved.size() == 1);
  CHECK(r.resolved[0] == std::make_pair(std::string("a"), true));
  REQUIRE(r.sent.size() == 3);
  CHECK(r.sent[2].routing_key == "q");
  CHECK(r.sent[2].message.body == "b+c");

  // A refused message resolves everything it carried as failed.
  r.sent[2].done(Status(ErrorCode::kUnavailable, "connection lost"));
  REQUIRE(r.resolved.size() == 3);
  CHECK(r.resolved[1] == std::make_pair(std::string("b"), false));
  CHECK(r.resolved[2] == std::make_pair(std::string("c"), false));

  // Idle again: the next goes at once.
  r.Publish("q", "d", true);
  REQUIRE(r.sent.size() == 4);
  CHECK(r.sent[3].message.body == "d");
  r.sent[3].done(Status::Ok());
  r.sent[1].done(Status::Ok());
  CHECK(r.resolved.size() == 5);
}

TEST_CASE("CoalescingPublisher: at most max_batch in one message, the rest in the next") {
  Recorder r;
  r.Publish("q", "1", true);
  for (const char* body : {"2", "3", "4", "5"}) {
    r.Publish("q", body, true);
  }
  r.sent[0].done(Status::Ok());
  REQUIRE(r.sent.size() == 2);
  CHECK(r.sent[1].message.body == "2+3+4");
  r.sent[1].done(Status::Ok());
  REQUIRE(r.sent.size() == 3);
  CHECK(r.sent[2].message.body == "5");
  r.sent[2].done(Status::Ok());
  CHECK(r.resolved.size() == 5);
}

TEST_CASE(
    "CoalescingPublisher: a batch holds no more than max_batch_bytes, unless one alone does") {
  std::vector<Sent> sent;
  CoalescingPublisher publisher(
      [&](const std::string& exchange, const std::string& routing_key, Message m,
          PublishCallback done) {
        sent.push_back({exchange, routing_key, std::move(m), std::move(done)});
      },
      Join, /*max_batch=*/10, /*max_batch_bytes=*/4);
  for (const char* body : {"a", "bb", "cc", "ddddddd", "e"}) {
    Message m;
    m.body = body;
    publisher.Publish("x", "q", std::move(m), true, nullptr);
  }
  REQUIRE(sent.size() == 1);
  CHECK(sent[0].message.body == "a");
  std::vector<std::string> bodies = {"bb+cc", "ddddddd", "e"};
  for (size_t i = 0; i < bodies.size(); ++i) {
    sent[i].done(Status::Ok());
    REQUIRE(sent.size() == i + 2);
    CHECK(sent[i + 1].message.body == bodies[i]);
  }
  sent.back().done(Status::Ok());
}

TEST_CASE("CoalescingPublisher: a refused message fails what waits for its destination at once") {
  Recorder r;
  r.Publish("q", "a", true);
  r.Publish("q", "b", true);
  r.Publish("q", "c", true);
  r.sent[0].done(Status(ErrorCode::kUnavailable, "connection lost"));
  CHECK(r.sent.size() == 1);  // b and c are not sent to wait out a timeout of their own
  REQUIRE(r.resolved.size() == 3);
  for (const auto& [body, ok] : r.resolved) {
    CHECK_FALSE(ok);
  }
  r.Publish("q", "d", true);  // idle again
  REQUIRE(r.sent.size() == 2);
  CHECK(r.sent[1].message.body == "d");
  r.sent[1].done(Status::Ok());
}

TEST_CASE(
    "CoalescingPublisher: with confirms given inside the send, batches go one after another, not "
    "nested") {
  int depth = 0, deepest = 0, sends = 0;
  std::vector<std::string> bodies;
  CoalescingPublisher* self = nullptr;
  CoalescingPublisher publisher(
      [&](const std::string&, const std::string&, Message m, PublishCallback done) {
        EnterLevel(depth, deepest);
        bodies.push_back(m.body);
        if (++sends < 50) {
          // Another sender publishes while this message is on its way, as a busy bus sees.
          Message more;
          more.body = std::to_string(sends);
          self->Publish("x", "q", std::move(more), true, nullptr);
        }
        done(Status::Ok());
        --depth;
      },
      Join);
  self = &publisher;
  Message first;
  first.body = "0";
  publisher.Publish("x", "q", std::move(first), true, nullptr);
  CHECK(sends == 50);
  CHECK(bodies.back() == "49");
  CHECK(deepest == 1);
}

TEST_CASE("CoalescingPublisher: a message not batchable goes alone at once") {
  Recorder r;
  r.Publish("q", "a", true);
  r.Publish("q", "b", false);
  REQUIRE(r.sent.size() == 2);
  CHECK(r.sent[1].message.body == "b");
  r.sent[1].done(Status::Ok());
  r.sent[0].done(Status::Ok());
  CHECK(r.resolved.size() == 2);
  CHECK(r.sent.size() == 2);  // nothing was waiting
}

TEST_CASE(
    "CoalescingPublisher: on a real bus every message arrives, and the publisher waits for its "
    "confirms") {
  auto bus = OpenBus("inproc://coalescing-" + NewUuid()).value();
  Topology topology;
  topology.queues.push_back({.name = "q"});
  REQUIRE(bus->Declare(topology).ok());
  int confirmed = 0;
  {
    CoalescingPublisher publisher(*bus, Join);
    for (int i = 0; i < 10; ++i) {
      Message m;
      m.body = std::to_string(i);
      publisher.Publish("", "q", std::move(m), true, [&](Status s) { confirmed += s.ok(); });
    }
  }
  CHECK(confirmed == 10);
  std::string received;
  std::mutex mu;
  auto sub = bus->Consume("q", {}, [&](Delivery d) {
    std::lock_guard lock(mu);
    received += d.message().body + ";";
    (void)d.Ack();
  });
  REQUIRE(sub.ok());
  for (int i = 0; i < 200; ++i) {
    {
      std::lock_guard lock(mu);
      if (std::count(received.begin(), received.end(), '+') +
              std::count(received.begin(), received.end(), ';') ==
          10) {
        break;
      }
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(5));
  }
  std::lock_guard lock(mu);
  for (int i = 0; i < 10; ++i) {
    CHECK(received.find(std::to_string(i)) != std::string::npos);
  }
}

}  // namespace
}  // namespace cloudify::messaging
