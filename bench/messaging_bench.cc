// Messaging throughput and latency: inproc:// and RabbitMQ (CLOUDIFY_TEST_AMQP_URL).
//
//   messaging_bench [--messages N] [--amqp-messages N] [--requests N] [--window N]
//                   [--persistent 0|1]
//
// Throughput: one publisher (PublishAsync, 1 KB bodies, persistent, confirmed) and one consumer
// (prefetch 1000, an Ack per message after the handler's work) on a durable queue; the clock
// runs from the first publish to the last delivery. Latency: Request() round trips to a
// responder that replies from its own thread; median and 99th percentile.
#include <algorithm>
#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <ctime>
#include <mutex>
#include <string>
#include <vector>

#include "cloudify/ids.h"
#include "cloudify/messaging/bus.h"

namespace {

using cloudify::Status;
using cloudify::messaging::Bus;
using cloudify::messaging::BusOptions;
using cloudify::messaging::Delivery;
using cloudify::messaging::Message;
using cloudify::messaging::OpenBus;
using cloudify::messaging::Topology;
using Clock = std::chrono::steady_clock;

// CPU seconds used by this process so far (every thread): what a message costs here, whatever
// else the machine runs.
double ProcessCpuSeconds() {
  timespec ts{};
  clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &ts);
  return static_cast<double>(ts.tv_sec) + static_cast<double>(ts.tv_nsec) / 1e9;
}

uint32_t window = BusOptions().max_in_flight;
bool persistent = true;

std::unique_ptr<Bus> Open(const std::string& url) {
  BusOptions options;
  options.max_in_flight = window;
  auto bus = OpenBus(url, options);
  if (!bus.ok()) {
    std::fprintf(stderr, "cannot open %s: %s\n", url.c_str(), bus.status().ToString().c_str());
    std::exit(1);
  }
  return std::move(bus).value();
}

void Declare(Bus& bus, const std::string& queue, bool durable) {
  Topology topology;
  topology.queues.push_back({.name = queue, .durable = durable});
  Status declared = bus.Declare(topology);
  if (!declared.ok()) {
    std::fprintf(stderr, "declare: %s\n", declared.ToString().c_str());
    std::exit(1);
  }
}

// Publishes `count` 1 KB persistent messages on `publisher` and consumes them on `consumer`.
void Throughput(const char* label, Bus& publisher, Bus& consumer, int count) {
  if (count <= 0) {
    return;  // --messages 0 or --amqp-messages 0: that backend's throughput is not measured
  }
  const std::string queue = "bench." + cloudify::NewUuid().substr(0, 8);
  Declare(publisher, queue, /*durable=*/true);
  std::mutex mu;
  std::condition_variable done_cv;
  std::atomic<int> received{0};
  bool all_received = false;  // guarded by mu, as last_delivery
  Clock::time_point last_delivery;
  auto subscription = consumer.Consume(queue, {.prefetch = 1000}, [&](Delivery delivery) {
    (void)delivery.Ack();
    if (received.fetch_add(1) + 1 == count) {
      std::lock_guard lock(mu);
      last_delivery = Clock::now();
      all_received = true;
      done_cv.notify_all();
    }
  });
  if (!subscription.ok()) {
    std::fprintf(stderr, "consume: %s\n", subscription.status().ToString().c_str());
    std::exit(1);
  }
  std::atomic<int> failures{0};
  Message message;
  message.body.assign(1024, 'x');
  message.persistent = persistent;
  const double cpu_start = ProcessCpuSeconds();
  const auto start = Clock::now();
  for (int i = 0; i < count; ++i) {
    publisher.PublishAsync("", queue, message, [&failures](Status status) {
      if (!status.ok()) {
        failures.fetch_add(1);
      }
    });
  }
  Status confirmed = publisher.WaitForConfirms(std::chrono::minutes(5));
  const auto all_confirmed = Clock::now();
  {
    std::unique_lock lock(mu);
    // Not `received`: the last handler counts before it notes the time.
    done_cv.wait_for(lock, std::chrono::minutes(5), [&] { return all_received; });
  }
  const double cpu_us = (ProcessCpuSeconds() - cpu_start) * 1e6 / count;
  const double publish_s = std::chrono::duration<double>(all_confirmed - start).count();
  const double total_s = std::chrono::duration<double>(last_delivery - start).count();
  std::printf(
      "%-8s throughput: %d msgs of 1 KB, %s: published+confirmed %.0f msg/s "
      "(%.3f s), published+consumed+acked %.0f msg/s (%.3f s), %.2f us CPU/msg in this "
      "process%s%s\n",
      label, count, persistent ? "persistent" : "transient", count / publish_s, publish_s,
      count / total_s, total_s, cpu_us, confirmed.ok() ? "" : " CONFIRM TIMEOUT",
      failures.load() != 0 ? " FAILURES" : "");
  subscription->reset();
  (void)publisher.DeleteQueue(queue, false);
}

void RoundTrip(const char* label, Bus& bus, int requests) {
  if (requests <= 0) {
    return;
  }
  const std::string queue = "bench.rpc." + cloudify::NewUuid().substr(0, 8);
  Declare(bus, queue, /*durable=*/false);
  auto responder = bus.Consume(queue, {.prefetch = 100}, [&bus](Delivery request) {
    Message reply;
    reply.body = "pong";
    reply.persistent = false;
    (void)bus.Reply(request, reply);
    (void)request.Ack();
  });
  if (!responder.ok()) {
    std::fprintf(stderr, "consume: %s\n", responder.status().ToString().c_str());
    std::exit(1);
  }
  std::vector<double> micros;
  micros.reserve(requests);
  Message ping;
  ping.body = "ping";
  ping.persistent = false;
  for (int i = 0; i < requests + 100; ++i) {
    const auto start = Clock::now();
    auto reply = bus.Request("", queue, ping, std::chrono::seconds(10));
    const auto end = Clock::now();
    if (!reply.ok()) {
      std::fprintf(stderr, "request: %s\n", reply.status().ToString().c_str());
      std::exit(1);
    }
    if (i >= 100) {  // the first ones warm up
      micros.push_back(std::chrono::duration<double, std::micro>(end - start).count());
    }
  }
  std::sort(micros.begin(), micros.end());
  std::printf("%-8s request/reply: %d round trips: median %.1f us, p99 %.1f us\n", label, requests,
              micros[micros.size() / 2], micros[micros.size() * 99 / 100]);
  responder->reset();
  (void)bus.DeleteQueue(queue, false);
}

}  // namespace

int main(int argc, char** argv) {
  int messages = 1'000'000;
  int amqp_messages = 100'000;
  int requests = 20'000;
  for (int i = 1; i + 1 < argc; i += 2) {
    if (std::strcmp(argv[i], "--messages") == 0) {
      messages = std::atoi(argv[i + 1]);
    } else if (std::strcmp(argv[i], "--amqp-messages") == 0) {
      amqp_messages = std::atoi(argv[i + 1]);
    } else if (std::strcmp(argv[i], "--window") == 0) {
      window = static_cast<uint32_t>(std::atoi(argv[i + 1]));
    } else if (std::strcmp(argv[i], "--persistent") == 0) {
      persistent = std::strcmp(argv[i + 1], "0") != 0;
    } else if (std::strcmp(argv[i], "--requests") == 0) {
      requests = std::atoi(argv[i + 1]);
    }
  }
  {
    const std::string url = "inproc://bench";
    auto publisher = Open(url);
    auto consumer = Open(url);
    Throughput("inproc", *publisher, *consumer, messages);
    RoundTrip("inproc", *publisher, requests);
  }
  const char* amqp_url = std::getenv("CLOUDIFY_TEST_AMQP_URL");
  if (amqp_url == nullptr || *amqp_url == '\0') {
    std::printf("amqp: CLOUDIFY_TEST_AMQP_URL not set, skipped\n");
    return 0;
  }
  auto publisher = Open(amqp_url);
  auto consumer = Open(amqp_url);
  Throughput("amqp", *publisher, *consumer, amqp_messages);
  RoundTrip("amqp", *publisher, std::min(requests, 5000));
  return 0;
}
