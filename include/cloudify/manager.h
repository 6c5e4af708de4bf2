// Manager: the facade a host program (and the REST server) drives. It owns or borrows a Store
// and a Bus, runs executions on its own threads, and offers the original manager's verbs:
// upload blueprints, create and delete deployments, start, cancel and wait for executions,
// read outputs.
//
//   auto m = cloudify::Manager::Open({.data_dir = "/var/lib/cloudify"}).value();
//   m->operations().Add("my_plugin.tasks.create", [](cloudify::workflow::OperationContext& c) {
//     c.instance().runtime_properties()["ip"] = "10.0.0.7";
//   });
//   auto caller = cloudify::storage::CallerContext::System();
//   m->UploadBlueprint(caller, "web", "blueprints/web/blueprint.yaml");
//   m->CreateDeployment(caller, "web", "web-1", {{"port", 8080}});
//   auto ex = m->StartExecution(caller, "web-1", "install").value();
//   m->WaitForExecution(caller, ex.id, std::chrono::minutes(5));
//
// Executions: one active execution per deployment (a second start is refused, or queued with
// StartOptions::queue, or run beside it with force); queued ones start in order when it ends.
// A system-wide execution (StartSystemExecution) runs alone.
// Executions are claimed through the store with a lease, so an execution left `started` by a
// manager that died is resumed by the next one that claims it.
//
// Thread-safety: every method may be called from any thread.
#pragma once

#include <chrono>
#include <filesystem>
#include <memory>
#include <optional>
#include <string>
#include <string_view>

#include <nlohmann/json.hpp>

#include "cloudify/model/blueprint.h"
#include "cloudify/model/deployment.h"
#include "cloudify/model/execution.h"
#include "cloudify/model/plugin.h"
#include "cloudify/options.h"
#include "cloudify/status.h"
#include "cloudify/storage/store.h"
#include "cloudify/workflow/custom_workflow.h"
#include "cloudify/workflow/operation.h"

namespace cloudify {

struct StartOptions {
  // Accept parameters the workflow does not declare. Default: false.
  bool allow_custom_parameters = false;
  // Run even when another execution of the deployment is active. Default: false.
  bool force = false;
  // Wait in the queue (status queued) instead of being refused when another is active.
  // Default: false.
  bool queue = false;
  // A dry run: the workflow's graph runs with every operation succeeding at once and no state
  // change, nothing stored but the execution and its events (a trace of what would run).
  // Not for scale, whose deployment modification is itself a change. Default: false.
  bool dry_run = false;
  // Start no earlier than this (the original's scheduled_time): the execution waits as
  // `scheduled`, then runs, or queues when another execution of the deployment is active. A
  // time not in the future starts it at once. Default: unset.
  std::optional<Timestamp> scheduled_for;
};

// A plugin upload's own settings (POST /plugins query parameters).
struct PluginUploadOptions {
  std::string id;     // Default: a new uuid.
  std::string title;  // Default: the package name.
  model::Visibility visibility = model::Visibility::kTenant;
};

struct BlueprintUploadOptions {
  bool async = false;  // see UploadBlueprintArchive
};

struct DeploymentCreateOptions {
  // The original's async_create: return once the inputs are checked and the deployment is
  // recorded; a worker then stores its nodes and instances and ends its
  // create_deployment_environment execution (until then executions of it are refused with
  // kDeploymentEnvironmentCreationPending). Default: false (all done before returning).
  bool async = false;
  // Default: the deployment id.
  std::string display_name;
  // Default: the caller's tenant.
  model::Visibility visibility = model::Visibility::kTenant;
};

// The original's cancel actions: cancel, force-cancel, kill.
enum class CancelKind { kCancel, kForce, kKill };

class Manager {
 public:
  // Opens the store and the bus (or takes the injected ones), declares the topology, starts
  // the event writer and the execution workers, and ensures default_tenant exists.
  // Errors: those of OpenStore and OpenBus.
  static Result<std::unique_ptr<Manager>> Open(ManagerOptions options = {});
  // Stops the workers: running executions are cancelled and left resumable.
  ~Manager();
  Manager(const Manager&) = delete;
  Manager& operator=(const Manager&) = delete;

  // C++ operation handlers, by task name.
  workflow::OperationRegistry& operations();
  // C++ workflow functions, by the mapping a blueprint's `workflows:` entry gives
  // (workflow/custom_workflow.h).
  workflow::WorkflowRegistry& workflows();
  storage::Store& store();

  // --- Blueprints ---
  // Uploads the blueprint whose main file is `main_file` (its folder is the blueprint): the
  // folder is copied into the data dir and parsed. kInvalidBlueprint with the parser's error
  // (nothing stored); kConflict when the id exists; kBadParameters for a bad id.
  Result<model::Blueprint> UploadBlueprint(const storage::CallerContext& caller,
                                           const std::string& blueprint_id,
                                           const std::filesystem::path& main_file);
  // The same for an archive (tar, tar.gz, tar.bz2, zip) holding one top-level folder;
  // `main_file_name` is the YAML file in it. Unsafe archives are kBadParameters.
  // With options.async (the original's async_upload) it returns once the archive is
  // extracted, the blueprint `uploading`; a worker's upload_blueprint execution then parses it
  // into `uploaded`, or `invalid` with the parser's error in `error`.
  Result<model::Blueprint> UploadBlueprintArchive(const storage::CallerContext& caller,
                                                  const std::string& blueprint_id,
                                                  std::string_view archive_bytes,
                                                  const std::string& main_file_name,
                                                  const BlueprintUploadOptions& options = {});
  // The body of an http(s):// URL, through ManagerOptions::url_fetcher (a blueprint archive
  // named by URL, say). kBadParameters when no fetcher is configured; the fetcher's errors
  // otherwise.
  Result<std::string> FetchUrl(const std::string& url);
  // kDependentExists while deployments of it exist.
  Status DeleteBlueprint(const storage::CallerContext& caller, const std::string& blueprint_id);

  // --- Plugins ---
  // Stores a plugin archive as `cfy plugins upload` sends it (a wagon, or a zip holding one
  // wagon and its plugin YAML files) under the data dir, and its record read from the
  // wagon's package.json. kInvalidPlugin naming what is wrong; kConflict when the tenant has
  // the same package (name, version, distribution, platform) or the id; nothing is kept then.
  Result<model::Plugin> UploadPlugin(const storage::CallerContext& caller,
                                     std::string_view archive_bytes,
                                     const PluginUploadOptions& options = {});
  // Removes its record and files.
  Status DeletePlugin(const storage::CallerContext& caller, const std::string& plugin_id);
  // The stored wagon file of the plugin. kNotFound.
  Result<std::filesystem::path> PluginArchivePath(const storage::CallerContext& caller,
                                                  const std::string& plugin_id);

  // --- Deployments ---
  // Creates the deployment: inputs bound and checked, nodes and node instances stored, a
  // create_deployment_environment execution recorded. Errors: kNotFound (blueprint),
  // kDeploymentCreation (blueprint not uploaded), the input errors of PrepareDeploymentPlan,
  // kConflict (id exists), kBadParameters (bad id).
  Result<model::Deployment> CreateDeployment(
      const storage::CallerContext& caller, const std::string& blueprint_id,
      const std::string& deployment_id, const nlohmann::json& inputs = nlohmann::json::object(),
      const DeploymentCreateOptions& options = {});
  // Refused (kDependentExists) while an execution is active or queued, or, without `force`,
  // while node instances are live (not uninitialized or deleted).
  Status DeleteDeployment(const storage::CallerContext& caller, const std::string& deployment_id,
                          bool force = false);
  // The outputs / capabilities evaluated now, get_attribute included.
  Result<nlohmann::json> DeploymentOutputs(const storage::CallerContext& caller,
                                           const std::string& deployment_id);
  Result<nlohmann::json> DeploymentCapabilities(const storage::CallerContext& caller,
                                                const std::string& deployment_id);

  // --- Executions ---
  // Starts `workflow_id` on the deployment with `parameters` checked against the workflow's
  // declared ones (defaults filled). Errors: kNotFound, kNonexistentWorkflow,
  // kIllegalExecutionParameters, kExistingRunningExecution.
  Result<model::Execution> StartExecution(
      const storage::CallerContext& caller, const std::string& deployment_id,
      const std::string& workflow_id, const nlohmann::json& parameters = nlohmann::json::object(),
      const StartOptions& options = {});
  // Starts the system-wide workflow `workflow_id` (WorkflowRegistry::AddSystemWide), which
  // belongs to no deployment and runs alone, as the original's snapshots do: it waits until no
  // execution of any tenant is active, and while it is active or queued no other execution
  // starts (with options.queue they queue behind it, forced or not; without, they are refused).
  // Errors: kNonexistentWorkflow; kExistingRunningExecution when others run and not
  // options.queue; kBadParameters for a dry run, a schedule or force.
  Result<model::Execution> StartSystemExecution(
      const storage::CallerContext& caller, const std::string& workflow_id,
      const nlohmann::json& parameters = nlohmann::json::object(),
      const StartOptions& options = {});
  // Waits until the execution ends (or `timeout`) and returns it as stored then.
  // kUnavailable on timeout.
  Result<model::Execution> WaitForExecution(const storage::CallerContext& caller,
                                            const std::string& execution_id,
                                            std::chrono::milliseconds timeout);
  // cancel (status cancelling): no new operation starts, pending retries are dropped, running
  // operations finish; queued executions are cancelled at once. kForce (force_cancelling, also
  // allowed from cancelling) and kKill (kill_cancelling, allowed from any status that has not
  // ended) also tell running C++ handlers through OperationContext::cancel_requested(): they run
  // on this process's threads and cannot be interrupted, so the execution ends `cancelled` when
  // they return (a handler that never checks still runs to its end). kIllegalAction when the
  // status does not allow it.
  Result<model::Execution> CancelExecution(const storage::CallerContext& caller,
                                           const std::string& execution_id,
                                           CancelKind kind = CancelKind::kCancel);
  // The original's execution status update (PATCH /executions/<id>, what a workflow process
  // reports): sets status and error, and started_at / ended_at as the status says. An end
  // status stops a run of this manager from starting more operations and lets the
  // deployment's next queued execution start. kInvalidExecutionStatusUpdate for a transition
  // the original refuses (model::CheckExecutionTransition).
  Result<model::Execution> UpdateExecutionStatus(const storage::CallerContext& caller,
                                                 const std::string& execution_id,
                                                 model::ExecutionStatus status,
                                                 const std::string& error = "");
  // A failed or cancelled execution runs again from its stored graph (operations that
  // succeeded are not run again). kConflict from any other status.
  Result<model::Execution> ResumeExecution(const storage::CallerContext& caller,
                                           const std::string& execution_id);
  // Waits until every event and log published so far is stored.
  Status SyncEvents(std::chrono::milliseconds timeout);
  // Waits until every metric sample published so far to the monitoring exchange is stored
  // (samples are read back with store().ListMetrics).
  Status SyncMetrics(std::chrono::milliseconds timeout);

 private:
  class Impl;
  explicit Manager(std::unique_ptr<Impl> impl);
  std::unique_ptr<Impl> impl_;
};

}  // namespace cloudify
