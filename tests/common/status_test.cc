#include "cloudify/status.h"

#include <string>

#include <doctest/doctest.h>

namespace cloudify {
namespace {

Result<int> Half(int x) {
  if (x % 2 != 0) {
    return BadParametersError(std::to_string(x) + " is odd");
  }
  return x / 2;
}

Result<int> Quarter(int x) {
  CLOUDIFY_ASSIGN_OR_RETURN(int half, Half(x));
  CLOUDIFY_ASSIGN_OR_RETURN(int quarter, Half(half));
  return quarter;
}

Status CheckPositive(int x) {
  if (x <= 0) {
    return Status(ErrorCode::kConstraint, "not positive");
  }
  return Status::Ok();
}

Status CheckBoth(int a, int b) {
  CLOUDIFY_RETURN_IF_ERROR(CheckPositive(a));
  CLOUDIFY_RETURN_IF_ERROR(CheckPositive(b));
  return Status::Ok();
}

TEST_CASE("a default Status is OK with no message") {
  Status s;
  CHECK(s.ok());
  CHECK(s.code() == ErrorCode::kOk);
  CHECK(s.message().empty());
  CHECK_FALSE(s.location().has_value());
}

TEST_CASE("every error code has a unique wire name that round-trips") {
  for (int i = 0; i <= static_cast<int>(ErrorCode::kInternal); ++i) {
    auto code = static_cast<ErrorCode>(i);
    std::string_view name = ErrorCodeName(code);
    CAPTURE(i);
    CHECK_FALSE(name.empty());
    REQUIRE(ErrorCodeFromName(name).has_value());
    CHECK(*ErrorCodeFromName(name) == code);
  }
  CHECK(ErrorCodeName(ErrorCode::kNotFound) == "not_found_error");
  CHECK(ErrorCodeName(ErrorCode::kInvalidExecutionStatusUpdate) ==
        "invalid_exception_status_update");
  CHECK(ErrorCodeName(ErrorCode::kDependentExists) == "dependent_exists_error");
  CHECK_FALSE(ErrorCodeFromName("no_such_code").has_value());
}

TEST_CASE("ToString puts the source location before the message") {
  Status s(ErrorCode::kInvalidBlueprint, "node 'web' relationship target 'dbb' does not exist",
           SourceLocation{"blueprint.yaml", 14, 7});
  CHECK(s.ToString() == "blueprint.yaml:14:7: node 'web' relationship target 'dbb' does not exist");
  Status no_column(ErrorCode::kInvalidBlueprint, "bad", SourceLocation{"b.yaml", 3, 0});
  CHECK(no_column.ToString() == "b.yaml:3: bad");
  CHECK(NotFoundError("gone").ToString() == "gone");
}

TEST_CASE("WithContext prefixes errors and leaves OK alone") {
  CHECK(NotFoundError("x").WithContext("loading").message() == "loading: x");
  CHECK(NotFoundError("x").WithContext("loading").code() == ErrorCode::kNotFound);
  CHECK(Status::Ok().WithContext("loading").ok());
}

TEST_CASE("Result holds a value or an error") {
  Result<int> good = Half(8);
  REQUIRE(good.ok());
  CHECK(*good == 4);
  CHECK(good.status().ok());
  CHECK(good.value_or(-1) == 4);

  Result<int> bad = Half(3);
  CHECK_FALSE(bad.ok());
  CHECK(bad.status().code() == ErrorCode::kBadParameters);
  CHECK(bad.status().message() == "3 is odd");
  CHECK(bad.value_or(-1) == -1);
}

TEST_CASE("a Result made from an OK status is an internal error, never an empty success") {
  Result<int> r{Status::Ok()};
  CHECK_FALSE(r.ok());
  CHECK(r.status().code() == ErrorCode::kInternal);
}

TEST_CASE("the propagation macros return the first error") {
  CHECK(*Quarter(12) == 3);
  CHECK(Quarter(6).status().message() == "3 is odd");
  CHECK(CheckBoth(1, 2).ok());
  CHECK(CheckBoth(1, -2).code() == ErrorCode::kConstraint);
}

TEST_CASE("Result moves its value out") {
  Result<std::string> r = std::string(100, 'x');
  std::string taken = std::move(r).value();
  CHECK(taken.size() == 100);
}

}  // namespace
}  // namespace cloudify
