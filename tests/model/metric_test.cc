#include "cloudify/model/metric.h"

#include <doctest/doctest.h>

namespace cloudify::model {
namespace {

using nlohmann::json;

// A message as the original's Diamond handler sends it.
json DiamondMessage() {
  return {{"deployment_id", "dep1"},
          {"node_name", "vm"},
          {"node_id", "vm_x1y2"},
          {"host", "vm_x1y2"},
          {"name", "cpu"},
          {"path", "total_system"},
          {"metric", 12.5},
          {"unit", ""},
          {"type", "GAUGE"},
          {"time", 1700000000},
          {"service", "dep1.vm.vm_x1y2.cpu.total.system"}};
}

TEST_CASE("a Diamond message becomes a metric and back") {
  auto m = MetricFromMessage(DiamondMessage());
  REQUIRE_MESSAGE(m.ok(), m.status().ToString());
  CHECK(m->deployment_id == "dep1");
  CHECK(m->node_name == "vm");
  CHECK(m->node_instance_id == "vm_x1y2");  // the message's node_id is the instance
  CHECK(m->host == "vm_x1y2");
  CHECK(m->name == "cpu");
  CHECK(m->path == "total_system");
  CHECK(m->value == 12.5);
  CHECK(m->type == MetricType::kGauge);
  CHECK(m->time == Timestamp(std::chrono::seconds(1'700'000'000)));
  CHECK(m->service == "dep1.vm.vm_x1y2.cpu.total.system");
  CHECK(m->tenant_name.empty());

  json back = MetricToMessage(*m);
  CHECK(back["node_id"] == "vm_x1y2");
  CHECK(back["metric"] == 12.5);
  CHECK(back["time"] == 1700000000.0);
  CHECK_FALSE(back.contains("tenant_name"));
  auto again = MetricFromMessage(back);
  REQUIRE(again.ok());
  CHECK(*again == *m);
}

TEST_CASE("fractional times keep their milliseconds, and a tenant travels when set") {
  json message = DiamondMessage();
  message["time"] = 1700000000.123;
  message["type"] = "COUNTER";
  message["tenant_name"] = "t1";
  auto m = MetricFromMessage(message);
  REQUIRE(m.ok());
  CHECK(m->time == Timestamp(std::chrono::milliseconds(1'700'000'000'123)));
  CHECK(m->type == MetricType::kCounter);
  CHECK(m->tenant_name == "t1");
  CHECK(MetricToMessage(*m)["tenant_name"] == "t1");

  // Only deployment_id and metric are required; an absent time is left for the store.
  auto minimal = MetricFromMessage(json{{"deployment_id", "d"}, {"metric", 1}});
  REQUIRE(minimal.ok());
  CHECK(minimal->time.time_since_epoch().count() == 0);
  CHECK(minimal->type == MetricType::kGauge);
}

TEST_CASE("malformed metric messages are bad parameters naming the field") {
  auto error = [](json message) {
    auto m = MetricFromMessage(message);
    REQUIRE_FALSE(m.ok());
    CHECK(m.status().code() == ErrorCode::kBadParameters);
    return m.status().message();
  };
  CHECK(error(json::array()).find("JSON object") != std::string::npos);
  json m = DiamondMessage();
  m.erase("deployment_id");
  CHECK(error(m).find("`deployment_id`") != std::string::npos);
  m = DiamondMessage();
  m["metric"] = "12";
  CHECK(error(m).find("`metric`") != std::string::npos);
  m.erase("metric");
  CHECK(error(m).find("missing") != std::string::npos);
  m = DiamondMessage();
  m["type"] = "HISTOGRAM";
  CHECK(error(m).find("GAUGE or COUNTER") != std::string::npos);
  m = DiamondMessage();
  m["time"] = -1;
  CHECK(error(m).find("`time`") != std::string::npos);
  m = DiamondMessage();
  m["node_name"] = 7;
  CHECK(error(m).find("`node_name`") != std::string::npos);
}

TEST_CASE("metric type names are the original's") {
  CHECK(MetricTypeName(MetricType::kGauge) == "GAUGE");
  CHECK(MetricTypeName(MetricType::kCounter) == "COUNTER");
  CHECK(ParseMetricType("COUNTER") == MetricType::kCounter);
  CHECK_FALSE(ParseMetricType("gauge").has_value());
}

}  // namespace
}  // namespace cloudify::model
