// The contract between the README's test command and the integration tests: when the URLs
// are set, the servers behind them answer real queries. The storage and messaging suites build
// on this; if these fail, the environment is broken, not the library.
#include <string>

#include <amqp.h>
#include <amqp_tcp_socket.h>
#include <doctest/doctest.h>
#include <soci/postgresql/soci-postgresql.h>
#include <soci/soci.h>

#include "cloudify/url.h"

#include "support/env.h"

namespace cloudify::testing {
namespace {

TEST_CASE("PostgreSQL at CLOUDIFY_TEST_POSTGRES_URL answers a query") {
  if (!HaveServer(PostgresTestUrl(), "CLOUDIFY_TEST_POSTGRES_URL")) {
    return;
  }
  // SOCI 4.0's PostgreSQL backend rewrites its connection string as key=value pairs and
  // mangles a URI, so the URL is handed over in libpq's keyword form.
  Result<Url> url = ParseUrl(PostgresTestUrl());
  REQUIRE(url.ok());
  std::string conninfo = "host=" + url->host + " port=" + std::to_string(url->port) +
                         " dbname=" + url->path.substr(1) + " user=" + url->user +
                         " password=" + url->password;
  soci::session sql(soci::postgresql, conninfo);
  int answer = 0;
  sql << "SELECT 40 + 2", soci::into(answer);
  CHECK(answer == 42);
  std::string version;
  sql << "SHOW server_version", soci::into(version);
  CHECK_FALSE(version.empty());
}

TEST_CASE("RabbitMQ at CLOUDIFY_TEST_AMQP_URL accepts a login and a queue") {
  if (!HaveServer(AmqpTestUrl(), "CLOUDIFY_TEST_AMQP_URL")) {
    return;
  }
  std::string url = AmqpTestUrl();
  amqp_connection_info info;
  REQUIRE(amqp_parse_url(url.data(), &info) == AMQP_STATUS_OK);
  amqp_connection_state_t conn = amqp_new_connection();
  amqp_socket_t* socket = amqp_tcp_socket_new(conn);
  REQUIRE(socket != nullptr);
  REQUIRE(amqp_socket_open(socket, info.host, info.port) == AMQP_STATUS_OK);
  amqp_rpc_reply_t login =
      amqp_login(conn, info.vhost, 0, 131072, 0, AMQP_SASL_METHOD_PLAIN, info.user, info.password);
  REQUIRE(login.reply_type == AMQP_RESPONSE_NORMAL);
  amqp_channel_open(conn, 1);
  REQUIRE(amqp_get_rpc_reply(conn).reply_type == AMQP_RESPONSE_NORMAL);
  amqp_queue_declare_ok_t* declared =
      amqp_queue_declare(conn, 1, amqp_empty_bytes, 0, 0, 1, 1, amqp_empty_table);
  REQUIRE(declared != nullptr);
  CHECK(declared->queue.len > 0);
  amqp_channel_close(conn, 1, AMQP_REPLY_SUCCESS);
  amqp_connection_close(conn, AMQP_REPLY_SUCCESS);
  amqp_destroy_connection(conn);
}

}  // namespace
}  // namespace cloudify::testing
