#include "cloudify/model/operation.h"

#include <doctest/doctest.h>

namespace cloudify::model {
namespace {

TEST_CASE("task states have the original's names and terminal set") {
  using S = TaskState;
  CHECK(TaskStateName(S::kResponseSent) == "response-sent");
  for (int i = 0; i <= static_cast<int>(S::kFailed); ++i) {
    auto s = static_cast<S>(i);
    CHECK(*ParseTaskState(TaskStateName(s)) == s);
  }
  CHECK(IsTerminal(S::kSucceeded));
  CHECK(IsTerminal(S::kFailed));
  CHECK(IsTerminal(S::kRescheduled));
  for (S s : {S::kPending, S::kSending, S::kSent, S::kStarted, S::kResponseSent}) {
    CHECK_FALSE(IsTerminal(s));
  }
}

TEST_CASE("a new operation is pending with no dependencies") {
  Operation op;
  CHECK(op.state == TaskState::kPending);
  CHECK(op.dependencies.empty());
  CHECK(op.parameters.is_object());
}

}  // namespace
}  // namespace cloudify::model
