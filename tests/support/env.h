// The URLs of the real servers the integration tests use (README's test command sets them).
#pragma once

#include <cstdlib>
#include <string>

#include <doctest/doctest.h>

namespace cloudify::testing {

// The value of an environment variable, or "" when unset.
inline std::string EnvOr(const char* name, const char* fallback = "") {
  const char* value = std::getenv(name);  // NOLINT(concurrency-mt-unsafe): read-only use
  return value != nullptr ? value : fallback;
}

inline std::string PostgresTestUrl() { return EnvOr("CLOUDIFY_TEST_POSTGRES_URL"); }
inline std::string AmqpTestUrl() { return EnvOr("CLOUDIFY_TEST_AMQP_URL"); }

// Marks a test case that runs a manager on CLOUDIFY_TEST_AMQP_URL's vhost. Managers on one
// vhost consume its shared queues (events and logs, workflows), which is right only when they
// share a store too; CTest runs the cases of this suite one at a time (tests/CMakeLists.txt).
inline const doctest::test_suite kSharedAmqpVhost("shared-amqp-vhost");

// True when `url` is set. When it is not, the calling test returns early with a message, or,
// under CLOUDIFY_REQUIRE_SERVERS=1 (the README's test command), fails: CI never skips silently.
inline bool HaveServer(const std::string& url, const char* variable) {
  if (!url.empty()) {
    return true;
  }
  if (!EnvOr("CLOUDIFY_REQUIRE_SERVERS").empty()) {
    FAIL(variable << " is not set but CLOUDIFY_REQUIRE_SERVERS is");
  }
  MESSAGE(variable << " is not set: nothing to test against");
  return false;
}

}  // namespace cloudify::testing
