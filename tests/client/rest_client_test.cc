#include "cloudify/client/rest_client.h"

#include <doctest/doctest.h>

#include "cloudify/rest/router.h"
#include "cloudify/server/server.h"

namespace cloudify::client {
namespace {

// The manager's real HTTP binding on a free loopback port.
struct ServedRouter {
  ServedRouter() {
    server::ServerOptions options;
    options.port = 0;
    options.threads = 2;
    auto started = server::HttpServer::Start(options, router);
    REQUIRE(started.ok());
    server = std::move(*started);
  }
  ClientOptions Options() const {
    ClientOptions options;
    options.port = server->port();
    options.username = "admin";
    options.password = "admin";
    return options;
  }
  rest::Router router;
  std::unique_ptr<server::HttpServer> server;
};

TEST_CASE("the client reads JSON answers of the manager's root paths and API paths") {
  ServedRouter served;
  auto client = RestClient::Create(served.Options());
  REQUIRE(client.ok());
  CHECK((*client)->BaseUrl() == "http://127.0.0.1:" + std::to_string(served.server->port()));
  auto version = (*client)->Download("/api/version");
  REQUIRE(version.ok());
  CHECK(nlohmann::json::parse(*version).contains("version"));
}

TEST_CASE("the manager's error envelope comes back as a Status with the same code") {
  ServedRouter served;
  auto client = RestClient::Create(served.Options());
  REQUIRE(client.ok());
  auto missing = (*client)->Get("/blueprints/nope/whatever");
  REQUIRE_FALSE(missing.ok());
  CHECK(missing.status().code() == ErrorCode::kNotFound);
  CHECK(missing.status().message().find("not found") != std::string::npos);
}

TEST_CASE("a manager that is down is kUnavailable naming its address") {
  int port = 0;
  {
    ServedRouter served;  // a port that was free a moment ago and is closed now
    port = served.server->port();
  }
  ClientOptions options;
  options.port = port;
  options.timeout = std::chrono::seconds(2);
  auto client = RestClient::Create(options);
  REQUIRE(client.ok());
  auto answer = (*client)->Get("/blueprints");
  REQUIRE_FALSE(answer.ok());
  CHECK(answer.status().code() == ErrorCode::kUnavailable);
  CHECK(answer.status().message().find("127.0.0.1:" + std::to_string(port)) != std::string::npos);
}

TEST_CASE("error answers without the envelope get a code from the HTTP status") {
  CHECK(StatusFromErrorResponse(401, "").code() == ErrorCode::kUnauthorized);
  CHECK(StatusFromErrorResponse(409, "<html>").code() == ErrorCode::kConflict);
  Status envelope = StatusFromErrorResponse(
      400, R"({"message": "Blueprint `x` is invalid", "error_code": "invalid_blueprint_error"})");
  CHECK(envelope.code() == ErrorCode::kInvalidBlueprint);
  CHECK(envelope.message() == "Blueprint `x` is invalid");
  // An unknown code keeps the message and falls back to the status.
  Status unknown = StatusFromErrorResponse(403, R"({"message": "m", "error_code": "brand_new"})");
  CHECK(unknown.code() == ErrorCode::kForbidden);
  CHECK(unknown.message() == "m");
}

TEST_CASE("options are checked when the client is created") {
  ClientOptions options;
  options.host = "";
  CHECK(RestClient::Create(options).status().code() == ErrorCode::kBadParameters);
  options.host = "localhost";
  options.port = 70000;
  CHECK(RestClient::Create(options).status().code() == ErrorCode::kBadParameters);
}

}  // namespace
}  // namespace cloudify::client
