// PostgreSQL's COPY FROM STDIN for bulk inserts (events and logs), through the PGconn under a
// SOCI session: one round trip for a whole batch instead of one per VALUES chunk.
#pragma once

#include <vector>

#include <soci/soci.h>

#include "storage/soci/mapping.h"
#include "storage/soci/sql.h"

namespace cloudify::storage::soci_backend {

// Copies `rows` (each holding the table's first row.size() columns) into `table` inside the
// session's current transaction. Throws soci::soci_error on failure, like Run().
void CopyRows(soci::session& session, const TableDef& table, const std::vector<Row>& rows);

}  // namespace cloudify::storage::soci_backend
