// Opening stores: URLs, migrations, refusing a newer schema, SQLite's WAL mode.
#include <chrono>
#include <fstream>
#include <thread>

#include <doctest/doctest.h>
#include <soci/postgresql/soci-postgresql.h>
#include <soci/soci.h>
#include <soci/sqlite3/soci-sqlite3.h>

#include "storage/store_fixture.h"

namespace cloudify::testing {
namespace {

TEST_CASE("OpenStore rejects unknown schemes and malformed URLs") {
  CHECK(storage::OpenStore("mysql://x/y").status().code() == ErrorCode::kBadParameters);
  CHECK(storage::OpenStore("not a url").status().code() == ErrorCode::kBadParameters);
  CHECK(storage::OpenStore("sqlite://relative/path").status().code() == ErrorCode::kBadParameters);
}

TEST_CASE("an unreachable PostgreSQL is kUnavailable, and the password is not echoed") {
  TempDir dir;
  storage::StoreOptions options;
  options.secret_key_file = dir.path() / "k";
  auto store =
      storage::OpenStore("postgresql://u:sekrit@127.0.0.1:1/db?connect_timeout=2", options);
  REQUIRE_FALSE(store.ok());
  CHECK(store.status().code() == ErrorCode::kUnavailable);
  CHECK(store.status().message().find("sekrit") == std::string::npos);
}

TEST_CASE("PostgreSQL connections the server closed are reopened by the next calls") {
  if (!HaveServer(PostgresTestUrl(), "CLOUDIFY_TEST_POSTGRES_URL")) {
    return;
  }
  TempDir dir;
  ScratchPgSchema schema("cfy_reconnect");
  const std::string application = "cfy_reconnect_" + schema.name().substr(14);
  storage::StoreOptions options;
  options.secret_key_file = dir.path() / "k";
  auto store = storage::OpenStore(schema.url() + "&application_name=" + application, options);
  REQUIRE_MESSAGE(store.ok(), store.status().ToString());
  auto& ts = **store;
  REQUIRE(ts.CreateTenant({"before", {}, "", ""}).ok());

  // As a server restart does: every connection of this store is closed under it.
  soci::session admin(soci::postgresql, PostgresConnInfo());
  long long closed = 0;
  admin << "SELECT COUNT(pg_terminate_backend(pid)) FROM pg_stat_activity WHERE "
           "application_name = :a",
      soci::use(application), soci::into(closed);
  CHECK(closed == 4);  // the whole pool

  // Each pooled connection is found closed by its next call and reopened, with its schema.
  for (int i = 0; i < 8; ++i) {
    auto read = ts.GetTenant("before");
    CHECK_MESSAGE(read.ok(), read.status().ToString());
    Status write = ts.CreateTenant({"after_" + std::to_string(i), {}, "", ""});
    CHECK_MESSAGE(write.ok(), write.ToString());
  }
  auto tenants = ts.ListTenants({});
  REQUIRE(tenants.ok());
  CHECK(tenants->total == 9);  // before and the 8 written after
}

TEST_CASE("an SQLite file store runs in WAL mode and creates its key file beside it") {
  TempDir dir;
  std::string path = (dir.path() / "db.sqlite").string();
  auto store = storage::OpenStore("sqlite://" + path);
  REQUIRE_MESSAGE(store.ok(), store.status().ToString());
  CHECK(std::filesystem::exists(path + ".key"));
  soci::session sql(soci::sqlite3, "db=" + path);
  std::string mode;
  sql << "PRAGMA journal_mode", soci::into(mode);
  CHECK(mode == "wal");
}

// `count` instances of node `node` in deployment d1, with `runtime_properties`.
void AddInstances(storage::Store& store, const std::string& node, int count,
                  const nlohmann::json& runtime_properties = nlohmann::json::object()) {
  std::vector<model::NodeInstance> instances;
  for (int i = 0; i < count; ++i) {
    model::NodeInstance inst;
    inst.id = node + "_" + std::to_string(i);
    inst.node_id = node;
    inst.deployment_id = "d1";
    inst.runtime_properties = runtime_properties;
    instances.push_back(inst);
  }
  REQUIRE(store.CreateNodeInstances(storage::CallerContext::System(), instances).ok());
}

// Rows in one deployment, so the planner has something to measure.
void LoadInstances(storage::Store& store) {
  REQUIRE(store.CreateTenant({std::string(model::kDefaultTenant), {}, "", ""}).ok());
  AddInstances(store, "vm", 200);
}

TEST_CASE("maintenance on SQLite gathers the planner's statistics, and refuses a transaction") {
  TempDir dir;
  std::string path = (dir.path() / "db.sqlite").string();
  auto store = storage::OpenStore("sqlite://" + path);
  REQUIRE_MESSAGE(store.ok(), store.status().ToString());
  LoadInstances(**store);
  Status maintained = (*store)->Maintain();
  REQUIRE_MESSAGE(maintained.ok(), maintained.ToString());
  soci::session sql(soci::sqlite3, "db=" + path);
  int stats = 0;
  sql << "SELECT COUNT(*) FROM sqlite_stat1 WHERE tbl = 'node_instances'", soci::into(stats);
  CHECK(stats > 0);
  Status nested = (*store)->InTransaction([](storage::Store& tx) { return tx.Maintain(); });
  CHECK(nested.code() == ErrorCode::kBadParameters);
  CHECK((*store)->ListNodeInstances(storage::CallerContext::System(), {})->total == 200);
}

TEST_CASE("statements kept prepared on SQLite do not pin the write-ahead log") {
  TempDir dir;
  std::string path = (dir.path() / "db.sqlite").string();
  auto store = storage::OpenStore("sqlite://" + path);
  REQUIRE_MESSAGE(store.ok(), store.status().ToString());
  LoadInstances(**store);
  // Reads and writes through every pooled connection, each statement kept afterwards.
  storage::CallerContext c = storage::CallerContext::System();
  for (int i = 0; i < 20; ++i) {
    storage::ListQuery q;
    q.size = 10;
    q.offset = i * 10;
    REQUIRE((*store)->ListNodeInstances(c, q).ok());
    storage::NodeInstanceUpdate u;
    u.force = true;
    u.runtime_properties = nlohmann::json{{"i", i}};
    REQUIRE((*store)->UpdateNodeInstance(c, "vm_" + std::to_string(i), u).ok());
  }
  // A full checkpoint needs every reader gone: a kept statement that still held its read
  // transaction would leave it busy.
  soci::session sql(soci::sqlite3, "db=" + path);
  int busy = -1, log = -1, checkpointed = -1;
  sql << "PRAGMA wal_checkpoint(TRUNCATE)", soci::into(busy), soci::into(log),
      soci::into(checkpointed);
  CHECK(busy == 0);
  CHECK(log == 0);  // truncated: nothing left in the log
}

TEST_CASE("SQLite's write-ahead log is checkpointed beside the writers, not by them") {
  TempDir dir;
  const std::filesystem::path path = dir.path() / "db.sqlite";
  auto store = storage::OpenStore("sqlite://" + path.string());
  REQUIRE_MESSAGE(store.ok(), store.status().ToString());
  LoadInstances(**store);
  const auto size_before = std::filesystem::file_size(path);
  // Well over the 1,000 pages that call for a checkpoint, in one commit.
  AddInstances(**store, "big", 3000, {{"padding", std::string(2000, 'x')}});
  // Only a checkpoint copies pages into the database file; nothing else writes it in WAL mode.
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(20);
  while (std::filesystem::file_size(path) < size_before + (size_t{4} << 20) &&
         std::chrono::steady_clock::now() < deadline) {
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
  CHECK(std::filesystem::file_size(path) >= size_before + (size_t{4} << 20));
  // The store still reads and writes, and closes with its checkpointer.
  CHECK((*store)->ListNodeInstances(storage::CallerContext::System(), {})->total == 3200);
  store->reset();
  soci::session sql(soci::sqlite3, "db=" + path.string());
  int count = 0;
  sql << "SELECT COUNT(*) FROM node_instances", soci::into(count);
  CHECK(count == 3200);
}

TEST_CASE("node instances read again from an SQLite store's cache are never stale") {
  TempDir dir;
  const std::string url = "sqlite://" + (dir.path() / "db.sqlite").string();
  auto store = storage::OpenStore(url);
  REQUIRE_MESSAGE(store.ok(), store.status().ToString());
  storage::Store& ts = **store;
  LoadInstances(ts);
  const storage::CallerContext c = storage::CallerContext::System();
  auto version_of = [&](storage::Store& s, const std::string& id) {
    auto read = s.GetNodeInstance(c, id);
    return read.ok() ? read->version : int64_t{-1};
  };
  const int64_t first = version_of(ts, "vm_1");
  REQUIRE(first >= 0);
  CHECK(version_of(ts, "vm_1") == first);  // read twice: the second from the cache

  SUBCASE("this store's writes are seen at once") {
    storage::NodeInstanceUpdate u;
    u.version = first;
    u.runtime_properties = nlohmann::json{{"port", 8080}};
    REQUIRE(ts.UpdateNodeInstance(c, "vm_1", u).ok());
    auto read = ts.GetNodeInstance(c, "vm_1");
    REQUIRE(read.ok());
    CHECK(read->version == first + 1);
    CHECK(read->runtime_properties == nlohmann::json{{"port", 8080}});
    REQUIRE(ts.DeleteNodeInstance(c, "vm_1").ok());
    CHECK(ts.GetNodeInstance(c, "vm_1").status().code() == ErrorCode::kNotFound);
  }
  SUBCASE("a transaction reads its own writes, and what it rolls back is not kept") {
    Status rolled_back = ts.InTransaction([&](storage::Store& tx) -> Status {
      storage::NodeInstanceUpdate u;
      u.version = first;
      u.runtime_properties = nlohmann::json{{"inside", true}};
      CLOUDIFY_RETURN_IF_ERROR(tx.UpdateNodeInstance(c, "vm_1", u).status());
      auto inside = tx.GetNodeInstance(c, "vm_1");
      CHECK(inside.ok());
      CHECK(inside->version == first + 1);
      return Status(ErrorCode::kConflict, "roll it back");
    });
    CHECK(rolled_back.code() == ErrorCode::kConflict);
    auto after = ts.GetNodeInstance(c, "vm_1");
    REQUIRE(after.ok());
    CHECK(after->version == first);
    CHECK(after->runtime_properties.empty());
  }
  SUBCASE("another tenant does not get what this one read") {
    REQUIRE(ts.CreateTenant({"other", {}, "", ""}).ok());
    CHECK(ts.GetNodeInstance(storage::CallerContext::System("other"), "vm_1").status().code() ==
          ErrorCode::kNotFound);
  }
  SUBCASE("another process's writes to the file are seen within a second") {
    auto second = storage::OpenStore(url);  // stands for another process: a store of its own
    REQUIRE_MESSAGE(second.ok(), second.status().ToString());
    storage::NodeInstanceUpdate u;
    u.version = first;
    REQUIRE((*second)->UpdateNodeInstance(c, "vm_1", u).ok());
    const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(3);
    while (version_of(ts, "vm_1") != first + 1 && std::chrono::steady_clock::now() < deadline) {
      std::this_thread::sleep_for(std::chrono::milliseconds(20));
    }
    CHECK(version_of(ts, "vm_1") == first + 1);
  }
}

TEST_CASE("maintenance on PostgreSQL vacuums and analyzes the store's own tables") {
  if (!HaveServer(PostgresTestUrl(), "CLOUDIFY_TEST_POSTGRES_URL")) {
    return;
  }
  TempDir dir;
  ScratchPgSchema schema("cfy_maintain");
  storage::StoreOptions options;
  options.secret_key_file = dir.path() / "k";
  auto store = storage::OpenStore(schema.url(), options);
  REQUIRE_MESSAGE(store.ok(), store.status().ToString());
  LoadInstances(**store);
  Status maintained = (*store)->Maintain();
  REQUIRE_MESSAGE(maintained.ok(), maintained.ToString());
  // VACUUM (ANALYZE) leaves the row count in the catalog and stamps the table.
  soci::session admin(soci::postgresql, PostgresConnInfo());
  long long tuples = 0;
  admin << "SELECT c.reltuples::bigint FROM pg_class c JOIN pg_namespace n ON n.oid = "
           "c.relnamespace WHERE n.nspname = :s AND c.relname = 'node_instances'",
      soci::use(schema.name()), soci::into(tuples);
  CHECK(tuples == 200);
  long long vacuumed = 0;
  admin << "SELECT COUNT(*) FROM pg_stat_user_tables WHERE schemaname = :s AND "
           "last_vacuum IS NOT NULL AND last_analyze IS NOT NULL",
      soci::use(schema.name()), soci::into(vacuumed);
  CHECK(vacuumed > 1);  // every table of the schema, not only the one with rows
}

TEST_CASE("a database newer than the code is refused, and a migrated one is left alone") {
  TempDir dir;
  std::string path = (dir.path() / "db.sqlite").string();
  int version = 0;
  {
    auto store = storage::OpenStore("sqlite://" + path);
    REQUIRE(store.ok());
    version = *(*store)->SchemaVersion();
  }
  {
    soci::session sql(soci::sqlite3, "db=" + path);
    int rows = 0;
    sql << "SELECT COUNT(*) FROM schema_migrations", soci::into(rows);
    CHECK(rows == version);  // one row per applied migration
    auto store = storage::OpenStore("sqlite://" + path);
    REQUIRE(store.ok());
    sql << "SELECT COUNT(*) FROM schema_migrations", soci::into(rows);
    CHECK(rows == version);  // reopening applied nothing again
  }
  {
    soci::session sql(soci::sqlite3, "db=" + path);
    sql << "INSERT INTO schema_migrations (version, name, applied_at) VALUES (999, 'future', 0)";
  }
  auto store = storage::OpenStore("sqlite://" + path);
  REQUIRE_FALSE(store.ok());
  CHECK(store.status().code() == ErrorCode::kStorageError);
  CHECK(store.status().message().find("999") != std::string::npos);
}

TEST_CASE("a corrupt key file is refused rather than replaced") {
  TempDir dir;
  {
    std::ofstream out(dir.path() / "db.sqlite.key");
    out << "not a key\n";
  }
  auto store = storage::OpenStore("sqlite://" + (dir.path() / "db.sqlite").string());
  REQUIRE_FALSE(store.ok());
  CHECK(store.status().code() == ErrorCode::kStorageError);
}

}  // namespace
}  // namespace cloudify::testing
