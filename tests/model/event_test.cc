#include "cloudify/model/event.h"

#include <doctest/doctest.h>

namespace cloudify::model {
namespace {

TEST_CASE("event kinds are the original's type values") {
  CHECK(EventKindName(EventKind::kEvent) == "cloudify_event");
  CHECK(EventKindName(EventKind::kLog) == "cloudify_log");
  CHECK(*ParseEventKind("cloudify_log") == EventKind::kLog);
  CHECK_FALSE(ParseEventKind("log").has_value());
}

TEST_CASE("only the three workflow end events end a follow") {
  CHECK(IsWorkflowEndEvent(event_types::kWorkflowSucceeded));
  CHECK(IsWorkflowEndEvent(event_types::kWorkflowFailed));
  CHECK(IsWorkflowEndEvent(event_types::kWorkflowCancelled));
  CHECK_FALSE(IsWorkflowEndEvent(event_types::kWorkflowStarted));
  CHECK_FALSE(IsWorkflowEndEvent(event_types::kTaskFailed));
}

TEST_CASE("error causes are null unless set") {
  Event e;
  CHECK(e.error_causes.is_null());
  CHECK(e.kind == EventKind::kEvent);
}

}  // namespace
}  // namespace cloudify::model
