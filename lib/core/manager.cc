#include "cloudify/manager.h"

#include <algorithm>
#include <atomic>
#include <condition_variable>
#include <map>
#include <mutex>
#include <set>
#include <sstream>
#include <thread>
#include <vector>

#include "cloudify/archive.h"
#include "cloudify/dsl/deployment_plan.h"
#include "cloudify/dsl/parser.h"
#include "cloudify/files.h"
#include "cloudify/ids.h"
#include "cloudify/messaging/topology.h"
#include "cloudify/workflow/engine.h"
#include "cloudify/workflow/events.h"
#include "cloudify/workflow/metrics.h"

#include "core/plugin_archive.h"

namespace cloudify {
namespace {

namespace fs = std::filesystem;
using model::ExecutionStatus;
using nlohmann::json;

fs::path PluginDir(const ManagerOptions& options, const std::string& tenant,
                   const std::string& id) {
  return options.data_dir / "resources" / "plugins" / tenant / id;
}

// Workflow parameters: declared defaults filled, undeclared ones refused unless allowed,
// required ones present, simple types checked (the original's merge_and_validate).
Result<json> CheckParameters(const std::string& workflow_id, const model::WorkflowSpec& spec,
                             const json& given, bool allow_custom) {
  if (!given.is_object() && !given.is_null()) {
    return Status(ErrorCode::kIllegalExecutionParameters, "parameters must be an object");
  }
  json out = given.is_object() ? given : json::object();
  std::vector<std::string> undeclared;
  for (const auto& [name, value] : out.items()) {
    if (spec.parameters.count(name) == 0) {
      undeclared.push_back(name);
    }
  }
  if (!undeclared.empty() && !allow_custom) {
    std::string names;
    for (const auto& n : undeclared) {
      names += (names.empty() ? "" : ", ") + n;
    }
    return Status(ErrorCode::kIllegalExecutionParameters,
                  "Workflow \"" + workflow_id +
                      "\" does not have the following parameters declared: " + names +
                      ". Remove these parameters or use the flag for allowing custom parameters");
  }
  for (const auto& [name, schema] : spec.parameters) {
    if (!out.contains(name)) {
      if (schema.default_value) {
        out[name] = *schema.default_value;
      } else if (schema.required) {
        return Status(ErrorCode::kIllegalExecutionParameters,
                      "Workflow \"" + workflow_id + "\" must be provided with the \"" + name +
                          "\" parameter to execute");
      }
      continue;
    }
    const json& v = out[name];
    const std::string type = schema.type.value_or("");
    const bool ok = type.empty() || (type == "string" && v.is_string()) ||
                    (type == "integer" && v.is_number_integer()) ||
                    (type == "float" && v.is_number()) || (type == "boolean" && v.is_boolean()) ||
                    (type == "list" && v.is_array()) || (type == "dict" && v.is_object()) ||
                    (type != "string" && type != "integer" && type != "float" &&
                     type != "boolean" && type != "list" && type != "dict");
    if (!ok) {
      return Status(
          ErrorCode::kIllegalExecutionParameters,
          "Parameter \"" + name + "\" of workflow \"" + workflow_id + "\" must be of type " + type);
    }
  }
  return out;
}

}  // namespace

class Manager::Impl {
 public:
  explicit Impl(ManagerOptions options)
      : options_(std::move(options)),
        clock_(options_.clock != nullptr ? *options_.clock : SystemClock()) {}

  Status Open() {
    std::error_code ec;
    fs::create_directories(options_.data_dir, ec);
    if (ec) {
      return InternalError("cannot create data dir " + options_.data_dir.string() + ": " +
                           ec.message());
    }
    if (options_.store != nullptr) {
      store_ = options_.store;
    } else {
      std::string url = options_.store_url.empty()
                            ? "sqlite://" + fs::absolute(options_.data_dir / "db.sqlite").string()
                            : options_.store_url;
      storage::StoreOptions store_options;
      store_options.data_dir = options_.data_dir;
      store_options.clock = options_.clock;
      CLOUDIFY_ASSIGN_OR_RETURN(owned_store_, storage::OpenStore(url, store_options));
      store_ = owned_store_.get();
    }
    messaging::Topology topology = messaging::ManagementTopology(options_.manager_name);
    if (options_.bus != nullptr) {
      bus_ = options_.bus;
      CLOUDIFY_RETURN_IF_ERROR(bus_->Declare(topology));
    } else {
      messaging::BusOptions bus_options;
      bus_options.topology = topology;
      CLOUDIFY_ASSIGN_OR_RETURN(owned_bus_, messaging::OpenBus(options_.bus_url, bus_options));
      bus_ = owned_bus_.get();
    }
    if (!store_->GetTenant(std::string(model::kDefaultTenant)).ok()) {
      model::Tenant tenant;
      tenant.name = std::string(model::kDefaultTenant);
      tenant.created_at = clock_.Now();
      Status created = store_->CreateTenant(tenant);
      if (!created.ok() && created.code() != ErrorCode::kConflict) {
        return created;
      }
    }
    CLOUDIFY_ASSIGN_OR_RETURN(writer_, workflow::EventWriter::Start(*bus_, *store_));
    CLOUDIFY_ASSIGN_OR_RETURN(metric_writer_, workflow::MetricWriter::Start(*bus_, *store_));
    workflow::EngineOptions engine_options;
    engine_options.parallelism = options_.operation_parallelism;
    engine_options.max_remote_waits = options_.max_remote_waits;
    engine_options.task_retries = options_.task_retries;
    engine_options.task_retry_interval = options_.task_retry_interval;
    engine_options.retry_backoff.enabled = options_.task_retry_backoff;
    engine_options.retry_backoff.max_interval = options_.task_retry_max_interval;
    engine_options.manager_name = options_.manager_name;
    engine_options.clock = options_.clock;
    engine_options.scripts.ctx_dir = options_.ctx_dir;
    engine_options.scripts.work_root = options_.script_work_dir;
    engine_options.scripts.fetch_url = options_.url_fetcher;
    engine_options.agent_ping_timeout = options_.agent_ping_timeout;
    engine_options.agent_ping_interval = options_.agent_ping_interval;
    engine_options.agent_rest_url = options_.agent_rest_url;
    engine_options.agent_bus_url = options_.bus_url;  // the engine hides its password in logs
    engine_options.agent_program = options_.agent_program;
    engine_options.scripts.blueprint_dir = [this](const std::string& tenant,
                                                  const std::string& blueprint_id) {
      return BlueprintRoot(tenant, blueprint_id);
    };
    engine_options.workflows = &workflows_;
    engine_ = std::make_unique<workflow::Engine>(*store_, *bus_, operations_, engine_options);
    const int workers = std::max(1, options_.max_concurrent_executions);
    for (int i = 0; i < workers; ++i) {
      workers_.emplace_back([this] { WorkerLoop(); });
    }
    lease_keeper_ = std::thread([this] { LeaseLoop(); });
    scheduler_ = std::thread([this] { ScheduleLoop(); });
    if (options_.store_maintenance_interval.count() > 0) {
      // Its own thread: a long VACUUM must not hold up the lease renewals.
      maintainer_ = std::thread([this] { MaintenanceLoop(); });
    }
    return Status::Ok();
  }

  ~Impl() {
    {
      std::lock_guard lock(mu_);
      stopping_ = true;
      for (auto& [id, flag] : running_) {
        flag->store(true);
      }
    }
    work_cv_.notify_all();
    lease_cv_.notify_all();
    for (auto& t : workers_) {
      t.join();
    }
    if (lease_keeper_.joinable()) {
      lease_keeper_.join();
    }
    if (maintainer_.joinable()) {
      maintainer_.join();
    }
    if (scheduler_.joinable()) {
      scheduler_.join();
    }
    // Publishes still in flight hold the engine's publisher: let them resolve first.
    if (engine_ != nullptr) {
      engine_->SendEvents();
    }
    if (bus_ != nullptr) {
      (void)bus_->WaitForConfirms(std::chrono::seconds(10));
    }
    writer_.reset();
    metric_writer_.reset();
    engine_.reset();
  }

  const ManagerOptions& options() const { return options_; }
  workflow::OperationRegistry& operations() { return operations_; }
  workflow::WorkflowRegistry& workflows() { return workflows_; }
  storage::Store& store() { return *store_; }

  fs::path BlueprintDir(const storage::CallerContext& caller, const std::string& id) const {
    return options_.data_dir / "resources" / "blueprints" / caller.tenant / id;
  }

  // The folder holding the blueprint's main file: the copied folder itself, or the one
  // top-level folder of an uploaded archive.
  Result<fs::path> BlueprintRoot(const std::string& tenant, const std::string& id) const {
    const fs::path dir = options_.data_dir / "resources" / "blueprints" / tenant / id;
    std::error_code ec;
    fs::path only_dir;
    int dirs = 0;
    for (fs::directory_iterator it(dir, ec), end; !ec && it != end; it.increment(ec)) {
      std::error_code type_ec;
      if (it->is_regular_file(type_ec)) {
        return dir;
      }
      if (it->is_directory(type_ec)) {
        only_dir = it->path();
        ++dirs;
      }
    }
    if (ec) {
      return NotFoundError("the files of blueprint " + id + " are not in " + dir.string() + ": " +
                           ec.message());
    }
    return dirs == 1 ? only_dir : dir;
  }

  // The plugin YAML of an uploaded plugin, for a `plugin:<package>[?version=..&distribution=..]`
  // import: the newest upload of the tenant that matches.
  Result<std::string> PluginYaml(const storage::CallerContext& caller, const std::string& url) {
    std::string spec = url.substr(std::string_view("plugin:").size());
    storage::ListQuery query;
    query.size = 1;
    query.sort = {"-created_at"};
    const size_t question = spec.find('?');
    query.filters["package_name"] = {spec.substr(0, question)};
    if (question != std::string::npos) {
      std::stringstream params(spec.substr(question + 1));
      for (std::string pair; std::getline(params, pair, '&');) {
        const size_t eq = pair.find('=');
        const std::string key = pair.substr(0, eq);
        const std::string value = eq == std::string::npos ? "" : pair.substr(eq + 1);
        if (key == "version" && !value.empty()) {
          query.filters["package_version"] = {value};
        } else if (key == "distribution" && !value.empty()) {
          query.filters["distribution"] = {value};
        }
      }
    }
    CLOUDIFY_ASSIGN_OR_RETURN(auto found, store_->ListPlugins(caller, query));
    if (found.items.empty()) {
      return NotFoundError("no uploaded plugin matches " + url);
    }
    const model::Plugin& plugin = found.items.front();
    // Its YAML file: the one named plugin*.yaml, else the only one.
    const fs::path dir = PluginDir(options_, plugin.meta.tenant_name, plugin.id);
    std::vector<fs::path> yamls;
    std::error_code ec;
    for (fs::directory_iterator it(dir, ec), end; !ec && it != end; it.increment(ec)) {
      if (it->path().extension() == ".yaml") {
        yamls.push_back(it->path());
      }
    }
    std::sort(yamls.begin(), yamls.end());
    auto chosen = std::find_if(yamls.begin(), yamls.end(), [](const fs::path& p) {
      return p.filename().string().rfind("plugin", 0) == 0;
    });
    if (chosen == yamls.end() && yamls.size() == 1) {
      chosen = yamls.begin();
    }
    if (chosen == yamls.end()) {
      return NotFoundError("plugin " + plugin.package_name + " " + plugin.package_version +
                           " (id " + plugin.id + ") was uploaded without its plugin YAML");
    }
    return ReadFileBytes(*chosen);
  }

  Result<model::Blueprint> Upload(const storage::CallerContext& caller, const std::string& id,
                                  const std::function<Result<fs::path>(const fs::path&)>& place,
                                  const std::string& main_file_name, bool async = false) {
    CLOUDIFY_RETURN_IF_ERROR(ValidateBlueprintId(id));
    if (store_->GetBlueprint(caller, id).ok()) {
      return ConflictError("blueprint with id `" + id + "` already exists");
    }
    const fs::path dest = BlueprintDir(caller, id);
    std::error_code ec;
    fs::remove_all(dest, ec);  // leftovers of an earlier failed upload
    auto root = place(dest);
    if (!root.ok()) {
      fs::remove_all(dest, ec);
      return root.status();
    }
    model::Blueprint bp;
    bp.id = id;
    bp.meta.tenant_name = caller.tenant;
    bp.meta.created_by = caller.user;
    bp.meta.created_at = clock_.Now();
    bp.updated_at = bp.meta.created_at;
    bp.main_file_name = main_file_name;
    if (async) {
      // The original's upload_blueprint execution: a worker parses it (ParseUploaded).
      bp.state = model::BlueprintState::kUploading;
      model::Execution upload;
      upload.id = NewUuid();
      upload.workflow_id = "upload_blueprint";
      upload.blueprint_id = id;
      upload.is_system_workflow = true;
      upload.parameters = {{"blueprint_id", id}, {"app_file_name", main_file_name}};
      upload.meta = bp.meta;
      Status created = store_->InTransaction([&](storage::Store& tx) -> Status {
        CLOUDIFY_RETURN_IF_ERROR(tx.CreateBlueprint(caller, bp));
        return tx.CreateExecution(caller, upload);
      });
      if (!created.ok()) {
        fs::remove_all(dest, ec);
        return created;
      }
      work_cv_.notify_one();
      return store_->GetBlueprint(caller, id);
    }
    auto plan = Parse(caller, *root / main_file_name);
    if (!plan.ok()) {
      fs::remove_all(dest, ec);
      return plan.status();
    }
    bp.description = plan->description;
    bp.requirements = plan->requirements;
    bp.plan = std::move(*plan);
    bp.state = model::BlueprintState::kUploaded;
    if (Status s = store_->CreateBlueprint(caller, bp); !s.ok()) {
      fs::remove_all(dest, ec);
      return s;
    }
    return store_->GetBlueprint(caller, id);
  }

  Result<model::Plan> Parse(const storage::CallerContext& caller, const fs::path& main_file) {
    dsl::ParseOptions parse_options;
    parse_options.import_resolver = [&](const std::string& url) -> Result<std::string> {
      if (url.rfind("plugin:", 0) == 0) {
        return PluginYaml(caller, url);
      }
      if (!options_.url_fetcher) {
        return NotFoundError("this manager fetches no URLs (ManagerOptions::url_fetcher)");
      }
      return options_.url_fetcher(url);
    };
    return dsl::ParseBlueprintFile(main_file, parse_options);
  }

  // The upload_blueprint execution of an asynchronous upload: the blueprint ends `uploaded`
  // with its plan, or `invalid` with the parser's error (its files are kept, as the original
  // keeps a failed blueprint until it is replaced or deleted).
  void ParseUploaded(const storage::CallerContext& caller, model::Execution e) {
    e.started_at = clock_.Now();
    auto bp = store_->GetBlueprint(caller, e.blueprint_id);
    Status ended = bp.status();
    if (bp.ok()) {
      auto plan = Parse(caller, BlueprintDir(caller, bp->id) / bp->main_file_name);
      if (plan.ok()) {
        bp->description = plan->description;
        bp->requirements = plan->requirements;
        bp->plan = std::move(*plan);
        bp->state = model::BlueprintState::kUploaded;
      } else {
        bp->state = model::BlueprintState::kInvalid;
        bp->error = plan.status().ToString();
        ended = plan.status();
      }
      bp->updated_at = clock_.Now();
      if (Status updated = store_->UpdateBlueprint(caller, *bp); !updated.ok()) {
        ended = updated;
      }
    }
    e.status = ended.ok() ? ExecutionStatus::kTerminated : ExecutionStatus::kFailed;
    e.error = ended.ok() ? "" : ended.ToString();
    e.ended_at = clock_.Now();
    (void)store_->UpdateExecution(caller, e);
  }

  Result<model::Deployment> CreateDeployment(const storage::CallerContext& caller,
                                             const std::string& blueprint_id,
                                             const std::string& deployment_id, const json& inputs,
                                             const DeploymentCreateOptions& options) {
    CLOUDIFY_RETURN_IF_ERROR(ValidateResourceId(deployment_id, "deployment"));
    CLOUDIFY_ASSIGN_OR_RETURN(model::Blueprint bp, store_->GetBlueprint(caller, blueprint_id));
    if (bp.state != model::BlueprintState::kUploaded) {
      return Status(ErrorCode::kDeploymentCreation,
                    "Blueprint `" + blueprint_id + "` is not uploaded (state " +
                        std::string(model::BlueprintStateName(bp.state)) + ")");
    }
    if (store_->GetDeployment(caller, deployment_id).ok()) {
      return ConflictError("deployment with id `" + deployment_id + "` already exists");
    }
    IdGenerator ids;
    CLOUDIFY_ASSIGN_OR_RETURN(
        dsl::DeploymentPlan dp,
        dsl::PrepareDeploymentPlan(bp.plan, inputs.is_null() ? json::object() : inputs, ids,
                                   {.deployment_id = deployment_id, .blueprint_id = blueprint_id}));
    model::Deployment d;
    d.id = deployment_id;
    d.display_name = options.display_name.empty() ? deployment_id : options.display_name;
    d.blueprint_id = blueprint_id;
    d.meta.visibility = options.visibility;
    d.meta.tenant_name = caller.tenant;
    d.meta.created_by = caller.user;
    d.meta.created_at = clock_.Now();
    d.updated_at = d.meta.created_at;
    d.description = dp.plan.description;
    d.inputs = dp.inputs;
    d.outputs = dp.plan.outputs;
    d.capabilities = dp.plan.capabilities;
    d.groups = dp.plan.groups;
    d.scaling_groups = dp.plan.scaling_groups;
    d.policies = dp.plan.policies;
    d.policy_types = dp.plan.policy_types;
    d.policy_triggers = dp.plan.policy_triggers;
    d.workflows = dp.plan.workflows;
    model::Execution env;
    env.id = NewUuid();
    env.workflow_id = "create_deployment_environment";
    env.deployment_id = deployment_id;
    env.blueprint_id = blueprint_id;
    env.is_system_workflow = true;
    env.parameters = {{"inputs", dp.inputs}};
    env.meta = d.meta;
    d.create_execution_id = env.id;
    d.latest_execution_id = env.id;
    if (options.async) {
      // The nodes and instances come from a worker (CreateEnvironment); the inputs were
      // checked above, so what is left cannot fail on them.
      env.status = ExecutionStatus::kPending;
      d.latest_execution_status = model::LatestExecutionStatus::kInProgress;
      CLOUDIFY_RETURN_IF_ERROR(store_->InTransaction([&](storage::Store& tx) -> Status {
        CLOUDIFY_RETURN_IF_ERROR(tx.CreateDeployment(caller, d));
        return tx.CreateExecution(caller, env);
      }));
      work_cv_.notify_one();
      return store_->GetDeployment(caller, deployment_id);
    }
    env.status = ExecutionStatus::kTerminated;
    env.started_at = d.meta.created_at;
    env.ended_at = d.meta.created_at;
    d.latest_execution_status = model::LatestExecutionStatus::kCompleted;
    CLOUDIFY_RETURN_IF_ERROR(store_->InTransaction([&](storage::Store& tx) -> Status {
      CLOUDIFY_RETURN_IF_ERROR(tx.CreateDeployment(caller, d));
      CLOUDIFY_RETURN_IF_ERROR(StoreEnvironment(tx, caller, d, dp));
      return tx.CreateExecution(caller, env);
    }));
    return store_->GetDeployment(caller, deployment_id);
  }

  // The deployment's nodes and node instances, as its plan made them.
  static Status StoreEnvironment(storage::Store& tx, const storage::CallerContext& caller,
                                 const model::Deployment& d, dsl::DeploymentPlan& dp) {
    for (auto& node : dp.nodes) {
      node.meta = d.meta;
    }
    for (auto& instance : dp.node_instances) {
      instance.meta = d.meta;
    }
    CLOUDIFY_RETURN_IF_ERROR(tx.CreateNodes(caller, dp.nodes));
    return tx.CreateNodeInstances(caller, dp.node_instances);
  }

  // The create_deployment_environment execution of an asynchronous create: the plan is made
  // again from the blueprint and the stored inputs, its nodes and instances stored, and the
  // execution ended, in one transaction (a manager dying halfway leaves it to the next).
  void CreateEnvironment(const storage::CallerContext& caller, model::Execution e) {
    e.started_at = clock_.Now();
    auto made = [&]() -> Result<dsl::DeploymentPlan> {
      CLOUDIFY_ASSIGN_OR_RETURN(model::Blueprint bp, store_->GetBlueprint(caller, e.blueprint_id));
      IdGenerator ids;
      return dsl::PrepareDeploymentPlan(
          bp.plan, e.parameters.value("inputs", json::object()), ids,
          {.deployment_id = e.deployment_id, .blueprint_id = e.blueprint_id});
    }();
    Status stored = made.status();
    if (made.ok()) {
      stored = store_->InTransaction([&](storage::Store& tx) -> Status {
        CLOUDIFY_ASSIGN_OR_RETURN(model::Execution now, tx.GetExecution(caller, e.id));
        if (now.status != ExecutionStatus::kPending) {
          return Status::Ok();  // cancelled meanwhile, or done by another manager
        }
        CLOUDIFY_ASSIGN_OR_RETURN(model::Deployment d, tx.GetDeployment(caller, e.deployment_id));
        CLOUDIFY_RETURN_IF_ERROR(StoreEnvironment(tx, caller, d, *made));
        d.latest_execution_status = model::LatestExecutionStatus::kCompleted;
        CLOUDIFY_RETURN_IF_ERROR(tx.UpdateDeployment(caller, d));
        e.status = ExecutionStatus::kTerminated;
        e.ended_at = clock_.Now();
        return tx.UpdateExecution(caller, e);
      });
    }
    if (!stored.ok()) {
      e.status = ExecutionStatus::kFailed;
      e.error = stored.ToString();
      e.ended_at = clock_.Now();
      (void)store_->UpdateExecution(caller, e);
      if (auto d = store_->GetDeployment(caller, e.deployment_id); d.ok()) {
        d->latest_execution_status = model::LatestExecutionStatus::kFailed;
        (void)store_->UpdateDeployment(caller, *d);
      }
    }
  }

  Status DeleteDeployment(const storage::CallerContext& caller, const std::string& id, bool force) {
    CLOUDIFY_RETURN_IF_ERROR(store_->GetDeployment(caller, id).status());
    storage::ListQuery query;
    query.size = 1;
    query.filters = {{"deployment_id", {id}},
                     {"status",
                      {"pending", "started", "cancelling", "force_cancelling", "kill_cancelling",
                       "queued", "scheduled"}}};
    CLOUDIFY_ASSIGN_OR_RETURN(auto active, store_->ListExecutions(caller, query));
    if (active.total > 0) {
      return Status(ErrorCode::kDependentExists, "Can't delete deployment " + id +
                                                     " - There are running or queued executions "
                                                     "for this deployment");
    }
    if (!force) {
      storage::ListQuery live;
      live.size = 1;
      live.filters = {{"deployment_id", {id}},
                      {"state",
                       {"initializing", "creating", "created", "configuring", "configured",
                        "starting", "started", "stopping", "stopped", "deleting"}}};
      CLOUDIFY_ASSIGN_OR_RETURN(auto instances, store_->ListNodeInstances(caller, live));
      if (instances.total > 0) {
        return Status(ErrorCode::kDependentExists,
                      "Can't delete deployment " + id +
                          " - There are live nodes for this "
                          "deployment. Live nodes are nodes that are not in the uninitialized or "
                          "deleted states. Use force to delete it anyway");
      }
    }
    return store_->DeleteDeployment(caller, id);
  }

  Result<json> Evaluate(const storage::CallerContext& caller, const std::string& id, bool outputs) {
    CLOUDIFY_ASSIGN_OR_RETURN(model::Deployment d, store_->GetDeployment(caller, id));
    json values = json::object();
    for (const auto& [name, spec] : outputs ? d.outputs : d.capabilities) {
      values[name] = spec.value;
    }
    auto evaluated = workflow::EvaluateDeploymentValues(*store_, caller, d, values);
    if (!evaluated.ok() && !outputs) {
      return Status(ErrorCode::kDeploymentCapabilitiesEvaluation, evaluated.status().message());
    }
    return evaluated;
  }

  Result<model::Execution> Start(const storage::CallerContext& caller, const std::string& dep_id,
                                 const std::string& workflow_id, const json& parameters,
                                 const StartOptions& options) {
    CLOUDIFY_ASSIGN_OR_RETURN(model::Deployment d, store_->GetDeployment(caller, dep_id));
    CLOUDIFY_RETURN_IF_ERROR(CheckEnvironmentCreated(caller, d));
    auto wf = d.workflows.find(workflow_id);
    if (wf == d.workflows.end()) {
      return Status(ErrorCode::kNonexistentWorkflow,
                    "Workflow " + workflow_id + " does not exist in the deployment " + dep_id);
    }
    CLOUDIFY_ASSIGN_OR_RETURN(json params, CheckParameters(workflow_id, wf->second, parameters,
                                                           options.allow_custom_parameters));
    if (options.dry_run && workflow_id == "scale") {
      return BadParametersError("a dry run of scale is not possible: it changes the deployment");
    }
    model::Execution e;
    e.id = NewUuid();
    e.workflow_id = workflow_id;
    e.deployment_id = dep_id;
    e.deployment_display_name = d.display_name;
    e.blueprint_id = d.blueprint_id;
    e.parameters = std::move(params);
    e.allow_custom_parameters = options.allow_custom_parameters;
    e.is_dry_run = options.dry_run;
    e.meta.tenant_name = caller.tenant;
    e.meta.created_by = caller.user;
    e.meta.created_at = clock_.Now();
    if (options.scheduled_for && *options.scheduled_for > e.meta.created_at) {
      // The deployment's other executions are looked at when it is due (PromoteDue).
      e.status = ExecutionStatus::kScheduled;
      e.scheduled_for = options.scheduled_for;
      CLOUDIFY_RETURN_IF_ERROR(store_->CreateExecution(caller, e));
      return e;
    }
    // The active check and the insert are one transaction, so two starts cannot both pass.
    CLOUDIFY_RETURN_IF_ERROR(store_->InTransaction([&](storage::Store& tx) -> Status {
      // A system-wide execution active or queued holds every other back, forced or not.
      CLOUDIFY_ASSIGN_OR_RETURN(auto system_wide, SystemWide(tx, kActiveOrQueued));
      if (system_wide.total > 0) {
        if (!options.queue) {
          return RunningError(system_wide);
        }
        e.status = ExecutionStatus::kQueued;
        return tx.CreateExecution(caller, e);
      }
      storage::ListQuery query;
      query.size = 1;
      query.filters = {
          {"deployment_id", {dep_id}},
          {"status",
           {"pending", "started", "cancelling", "force_cancelling", "kill_cancelling", "queued"}}};
      CLOUDIFY_ASSIGN_OR_RETURN(auto active, tx.ListExecutions(caller, query));
      if (active.total > 0 && !options.force) {
        if (!options.queue) {
          return Status(ErrorCode::kExistingRunningExecution,
                        "The following executions are currently running for this deployment: " +
                            active.items.front().id +
                            ". To execute this workflow anyway, pass \"force=true\" as a query "
                            "parameter to this request");
        }
        e.status = ExecutionStatus::kQueued;
      }
      return tx.CreateExecution(caller, e);
    }));
    work_cv_.notify_one();
    return e;
  }

  // An execution starts only on a deployment whose environment exists (the original's
  // checks, with its codes).
  Status CheckEnvironmentCreated(const storage::CallerContext& caller, const model::Deployment& d) {
    if (d.latest_execution_status != model::LatestExecutionStatus::kInProgress &&
        d.latest_execution_status != model::LatestExecutionStatus::kFailed) {
      return Status::Ok();  // its creation ended well long ago: no need to look
    }
    auto env = store_->GetExecution(caller, d.create_execution_id);
    if (!env.ok()) {
      return Status::Ok();  // an older record without it
    }
    switch (env->status) {
      case ExecutionStatus::kPending:
        return Status(ErrorCode::kDeploymentEnvironmentCreationPending,
                      "Deployment environment creation is still pending, try again in a minute");
      case ExecutionStatus::kStarted:
        return Status(ErrorCode::kDeploymentEnvironmentCreationInProgress,
                      "Deployment environment creation is still in progress, try again in a "
                      "minute");
      case ExecutionStatus::kFailed:
      case ExecutionStatus::kCancelled:
        return Status(ErrorCode::kDeploymentCreation,
                      "Failed creating the environment of deployment " + d.id + ": " + env->error);
      default:
        return Status::Ok();
    }
  }

  Result<model::Execution> StartSystem(const storage::CallerContext& caller,
                                       const std::string& workflow_id, const json& parameters,
                                       const StartOptions& options) {
    if (workflows_.FindSystemWide(workflow_id) == nullptr) {
      return Status(ErrorCode::kNonexistentWorkflow,
                    "System-wide workflow " + workflow_id + " does not exist");
    }
    if (options.dry_run || options.scheduled_for || options.force) {
      return BadParametersError(
          "a system-wide execution is neither a dry run, nor scheduled, nor forced");
    }
    if (!parameters.is_object() && !parameters.is_null()) {
      return BadParametersError("the parameters of " + workflow_id + " must be a mapping");
    }
    model::Execution e;
    e.id = NewUuid();
    e.workflow_id = workflow_id;
    e.is_system_workflow = true;
    e.parameters = parameters.is_null() ? json::object() : parameters;
    e.allow_custom_parameters = true;  // a C++ function declares none: it reads what it needs
    e.meta.tenant_name = caller.tenant;
    e.meta.created_by = caller.user;
    e.meta.created_at = clock_.Now();
    CLOUDIFY_RETURN_IF_ERROR(store_->InTransaction([&](storage::Store& tx) -> Status {
      // It waits for every active execution of every tenant, and behind the system-wide
      // ones queued before it.
      CLOUDIFY_ASSIGN_OR_RETURN(auto active, AllTenants(tx, {{"status", ActiveNames()}}));
      CLOUDIFY_ASSIGN_OR_RETURN(auto queued, SystemWide(tx, {"queued"}));
      if (active.total > 0 || queued.total > 0) {
        if (!options.queue) {
          return RunningError(active.total > 0 ? active : queued);
        }
        e.status = ExecutionStatus::kQueued;
      }
      return tx.CreateExecution(caller, e);
    }));
    work_cv_.notify_one();
    return e;
  }

  Result<model::Execution> Wait(const storage::CallerContext& caller, const std::string& id,
                                std::chrono::milliseconds timeout) {
    const auto deadline = std::chrono::steady_clock::now() + timeout;
    while (true) {
      CLOUDIFY_ASSIGN_OR_RETURN(model::Execution e, store_->GetExecution(caller, id));
      if (model::IsTerminal(e.status)) {
        return e;
      }
      std::unique_lock lock(mu_);
      if (std::chrono::steady_clock::now() >= deadline) {
        return Status(ErrorCode::kUnavailable,
                      "execution " + id + " did not end in time (" +
                          std::string(model::ExecutionStatusName(e.status)) + ")");
      }
      done_cv_.wait_for(lock, std::chrono::milliseconds(50));
    }
  }

  Result<model::Execution> Cancel(const storage::CallerContext& caller, const std::string& id,
                                  CancelKind kind) {
    model::Execution e;
    bool dropped = false;
    const char* verb = kind == CancelKind::kKill    ? "kill"
                       : kind == CancelKind::kForce ? "force-cancel"
                                                    : "cancel";
    // Read and write in one transaction, so a run ending meanwhile is not overwritten.
    CLOUDIFY_RETURN_IF_ERROR(store_->InTransaction([&](storage::Store& tx) -> Status {
      CLOUDIFY_ASSIGN_OR_RETURN(e, tx.GetExecution(caller, id));
      // The original's rules: cancel from pending or started; force-cancel also from
      // cancelling; kill from any status that has not ended.
      const bool running = e.status == ExecutionStatus::kPending ||
                           e.status == ExecutionStatus::kStarted || model::IsWaiting(e.status);
      const bool allowed =
          !model::IsTerminal(e.status) &&
          (running || kind == CancelKind::kKill ||
           (kind == CancelKind::kForce && e.status == ExecutionStatus::kCancelling));
      if (!allowed) {
        return Status(ErrorCode::kIllegalAction,
                      std::string("Can't ") + verb + " execution " + id + " in status " +
                          std::string(model::ExecutionStatusName(e.status)));
      }
      if (model::IsWaiting(e.status)) {
        e.status = ExecutionStatus::kCancelled;  // a waiting execution is simply dropped
        e.ended_at = clock_.Now();
        dropped = true;
      } else {
        e.status = kind == CancelKind::kKill    ? ExecutionStatus::kKillCancelling
                   : kind == CancelKind::kForce ? ExecutionStatus::kForceCancelling
                                                : ExecutionStatus::kCancelling;
      }
      return tx.UpdateExecution(caller, e);
    }));
    {
      std::lock_guard lock(mu_);
      if (auto it = running_.find(id); it != running_.end()) {
        it->second->store(true);
      }
      if (auto it = forced_.find(id); it != forced_.end() && kind != CancelKind::kCancel) {
        it->second->store(true);
      }
    }
    if (dropped && model::IsSystemWide(e)) {
      StartQueued();  // what waited behind it
    }
    work_cv_.notify_all();
    done_cv_.notify_all();
    return e;
  }

  Result<model::Execution> UpdateStatus(const storage::CallerContext& caller, const std::string& id,
                                        ExecutionStatus status, const std::string& error) {
    model::Execution e;
    CLOUDIFY_RETURN_IF_ERROR(store_->InTransaction([&](storage::Store& tx) -> Status {
      CLOUDIFY_ASSIGN_OR_RETURN(e, tx.GetExecution(caller, id));
      CLOUDIFY_RETURN_IF_ERROR(model::CheckExecutionTransition(e.workflow_id, e.status, status));
      e.status = status;
      e.error = error;
      if (status == ExecutionStatus::kStarted && !e.started_at) {
        e.started_at = clock_.Now();
      }
      if (model::IsTerminal(status)) {
        e.ended_at = clock_.Now();
      }
      return tx.UpdateExecution(caller, e);
    }));
    if (model::IsTerminal(status)) {
      {
        std::lock_guard lock(mu_);
        if (auto it = running_.find(id); it != running_.end()) {
          it->second->store(true);  // the run ends: no new operation starts
        }
      }
      StartQueued();
      done_cv_.notify_all();
    }
    return e;
  }

  Result<model::Execution> Resume(const storage::CallerContext& caller, const std::string& id) {
    CLOUDIFY_ASSIGN_OR_RETURN(model::Execution e, store_->GetExecution(caller, id));
    if (e.status != ExecutionStatus::kFailed && e.status != ExecutionStatus::kCancelled) {
      return ConflictError("Cannot resume execution `" + id + "` in state " +
                           std::string(model::ExecutionStatusName(e.status)));
    }
    // An action, not a status update: the end state is left on purpose.
    e.status = ExecutionStatus::kPending;
    e.resume = true;
    e.error.clear();
    e.ended_at.reset();
    CLOUDIFY_RETURN_IF_ERROR(store_->UpdateExecution(caller, e));
    work_cv_.notify_one();
    return e;
  }

  Status SyncEvents(std::chrono::milliseconds timeout) {
    engine_->SendEvents();  // the writer's marker then travels behind them
    return writer_->Sync(timeout);
  }
  Status SyncMetrics(std::chrono::milliseconds timeout) { return metric_writer_->Sync(timeout); }

 private:
  void WorkerLoop() {
    while (true) {
      {
        std::unique_lock lock(mu_);
        if (stopping_) {
          return;
        }
      }
      auto claimed = store_->ClaimExecution(options_.manager_name, options_.execution_lease);
      if (!claimed.ok() || !claimed->has_value()) {
        std::unique_lock lock(mu_);
        work_cv_.wait_for(lock, std::chrono::milliseconds(200));
        continue;
      }
      {
        // A lease this manager renewed too late (a stalled machine) makes its own running
        // execution claimable: the claim renewed it, and it must not run twice.
        std::lock_guard lock(mu_);
        if (running_.count((*claimed)->id) != 0) {
          continue;
        }
      }
      RunClaimed(**claimed);
    }
  }

  void RunClaimed(model::Execution e) {
    const storage::CallerContext caller = storage::CallerContext::System(e.meta.tenant_name);
    auto cancel = std::make_shared<std::atomic<bool>>(false);
    auto forced = std::make_shared<std::atomic<bool>>(false);
    {
      std::lock_guard lock(mu_);
      running_[e.id] = cancel;
      forced_[e.id] = forced;
      cancel->store(stopping_);  // claimed while the manager stops: run nothing new
    }
    if (e.status == ExecutionStatus::kCancelling || e.status == ExecutionStatus::kForceCancelling ||
        e.status == ExecutionStatus::kKillCancelling) {
      // Cancelled before it ran (or while its manager was gone): nothing to run.
      e.status = ExecutionStatus::kCancelled;
      e.ended_at = clock_.Now();
      (void)store_->UpdateExecution(caller, e);
    } else if (e.workflow_id == "create_deployment_environment") {
      CreateEnvironment(caller, e);
    } else if (e.workflow_id == "upload_blueprint") {
      ParseUploaded(caller, e);
    } else if (auto run = engine_->Run(caller, e.id, cancel.get(), forced.get()); !run.ok()) {
      // The engine could not even record the end (e.g. the store went away): fail it, so it
      // is not claimed again at once, over and over.
      auto stored = store_->GetExecution(caller, e.id);
      if (stored.ok() && !model::IsTerminal(stored->status)) {
        stored->status = ExecutionStatus::kFailed;
        stored->error = run.status().ToString();
        stored->ended_at = clock_.Now();
        (void)store_->UpdateExecution(caller, *stored);
      }
    }
    {
      std::lock_guard lock(mu_);
      running_.erase(e.id);
      forced_.erase(e.id);
    }
    // Released only now: released first, a resume right after the run ended let a worker of
    // this manager claim it while it was still listed as running here; the worker skipped it
    // (see WorkerLoop) and the claim held it for a whole lease.
    (void)store_->ReleaseExecution(e.id, options_.manager_name);
    work_cv_.notify_all();
    StartQueued();
    done_cv_.notify_all();
  }

  // Scheduled executions whose time has come go to pending, or to queued when another
  // execution of their deployment is active or queued. Any manager sharing the store may do
  // it: each promotion is its own transaction and re-reads the execution.
  void PromoteDue() {
    storage::CallerContext all = storage::CallerContext::System();
    all.all_tenants = true;
    storage::ListQuery due;
    due.size = 100;
    due.sort = {"scheduled_for"};
    due.filters = {{"status", {"scheduled"}}};
    due.ranges.push_back({"scheduled_for", std::nullopt, std::to_string(NowMs() + 1)});
    auto page = store_->ListExecutions(all, due);
    if (!page.ok()) {
      return;  // the next pass tries again
    }
    for (const model::Execution& found : page->items) {
      const storage::CallerContext caller = storage::CallerContext::System(found.meta.tenant_name);
      (void)store_->InTransaction([&](storage::Store& tx) -> Status {
        CLOUDIFY_ASSIGN_OR_RETURN(model::Execution e, tx.GetExecution(caller, found.id));
        if (e.status != ExecutionStatus::kScheduled) {
          return Status::Ok();  // another manager promoted it, or it was cancelled
        }
        storage::ListQuery busy;
        busy.size = 1;
        busy.filters = {{"deployment_id", {e.deployment_id}}, {"status", kActiveOrQueued}};
        CLOUDIFY_ASSIGN_OR_RETURN(auto active, tx.ListExecutions(caller, busy));
        CLOUDIFY_ASSIGN_OR_RETURN(auto system_wide, SystemWide(tx, kActiveOrQueued));
        e.status = active.total > 0 || system_wide.total > 0 ? ExecutionStatus::kQueued
                                                             : ExecutionStatus::kPending;
        return tx.UpdateExecution(caller, e);
      });
    }
    if (!page->items.empty()) {
      work_cv_.notify_all();
    }
  }

  long long NowMs() const { return clock_.Now().time_since_epoch().count(); }

  void ScheduleLoop() {
    std::unique_lock lock(mu_);
    while (
        !lease_cv_.wait_for(lock, options_.schedule_check_interval, [this] { return stopping_; })) {
      lock.unlock();
      PromoteDue();
      lock.lock();
    }
  }

  // What waits in the queue goes to pending when it may run (the original's
  // start_queued_executions): the oldest queued system-wide execution once nothing at all is
  // active, and nothing else before it; otherwise, while no system-wide execution is active,
  // the oldest queued execution of each deployment that has none active (a forced one may
  // still run).
  void StartQueued() {
    Status promoted = store_->InTransaction([&](storage::Store& tx) -> Status {
      CLOUDIFY_ASSIGN_OR_RETURN(auto system_wide, SystemWide(tx, ActiveNames()));
      if (system_wide.total > 0) {
        return Status::Ok();
      }
      CLOUDIFY_ASSIGN_OR_RETURN(auto waiting_system, SystemWide(tx, {"queued"}, 1));
      if (!waiting_system.items.empty()) {
        CLOUDIFY_ASSIGN_OR_RETURN(auto active, AllTenants(tx, {{"status", ActiveNames()}}, 1));
        return active.total > 0 ? Status::Ok() : Promote(tx, waiting_system.items.front());
      }
      CLOUDIFY_ASSIGN_OR_RETURN(auto queued, AllTenants(tx, {{"status", {"queued"}}}, 1000));
      std::set<std::string> seen;
      for (const model::Execution& next : queued.items) {
        if (!seen.insert(next.meta.tenant_name + '/' + next.deployment_id).second) {
          continue;  // not the oldest of its deployment
        }
        const storage::CallerContext owner = storage::CallerContext::System(next.meta.tenant_name);
        storage::ListQuery active;
        active.size = 1;
        active.filters = {{"deployment_id", {next.deployment_id}}, {"status", ActiveNames()}};
        CLOUDIFY_ASSIGN_OR_RETURN(auto running, tx.ListExecutions(owner, active));
        if (running.total == 0) {
          CLOUDIFY_RETURN_IF_ERROR(Promote(tx, next));
        }
      }
      return Status::Ok();
    });
    (void)promoted;  // a failure leaves them queued; the next end of an execution tries again
    work_cv_.notify_all();
  }

  Status Promote(storage::Store& tx, model::Execution next) {
    next.status = ExecutionStatus::kPending;
    return tx.UpdateExecution(storage::CallerContext::System(next.meta.tenant_name), next);
  }

  // The statuses of an execution that runs or is about to (pending, started, cancelling).
  static const std::vector<std::string>& ActiveNames() {
    static const std::vector<std::string> names = {"pending", "started", "cancelling",
                                                   "force_cancelling", "kill_cancelling"};
    return names;
  }
  inline static const std::vector<std::string> kActiveOrQueued = {
      "pending", "started", "cancelling", "force_cancelling", "kill_cancelling", "queued"};

  // Executions of every tenant matching `filters`, oldest first.
  static Result<storage::Page<model::Execution>> AllTenants(
      storage::Store& tx, std::map<std::string, std::vector<std::string>> filters,
      int64_t size = 10) {
    storage::CallerContext all = storage::CallerContext::System();
    all.all_tenants = true;
    storage::ListQuery query;
    query.size = size;
    query.sort = {"created_at"};
    query.filters = std::move(filters);
    return tx.ListExecutions(all, query);
  }
  // System-wide executions in one of `statuses`.
  static Result<storage::Page<model::Execution>> SystemWide(
      storage::Store& tx, const std::vector<std::string>& statuses, int64_t size = 10) {
    return AllTenants(tx,
                      {{"is_system_workflow", {"true"}},
                       {"deployment_id", {""}},
                       {"blueprint_id", {""}},
                       {"status", statuses}},
                      size);
  }
  // The original's refusal when others run and the caller did not ask to queue.
  static Status RunningError(const storage::Page<model::Execution>& running) {
    std::string ids;
    for (const model::Execution& e : running.items) {
      ids += (ids.empty() ? "" : ", ") + e.id;
    }
    return Status(ErrorCode::kExistingRunningExecution,
                  "Cannot start execution because there are other executions running: " + ids);
  }

  void LeaseLoop() {
    while (true) {
      std::vector<std::pair<std::string, std::shared_ptr<std::atomic<bool>>>> held;
      {
        std::unique_lock lock(mu_);
        lease_cv_.wait_for(lock, options_.execution_lease / 3, [this] { return stopping_; });
        if (stopping_) {
          return;
        }
        held.assign(running_.begin(), running_.end());
      }
      for (const auto& [id, flag] : held) {
        Status renewed =
            store_->RenewExecutionLease(id, options_.manager_name, options_.execution_lease);
        if (renewed.code() == ErrorCode::kConflict) {
          flag->store(true);  // another manager took it over: stop running it here
        }
      }
    }
  }

  void MaintenanceLoop() {
    while (true) {
      {
        std::unique_lock lock(mu_);
        if (lease_cv_.wait_for(lock, options_.store_maintenance_interval,
                               [this] { return stopping_; })) {
          return;
        }
      }
      Status maintained = store_->Maintain();
      if (!maintained.ok()) {
        DefaultLogger().Warning("store maintenance failed", {{"error", maintained.ToString()}});
      }
    }
  }

  ManagerOptions options_;
  const Clock& clock_;
  std::unique_ptr<storage::Store> owned_store_;
  storage::Store* store_ = nullptr;
  std::unique_ptr<messaging::Bus> owned_bus_;
  messaging::Bus* bus_ = nullptr;
  workflow::OperationRegistry operations_;
  workflow::WorkflowRegistry workflows_;
  std::unique_ptr<workflow::EventWriter> writer_;
  std::unique_ptr<workflow::MetricWriter> metric_writer_;
  std::unique_ptr<workflow::Engine> engine_;

  std::mutex mu_;
  std::condition_variable work_cv_;
  std::condition_variable done_cv_;
  std::condition_variable lease_cv_;
  std::thread maintainer_;
  std::thread scheduler_;
  bool stopping_ = false;
  std::map<std::string, std::shared_ptr<std::atomic<bool>>> running_;
  // Per running execution: set by force-cancel and kill (OperationContext::cancel_requested).
  std::map<std::string, std::shared_ptr<std::atomic<bool>>> forced_;
  std::vector<std::thread> workers_;
  std::thread lease_keeper_;
};

Manager::Manager(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}
Manager::~Manager() = default;

Result<std::unique_ptr<Manager>> Manager::Open(ManagerOptions options) {
  auto impl = std::make_unique<Impl>(std::move(options));
  CLOUDIFY_RETURN_IF_ERROR(impl->Open());
  return std::unique_ptr<Manager>(new Manager(std::move(impl)));
}

workflow::OperationRegistry& Manager::operations() { return impl_->operations(); }
workflow::WorkflowRegistry& Manager::workflows() { return impl_->workflows(); }
storage::Store& Manager::store() { return impl_->store(); }

Result<model::Blueprint> Manager::UploadBlueprint(const storage::CallerContext& caller,
                                                  const std::string& blueprint_id,
                                                  const fs::path& main_file) {
  const fs::path source = main_file.parent_path().empty() ? fs::path(".") : main_file.parent_path();
  return impl_->Upload(
      caller, blueprint_id,
      [&](const fs::path& dest) -> Result<fs::path> {
        std::error_code ec;
        if (!fs::is_regular_file(main_file, ec)) {
          return NotFoundError("blueprint file " + main_file.string() + " not found");
        }
        fs::create_directories(dest.parent_path(), ec);
        fs::copy(source, dest, fs::copy_options::recursive | fs::copy_options::copy_symlinks, ec);
        if (ec) {
          return InternalError("copying " + source.string() + ": " + ec.message());
        }
        return dest;
      },
      main_file.filename().string());
}

Result<std::string> Manager::FetchUrl(const std::string& url) {
  const auto& fetch = impl_->options().url_fetcher;
  if (!fetch) {
    return BadParametersError("cannot fetch " + url +
                              ": this manager has no URL fetcher (ManagerOptions::url_fetcher)");
  }
  return fetch(url);
}

Result<model::Blueprint> Manager::UploadBlueprintArchive(const storage::CallerContext& caller,
                                                         const std::string& blueprint_id,
                                                         std::string_view archive_bytes,
                                                         const std::string& main_file_name,
                                                         const BlueprintUploadOptions& options) {
  return impl_->Upload(
      caller, blueprint_id,
      [&](const fs::path& dest) -> Result<fs::path> {
        // The archive's single top folder becomes the blueprint folder (the original strips
        // it), so both upload paths lay files out alike and the file server finds them.
        fs::path staging = dest;
        staging += ".extracting";
        std::error_code ec;
        fs::remove_all(staging, ec);
        CLOUDIFY_ASSIGN_OR_RETURN(
            fs::path top, ExtractArchive(archive_bytes, staging, {.require_single_top_dir = true}));
        fs::rename(top, dest, ec);
        std::error_code ignored;
        fs::remove_all(staging, ignored);
        if (ec) {
          return InternalError("moving the extracted blueprint into " + dest.string() + ": " +
                               ec.message());
        }
        return dest;
      },
      main_file_name, options.async);
}

Result<model::Plugin> Manager::UploadPlugin(const storage::CallerContext& caller,
                                            std::string_view archive_bytes,
                                            const PluginUploadOptions& options) {
  const std::string id = options.id.empty() ? NewUuid() : options.id;
  CLOUDIFY_RETURN_IF_ERROR(ValidateResourceId(id, "plugin"));
  const ManagerOptions& o = impl_->options();
  const fs::path staging = o.data_dir / "resources" / "plugins" / (".upload-" + NewUuid());
  ScopedRemoval cleanup(staging);
  CLOUDIFY_ASSIGN_OR_RETURN(core::PluginArchive read,
                            core::ReadPluginArchive(archive_bytes, staging));
  model::Plugin p = std::move(read.plugin);
  storage::ListQuery same;
  same.size = 1;
  same.filters = {{"package_name", {p.package_name}},
                  {"package_version", {p.package_version}},
                  {"distribution", {p.distribution}},
                  {"supported_platform", {p.supported_platform}}};
  CLOUDIFY_ASSIGN_OR_RETURN(auto existing, impl_->store().ListPlugins(caller, same));
  if (existing.total > 0) {
    return ConflictError("Plugin " + p.package_name + " " + p.package_version +
                         (p.distribution.empty() ? "" : " for " + p.distribution) +
                         " already exists (id " + existing.items.front().id + ")");
  }
  p.id = id;
  p.title = options.title.empty() ? p.package_name : options.title;
  p.meta.tenant_name = caller.tenant;
  p.meta.created_by = caller.user;
  p.meta.visibility = options.visibility;
  p.meta.created_at = SystemClock().Now();
  if (!read.yamls.empty()) {
    p.yaml_url_paths = {"plugin:" + p.package_name + "?version=" + p.package_version +
                        "&distribution=" + p.distribution};
  }
  const fs::path dir = PluginDir(o, caller.tenant, id);
  std::error_code ec;
  if (fs::exists(dir, ec)) {
    return ConflictError("plugin `" + id + "` already exists");
  }
  fs::create_directories(dir, ec);
  fs::rename(read.wagon, dir / p.archive_name, ec);
  for (const auto& yaml : read.yamls) {
    if (!ec) {
      fs::rename(yaml, dir / yaml.filename(), ec);
    }
  }
  Status stored =
      ec ? InternalError("storing plugin files under " + dir.string() + ": " + ec.message())
         : impl_->store().CreatePlugin(caller, p);
  if (!stored.ok()) {
    std::error_code ignored;
    fs::remove_all(dir, ignored);
    return stored;
  }
  return p;
}

Status Manager::DeletePlugin(const storage::CallerContext& caller, const std::string& plugin_id) {
  CLOUDIFY_RETURN_IF_ERROR(impl_->store().DeletePlugin(caller, plugin_id));
  std::error_code ec;
  fs::remove_all(PluginDir(impl_->options(), caller.tenant, plugin_id), ec);
  return Status::Ok();
}

Result<fs::path> Manager::PluginArchivePath(const storage::CallerContext& caller,
                                            const std::string& plugin_id) {
  CLOUDIFY_ASSIGN_OR_RETURN(model::Plugin p, impl_->store().GetPlugin(caller, plugin_id));
  return PluginDir(impl_->options(), p.meta.tenant_name, p.id) / p.archive_name;
}

Status Manager::DeleteBlueprint(const storage::CallerContext& caller,
                                const std::string& blueprint_id) {
  CLOUDIFY_RETURN_IF_ERROR(impl_->store().DeleteBlueprint(caller, blueprint_id));
  std::error_code ec;
  fs::remove_all(impl_->BlueprintDir(caller, blueprint_id), ec);
  return Status::Ok();
}

Result<model::Deployment> Manager::CreateDeployment(const storage::CallerContext& caller,
                                                    const std::string& blueprint_id,
                                                    const std::string& deployment_id,
                                                    const json& inputs,
                                                    const DeploymentCreateOptions& options) {
  return impl_->CreateDeployment(caller, blueprint_id, deployment_id, inputs, options);
}

Status Manager::DeleteDeployment(const storage::CallerContext& caller,
                                 const std::string& deployment_id, bool force) {
  return impl_->DeleteDeployment(caller, deployment_id, force);
}

Result<json> Manager::DeploymentOutputs(const storage::CallerContext& caller,
                                        const std::string& deployment_id) {
  return impl_->Evaluate(caller, deployment_id, /*outputs=*/true);
}

Result<json> Manager::DeploymentCapabilities(const storage::CallerContext& caller,
                                             const std::string& deployment_id) {
  return impl_->Evaluate(caller, deployment_id, /*outputs=*/false);
}

Result<model::Execution> Manager::StartExecution(const storage::CallerContext& caller,
                                                 const std::string& deployment_id,
                                                 const std::string& workflow_id,
                                                 const json& parameters,
                                                 const StartOptions& options) {
  return impl_->Start(caller, deployment_id, workflow_id, parameters, options);
}

Result<model::Execution> Manager::StartSystemExecution(const storage::CallerContext& caller,
                                                       const std::string& workflow_id,
                                                       const json& parameters,
                                                       const StartOptions& options) {
  return impl_->StartSystem(caller, workflow_id, parameters, options);
}

Result<model::Execution> Manager::WaitForExecution(const storage::CallerContext& caller,
                                                   const std::string& execution_id,
                                                   std::chrono::milliseconds timeout) {
  return impl_->Wait(caller, execution_id, timeout);
}

Result<model::Execution> Manager::CancelExecution(const storage::CallerContext& caller,
                                                  const std::string& execution_id,
                                                  CancelKind kind) {
  return impl_->Cancel(caller, execution_id, kind);
}

Result<model::Execution> Manager::UpdateExecutionStatus(const storage::CallerContext& caller,
                                                        const std::string& execution_id,
                                                        model::ExecutionStatus status,
                                                        const std::string& error) {
  return impl_->UpdateStatus(caller, execution_id, status, error);
}

Result<model::Execution> Manager::ResumeExecution(const storage::CallerContext& caller,
                                                  const std::string& execution_id) {
  return impl_->Resume(caller, execution_id);
}

Status Manager::SyncEvents(std::chrono::milliseconds timeout) { return impl_->SyncEvents(timeout); }
Status Manager::SyncMetrics(std::chrono::milliseconds timeout) {
  return impl_->SyncMetrics(timeout);
}

}  // namespace cloudify
