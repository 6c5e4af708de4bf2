// Store: everything the manager knows (tenants, users, groups, blueprints with their plan,
// deployments, nodes, node instances, executions with their task graphs and operations,
// events and logs, metrics, secrets, plugins), behind one abstract interface with two backends
// chosen by URL: an SQLite file (the embedded default), SQLite in memory, or PostgreSQL.
//
//   auto store = cloudify::storage::OpenStore("sqlite:///var/lib/cloudify/db.sqlite");
//   auto page = (*store)->ListNodeInstances(caller, {.filters = {{"deployment_id", {"d1"}}}});
//
// Lists filter, sort and page in SQL and report the total count (REST.md §2). Every call on a
// tenant-scoped resource applies the caller's tenancy (REST.md §5): rows of the caller's tenant
// plus global rows, private rows only for their creator or an admin. Writes fill a new row's
// tenant from the caller, its creator from the caller when empty and its creation time from the
// clock when unset.
//
// Errors (Status codes): kNotFound (no visible row), kConflict (duplicate id, stale node
// instance version, lost execution lease), kBadParameters (bad page size, offset, unknown sort or
// filter field, bad filter value, a clear-text password), kNoSuchIncludeField (unknown include
// field), kDependentExists (a blueprint with deployments), kStorageError (the database refused,
// a corrupt row, a schema newer than the code), kUnavailable (the database is unreachable or
// stays locked past the busy timeout).
//
// Thread-safety: a Store is safe to use from many threads; connections come from a pool. The
// Store passed to an InTransaction body is bound to one connection and must be used only by the
// thread running the body, only during it. Ownership: OpenStore's caller owns the Store.
#pragma once

#include <chrono>
#include <cstdint>
#include <filesystem>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "cloudify/clock.h"
#include "cloudify/model/agent.h"
#include "cloudify/model/blueprint.h"
#include "cloudify/model/deployment.h"
#include "cloudify/model/deployment_modification.h"
#include "cloudify/model/event.h"
#include "cloudify/model/execution.h"
#include "cloudify/model/metric.h"
#include "cloudify/model/node.h"
#include "cloudify/model/operation.h"
#include "cloudify/model/plugin.h"
#include "cloudify/model/secret.h"
#include "cloudify/model/tenant.h"
#include "cloudify/model/user.h"
#include "cloudify/status.h"

namespace cloudify::storage {

// Who is asking: the tenancy applied to every query on a tenant-scoped resource.
struct CallerContext {
  // The tenant of the request (the Tenant header). Default: "default_tenant".
  std::string tenant{model::kDefaultTenant};
  // The calling user; the creator of new rows and the owner test for private rows. Default: "".
  std::string user;
  // sys_admin or tenant manager: sees private rows of others. Default: false.
  bool is_admin = false;
  // _all_tenants=true: every tenant in `tenants` (every tenant at all for an admin). Default:
  // false.
  bool all_tenants = false;
  // The tenants the user belongs to, used with all_tenants by a non-admin. Default: empty.
  std::vector<std::string> tenants;

  // An admin of `tenant`: what the manager itself uses for internal work.
  static CallerContext System(std::string tenant = std::string(model::kDefaultTenant));
};

// _range=<field>,<from>,<to>: from inclusive, to exclusive; either may be absent.
struct RangeFilter {
  std::string field;
  std::optional<std::string> from;
  std::optional<std::string> to;
};

// A list request (REST.md §2). Field names are the REST API's.
struct ListQuery {
  // Page size (_size). Must be 0..StoreOptions::max_page_size. Default: 1000.
  int64_t size = 1000;
  // Rows to skip (_offset), >= 0. Default: 0.
  int64_t offset = 0;
  // _get_all_results: ignore size. Default: false.
  bool get_all_results = false;
  // _sort: "field" ascending, "-field" descending ("+field" and a leading '@' are accepted),
  // applied in order. Default: empty (creation order).
  std::vector<std::string> sort;
  // Equality filters: field -> accepted values (OR-ed); fields are AND-ed. Default: none.
  std::map<std::string, std::vector<std::string>> filters;
  // _search: case-insensitive substring of the id (key for secrets). Default: "" (none).
  std::string search;
  // _include: the fields to fill; others keep their defaults. Default: empty (all).
  std::vector<std::string> include;
  // When set, an `include` field the table does not store (one the REST layer computes from
  // others) makes the list fill every field instead of failing. Default: false.
  bool include_unknown_reads_all = false;
  // _range filters on timestamp or integer fields. Default: none.
  std::vector<RangeFilter> ranges;
  // Keyset paging (events and logs): only rows whose storage id is greater, in storage-id
  // order; combine with size, not with offset or sort. Default: unset.
  std::optional<int64_t> after_storage_id;
  // Count all matches into Page::total (a scan of the matches). Default: true.
  bool with_total = true;
};

template <typename T>
struct Page {
  std::vector<T> items;
  int64_t total = 0;   // all matches (-1 when ListQuery::with_total is false)
  int64_t size = 0;    // the page size used
  int64_t offset = 0;  // the offset used
};

// A node-instance update (PATCH /node-instances/<id>): the fields set replace the stored ones.
struct NodeInstanceUpdate {
  // The version the caller read; lower than the stored one -> kConflict. Required.
  int64_t version = 0;
  // Skip the version check (the REST `force` flag). Default: false.
  bool force = false;
  std::optional<model::NodeInstanceState> state;                          // Default: unchanged.
  std::optional<nlohmann::json> runtime_properties;                       // Default: unchanged.
  std::optional<nlohmann::json> system_properties;                        // Default: unchanged.
  std::optional<std::vector<model::RelationshipInstance>> relationships;  // Default: unchanged.
};

// What a workflow run changed since its last write: the engine queues node-instance states and
// operation outcomes and stores them in batches (Store::WriteRunProgress).
struct RunProgress {
  struct InstanceState {
    std::string id;
    model::NodeInstanceState state = model::NodeInstanceState::kUninitialized;
    // The version the instance has before this write; the write stores version + 1.
    int64_t version = 0;
  };
  struct OperationState {
    std::string id;
    model::TaskState state = model::TaskState::kPending;
    nlohmann::json parameters;  // replaces the stored parameters
  };
  std::vector<InstanceState> instance_states;    // applied in order
  std::vector<OperationState> operation_states;  // applied in order
};

struct StoreOptions {
  // Connections in the pool. Default: 0, meaning 4 (1 for sqlite://:memory:, which is one
  // database per connection).
  int pool_size = 0;
  // How long an SQLite writer waits for the lock before kUnavailable. Default: 5 s.
  std::chrono::milliseconds busy_timeout{5000};
  // PostgreSQL schema holding the tables, created when missing and set as search_path on every
  // connection (lets tests and several managers share one database). The URL's `schema` query
  // parameter sets it too. Default: "" (the server's default, normally public).
  std::string schema;
  // The key file for secrets (created with mode 0600 on first open). Default: "" meaning
  // "<db file>.key" beside an SQLite file, "<data_dir>/secret.key" for PostgreSQL, and a fresh
  // key held in memory for sqlite://:memory:.
  std::filesystem::path secret_key_file;
  // Where the key file goes when neither the URL nor secret_key_file says. Default:
  // "/var/lib/cloudify".
  std::filesystem::path data_dir = "/var/lib/cloudify";
  // The largest page a list returns (bigger _size -> kBadParameters). Default: 100000.
  int64_t max_page_size = 100000;
  // Time source for created_at stamps and execution leases. Default: nullptr (SystemClock()).
  const Clock* clock = nullptr;
};

class Store {
 public:
  virtual ~Store() = default;
  Store() = default;
  Store(const Store&) = delete;
  Store& operator=(const Store&) = delete;

  // "sqlite" or "postgresql".
  virtual std::string_view backend() const = 0;
  // The schema version the database is at (the code's latest after a successful open).
  virtual Result<int> SchemaVersion() = 0;

  // The database's upkeep, for a manager to run now and then (and an operator after a bulk
  // load): refreshes the query planner's statistics and reclaims dead rows, so lists keep
  // their index plans. SQLite never does this by itself; PostgreSQL's autovacuum does it late
  // (a minute's nap, then only past 20% of a table changed). SQLite: ANALYZE (sampled) and a
  // WAL checkpoint; PostgreSQL: VACUUM (ANALYZE) of each table of the store's schema.
  // kBadParameters inside InTransaction.
  virtual Status Maintain() = 0;

  // Runs `body` with a Store bound to one connection inside one transaction: committed when the
  // body returns OK, rolled back (with nothing written) otherwise or when the commit fails.
  // Returns the body's Status or the commit's. Nested calls join the outer transaction.
  virtual Status InTransaction(const std::function<Status(Store& tx)>& body) = 0;

  // --- Tenants, users, groups (not tenant-scoped; the REST layer authorizes) ---
  virtual Status CreateTenant(const model::Tenant& tenant) = 0;
  virtual Result<model::Tenant> GetTenant(const std::string& name) = 0;
  virtual Result<Page<model::Tenant>> ListTenants(const ListQuery& query) = 0;
  virtual Status DeleteTenant(const std::string& name) = 0;

  // password_hash must have HashPassword's form (kBadParameters otherwise).
  virtual Status CreateUser(const model::User& user) = 0;
  virtual Result<model::User> GetUser(const std::string& username) = 0;
  virtual Status UpdateUser(const model::User& user) = 0;
  virtual Result<Page<model::User>> ListUsers(const ListQuery& query) = 0;
  virtual Status DeleteUser(const std::string& username) = 0;

  // --- API tokens (no tenancy: a token is its user's in every tenant) ---
  virtual Status CreateToken(const model::Token& token) = 0;
  virtual Result<model::Token> GetToken(const std::string& id) = 0;
  virtual Status UpdateToken(const model::Token& token) = 0;
  virtual Result<Page<model::Token>> ListTokens(const ListQuery& query) = 0;
  virtual Status DeleteToken(const std::string& id) = 0;

  virtual Status CreateUserGroup(const model::UserGroup& group) = 0;
  virtual Result<model::UserGroup> GetUserGroup(const std::string& name) = 0;
  virtual Status UpdateUserGroup(const model::UserGroup& group) = 0;
  virtual Result<Page<model::UserGroup>> ListUserGroups(const ListQuery& query) = 0;
  virtual Status DeleteUserGroup(const std::string& name) = 0;

  // --- Blueprints ---
  // kConflict when the id exists in the caller's tenant or globally (or anywhere, for a new
  // global blueprint).
  virtual Status CreateBlueprint(const CallerContext& caller, const model::Blueprint& bp) = 0;
  virtual Result<model::Blueprint> GetBlueprint(const CallerContext& caller,
                                                const std::string& id) = 0;
  // Replaces the stored row of bp.id (tenant, creator and creation time are kept).
  virtual Status UpdateBlueprint(const CallerContext& caller, const model::Blueprint& bp) = 0;
  virtual Result<Page<model::Blueprint>> ListBlueprints(const CallerContext& caller,
                                                        const ListQuery& query) = 0;
  // kDependentExists while deployments of it exist.
  virtual Status DeleteBlueprint(const CallerContext& caller, const std::string& id) = 0;

  // --- Deployments ---
  virtual Status CreateDeployment(const CallerContext& caller, const model::Deployment& d) = 0;
  virtual Result<model::Deployment> GetDeployment(const CallerContext& caller,
                                                  const std::string& id) = 0;
  virtual Status UpdateDeployment(const CallerContext& caller, const model::Deployment& d) = 0;
  virtual Result<Page<model::Deployment>> ListDeployments(const CallerContext& caller,
                                                          const ListQuery& query) = 0;
  // Removes the deployment with its nodes, node instances, executions (with their task graphs
  // and operations), deployment modifications, events, logs and metrics, in one transaction.
  virtual Status DeleteDeployment(const CallerContext& caller, const std::string& id) = 0;

  // --- Nodes (keyed by deployment and node id) ---
  virtual Status CreateNodes(const CallerContext& caller,
                             const std::vector<model::Node>& nodes) = 0;
  virtual Result<model::Node> GetNode(const CallerContext& caller, const std::string& deployment_id,
                                      const std::string& node_id) = 0;
  virtual Status UpdateNode(const CallerContext& caller, const model::Node& node) = 0;
  virtual Result<Page<model::Node>> ListNodes(const CallerContext& caller,
                                              const ListQuery& query) = 0;

  // --- Node instances ---
  virtual Status CreateNodeInstances(const CallerContext& caller,
                                     const std::vector<model::NodeInstance>& instances) = 0;
  virtual Result<model::NodeInstance> GetNodeInstance(const CallerContext& caller,
                                                      const std::string& id) = 0;
  // The optimistic-locking update (model::CheckNodeInstanceVersion): kConflict and nothing
  // changed when update.version is stale; else the instance with its new (bumped) version.
  virtual Result<model::NodeInstance> UpdateNodeInstance(const CallerContext& caller,
                                                         const std::string& id,
                                                         const NodeInstanceUpdate& update) = 0;
  virtual Result<Page<model::NodeInstance>> ListNodeInstances(const CallerContext& caller,
                                                              const ListQuery& query) = 0;
  virtual Status DeleteNodeInstance(const CallerContext& caller, const std::string& id) = 0;

  // --- Executions ---
  virtual Status CreateExecution(const CallerContext& caller, const model::Execution& e) = 0;
  virtual Result<model::Execution> GetExecution(const CallerContext& caller,
                                                const std::string& id) = 0;
  virtual Status UpdateExecution(const CallerContext& caller, const model::Execution& e) = 0;
  virtual Result<Page<model::Execution>> ListExecutions(const CallerContext& caller,
                                                        const ListQuery& query) = 0;
  // Removes the execution with its task graphs and operations.
  virtual Status DeleteExecution(const CallerContext& caller, const std::string& id) = 0;

  // Execution claims, for manager processes sharing one database (all tenants): atomically
  // takes the oldest active (pending, started or cancelling) execution that nobody holds or
  // whose lease expired, records `owner` and a lease of `lease` from now, and returns it;
  // nullopt when there is none. Two claimers never get the same execution.
  virtual Result<std::optional<model::Execution>> ClaimExecution(
      const std::string& owner, std::chrono::milliseconds lease) = 0;
  // Extends `owner`'s lease; kConflict when the execution is not held by `owner` any more.
  virtual Status RenewExecutionLease(const std::string& execution_id, const std::string& owner,
                                     std::chrono::milliseconds lease) = 0;
  // Gives the execution up (it becomes claimable). kConflict when `owner` does not hold it.
  virtual Status ReleaseExecution(const std::string& execution_id, const std::string& owner) = 0;
  // The holder of an execution's lease, "" when none or expired.
  virtual Result<std::string> ExecutionOwner(const std::string& execution_id) = 0;

  // --- Task graphs and operations (tenancy: the caller's tenant) ---
  virtual Status CreateTasksGraph(const CallerContext& caller, const model::TasksGraph& graph,
                                  const std::vector<model::Operation>& operations) = 0;
  virtual Result<model::TasksGraph> GetTasksGraph(const CallerContext& caller,
                                                  const std::string& id) = 0;
  virtual Result<Page<model::TasksGraph>> ListTasksGraphs(const CallerContext& caller,
                                                          const ListQuery& query) = 0;
  virtual Status CreateOperations(const CallerContext& caller,
                                  const std::vector<model::Operation>& operations) = 0;
  virtual Result<model::Operation> GetOperation(const CallerContext& caller,
                                                const std::string& id) = 0;
  virtual Status UpdateOperation(const CallerContext& caller, const model::Operation& op) = 0;
  // Writes a run's progress in one transaction. An instance state whose stored version is not
  // `version` (someone else wrote the instance) is skipped, as are later states of that instance
  // in the batch, and its id is returned (once) so the caller can re-read it; the rest is
  // written. An operation that is not stored fails the whole batch with kNotFound.
  virtual Result<std::vector<std::string>> WriteRunProgress(const CallerContext& caller,
                                                            const RunProgress& progress) = 0;
  virtual Result<Page<model::Operation>> ListOperations(const CallerContext& caller,
                                                        const ListQuery& query) = 0;
  virtual Status DeleteOperation(const CallerContext& caller, const std::string& id) = 0;

  // --- Deployment modifications (see also Start/EndDeploymentModification below) ---
  virtual Status CreateDeploymentModification(const CallerContext& caller,
                                              const model::DeploymentModification& m) = 0;
  virtual Result<model::DeploymentModification> GetDeploymentModification(
      const CallerContext& caller, const std::string& id) = 0;
  virtual Status UpdateDeploymentModification(const CallerContext& caller,
                                              const model::DeploymentModification& m) = 0;
  // Filters: id, deployment_id, status, tenant_name, created_by, visibility.
  virtual Result<Page<model::DeploymentModification>> ListDeploymentModifications(
      const CallerContext& caller, const ListQuery& query) = 0;

  // --- Events and logs ---
  // Appends many in one transaction (all or none); each gets its storage id in order, and the
  // caller's tenant when its tenant_name is empty. Returns the last storage id assigned.
  virtual Result<int64_t> AppendEvents(const CallerContext& caller,
                                       const std::vector<model::Event>& events) = 0;
  // Tenancy: the caller's tenant (events carry no visibility of their own).
  // Filters: execution_id, execution_group_id, deployment_id, blueprint_id, node_id (the node
  // name), node_instance_id, event_type, level, workflow_id, type (cloudify_event|cloudify_log),
  // and message (or message.text) / operation as case-insensitive LIKE patterns; ranges on
  // timestamp / reported_timestamp (a leading '@' is accepted). Any field sorts. Ordered by
  // storage id unless sorted; after_storage_id pages by keyset at constant cost.
  virtual Result<Page<model::Event>> ListEvents(const CallerContext& caller,
                                                const ListQuery& query) = 0;
  // Deletes the events matching query.filters (same fields as ListEvents; paging ignored).
  virtual Result<int64_t> DeleteEvents(const CallerContext& caller, const ListQuery& query) = 0;

  // --- Metrics ---
  // Appends many in one transaction (all or none); each gets its storage id in order, the
  // caller's tenant when its tenant_name is empty and the store's clock when its time is unset.
  // Returns the last storage id assigned.
  virtual Result<int64_t> AppendMetrics(const CallerContext& caller,
                                        const std::vector<model::Metric>& metrics) = 0;
  // Tenancy: the caller's tenant. Filters: deployment_id, node_name, node_instance_id, host,
  // name, path, type (GAUGE|COUNTER), and service as a case-insensitive LIKE pattern; ranges on
  // time and value. Sorts: time, value, deployment_id, node_name, node_instance_id, name, path.
  // Ordered by storage id unless sorted; after_storage_id pages by keyset at constant cost.
  virtual Result<Page<model::Metric>> ListMetrics(const CallerContext& caller,
                                                  const ListQuery& query) = 0;
  // Deletes the metrics matching query.filters and query.ranges (e.g. older than a retention
  // time); paging is ignored. Returns how many were deleted.
  virtual Result<int64_t> DeleteMetrics(const CallerContext& caller, const ListQuery& query) = 0;

  // --- Secrets (values encrypted at rest) ---
  virtual Status CreateSecret(const CallerContext& caller, const model::Secret& secret) = 0;
  virtual Result<model::Secret> GetSecret(const CallerContext& caller, const std::string& key) = 0;
  virtual Status UpdateSecret(const CallerContext& caller, const model::Secret& secret) = 0;
  // Items carry no value (as the REST list shows none).
  virtual Result<Page<model::Secret>> ListSecrets(const CallerContext& caller,
                                                  const ListQuery& query) = 0;
  virtual Status DeleteSecret(const CallerContext& caller, const std::string& key) = 0;

  // --- Plugins ---
  virtual Status CreatePlugin(const CallerContext& caller, const model::Plugin& plugin) = 0;
  virtual Result<model::Plugin> GetPlugin(const CallerContext& caller, const std::string& id) = 0;
  virtual Status UpdatePlugin(const CallerContext& caller, const model::Plugin& plugin) = 0;
  virtual Result<Page<model::Plugin>> ListPlugins(const CallerContext& caller,
                                                  const ListQuery& query) = 0;
  virtual Status DeletePlugin(const CallerContext& caller, const std::string& id) = 0;

  // --- Agents --- (deleted with their deployment)
  virtual Status CreateAgent(const CallerContext& caller, const model::Agent& agent) = 0;
  virtual Result<model::Agent> GetAgent(const CallerContext& caller, const std::string& name) = 0;
  virtual Status UpdateAgent(const CallerContext& caller, const model::Agent& agent) = 0;
  virtual Result<Page<model::Agent>> ListAgents(const CallerContext& caller,
                                                const ListQuery& query) = 0;
  virtual Status DeleteAgent(const CallerContext& caller, const std::string& name) = 0;
};

// The node-instance side of a deployment modification, written in the modification's
// transaction.
struct NodeInstanceChanges {
  // New instances, created. Default: none.
  std::vector<model::NodeInstance> create;
  // Existing instances whose state, runtime and system properties and relationships are
  // replaced by these (no version check: the modification owns the deployment; the version is
  // bumped). Default: none.
  std::vector<model::NodeInstance> replace;
  // Ids of instances deleted. Default: none.
  std::vector<std::string> remove;
  // Nodes written over the stored ones (their instance counts). Default: none.
  std::vector<model::Node> nodes;
  // The deployment written over the stored one (its scaling groups' counts). Default: unset.
  std::optional<model::Deployment> deployment;
};

// Stores `modification` (status started) and applies `changes`, all in one transaction.
// kNotFound (no such deployment), kExistingStartedDeploymentModification (another modification
// of the deployment is started), kConflict (an instance id exists), and the store's errors;
// nothing is written on error.
Status StartDeploymentModification(Store& store, const CallerContext& caller,
                                   const model::DeploymentModification& modification,
                                   const NodeInstanceChanges& changes);
// Moves modification `id` to `status` (finished or rolledback), stamps ended_at with `now` and
// applies `changes`, all in one transaction. kNotFound, kDeploymentModificationAlreadyEnded
// (not started), kBadParameters (status started); nothing is written on error.
Status EndDeploymentModification(Store& store, const CallerContext& caller, const std::string& id,
                                 model::DeploymentModificationStatus status,
                                 const NodeInstanceChanges& changes, Timestamp now);

// Opens (creating when needed) the store at `url` and brings its schema up to date:
// "sqlite:///abs/path/db.sqlite" (WAL mode, busy timeout), "sqlite://:memory:",
// "postgresql://user:pass@host:port/db[?schema=s&<libpq option>=...]".
// kBadParameters for an unknown scheme or malformed URL; kUnavailable when the database cannot
// be reached; kStorageError when the schema is newer than this code or a migration fails.
Result<std::unique_ptr<Store>> OpenStore(std::string_view url, const StoreOptions& options = {});

}  // namespace cloudify::storage
