#include "cloudify/url.h"

#include <doctest/doctest.h>

namespace cloudify {
namespace {

TEST_CASE("backend URLs split into their parts") {
  SUBCASE("sqlite file") {
    Url u = *ParseUrl("sqlite:///var/lib/cloudify/db.sqlite");
    CHECK(u.scheme == "sqlite");
    CHECK(u.host.empty());
    CHECK(u.path == "/var/lib/cloudify/db.sqlite");
  }
  SUBCASE("sqlite in memory") {
    Url u = *ParseUrl("sqlite://:memory:");
    CHECK(u.scheme == "sqlite");
    CHECK(u.host == ":memory:");
    CHECK(u.port == 0);
    CHECK(u.path.empty());
  }
  SUBCASE("postgresql with credentials, port and options") {
    Url u = *ParseUrl("postgresql://cloudify:s%40cret@db.local:5433/cloudify?sslmode=require");
    CHECK(u.scheme == "postgresql");
    CHECK(u.user == "cloudify");
    CHECK(u.password == "s@cret");
    CHECK(u.host == "db.local");
    CHECK(u.port == 5433);
    CHECK(u.path == "/cloudify");
    REQUIRE(u.query.size() == 1);
    CHECK(u.query[0].first == "sslmode");
    CHECK(u.query[0].second == "require");
  }
  SUBCASE("inproc") {
    Url u = *ParseUrl("inproc://");
    CHECK(u.scheme == "inproc");
    CHECK(u.host.empty());
  }
  SUBCASE("amqp with an IPv6 host and a vhost") {
    Url u = *ParseUrl("AMQP://guest:guest@[::1]:5672/%2F");
    CHECK(u.scheme == "amqp");
    CHECK(u.host == "::1");
    CHECK(u.port == 5672);
    CHECK(u.path == "//");
  }
}

TEST_CASE("Redacted hides the password") {
  Url u = *ParseUrl("amqp://user:topsecret@host:5672/vhost");
  CHECK(u.Redacted() == "amqp://user:***@host:5672/vhost");
  CHECK(u.Redacted().find("topsecret") == std::string::npos);
}

TEST_CASE("malformed URLs are bad parameters that name the URL") {
  for (const char* bad : {"", "sqlite", "://x", "1abc://x", "pg://h:99999/db", "pg://h:12ab/db",
                          "pg://u:p%zz@h/db", "pg://[::1/db", "pg://[::1]x/db"}) {
    CAPTURE(bad);
    auto r = ParseUrl(bad);
    REQUIRE_FALSE(r.ok());
    CHECK(r.status().code() == ErrorCode::kBadParameters);
  }
  CHECK(ParseUrl("pg://h:99999/db").status().message().find("99999") != std::string::npos);
}

TEST_CASE("PercentDecode decodes escapes and refuses broken ones") {
  CHECK(*PercentDecode("a%20b%2Fc") == "a b/c");
  CHECK(*PercentDecode("plain") == "plain");
  CHECK_FALSE(PercentDecode("%4").ok());
  CHECK_FALSE(PercentDecode("%").ok());
  CHECK_FALSE(PercentDecode("%g1").ok());
}

}  // namespace
}  // namespace cloudify
