// OpenBus: URL schemes and the errors for bad URLs and credentials.
#include <chrono>
#include <string>

#include <doctest/doctest.h>

#include "cloudify/messaging/bus.h"

#include "messaging/bus_test_support.h"

namespace cloudify::messaging {
namespace {

TEST_CASE("OpenBus: malformed URLs and unknown schemes are bad parameters") {
  for (const char* url :
       {"", "nonsense", "inproc:/", "ftp://host/x", "inproc://a/b", "inproc://x?y=1"}) {
    auto bus = OpenBus(url, {});
    CHECK_MESSAGE(bus.status().code() == ErrorCode::kBadParameters, url);
    CHECK_MESSAGE(!bus.status().message().empty(), url);
  }
}

TEST_CASE("OpenBus: inproc URLs open") {
  CHECK(OpenBus("inproc://", {}).ok());
  CHECK(OpenBus("inproc://" + testing::UniqueName("named"), {}).ok());
}

}  // namespace
}  // namespace cloudify::messaging
