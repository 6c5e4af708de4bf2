// The SQL toolkit under the stores: statements kept prepared per session, and real values.
#include "storage/soci/sql.h"

#include <doctest/doctest.h>
#include <soci/sqlite3/soci-sqlite3.h>

namespace cloudify::storage::soci_backend {
namespace {

std::vector<std::string> Names(soci::session& s, const std::string& query,
                               std::vector<Value> binds) {
  std::vector<std::string> out;
  Run(s, query, binds, {ColType::kText}, [&](const Row& row) { out.push_back(row[0].text); });
  return out;
}

TEST_CASE("kept statements give the same answers as one-time ones, with new values each run") {
  soci::session s(soci::sqlite3, ":memory:");
  Exec(s, "CREATE TABLE t (name TEXT, n BIGINT, x DOUBLE PRECISION)");
  KeepStatementsPrepared(s);
  for (int i = 0; i < 50; ++i) {
    std::vector<Value> binds = {Value::Text("row" + std::to_string(i)), Value::Int(i),
                                i % 10 == 0 ? Value::Null(ColType::kReal) : Value::Real(i / 8.0)};
    CHECK(Run(s, "INSERT INTO t (name, n, x) VALUES (:b0, :b1, :b2)", binds) == 1);
  }
  // The same text with other values, and a placeholder used twice.
  CHECK(Names(s, "SELECT name FROM t WHERE n >= :b0 AND n < :b0 + 2 ORDER BY n", {Value::Int(7)}) ==
        std::vector<std::string>{"row7", "row8"});
  CHECK(Names(s, "SELECT name FROM t WHERE n >= :b0 AND n < :b0 + 2 ORDER BY n",
              {Value::Int(48)}) == std::vector<std::string>{"row48", "row49"});
  std::vector<Value> none;
  std::vector<double> reals;
  std::vector<bool> nulls;
  Run(s, "SELECT x FROM t WHERE n < 3 ORDER BY n", none, {ColType::kReal}, [&](const Row& row) {
    reals.push_back(row[0].real);
    nulls.push_back(row[0].null);
  });
  CHECK(reals == std::vector<double>{0, 0.125, 0.25});
  CHECK(nulls == std::vector<bool>{true, false, false});

  // More distinct statements than the cache holds: it starts over and answers stay right.
  for (int i = 0; i < 300; ++i) {
    std::vector<Value> binds = {Value::Int(i % 50)};
    long long seen = 0;
    Run(s, "SELECT n + " + std::to_string(i) + " FROM t WHERE n = :b0", binds, {ColType::kInt},
        [&](const Row& row) { seen = row[0].number; });
    CHECK(seen == i % 50 + i);
  }

  // A statement that fails is not kept half-way: the next run of it works.
  Exec(s, "CREATE UNIQUE INDEX t_name ON t (name)");
  std::vector<Value> duplicate = {Value::Text("row1"), Value::Int(1), Value::Real(1)};
  CHECK_THROWS(Run(s, "INSERT INTO t (name, n, x) VALUES (:b0, :b1, :b2)", duplicate));
  std::vector<Value> fresh = {Value::Text("row50"), Value::Int(50), Value::Real(2)};
  CHECK(Run(s, "INSERT INTO t (name, n, x) VALUES (:b0, :b1, :b2)", fresh) == 1);

  ForgetPreparedStatements(s);
  ForgetPreparedStatements(s);  // twice is harmless
  CHECK(Names(s, "SELECT name FROM t WHERE n = :b0", {Value::Int(50)}) ==
        std::vector<std::string>{"row50"});
}

}  // namespace
}  // namespace cloudify::storage::soci_backend
