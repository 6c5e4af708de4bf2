// Metric: one sample of a node instance's monitoring, as the original's Diamond handler publishes
// it to the `cloudify-monitoring` exchange (WORKFLOWS.md §5.1) and the manager stores it.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

#include <nlohmann/json.hpp>

#include "cloudify/clock.h"
#include "cloudify/status.h"

namespace cloudify::model {

enum class MetricType { kGauge, kCounter };

std::string_view MetricTypeName(MetricType t);  // "GAUGE", "COUNTER"
std::optional<MetricType> ParseMetricType(std::string_view name);

struct Metric {
  int64_t storage_id = 0;  // assigned by the store; the keyset-paging key
  Timestamp time{};        // when sampled (the message's epoch seconds)
  std::string deployment_id;
  std::string node_name;         // the node's id
  std::string node_instance_id;  // the message's `node_id`
  std::string host;              // the host instance's id
  std::string name;              // the collector, e.g. "cpu"
  std::string path;              // the metric within it, e.g. "total_system"
  double value = 0;              // the message's `metric`
  std::string unit;
  MetricType type = MetricType::kGauge;
  // "<deployment>.<node>.<instance>.<collector>.<raw.path>", as the message carries it.
  std::string service;
  std::string tenant_name;

  bool operator==(const Metric&) const = default;
};

// The message body of the monitoring exchange: {"deployment_id", "node_name", "node_id", "host",
// "name", "path", "metric", "unit", "type", "time", "service"}, and "tenant_name" when set (an
// addition of ours; the original's messages carry none).
nlohmann::json MetricToMessage(const Metric& metric);
// kBadParameters naming the field for a body that is not such a message (no deployment_id, a
// metric that is not a number, an unknown type). Absent optional fields keep their defaults;
// an absent time is left unset for the store to stamp.
Result<Metric> MetricFromMessage(const nlohmann::json& message);

}  // namespace cloudify::model
