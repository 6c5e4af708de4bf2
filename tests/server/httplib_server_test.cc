#include <doctest/doctest.h>
#include <httplib.h>
#include <nlohmann/json.hpp>

#include "cloudify/server/server.h"

namespace cloudify::server {
namespace {

ServerOptions TestOptions() {
  ServerOptions options;
  options.port = 0;  // a free port: tests never collide
  options.threads = 2;
  options.max_body_bytes = 1024;
  return options;
}

TEST_CASE("the server answers the router's responses over HTTP on loopback") {
  rest::Router router;
  auto server = HttpServer::Start(TestOptions(), router);
  REQUIRE(server.ok());
  int port = (*server)->port();
  CHECK(port > 0);

  httplib::Client client("127.0.0.1", port);
  auto ok = client.Get("/api/v3.1/ok");
  REQUIRE(ok);
  CHECK(ok->status == 200);
  CHECK(ok->body == "OK");

  auto version = client.Get("/api/version");
  REQUIRE(version);
  CHECK(version->get_header_value("Content-Type") == "application/json");
  CHECK(nlohmann::json::parse(version->body).contains("version"));

  auto missing = client.Get("/api/v3.1/blueprints/nope/whatever");
  REQUIRE(missing);
  CHECK(missing->status == 404);
  CHECK(nlohmann::json::parse(missing->body)["error_code"] == "not_found_error");
}

TEST_CASE("bodies over the limit are refused with 413 and the error envelope") {
  rest::Router router;
  auto server = HttpServer::Start(TestOptions(), router);
  REQUIRE(server.ok());
  httplib::Client client("127.0.0.1", (*server)->port());
  auto big = client.Put("/api/v3.1/blueprints/x", std::string(4096, 'x'), "application/json");
  REQUIRE(big);
  CHECK(big->status == 413);
  CHECK(nlohmann::json::parse(big->body)["error_code"] == "payload_too_large_error");
}

TEST_CASE("a port in use is a clear error, and Stop frees the port") {
  rest::Router router;
  auto first = HttpServer::Start(TestOptions(), router);
  REQUIRE(first.ok());
  ServerOptions same = TestOptions();
  same.port = (*first)->port();
  auto second = HttpServer::Start(same, router);
  REQUIRE_FALSE(second.ok());
  CHECK(second.status().code() == ErrorCode::kUnavailable);
  CHECK(second.status().message().find(std::to_string(same.port)) != std::string::npos);

  (*first)->Stop();
  (*first)->Stop();  // idempotent
  auto again = HttpServer::Start(same, router);
  CHECK(again.ok());
}

}  // namespace
}  // namespace cloudify::server
