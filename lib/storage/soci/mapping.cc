#include "storage/soci/mapping.h"

namespace cloudify::storage::soci_backend {
namespace {

using nlohmann::json;

Status Corrupt(const std::string& what) {
  return Status(ErrorCode::kStorageError, "corrupt stored " + what);
}

template <typename T>
TableDef Describe(std::string name, Tenancy tenancy) {
  TableDef table;
  table.name = std::move(name);
  table.tenancy = tenancy;
  Describer d(table);
  T value{};
  Map(d, value);
  table.has_created_at = table.Find("created_at") >= 0;
  return table;
}

}  // namespace

int TableDef::Find(std::string_view field) const {
  for (size_t i = 0; i < columns.size(); ++i) {
    if (columns[i].field == field) {
      return static_cast<int>(i);
    }
  }
  return -1;
}

json Stored(const model::Plan& v) { return model::ToJson(v); }
json Stored(const model::NodeTemplate& v) { return model::ToJson(v); }

json Stored(const std::vector<model::Label>& v) {
  json out = json::array();
  for (const auto& l : v) {
    out.push_back({{"key", l.key},
                   {"value", l.value},
                   {"created_at", l.created_at.time_since_epoch().count()},
                   {"created_by", l.created_by}});
  }
  return out;
}

json Stored(const std::vector<model::RelationshipInstance>& v) {
  json out = json::array();
  for (const auto& r : v) {
    out.push_back({{"target_id", r.target_id}, {"target_name", r.target_name}, {"type", r.type}});
  }
  return out;
}

json Stored(const std::vector<model::ScalingGroupRef>& v) {
  json out = json::array();
  for (const auto& g : v) {
    out.push_back({{"name", g.name}, {"id", g.id}});
  }
  return out;
}

json Stored(const std::map<std::string, model::TenantRole>& v) {
  json out = json::object();
  for (const auto& [tenant, role] : v) {
    out[tenant] = model::TenantRoleName(role);
  }
  return out;
}

json Stored(const std::vector<std::string>& v) { return v; }

Status Load(const json& j, model::Plan& v) {
  Result<model::Plan> r = model::FromJson<model::Plan>(j, "plan");
  if (!r.ok()) {
    return r.status();
  }
  v = std::move(r).value();
  return Status::Ok();
}

Status Load(const json& j, model::NodeTemplate& v) {
  Result<model::NodeTemplate> r = model::FromJson<model::NodeTemplate>(j, "node");
  if (!r.ok()) {
    return r.status();
  }
  v = std::move(r).value();
  return Status::Ok();
}

// The list stores below are written by Stored() above; anything else is corruption.
Status Load(const json& j, std::vector<model::Label>& v) {
  v.clear();
  if (!j.is_array()) {
    return Corrupt("labels");
  }
  for (const auto& item : j) {
    if (!item.is_object() || !item.value("key", json()).is_string() ||
        !item.value("value", json()).is_string() ||
        !item.value("created_at", json()).is_number_integer()) {
      return Corrupt("label");
    }
    model::Label l;
    l.key = item["key"].get<std::string>();
    l.value = item["value"].get<std::string>();
    l.created_at = Timestamp(std::chrono::milliseconds(item["created_at"].get<int64_t>()));
    l.created_by = item.value("created_by", "");
    v.push_back(std::move(l));
  }
  return Status::Ok();
}

Status Load(const json& j, std::vector<model::RelationshipInstance>& v) {
  v.clear();
  if (!j.is_array()) {
    return Corrupt("relationships");
  }
  for (const auto& item : j) {
    if (!item.is_object()) {
      return Corrupt("relationship");
    }
    v.push_back(
        {item.value("target_id", ""), item.value("target_name", ""), item.value("type", "")});
  }
  return Status::Ok();
}

Status Load(const json& j, std::vector<model::ScalingGroupRef>& v) {
  v.clear();
  if (!j.is_array()) {
    return Corrupt("scaling groups");
  }
  for (const auto& item : j) {
    if (!item.is_object()) {
      return Corrupt("scaling group");
    }
    v.push_back({item.value("name", ""), item.value("id", "")});
  }
  return Status::Ok();
}

Status Load(const json& j, std::map<std::string, model::TenantRole>& v) {
  v.clear();
  if (!j.is_object()) {
    return Corrupt("tenant roles");
  }
  for (const auto& [tenant, role] : j.items()) {
    std::optional<model::TenantRole> parsed =
        role.is_string() ? model::ParseTenantRole(role.get<std::string>()) : std::nullopt;
    if (!parsed) {
      return Corrupt("tenant role of `" + tenant + "`");
    }
    v[tenant] = *parsed;
  }
  return Status::Ok();
}

Status Load(const json& j, std::vector<std::string>& v) {
  v.clear();
  if (!j.is_array()) {
    return Corrupt("list of strings");
  }
  for (const auto& item : j) {
    if (!item.is_string()) {
      return Corrupt("list of strings");
    }
    v.push_back(item.get<std::string>());
  }
  return Status::Ok();
}

template <>
const TableDef& TableOf<model::Tenant>() {
  static const TableDef t = Describe<model::Tenant>("tenants", Tenancy::kNone);
  return t;
}
template <>
const TableDef& TableOf<model::User>() {
  static const TableDef t = Describe<model::User>("users", Tenancy::kNone);
  return t;
}
template <>
const TableDef& TableOf<model::Token>() {
  static const TableDef t = Describe<model::Token>("tokens", Tenancy::kNone);
  return t;
}
template <>
const TableDef& TableOf<model::UserGroup>() {
  static const TableDef t = Describe<model::UserGroup>("user_groups", Tenancy::kNone);
  return t;
}
template <>
const TableDef& TableOf<model::Blueprint>() {
  static const TableDef t = Describe<model::Blueprint>("blueprints", Tenancy::kFull);
  return t;
}
template <>
const TableDef& TableOf<model::Deployment>() {
  static const TableDef t = Describe<model::Deployment>("deployments", Tenancy::kFull);
  return t;
}
template <>
const TableDef& TableOf<model::Node>() {
  static const TableDef t = Describe<model::Node>("nodes", Tenancy::kFull);
  return t;
}
template <>
const TableDef& TableOf<model::NodeInstance>() {
  static const TableDef t = Describe<model::NodeInstance>("node_instances", Tenancy::kFull);
  return t;
}
template <>
const TableDef& TableOf<model::Execution>() {
  static const TableDef t = [] {
    TableDef table = Describe<model::Execution>("executions", Tenancy::kFull);
    // The claim of a manager process (owner, lease expiry in ms): not REST fields.
    table.columns.push_back({"claim_owner", "claim_owner", ColType::kText, kInternal});
    table.columns.push_back({"claim_expires_at", "claim_expires_at", ColType::kInt, kInternal});
    return table;
  }();
  return t;
}
template <>
const TableDef& TableOf<model::TasksGraph>() {
  static const TableDef t = [] {
    TableDef table = Describe<model::TasksGraph>("tasks_graphs", Tenancy::kTenantOnly);
    table.columns.push_back({"tenant_name", "tenant_name", ColType::kText, kInternal});
    return table;
  }();
  return t;
}
template <>
const TableDef& TableOf<model::Operation>() {
  static const TableDef t = [] {
    TableDef table = Describe<model::Operation>("operations", Tenancy::kTenantOnly);
    table.columns.push_back({"tenant_name", "tenant_name", ColType::kText, kInternal});
    return table;
  }();
  return t;
}
template <>
const TableDef& TableOf<model::Event>() {
  static const TableDef t = [] {
    TableDef table = Describe<model::Event>("events", Tenancy::kTenantOnly);
    table.filter_aliases = {{"node_id", "node_name"}, {"message.text", "message"}};
    table.sort_any = true;
    table.has_created_at = false;  // ordered by storage id (insertion order)
    return table;
  }();
  return t;
}
template <>
const TableDef& TableOf<model::Metric>() {
  static const TableDef t = [] {
    TableDef table = Describe<model::Metric>("metrics", Tenancy::kTenantOnly);
    table.has_created_at = false;  // ordered by storage id (insertion order)
    return table;
  }();
  return t;
}
template <>
const TableDef& TableOf<model::Secret>() {
  static const TableDef t = Describe<model::Secret>("secrets", Tenancy::kFull);
  return t;
}
template <>
const TableDef& TableOf<model::Plugin>() {
  static const TableDef t = Describe<model::Plugin>("plugins", Tenancy::kFull);
  return t;
}

template <>
const TableDef& TableOf<model::Agent>() {
  static const TableDef t = Describe<model::Agent>("agents", Tenancy::kFull);
  return t;
}

template <>
const TableDef& TableOf<model::DeploymentModification>() {
  static const TableDef t =
      Describe<model::DeploymentModification>("deployment_modifications", Tenancy::kFull);
  return t;
}

}  // namespace cloudify::storage::soci_backend
