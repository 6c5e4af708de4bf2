// Clock: where the library reads the time, so tests can drive it (a FakeClock lives in
// tests/support). Timestamps on the wire are ISO-8601 UTC with milliseconds and 'Z', as the
// original REST API writes them ("2021-03-25T15:51:30.526Z").
//
// Thread-safety: implementations must be safe to call from any thread.
#pragma once

#include <chrono>
#include <string>
#include <string_view>

#include "cloudify/status.h"

namespace cloudify {

using Timestamp = std::chrono::time_point<std::chrono::system_clock, std::chrono::milliseconds>;

class Clock {
 public:
  virtual ~Clock() = default;
  // Wall-clock time, for timestamps that users see.
  virtual Timestamp Now() const = 0;
  // Monotonic time, for timeouts and leases.
  virtual std::chrono::steady_clock::time_point SteadyNow() const = 0;
};

// The process-wide real clock. Never null; lives for the whole program.
Clock& SystemClock();

// "2021-03-25T15:51:30.526Z".
std::string FormatTimestamp(Timestamp t);
// Accepts the form above, without milliseconds, with a space instead of 'T', and with a
// "+00:00" suffix instead of 'Z'. kBadParameters on anything else.
Result<Timestamp> ParseTimestamp(std::string_view text);

}  // namespace cloudify
