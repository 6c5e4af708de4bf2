// OpenBus: chooses the backend from the URL's scheme. The only file that knows both backends.
#include <string>

#include "cloudify/messaging/bus.h"

#include "messaging/amqp/amqp_bus.h"
#include "messaging/inproc/inproc_bus.h"

namespace cloudify::messaging {

Result<std::unique_ptr<Bus>> OpenBus(std::string_view url, BusOptions options) {
  const size_t colon = url.find("://");
  if (colon == std::string_view::npos) {
    return BadParametersError("bus URL '" + std::string(url.substr(0, url.find('@'))) +
                              "' is not of the form inproc://[name], amqp://... or amqps://...");
  }
  const std::string_view scheme = url.substr(0, colon);
  const std::string_view rest = url.substr(colon + 3);
  if (scheme == "inproc") {
    if (rest.find_first_of("/?#@:") != std::string_view::npos) {
      return BadParametersError("inproc bus URL '" + std::string(url) +
                                "' may only name a broker: inproc://[name]");
    }
    return inproc::OpenInprocBus(rest, std::move(options));
  }
  if (scheme == "amqp" || scheme == "amqps") {
    return amqp::OpenAmqpBus(url, std::move(options));
  }
  return BadParametersError("bus URL has unknown scheme '" + std::string(scheme) +
                            "' (expected inproc, amqp or amqps)");
}

}  // namespace cloudify::messaging
