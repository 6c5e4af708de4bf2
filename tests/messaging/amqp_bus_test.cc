// What only the RabbitMQ backend does: URL parsing with amqp_parse_url, login and TLS errors,
// and recovery when the broker closes the connection (rabbitmqctl close_connection) while
// publishing and consuming.
#include "messaging/amqp/amqp_bus.h"

#include <atomic>
#include <chrono>
#include <cstdio>
#include <map>
#include <mutex>
#include <set>
#include <string>
#include <thread>
#include <vector>

#include <arpa/inet.h>
#include <doctest/doctest.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include "messaging/bus_test_support.h"
#include "support/env.h"

namespace cloudify::messaging::amqp {
namespace {

using namespace std::chrono_literals;
using testing::Body;
using testing::Collector;
using testing::ScopedQueues;
using testing::TestOptions;
using testing::UniqueName;

TEST_CASE("AmqpBus: URLs are parsed by amqp_parse_url") {
  SUBCASE("full amqp URL") {
    auto endpoint = ParseAmqpUrl("amqp://cloudify:s%40cret@broker.local:5673/tenant_vhost");
    REQUIRE(endpoint.ok());
    CHECK(endpoint->host == "broker.local");
    CHECK(endpoint->port == 5673);
    CHECK(endpoint->user == "cloudify");
    CHECK(endpoint->password == "s@cret");
    CHECK(endpoint->vhost == "tenant_vhost");
    CHECK_FALSE(endpoint->tls);
  }
  SUBCASE("amqps defaults to TLS on 5671") {
    auto endpoint = ParseAmqpUrl("amqps://u:p@broker.local/v");
    REQUIRE(endpoint.ok());
    CHECK(endpoint->tls);
    CHECK(endpoint->port == 5671);
  }
  SUBCASE("malformed URLs are bad parameters and never show the password") {
    for (const char* url : {"amqp://user:hunter2@host:notaport/v", "http://user:hunter2@host/",
                            "amqp://user:hunter2@host:5672/a/b"}) {
      auto endpoint = ParseAmqpUrl(url);
      CHECK_MESSAGE(endpoint.status().code() == ErrorCode::kBadParameters, url);
      CHECK_MESSAGE(endpoint.status().message().find("hunter2") == std::string::npos,
                    endpoint.status().message());
    }
    auto bus = OpenBus("amqp://user:hunter2@host:notaport/v", {});
    CHECK(bus.status().code() == ErrorCode::kBadParameters);
  }
}

// A TCP listener on a free loopback port that accepts and never speaks AMQP.
class SilentListener {
 public:
  SilentListener() {
    fd_ = socket(AF_INET, SOCK_STREAM, 0);
    sockaddr_in addr{};
    addr.sin_family = AF_INET;
    addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    addr.sin_port = 0;
    REQUIRE(bind(fd_, reinterpret_cast<sockaddr*>(&addr), sizeof(addr)) == 0);
    REQUIRE(listen(fd_, 4) == 0);
    socklen_t len = sizeof(addr);
    REQUIRE(getsockname(fd_, reinterpret_cast<sockaddr*>(&addr), &len) == 0);
    port_ = ntohs(addr.sin_port);
  }
  ~SilentListener() { close(fd_); }
  int port() const { return port_; }

 private:
  int fd_ = -1;
  int port_ = 0;
};

TEST_CASE("AmqpBus: a broker that does not answer is unavailable after the timeout, no hang") {
  SilentListener listener;
  BusOptions options = TestOptions();
  options.operation_timeout = 500ms;
  const auto start = std::chrono::steady_clock::now();
  auto bus = OpenBus("amqp://u:p@127.0.0.1:" + std::to_string(listener.port()) + "/v", options);
  CHECK(bus.status().code() == ErrorCode::kUnavailable);
  CHECK_MESSAGE(bus.status().message().find("127.0.0.1") != std::string::npos,
                bus.status().message());
  CHECK(std::chrono::steady_clock::now() - start < 5s);
}

TEST_CASE("AmqpBus: nothing listening is unavailable") {
  int port = 0;
  {
    SilentListener listener;  // a port that was free a moment ago, closed again
    port = listener.port();
  }
  auto bus = OpenBus("amqp://u:p@127.0.0.1:" + std::to_string(port) + "/v", TestOptions());
  CHECK(bus.status().code() == ErrorCode::kUnavailable);
  CHECK(!bus.status().message().empty());
}

// The test broker's URL with other credentials or vhost.
std::string WithCredentials(const std::string& user, const std::string& password,
                            const std::string& vhost) {
  auto endpoint = ParseAmqpUrl(cloudify::testing::AmqpTestUrl());
  REQUIRE(endpoint.ok());
  return "amqp://" + user + ":" + password + "@" + endpoint->host + ":" +
         std::to_string(endpoint->port) + "/" + vhost;
}

TEST_CASE("AmqpBus: wrong credentials and vhosts are unauthorized, with a clear message") {
  if (!cloudify::testing::HaveServer(cloudify::testing::AmqpTestUrl(), "CLOUDIFY_TEST_AMQP_URL")) {
    return;
  }
  auto endpoint = ParseAmqpUrl(cloudify::testing::AmqpTestUrl());
  REQUIRE(endpoint.ok());
  SUBCASE("wrong password") {
    const auto start = std::chrono::steady_clock::now();
    auto bus =
        OpenBus(WithCredentials(endpoint->user, "wrong-password", endpoint->vhost), TestOptions());
    CHECK(bus.status().code() == ErrorCode::kUnauthorized);
    CHECK_MESSAGE(bus.status().message().find(endpoint->user) != std::string::npos,
                  bus.status().message());
    CHECK(bus.status().message().find("wrong-password") == std::string::npos);
    CHECK(std::chrono::steady_clock::now() - start < 10s);
  }
  SUBCASE("unknown vhost") {
    auto bus =
        OpenBus(WithCredentials(endpoint->user, endpoint->password, UniqueName("no-such-vhost")),
                TestOptions());
    CHECK(bus.status().code() == ErrorCode::kUnauthorized);
    CHECK_MESSAGE(bus.status().message().find("vhost") != std::string::npos,
                  bus.status().message());
  }
}

TEST_CASE("AmqpBus: amqps URLs are accepted and a TLS failure is a clear error") {
  if (!cloudify::testing::HaveServer(cloudify::testing::AmqpTestUrl(), "CLOUDIFY_TEST_AMQP_URL")) {
    return;
  }
  auto endpoint = ParseAmqpUrl(cloudify::testing::AmqpTestUrl());
  REQUIRE(endpoint.ok());
  // The test broker speaks plain AMQP on its port: the TLS handshake fails.
  const std::string url = "amqps://" + endpoint->user + ":" + endpoint->password + "@" +
                          endpoint->host + ":" + std::to_string(endpoint->port) + "/" +
                          endpoint->vhost;
  SUBCASE("handshake with a non-TLS broker") {
    BusOptions options = TestOptions();
    options.tls_verify_peer = false;
    auto bus = OpenBus(url, options);
    CHECK(bus.status().code() == ErrorCode::kUnavailable);
    CHECK_MESSAGE(bus.status().message().find("TLS") != std::string::npos, bus.status().message());
  }
  SUBCASE("a CA file that does not exist") {
    BusOptions options = TestOptions();
    options.tls_ca_cert_file = "does-not-exist/ca.pem";
    auto bus = OpenBus(url, options);
    CHECK(bus.status().code() == ErrorCode::kBadParameters);
    CHECK(bus.status().message().find("does-not-exist/ca.pem") != std::string::npos);
  }
}

// Runs a shell command, returning its standard output.
std::string Run(const std::string& command) {
  std::string output;
  FILE* pipe = popen(command.c_str(), "r");
  REQUIRE(pipe != nullptr);
  char buffer[4096];
  size_t n = 0;
  while ((n = fread(buffer, 1, sizeof(buffer), pipe)) > 0) {
    output.append(buffer, n);
  }
  pclose(pipe);
  return output;
}

// Closes, from the broker's side, the connection whose client-provided name is `name`.
// Returns false when no such connection was found.
bool CloseConnectionFromBroker(const std::string& name) {
  const std::string node = cloudify::testing::EnvOr("RABBITMQ_NODENAME", "rabbit@localhost");
  const std::string listing =
      Run("rabbitmqctl -q -n '" + node + "' list_connections pid client_properties 2>&1");
  std::string pid;
  size_t line_start = 0;
  while (line_start < listing.size()) {
    size_t line_end = listing.find('\n', line_start);
    if (line_end == std::string::npos) {
      line_end = listing.size();
    }
    const std::string line = listing.substr(line_start, line_end - line_start);
    if (line.find("\"" + name + "\"") != std::string::npos) {
      pid = line.substr(0, line.find_first_of(" \t"));
      break;
    }
    line_start = line_end + 1;
  }
  if (pid.empty()) {
    MESSAGE("no connection named " << name << " in:\n" << listing);
    return false;
  }
  Run("rabbitmqctl -q -n '" + node + "' close_connection '" + pid + "' 'libcloudify fault test'");
  return true;
}

TEST_CASE("AmqpBus: a connection closed by the broker while publishing and consuming recovers") {
  if (!cloudify::testing::HaveServer(cloudify::testing::AmqpTestUrl(), "CLOUDIFY_TEST_AMQP_URL")) {
    return;
  }
  const std::string connection_name = UniqueName("fault-conn");
  auto opened = OpenBus(cloudify::testing::AmqpTestUrl(), TestOptions(connection_name));
  REQUIRE_MESSAGE(opened.ok(), opened.status().ToString());
  std::unique_ptr<Bus> bus = std::move(opened).value();
  ScopedQueues queues(*bus);
  const std::string queue = queues.Add("fault", /*durable=*/true);

  std::mutex mu;
  std::set<std::string> confirmed;
  std::set<std::string> received;
  std::atomic<int> failed{0};
  std::atomic<int> redelivered{0};
  auto subscription = bus->Consume(queue, {.prefetch = 50}, [&](Delivery delivery) {
    if (delivery.redelivered()) {
      redelivered.fetch_add(1);
    }
    {
      std::lock_guard lock(mu);
      received.insert(delivery.message().body);
    }
    (void)delivery.Ack();  // fails for deliveries of the lost connection: they come again
  });
  REQUIRE(subscription.ok());

  // Publish continuously (at most 2000 unconfirmed) until the broker has closed the
  // connection twice and the bus has recovered each time.
  std::atomic<bool> stop{false};
  std::atomic<int> published{0};
  std::thread publisher([&] {
    Collector pause;
    for (int i = 0; !stop.load() || i < 2000; ++i) {
      while (true) {
        size_t unconfirmed = 0;
        {
          std::lock_guard lock(mu);
          unconfirmed = static_cast<size_t>(i) - confirmed.size() - failed.load();
        }
        if (unconfirmed < 2000) {
          break;
        }
        pause.WaitFor(1, 1ms);
      }
      std::string body = testing::Numbered("m", i);
      bus->PublishAsync("", queue, Body(body), [&, body](Status status) {
        if (status.ok()) {
          std::lock_guard lock(mu);
          confirmed.insert(body);
        } else {
          failed.fetch_add(1);
        }
      });
      published.fetch_add(1);
      if (i % 10 == 9) {
        pause.WaitFor(1, 5ms);  // about 2000 messages a second: enough traffic, a short test
      }
    }
  });
  auto wait_for_reconnects = [&](uint64_t count) {
    Collector pause;
    const auto until = std::chrono::steady_clock::now() + 30s;
    while (bus->Stats().reconnects < count && std::chrono::steady_clock::now() < until) {
      pause.WaitFor(1, 20ms);
    }
    return bus->Stats().reconnects >= count;
  };
  bool closed_twice = CloseConnectionFromBroker(connection_name) && wait_for_reconnects(1) &&
                      CloseConnectionFromBroker(connection_name) && wait_for_reconnects(2);
  stop = true;
  publisher.join();
  REQUIRE(closed_twice);
  REQUIRE(bus->WaitForConfirms(60s).ok());

  // After recovery the consumer resumes: every confirmed message arrives at least once.
  auto count_missing = [&] {
    std::lock_guard lock(mu);
    size_t missing = 0;
    for (const std::string& body : confirmed) {
      missing += received.count(body) == 0 ? 1 : 0;
    }
    return missing;
  };
  Collector pause;
  const auto deadline = std::chrono::steady_clock::now() + 60s;
  size_t missing = count_missing();
  while (missing != 0 && std::chrono::steady_clock::now() < deadline) {
    pause.WaitFor(1, 50ms);
    missing = count_missing();
  }
  CHECK(missing == 0);
  {
    std::lock_guard lock(mu);
    CHECK(confirmed.size() + static_cast<size_t>(failed.load()) ==
          static_cast<size_t>(published.load()));
  }
  CHECK(failed.load() == 0);  // the publish timeout (60 s) is far away: all were retried
  const BusStats stats = bus->Stats();
  CHECK(stats.reconnects >= 2);
  MESSAGE("published " << published.load() << ", reconnects " << stats.reconnects
                       << ", publish retries " << stats.publish_retries << ", redelivered "
                       << redelivered.load());

  // And new traffic flows both ways on the recovered connection.
  const std::string after = UniqueName("after");
  REQUIRE(bus->Publish("", queue, Body(after)).ok());
  bool seen = false;
  for (int i = 0; i < 200 && !seen; ++i) {
    {
      std::lock_guard lock(mu);
      seen = received.count(after) != 0;
    }
    if (!seen) {
      pause.WaitFor(1, 50ms);
    }
  }
  CHECK(seen);
}

TEST_CASE("AmqpBus: unacked deliveries of a closed connection are redelivered") {
  if (!cloudify::testing::HaveServer(cloudify::testing::AmqpTestUrl(), "CLOUDIFY_TEST_AMQP_URL")) {
    return;
  }
  const std::string connection_name = UniqueName("redeliver-conn");
  auto opened = OpenBus(cloudify::testing::AmqpTestUrl(), TestOptions(connection_name));
  REQUIRE(opened.ok());
  std::unique_ptr<Bus> bus = std::move(opened).value();
  ScopedQueues queues(*bus);
  const std::string queue = queues.Add("held", /*durable=*/true);
  for (int i = 0; i < 5; ++i) {
    REQUIRE(bus->Publish("", queue, Body(testing::Numbered("h", i))).ok());
  }
  Collector held(Collector::Mode::kHold);
  auto subscription = bus->Consume(queue, {.prefetch = 10}, held.Handler());
  REQUIRE(subscription.ok());
  REQUIRE(held.WaitFor(5));

  // An exclusive queue dies with its connection; the bus declares it again on the new one.
  const std::string exclusive = UniqueName("exclusive");
  Topology private_queue;
  private_queue.queues = {{.name = exclusive, .durable = false, .exclusive = true}};
  REQUIRE(bus->Declare(private_queue).ok());

  // The connection carries its name and the heartbeat asked for (TestOptions: 5 s).
  const std::string node = cloudify::testing::EnvOr("RABBITMQ_NODENAME", "rabbit@localhost");
  const std::string listing =
      Run("rabbitmqctl -q -n '" + node + "' list_connections client_properties timeout 2>&1");
  bool found = false;
  size_t at = listing.find("\"" + connection_name + "\"");
  if (at != std::string::npos) {
    const size_t line_end = listing.find('\n', at);
    const std::string rest = listing.substr(at, line_end - at);
    found = rest.size() >= 2 && rest.substr(rest.find_last_of(" \t") + 1) == "5";
  }
  CHECK_MESSAGE(found, listing);

  REQUIRE(CloseConnectionFromBroker(connection_name));
  // The consumer is restarted on the new connection and gets all five again, redelivered.
  REQUIRE(held.WaitFor(10, 30s));
  std::set<std::string> again;
  for (size_t i = 5; i < 10; ++i) {
    const Delivery d = held.Deliveries()[i];
    CHECK(d.redelivered());
    again.insert(d.message().body);
    CHECK(d.Ack().ok());
  }
  CHECK(again.size() == 5);
  // Settling a delivery of the lost connection is refused, never sent on the new one.
  CHECK(held.Deliveries()[0].Ack().code() == ErrorCode::kUnavailable);

  // The remembered topology was declared again: the exclusive queue is back and usable.
  CHECK(bus->Stats().reconnects == 1);
  REQUIRE(bus->Publish("", exclusive, Body("still here")).ok());
  Collector on_exclusive;
  auto exclusive_subscription = bus->Consume(exclusive, {}, on_exclusive.Handler());
  REQUIRE_MESSAGE(exclusive_subscription.ok(), exclusive_subscription.status().ToString());
  REQUIRE(on_exclusive.WaitFor(1));
  CHECK(on_exclusive.Deliveries()[0].message().body == "still here");
}

TEST_CASE("AmqpBus: publishes that cannot be confirmed in time fail, they are never dropped") {
  if (!cloudify::testing::HaveServer(cloudify::testing::AmqpTestUrl(), "CLOUDIFY_TEST_AMQP_URL")) {
    return;
  }
  const std::string connection_name = UniqueName("timeout-conn");
  BusOptions options = TestOptions(connection_name);
  // After the broker closes the connection the bus waits 20 s before reconnecting: publishes
  // made meanwhile wait, and fail once their 300 ms are up.
  options.reconnect_initial_backoff = 20s;
  options.reconnect_max_backoff = 20s;
  options.publish_timeout = 300ms;
  auto opened = OpenBus(cloudify::testing::AmqpTestUrl(), options);
  REQUIRE(opened.ok());
  std::unique_ptr<Bus> bus = std::move(opened).value();
  // Exclusive: the broker deletes it with the connection, this test cannot once disconnected.
  const std::string queue = UniqueName("timeout");
  Topology topology;
  topology.queues = {{.name = queue, .durable = false, .exclusive = true}};
  REQUIRE(bus->Declare(topology).ok());
  REQUIRE(bus->Publish("", queue, Body("before")).ok());
  REQUIRE(CloseConnectionFromBroker(connection_name));
  // The I/O thread notices the close at once; wait until publishing fails instead of going out.
  Status status;
  Collector pause;
  const auto deadline = std::chrono::steady_clock::now() + 10s;
  do {
    const auto start = std::chrono::steady_clock::now();
    status = bus->Publish("", queue, Body("during"));
    CHECK(std::chrono::steady_clock::now() - start < 5s);  // bounded by publish_timeout
    if (status.ok()) {
      pause.WaitFor(1, 20ms);
    }
  } while (status.ok() && std::chrono::steady_clock::now() < deadline);
  CHECK(status.code() == ErrorCode::kUnavailable);
  CHECK_MESSAGE(status.message().find("not confirmed") != std::string::npos, status.message());
  CHECK(bus->Stats().publish_failures >= 1);
  // Blocking calls answer while disconnected instead of hanging.
  Topology more;
  more.queues = {{.name = UniqueName("later"), .durable = false}};
  CHECK(bus->Declare(more).code() == ErrorCode::kUnavailable);
  CHECK(bus->WaitForConfirms(5s).ok());
}

}  // namespace
}  // namespace cloudify::messaging::amqp
