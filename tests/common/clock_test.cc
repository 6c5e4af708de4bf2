#include "cloudify/clock.h"

#include <doctest/doctest.h>

#include "support/fake_clock.h"

namespace cloudify {
namespace {

using std::chrono::milliseconds;

TEST_CASE("timestamps format as the original's ISO-8601 UTC with milliseconds") {
  // 2021-03-25T15:51:30.526Z
  Timestamp t{milliseconds(1616687490526)};
  CHECK(FormatTimestamp(t) == "2021-03-25T15:51:30.526Z");
  CHECK(FormatTimestamp(Timestamp{milliseconds(0)}) == "1970-01-01T00:00:00.000Z");
}

TEST_CASE("ParseTimestamp accepts the forms the API sees and round-trips") {
  Timestamp t{milliseconds(1616687490526)};
  CHECK(*ParseTimestamp("2021-03-25T15:51:30.526Z") == t);
  CHECK(*ParseTimestamp("2021-03-25 15:51:30.526") == t);
  CHECK(*ParseTimestamp("2021-03-25T15:51:30.526123+00:00") == t);
  CHECK(*ParseTimestamp("2021-03-25T15:51:30Z") == Timestamp{milliseconds(1616687490000)});
  CHECK(*ParseTimestamp("2021-03-25T15:51:30.5Z") == Timestamp{milliseconds(1616687490500)});
  CHECK(*ParseTimestamp(FormatTimestamp(t)) == t);
}

TEST_CASE("ParseTimestamp rejects what is not a UTC timestamp") {
  for (const char* bad :
       {"", "yesterday", "2021-13-01T00:00:00Z", "2021-02-30T00:00:00Z",
        "2021-03-25T15:51:30+02:00", "2021-03-25T25:00:00Z", "2021-03-25T15:51:30.Z"}) {
    CAPTURE(bad);
    auto r = ParseTimestamp(bad);
    REQUIRE_FALSE(r.ok());
    CHECK(r.status().code() == ErrorCode::kBadParameters);
  }
}

TEST_CASE("the system clock moves forward and the fake clock only when told") {
  Timestamp a = SystemClock().Now();
  Timestamp b = SystemClock().Now();
  CHECK(b >= a);

  testing::FakeClock fake;
  Timestamp start = fake.Now();
  auto steady = fake.SteadyNow();
  fake.Advance(milliseconds(1500));
  CHECK(fake.Now() - start == milliseconds(1500));
  CHECK(fake.SteadyNow() - steady == milliseconds(1500));
}

}  // namespace
}  // namespace cloudify
