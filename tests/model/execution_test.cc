#include "cloudify/model/execution.h"

#include <vector>

#include <doctest/doctest.h>

namespace cloudify::model {
namespace {

using S = ExecutionStatus;
const std::vector<S> kAll = {
    S::kPending,    S::kStarted, S::kCancelling, S::kForceCancelling, S::kKillCancelling,
    S::kTerminated, S::kFailed,  S::kCancelled,  S::kQueued,          S::kScheduled};

TEST_CASE("every execution status has the original's name and round-trips") {
  CHECK(ExecutionStatusName(S::kForceCancelling) == "force_cancelling");
  CHECK(ExecutionStatusName(S::kKillCancelling) == "kill_cancelling");
  for (S s : kAll) {
    CHECK(*ParseExecutionStatus(ExecutionStatusName(s)) == s);
  }
  CHECK_FALSE(ParseExecutionStatus("completed").has_value());  // display only, not a status
}

TEST_CASE("terminal, waiting and active partition the statuses") {
  for (S s : kAll) {
    CAPTURE(ExecutionStatusName(s));
    int groups = int(IsTerminal(s)) + int(IsWaiting(s)) + int(IsActive(s));
    CHECK(groups == 1);
  }
  CHECK(IsTerminal(S::kTerminated));
  CHECK(IsTerminal(S::kFailed));
  CHECK(IsTerminal(S::kCancelled));
  CHECK(IsWaiting(S::kQueued));
  CHECK(IsWaiting(S::kScheduled));
  CHECK(IsActive(S::kPending));
  CHECK(IsActive(S::kKillCancelling));
}

TEST_CASE("status_display shows terminated as completed") {
  CHECK(StatusDisplay(S::kTerminated) == "completed");
  CHECK(StatusDisplay(S::kFailed) == "failed");
}

TEST_CASE("the normal life of an execution is allowed") {
  CHECK(CheckExecutionTransition("install", S::kPending, S::kStarted).ok());
  CHECK(CheckExecutionTransition("install", S::kStarted, S::kTerminated).ok());
  CHECK(CheckExecutionTransition("install", S::kPending, S::kQueued).ok());
  CHECK(CheckExecutionTransition("install", S::kQueued, S::kPending).ok());
  CHECK(CheckExecutionTransition("install", S::kStarted, S::kCancelling).ok());
  CHECK(CheckExecutionTransition("install", S::kCancelling, S::kCancelled).ok());
  CHECK(CheckExecutionTransition("install", S::kForceCancelling, S::kCancelled).ok());
  CHECK(CheckExecutionTransition("install", S::kCancelling, S::kFailed).ok());
}

TEST_CASE("nothing leaves an end state, except create_snapshot becoming terminated") {
  for (S from : {S::kTerminated, S::kFailed, S::kCancelled}) {
    for (S to : kAll) {
      if (to == from) {
        continue;
      }
      CAPTURE(ExecutionStatusName(from));
      CAPTURE(ExecutionStatusName(to));
      Status s = CheckExecutionTransition("install", from, to);
      CHECK(s.code() == ErrorCode::kInvalidExecutionStatusUpdate);
    }
  }
  CHECK(CheckExecutionTransition("create_snapshot", S::kFailed, S::kTerminated).ok());
  CHECK_FALSE(CheckExecutionTransition("create_snapshot", S::kFailed, S::kStarted).ok());
}

TEST_CASE("cancelling never goes back to active or to terminated") {
  for (S to : {S::kPending, S::kStarted, S::kTerminated, S::kForceCancelling}) {
    CAPTURE(ExecutionStatusName(to));
    CHECK_FALSE(CheckExecutionTransition("install", S::kCancelling, to).ok());
  }
  for (S to : {S::kPending, S::kStarted, S::kTerminated, S::kCancelling}) {
    CAPTURE(ExecutionStatusName(to));
    CHECK_FALSE(CheckExecutionTransition("install", S::kForceCancelling, to).ok());
  }
}

TEST_CASE("repeating the same status is allowed (redelivered updates)") {
  for (S s : kAll) {
    CHECK(CheckExecutionTransition("install", s, s).ok());
  }
}

TEST_CASE("system workflows are the original's list") {
  CHECK(IsSystemWorkflow("create_deployment_environment"));
  CHECK(IsSystemWorkflow("upload_blueprint"));
  CHECK_FALSE(IsSystemWorkflow("install"));
  CHECK_FALSE(IsSystemWorkflow("heal"));
}

TEST_CASE("a new execution starts pending with empty counters") {
  Execution e;
  CHECK(e.status == S::kPending);
  CHECK(e.total_operations == 0);
  CHECK_FALSE(e.started_at.has_value());
  CHECK(e.parameters.is_object());
}

}  // namespace
}  // namespace cloudify::model
