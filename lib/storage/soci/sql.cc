#include "storage/soci/sql.h"

#include <memory>

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
    if (values[i].type == ColType::kInt) {
      st.exchange(soci::use(values[i].number, indicators[i]));
    } else {
      st.exchange(soci::use(values[i].text, indicators[i]));
    }
  }
}

std::vector<Value> InTextOrder(std::string& query, const std::vector<Value>& binds,
                               bool anonymous) {
  std::vector<Value> ordered;
  for (size_t index : PlaceholderOrder(query, binds.size(), anonymous)) {
    ordered.push_back(binds[index]);
  }
  return ordered;
}

}  // namespace

long long Run(soci::session& session, const std::string& named_query,
              std::vector<Value>& named_binds, const std::vector<ColType>& columns,
              const std::function<void(const Row&)>& on_row) {
  std::string query = named_query;
  std::vector<Value> binds =
      InTextOrder(query, named_binds, session.get_backend_name() == "sqlite3");
  soci::statement st(session);
  std::vector<soci::indicator> bind_inds(binds.size());
  UseValues(st, binds, bind_inds);
  Row row(columns.size());
  std::vector<soci::indicator> row_inds(columns.size(), soci::i_ok);
  for (size_t i = 0; i < columns.size(); ++i) {
    row[i].type = columns[i];
    if (columns[i] == ColType::kInt) {
      st.exchange(soci::into(row[i].number, row_inds[i]));
    } else {
      st.exchange(soci::into(row[i].text, row_inds[i]));
    }
  }
  st.alloc();
  st.prepare(query, soci::details::st_one_time_query);
  st.define_and_bind();
  if (columns.empty()) {
    st.execute(true);
    return st.get_affected_rows();
  }
  st.execute(false);
  long long count = 0;
  while (st.fetch()) {
    for (size_t i = 0; i < columns.size(); ++i) {
      row[i].null = row_inds[i] == soci::i_null;
      if (row[i].null) {
        row[i].text.clear();
        row[i].number = 0;
      }
    }
    ++count;
    if (on_row) {
      on_row(row);
    }
  }
  return count;
}

PreparedWrite::PreparedWrite(soci::session& session, std::string query, std::vector<Value> values)
    : values_(std::move(values)), statement_(session) {
  order_ = PlaceholderOrder(query, values_.size(), session.get_backend_name() == "sqlite3");
  for (size_t index : order_) {
    bound_.push_back(values_[index]);
  }
  indicators_.resize(bound_.size());
  UseValues(statement_, bound_, indicators_);
  statement_.alloc();
  statement_.prepare(query, soci::details::st_repeatable_query);
  statement_.define_and_bind();
}

void PreparedWrite::Set(size_t index, Value value) { values_.at(index) = std::move(value); }

long long PreparedWrite::Execute() {
  for (size_t i = 0; i < order_.size(); ++i) {
    const Value& v = values_[order_[i]];
    // The type of a slot is fixed when it is bound; only its contents change.
    bound_[i].number = v.number;
    bound_[i].text = v.text;
    indicators_[i] = v.null ? soci::i_null : soci::i_ok;
  }
  statement_.execute(true);
  return statement_.get_affected_rows();
}

void Exec(soci::session& session, const std::string& query) { session << query; }

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
