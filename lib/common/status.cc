#include "cloudify/status.h"

#include <array>

#include "common/enum_table.h"

namespace cloudify {
namespace {

using E = ErrorCode;
constexpr std::array<EnumName<ErrorCode>, 55> kErrorCodeNames{{
    {E::kOk, "ok"},
    {E::kNotFound, "not_found_error"},
    {E::kConflict, "conflict_error"},
    {E::kAmbiguousName, "ambiguous_name"},
    {E::kStorageError, "storage_error"},
    {E::kBadParameters, "bad_parameters_error"},
    {E::kNoSuchIncludeField, "no_such_include_field_error"},
    {E::kIllegalAction, "illegal_action_error"},
    {E::kUnknownAction, "unknown_action"},
    {E::kUnauthorized, "unauthorized_error"},
    {E::kForbidden, "forbidden_error"},
    {E::kForbiddenWhileCancelling, "forbidden_while_cancelling"},
    {E::kOnlyDeploymentUpdate, "only_deployment_update"},
    {E::kMethodNotAllowed, "method_not_allowed_error"},
    {E::kPluginInUse, "plugin_in_use"},
    {E::kBlueprintInUse, "blueprint_in_use"},
    {E::kUnsupportedContentType, "unsupported_content_type_error"},
    {E::kInvalidBlueprint, "invalid_blueprint_error"},
    {E::kInvalidPlugin, "invalid_plugin_error"},
    {E::kPluginInstallation, "plugin_installation_error"},
    {E::kPluginInstallationTimeout, "plugin_installation_timeout"},
    {E::kImportedBlueprintNotFound, "imported_blueprint_not_found"},
    {E::kDeploymentPluginNotFound, "deployment_plugin_not_found"},
    {E::kDeploymentCreation, "deployment_creation_error"},
    {E::kDeploymentEnvironmentCreationPending, "deployment_environment_creation_pending_error"},
    {E::kDeploymentEnvironmentCreationInProgress,
     "deployment_environment_creation_in_progress_error"},
    {E::kMissingRequiredDeploymentInput, "missing_required_deployment_input_error"},
    {E::kUnknownDeploymentInput, "unknown_deployment_input_error"},
    {E::kDeploymentInputEvaluation, "deployment_input_evaluation_error"},
    {E::kConstraint, "constraint_error"},
    {E::kUnknownDeploymentSecret, "unknown_deployment_secret_error"},
    {E::kDeploymentOutputsEvaluation, "deployment_outputs_evaluation_error"},
    {E::kDeploymentCapabilitiesEvaluation, "deployment_capabilities_evaluation_error"},
    {E::kFunctionsEvaluation, "functions_evaluation_error"},
    {E::kExistingRunningExecution, "existing_running_execution_error"},
    {E::kGlobalParallelRunningExecutionsLimitReached,
     "global_parallel_running_executions_limit_reached_error"},
    {E::kNonexistentWorkflow, "nonexistent_workflow_error"},
    {E::kUnavailableWorkflow, "unavailable_workflow_error"},
    {E::kIllegalExecutionParameters, "illegal_execution_parameters_error"},
    {E::kInvalidExecutionStatusUpdate, "invalid_exception_status_update"},
    {E::kDependentExists, "dependent_exists_error"},
    {E::kExistingStartedDeploymentModification, "existing_started_deployment_modification_error"},
    {E::kDeploymentModificationAlreadyEnded, "deployment_modification_already_ended_error"},
    {E::kUnknownModificationStage, "unknown_modification_stage_error"},
    {E::kUnsupportedChangeInDeploymentUpdate, "unsupported_change_in_deployment_update"},
    {E::kSnapshotAction, "snapshot_action_error"},
    {E::kUploadMissingFile, "upload_missing_file"},
    {E::kInvalidFilterRule, "invalid_filter_rule"},
    {E::kMissingPremiumPackage, "missing_premium_package_error"},
    {E::kMaintenanceModeActive, "maintenance_mode_active"},
    {E::kEnteringMaintenanceMode, "entering_maintenance_mode"},
    {E::kInSnapshotRestore, "in_snapshot_restore_error"},
    {E::kPayloadTooLarge, "payload_too_large_error"},
    {E::kUnavailable, "service_unavailable_error"},
    {E::kInternal, "internal_server_error"},
}};
// One entry per enumerator: kInternal is the last one.
static_assert(kErrorCodeNames.size() == static_cast<size_t>(ErrorCode::kInternal) + 1);

}  // namespace

std::string_view ErrorCodeName(ErrorCode code) {
  return NameOf<ErrorCode>(kErrorCodeNames, code, "internal_server_error");
}

std::optional<ErrorCode> ErrorCodeFromName(std::string_view name) {
  return ValueOf<ErrorCode>(kErrorCodeNames, name);
}

std::string Status::ToString() const {
  if (!location_ || location_->file.empty()) {
    return message_;
  }
  std::string out = location_->file;
  if (location_->line > 0) {
    out += ":" + std::to_string(location_->line);
    if (location_->column > 0) {
      out += ":" + std::to_string(location_->column);
    }
  }
  return out + ": " + message_;
}

Status Status::WithContext(std::string_view context) const {
  Status copy = *this;
  if (!ok()) {
    copy.message_ = std::string(context) + ": " + message_;
  }
  return copy;
}

}  // namespace cloudify
