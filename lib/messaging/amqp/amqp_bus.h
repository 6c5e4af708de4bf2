// The RabbitMQ backend behind "amqp://" and "amqps://", over librabbitmq-c.
//
// librabbitmq-c connections are not thread-safe, so each Bus owns one I/O thread that alone
// touches the connection; callers hand it work through queues and an eventfd wake-up.
// Channels: 1 publishes in confirm mode (many publishes in flight, resolved as confirms
// arrive), 2 declares and deletes, and each consumer has its own channel (its prefetch, its
// acks, and a broker error on it affects no one else). After a connection loss the thread
// reconnects with exponential backoff, declares the remembered topology again, restarts the
// consumers and sends unconfirmed publishes again (at least once), failing those older than
// BusOptions::publish_timeout.
//
// Thread-safety: as the Bus interface. Ownership: the Bus owns its thread and connection.
#pragma once

#include <memory>
#include <string>
#include <string_view>

#include "cloudify/messaging/bus.h"

namespace cloudify::messaging::amqp {

// What an amqp(s) URL names, parsed with librabbitmq-c's amqp_parse_url.
struct AmqpEndpoint {
  std::string host;
  int port = 5672;
  std::string user;
  std::string password;
  std::string vhost;
  bool tls = false;
};

// kBadParameters naming the (password-redacted) URL when amqp_parse_url rejects it.
Result<AmqpEndpoint> ParseAmqpUrl(std::string_view url);

// Connects, logs in and declares options.topology; see OpenBus for the errors.
Result<std::unique_ptr<Bus>> OpenAmqpBus(std::string_view url, BusOptions options);

}  // namespace cloudify::messaging::amqp
