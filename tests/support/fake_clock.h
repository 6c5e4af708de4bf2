// FakeClock: a Clock that moves only when a test says so.
#pragma once

#include <atomic>
#include <chrono>

#include "cloudify/clock.h"

namespace cloudify::testing {

class FakeClock final : public Clock {
 public:
  explicit FakeClock(Timestamp start = Timestamp(std::chrono::milliseconds(1'600'000'000'000)))
      : now_ms_(start.time_since_epoch().count()) {}

  Timestamp Now() const override { return Timestamp(std::chrono::milliseconds(now_ms_.load())); }
  std::chrono::steady_clock::time_point SteadyNow() const override {
    return std::chrono::steady_clock::time_point(std::chrono::milliseconds(now_ms_.load()));
  }

  void Advance(std::chrono::milliseconds by) { now_ms_ += by.count(); }

 private:
  std::atomic<int64_t> now_ms_;
};

}  // namespace cloudify::testing
