#include "rest/json_codec.h"

#include <string>

#include "cloudify/model/json.h"

namespace cloudify::rest {
namespace {

using nlohmann::json;

using model::StringOrNull;

}  // namespace

json TimestampOrNull(const std::optional<Timestamp>& t) {
  return t ? json(FormatTimestamp(*t)) : json(nullptr);
}

void AddResourceFields(const model::ResourceMeta& meta, json& out) {
  const std::string visibility(model::VisibilityName(meta.visibility));
  out["visibility"] = visibility;
  out["resource_availability"] = visibility;
  out["private_resource"] = meta.visibility == model::Visibility::kPrivate;
  out["tenant_name"] = meta.tenant_name;
  out["created_by"] = meta.created_by;
  out["created_at"] = FormatTimestamp(meta.created_at);
}

namespace {

json LabelsToWire(const std::vector<model::Label>& labels) {
  json out = json::array();
  for (const auto& l : labels) {
    out.push_back({{"key", l.key},
                   {"value", l.value},
                   {"created_at", FormatTimestamp(l.created_at)},
                   {"created_by", l.created_by}});
  }
  return out;
}

template <typename T>
json DefinitionsToWire(const std::map<std::string, T>& items) {
  return model::ToJson(items);
}

}  // namespace

json ToWire(const model::Blueprint& b) {
  json out = {
      {"id", b.id},
      {"updated_at", FormatTimestamp(b.updated_at)},
      {"main_file_name", b.main_file_name},
      {"description", StringOrNull(b.description)},
      {"plan", b.state == model::BlueprintState::kUploaded ? model::ToJson(b.plan) : json(nullptr)},
      {"requirements", b.requirements},
      {"state", std::string(model::BlueprintStateName(b.state))},
      {"error", StringOrNull(b.error)},
      {"error_traceback", StringOrNull(b.error_traceback)},
      {"is_hidden", b.is_hidden},
      {"labels", LabelsToWire(b.labels)},
      {"upload_execution", nullptr},
  };
  AddResourceFields(b.meta, out);
  return out;
}

json ToWire(const model::Deployment& d) {
  json workflows = json::array();
  for (const auto& [name, spec] : d.workflows) {
    json w = model::ToJson(spec);
    w["name"] = name;
    w["is_available"] = true;
    workflows.push_back(std::move(w));
  }
  json out = {
      {"id", d.id},
      {"display_name", d.display_name.empty() ? d.id : d.display_name},
      {"blueprint_id", d.blueprint_id},
      {"updated_at", FormatTimestamp(d.updated_at)},
      {"description", StringOrNull(d.description)},
      {"inputs", d.inputs},
      {"outputs", DefinitionsToWire(d.outputs)},
      {"capabilities", DefinitionsToWire(d.capabilities)},
      {"groups", DefinitionsToWire(d.groups)},
      {"scaling_groups", DefinitionsToWire(d.scaling_groups)},
      {"policy_types", d.policy_types},
      {"policy_triggers", d.policy_triggers},
      {"workflows", std::move(workflows)},
      {"runtime_only_evaluation", d.runtime_only_evaluation},
      {"site_name", StringOrNull(d.site_name)},
      {"labels", LabelsToWire(d.labels)},
      {"deployment_groups", json::array()},
      {"resource_tags", nullptr},
      {"installation_status", std::string(model::InstallationStatusName(d.installation_status))},
      {"deployment_status", std::string(model::DeploymentStatusName(d.deployment_status))},
      {"sub_services_status", nullptr},
      {"sub_environments_status", nullptr},
      {"sub_services_count", 0},
      {"sub_environments_count", 0},
      {"environment_type", ""},
      {"has_sub_deployments", false},
      {"create_execution", StringOrNull(d.create_execution_id)},
      {"latest_execution", StringOrNull(d.latest_execution_id)},
      {"latest_execution_status",
       d.latest_execution_status
           ? json(std::string(model::LatestExecutionStatusName(*d.latest_execution_status)))
           : json(nullptr)},
      {"unavailable_instances", 0},
      {"drifted_instances", 0},
  };
  AddResourceFields(d.meta, out);
  return out;
}

json ToWire(const model::Node& n) {
  json out = model::ToJson(n.spec);
  out["deployment_id"] = n.deployment_id;
  out["blueprint_id"] = n.blueprint_id;
  out["number_of_instances"] = n.number_of_instances;
  out["planned_number_of_instances"] = n.planned_number_of_instances;
  out["deploy_number_of_instances"] = n.deploy_number_of_instances;
  out["min_number_of_instances"] = n.min_number_of_instances;
  out["max_number_of_instances"] = n.max_number_of_instances;
  out["actual_number_of_instances"] = n.number_of_instances;
  out["actual_planned_number_of_instances"] = n.planned_number_of_instances;
  AddResourceFields(n.meta, out);
  return out;
}

json ToWire(const model::Execution& e) {
  json out = {
      {"id", e.id},
      {"workflow_id", e.workflow_id},
      {"deployment_id", StringOrNull(e.deployment_id)},
      {"deployment_display_name", StringOrNull(e.deployment_display_name)},
      {"blueprint_id", StringOrNull(e.blueprint_id)},
      {"status", std::string(model::ExecutionStatusName(e.status))},
      {"status_display", std::string(model::StatusDisplay(e.status))},
      {"error", e.error},
      {"parameters", e.parameters},
      {"is_system_workflow", e.is_system_workflow},
      {"is_dry_run", e.is_dry_run},
      {"allow_custom_parameters", e.allow_custom_parameters},
      {"started_at", TimestampOrNull(e.started_at)},
      {"ended_at", TimestampOrNull(e.ended_at)},
      {"scheduled_for", TimestampOrNull(e.scheduled_for)},
      {"resume", e.resume},
      {"total_operations", e.total_operations},
      {"finished_operations", e.finished_operations},
  };
  AddResourceFields(e.meta, out);
  return out;
}

json ToWire(const model::NodeInstance& ni) {
  json relationships = json::array();
  for (const auto& rel : ni.relationships) {
    relationships.push_back(
        {{"target_id", rel.target_id}, {"target_name", rel.target_name}, {"type", rel.type}});
  }
  json scaling_groups = json::array();
  for (const auto& group : ni.scaling_groups) {
    scaling_groups.push_back({{"name", group.name}, {"id", group.id}});
  }
  json out = {
      {"id", ni.id},
      {"node_id", ni.node_id},
      {"deployment_id", ni.deployment_id},
      {"host_id", ni.host_id ? json(*ni.host_id) : json(nullptr)},
      {"index", ni.index},
      {"state", std::string(model::NodeInstanceStateName(ni.state))},
      {"version", ni.version},
      {"runtime_properties", ni.runtime_properties},
      {"system_properties", ni.system_properties},
      {"relationships", std::move(relationships)},
      {"scaling_groups", std::move(scaling_groups)},
      {"has_configuration_drift", ni.has_configuration_drift},
      {"is_status_check_ok", ni.is_status_check_ok},
  };
  AddResourceFields(ni.meta, out);
  return out;
}

json ToWire(const model::Event& e) {
  // Every key is present, null when unknown: the CLI's event printer indexes them directly.
  json out = {
      {"type", std::string(model::EventKindName(e.kind))},
      {"timestamp", FormatTimestamp(e.timestamp)},
      {"reported_timestamp", FormatTimestamp(e.reported_timestamp)},
      {"message", e.message},
      {"blueprint_id", StringOrNull(e.blueprint_id)},
      {"deployment_id", StringOrNull(e.deployment_id)},
      {"deployment_display_name", StringOrNull(e.deployment_display_name)},
      {"execution_id", StringOrNull(e.execution_id)},
      {"execution_group_id", StringOrNull(e.execution_group_id)},
      {"workflow_id", StringOrNull(e.workflow_id)},
      {"node_instance_id", StringOrNull(e.node_instance_id)},
      {"node_name", StringOrNull(e.node_name)},
      {"operation", StringOrNull(e.operation)},
      {"source_id", StringOrNull(e.source_id)},
      {"target_id", StringOrNull(e.target_id)},
      {"error_causes", e.error_causes},
      {"manager_name", StringOrNull(e.manager_name)},
      {"agent_name", StringOrNull(e.agent_name)},
      {"tenant_name", StringOrNull(e.tenant_name)},
      {"_storage_id", e.storage_id},
  };
  if (e.kind == model::EventKind::kEvent) {
    out["event_type"] = e.event_type;
  } else {
    out["logger"] = e.logger;
    out["level"] = std::string(LogLevelName(e.level));
  }
  return out;
}

json ToWire(const model::Plugin& p) {
  json out = {
      {"id", p.id},
      {"package_name", p.package_name},
      {"package_version", p.package_version},
      {"package_source", StringOrNull(p.package_source)},
      {"archive_name", p.archive_name},
      {"distribution", StringOrNull(p.distribution)},
      {"distribution_version", StringOrNull(p.distribution_version)},
      {"distribution_release", StringOrNull(p.distribution_release)},
      {"supported_platform", p.supported_platform},
      {"supported_py_versions", StringOrNull(p.supported_py_versions)},
      {"title", StringOrNull(p.title)},
      {"wheels", p.wheels},
      {"yaml_url_path", p.yaml_url_paths.empty() ? json(nullptr) : json(p.yaml_url_paths.front())},
      {"yaml_files_paths", p.yaml_url_paths},
      {"uploaded_at", FormatTimestamp(p.meta.created_at)},
  };
  AddResourceFields(p.meta, out);
  return out;
}

json ToWire(const model::Tenant& t) {
  return {{"name", t.name},
          {"rabbitmq_vhost", StringOrNull(t.rabbitmq_vhost)},
          {"rabbitmq_username", StringOrNull(t.rabbitmq_username)},
          {"created_at", FormatTimestamp(t.created_at)}};
}

json ToWire(const model::User& u) {
  json tenant_roles = json::object();
  for (const auto& [tenant, role] : u.tenant_roles) {
    tenant_roles[tenant] = std::string(model::TenantRoleName(role));
  }
  // The password hash is never part of the wire shape.
  return {{"username", u.username},
          {"role", std::string(model::SystemRoleName(u.role))},
          {"active", u.active},
          {"is_locked", u.is_locked},
          {"created_at", FormatTimestamp(u.created_at)},
          {"first_login_at", TimestampOrNull(u.first_login_at)},
          {"last_login_at", TimestampOrNull(u.last_login_at)},
          {"tenant_roles", std::move(tenant_roles)},
          {"groups", u.groups}};
}

json SecretToWire(const model::Secret& s, bool include_value) {
  json out = SecretListItemToWire(s);
  out["value"] = include_value ? s.value : "";
  out["schema"] = s.schema;
  out["provider_options"] = s.provider_options;
  return out;
}

json SecretListItemToWire(const model::Secret& s) {
  json out = {{"key", s.key},
              {"is_hidden_value", s.is_hidden_value},
              {"provider_name", StringOrNull(s.provider_name)},
              {"updated_at", FormatTimestamp(s.updated_at)}};
  AddResourceFields(s.meta, out);
  out.erase("private_resource");
  return out;
}

}  // namespace cloudify::rest
