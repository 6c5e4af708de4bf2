// The in-process broker behind "inproc://[name]": the AMQP model (exchanges, queues, bindings,
// prefetch, ack/nack, redelivery) in memory, with no thread of its own. Each subscription has a
// dispatch thread; publishing routes and hands messages to consumers under one mutex per queue.
// A dispatch thread takes everything handed to it at once and counts its handlers' acks back
// per batch, so that publisher and consumer on two cores meet on that mutex once per batch
// rather than once per message.
//
// Thread-safety: as the Bus interface. Ownership: the broker lives while a Bus opened on it does.
#pragma once

#include <memory>
#include <string_view>

#include "cloudify/messaging/bus.h"

namespace cloudify::messaging::inproc {

// `name` empty: a private broker; otherwise the process-wide broker of that name.
Result<std::unique_ptr<Bus>> OpenInprocBus(std::string_view name, BusOptions options);

// True when `key` matches the topic-exchange `pattern` ('*' one word, '#' zero or more words).
bool TopicMatches(std::string_view pattern, std::string_view key);

}  // namespace cloudify::messaging::inproc
