#include "storage/soci/sql.h"

#include <memory>
#include <mutex>
#include <unordered_map>

namespace cloudify::storage::soci_backend {

namespace {

// SOCI binds values in the order placeholders appear in the text, whatever their names, and
// SQLite treats a repeated name as one parameter. This rewrites the :bN placeholders as unique
// :pK in order of appearance (or, when `anonymous`, as SQLite's '?', which spares SOCI a
// parameter-name lookup per value that is quadratic in SQLite) and lines the values up with
// them (repeats included).
std::vector<size_t> PlaceholderOrder(std::string& query, size_t values, bool anonymous) {
  std::vector<size_t> ordered;
  std::string out;
  out.reserve(query.size() + 16);
  size_t copied = 0;
  for (size_t at = query.find(":b"); at != std::string::npos; at = query.find(":b", at + 2)) {
    if (at > 0 && query[at - 1] == ':') {
      continue;  // a PostgreSQL cast, not a placeholder
    }
    size_t end = at + 2;
    size_t index = 0;
    while (end < query.size() && query[end] >= '0' && query[end] <= '9') {
      index = index * 10 + static_cast<size_t>(query[end] - '0');
      ++end;
    }
    if (end == at + 2) {
      continue;
    }
    if (index >= values) {
      throw soci::soci_error("placeholder :b" + std::to_string(index) + " has no value");
    }
    out.append(query, copied, at - copied);
    out += anonymous ? std::string("?") : ":p" + std::to_string(ordered.size());
    copied = end;
    ordered.push_back(index);
  }
  out.append(query, copied, std::string::npos);
  query = std::move(out);
  return ordered;
}

// Binds `values` as the statement's parameters, in order. SOCI keeps pointers to them and to
// `indicators` (sized alike): neither may grow afterwards.
void UseValues(soci::statement& st, std::vector<Value>& values,
               std::vector<soci::indicator>& indicators) {
  for (size_t i = 0; i < values.size(); ++i) {
    indicators[i] = values[i].null ? soci::i_null : soci::i_ok;
    UseValue(st, values[i], indicators[i]);
  }
}

}  // namespace

// A statement with the buffers SOCI reads its parameters from and writes its columns to.
struct BoundStatement {
  explicit BoundStatement(soci::session& session) : statement(session) {}
  soci::statement statement;
  std::vector<size_t> order;  // the bind index of each placeholder, in text order
  std::vector<Value> binds;   // SOCI holds pointers into these: sized once
  std::vector<soci::indicator> bind_inds;
  Row row;
  std::vector<soci::indicator> row_inds;
};

namespace {

// Prepares `named_query` on `session` with its buffers typed as `named_binds` and `columns`.
std::unique_ptr<BoundStatement> Bind(soci::session& session, const std::string& named_query,
                                     const std::vector<Value>& named_binds,
                                     const std::vector<ColType>& columns,
                                     soci::details::statement_type type) {
  auto b = std::make_unique<BoundStatement>(session);
  std::string query = named_query;
  b->order = PlaceholderOrder(query, named_binds.size(), session.get_backend_name() == "sqlite3");
  for (size_t index : b->order) {
    b->binds.push_back(named_binds[index]);
  }
  b->bind_inds.resize(b->binds.size());
  UseValues(b->statement, b->binds, b->bind_inds);
  b->row.resize(columns.size());
  b->row_inds.assign(columns.size(), soci::i_ok);
  for (size_t i = 0; i < columns.size(); ++i) {
    b->row[i].type = columns[i];
    switch (columns[i]) {
      case ColType::kInt:
        b->statement.exchange(soci::into(b->row[i].number, b->row_inds[i]));
        break;
      case ColType::kReal:
        b->statement.exchange(soci::into(b->row[i].real, b->row_inds[i]));
        break;
      case ColType::kText:
        b->statement.exchange(soci::into(b->row[i].text, b->row_inds[i]));
        break;
    }
  }
  b->statement.alloc();
  b->statement.prepare(query, type);
  b->statement.define_and_bind();
  return b;
}

// Runs a bound statement with `named_binds` as its parameters; see Run.
long long Execute(BoundStatement& b, const std::vector<Value>& named_binds,
                  const std::function<void(const Row&)>& on_row) {
  for (size_t i = 0; i < b.order.size(); ++i) {
    const Value& v = named_binds[b.order[i]];
    b.binds[i].number = v.number;
    b.binds[i].real = v.real;
    b.binds[i].text = v.text;
    b.bind_inds[i] = v.null ? soci::i_null : soci::i_ok;
  }
  if (b.row.empty()) {
    b.statement.execute(true);
    return b.statement.get_affected_rows();
  }
  b.statement.execute(false);
  long long count = 0;
  while (b.statement.fetch()) {
    for (size_t i = 0; i < b.row.size(); ++i) {
      Value& v = b.row[i];
      v.null = b.row_inds[i] == soci::i_null;
      if (v.null) {
        v.text.clear();
        v.number = 0;
        v.real = 0;
      }
    }
    ++count;
    if (on_row) {
      on_row(b.row);
    }
  }
  return count;
}

// The statements a session keeps prepared, by query text and value types. Bounded: a query
// built with a varying number of values (IN lists, the tail of a multi-row insert) adds one
// entry per size, and the server holds every prepared statement.
class StatementCache {
 public:
  static constexpr size_t kCapacity = 256;

  BoundStatement* Find(const std::string& key) {
    auto it = statements_.find(key);
    return it == statements_.end() ? nullptr : it->second.get();
  }
  BoundStatement* Add(std::string key, std::unique_ptr<BoundStatement> statement) {
    if (statements_.size() >= kCapacity) {
      statements_.clear();
    }
    return statements_.emplace(std::move(key), std::move(statement)).first->second.get();
  }
  void Drop(const std::string& key) { statements_.erase(key); }

 private:
  std::unordered_map<std::string, std::unique_ptr<BoundStatement>> statements_;
};

// The caches of the sessions that keep their statements. Each session is used by one thread
// at a time (a pool lease), so a cache needs no lock of its own; the registry does.
std::mutex g_caches_mu;
std::unordered_map<const soci::session*, std::unique_ptr<StatementCache>>& Caches() {
  static auto* caches =
      new std::unordered_map<const soci::session*, std::unique_ptr<StatementCache>>();
  return *caches;
}

StatementCache* CacheOf(const soci::session& session) {
  std::lock_guard lock(g_caches_mu);
  auto it = Caches().find(&session);
  return it == Caches().end() ? nullptr : it->second.get();
}

std::string CacheKey(const std::string& query, const std::vector<Value>& binds,
                     const std::vector<ColType>& columns) {
  std::string key;
  key.reserve(query.size() + binds.size() + columns.size() + 1);
  for (const Value& v : binds) {
    key += static_cast<char>('0' + static_cast<int>(v.type));
  }
  key += '|';
  for (ColType c : columns) {
    key += static_cast<char>('0' + static_cast<int>(c));
  }
  key += '|';
  key += query;
  return key;
}

}  // namespace

void KeepStatementsPrepared(soci::session& session) {
  std::lock_guard lock(g_caches_mu);
  Caches().try_emplace(&session, std::make_unique<StatementCache>());
}

void ForgetPreparedStatements(soci::session& session) {
  std::unique_ptr<StatementCache> cache;
  {
    std::lock_guard lock(g_caches_mu);
    auto it = Caches().find(&session);
    if (it == Caches().end()) {
      return;
    }
    cache = std::move(it->second);
    Caches().erase(it);
  }
  // Destroyed outside the lock: each statement tells the server to drop it.
}

long long Run(soci::session& session, const std::string& query, std::vector<Value>& binds,
              const std::vector<ColType>& columns, const std::function<void(const Row&)>& on_row) {
  StatementCache* cache = CacheOf(session);
  if (cache == nullptr) {
    auto once = Bind(session, query, binds, columns, soci::details::st_one_time_query);
    return Execute(*once, binds, on_row);
  }
  std::string key = CacheKey(query, binds, columns);
  BoundStatement* statement = cache->Find(key);
  if (statement == nullptr) {
    statement =
        cache->Add(key, Bind(session, query, binds, columns, soci::details::st_repeatable_query));
  }
  try {
    return Execute(*statement, binds, on_row);
  } catch (...) {
    cache->Drop(key);  // a statement that failed half-way is not reused
    throw;
  }
}

PreparedWrite::PreparedWrite(soci::session& session, std::string query, std::vector<Value> values)
    : values_(std::move(values)),
      statement_(Bind(session, query, values_, {}, soci::details::st_repeatable_query)) {}

PreparedWrite::~PreparedWrite() = default;

void PreparedWrite::Set(size_t index, Value value) { values_.at(index) = std::move(value); }

// The type of a slot is fixed when it is bound; only its contents change.
long long PreparedWrite::Execute() { return soci_backend::Execute(*statement_, values_, {}); }

void Exec(soci::session& session, const std::string& query) { session << query; }

void UseValue(soci::statement& st, Value& value, soci::indicator& indicator) {
  switch (value.type) {
    case ColType::kInt:
      st.exchange(soci::use(value.number, indicator));
      break;
    case ColType::kReal:
      st.exchange(soci::use(value.real, indicator));
      break;
    case ColType::kText:
      st.exchange(soci::use(value.text, indicator));
      break;
  }
}

std::string Where::Bind(Value v) {
  binds_.push_back(std::move(v));
  return ":b" + std::to_string(binds_.size() - 1);
}

void Where::And(const std::string& condition) {
  if (!text_.empty()) {
    text_ += " AND ";
  }
  text_ += "(" + condition + ")";
}

std::string StorageIdColumnSql(Dialect d) {
  return d == Dialect::kSqlite ? "storage_id INTEGER PRIMARY KEY AUTOINCREMENT"
                               : "storage_id BIGSERIAL PRIMARY KEY";
}

std::string BeginWriteSql(Dialect d) { return d == Dialect::kSqlite ? "BEGIN IMMEDIATE" : "BEGIN"; }

std::string SkipLockedSql(Dialect d) {
  return d == Dialect::kPostgres ? " FOR UPDATE SKIP LOCKED" : "";
}

std::string NoLimitSql(Dialect d) { return d == Dialect::kSqlite ? " LIMIT -1" : " LIMIT ALL"; }

std::string LastInsertIdSql(Dialect d) {
  return d == Dialect::kSqlite ? "SELECT last_insert_rowid()" : "SELECT lastval()";
}

Status StatusFromException(const std::exception& e, std::string_view what) {
  std::string text = e.what();
  std::string message = std::string(what) + ": " + text;
  auto has = [&](std::string_view needle) { return text.find(needle) != std::string::npos; };
  if (has("UNIQUE constraint failed") || has("duplicate key value")) {
    return Status(ErrorCode::kConflict, message);
  }
  if (has("database is locked") || has("database is busy") || has("could not connect") ||
      has("connection") || has("server closed")) {
    return Status(ErrorCode::kUnavailable, message);
  }
  return Status(ErrorCode::kStorageError, message);
}

}  // namespace cloudify::storage::soci_backend
