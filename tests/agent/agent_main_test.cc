// cloudify-agent's flags.
#include <doctest/doctest.h>

#include "cloudify/agent/worker.h"

namespace cloudify::agent {
namespace {

TEST_CASE("ParseAgentFlags: every flag lands in WorkerOptions and --name is required") {
  auto parsed = ParseAgentFlags({"--name",
                                 "vm_1",
                                 "--bus-url",
                                 "amqp://u:p@mq:5672/t",
                                 "--rest-url",
                                 "https://10.0.0.5:53333",
                                 "--rest-token",
                                 "ctok-x",
                                 "--tenant",
                                 "t1",
                                 "--work-dir",
                                 "/var/agent",
                                 "--max-workers",
                                 "3",
                                 "--ctx-dir",
                                 "/opt/bin",
                                 "--node-instance-id",
                                 "vm_1",
                                 "--ip",
                                 "10.0.0.9",
                                 "--install-method",
                                 "remote",
                                 "--heartbeat-seconds",
                                 "5"});
  REQUIRE_MESSAGE(parsed.ok(), parsed.status().ToString());
  const WorkerOptions& o = parsed->options;
  CHECK(o.name == "vm_1");
  CHECK(o.bus_url == "amqp://u:p@mq:5672/t");
  CHECK(o.rest_url == "https://10.0.0.5:53333");
  CHECK(o.rest_token == "ctok-x");
  CHECK(o.tenant == "t1");
  CHECK(o.work_dir == "/var/agent");
  CHECK(o.max_workers == 3);
  CHECK(o.ctx_dir == "/opt/bin");
  CHECK(o.node_instance_id == "vm_1");
  CHECK(o.ip == "10.0.0.9");
  CHECK(o.install_method == "remote");
  CHECK(o.heartbeat_interval == std::chrono::seconds(5));

  auto basic = ParseAgentFlags({"--name=a", "--rest-username=admin", "--rest-password=pw"});
  REQUIRE(basic.ok());
  CHECK(basic->options.username == "admin");
  CHECK(basic->options.password == "pw");
  CHECK(basic->options.bus_url == "inproc://");  // the defaults stay
  CHECK(basic->options.max_workers == 5);
  CHECK(basic->options.node_instance_id.empty());  // not registered
  CHECK(basic->options.install_method == "provided");
  CHECK(basic->options.heartbeat_interval == std::chrono::seconds(30));

  CHECK(ParseAgentFlags({}).status().code() == ErrorCode::kBadParameters);
  CHECK(ParseAgentFlags({"--name=a", "--max-workers=0"}).status().code() ==
        ErrorCode::kBadParameters);
  CHECK(ParseAgentFlags({"--name=a", "--heartbeat-seconds=0"}).status().code() ==
        ErrorCode::kBadParameters);
  auto help = ParseAgentFlags({"--help"});
  REQUIRE(help.ok());
  CHECK(help->help);
  CHECK(help->help_text.find("--rest-url") != std::string::npos);
}

}  // namespace
}  // namespace cloudify::agent
