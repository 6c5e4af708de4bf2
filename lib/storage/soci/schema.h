// The schema and its versioned migrations, applied when a store opens.
#pragma once

#include <soci/soci.h>

#include "cloudify/clock.h"
#include "cloudify/status.h"

#include "storage/soci/sql.h"

namespace cloudify::storage::soci_backend {

// The schema version this code writes.
int LatestSchemaVersion();

// Brings the database up to LatestSchemaVersion() in one transaction: creates the migrations
// table when missing, applies each missing migration in order and records it. Running it again
// changes nothing. kStorageError when the database is newer than the code or a step fails.
Status Migrate(soci::session& session, Dialect dialect, const Clock& clock);

// The version recorded in the database (0 for an empty one).
int CurrentSchemaVersion(soci::session& session);

}  // namespace cloudify::storage::soci_backend
