#include <doctest/doctest.h>
#include <nlohmann/json.hpp>

#include "cloudify/rest/router.h"

namespace cloudify::rest {
namespace {

TEST_CASE("error codes map to the original's HTTP statuses") {
  struct Row {
    ErrorCode code;
    int http;
  };
  const Row table[] = {
      {ErrorCode::kNotFound, 404},
      {ErrorCode::kConflict, 409},
      {ErrorCode::kBadParameters, 400},
      {ErrorCode::kUnauthorized, 401},
      {ErrorCode::kForbidden, 403},
      {ErrorCode::kMethodNotAllowed, 405},
      {ErrorCode::kBlueprintInUse, 405},
      {ErrorCode::kUnsupportedContentType, 415},
      {ErrorCode::kInvalidBlueprint, 400},
      {ErrorCode::kDependentExists, 400},
      {ErrorCode::kExistingRunningExecution, 400},
      {ErrorCode::kInvalidExecutionStatusUpdate, 400},
      {ErrorCode::kMissingPremiumPackage, 404},
      {ErrorCode::kImportedBlueprintNotFound, 404},
      {ErrorCode::kMaintenanceModeActive, 503},
      {ErrorCode::kPayloadTooLarge, 413},
      {ErrorCode::kUnavailable, 503},
      {ErrorCode::kInternal, 500},
      {ErrorCode::kStorageError, 409},
  };
  for (const Row& row : table) {
    CAPTURE(ErrorCodeName(row.code));
    CHECK(HttpStatusFor(row.code) == row.http);
  }
}

TEST_CASE("every error code maps to an HTTP error status") {
  for (int i = 1; i <= static_cast<int>(ErrorCode::kInternal); ++i) {
    int status = HttpStatusFor(static_cast<ErrorCode>(i));
    CHECK(status >= 400);
    CHECK(status < 600);
  }
}

TEST_CASE("error responses use the original's envelope") {
  HttpResponse r = ErrorResponse(NotFoundError("Requested `Blueprint` with ID `x` was not found"));
  CHECK(r.status == 404);
  CHECK(r.content_type == "application/json");
  auto body = nlohmann::json::parse(r.body);
  CHECK(body["error_code"] == "not_found_error");
  CHECK(body["message"] == "Requested `Blueprint` with ID `x` was not found");
  CHECK(body.contains("server_traceback"));
  CHECK(body["server_traceback"].is_null());
}

TEST_CASE("blueprint errors carry their location in the message") {
  HttpResponse r = ErrorResponse(
      Status(ErrorCode::kInvalidBlueprint, "unknown type 'x'", SourceLocation{"b.yaml", 3, 9}));
  CHECK(nlohmann::json::parse(r.body)["message"] == "b.yaml:3:9: unknown type 'x'");
}

}  // namespace
}  // namespace cloudify::rest
