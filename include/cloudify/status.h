// Status and Result<T>: how every fallible call in libcloudify reports failure.
//
// A Status carries an ErrorCode from the closed list of the REST API's error codes (so a
// failure deep in the library reaches an HTTP client with the code Cloudify clients expect),
// a human message, and, for blueprint errors, the source location that caused it.
// Result<T> holds either a T or a non-OK Status. No exception crosses the public API.
//
// Thread-safety: Status and Result are values; distinct objects may be used from distinct
// threads freely, one object needs external synchronization for writes.
#pragma once

#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <variant>

namespace cloudify {

// The REST API's error codes (the original's manager_exceptions.py), plus kOk.
// ErrorCodeName() gives the wire string, e.g. kNotFound -> "not_found_error".
enum class ErrorCode {
  kOk,
  kNotFound,                                 // not_found_error
  kConflict,                                 // conflict_error
  kAmbiguousName,                            // ambiguous_name
  kStorageError,                             // storage_error
  kBadParameters,                            // bad_parameters_error
  kNoSuchIncludeField,                       // no_such_include_field_error
  kIllegalAction,                            // illegal_action_error
  kUnknownAction,                            // unknown_action
  kUnauthorized,                             // unauthorized_error
  kForbidden,                                // forbidden_error
  kForbiddenWhileCancelling,                 // forbidden_while_cancelling
  kOnlyDeploymentUpdate,                     // only_deployment_update
  kMethodNotAllowed,                         // method_not_allowed_error
  kPluginInUse,                              // plugin_in_use
  kBlueprintInUse,                           // blueprint_in_use
  kUnsupportedContentType,                   // unsupported_content_type_error
  kInvalidBlueprint,                         // invalid_blueprint_error
  kInvalidPlugin,                            // invalid_plugin_error
  kPluginInstallation,                       // plugin_installation_error
  kPluginInstallationTimeout,                // plugin_installation_timeout
  kImportedBlueprintNotFound,                // imported_blueprint_not_found
  kDeploymentPluginNotFound,                 // deployment_plugin_not_found
  kDeploymentCreation,                       // deployment_creation_error
  kDeploymentEnvironmentCreationPending,     // deployment_environment_creation_pending_error
  kDeploymentEnvironmentCreationInProgress,  // deployment_environment_creation_in_progress_error
  kMissingRequiredDeploymentInput,           // missing_required_deployment_input_error
  kUnknownDeploymentInput,                   // unknown_deployment_input_error
  kDeploymentInputEvaluation,                // deployment_input_evaluation_error
  kConstraint,                               // constraint_error
  kUnknownDeploymentSecret,                  // unknown_deployment_secret_error
  kDeploymentOutputsEvaluation,              // deployment_outputs_evaluation_error
  kDeploymentCapabilitiesEvaluation,         // deployment_capabilities_evaluation_error
  kFunctionsEvaluation,                      // functions_evaluation_error
  kExistingRunningExecution,                 // existing_running_execution_error
  kGlobalParallelRunningExecutionsLimitReached,  // global_parallel_running_executions_limit_reached_error
  kNonexistentWorkflow,                          // nonexistent_workflow_error
  kUnavailableWorkflow,                          // unavailable_workflow_error
  kIllegalExecutionParameters,                   // illegal_execution_parameters_error
  kInvalidExecutionStatusUpdate,                 // invalid_exception_status_update (sic)
  kDependentExists,                              // dependent_exists_error
  kExistingStartedDeploymentModification,        // existing_started_deployment_modification_error
  kDeploymentModificationAlreadyEnded,           // deployment_modification_already_ended_error
  kUnknownModificationStage,                     // unknown_modification_stage_error
  kUnsupportedChangeInDeploymentUpdate,          // unsupported_change_in_deployment_update
  kSnapshotAction,                               // snapshot_action_error
  kUploadMissingFile,                            // upload_missing_file
  kInvalidFilterRule,                            // invalid_filter_rule
  kMissingPremiumPackage,                        // missing_premium_package_error
  kMaintenanceModeActive,                        // maintenance_mode_active
  kEnteringMaintenanceMode,                      // entering_maintenance_mode
  kInSnapshotRestore,                            // in_snapshot_restore_error
  kPayloadTooLarge,  // payload_too_large_error: ours; the original answers 413 without a code
  kUnavailable,      // service_unavailable_error: ours; a backend (database, broker) is down
  kInternal,         // internal_server_error
};

// The wire name of a code, e.g. "not_found_error". Never empty.
std::string_view ErrorCodeName(ErrorCode code);
// The code for a wire name; nullopt for a name not in the list.
std::optional<ErrorCode> ErrorCodeFromName(std::string_view name);

// Where in a blueprint (or other text input) an error was found. line and column are 1-based;
// 0 means unknown.
struct SourceLocation {
  std::string file;
  int line = 0;
  int column = 0;

  bool operator==(const SourceLocation&) const = default;
};

class [[nodiscard]] Status {
 public:
  // OK.
  Status() = default;
  Status(ErrorCode code, std::string message) : code_(code), message_(std::move(message)) {}
  Status(ErrorCode code, std::string message, SourceLocation location)
      : code_(code), message_(std::move(message)), location_(std::move(location)) {}

  static Status Ok() { return Status(); }

  bool ok() const { return code_ == ErrorCode::kOk; }
  ErrorCode code() const { return code_; }
  const std::string& message() const { return message_; }
  const std::optional<SourceLocation>& location() const { return location_; }

  // "file:line:column: message" when a location is known, else the message.
  std::string ToString() const;

  // A copy whose message is prefixed with "context: ".
  Status WithContext(std::string_view context) const;

  bool operator==(const Status&) const = default;

 private:
  ErrorCode code_ = ErrorCode::kOk;
  std::string message_;
  std::optional<SourceLocation> location_;
};

// Shorthands for the codes every layer uses.
inline Status NotFoundError(std::string message) {
  return Status(ErrorCode::kNotFound, std::move(message));
}
inline Status ConflictError(std::string message) {
  return Status(ErrorCode::kConflict, std::move(message));
}
inline Status BadParametersError(std::string message) {
  return Status(ErrorCode::kBadParameters, std::move(message));
}
inline Status InternalError(std::string message) {
  return Status(ErrorCode::kInternal, std::move(message));
}

// A T or a non-OK Status. Constructing a Result from an OK Status is a programming error and
// yields kInternal instead, so a caller never sees an "ok" Result without a value.
template <typename T>
class [[nodiscard]] Result {
 public:
  Result(T value) : data_(std::move(value)) {}  // NOLINT(google-explicit-constructor)
  Result(Status status)                         // NOLINT(google-explicit-constructor)
      : data_(status.ok() ? Status(ErrorCode::kInternal, "Result constructed from an OK status")
                          : std::move(status)) {}

  bool ok() const { return std::holds_alternative<T>(data_); }
  explicit operator bool() const { return ok(); }

  // The error; Status::Ok() when a value is held.
  Status status() const { return ok() ? Status::Ok() : std::get<Status>(data_); }

  // Preconditions: ok(). Checked by std::get (throws bad_variant_access, a programming error).
  T& value() & { return std::get<T>(data_); }
  const T& value() const& { return std::get<T>(data_); }
  T&& value() && { return std::get<T>(std::move(data_)); }

  T& operator*() & { return value(); }
  const T& operator*() const& { return value(); }
  T&& operator*() && { return std::move(*this).value(); }
  T* operator->() { return &value(); }
  const T* operator->() const { return &value(); }

  T value_or(T fallback) const& { return ok() ? value() : std::move(fallback); }

 private:
  std::variant<T, Status> data_;
};

}  // namespace cloudify

// Returns the Status of `expr` from the enclosing function when it is not OK. (__COUNTER__
// names keep nested uses, e.g. inside a lambda argument, from shadowing each other.)
#define CLOUDIFY_RETURN_IF_ERROR(expr) \
  CLOUDIFY_RETURN_IF_ERROR_IMPL_(CLOUDIFY_CONCAT_(cloudify_status_, __COUNTER__), expr)
#define CLOUDIFY_RETURN_IF_ERROR_IMPL_(status, expr) \
  do {                                               \
    ::cloudify::Status status = (expr);              \
    if (!status.ok()) {                              \
      return status;                                 \
    }                                                \
  } while (false)

#define CLOUDIFY_CONCAT_INNER_(a, b) a##b
#define CLOUDIFY_CONCAT_(a, b) CLOUDIFY_CONCAT_INNER_(a, b)

// Evaluates `rexpr` (a Result<T>); on error returns its Status, else moves the value into `lhs`
// (a declaration such as `auto x` or an existing variable).
#define CLOUDIFY_ASSIGN_OR_RETURN(lhs, rexpr) \
  CLOUDIFY_ASSIGN_OR_RETURN_IMPL_(CLOUDIFY_CONCAT_(cloudify_result_, __COUNTER__), lhs, rexpr)
#define CLOUDIFY_ASSIGN_OR_RETURN_IMPL_(result, lhs, rexpr) \
  auto result = (rexpr);                                    \
  if (!result.ok()) {                                       \
    return result.status();                                 \
  }                                                         \
  lhs = std::move(result).value()
