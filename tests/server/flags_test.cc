#include <fstream>

#include <doctest/doctest.h>

#include "cloudify/server/server.h"

#include "support/temp_dir.h"

namespace cloudify::server {
namespace {

TEST_CASE("with no flags the manager serves loopback:53333 from ./cloudify-data") {
  auto parsed = ParseFlags({});
  REQUIRE(parsed.ok());
  CHECK(parsed->options.host == "127.0.0.1");
  CHECK(parsed->options.port == 53333);
  CHECK(parsed->options.data_dir == "./cloudify-data");
  CHECK_FALSE(parsed->help);
}

TEST_CASE("flags set the listen address and data dir") {
  auto parsed = ParseFlags({"--listen", "0.0.0.0:8080", "--data-dir", "/tmp/x"});
  REQUIRE(parsed.ok());
  CHECK(parsed->options.host == "0.0.0.0");
  CHECK(parsed->options.port == 8080);
  CHECK(parsed->options.data_dir == "/tmp/x");
  auto v6 = ParseFlags({"--listen=[::1]:9000"});
  REQUIRE(v6.ok());
  CHECK(v6->options.host == "::1");
  CHECK(v6->options.port == 9000);
}

TEST_CASE("--agent-ping-timeout-seconds: 30 by default, 1 to 3600") {
  CHECK(ParseFlags({})->options.agent_ping_timeout_seconds == 30);
  auto parsed = ParseFlags({"--agent-ping-timeout-seconds", "5"});
  REQUIRE(parsed.ok());
  CHECK(parsed->options.agent_ping_timeout_seconds == 5);
  CHECK(ParseFlags({"--agent-ping-timeout-seconds=0"}).status().code() ==
        ErrorCode::kBadParameters);
}

TEST_CASE("--max-remote-waits: 256 by default, 0 to 4096") {
  CHECK(ParseFlags({})->options.max_remote_waits == 256);
  auto parsed = ParseFlags({"--max-remote-waits", "16"});
  REQUIRE(parsed.ok());
  CHECK(parsed->options.max_remote_waits == 16);
  CHECK(ParseFlags({"--max-remote-waits=-1"}).status().code() == ErrorCode::kBadParameters);
}

TEST_CASE("--agent-program: empty by default (the one beside the manager), a path or none") {
  CHECK(ParseFlags({})->options.agent_program.empty());
  auto parsed = ParseFlags({"--agent-program", "/opt/cloudify/bin/cloudify-agent"});
  REQUIRE(parsed.ok());
  CHECK(parsed->options.agent_program == "/opt/cloudify/bin/cloudify-agent");
  CHECK(ParseFlags({"--agent-program=none"})->options.agent_program == "none");
}

TEST_CASE("--help returns the help text instead of options") {
  auto parsed = ParseFlags({"--help"});
  REQUIRE(parsed.ok());
  CHECK(parsed->help);
  CHECK(parsed->help_text.find("--listen") != std::string::npos);
}

TEST_CASE("bad flags are bad parameters with a message") {
  auto unknown = ParseFlags({"--frobnicate"});
  REQUIRE_FALSE(unknown.ok());
  CHECK(unknown.status().code() == ErrorCode::kBadParameters);
  auto port = ParseFlags({"--listen", "127.0.0.1:http"});
  REQUIRE_FALSE(port.ok());
  CHECK(port.status().message().find("127.0.0.1:http") != std::string::npos);
  CHECK_FALSE(ParseFlags({"--listen", "127.0.0.1:70000"}).ok());
  CHECK_FALSE(ParseFlags({"--threads", "0"}).ok());
}

TEST_CASE("a YAML config file sets options, flags override it, unknown keys are errors") {
  testing::TempDir tmp;
  const std::string path = (tmp.path() / "manager.yaml").string();
  std::ofstream(path) << "listen: 127.0.0.1:7000\n"
                         "store_url: sqlite:///srv/db.sqlite\n"
                         "bus-url: amqp://u:p@localhost/v\n"
                         "workers: 3\n"
                         "admin_password: s3cret\n";
  auto parsed = ParseFlags({"--config", path, "--workers", "5"});
  REQUIRE_MESSAGE(parsed.ok(), parsed.status().ToString());
  CHECK(parsed->options.port == 7000);
  CHECK(parsed->options.store_url == "sqlite:///srv/db.sqlite");
  CHECK(parsed->options.bus_url == "amqp://u:p@localhost/v");
  CHECK(parsed->options.workers == 5);  // the flag wins
  CHECK(parsed->options.admin_password == "s3cret");

  std::ofstream(path) << "no_such_option: 1\n";
  auto unknown = ParseFlags({"--config", path});
  REQUIRE_FALSE(unknown.ok());
  CHECK(unknown.status().message().find("no_such_option") != std::string::npos);
  std::ofstream(path) << "listen: [unclosed\n";
  CHECK_FALSE(ParseFlags({"--config", path}).ok());
  CHECK_FALSE(ParseFlags({"--config", (tmp.path() / "missing.yaml").string()}).ok());
  CHECK_FALSE(ParseFlags({"--tls-cert", "c.pem"}).ok());  // needs --tls-key
}

}  // namespace
}  // namespace cloudify::server
