#include "storage/soci/soci_store.h"

#include <algorithm>
#include <atomic>
#include <cctype>
#include <charconv>
#include <cmath>
#include <condition_variable>
#include <mutex>
#include <optional>
#include <thread>
#include <unordered_set>
#include <utility>

#include <soci/postgresql/soci-postgresql.h>
#include <soci/soci.h>
#include <soci/sqlite3/soci-sqlite3.h>

#include "cloudify/crypto.h"

#include "storage/soci/instance_cache.h"
#include "storage/soci/mapping.h"
#include "storage/soci/pg_copy.h"
#include "storage/soci/schema.h"
#include "storage/soci/sql.h"

namespace cloudify::storage::soci_backend {
namespace {

using nlohmann::json;

std::string QuoteIdentifier(const std::string& name);

// Checkpoints an SQLite database's write-ahead log on a thread of its own. SQLite's automatic
// checkpoint runs inside the commit that fills the log to 1,000 pages, so the writer that
// happened to commit then (storing a task graph of thousands of operations, say) waits while
// the log is copied into the database; here the next writer goes on and the copy runs beside it.
class SqliteCheckpointer {
 public:
  // SQLite's own default for wal_autocheckpoint.
  static constexpr int kPages = 1000;

  explicit SqliteCheckpointer(const std::string& conninfo, std::chrono::milliseconds busy) {
    session_.open(soci::sqlite3, conninfo);
    Exec(session_, "PRAGMA busy_timeout = " + std::to_string(busy.count()));
    thread_ = std::thread([this] { Loop(); });
  }
  ~SqliteCheckpointer() {
    {
      std::lock_guard lock(mu_);
      stop_ = true;
    }
    cv_.notify_one();
    thread_.join();
  }
  SqliteCheckpointer(const SqliteCheckpointer&) = delete;
  SqliteCheckpointer& operator=(const SqliteCheckpointer&) = delete;

  // Replaces `s`'s automatic checkpoint with a call for this thread's.
  void Watch(soci::session& s) {
    auto* backend = static_cast<soci::sqlite3_session_backend*>(s.get_backend());
    sqlite_api::sqlite3_wal_hook(backend->conn_, &OnCommit, this);
  }
  static void Unwatch(soci::session& s) {
    auto* backend = static_cast<soci::sqlite3_session_backend*>(s.get_backend());
    sqlite_api::sqlite3_wal_hook(backend->conn_, nullptr, nullptr);
  }

 private:
  // Runs in the committing thread, with its connection's mutex held: only a flag and a wake-up.
  static int OnCommit(void* self, sqlite_api::sqlite3*, const char*, int pages) {
    if (pages >= kPages) {
      auto* checkpointer = static_cast<SqliteCheckpointer*>(self);
      {
        std::lock_guard lock(checkpointer->mu_);
        checkpointer->due_ = true;
      }
      checkpointer->cv_.notify_one();
    }
    return 0;  // SQLITE_OK
  }

  void Loop() {
    std::unique_lock lock(mu_);
    while (true) {
      cv_.wait(lock, [this] { return due_ || stop_; });
      if (stop_) {
        return;
      }
      due_ = false;
      lock.unlock();
      try {
        // PASSIVE: copies what no reader still needs, never waits for readers or writers.
        Exec(session_, "PRAGMA wal_checkpoint(PASSIVE)");
      } catch (const std::exception&) {  // NOLINT(bugprone-empty-catch): the next commit asks again
      }
      lock.lock();
    }
  }

  soci::session session_;
  std::mutex mu_;
  std::condition_variable cv_;
  bool due_ = false;
  bool stop_ = false;
  std::thread thread_;
};

// What every view of one store shares: the pool and the settings.
struct Shared {
  Dialect dialect = Dialect::kSqlite;
  StoreOptions options;
  const Clock* clock = nullptr;
  size_t pool_size = 1;
  std::unique_ptr<soci::connection_pool> pool;
  std::optional<SecretKey> key;
  // SQLite has one writer at a time; its busy handler waits by sleeping (1, 2, 5 ... ms), so
  // this process's writers queue here instead of polling the database lock (for as long as
  // the busy timeout, as they would wait for the lock).
  std::timed_mutex sqlite_writer;
  std::string schema;  // PostgreSQL: the search_path every connection sets
  // SQLite files: the pool's connections leave their checkpoints to it.
  std::unique_ptr<SqliteCheckpointer> checkpointer;
  // SQLite: write transactions this process ended (committed or not), and the node instances
  // read since the last one (instance_cache.h). PostgreSQL serves several managers: no cache.
  std::atomic<uint64_t> writes{0};
  std::unique_ptr<NodeInstanceCache> instance_cache;

  // What every PostgreSQL connection sets when it is opened (or opened again).
  void SetUpPostgresSession(soci::session& s, bool create_schema) const {
    Exec(s, "SET client_min_messages TO WARNING");
    if (!schema.empty()) {
      if (create_schema) {
        Exec(s, "CREATE SCHEMA IF NOT EXISTS " + QuoteIdentifier(schema));
      }
      Exec(s, "SET search_path TO " + QuoteIdentifier(schema));
    }
  }

  // A PostgreSQL connection the server closed (restart, failover, idle kill) is opened again,
  // so the pool heals instead of failing every later call. True when it was reopened.
  bool Reconnect(soci::session& s) const {
    if (dialect != Dialect::kPostgres || s.is_connected()) {
      return false;
    }
    // The kept statements belong to the closed connection (and refer to its backend).
    ForgetPreparedStatements(s);
    try {
      s.reconnect();
      SetUpPostgresSession(s, false);
      KeepStatementsPrepared(s);
      return true;
    } catch (const std::exception&) {  // NOLINT(bugprone-empty-catch): the server is still away
      return false;
    }
  }

  long long NowMs() const { return clock->Now().time_since_epoch().count(); }

  ~Shared() {
    if (pool != nullptr) {
      for (size_t i = 0; i < pool_size; ++i) {
        ForgetPreparedStatements(pool->at(i));  // while their connections are open
        if (checkpointer != nullptr) {
          SqliteCheckpointer::Unwatch(pool->at(i));  // it goes first
        }
      }
    }
    checkpointer.reset();
  }
};

// A pooled connection held for one call.
class Lease {
 public:
  explicit Lease(soci::connection_pool& pool) : pool_(pool), pos_(pool.lease()) {}
  ~Lease() { pool_.give_back(pos_); }
  Lease(const Lease&) = delete;
  Lease& operator=(const Lease&) = delete;
  soci::session& session() { return pool_.at(pos_); }

 private:
  soci::connection_pool& pool_;
  size_t pos_;
};

// --- Generic row operations ---

template <typename T>
void SetStorageId(T&, long long) {}
void SetStorageId(model::Event& e, long long id) { e.storage_id = id; }
void SetStorageId(model::Metric& m, long long id) { m.storage_id = id; }

std::string Lower(std::string s) {
  std::transform(s.begin(), s.end(), s.begin(),
                 [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
  return s;
}

std::string EscapeLike(const std::string& s) {
  std::string out;
  for (char c : s) {
    if (c == '%' || c == '_' || c == '\\') {
      out += '\\';
    }
    out += c;
  }
  return out;
}

// A caller's filter value as the column stores it.
Result<Value> FilterValue(const ColumnDef& c, const std::string& text) {
  if (text.find('\0') != std::string::npos) {
    // The database clients take NUL-terminated text: the value would be cut short.
    return BadParametersError("filter value for `" + c.field + "` holds a NUL byte");
  }
  if (c.type == ColType::kText) {
    return Value::Text(text);
  }
  if (c.type == ColType::kReal) {
    double r = 0;
    auto [ptr, ec] = std::from_chars(text.data(), text.data() + text.size(), r);
    if (ec == std::errc() && ptr == text.data() + text.size() && std::isfinite(r)) {
      return Value::Real(r);
    }
    return BadParametersError("`" + text + "` is not a valid value for `" + c.field +
                              "` (expected a number)");
  }
  long long n = 0;
  auto [ptr, ec] = std::from_chars(text.data(), text.data() + text.size(), n);
  if (ec == std::errc() && ptr == text.data() + text.size()) {
    return Value::Int(n);
  }
  if (text == "true" || text == "True") {
    return Value::Int(1);
  }
  if (text == "false" || text == "False") {
    return Value::Int(0);
  }
  Result<Timestamp> t = ParseTimestamp(text);
  if (t.ok()) {
    return Value::Int(t->time_since_epoch().count());
  }
  return BadParametersError("`" + text + "` is not a valid value for `" + c.field +
                            "` (expected an integer, a boolean or a timestamp)");
}

void AddTenancy(Where& w, const TableDef& t, const CallerContext& c) {
  if (t.tenancy == Tenancy::kNone) {
    return;
  }
  std::string tenant_cond;
  if (!c.all_tenants) {
    tenant_cond = "tenant_name = " + w.Bind(Value::Text(c.tenant));
  } else if (!c.is_admin) {
    std::string list;
    for (const auto& tenant : c.tenants) {
      list += (list.empty() ? "" : ", ") + w.Bind(Value::Text(tenant));
    }
    tenant_cond = list.empty() ? "1 = 0" : "tenant_name IN (" + list + ")";
  }
  if (t.tenancy == Tenancy::kFull) {
    if (!tenant_cond.empty()) {
      w.And(tenant_cond + " OR visibility = 'global'");
    }
    if (!c.is_admin) {
      w.And("visibility <> 'private' OR created_by = " + w.Bind(Value::Text(c.user)));
    }
  } else if (!tenant_cond.empty()) {
    w.And(tenant_cond);
  }
}

// Selects rows of T matching `where` (columns per `selected`, all when empty), in `suffix`
// order/limit. Each item comes with its storage id. With `total`, every row also carries the
// count of all matches, into *total (left alone when no row comes back). With `deferred_order`,
// the page is picked by storage id alone (`suffix` pages that choice) and only its rows are
// read whole, in that order: skipping rows then walks the index, not the table.
template <typename T>
Status SelectRows(soci::session& s, Where& where, const std::string& suffix,
                  const std::vector<bool>& selected, std::vector<std::pair<long long, T>>& out,
                  long long* total = nullptr, const std::string* deferred_order = nullptr) {
  const TableDef& t = TableOf<T>();
  std::string cols = "storage_id";
  std::vector<ColType> types = {ColType::kInt};
  if (total != nullptr) {
    // Uncorrelated, so the database runs it once; it reuses the page's placeholders.
    cols += ", (SELECT COUNT(*) FROM " + t.name + where.Sql() + ")";
    types.push_back(ColType::kInt);
  }
  std::vector<int> positions(t.columns.size(), -1);
  for (size_t i = 0; i < t.columns.size(); ++i) {
    if (selected.empty() || selected[i]) {
      positions[i] = static_cast<int>(types.size());
      cols += ", " + t.columns[i].sql;
      types.push_back(t.columns[i].type);
    }
  }
  std::string rows_sql = where.Sql() + suffix;
  if (deferred_order != nullptr) {
    rows_sql = " WHERE storage_id IN (SELECT storage_id FROM " + t.name + rows_sql + ") ORDER BY " +
               *deferred_order;
  }
  Status status;
  Run(s, "SELECT " + cols + " FROM " + t.name + rows_sql, where.binds(), types,
      [&](const Row& row) {
        if (total != nullptr) {
          *total = row[1].number;
        }
        T item{};
        Reader reader(t, positions, row);
        Map(reader, item);
        if (!reader.status().ok() && status.ok()) {
          status = reader.status();
        }
        SetStorageId(item, row[0].number);
        out.emplace_back(row[0].number, std::move(item));
      });
  return status;
}

long long Count(soci::session& s, const std::string& table, Where& where) {
  long long n = 0;
  Run(s, "SELECT COUNT(*) FROM " + table + where.Sql(), where.binds(), {ColType::kInt},
      [&](const Row& row) { n = row[0].number; });
  return n;
}

// Inserts rows (each holding the table's first row.size() columns) with multi-row VALUES,
// reusing one prepared statement for every full chunk.
void InsertRows(soci::session& s, const TableDef& t, std::vector<Row>& rows) {
  if (rows.empty()) {
    return;
  }
  const size_t width = rows[0].size();
  std::string cols;
  for (size_t i = 0; i < width; ++i) {
    cols += (i == 0 ? "" : ", ") + t.columns[i].sql;
  }
  // Rows per statement: measured on SQLite, 20 beat 50, 100 and 500 (bigger VALUES lists cost
  // more to bind than the round trips they save in-process).
  const size_t chunk = std::clamp<size_t>(30000 / width, 1, 20);
  // SQLite's anonymous '?' spares SOCI a name lookup per value (quadratic in SQLite).
  const bool anonymous = s.get_backend_name() == "sqlite3";
  auto values_sql = [&](size_t n, bool prepared) {
    auto Placeholder = [&](size_t b) {
      return prepared && anonymous ? std::string("?") : ":b" + std::to_string(b);
    };
    std::string sql = "INSERT INTO " + t.name + " (" + cols + ") VALUES ";
    size_t b = 0;
    for (size_t r = 0; r < n; ++r) {
      sql += r == 0 ? "(" : ", (";
      for (size_t i = 0; i < width; ++i) {
        sql += (i == 0 ? "" : ", ") + Placeholder(b++);
      }
      sql += ")";
    }
    return sql;
  };
  size_t done = 0;
  if (rows.size() >= chunk) {
    // The buffer SOCI binds to: refilled before each execution.
    std::vector<Value> buffer(chunk * width);
    std::vector<soci::indicator> inds(buffer.size(), soci::i_ok);
    for (size_t i = 0; i < buffer.size(); ++i) {
      buffer[i].type = rows[0][i % width].type;
    }
    soci::statement st(s);
    for (size_t i = 0; i < buffer.size(); ++i) {
      UseValue(st, buffer[i], inds[i]);
    }
    st.alloc();
    st.prepare(values_sql(chunk, true));
    st.define_and_bind();
    for (; done + chunk <= rows.size(); done += chunk) {
      for (size_t r = 0; r < chunk; ++r) {
        Row& row = rows[done + r];
        for (size_t i = 0; i < width; ++i) {
          Value& slot = buffer[r * width + i];
          slot.number = row[i].number;
          slot.real = row[i].real;
          slot.text.swap(row[i].text);
          inds[r * width + i] = row[i].null ? soci::i_null : soci::i_ok;
        }
      }
      st.execute(true);
    }
  }
  if (done < rows.size()) {
    std::vector<Value> binds;
    binds.reserve((rows.size() - done) * width);
    for (size_t r = done; r < rows.size(); ++r) {
      for (auto& v : rows[r]) {
        binds.push_back(std::move(v));
      }
    }
    Run(s, values_sql(rows.size() - done, false), binds);  // Run renumbers the placeholders
  }
}

template <typename T>
Row ToRow(const T& value) {
  Writer w;
  Map(w, const_cast<T&>(value));  // NOLINT: the Writer only reads
  return std::move(w.row);
}

// A WHERE on T's key columns taken from `row`.
template <typename T>
void AddKey(Where& w, const Row& row) {
  const TableDef& t = TableOf<T>();
  for (size_t i = 0; i < row.size(); ++i) {
    if ((t.columns[i].flags & kKey) != 0) {
      w.And(t.columns[i].sql + " = " + w.Bind(row[i]));
    }
  }
}

std::string KeyText(const TableDef& t, const Row& row) {
  std::string out;
  for (size_t i = 0; i < row.size(); ++i) {
    if ((t.columns[i].flags & kKey) != 0) {
      out += (out.empty() ? "" : "/") + row[i].text;
    }
  }
  return out;
}

// The database clients take NUL-terminated text: a value holding NUL would be cut short.
Status CheckNoNul(const TableDef& t, const Row& row) {
  for (const Value& v : row) {
    if (v.text.find('\0') != std::string::npos) {
      return BadParametersError(t.name + " `" + KeyText(t, row) + "`: text holds a NUL byte");
    }
  }
  return Status::Ok();
}

// The id rules of REST.md §5: unique within the tenant and against global rows; a new global
// row unique everywhere.
template <typename T>
Status CheckUnique(soci::session& s, const Row& row, const std::string& tenant, bool global) {
  const TableDef& t = TableOf<T>();
  CLOUDIFY_RETURN_IF_ERROR(CheckNoNul(t, row));
  Where w;
  AddKey<T>(w, row);
  if (t.tenancy == Tenancy::kFull && !global) {
    w.And("tenant_name = " + w.Bind(Value::Text(tenant)) + " OR visibility = 'global'");
  } else if (t.tenancy == Tenancy::kTenantOnly) {
    w.And("tenant_name = " + w.Bind(Value::Text(tenant)));
  }
  if (Count(s, t.name, w) > 0) {
    return ConflictError(t.name + " `" + KeyText(t, row) + "` already exists");
  }
  return Status::Ok();
}

void FillMeta(const Shared& sh, const CallerContext& c, model::ResourceMeta& meta) {
  meta.tenant_name = c.tenant;
  if (meta.created_by.empty()) {
    meta.created_by = c.user;
  }
  if (meta.created_at.time_since_epoch().count() == 0) {
    meta.created_at = sh.clock->Now();
  }
}

// The one visible row of T with the key in `key` (a Where on key columns), or kNotFound.
template <typename T>
Result<std::pair<long long, T>> FindOne(soci::session& s, const CallerContext* c, Where key,
                                        const std::string& what) {
  for (const Value& v : key.binds()) {
    if (v.text.find('\0') != std::string::npos) {
      return NotFoundError("Requested `" + what + "` was not found");  // no id holds a NUL
    }
  }
  if (c != nullptr) {
    AddTenancy(key, TableOf<T>(), *c);
  }
  std::vector<std::pair<long long, T>> rows;
  CLOUDIFY_RETURN_IF_ERROR(SelectRows<T>(s, key, " LIMIT 2", {}, rows));
  if (rows.empty()) {
    return NotFoundError("Requested `" + what + "` was not found");
  }
  return std::move(rows.front());
}

Where KeyWhere(std::initializer_list<std::pair<const char*, std::string>> keys) {
  Where w;
  for (const auto& [column, value] : keys) {
    w.And(std::string(column) + " = " + w.Bind(Value::Text(value)));
  }
  return w;
}

template <typename T>
Status UpdateRow(soci::session& s, long long storage_id, const Row& row) {
  const TableDef& t = TableOf<T>();
  Where w;
  std::string sets;
  for (size_t i = 0; i < row.size(); ++i) {
    sets += (i == 0 ? "" : ", ") + t.columns[i].sql + " = " + w.Bind(row[i]);
  }
  std::string id = w.Bind(Value::Int(storage_id));
  Run(s, "UPDATE " + t.name + " SET " + sets + " WHERE storage_id = " + id, w.binds());
  return Status::Ok();
}

void DeleteByStorageId(soci::session& s, const std::string& table, long long storage_id) {
  std::vector<Value> binds = {Value::Int(storage_id)};
  Run(s, "DELETE FROM " + table + " WHERE storage_id = :b0", binds);
}

// Adds the tenancy, equality/LIKE filters, search, ranges and keyset bound of a list query.
Status AddListFilters(const TableDef& t, const CallerContext* c, const ListQuery& q, Where& where) {
  if (c != nullptr) {
    AddTenancy(where, t, *c);
  }
  for (const auto& [name, values] : q.filters) {
    auto alias = t.filter_aliases.find(name);
    const std::string& field = alias == t.filter_aliases.end() ? name : alias->second;
    int i = t.Find(field);
    if (i < 0 || (t.columns[static_cast<size_t>(i)].flags & (kFilter | kLike)) == 0) {
      return BadParametersError("Filter key `" + name + "` does not exist in " + t.name +
                                " or cannot be filtered on");
    }
    const ColumnDef& col = t.columns[static_cast<size_t>(i)];
    if (values.empty()) {
      return BadParametersError("Filter `" + name + "` has no value");
    }
    std::string cond;
    for (const auto& v : values) {
      CLOUDIFY_ASSIGN_OR_RETURN(Value value, FilterValue(col, v));
      if ((col.flags & kLike) != 0) {
        // The original's ILIKE filters: the value is a pattern (% wildcards), any case.
        cond += (cond.empty() ? "" : " OR ") + std::string("LOWER(") + col.sql + ") LIKE LOWER(" +
                where.Bind(std::move(value)) + ")";
      } else {
        cond += (cond.empty() ? "" : " OR ") + col.sql + " = " + where.Bind(std::move(value));
      }
    }
    where.And(cond);
  }
  if (q.search.find('\0') != std::string::npos) {
    return BadParametersError("_search holds a NUL byte");
  }
  if (!q.search.empty()) {
    for (const auto& col : t.columns) {
      if ((col.flags & kSearch) != 0) {
        where.And("LOWER(" + col.sql + ") LIKE LOWER(" +
                  where.Bind(Value::Text("%" + EscapeLike(Lower(q.search)) + "%")) +
                  ") ESCAPE '\\'");
      }
    }
  }
  for (const auto& range : q.ranges) {
    std::string field = range.field;
    if (!field.empty() && field[0] == '@') {
      field.erase(0, 1);
    }
    int i = t.Find(field);
    if (i < 0 || t.columns[static_cast<size_t>(i)].type == ColType::kText ||
        (t.columns[static_cast<size_t>(i)].flags & kInternal) != 0) {
      return BadParametersError("_range field `" + range.field + "` is not a range field of " +
                                t.name);
    }
    const ColumnDef& col = t.columns[static_cast<size_t>(i)];
    if (range.from) {
      CLOUDIFY_ASSIGN_OR_RETURN(Value from, FilterValue(col, *range.from));
      where.And(col.sql + " >= " + where.Bind(std::move(from)));
    }
    if (range.to) {
      CLOUDIFY_ASSIGN_OR_RETURN(Value to, FilterValue(col, *range.to));
      where.And(col.sql + " < " + where.Bind(std::move(to)));
    }
  }
  if (q.after_storage_id) {
    where.And("storage_id > " + where.Bind(Value::Int(*q.after_storage_id)));
  }
  return Status::Ok();
}

// The list engine of REST.md §2: filters, search, ranges, keyset, sort, page, total — in SQL.
template <typename T>
Result<Page<T>> ListRows(const Shared& sh, soci::session& s, const CallerContext* c,
                         const ListQuery& q, Where where = {}) {
  const TableDef& t = TableOf<T>();
  if (!q.get_all_results && (q.size < 0 || q.size > sh.options.max_page_size)) {
    return BadParametersError("_size must be between 0 and " +
                              std::to_string(sh.options.max_page_size) + ", got " +
                              std::to_string(q.size));
  }
  if (q.offset < 0) {
    return BadParametersError("_offset must be non-negative, got " + std::to_string(q.offset));
  }
  if (q.after_storage_id && (q.offset != 0 || !q.sort.empty())) {
    return BadParametersError("keyset paging (after a storage id) takes neither _offset nor _sort");
  }
  std::vector<bool> selected(t.columns.size(), q.include.empty());
  for (const auto& field : q.include) {
    int i = t.Find(field);
    if (i < 0 || (t.columns[static_cast<size_t>(i)].flags & kInternal) != 0) {
      if (q.include_unknown_reads_all) {
        selected.assign(t.columns.size(), true);
        break;
      }
      return Status(ErrorCode::kNoSuchIncludeField,
                    "Invalid include field `" + field + "` for " + t.name);
    }
    selected[static_cast<size_t>(i)] = true;
  }
  for (size_t i = 0; i < t.columns.size(); ++i) {
    if ((t.columns[i].flags & kKey) != 0) {
      selected[i] = true;
    }
  }
  CLOUDIFY_RETURN_IF_ERROR(AddListFilters(t, c, q, where));
  std::string order;
  for (const auto& raw : q.sort) {
    std::string field = raw;
    bool desc = false;
    if (!field.empty() && (field[0] == '-' || field[0] == '+')) {
      desc = field[0] == '-';
      field.erase(0, 1);
    }
    if (!field.empty() && field[0] == '@') {
      field.erase(0, 1);
    }
    int i = t.Find(field);
    if (i < 0 || (t.columns[static_cast<size_t>(i)].flags & kInternal) != 0 ||
        (!t.sort_any && (t.columns[static_cast<size_t>(i)].flags & kSort) == 0)) {
      return BadParametersError("Cannot sort " + t.name + " by `" + raw + "`: unknown field");
    }
    order += (order.empty() ? "" : ", ") + t.columns[static_cast<size_t>(i)].sql +
             (desc ? " DESC" : " ASC");
  }
  if (order.empty() && t.has_created_at && !q.after_storage_id) {
    order = "created_at ASC";
  }
  order += (order.empty() ? "" : ", ") + std::string("storage_id ASC");

  Page<T> page;
  page.size = q.size;
  page.offset = q.offset;
  page.total = -1;
  // The total comes with the page (one statement: one round trip, one plan); only an empty
  // page past the start needs a count of its own.
  Where count_where = where;
  long long total = -1;
  std::string suffix = " ORDER BY " + order;
  if (q.get_all_results) {
    suffix += NoLimitSql(sh.dialect) + " OFFSET " + where.Bind(Value::Int(q.offset));
  } else {
    suffix +=
        " LIMIT " + where.Bind(Value::Int(q.size)) + " OFFSET " + where.Bind(Value::Int(q.offset));
  }
  std::vector<std::pair<long long, T>> rows;
  // A page deep into the matches reads only its own rows whole.
  const bool deferred = q.offset > 0 && !q.get_all_results;
  CLOUDIFY_RETURN_IF_ERROR(SelectRows<T>(s, where, suffix, selected, rows,
                                         q.with_total ? &total : nullptr,
                                         deferred ? &order : nullptr));
  if (q.with_total) {
    const bool page_could_hold_rows = q.offset == 0 && (q.size > 0 || q.get_all_results);
    page.total = !rows.empty() ? total : page_could_hold_rows ? 0 : Count(s, t.name, count_where);
  }
  page.items.reserve(rows.size());
  for (auto& [id, item] : rows) {
    page.items.push_back(std::move(item));
  }
  return page;
}

// --- The store ---

class SociStore final : public Store {
 public:
  SociStore(std::shared_ptr<Shared> shared, soci::session* tx)
      : shared_(std::move(shared)), tx_(tx) {}

  std::string_view backend() const override {
    return shared_->dialect == Dialect::kSqlite ? "sqlite" : "postgresql";
  }

  Result<int> SchemaVersion() override {
    return Read([&](soci::session& s) -> Result<int> { return CurrentSchemaVersion(s); },
                "read the schema version");
  }

  Status Maintain() override {
    if (tx_ != nullptr) {
      return Status(ErrorCode::kBadParameters, "maintenance cannot run inside a transaction");
    }
    if (shared_->dialect == Dialect::kSqlite) {
      // ANALYZE writes sqlite_stat1: it queues with the other writers.
      std::unique_lock<std::timed_mutex> writer(shared_->sqlite_writer, std::defer_lock);
      if (!writer.try_lock_for(shared_->options.busy_timeout)) {
        return Status(ErrorCode::kUnavailable, "maintenance: the database is busy");
      }
      return Read(
          [&](soci::session& s) -> Status {
            // A bounded sample per index keeps this short on a big database.
            Exec(s, "PRAGMA analysis_limit = 1000");
            Exec(s, "ANALYZE");
            Exec(s, "PRAGMA wal_checkpoint(PASSIVE)");
            return Status::Ok();
          },
          "maintenance");
    }
    return Read(
        [&](soci::session& s) -> Status {
          // VACUUM runs outside a transaction, one table at a time, only on this store's schema.
          std::vector<std::string> tables;
          std::vector<Value> none;
          Run(s, "SELECT tablename FROM pg_tables WHERE schemaname = current_schema()", none,
              {ColType::kText}, [&](const Row& row) { tables.push_back(row[0].text); });
          for (const std::string& table : tables) {
            Exec(s, "VACUUM (ANALYZE) \"" + table + "\"");
          }
          return Status::Ok();
        },
        "maintenance");
  }

  Status InTransaction(const std::function<Status(Store& tx)>& body) override {
    if (tx_ != nullptr) {
      return body(*this);  // joins the outer transaction
    }
    return Write(
        [&](soci::session& s) -> Status {
          SociStore view(shared_, &s);
          return body(view);
        },
        "transaction");
  }

  // --- Tenants, users, groups ---
  Status CreateTenant(const model::Tenant& tenant) override {
    model::Tenant t = tenant;
    if (t.created_at.time_since_epoch().count() == 0) {
      t.created_at = shared_->clock->Now();
    }
    return Insert<model::Tenant>(nullptr, ToRow(t), "", false, "create tenant");
  }
  Result<model::Tenant> GetTenant(const std::string& name) override {
    return Get<model::Tenant>(nullptr, KeyWhere({{"name", name}}), "tenant " + name);
  }
  Result<Page<model::Tenant>> ListTenants(const ListQuery& query) override {
    return List<model::Tenant>(nullptr, query);
  }
  Status DeleteTenant(const std::string& name) override {
    return Delete<model::Tenant>(nullptr, KeyWhere({{"name", name}}), "tenant " + name);
  }

  Status CreateUser(const model::User& user) override {
    CLOUDIFY_RETURN_IF_ERROR(CheckPasswordHash(user));
    model::User u = user;
    if (u.created_at.time_since_epoch().count() == 0) {
      u.created_at = shared_->clock->Now();
    }
    return Insert<model::User>(nullptr, ToRow(u), "", false, "create user");
  }
  Result<model::User> GetUser(const std::string& username) override {
    return Get<model::User>(nullptr, KeyWhere({{"username", username}}), "user " + username);
  }
  Status UpdateUser(const model::User& user) override {
    CLOUDIFY_RETURN_IF_ERROR(CheckPasswordHash(user));
    return Replace<model::User>(nullptr, user, KeyWhere({{"username", user.username}}),
                                "user " + user.username);
  }
  Result<Page<model::User>> ListUsers(const ListQuery& query) override {
    return List<model::User>(nullptr, query);
  }
  Status DeleteUser(const std::string& username) override {
    return Delete<model::User>(nullptr, KeyWhere({{"username", username}}), "user " + username);
  }

  Status CreateToken(const model::Token& token) override {
    return Insert<model::Token>(nullptr, ToRow(token), "", false, "create token");
  }
  Result<model::Token> GetToken(const std::string& id) override {
    return Get<model::Token>(nullptr, KeyWhere({{"id", id}}), "Token " + id);
  }
  Status UpdateToken(const model::Token& token) override {
    return Replace<model::Token>(nullptr, token, KeyWhere({{"id", token.id}}), "Token " + token.id);
  }
  Result<Page<model::Token>> ListTokens(const ListQuery& query) override {
    return List<model::Token>(nullptr, query);
  }
  Status DeleteToken(const std::string& id) override {
    return Delete<model::Token>(nullptr, KeyWhere({{"id", id}}), "Token " + id);
  }

  Status CreateUserGroup(const model::UserGroup& group) override {
    return Insert<model::UserGroup>(nullptr, ToRow(group), "", false, "create user group");
  }
  Result<model::UserGroup> GetUserGroup(const std::string& name) override {
    return Get<model::UserGroup>(nullptr, KeyWhere({{"name", name}}), "user group " + name);
  }
  Status UpdateUserGroup(const model::UserGroup& group) override {
    return Replace<model::UserGroup>(nullptr, group, KeyWhere({{"name", group.name}}),
                                     "user group " + group.name);
  }
  Result<Page<model::UserGroup>> ListUserGroups(const ListQuery& query) override {
    return List<model::UserGroup>(nullptr, query);
  }
  Status DeleteUserGroup(const std::string& name) override {
    return Delete<model::UserGroup>(nullptr, KeyWhere({{"name", name}}), "user group " + name);
  }

  // --- Blueprints ---
  Status CreateBlueprint(const CallerContext& c, const model::Blueprint& bp) override {
    return CreateScoped(c, bp, "create blueprint");
  }
  Result<model::Blueprint> GetBlueprint(const CallerContext& c, const std::string& id) override {
    return Get<model::Blueprint>(&c, KeyWhere({{"id", id}}), "blueprint " + id);
  }
  Status UpdateBlueprint(const CallerContext& c, const model::Blueprint& bp) override {
    return ReplaceScoped(c, bp, KeyWhere({{"id", bp.id}}), "blueprint " + bp.id);
  }
  Result<Page<model::Blueprint>> ListBlueprints(const CallerContext& c,
                                                const ListQuery& query) override {
    return List<model::Blueprint>(&c, query);
  }
  Status DeleteBlueprint(const CallerContext& c, const std::string& id) override {
    return Write(
        [&](soci::session& s) -> Status {
          CLOUDIFY_ASSIGN_OR_RETURN(
              auto found,
              FindOne<model::Blueprint>(s, &c, KeyWhere({{"id", id}}), "blueprint " + id));
          const model::Blueprint& bp = found.second;
          Where w = KeyWhere({{"blueprint_id", id}});
          if (bp.meta.visibility != model::Visibility::kGlobal) {
            w.And("tenant_name = " + w.Bind(Value::Text(bp.meta.tenant_name)));
          }
          long long n = Count(s, "deployments", w);
          if (n > 0) {
            return Status(ErrorCode::kDependentExists, "Can't delete blueprint `" + id +
                                                           "`: " + std::to_string(n) +
                                                           " deployment(s) still use it");
          }
          DeleteByStorageId(s, "blueprints", found.first);
          return Status::Ok();
        },
        "delete blueprint " + id);
  }

  // --- Deployments ---
  Status CreateDeployment(const CallerContext& c, const model::Deployment& d) override {
    return CreateScoped(c, d, "create deployment");
  }
  Result<model::Deployment> GetDeployment(const CallerContext& c, const std::string& id) override {
    return Get<model::Deployment>(&c, KeyWhere({{"id", id}}), "deployment " + id);
  }
  Status UpdateDeployment(const CallerContext& c, const model::Deployment& d) override {
    return ReplaceScoped(c, d, KeyWhere({{"id", d.id}}), "deployment " + d.id);
  }
  Result<Page<model::Deployment>> ListDeployments(const CallerContext& c,
                                                  const ListQuery& query) override {
    return List<model::Deployment>(&c, query);
  }
  Status DeleteDeployment(const CallerContext& c, const std::string& id) override {
    return Write(
        [&](soci::session& s) -> Status {
          CLOUDIFY_ASSIGN_OR_RETURN(
              auto found,
              FindOne<model::Deployment>(s, &c, KeyWhere({{"id", id}}), "deployment " + id));
          const std::string& tenant = found.second.meta.tenant_name;
          auto run = [&](const std::string& sql) {
            std::vector<Value> binds = {Value::Text(tenant), Value::Text(id)};
            Run(s, sql, binds);
          };
          const std::string executions =
              "(SELECT id FROM executions WHERE tenant_name = :b0 AND deployment_id = :b1)";
          run("DELETE FROM operations WHERE tenant_name = :b0 AND execution_id IN " + executions);
          run("DELETE FROM tasks_graphs WHERE tenant_name = :b0 AND execution_id IN " + executions);
          run("DELETE FROM executions WHERE tenant_name = :b0 AND deployment_id = :b1");
          run("DELETE FROM node_instances WHERE tenant_name = :b0 AND deployment_id = :b1");
          run("DELETE FROM nodes WHERE tenant_name = :b0 AND deployment_id = :b1");
          run("DELETE FROM events WHERE tenant_name = :b0 AND deployment_id = :b1");
          run("DELETE FROM metrics WHERE tenant_name = :b0 AND deployment_id = :b1");
          run("DELETE FROM agents WHERE tenant_name = :b0 AND deployment_id = :b1");
          run("DELETE FROM deployment_modifications WHERE tenant_name = :b0 AND "
              "deployment_id = :b1");
          DeleteByStorageId(s, "deployments", found.first);
          return Status::Ok();
        },
        "delete deployment " + id);
  }

  // --- Nodes ---
  Status CreateNodes(const CallerContext& c, const std::vector<model::Node>& nodes) override {
    return CreateManyScoped(c, nodes, "create nodes");
  }
  Result<model::Node> GetNode(const CallerContext& c, const std::string& deployment_id,
                              const std::string& node_id) override {
    return Get<model::Node>(&c, KeyWhere({{"deployment_id", deployment_id}, {"id", node_id}}),
                            "node " + deployment_id + "/" + node_id);
  }
  Status UpdateNode(const CallerContext& c, const model::Node& node) override {
    return ReplaceScoped(c, node,
                         KeyWhere({{"deployment_id", node.deployment_id}, {"id", node.id()}}),
                         "node " + node.deployment_id + "/" + node.id());
  }
  Result<Page<model::Node>> ListNodes(const CallerContext& c, const ListQuery& query) override {
    return List<model::Node>(&c, query);
  }

  // --- Node instances ---
  Status CreateNodeInstances(const CallerContext& c,
                             const std::vector<model::NodeInstance>& instances) override {
    return CreateManyScoped(c, instances, "create node instances");
  }
  Result<model::NodeInstance> GetNodeInstance(const CallerContext& c,
                                              const std::string& id) override {
    // Inside a transaction the read must see its own writes, and must not cache them.
    NodeInstanceCache* cache =
        tx_ == nullptr && !c.all_tenants ? shared_->instance_cache.get() : nullptr;
    if (cache == nullptr) {
      return Get<model::NodeInstance>(&c, KeyWhere({{"id", id}}), "node instance " + id);
    }
    std::string key = NodeInstanceCache::Key(c, id);
    const uint64_t writes = shared_->writes.load(std::memory_order_acquire);
    if (auto hit = cache->Find(key, writes)) {
      return *hit;
    }
    auto read = Get<model::NodeInstance>(&c, KeyWhere({{"id", id}}), "node instance " + id);
    if (read.ok()) {
      cache->Put(std::move(key), writes, *read);
    }
    return read;
  }
  Result<model::NodeInstance> UpdateNodeInstance(const CallerContext& c, const std::string& id,
                                                 const NodeInstanceUpdate& u) override {
    return Write(
        [&](soci::session& s) -> Result<model::NodeInstance> {
          CLOUDIFY_ASSIGN_OR_RETURN(
              auto found,
              FindOne<model::NodeInstance>(s, &c, KeyWhere({{"id", id}}), "node instance " + id));
          model::NodeInstance& inst = found.second;
          const int64_t stored = inst.version;
          if (!u.force) {
            CLOUDIFY_RETURN_IF_ERROR(model::CheckNodeInstanceVersion(id, stored, u.version));
          }
          if (u.state) {
            inst.state = *u.state;
          }
          if (u.runtime_properties) {
            inst.runtime_properties = *u.runtime_properties;
          }
          if (u.system_properties) {
            inst.system_properties = *u.system_properties;
          }
          if (u.relationships) {
            inst.relationships = *u.relationships;
          }
          inst.version = stored + 1;
          // The version guard makes a concurrent writer (another PostgreSQL connection) that read
          // the same version lose instead of overwriting.
          Where w;
          std::string sets =
              "state = " +
              w.Bind(Value::Text(std::string(model::NodeInstanceStateName(inst.state)))) +
              ", runtime_properties = " + w.Bind(Value::Text(inst.runtime_properties.dump())) +
              ", system_properties = " + w.Bind(Value::Text(inst.system_properties.dump())) +
              ", relationships = " + w.Bind(Value::Text(Stored(inst.relationships).dump())) +
              ", version = " + w.Bind(Value::Int(inst.version));
          std::string where = " WHERE storage_id = " + w.Bind(Value::Int(found.first)) +
                              " AND version = " + w.Bind(Value::Int(stored));
          if (Run(s, "UPDATE node_instances SET " + sets + where, w.binds()) != 1) {
            return ConflictError("Node instance update conflict: `" + id +
                                 "` was updated concurrently");
          }
          return std::move(inst);
        },
        "update node instance " + id);
  }
  Result<Page<model::NodeInstance>> ListNodeInstances(const CallerContext& c,
                                                      const ListQuery& query) override {
    return List<model::NodeInstance>(&c, query);
  }
  Status DeleteNodeInstance(const CallerContext& c, const std::string& id) override {
    return Delete<model::NodeInstance>(&c, KeyWhere({{"id", id}}), "node instance " + id);
  }

  // --- Executions ---
  Status CreateExecution(const CallerContext& c, const model::Execution& e) override {
    return CreateScoped(c, e, "create execution");
  }
  Result<model::Execution> GetExecution(const CallerContext& c, const std::string& id) override {
    return Get<model::Execution>(&c, KeyWhere({{"id", id}}), "execution " + id);
  }
  Status UpdateExecution(const CallerContext& c, const model::Execution& e) override {
    return ReplaceScoped(c, e, KeyWhere({{"id", e.id}}), "execution " + e.id);
  }
  Result<Page<model::Execution>> ListExecutions(const CallerContext& c,
                                                const ListQuery& query) override {
    return List<model::Execution>(&c, query);
  }
  Status DeleteExecution(const CallerContext& c, const std::string& id) override {
    return Write(
        [&](soci::session& s) -> Status {
          CLOUDIFY_ASSIGN_OR_RETURN(
              auto found,
              FindOne<model::Execution>(s, &c, KeyWhere({{"id", id}}), "execution " + id));
          std::vector<Value> binds = {Value::Text(found.second.meta.tenant_name), Value::Text(id)};
          Run(s, "DELETE FROM operations WHERE tenant_name = :b0 AND execution_id = :b1", binds);
          Run(s, "DELETE FROM tasks_graphs WHERE tenant_name = :b0 AND execution_id = :b1", binds);
          DeleteByStorageId(s, "executions", found.first);
          return Status::Ok();
        },
        "delete execution " + id);
  }

  Result<std::optional<model::Execution>> ClaimExecution(const std::string& owner,
                                                         std::chrono::milliseconds lease) override {
    using R = Result<std::optional<model::Execution>>;
    if (owner.empty() || lease.count() <= 0) {
      return BadParametersError("an execution claim needs an owner and a positive lease");
    }
    return Write(
        [&](soci::session& s) -> R {
          const long long now = shared_->NowMs();
          std::vector<Value> binds = {Value::Int(now)};
          long long storage_id = -1;
          Run(s,
              "SELECT storage_id FROM executions WHERE status IN ('pending', 'started', "
              "'cancelling', 'force_cancelling', 'kill_cancelling') AND (claim_owner IS NULL OR "
              "claim_expires_at < :b0) ORDER BY created_at, storage_id LIMIT 1" +
                  SkipLockedSql(shared_->dialect),
              binds, {ColType::kInt}, [&](const Row& row) { storage_id = row[0].number; });
          if (storage_id < 0) {
            return std::optional<model::Execution>();
          }
          std::vector<Value> set = {Value::Text(owner), Value::Int(now + lease.count()),
                                    Value::Int(storage_id)};
          Run(s,
              "UPDATE executions SET claim_owner = :b0, claim_expires_at = :b1 WHERE storage_id = "
              ":b2",
              set);
          Where w;
          w.And("storage_id = " + w.Bind(Value::Int(storage_id)));
          std::vector<std::pair<long long, model::Execution>> rows;
          CLOUDIFY_RETURN_IF_ERROR(SelectRows<model::Execution>(s, w, "", {}, rows));
          if (rows.empty()) {
            return InternalError("claimed execution row vanished");
          }
          return std::optional<model::Execution>(std::move(rows.front().second));
        },
        "claim an execution");
  }

  Status RenewExecutionLease(const std::string& execution_id, const std::string& owner,
                             std::chrono::milliseconds lease) override {
    return Write(
        [&](soci::session& s) -> Status {
          std::vector<Value> binds = {Value::Int(shared_->NowMs() + lease.count()),
                                      Value::Text(execution_id), Value::Text(owner)};
          if (Run(s,
                  "UPDATE executions SET claim_expires_at = :b0 WHERE id = :b1 AND claim_owner = "
                  ":b2",
                  binds) == 0) {
            return ConflictError("execution `" + execution_id + "` is not held by `" + owner + "`");
          }
          return Status::Ok();
        },
        "renew the lease of execution " + execution_id);
  }

  Status ReleaseExecution(const std::string& execution_id, const std::string& owner) override {
    return Write(
        [&](soci::session& s) -> Status {
          std::vector<Value> binds = {Value::Text(execution_id), Value::Text(owner)};
          if (Run(s,
                  "UPDATE executions SET claim_owner = NULL, claim_expires_at = NULL WHERE id = "
                  ":b0 "
                  "AND claim_owner = :b1",
                  binds) == 0) {
            return ConflictError("execution `" + execution_id + "` is not held by `" + owner + "`");
          }
          return Status::Ok();
        },
        "release execution " + execution_id);
  }

  Result<std::string> ExecutionOwner(const std::string& execution_id) override {
    return Read(
        [&](soci::session& s) -> Result<std::string> {
          std::vector<Value> binds = {Value::Text(execution_id)};
          std::optional<std::string> owner;
          long long now = shared_->NowMs();
          Run(s, "SELECT claim_owner, claim_expires_at FROM executions WHERE id = :b0", binds,
              {ColType::kText, ColType::kInt}, [&](const Row& row) {
                owner = (row[0].null || row[1].number < now) ? "" : row[0].text;
              });
          if (!owner) {
            return NotFoundError("Requested `execution " + execution_id + "` was not found");
          }
          return *owner;
        },
        "read the owner of execution " + execution_id);
  }

  // --- Task graphs and operations ---
  Status CreateTasksGraph(const CallerContext& c, const model::TasksGraph& graph,
                          const std::vector<model::Operation>& operations) override {
    return Write(
        [&](soci::session& s) -> Status {
          model::TasksGraph g = graph;
          if (g.created_at.time_since_epoch().count() == 0) {
            g.created_at = shared_->clock->Now();
          }
          Row row = ToRow(g);
          CLOUDIFY_RETURN_IF_ERROR(CheckUnique<model::TasksGraph>(s, row, c.tenant, false));
          row.push_back(Value::Text(c.tenant));
          std::vector<Row> rows = {std::move(row)};
          InsertRows(s, TableOf<model::TasksGraph>(), rows);
          return InsertOperations(s, c, operations);
        },
        "create tasks graph " + graph.id);
  }
  Result<model::TasksGraph> GetTasksGraph(const CallerContext& c, const std::string& id) override {
    return Get<model::TasksGraph>(&c, KeyWhere({{"id", id}}), "tasks graph " + id);
  }
  Result<Page<model::TasksGraph>> ListTasksGraphs(const CallerContext& c,
                                                  const ListQuery& query) override {
    return List<model::TasksGraph>(&c, query);
  }
  Status CreateOperations(const CallerContext& c,
                          const std::vector<model::Operation>& operations) override {
    return Write([&](soci::session& s) { return InsertOperations(s, c, operations); },
                 "create operations");
  }
  Result<model::Operation> GetOperation(const CallerContext& c, const std::string& id) override {
    return Get<model::Operation>(&c, KeyWhere({{"id", id}}), "operation " + id);
  }
  Status UpdateOperation(const CallerContext& c, const model::Operation& op) override {
    return Write(
        [&](soci::session& s) -> Status {
          CLOUDIFY_ASSIGN_OR_RETURN(
              auto found,
              FindOne<model::Operation>(s, &c, KeyWhere({{"id", op.id}}), "operation " + op.id));
          model::Operation updated = op;
          updated.created_at = found.second.created_at;
          return UpdateRow<model::Operation>(s, found.first, ToRow(updated));
        },
        "update operation " + op.id);
  }
  Result<std::vector<std::string>> WriteRunProgress(const CallerContext& c,
                                                    const RunProgress& progress) override {
    return Write(
        [&](soci::session& s) -> Result<std::vector<std::string>> {
          std::vector<std::string> stale;
          if (!progress.instance_states.empty()) {
            // One prepared UPDATE per batch: no read of the row, the version guard decides.
            Where w;
            const std::string state = w.Bind(Value::Text({}));
            w.And("id = " + w.Bind(Value::Text({})));
            w.And("version = " + w.Bind(Value::Int(0)));
            AddTenancy(w, TableOf<model::NodeInstance>(), c);
            PreparedWrite update(
                s,
                "UPDATE node_instances SET state = " + state + ", version = version + 1" + w.Sql(),
                w.binds());
            std::unordered_set<std::string_view> skipped;
            for (const auto& item : progress.instance_states) {
              if (skipped.count(item.id) != 0) {
                continue;
              }
              update.Set(0, Value::Text(std::string(model::NodeInstanceStateName(item.state))));
              update.Set(1, Value::Text(item.id));
              update.Set(2, Value::Int(item.version));
              if (update.Execute() != 1) {
                skipped.insert(item.id);
                stale.push_back(item.id);
              }
            }
          }
          if (!progress.operation_states.empty()) {
            Where w;
            const std::string state = w.Bind(Value::Text({}));
            const std::string parameters = w.Bind(Value::Text({}));
            w.And("id = " + w.Bind(Value::Text({})));
            AddTenancy(w, TableOf<model::Operation>(), c);
            PreparedWrite update(
                s,
                "UPDATE operations SET state = " + state + ", parameters = " + parameters + w.Sql(),
                w.binds());
            for (const auto& item : progress.operation_states) {
              update.Set(0, Value::Text(std::string(model::TaskStateName(item.state))));
              update.Set(1, Value::Text(item.parameters.dump()));
              update.Set(2, Value::Text(item.id));
              if (update.Execute() != 1) {
                return NotFoundError("Requested `operation " + item.id + "` was not found");
              }
            }
          }
          return stale;
        },
        "write run progress");
  }
  Result<Page<model::Operation>> ListOperations(const CallerContext& c,
                                                const ListQuery& query) override {
    return List<model::Operation>(&c, query);
  }
  Status DeleteOperation(const CallerContext& c, const std::string& id) override {
    return Delete<model::Operation>(&c, KeyWhere({{"id", id}}), "operation " + id);
  }

  // --- Events ---
  Result<int64_t> AppendEvents(const CallerContext& c,
                               const std::vector<model::Event>& events) override {
    const int level = TableOf<model::Event>().Find("level");
    return AppendStamped(c, events, "timestamp", "append events",
                         [level](const model::Event& e, Row& row) {
                           if (e.kind == model::EventKind::kEvent) {
                             // Events have no level: a `level` filter must not match them.
                             row[static_cast<size_t>(level)] = Value::Null(ColType::kText);
                           }
                         });
  }
  Result<Page<model::Event>> ListEvents(const CallerContext& c, const ListQuery& query) override {
    return List<model::Event>(&c, query);
  }
  Result<int64_t> DeleteEvents(const CallerContext& c, const ListQuery& query) override {
    return DeleteMatching<model::Event>(c, query, "delete events");
  }

  // --- Metrics ---
  Result<int64_t> AppendMetrics(const CallerContext& c,
                                const std::vector<model::Metric>& metrics) override {
    return AppendStamped(c, metrics, "time", "append metrics", [](const model::Metric&, Row&) {});
  }
  Result<Page<model::Metric>> ListMetrics(const CallerContext& c, const ListQuery& query) override {
    return List<model::Metric>(&c, query);
  }
  Result<int64_t> DeleteMetrics(const CallerContext& c, const ListQuery& query) override {
    return DeleteMatching<model::Metric>(c, query, "delete metrics");
  }

  // --- Secrets ---
  Status CreateSecret(const CallerContext& c, const model::Secret& secret) override {
    model::Secret sealed = secret;
    CLOUDIFY_ASSIGN_OR_RETURN(sealed.value, shared_->key->Encrypt(secret.value));
    if (sealed.updated_at.time_since_epoch().count() == 0) {
      sealed.updated_at = shared_->clock->Now();
    }
    return CreateScoped(c, sealed, "create secret");
  }
  Result<model::Secret> GetSecret(const CallerContext& c, const std::string& key) override {
    CLOUDIFY_ASSIGN_OR_RETURN(model::Secret secret,
                              Get<model::Secret>(&c, KeyWhere({{"key", key}}), "secret " + key));
    CLOUDIFY_ASSIGN_OR_RETURN(secret.value, shared_->key->Decrypt(secret.value));
    return secret;
  }
  Status UpdateSecret(const CallerContext& c, const model::Secret& secret) override {
    model::Secret sealed = secret;
    CLOUDIFY_ASSIGN_OR_RETURN(sealed.value, shared_->key->Encrypt(secret.value));
    sealed.updated_at = shared_->clock->Now();
    return ReplaceScoped(c, sealed, KeyWhere({{"key", secret.key}}), "secret " + secret.key);
  }
  Result<Page<model::Secret>> ListSecrets(const CallerContext& c, const ListQuery& query) override {
    ListQuery q = query;
    if (q.include.empty()) {
      const TableDef& t = TableOf<model::Secret>();
      for (const auto& col : t.columns) {
        if (col.field != "value") {
          q.include.push_back(col.field);
        }
      }
    } else if (std::find(q.include.begin(), q.include.end(), "value") != q.include.end()) {
      return Status(ErrorCode::kNoSuchIncludeField, "secret lists carry no values");
    }
    return List<model::Secret>(&c, q);
  }
  Status DeleteSecret(const CallerContext& c, const std::string& key) override {
    return Delete<model::Secret>(&c, KeyWhere({{"key", key}}), "secret " + key);
  }

  // --- Plugins ---
  Status CreatePlugin(const CallerContext& c, const model::Plugin& plugin) override {
    return CreateScoped(c, plugin, "create plugin");
  }
  Result<model::Plugin> GetPlugin(const CallerContext& c, const std::string& id) override {
    return Get<model::Plugin>(&c, KeyWhere({{"id", id}}), "plugin " + id);
  }
  Status UpdatePlugin(const CallerContext& c, const model::Plugin& plugin) override {
    return ReplaceScoped(c, plugin, KeyWhere({{"id", plugin.id}}), "plugin " + plugin.id);
  }
  Result<Page<model::Plugin>> ListPlugins(const CallerContext& c, const ListQuery& query) override {
    return List<model::Plugin>(&c, query);
  }
  Status DeletePlugin(const CallerContext& c, const std::string& id) override {
    return Delete<model::Plugin>(&c, KeyWhere({{"id", id}}), "plugin " + id);
  }

  // --- Agents ---
  Status CreateAgent(const CallerContext& c, const model::Agent& agent) override {
    return CreateScoped(c, agent, "create agent");
  }
  Result<model::Agent> GetAgent(const CallerContext& c, const std::string& name) override {
    return Get<model::Agent>(&c, KeyWhere({{"id", name}}), "agent " + name);
  }
  Status UpdateAgent(const CallerContext& c, const model::Agent& agent) override {
    return ReplaceScoped(c, agent, KeyWhere({{"id", agent.id}}), "agent " + agent.id);
  }
  Result<Page<model::Agent>> ListAgents(const CallerContext& c, const ListQuery& query) override {
    return List<model::Agent>(&c, query);
  }
  Status DeleteAgent(const CallerContext& c, const std::string& name) override {
    return Delete<model::Agent>(&c, KeyWhere({{"id", name}}), "agent " + name);
  }

  // --- Deployment modifications ---
  Status CreateDeploymentModification(const CallerContext& c,
                                      const model::DeploymentModification& m) override {
    return CreateScoped(c, m, "create deployment modification");
  }
  Result<model::DeploymentModification> GetDeploymentModification(const CallerContext& c,
                                                                  const std::string& id) override {
    return Get<model::DeploymentModification>(&c, KeyWhere({{"id", id}}),
                                              "deployment modification " + id);
  }
  Status UpdateDeploymentModification(const CallerContext& c,
                                      const model::DeploymentModification& m) override {
    return ReplaceScoped(c, m, KeyWhere({{"id", m.id}}), "deployment modification " + m.id);
  }
  Result<Page<model::DeploymentModification>> ListDeploymentModifications(
      const CallerContext& c, const ListQuery& query) override {
    return List<model::DeploymentModification>(&c, query);
  }

 private:
  // Runs `f` on a connection: the transaction's, or a pooled one. SOCI and database exceptions
  // become a Status naming `what`.
  template <typename F>
  auto Read(F&& f, const std::string& what) -> decltype(f(std::declval<soci::session&>())) {
    try {
      if (tx_ != nullptr) {
        return f(*tx_);
      }
      Lease lease(*shared_->pool);
      try {
        return f(lease.session());
      } catch (const std::exception& e) {
        if (!shared_->Reconnect(lease.session())) {
          return StatusFromException(e, what);
        }
        return f(lease.session());  // a read is safe to run again
      }
    } catch (const std::exception& e) {
      return StatusFromException(e, what);
    }
  }

  // Runs `f` in a write transaction (or the caller's), committing when it succeeds.
  template <typename F>
  auto Write(F&& f, const std::string& what) -> decltype(f(std::declval<soci::session&>())) {
    if (tx_ != nullptr) {
      try {
        return f(*tx_);
      } catch (const std::exception& e) {
        return StatusFromException(e, what);
      }
    }
    try {
      std::unique_lock<std::timed_mutex> writer(shared_->sqlite_writer, std::defer_lock);
      if (shared_->dialect == Dialect::kSqlite &&
          !writer.try_lock_for(shared_->options.busy_timeout)) {
        return Status(ErrorCode::kUnavailable,
                      what + ": the database is busy (locked by a writer)");
      }
      Lease lease(*shared_->pool);
      soci::session& s = lease.session();
      // However it ends, a reader that read before it ended must not be trusted after.
      struct CountWrite {
        std::atomic<uint64_t>& writes;
        ~CountWrite() { writes.fetch_add(1, std::memory_order_release); }
      } count_write{shared_->writes};
      try {
        Exec(s, BeginWriteSql(shared_->dialect));
      } catch (const std::exception&) {
        // Nothing was written yet: a connection found closed is reopened and the write begun
        // again; any other failure stands.
        if (!shared_->Reconnect(s)) {
          throw;
        }
        Exec(s, BeginWriteSql(shared_->dialect));
      }
      try {
        auto result = f(s);
        if (result.ok()) {
          Exec(s, "COMMIT");
        } else {
          Exec(s, "ROLLBACK");
        }
        return result;
      } catch (const std::exception& e) {
        try {
          Exec(s, "ROLLBACK");
        } catch (const std::exception&) {  // NOLINT(bugprone-empty-catch): report the first
        }
        // A write cut off mid-way is not run again (it may have committed); the next call
        // finds the connection reopened.
        shared_->Reconnect(s);
        return StatusFromException(e, what);
      }
    } catch (const std::exception& e) {
      return StatusFromException(e, what);
    }
  }

  Status CheckPasswordHash(const model::User& user) {
    if (!IsPasswordHash(user.password_hash)) {
      return BadParametersError("user `" + user.username +
                                "`: password_hash must be a HashPassword() hash, never a password");
    }
    return Status::Ok();
  }

  template <typename T>
  Status Insert(const CallerContext* c, Row row, const std::string& tenant, bool global,
                const std::string& what) {
    return Write(
        [&](soci::session& s) -> Status {
          CLOUDIFY_RETURN_IF_ERROR(CheckUnique<T>(s, row, tenant, global));
          std::vector<Row> rows = {std::move(row)};
          (void)c;
          InsertRows(s, TableOf<T>(), rows);
          return Status::Ok();
        },
        what);
  }

  template <typename T>
  Status CreateScoped(const CallerContext& c, const T& value, const std::string& what) {
    T v = value;
    FillMeta(*shared_, c, v.meta);
    return Insert<T>(&c, ToRow(v), c.tenant, v.meta.visibility == model::Visibility::kGlobal, what);
  }

  template <typename T>
  Status CreateManyScoped(const CallerContext& c, const std::vector<T>& values,
                          const std::string& what) {
    return Write(
        [&](soci::session& s) -> Status {
          std::vector<Row> rows;
          rows.reserve(values.size());
          for (const T& value : values) {
            T v = value;
            FillMeta(*shared_, c, v.meta);
            Row row = ToRow(v);
            CLOUDIFY_RETURN_IF_ERROR(
                CheckUnique<T>(s, row, c.tenant, v.meta.visibility == model::Visibility::kGlobal));
            rows.push_back(std::move(row));
          }
          InsertRows(s, TableOf<T>(), rows);
          return Status::Ok();
        },
        what);
  }

  Status InsertOperations(soci::session& s, const CallerContext& c,
                          const std::vector<model::Operation>& operations) {
    const TableDef& t = TableOf<model::Operation>();
    const auto created_at = static_cast<size_t>(t.Find("created_at"));
    const long long now = shared_->NowMs();
    // Rows are made and inserted a slice at a time: a graph of thousands of tasks made whole
    // first held megabytes of rows at once (and grew the heap page by page to hold them).
    constexpr size_t kSlice = 400;
    std::vector<Row> rows;
    rows.reserve(std::min(kSlice, operations.size()));
    for (size_t from = 0; from < operations.size(); from += kSlice) {
      rows.clear();
      const size_t to = std::min(operations.size(), from + kSlice);
      for (size_t i = from; i < to; ++i) {
        const model::Operation& op = operations[i];
        Row row = ToRow(op);
        if (op.created_at.time_since_epoch().count() == 0) {
          row[created_at] = Value::Int(now);
        }
        // The unique index (tenant, id) refuses a duplicate as a conflict; a query per row to
        // say so first would double the cost of storing a graph.
        CLOUDIFY_RETURN_IF_ERROR(CheckNoNul(t, row));
        row.push_back(Value::Text(c.tenant));
        rows.push_back(std::move(row));
      }
      InsertRows(s, t, rows);
    }
    return Status::Ok();
  }

  template <typename T>
  Result<T> Get(const CallerContext* c, Where key, const std::string& what) {
    return Read(
        [&](soci::session& s) -> Result<T> {
          CLOUDIFY_ASSIGN_OR_RETURN(auto found, FindOne<T>(s, c, std::move(key), what));
          return std::move(found.second);
        },
        "get " + what);
  }

  template <typename T>
  Result<Page<T>> List(const CallerContext* c, const ListQuery& q) {
    return Read([&](soci::session& s) { return ListRows<T>(*shared_, s, c, q); },
                "list " + TableOf<T>().name);
  }

  template <typename T>
  Status Replace(const CallerContext* c, const T& value, Where key, const std::string& what) {
    return Write(
        [&](soci::session& s) -> Status {
          CLOUDIFY_ASSIGN_OR_RETURN(auto found, FindOne<T>(s, c, std::move(key), what));
          return UpdateRow<T>(s, found.first, ToRow(value));
        },
        "update " + what);
  }

  // Replaces a tenant-scoped row, keeping its tenant, creator and creation time.
  template <typename T>
  Status ReplaceScoped(const CallerContext& c, const T& value, Where key, const std::string& what) {
    return Write(
        [&](soci::session& s) -> Status {
          CLOUDIFY_ASSIGN_OR_RETURN(auto found, FindOne<T>(s, &c, std::move(key), what));
          T v = value;
          v.meta.tenant_name = found.second.meta.tenant_name;
          v.meta.created_by = found.second.meta.created_by;
          v.meta.created_at = found.second.meta.created_at;
          return UpdateRow<T>(s, found.first, ToRow(v));
        },
        "update " + what);
  }

  // Appends `items` (events, metrics) in one transaction: an empty tenant_name becomes the
  // caller's tenant, an unset `time_field` the clock's now, then `adjust` may edit each row.
  // Returns the last storage id assigned (0 for none).
  template <typename T, typename Adjust>
  Result<int64_t> AppendStamped(const CallerContext& c, const std::vector<T>& items,
                                const char* time_field, const char* what, Adjust adjust) {
    return Write(
        [&](soci::session& s) -> Result<int64_t> {
          if (items.empty()) {
            return int64_t{0};
          }
          const TableDef& t = TableOf<T>();
          const auto tenant = static_cast<size_t>(t.Find("tenant_name"));
          const auto time = static_cast<size_t>(t.Find(time_field));
          const Value now = Value::Int(shared_->NowMs());
          std::vector<Row> rows;
          rows.reserve(items.size());
          for (const T& item : items) {
            Row row = ToRow(item);
            if (row[tenant].text.empty()) {
              row[tenant] = Value::Text(c.tenant);
            }
            if (row[time].number == 0) {
              row[time] = now;
            }
            adjust(item, row);
            rows.push_back(std::move(row));
          }
          return AppendRows(s, t, rows);
        },
        what);
  }

  // Inserts an append-only batch (events, metrics) and returns the last storage id assigned.
  int64_t AppendRows(soci::session& s, const TableDef& t, std::vector<Row>& rows) {
    if (shared_->dialect == Dialect::kPostgres) {
      CopyRows(s, t, rows);  // one round trip for the batch
    } else {
      InsertRows(s, t, rows);  // one prepared multi-row INSERT reused per chunk
    }
    std::vector<Value> none;
    long long last = 0;
    Run(s, LastInsertIdSql(shared_->dialect), none, {ColType::kInt},
        [&](const Row& row) { last = row[0].number; });
    return static_cast<int64_t>(last);
  }

  // Deletes the rows a list query's filters and ranges select (paging does not apply).
  template <typename T>
  Result<int64_t> DeleteMatching(const CallerContext& c, const ListQuery& query,
                                 const std::string& what) {
    return Write(
        [&](soci::session& s) -> Result<int64_t> {
          const TableDef& t = TableOf<T>();
          Where where;
          CLOUDIFY_RETURN_IF_ERROR(AddListFilters(t, &c, query, where));
          return static_cast<int64_t>(Run(s, "DELETE FROM " + t.name + where.Sql(), where.binds()));
        },
        what);
  }

  template <typename T>
  Status Delete(const CallerContext* c, Where key, const std::string& what) {
    return Write(
        [&](soci::session& s) -> Status {
          CLOUDIFY_ASSIGN_OR_RETURN(auto found, FindOne<T>(s, c, std::move(key), what));
          DeleteByStorageId(s, TableOf<T>().name, found.first);
          return Status::Ok();
        },
        "delete " + what);
  }

  std::shared_ptr<Shared> shared_;
  soci::session* tx_;  // non-null in an InTransaction view
};

// libpq's keyword form of a postgresql:// URL (SOCI 4.0 mangles URIs). Values are quoted as
// libpq wants: in single quotes with ' and \ escaped.
std::string PostgresConnInfo(const Url& url, std::string& schema) {
  auto quote = [](const std::string& v) {
    std::string out = "'";
    for (char ch : v) {
      if (ch == '\'' || ch == '\\') {
        out += '\\';
      }
      out += ch;
    }
    return out + "'";
  };
  std::string info;
  auto add = [&](const std::string& key, const std::string& value) {
    if (!value.empty()) {
      info += (info.empty() ? "" : " ") + key + "=" + quote(value);
    }
  };
  add("host", url.host);
  add("port", url.port != 0 ? std::to_string(url.port) : "");
  add("dbname", url.path.size() > 1 ? url.path.substr(1) : "");
  add("user", url.user);
  add("password", url.password);
  for (const auto& [key, value] : url.query) {
    if (key == "schema") {
      schema = value;
    } else {
      add(key, value);
    }
  }
  return info;
}

std::string QuoteIdentifier(const std::string& name) {
  std::string out = "\"";
  for (char ch : name) {
    out += ch;
    if (ch == '"') {
      out += '"';
    }
  }
  return out + "\"";
}

}  // namespace

Result<std::unique_ptr<Store>> OpenSociStore(const Url& url, const StoreOptions& options) {
  auto shared = std::make_shared<Shared>();
  shared->options = options;
  shared->clock = options.clock != nullptr ? options.clock : &SystemClock();
  const bool sqlite = url.scheme == "sqlite";
  shared->dialect = sqlite ? Dialect::kSqlite : Dialect::kPostgres;
  const bool memory = sqlite && url.host == ":memory:";
  std::string sqlite_path;
  if (sqlite && !memory) {
    if (!url.host.empty() || url.path.empty()) {
      return BadParametersError("SQLite store URL `" + url.Redacted() +
                                "` must be sqlite:///absolute/path or sqlite://:memory:");
    }
    sqlite_path = url.path;
  }
  std::string& schema = shared->schema;
  schema = options.schema;
  std::string conninfo;
  if (!sqlite) {
    conninfo = PostgresConnInfo(url, schema);
  } else {
    // SOCI's sqlite3 backend takes "db=<path> timeout=<seconds>"; the path is quoted for spaces.
    conninfo = "db=\"" + (memory ? std::string(":memory:") : sqlite_path) + "\"";
  }
  shared->pool_size =
      options.pool_size > 0 ? static_cast<size_t>(options.pool_size) : (memory ? 1U : 4U);
  if (memory) {
    shared->pool_size = 1;  // each in-memory connection would be a separate database
  }

  // The secret key.
  std::filesystem::path key_file = options.secret_key_file;
  if (key_file.empty() && sqlite && !memory) {
    key_file = sqlite_path + ".key";
  } else if (key_file.empty() && !sqlite) {
    key_file = options.data_dir / "secret.key";
  }
  if (key_file.empty()) {
    CLOUDIFY_ASSIGN_OR_RETURN(SecretKey key, SecretKey::Generate());
    shared->key = key;
  } else {
    CLOUDIFY_ASSIGN_OR_RETURN(SecretKey key, SecretKey::LoadOrCreate(key_file));
    shared->key = key;
  }

  try {
    shared->pool = std::make_unique<soci::connection_pool>(shared->pool_size);
    for (size_t i = 0; i < shared->pool_size; ++i) {
      soci::session& s = shared->pool->at(i);
      if (sqlite) {
        s.open(soci::sqlite3, conninfo);
        Exec(s, "PRAGMA busy_timeout = " + std::to_string(options.busy_timeout.count()));
        Exec(s, "PRAGMA temp_store = MEMORY");
        if (!memory) {
          Exec(s, "PRAGMA journal_mode = WAL");
          // WAL + NORMAL: a crash never corrupts; a power loss may drop the last commits.
          Exec(s, "PRAGMA synchronous = NORMAL");
          Exec(s, "PRAGMA cache_size = -16000");  // 16 MB per connection
          if (shared->checkpointer == nullptr) {
            shared->checkpointer =
                std::make_unique<SqliteCheckpointer>(conninfo, options.busy_timeout);
          }
          shared->checkpointer->Watch(s);
        }
        if (shared->instance_cache == nullptr) {
          shared->instance_cache = std::make_unique<NodeInstanceCache>();
        }
      } else {
        s.open(soci::postgresql, conninfo);
        shared->SetUpPostgresSession(s, /*create_schema=*/i == 0);
      }
    }
  } catch (const std::exception& e) {
    Status status = StatusFromException(e, "open store `" + url.Redacted() + "`");
    if (status.code() == ErrorCode::kStorageError) {
      status = Status(ErrorCode::kUnavailable, status.message());
    }
    return status;
  }
  try {
    CLOUDIFY_RETURN_IF_ERROR(Migrate(shared->pool->at(0), shared->dialect, *shared->clock));
  } catch (const std::exception& e) {
    return StatusFromException(e, "migrate store `" + url.Redacted() + "`");
  }
  // Both databases parse and plan a statement they are given each time anew: kept prepared, a
  // query is planned once per connection (PostgreSQL: 0.4 ms of a 2 ms page of 10,000
  // instances).
  for (size_t i = 0; i < shared->pool_size; ++i) {
    KeepStatementsPrepared(shared->pool->at(i));
  }
  return std::unique_ptr<Store>(std::make_unique<SociStore>(std::move(shared), nullptr));
}

}  // namespace cloudify::storage::soci_backend
