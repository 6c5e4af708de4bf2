#include "storage/soci/pg_copy.h"

#include <charconv>
#include <memory>
#include <string>

#include <soci/postgresql/soci-postgresql.h>

namespace cloudify::storage::soci_backend {
namespace {

// COPY's text format: tab-separated, \N for null, backslash escapes.
void AppendField(std::string& out, const Value& v) {
  if (v.null) {
    out += "\\N";
    return;
  }
  if (v.type == ColType::kInt) {
    out += std::to_string(v.number);
    return;
  }
  if (v.type == ColType::kReal) {
    // The shortest text that reads back as the same double.
    char buffer[32];
    auto [end, ec] = std::to_chars(buffer, buffer + sizeof buffer, v.real);
    out.append(buffer, ec == std::errc() ? end : buffer);
    return;
  }
  for (char c : v.text) {
    switch (c) {
      case '\\':
        out += "\\\\";
        break;
      case '\t':
        out += "\\t";
        break;
      case '\n':
        out += "\\n";
        break;
      case '\r':
        out += "\\r";
        break;
      default:
        out += c;
    }
  }
}

// The PGconn under a PostgreSQL session. Kept out of UBSan's vptr check, which would need the
// type info that libsoci_postgresql does not export (the caller checked the backend's name).
__attribute__((no_sanitize_undefined)) PGconn* ConnectionOf(soci::session& session) {
  return static_cast<soci::postgresql_session_backend*>(session.get_backend())->conn_;
}

struct ResultFree {
  void operator()(PGresult* r) const { PQclear(r); }
};
using PgResult = std::unique_ptr<PGresult, ResultFree>;

}  // namespace

void CopyRows(soci::session& session, const TableDef& table, const std::vector<Row>& rows) {
  if (rows.empty()) {
    return;
  }
  // SOCI exports no type info for its backends: the backend name says which one it is.
  if (session.get_backend() == nullptr || session.get_backend_name() != "postgresql") {
    throw soci::soci_error("COPY needs an open PostgreSQL session");
  }
  PGconn* conn = ConnectionOf(session);
  if (conn == nullptr) {
    throw soci::soci_error("COPY needs an open PostgreSQL session");
  }
  std::string cols;
  for (size_t i = 0; i < rows[0].size(); ++i) {
    cols += (i == 0 ? "" : ", ") + table.columns[i].sql;
  }
  PgResult start(PQexec(conn, ("COPY " + table.name + " (" + cols + ") FROM STDIN").c_str()));
  if (PQresultStatus(start.get()) != PGRES_COPY_IN) {
    throw soci::soci_error(std::string("COPY ") + table.name + ": " + PQerrorMessage(conn));
  }
  std::string buffer;
  buffer.reserve(1 << 20);
  bool sent = true;
  for (const Row& row : rows) {
    for (size_t i = 0; i < row.size(); ++i) {
      if (i > 0) {
        buffer += '\t';
      }
      AppendField(buffer, row[i]);
    }
    buffer += '\n';
    if (buffer.size() >= (1 << 20)) {
      sent = PQputCopyData(conn, buffer.data(), static_cast<int>(buffer.size())) == 1;
      buffer.clear();
      if (!sent) {
        break;
      }
    }
  }
  if (sent && !buffer.empty()) {
    sent = PQputCopyData(conn, buffer.data(), static_cast<int>(buffer.size())) == 1;
  }
  // On a send failure, end the COPY with an error so the server discards it.
  PQputCopyEnd(conn, sent ? nullptr : "client failed to send COPY data");
  std::string error;
  while (PGresult* r = PQgetResult(conn)) {
    PgResult result(r);
    if (PQresultStatus(r) != PGRES_COMMAND_OK && error.empty()) {
      error = PQresultErrorMessage(r);
    }
  }
  if (!sent && error.empty()) {
    error = PQerrorMessage(conn);
  }
  if (!error.empty()) {
    throw soci::soci_error("COPY " + table.name + ": " + error);
  }
}

}  // namespace cloudify::storage::soci_backend
