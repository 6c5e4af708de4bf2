// The small SQL toolkit of the SOCI backend: bound values, a statement runner, a WHERE builder,
// and the dialect differences between SQLite and PostgreSQL, each in one named function.
#pragma once

#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include <soci/soci.h>

#include "cloudify/status.h"

namespace cloudify::storage::soci_backend {

enum class Dialect { kSqlite, kPostgres };

// How a column is stored: integers (also booleans and millisecond timestamps), floating-point
// numbers (metric values) or text (also JSON documents).
enum class ColType { kInt, kReal, kText };

// One bound or fetched value.
struct Value {
  ColType type = ColType::kText;
  bool null = false;
  long long number = 0;
  double real = 0;
  std::string text;

  static Value Int(long long n) { return {ColType::kInt, false, n, 0, {}}; }
  static Value Real(double r) { return {ColType::kReal, false, 0, r, {}}; }
  static Value Text(std::string s) { return {ColType::kText, false, 0, 0, std::move(s)}; }
  static Value Null(ColType type) { return {type, true, 0, 0, {}}; }
};
using Row = std::vector<Value>;

// Runs `query` (placeholders :b0, :b1, ... bound positionally from `binds`). For a query that
// returns rows, `columns` gives the fetched columns' types and `on_row` sees each row. Returns
// the affected row count for other statements. Throws soci::soci_error (callers convert).
long long Run(soci::session& session, const std::string& query, std::vector<Value>& binds,
              const std::vector<ColType>& columns = {},
              const std::function<void(const Row&)>& on_row = {});
// From now on, statements Run on `session` are prepared once and kept, keyed by their text and
// value types (the server then parses and plans each once). Call ForgetPreparedStatements
// before the session reconnects or closes.
void KeepStatementsPrepared(soci::session& session);
// Drops the statements kept for `session` (a no-op when none are).
void ForgetPreparedStatements(soci::session& session);

// A statement without results prepared once and run many times: set the values (indexed as
// the :bN placeholders of `query`; `values` gives each one's type) and Execute(). For batches
// of the same small write.
struct BoundStatement;
class PreparedWrite {
 public:
  PreparedWrite(soci::session& session, std::string query, std::vector<Value> values);
  ~PreparedWrite();
  void Set(size_t index, Value value);
  // Runs it with the values set; returns the affected row count. Throws soci::soci_error.
  long long Execute();

 private:
  std::vector<Value> values_;
  std::unique_ptr<BoundStatement> statement_;
};

// Runs a statement without parameters or results.
void Exec(soci::session& session, const std::string& query);

// A WHERE clause under construction with its bound values.
class Where {
 public:
  // Binds `v` and returns its placeholder.
  std::string Bind(Value v);
  // Adds "AND (condition)".
  void And(const std::string& condition);
  // " WHERE ..." or "".
  std::string Sql() const { return text_.empty() ? "" : " WHERE " + text_; }
  std::vector<Value>& binds() { return binds_; }

 private:
  std::string text_;
  std::vector<Value> binds_;
};

// --- Dialect differences ---
// The auto-increment primary key every table has (insertion order, keyset paging key).
std::string StorageIdColumnSql(Dialect d);
// Starts a write transaction (SQLite takes the write lock up front so two writers never
// deadlock upgrading a read lock).
std::string BeginWriteSql(Dialect d);
// Appended to a SELECT that claims a row: lets concurrent claimers skip locked rows
// (SQLite's single writer makes it unnecessary there).
std::string SkipLockedSql(Dialect d);
// LIMIT for "no limit" with an OFFSET.
std::string NoLimitSql(Dialect d);
// The storage id the session's last INSERT assigned (the last row of a multi-row INSERT).
std::string LastInsertIdSql(Dialect d);

// Binds `value` to `st` as its next parameter; SOCI keeps pointers to `value` and `indicator`.
void UseValue(soci::statement& st, Value& value, soci::indicator& indicator);

// Converts an exception from SOCI or the database into a Status (unique violations are
// kConflict, lock timeouts and lost connections kUnavailable, the rest kStorageError).
Status StatusFromException(const std::exception& e, std::string_view what);

}  // namespace cloudify::storage::soci_backend
