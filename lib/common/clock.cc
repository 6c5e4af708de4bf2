#include "cloudify/clock.h"

#include <cstdio>
#include <ctime>

namespace cloudify {
namespace {

class RealClock final : public Clock {
 public:
  Timestamp Now() const override {
    return std::chrono::time_point_cast<std::chrono::milliseconds>(
        std::chrono::system_clock::now());
  }
  std::chrono::steady_clock::time_point SteadyNow() const override {
    return std::chrono::steady_clock::now();
  }
};

}  // namespace

Clock& SystemClock() {
  static RealClock* clock = new RealClock();  // never destroyed: usable during static teardown
  return *clock;
}

std::string FormatTimestamp(Timestamp t) {
  using std::chrono::days;
  using std::chrono::floor;
  auto day = floor<days>(t);
  std::chrono::year_month_day ymd{day};
  std::chrono::hh_mm_ss hms{t - day};
  char buf[32];
  std::snprintf(buf, sizeof buf, "%04d-%02u-%02uT%02d:%02d:%02d.%03dZ", int(ymd.year()),
                unsigned(ymd.month()), unsigned(ymd.day()), int(hms.hours().count()),
                int(hms.minutes().count()), int(hms.seconds().count()),
                int(hms.subseconds().count()));
  return buf;
}

Result<Timestamp> ParseTimestamp(std::string_view text) {
  int y = 0, mo = 0, d = 0, h = 0, mi = 0, s = 0, consumed = 0;
  std::string copy(text);
  if (std::sscanf(copy.c_str(), "%4d-%2d-%2d%*1[T ]%2d:%2d:%2d%n", &y, &mo, &d, &h, &mi, &s,
                  &consumed) != 6) {
    return BadParametersError("invalid timestamp '" + copy + "': expected YYYY-MM-DDTHH:MM:SS");
  }
  std::string_view rest = text.substr(static_cast<size_t>(consumed));
  int millis = 0;
  if (!rest.empty() && rest.front() == '.') {
    rest.remove_prefix(1);
    int digits = 0;
    while (!rest.empty() && rest.front() >= '0' && rest.front() <= '9') {
      if (digits < 3) {
        millis = millis * 10 + (rest.front() - '0');
      }
      ++digits;
      rest.remove_prefix(1);
    }
    if (digits == 0) {
      return BadParametersError("invalid timestamp '" + copy + "': empty fraction");
    }
    for (; digits < 3; ++digits) {
      millis *= 10;
    }
  }
  if (!(rest.empty() || rest == "Z" || rest == "+00:00")) {
    return BadParametersError("invalid timestamp '" + copy + "': only UTC is accepted");
  }
  std::chrono::year_month_day ymd{std::chrono::year(y), std::chrono::month(unsigned(mo)),
                                  std::chrono::day(unsigned(d))};
  if (!ymd.ok() || h > 23 || mi > 59 || s > 60) {
    return BadParametersError("invalid timestamp '" + copy + "': out of range");
  }
  return Timestamp(std::chrono::sys_days(ymd).time_since_epoch() + std::chrono::hours(h) +
                   std::chrono::minutes(mi) + std::chrono::seconds(s) +
                   std::chrono::milliseconds(millis));
}

}  // namespace cloudify
