// How each model struct maps to a table: one Map(mapper, value) function per struct names every
// column once, and three mappers use it to describe the table (schema, filter/sort whitelists),
// write a row and read one back.
#pragma once

#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include <nlohmann/json.hpp>

#include "cloudify/model/agent.h"
#include "cloudify/model/blueprint.h"
#include "cloudify/model/deployment.h"
#include "cloudify/model/deployment_modification.h"
#include "cloudify/model/event.h"
#include "cloudify/model/execution.h"
#include "cloudify/model/json.h"
#include "cloudify/model/metric.h"
#include "cloudify/model/node.h"
#include "cloudify/model/operation.h"
#include "cloudify/model/plugin.h"
#include "cloudify/model/secret.h"
#include "cloudify/model/tenant.h"
#include "cloudify/model/user.h"

#include "storage/soci/sql.h"

namespace cloudify::storage::soci_backend {

// Column flags.
enum : unsigned {
  kKey = 1,        // part of the row's identity (with tenant_name for tenant-scoped tables)
  kFilter = 2,     // an equality filter the REST API offers (indexed)
  kSort = 4,       // a _sort field
  kSearch = 8,     // the _search column (the id)
  kInternal = 16,  // not a REST field: never included, filtered or sorted by callers
  kLike = 32,      // filtered case-insensitively with the value as a LIKE pattern (not indexed)
  // A filter without an index of its own: used only on events, where every index costs each
  // of millions of inserts, and these filters narrow an execution's or deployment's events.
  kUnindexed = 64,
};

// Which tenancy rules a table's queries get.
enum class Tenancy {
  kNone,        // system tables: tenants, users, groups
  kTenantOnly,  // rows of the caller's tenant (events, task graphs, operations)
  kFull,        // tenant + visibility + creator (REST.md §5)
};

struct ColumnDef {
  std::string field;  // the REST name
  std::string sql;    // the column name
  ColType type = ColType::kText;
  unsigned flags = 0;
};

struct TableDef {
  std::string name;
  Tenancy tenancy = Tenancy::kNone;
  std::vector<ColumnDef> columns;  // without storage_id
  bool has_created_at = false;
  // Extra filter names (REST name -> field), e.g. events' node_id -> node_name.
  std::map<std::string, std::string> filter_aliases;
  // Events: every field sorts.
  bool sort_any = false;

  // The index of `field` in columns, or -1.
  int Find(std::string_view field) const;
};

// --- JSON storage of structured fields ---
nlohmann::json Stored(const model::Plan& v);
nlohmann::json Stored(const model::NodeTemplate& v);
nlohmann::json Stored(const std::vector<model::Label>& v);
nlohmann::json Stored(const std::vector<model::RelationshipInstance>& v);
nlohmann::json Stored(const std::vector<model::ScalingGroupRef>& v);
nlohmann::json Stored(const std::map<std::string, model::TenantRole>& v);
nlohmann::json Stored(const std::vector<std::string>& v);
template <typename T>
nlohmann::json Stored(const std::map<std::string, T>& v) {
  return model::ToJson(v);
}
Status Load(const nlohmann::json& j, model::Plan& v);
Status Load(const nlohmann::json& j, model::NodeTemplate& v);
Status Load(const nlohmann::json& j, std::vector<model::Label>& v);
Status Load(const nlohmann::json& j, std::vector<model::RelationshipInstance>& v);
Status Load(const nlohmann::json& j, std::vector<model::ScalingGroupRef>& v);
Status Load(const nlohmann::json& j, std::map<std::string, model::TenantRole>& v);
Status Load(const nlohmann::json& j, std::vector<std::string>& v);
template <typename T>
Status Load(const nlohmann::json& j, std::map<std::string, T>& v) {
  Result<std::map<std::string, T>> r = model::MapFromJson<T>(j);
  if (!r.ok()) {
    return r.status();
  }
  v = std::move(r).value();
  return Status::Ok();
}

// Collects the column definitions.
class Describer {
 public:
  explicit Describer(TableDef& table) : table_(table) {}
  void Column(std::string_view name, ColType type, unsigned flags) {
    ColumnDef def;
    size_t colon = name.find(':');
    def.field = std::string(name.substr(0, colon));
    def.sql = std::string(colon == std::string_view::npos ? name : name.substr(colon + 1));
    def.type = type;
    def.flags = flags;
    table_.columns.push_back(std::move(def));
  }
  template <typename T>
  void Text(std::string_view n, T&, unsigned f = 0) {
    Column(n, ColType::kText, f);
  }
  template <typename T>
  void Int(std::string_view n, T&, unsigned f = 0) {
    Column(n, ColType::kInt, f);
  }
  template <typename T>
  void Real(std::string_view n, T&, unsigned f = 0) {
    Column(n, ColType::kReal, f);
  }
  template <typename T>
  void Json(std::string_view n, T&, unsigned f = 0) {
    Column(n, ColType::kText, f);
  }
  template <typename E, typename NameFn, typename ParseFn>
  void Enum(std::string_view n, E&, NameFn, ParseFn, unsigned f = 0) {
    Column(n, ColType::kText, f);
  }

 private:
  TableDef& table_;
};

// Turns a value into a row.
class Writer {
 public:
  Row row;

  void Text(std::string_view, const std::string& v, unsigned = 0) { row.push_back(Value::Text(v)); }
  void Text(std::string_view, const std::optional<std::string>& v, unsigned = 0) {
    row.push_back(v ? Value::Text(*v) : Value::Null(ColType::kText));
  }
  void Int(std::string_view, const int& v, unsigned = 0) { row.push_back(Value::Int(v)); }
  void Int(std::string_view, const int64_t& v, unsigned = 0) { row.push_back(Value::Int(v)); }
  void Int(std::string_view, const bool& v, unsigned = 0) { row.push_back(Value::Int(v ? 1 : 0)); }
  void Int(std::string_view, const Timestamp& v, unsigned = 0) {
    row.push_back(Value::Int(v.time_since_epoch().count()));
  }
  void Int(std::string_view, const std::optional<Timestamp>& v, unsigned = 0) {
    row.push_back(v ? Value::Int(v->time_since_epoch().count()) : Value::Null(ColType::kInt));
  }
  void Real(std::string_view, const double& v, unsigned = 0) { row.push_back(Value::Real(v)); }
  void Json(std::string_view, const nlohmann::json& v, unsigned = 0) {
    row.push_back(Value::Text(v.dump()));
  }
  template <typename T>
  void Json(std::string_view, const T& v, unsigned = 0) {
    row.push_back(Value::Text(Stored(v).dump()));
  }
  template <typename E, typename NameFn, typename ParseFn>
  void Enum(std::string_view, const E& v, NameFn name, ParseFn, unsigned = 0) {
    row.push_back(Value::Text(std::string(name(v))));
  }
  template <typename E, typename NameFn, typename ParseFn>
  void Enum(std::string_view, const std::optional<E>& v, NameFn name, ParseFn, unsigned = 0) {
    row.push_back(v ? Value::Text(std::string(name(*v))) : Value::Null(ColType::kText));
  }
};

// Fills a value from a row whose columns are those marked selected (others keep defaults).
class Reader {
 public:
  Reader(const TableDef& table, const std::vector<int>& positions, const Row& row)
      : table_(table), positions_(positions), row_(row) {}
  const Status& status() const { return status_; }

  void Text(std::string_view, std::string& v, unsigned = 0) {
    if (const Value* x = Next()) {
      v = x->text;
    }
  }
  void Text(std::string_view, std::optional<std::string>& v, unsigned = 0) {
    if (const Value* x = Next()) {
      v = x->null ? std::nullopt : std::optional<std::string>(x->text);
    }
  }
  void Int(std::string_view, int& v, unsigned = 0) {
    if (const Value* x = Next()) {
      v = static_cast<int>(x->number);
    }
  }
  void Int(std::string_view, int64_t& v, unsigned = 0) {
    if (const Value* x = Next()) {
      v = x->number;
    }
  }
  void Int(std::string_view, bool& v, unsigned = 0) {
    if (const Value* x = Next()) {
      v = x->number != 0;
    }
  }
  void Int(std::string_view, Timestamp& v, unsigned = 0) {
    if (const Value* x = Next()) {
      v = Timestamp(std::chrono::milliseconds(x->number));
    }
  }
  void Int(std::string_view, std::optional<Timestamp>& v, unsigned = 0) {
    if (const Value* x = Next()) {
      v = x->null ? std::nullopt
                  : std::optional<Timestamp>(Timestamp(std::chrono::milliseconds(x->number)));
    }
  }
  void Real(std::string_view, double& v, unsigned = 0) {
    if (const Value* x = Next()) {
      v = x->real;
    }
  }
  void Json(std::string_view name, nlohmann::json& v, unsigned = 0) {
    if (const Value* x = Next()) {
      Parse(name, *x, v);
    }
  }
  template <typename T>
  void Json(std::string_view name, T& v, unsigned = 0) {
    if (const Value* x = Next()) {
      nlohmann::json j;
      if (Parse(name, *x, j)) {
        Status s = Load(j, v);
        if (!s.ok()) {
          Fail(name, s.message());
        }
      }
    }
  }
  template <typename E, typename NameFn, typename ParseFn>
  void Enum(std::string_view name, E& v, NameFn, ParseFn parse, unsigned = 0) {
    if (const Value* x = Next()) {
      if (x->null) {
        return;  // a column that does not apply to this row (e.g. an event's level)
      }
      std::optional<E> parsed = parse(x->text);
      if (!parsed) {
        return Fail(name, "unknown value `" + x->text + "`");
      }
      v = *parsed;
    }
  }
  template <typename E, typename NameFn, typename ParseFn>
  void Enum(std::string_view name, std::optional<E>& v, NameFn, ParseFn parse, unsigned = 0) {
    if (const Value* x = Next()) {
      if (x->null) {
        v.reset();
        return;
      }
      v = parse(x->text);
      if (!v) {
        Fail(name, "unknown value `" + x->text + "`");
      }
    }
  }

 private:
  // The next column's fetched value, or null when the column was not selected.
  const Value* Next() {
    int pos = positions_[column_++];
    return pos < 0 ? nullptr : &row_[static_cast<size_t>(pos)];
  }
  bool Parse(std::string_view name, const Value& x, nlohmann::json& out) {
    if (x.null) {
      out = nullptr;
      return true;
    }
    out = nlohmann::json::parse(x.text, nullptr, /*allow_exceptions=*/false);
    if (out.is_discarded()) {
      Fail(name, "not valid JSON");
      return false;
    }
    return true;
  }
  void Fail(std::string_view name, const std::string& why) {
    if (status_.ok()) {
      status_ = Status(ErrorCode::kStorageError,
                       "corrupt row in " + table_.name + "." + std::string(name) + ": " + why);
    }
  }

  const TableDef& table_;
  const std::vector<int>& positions_;  // per column: index in row_, or -1
  const Row& row_;
  size_t column_ = 0;
  Status status_;
};

// --- The tables ---
template <typename M>
void MapMeta(M& m, model::ResourceMeta& meta) {
  m.Text("tenant_name", meta.tenant_name, kFilter | kSort);
  m.Text("created_by", meta.created_by, kFilter | kSort);
  m.Enum("visibility", meta.visibility, model::VisibilityName, model::ParseVisibility,
         kFilter | kSort);
  m.Int("created_at", meta.created_at, kSort);
}

template <typename M>
void Map(M& m, model::Tenant& t) {
  m.Text("name", t.name, kKey | kFilter | kSort | kSearch);
  m.Int("created_at", t.created_at, kSort);
  m.Text("rabbitmq_vhost", t.rabbitmq_vhost);
  m.Text("rabbitmq_username", t.rabbitmq_username);
}

template <typename M>
void Map(M& m, model::User& u) {
  m.Text("username", u.username, kKey | kFilter | kSort | kSearch);
  m.Text("password_hash", u.password_hash);
  m.Enum("role", u.role, model::SystemRoleName, model::ParseSystemRole, kFilter | kSort);
  m.Json("tenant_roles", u.tenant_roles);
  m.Json("groups:group_names", u.groups);
  m.Int("active", u.active, kFilter | kSort);
  m.Int("is_locked", u.is_locked, kFilter);
  m.Int("failed_logins", u.failed_logins);
  m.Int("created_at", u.created_at, kSort);
  m.Int("first_login_at", u.first_login_at, kSort);
  m.Int("last_login_at", u.last_login_at, kSort);
}

template <typename M>
void Map(M& m, model::Token& t) {
  m.Text("id", t.id, kKey);
  m.Text("secret_hash", t.secret_hash);
  m.Text("username", t.username, kFilter | kSort);
  m.Text("description", t.description);
  m.Int("created_at", t.created_at, kSort);
  m.Int("expires_at", t.expires_at, kSort);
  m.Int("last_used", t.last_used, kSort);
}

template <typename M>
void Map(M& m, model::UserGroup& g) {
  m.Text("name", g.name, kKey | kFilter | kSort | kSearch);
  m.Text("ldap_dn", g.ldap_dn, kFilter);
  m.Enum("role", g.role, model::SystemRoleName, model::ParseSystemRole, kFilter | kSort);
  m.Json("tenant_roles", g.tenant_roles);
  m.Json("users:user_names", g.users);
}

template <typename M>
void Map(M& m, model::Blueprint& b) {
  m.Text("id", b.id, kKey | kFilter | kSort | kSearch);
  MapMeta(m, b.meta);
  m.Int("updated_at", b.updated_at, kSort);
  m.Text("main_file_name", b.main_file_name, kSort);
  m.Text("description", b.description);
  m.Json("plan", b.plan);
  m.Json("requirements", b.requirements);
  m.Enum("state", b.state, model::BlueprintStateName, model::ParseBlueprintState, kFilter | kSort);
  m.Text("error", b.error);
  m.Text("error_traceback", b.error_traceback);
  m.Int("is_hidden", b.is_hidden, kFilter);
  m.Json("labels", b.labels);
  m.Text("upload_execution_id", b.upload_execution_id);
}

template <typename M>
void Map(M& m, model::Deployment& d) {
  m.Text("id", d.id, kKey | kFilter | kSort | kSearch);
  m.Text("display_name", d.display_name, kFilter | kSort);
  m.Text("blueprint_id", d.blueprint_id, kFilter | kSort);
  MapMeta(m, d.meta);
  m.Int("updated_at", d.updated_at, kSort);
  m.Text("description", d.description);
  m.Json("inputs", d.inputs);
  m.Json("outputs", d.outputs);
  m.Json("capabilities", d.capabilities);
  m.Json("groups:group_specs", d.groups);
  m.Json("scaling_groups", d.scaling_groups);
  m.Json("policies", d.policies);
  m.Json("policy_types", d.policy_types);
  m.Json("policy_triggers", d.policy_triggers);
  m.Json("workflows", d.workflows);
  m.Int("runtime_only_evaluation", d.runtime_only_evaluation);
  m.Text("site_name", d.site_name, kFilter | kSort);
  m.Json("labels", d.labels);
  m.Enum("installation_status", d.installation_status, model::InstallationStatusName,
         model::ParseInstallationStatus, kFilter | kSort);
  m.Enum("deployment_status", d.deployment_status, model::DeploymentStatusName,
         model::ParseDeploymentStatus, kFilter | kSort);
  m.Text("create_execution_id", d.create_execution_id);
  m.Text("latest_execution_id", d.latest_execution_id);
  m.Enum("latest_execution_status", d.latest_execution_status, model::LatestExecutionStatusName,
         model::ParseLatestExecutionStatus, kFilter | kSort);
}

template <typename M>
void Map(M& m, model::Node& n) {
  m.Text("deployment_id", n.deployment_id, kKey | kFilter | kSort);
  m.Text("id", n.spec.id, kKey | kFilter | kSort | kSearch);
  m.Text("blueprint_id", n.blueprint_id, kFilter | kSort);
  MapMeta(m, n.meta);
  m.Text("type", n.spec.type, kFilter | kSort);
  m.Text("host_id", n.spec.host_id, kFilter);
  m.Json("spec", n.spec);
  m.Int("number_of_instances", n.number_of_instances, kSort);
  m.Int("planned_number_of_instances", n.planned_number_of_instances);
  m.Int("deploy_number_of_instances", n.deploy_number_of_instances);
  m.Int("min_number_of_instances", n.min_number_of_instances);
  m.Int("max_number_of_instances", n.max_number_of_instances);
}

template <typename M>
void Map(M& m, model::NodeInstance& i) {
  m.Text("id", i.id, kKey | kFilter | kSort | kSearch);
  m.Text("node_id", i.node_id, kFilter | kSort);
  m.Text("deployment_id", i.deployment_id, kFilter | kSort);
  m.Text("host_id", i.host_id, kFilter | kSort);
  m.Int("index:instance_index", i.index, kFilter | kSort);
  m.Enum("state", i.state, model::NodeInstanceStateName, model::ParseNodeInstanceState,
         kFilter | kSort);
  m.Int("version", i.version, kSort);
  m.Json("runtime_properties", i.runtime_properties);
  m.Json("system_properties", i.system_properties);
  m.Json("relationships", i.relationships);
  m.Json("scaling_groups", i.scaling_groups);
  m.Int("has_configuration_drift", i.has_configuration_drift, kFilter);
  m.Int("is_status_check_ok", i.is_status_check_ok, kFilter);
  MapMeta(m, i.meta);
}

template <typename M>
void Map(M& m, model::Execution& e) {
  m.Text("id", e.id, kKey | kFilter | kSort | kSearch);
  m.Text("workflow_id", e.workflow_id, kFilter | kSort);
  m.Text("deployment_id", e.deployment_id, kFilter | kSort);
  m.Text("deployment_display_name", e.deployment_display_name, kSort);
  m.Text("blueprint_id", e.blueprint_id, kFilter | kSort);
  m.Enum("status", e.status, model::ExecutionStatusName, model::ParseExecutionStatus,
         kFilter | kSort);
  m.Text("error", e.error);
  m.Json("parameters", e.parameters);
  m.Int("is_system_workflow", e.is_system_workflow, kFilter);
  m.Int("is_dry_run", e.is_dry_run, kFilter);
  m.Int("allow_custom_parameters", e.allow_custom_parameters);
  MapMeta(m, e.meta);
  m.Int("started_at", e.started_at, kSort);
  m.Int("ended_at", e.ended_at, kSort);
  m.Int("scheduled_for", e.scheduled_for, kSort);
  m.Int("resume", e.resume);
  m.Int("total_operations", e.total_operations);
  m.Int("finished_operations", e.finished_operations);
}

template <typename M>
void Map(M& m, model::TasksGraph& g) {
  m.Text("id", g.id, kKey | kFilter | kSort | kSearch);
  m.Text("name", g.name, kFilter | kSort);
  m.Text("execution_id", g.execution_id, kFilter | kSort);
  m.Int("created_at", g.created_at, kSort);
}

template <typename M>
void Map(M& m, model::Operation& o) {
  m.Text("id", o.id, kKey | kFilter | kSort | kSearch);
  // Only the engine reads operations, by graph and execution: an index on the other filters
  // would cost every stored task (a graph stores one row per task) and serve nobody.
  m.Text("name", o.name, kFilter | kSort | kUnindexed);
  m.Enum("state", o.state, model::TaskStateName, model::ParseTaskState,
         kFilter | kSort | kUnindexed);
  m.Json("dependencies", o.dependencies);
  m.Text("type", o.type, kFilter | kSort | kUnindexed);
  m.Text("tasks_graph_id", o.tasks_graph_id, kFilter | kSort);
  m.Text("execution_id", o.execution_id, kFilter | kSort);
  m.Text("manager_name", o.manager_name);
  m.Text("agent_name", o.agent_name);
  m.Json("parameters", o.parameters);
  m.Int("created_at", o.created_at, kSort);
}

template <typename M>
void Map(M& m, model::Event& e) {
  m.Enum("type:kind", e.kind, model::EventKindName, model::ParseEventKind, kFilter | kUnindexed);
  m.Int("timestamp:stored_at", e.timestamp);
  m.Int("reported_timestamp", e.reported_timestamp);
  m.Text("message", e.message, kLike);
  m.Text("blueprint_id", e.blueprint_id, kFilter | kUnindexed);
  m.Text("deployment_id", e.deployment_id, kFilter);
  m.Text("deployment_display_name", e.deployment_display_name);
  m.Text("execution_id", e.execution_id, kFilter);
  m.Text("execution_group_id", e.execution_group_id, kFilter);
  m.Text("workflow_id", e.workflow_id, kFilter | kUnindexed);
  m.Text("node_instance_id", e.node_instance_id, kFilter | kUnindexed);
  m.Text("node_name", e.node_name, kFilter | kUnindexed);
  m.Text("operation", e.operation, kLike);
  m.Text("source_id", e.source_id);
  m.Text("target_id", e.target_id);
  m.Json("error_causes", e.error_causes);
  m.Text("manager_name", e.manager_name);
  m.Text("agent_name", e.agent_name);
  m.Text("tenant_name", e.tenant_name);
  m.Text("event_type", e.event_type, kFilter | kUnindexed);
  m.Text("logger", e.logger);
  m.Enum("level", e.level, LogLevelName, ParseLogLevel, kFilter | kUnindexed);
}

template <typename M>
void Map(M& m, model::Metric& x) {
  // Read per deployment (and then node, instance, name) over a time range.
  m.Int("time", x.time, kSort);
  m.Text("deployment_id", x.deployment_id, kFilter | kSort);
  m.Text("node_name", x.node_name, kFilter | kSort | kUnindexed);
  m.Text("node_instance_id", x.node_instance_id, kFilter | kSort | kUnindexed);
  m.Text("host", x.host, kFilter | kUnindexed);
  m.Text("name", x.name, kFilter | kSort | kUnindexed);
  m.Text("path", x.path, kFilter | kSort | kUnindexed);
  m.Real("value", x.value, kSort);
  m.Text("unit", x.unit);
  m.Enum("type", x.type, model::MetricTypeName, model::ParseMetricType, kFilter | kUnindexed);
  m.Text("service", x.service, kLike);
  m.Text("tenant_name", x.tenant_name);
}

template <typename M>
void Map(M& m, model::Secret& s) {
  m.Text("key", s.key, kKey | kFilter | kSort | kSearch);
  MapMeta(m, s.meta);
  m.Text("value", s.value);  // sealed by SecretKey
  m.Json("schema", s.schema);
  m.Int("is_hidden_value", s.is_hidden_value, kFilter);
  m.Text("provider_name", s.provider_name, kFilter | kSort);
  m.Json("provider_options", s.provider_options);
  m.Int("updated_at", s.updated_at, kSort);
}

template <typename M>
void Map(M& m, model::Plugin& p) {
  m.Text("id", p.id, kKey | kFilter | kSort | kSearch);
  m.Text("package_name", p.package_name, kFilter | kSort);
  m.Text("package_version", p.package_version, kFilter | kSort);
  m.Text("package_source", p.package_source);
  m.Text("archive_name", p.archive_name, kFilter);
  m.Text("distribution", p.distribution, kFilter | kSort);
  m.Text("distribution_version", p.distribution_version, kFilter);
  m.Text("distribution_release", p.distribution_release, kFilter);
  m.Text("supported_platform", p.supported_platform, kFilter);
  m.Text("supported_py_versions", p.supported_py_versions);
  m.Text("title", p.title, kFilter | kSort);
  m.Json("wheels", p.wheels);
  m.Json("yaml_url_paths", p.yaml_url_paths);
  MapMeta(m, p.meta);
}

template <typename M>
void Map(M& m, model::Agent& a) {
  m.Text("id", a.id, kKey | kFilter | kSort | kSearch);
  m.Text("name", a.name, kFilter | kSort);
  m.Text("node_instance_id", a.node_instance_id, kFilter | kSort);
  m.Text("node_id", a.node_id, kFilter | kSort);
  m.Text("deployment_id", a.deployment_id, kFilter | kSort);
  m.Text("ip", a.ip, kFilter);
  m.Text("install_method", a.install_method, kFilter | kSort);
  m.Text("system", a.system, kFilter);
  m.Text("version", a.version, kFilter | kSort);
  m.Enum("state", a.state, model::AgentStateName, model::ParseAgentState, kFilter | kSort);
  m.Text("rabbitmq_username", a.rabbitmq_username);
  m.Text("rabbitmq_exchange", a.rabbitmq_exchange);
  MapMeta(m, a.meta);
  m.Int("updated_at", a.updated_at, kSort);
}

template <typename M>
void Map(M& m, model::DeploymentModification& d) {
  m.Text("id", d.id, kKey | kFilter | kSort | kSearch);
  m.Text("deployment_id", d.deployment_id, kFilter | kSort);
  m.Enum("status", d.status, model::DeploymentModificationStatusName,
         model::ParseDeploymentModificationStatus, kFilter | kSort);
  m.Json("modified_nodes", d.modified_nodes);
  m.Json("node_instances", d.node_instances);
  m.Json("context", d.context);
  MapMeta(m, d.meta);
  m.Int("ended_at", d.ended_at, kSort);
}

// The table of each struct, described once.
template <typename T>
const TableDef& TableOf();

}  // namespace cloudify::storage::soci_backend
