// Helpers for the Bus tests: the backends the contract suite runs against, unique names, and a
// Collector that records deliveries and lets a test wait for them without sleeping.
#pragma once

#include <chrono>
#include <condition_variable>
#include <functional>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

#include <doctest/doctest.h>

#include "cloudify/ids.h"
#include "cloudify/messaging/bus.h"

#include "support/env.h"

namespace cloudify::messaging::testing {

// The backends the contract suite runs against (TEST_CASE_TEMPLATE types).
struct Inproc {
  static constexpr const char* kName = "inproc";
  static std::string Url() { return "inproc://"; }
  static bool Available() { return true; }
};
struct Amqp {
  static constexpr const char* kName = "amqp";
  static std::string Url() { return cloudify::testing::AmqpTestUrl(); }
  static bool Available() { return cloudify::testing::HaveServer(Url(), "CLOUDIFY_TEST_AMQP_URL"); }
};

// "test.<8 random chars>.<what>": parallel test processes never share a queue or exchange.
inline std::string UniqueName(const std::string& what) {
  return "test." + NewUuid().substr(0, 8) + "." + what;
}

// Options that keep tests quick: fast reconnects, short timeouts, a named connection.
inline BusOptions TestOptions(const std::string& connection_name = UniqueName("conn")) {
  BusOptions options;
  options.connection_name = connection_name;
  options.operation_timeout = std::chrono::seconds(5);
  options.reconnect_initial_backoff = std::chrono::milliseconds(50);
  options.reconnect_max_backoff = std::chrono::milliseconds(500);
  options.heartbeat = std::chrono::seconds(5);
  return options;
}

template <typename Backend>
std::unique_ptr<Bus> OpenTestBus(BusOptions options = TestOptions()) {
  auto bus = OpenBus(Backend::Url(), std::move(options));
  REQUIRE_MESSAGE(bus.ok(), bus.status().ToString());
  return std::move(bus).value();
}

// Declares queues (transient unless asked: tests leave no durable state behind on the shared
// broker) and deletes them when it goes.
class ScopedQueues {
 public:
  explicit ScopedQueues(Bus& bus) : bus_(bus) {}
  ~ScopedQueues() {
    for (const std::string& name : names_) {
      (void)bus_.DeleteQueue(name, false);
    }
  }
  std::string Add(const std::string& what, bool durable = false) {
    std::string name = UniqueName(what);
    Topology topology;
    topology.queues.push_back({.name = name, .durable = durable});
    Status declared = bus_.Declare(topology);
    REQUIRE_MESSAGE(declared.ok(), declared.ToString());
    names_.push_back(name);
    return name;
  }
  void Track(const std::string& name) { names_.push_back(name); }

 private:
  Bus& bus_;
  std::vector<std::string> names_;
};

// Records deliveries; optionally acks them as they arrive.
class Collector {
 public:
  enum class Mode { kAck, kHold };
  explicit Collector(Mode mode = Mode::kAck) : mode_(mode) {}

  DeliveryHandler Handler() {
    return [this](Delivery delivery) {
      if (mode_ == Mode::kAck) {
        Status acked = delivery.Ack();
        if (!acked.ok()) {
          std::lock_guard lock(mu_);
          ack_failures_.push_back(acked.ToString());
        }
      }
      {
        std::lock_guard lock(mu_);
        deliveries_.push_back(std::move(delivery));
      }
      cv_.notify_all();
    };
  }

  // True once at least `count` deliveries arrived, false after `timeout`.
  bool WaitFor(size_t count, std::chrono::milliseconds timeout = std::chrono::seconds(10)) {
    std::unique_lock lock(mu_);
    return cv_.wait_for(lock, timeout, [&] { return deliveries_.size() >= count; });
  }

  std::vector<Delivery> Deliveries() {
    std::lock_guard lock(mu_);
    return deliveries_;
  }
  size_t Count() {
    std::lock_guard lock(mu_);
    return deliveries_.size();
  }
  std::vector<std::string> AckFailures() {
    std::lock_guard lock(mu_);
    return ack_failures_;
  }

 private:
  const Mode mode_;
  std::mutex mu_;
  std::condition_variable cv_;
  std::vector<Delivery> deliveries_;
  std::vector<std::string> ack_failures_;
};

// "<prefix><n>". (Not "m" + std::to_string(n): g++ 12 -O3 warns -Wrestrict on that, a
// false positive, GCC bug 105329.)
inline std::string Numbered(const char* prefix, int n) {
  std::string text(prefix);
  text += std::to_string(n);
  return text;
}

inline Message Body(std::string body) {
  Message message;
  message.body = std::move(body);
  return message;
}

}  // namespace cloudify::messaging::testing
