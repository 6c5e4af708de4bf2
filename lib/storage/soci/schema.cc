#include "storage/soci/schema.h"

#include <functional>
#include <string>
#include <vector>

#include "storage/soci/mapping.h"

namespace cloudify::storage::soci_backend {
namespace {

// One step of the schema's history. Steps are never edited once released: a change is a new
// step appended at the end.
struct Migration {
  int version;
  const char* name;
  std::function<std::vector<std::string>(Dialect)> statements;
};

std::string SqlType(ColType type) {
  switch (type) {
    case ColType::kInt:
      return "BIGINT";
    case ColType::kReal:
      return "DOUBLE PRECISION";  // SQLite gives it REAL affinity
    case ColType::kText:
      break;
  }
  return "TEXT";
}

// CREATE TABLE and its indexes: the unique key (within the tenant for tenant-scoped tables)
// and one index per REST filter, ending with the default order so a filtered page is read in
// order from the index.
std::vector<std::string> CreateTable(Dialect d, const TableDef& t) {
  std::vector<std::string> out;
  std::string sql = "CREATE TABLE " + t.name + " (" + StorageIdColumnSql(d);
  std::vector<std::string> key;
  if (t.tenancy != Tenancy::kNone) {
    key.push_back("tenant_name");
  }
  for (const auto& c : t.columns) {
    sql += ", " + c.sql + " " + SqlType(c.type);
    if ((c.flags & kKey) != 0) {
      sql += " NOT NULL";
      key.push_back(c.sql);
    }
  }
  sql += ")";
  out.push_back(sql);
  auto join = [](const std::vector<std::string>& cols) {
    std::string s;
    for (const auto& c : cols) {
      s += (s.empty() ? "" : ", ") + c;
    }
    return s;
  };
  if (key.size() > (t.tenancy != Tenancy::kNone ? 1U : 0U)) {
    out.push_back("CREATE UNIQUE INDEX " + t.name + "_unique ON " + t.name + " (" + join(key) +
                  ")");
  }
  std::string order = t.has_created_at ? "created_at, storage_id" : "storage_id";
  // The tenancy columns trail every index so the tenancy test, the count and skipped OFFSET
  // rows are answered from the index without reading the (large) rows.
  std::string tenancy;
  if (t.tenancy == Tenancy::kFull) {
    tenancy = ", tenant_name, visibility, created_by";
  } else if (t.tenancy == Tenancy::kTenantOnly) {
    tenancy = ", tenant_name";
  }
  for (const auto& c : t.columns) {
    if (((c.flags & kFilter) != 0 && (c.flags & kUnindexed) == 0) || c.sql == "claim_expires_at") {
      out.push_back("CREATE INDEX " + t.name + "_by_" + c.sql + " ON " + t.name + " (" + c.sql +
                    ", " + order + (c.sql == "tenant_name" ? "" : tenancy) + ")");
    }
  }
  if (t.has_created_at) {
    out.push_back("CREATE INDEX " + t.name + "_order ON " + t.name + " (" + order + tenancy + ")");
  }
  return out;
}

template <typename... T>
std::vector<std::string> CreateTables(Dialect d) {
  std::vector<std::string> out;
  (
      [&] {
        auto stmts = CreateTable(d, TableOf<T>());
        out.insert(out.end(), stmts.begin(), stmts.end());
      }(),
      ...);
  return out;
}

const std::vector<Migration>& Migrations() {
  static const std::vector<Migration> migrations = {
      {1, "initial schema",
       [](Dialect d) {
         std::vector<std::string> out =
             CreateTables<model::Tenant, model::User, model::UserGroup, model::Blueprint,
                          model::Deployment, model::Node, model::NodeInstance, model::Execution,
                          model::TasksGraph, model::Operation, model::Event, model::Secret,
                          model::Plugin>(d);
         // Events of a deployment are deleted with it; logs are read per tenant in order.
         out.push_back("CREATE INDEX events_tenant ON events (tenant_name, storage_id)");
         return out;
       }},
      {2, "deployment modifications",
       [](Dialect d) { return CreateTables<model::DeploymentModification>(d); }},
      {3, "operations indexed by graph and execution only",
       [](Dialect) {
         return std::vector<std::string>{"DROP INDEX IF EXISTS operations_by_name",
                                         "DROP INDEX IF EXISTS operations_by_state",
                                         "DROP INDEX IF EXISTS operations_by_type"};
       }},
      {4, "API tokens", [](Dialect d) { return CreateTables<model::Token>(d); }},
      // Two transactions that both found no started modification (PostgreSQL's read committed
      // lets both see none) cannot both insert one.
      {5, "one started deployment modification per deployment",
       [](Dialect) {
         return std::vector<std::string>{
             "CREATE UNIQUE INDEX deployment_modifications_one_started ON "
             "deployment_modifications (tenant_name, deployment_id) WHERE status = 'started'"};
       }},
      {6, "metrics", [](Dialect d) { return CreateTables<model::Metric>(d); }},
      {7, "agents", [](Dialect d) { return CreateTables<model::Agent>(d); }},
      // A lookup by id goes through the unique (tenant, id) index; a second index on the id,
      // random as it is, cost a fifth of storing a task graph (bench/README.md).
      {8, "operations without a second index on their id",
       [](Dialect) { return std::vector<std::string>{"DROP INDEX IF EXISTS operations_by_id"}; }},
  };
  return migrations;
}

}  // namespace

int LatestSchemaVersion() { return Migrations().back().version; }

int CurrentSchemaVersion(soci::session& session) {
  std::vector<Value> none;
  long long version = 0;
  Run(session, "SELECT COALESCE(MAX(version), 0) FROM schema_migrations", none, {ColType::kInt},
      [&](const Row& row) { version = row[0].number; });
  return static_cast<int>(version);
}

Status Migrate(soci::session& session, Dialect dialect, const Clock& clock) {
  Exec(session, BeginWriteSql(dialect));
  try {
    if (dialect == Dialect::kPostgres) {
      // Two processes opening one fresh database migrate one after the other.
      Exec(session, "SELECT pg_advisory_xact_lock(7253811)");
    }
    Exec(session,
         "CREATE TABLE IF NOT EXISTS schema_migrations (version BIGINT PRIMARY KEY, name TEXT, "
         "applied_at BIGINT)");
    int current = CurrentSchemaVersion(session);
    if (current > LatestSchemaVersion()) {
      Exec(session, "ROLLBACK");
      return Status(ErrorCode::kStorageError,
                    "the database schema is at version " + std::to_string(current) +
                        ", newer than this code's " + std::to_string(LatestSchemaVersion()) +
                        ": upgrade libcloudify before opening it");
    }
    for (const Migration& m : Migrations()) {
      if (m.version <= current) {
        continue;
      }
      for (const std::string& stmt : m.statements(dialect)) {
        Exec(session, stmt);
      }
      std::vector<Value> binds = {Value::Int(m.version), Value::Text(m.name),
                                  Value::Int(clock.Now().time_since_epoch().count())};
      Run(session,
          "INSERT INTO schema_migrations (version, name, applied_at) VALUES (:b0, :b1, :b2)",
          binds);
    }
    Exec(session, "COMMIT");
    return Status::Ok();
  } catch (const std::exception& e) {
    try {
      Exec(session, "ROLLBACK");
    } catch (const std::exception&) {  // NOLINT(bugprone-empty-catch): the first error matters
    }
    return StatusFromException(e, "schema migration");
  }
}

}  // namespace cloudify::storage::soci_backend
