#include "cloudify/model/metric.h"

#include <array>
#include <cmath>

#include "common/enum_table.h"

namespace cloudify::model {
namespace {

constexpr std::array<EnumName<MetricType>, 2> kTypeNames{{
    {MetricType::kGauge, "GAUGE"},
    {MetricType::kCounter, "COUNTER"},
}};

// A string field of the message: absent or null leaves `out` alone.
Status ReadText(const nlohmann::json& message, const char* field, std::string& out) {
  auto it = message.find(field);
  if (it == message.end() || it->is_null()) {
    return Status::Ok();
  }
  if (!it->is_string()) {
    return BadParametersError(std::string("metric message field `") + field +
                              "` must be a string, not " + it->dump());
  }
  out = it->get<std::string>();
  return Status::Ok();
}

}  // namespace

std::string_view MetricTypeName(MetricType t) { return NameOf<MetricType>(kTypeNames, t); }

std::optional<MetricType> ParseMetricType(std::string_view name) {
  return ValueOf<MetricType>(kTypeNames, name);
}

nlohmann::json MetricToMessage(const Metric& m) {
  nlohmann::json message = {
      {"deployment_id", m.deployment_id},
      {"node_name", m.node_name},
      {"node_id", m.node_instance_id},
      {"host", m.host},
      {"name", m.name},
      {"path", m.path},
      {"metric", m.value},
      {"unit", m.unit},
      {"type", MetricTypeName(m.type)},
      // Epoch seconds, as Diamond sends them; fractions keep the milliseconds.
      {"time", static_cast<double>(m.time.time_since_epoch().count()) / 1000.0},
      {"service", m.service}};
  if (!m.tenant_name.empty()) {
    message["tenant_name"] = m.tenant_name;  // ours: Diamond's messages carry no tenant
  }
  return message;
}

Result<Metric> MetricFromMessage(const nlohmann::json& message) {
  if (!message.is_object()) {
    return BadParametersError("a metric message must be a JSON object, not " + message.dump());
  }
  Metric m;
  CLOUDIFY_RETURN_IF_ERROR(ReadText(message, "deployment_id", m.deployment_id));
  if (m.deployment_id.empty()) {
    return BadParametersError("metric message field `deployment_id` is missing");
  }
  CLOUDIFY_RETURN_IF_ERROR(ReadText(message, "node_name", m.node_name));
  CLOUDIFY_RETURN_IF_ERROR(ReadText(message, "node_id", m.node_instance_id));
  CLOUDIFY_RETURN_IF_ERROR(ReadText(message, "host", m.host));
  CLOUDIFY_RETURN_IF_ERROR(ReadText(message, "name", m.name));
  CLOUDIFY_RETURN_IF_ERROR(ReadText(message, "path", m.path));
  CLOUDIFY_RETURN_IF_ERROR(ReadText(message, "unit", m.unit));
  CLOUDIFY_RETURN_IF_ERROR(ReadText(message, "service", m.service));
  CLOUDIFY_RETURN_IF_ERROR(ReadText(message, "tenant_name", m.tenant_name));
  auto value = message.find("metric");
  if (value == message.end() || !value->is_number() || !std::isfinite(value->get<double>())) {
    return BadParametersError("metric message field `metric` must be a finite number, not " +
                              (value == message.end() ? std::string("missing") : value->dump()));
  }
  m.value = value->get<double>();
  std::string type = "GAUGE";
  CLOUDIFY_RETURN_IF_ERROR(ReadText(message, "type", type));
  std::optional<MetricType> parsed = ParseMetricType(type);
  if (!parsed) {
    return BadParametersError("metric message field `type` must be GAUGE or COUNTER, not \"" +
                              type + "\"");
  }
  m.type = *parsed;
  auto time = message.find("time");
  if (time != message.end() && !time->is_null()) {
    if (!time->is_number() || time->get<double>() < 0 || !std::isfinite(time->get<double>())) {
      return BadParametersError(
          "metric message field `time` must be epoch seconds (a non-negative number), not " +
          time->dump());
    }
    m.time = Timestamp(std::chrono::milliseconds(std::llround(time->get<double>() * 1000.0)));
  }
  return m;
}

}  // namespace cloudify::model
