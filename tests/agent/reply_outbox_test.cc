// ReplyOutbox: replies to tasks that allow batches go one message per confirm round trip; the
// others go alone at once. The publish is a recorder whose confirms the test gives.
#include "agent/reply_outbox.h"

#include <string>
#include <vector>

#include <doctest/doctest.h>
#include <nlohmann/json.hpp>

namespace cloudify::agent {
namespace {

using nlohmann::json;

struct Published {
  std::string reply_to;
  messaging::Message message;
  messaging::PublishCallback done;
};

struct Recorder {
  std::vector<Published> published;
  std::vector<std::pair<std::string, bool>> settled;  // task correlation id, sent
  ReplyOutbox outbox{
      [this](const std::string& reply_to, messaging::Message m, messaging::PublishCallback done) {
        published.push_back({reply_to, std::move(m), std::move(done)});
      },
      [this](const messaging::Delivery& task, const Status& sent) {
        settled.emplace_back(task.message().correlation_id, sent.ok());
      }};
};

messaging::Delivery Task(const std::string& id, const std::string& reply_to) {
  messaging::Message m;
  m.correlation_id = id;
  m.reply_to = reply_to;
  return messaging::Delivery(std::move(m), "agent", "operation", false, 1, nullptr);
}

std::string Ok(int n) { return json{{"ok", true}, {"result", n}}.dump(); }

TEST_CASE(
    "ReplyOutbox: replies finished while one is on its way go together once it is confirmed") {
  Recorder r;
  r.outbox.Send(Task("t1", "q"), Ok(1), true);
  REQUIRE(r.published.size() == 1);  // nothing on its way: alone, at once, as the original
  CHECK(r.published[0].reply_to == "q");
  CHECK(r.published[0].message.correlation_id == "t1");
  CHECK(r.published[0].message.persistent);
  CHECK(json::parse(r.published[0].message.body) == json::parse(Ok(1)));

  r.outbox.Send(Task("t2", "q"), Ok(2), true);
  r.outbox.Send(Task("t3", "q"), Ok(3), true);
  r.outbox.Send(Task("o1", "other"), Ok(9), true);  // another reply queue is not held up
  REQUIRE(r.published.size() == 2);
  CHECK(r.published[1].reply_to == "other");
  CHECK(r.settled.empty());

  r.published[0].done(Status::Ok());
  // t1 settled, then t2 and t3 in one message without a correlation id.
  REQUIRE(r.settled.size() == 1);
  CHECK(r.settled[0] == std::make_pair(std::string("t1"), true));
  REQUIRE(r.published.size() == 3);
  CHECK(r.published[2].reply_to == "q");
  CHECK(r.published[2].message.correlation_id.empty());
  CHECK(json::parse(r.published[2].message.body) ==
        json::array({{{"id", "t2"}, {"reply", json::parse(Ok(2))}},
                     {{"id", "t3"}, {"reply", json::parse(Ok(3))}}}));

  // A refused batch settles each of its replies as not sent.
  r.published[2].done(Status(ErrorCode::kUnavailable, "connection lost"));
  REQUIRE(r.settled.size() == 3);
  CHECK(r.settled[1] == std::make_pair(std::string("t2"), false));
  CHECK(r.settled[2] == std::make_pair(std::string("t3"), false));

  // The queue is idle again: the next reply goes at once.
  r.outbox.Send(Task("t4", "q"), Ok(4), true);
  REQUIRE(r.published.size() == 4);
  CHECK(r.published[3].message.correlation_id == "t4");
  r.published[3].done(Status::Ok());
  r.published[1].done(Status::Ok());
  CHECK(r.settled.size() == 5);
}

TEST_CASE("ReplyOutbox: a task that does not allow batches is answered alone at once") {
  Recorder r;
  r.outbox.Send(Task("t1", "q"), Ok(1), true);
  r.outbox.Send(Task("t2", "q"), Ok(2), false);  // e.g. from a manager of the original's kind
  REQUIRE(r.published.size() == 2);
  CHECK(r.published[1].message.correlation_id == "t2");
  r.published[1].done(Status::Ok());
  r.published[0].done(Status::Ok());
  CHECK(r.settled.size() == 2);
  CHECK(r.published.size() == 2);  // nothing was waiting
}

}  // namespace
}  // namespace cloudify::agent
