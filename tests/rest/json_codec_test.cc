#include "rest/json_codec.h"

#include <chrono>

#include <doctest/doctest.h>

namespace cloudify::rest {
namespace {

using nlohmann::json;
const Timestamp kT{std::chrono::milliseconds(1616687490526)};  // 2021-03-25T15:51:30.526Z

TEST_CASE("executions carry the original's fields, status_display and null timestamps") {
  model::Execution e;
  e.id = "e1";
  e.workflow_id = "install";
  e.deployment_id = "web";
  e.status = model::ExecutionStatus::kTerminated;
  e.meta.created_by = "admin";
  e.meta.created_at = kT;
  e.started_at = kT;
  json j = ToWire(e);
  for (const char* key : {"id",
                          "workflow_id",
                          "deployment_id",
                          "deployment_display_name",
                          "blueprint_id",
                          "status",
                          "status_display",
                          "error",
                          "parameters",
                          "is_system_workflow",
                          "is_dry_run",
                          "allow_custom_parameters",
                          "created_at",
                          "started_at",
                          "ended_at",
                          "scheduled_for",
                          "resume",
                          "total_operations",
                          "finished_operations",
                          "visibility",
                          "tenant_name",
                          "created_by"}) {
    CAPTURE(key);
    CHECK(j.contains(key));
  }
  CHECK(j["status"] == "terminated");
  CHECK(j["status_display"] == "completed");
  CHECK(j["started_at"] == "2021-03-25T15:51:30.526Z");
  CHECK(j["ended_at"].is_null());
  CHECK(j["blueprint_id"].is_null());
  CHECK(j["tenant_name"] == "default_tenant");
  CHECK(j["resource_availability"] == "tenant");
  CHECK(j["private_resource"] == false);
}

TEST_CASE("node instances carry state, version, relationships and host") {
  model::NodeInstance ni;
  ni.id = "app_abc123";
  ni.node_id = "app";
  ni.deployment_id = "web";
  ni.host_id = "vm_def456";
  ni.state = model::NodeInstanceState::kStarted;
  ni.version = 7;
  ni.runtime_properties = {{"ip", "10.0.0.7"}};
  ni.relationships.push_back({"db_aaaaaa", "db", "cloudify.relationships.connected_to"});
  ni.scaling_groups.push_back({"g", "g_bbbbbb"});
  json j = ToWire(ni);
  CHECK(j["state"] == "started");
  CHECK(j["version"] == 7);
  CHECK(j["host_id"] == "vm_def456");
  CHECK(j["runtime_properties"]["ip"] == "10.0.0.7");
  CHECK(j["relationships"][0] == json{{"target_id", "db_aaaaaa"},
                                      {"target_name", "db"},
                                      {"type", "cloudify.relationships.connected_to"}});
  CHECK(j["scaling_groups"][0]["id"] == "g_bbbbbb");
  ni.host_id.reset();
  CHECK(ToWire(ni)["host_id"].is_null());
}

TEST_CASE("events and logs carry every key the CLI reads, null when unknown") {
  model::Event event;
  event.kind = model::EventKind::kEvent;
  event.event_type = "task_succeeded";
  event.message = "done";
  event.execution_id = "e1";
  json j = ToWire(event);
  for (const char* key : {"deployment_id", "execution_id", "node_name", "operation", "workflow_id",
                          "node_instance_id", "source_id", "target_id", "message", "error_causes",
                          "timestamp", "reported_timestamp", "type"}) {
    CAPTURE(key);
    CHECK(j.contains(key));
  }
  CHECK(j["type"] == "cloudify_event");
  CHECK(j["event_type"] == "task_succeeded");
  CHECK(j["node_name"].is_null());
  CHECK_FALSE(j.contains("level"));

  model::Event log;
  log.kind = model::EventKind::kLog;
  log.level = LogLevel::kWarning;
  log.logger = "ctx";
  json l = ToWire(log);
  CHECK(l["type"] == "cloudify_log");
  CHECK(l["level"] == "warning");
  CHECK(l["logger"] == "ctx");
  CHECK_FALSE(l.contains("event_type"));
}

TEST_CASE("secret values appear only when allowed, never in lists") {
  model::Secret s;
  s.key = "db_password";
  s.value = "hunter2";
  s.is_hidden_value = true;
  CHECK(SecretToWire(s, true)["value"] == "hunter2");
  CHECK(SecretToWire(s, false)["value"] == "");
  json item = SecretListItemToWire(s);
  CHECK_FALSE(item.contains("value"));
  CHECK_FALSE(item.contains("schema"));
  CHECK(item["key"] == "db_password");
  CHECK(item["is_hidden_value"] == true);
  CHECK(item.dump().find("hunter2") == std::string::npos);
}

TEST_CASE("users never carry their password hash") {
  model::User u;
  u.username = "alice";
  u.password_hash = "pbkdf2_sha256$1$salt$hash";
  u.tenant_roles["default_tenant"] = model::TenantRole::kViewer;
  json j = ToWire(u);
  CHECK(j["username"] == "alice");
  CHECK(j["role"] == "default");
  CHECK(j["tenant_roles"]["default_tenant"] == "viewer");
  CHECK(j.dump().find("pbkdf2") == std::string::npos);
}

}  // namespace
}  // namespace cloudify::rest
