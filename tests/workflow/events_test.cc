#include "cloudify/workflow/events.h"

#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include <doctest/doctest.h>

#include "cloudify/messaging/topology.h"

#include "support/plumbing.h"

namespace cloudify::workflow {
namespace {

using nlohmann::json;

TEST_CASE("events and logs round-trip through the original's message shape") {
  model::Event e;
  e.kind = model::EventKind::kEvent;
  e.event_type = "task_failed";
  e.message = "boom";
  e.execution_id = "e1";
  e.deployment_id = "d1";
  e.node_instance_id = "vm_abc123";
  e.node_name = "vm";
  e.operation = "cloudify.interfaces.lifecycle.create";
  e.error_causes = json::array({{{"message", "boom"}, {"type", "RecoverableError"}}});
  json m = EventToMessage(e);
  CHECK(m["event_type"] == "task_failed");
  CHECK(m["message"]["text"] == "boom");
  CHECK(m["context"]["node_id"] == "vm_abc123");  // the original's key for the instance
  auto back = EventFromMessage(m);
  REQUIRE(back.ok());
  CHECK(back->event_type == "task_failed");
  CHECK(back->node_instance_id == "vm_abc123");
  CHECK(back->node_name == "vm");
  CHECK(back->error_causes == e.error_causes);

  model::Event log;
  log.kind = model::EventKind::kLog;
  log.level = LogLevel::kError;
  log.logger = "ctx";
  log.message = "bad";
  auto log_back = EventFromMessage(EventToMessage(log));
  REQUIRE(log_back.ok());
  CHECK(log_back->kind == model::EventKind::kLog);
  CHECK(log_back->level == LogLevel::kError);
  CHECK(log_back->logger == "ctx");
}

TEST_CASE("malformed event messages are bad parameters") {
  CHECK(EventFromMessage(json::array()).status().code() == ErrorCode::kBadParameters);
  CHECK(EventFromMessage(json{{"type", "cloudify_event"}, {"message", {{"text", "x"}}}})
            .status()
            .code() == ErrorCode::kBadParameters);  // no event_type
  CHECK_FALSE(EventFromMessage(json{{"type", "nope"}, {"message", json::object()}}).ok());
}

TEST_CASE("published events reach the store in batches, Sync waits for them") {
  testing::Plumbing p;
  auto writer = EventWriter::Start(*p.bus, *p.store, {.max_batch = 50});
  REQUIRE(writer.ok());
  // A linger longer than the test: batches leave only when full (256) or at Send().
  EventPublisher publisher(*p.bus, {.max_batch = 256, .linger = std::chrono::seconds(60)});
  for (int i = 0; i < 500; ++i) {
    model::Event e;
    e.kind = i % 2 == 0 ? model::EventKind::kEvent : model::EventKind::kLog;
    e.event_type = "workflow_event";
    e.message = "event " + std::to_string(i);
    e.execution_id = "e1";
    publisher.Publish(e);
  }
  // What waits is handed to the bus; a Sync marker published after it travels behind it.
  publisher.Send();
  // A poisoned message is dropped, not redelivered for ever.
  messaging::Message junk;
  junk.body = "{not json";
  REQUIRE(p.bus->Publish(messaging::kLogsExchange, "", junk).ok());
  REQUIRE((*writer)->Sync(std::chrono::seconds(10)).ok());
  CHECK((*writer)->stored() == 500);
  CHECK(publisher.failures() == 0);
  // Batched: the full batch of 256, the other 244 at Send(), the junk, the marker and its
  // answer.
  CHECK(p.bus->Stats().published == 5);
  storage::ListQuery q;
  q.filters = {{"execution_id", {"e1"}}};
  q.get_all_results = true;
  auto page = p.store->ListEvents(storage::CallerContext::System(), q);
  REQUIRE(page.ok());
  REQUIRE(page->total == 500);
  // In publish order, each with its kind, whatever batch it came in.
  for (int i = 0; i < 500; ++i) {
    const model::Event& e = page->items[static_cast<size_t>(i)];
    CHECK(e.message == "event " + std::to_string(i));
    CHECK(e.kind == (i % 2 == 0 ? model::EventKind::kEvent : model::EventKind::kLog));
  }
}

// As in distributed mode, where every manager has a writer on the one logs-events queue: only
// one stores at a time, so a Sync through either sees everything published before it, and
// the other takes over when it stops.
TEST_CASE("two writers on the queue: one stores, a Sync through either waits for it") {
  testing::Plumbing p;
  // A max_delay longer than the test: only a Sync marker stores a partial batch.
  const EventWriterOptions options{.max_batch = 1000, .max_delay = std::chrono::seconds(60)};
  auto first = EventWriter::Start(*p.bus, *p.store, options);
  auto second = EventWriter::Start(*p.bus, *p.store, options);
  REQUIRE(first.ok());
  REQUIRE(second.ok());
  EventPublisher publisher(*p.bus, {.max_batch = 1, .linger = std::chrono::seconds(60)});
  storage::ListQuery q;
  q.filters = {{"execution_id", {"e2"}}};
  int published = 0;
  auto publish_three = [&] {
    for (int i = 0; i < 3; ++i) {
      model::Event e;
      e.kind = model::EventKind::kLog;
      e.message = "event " + std::to_string(published++);
      e.execution_id = "e2";
      publisher.Publish(e);
    }
    publisher.Send();
  };
  auto stored = [&] {
    auto page = p.store->ListEvents(storage::CallerContext::System(), q);
    REQUIRE(page.ok());
    return page->total;
  };
  for (int round = 0; round < 4; ++round) {
    publish_three();
    EventWriter& syncing = round % 2 == 0 ? **first : **second;
    REQUIRE(syncing.Sync(std::chrono::seconds(10)).ok());
    CHECK(stored() == published);
  }
  CHECK((*first)->stored() == 12);
  CHECK((*second)->stored() == 0);
  first->reset();
  publish_three();
  REQUIRE((*second)->Sync(std::chrono::seconds(10)).ok());
  CHECK(stored() == published);
  CHECK((*second)->stored() == 3);
}

TEST_CASE("a publisher sends a lone event by itself after its linger, in the original's shape") {
  testing::Plumbing p;
  std::mutex mu;
  std::vector<std::string> bodies;
  auto spy =
      p.bus->Consume(std::string(messaging::kLogsEventsQueue), {}, [&](messaging::Delivery d) {
        std::lock_guard lock(mu);
        bodies.push_back(d.message().body);
        (void)d.Ack();
      });
  REQUIRE(spy.ok());
  EventPublisher publisher(*p.bus, {.max_batch = 256, .linger = std::chrono::milliseconds(5)});
  model::Event e;
  e.kind = model::EventKind::kLog;
  e.message = "alone";
  e.execution_id = "e1";
  publisher.Publish(e);
  bool seen = false;
  for (int i = 0; i < 500 && !seen; ++i) {  // no Send(): the linger sends it
    std::this_thread::sleep_for(std::chrono::milliseconds(2));
    std::lock_guard lock(mu);
    seen = !bodies.empty();
  }
  REQUIRE(seen);
  std::lock_guard lock(mu);
  const json body = json::parse(bodies.front());
  CHECK(body.is_object());
  CHECK(EventFromMessage(body)->message == "alone");
  // A batch body is an array of such messages; anything else in it is refused whole.
  auto two = EventsFromMessage(json::array({body, body}));
  REQUIRE(two.ok());
  CHECK(two->size() == 2);
  CHECK(EventsFromMessage(json::array({body, json{{"type", "nope"}}})).status().code() ==
        ErrorCode::kBadParameters);
  CHECK(EventsFromMessage(json::array())->empty());
}

}  // namespace
}  // namespace cloudify::workflow
