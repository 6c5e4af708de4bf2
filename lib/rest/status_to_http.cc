// The one table mapping error codes to HTTP statuses (REST.md §1.4).
#include <array>
#include <utility>

#include <nlohmann/json.hpp>

#include "cloudify/rest/router.h"

namespace cloudify::rest {
namespace {

using E = ErrorCode;
// Codes not listed are 400 (the original's default for its handled errors).
constexpr std::array<std::pair<ErrorCode, int>, 26> kHttpStatus{{
    {E::kOk, 200},
    {E::kNotFound, 404},
    {E::kImportedBlueprintNotFound, 404},
    {E::kMissingPremiumPackage, 404},
    {E::kConflict, 409},
    {E::kAmbiguousName, 409},
    {E::kStorageError, 409},
    {E::kUnauthorized, 401},
    {E::kForbidden, 403},
    {E::kForbiddenWhileCancelling, 403},
    {E::kOnlyDeploymentUpdate, 403},
    {E::kMethodNotAllowed, 405},
    {E::kPluginInUse, 405},
    {E::kBlueprintInUse, 405},
    {E::kUnsupportedContentType, 415},
    {E::kPayloadTooLarge, 413},
    {E::kMaintenanceModeActive, 503},
    {E::kEnteringMaintenanceMode, 503},
    {E::kInSnapshotRestore, 503},
    {E::kUnavailable, 503},
    {E::kInternal, 500},
    {E::kBadParameters, 400},
    {E::kInvalidBlueprint, 400},
    {E::kDependentExists, 400},
    {E::kExistingRunningExecution, 400},
    {E::kIllegalAction, 400},
}};

}  // namespace

int HttpStatusFor(ErrorCode code) {
  for (const auto& [c, status] : kHttpStatus) {
    if (c == code) {
      return status;
    }
  }
  return 400;
}

HttpResponse ErrorResponse(const Status& status) {
  nlohmann::json body = {{"message", status.ToString()},
                         {"error_code", std::string(ErrorCodeName(status.code()))},
                         {"server_traceback", nullptr}};
  HttpResponse response;
  response.status = HttpStatusFor(status.code());
  response.body = body.dump();
  return response;
}

}  // namespace cloudify::rest
