// The Store contract, run against every backend through the URL factory (store_fixture.h).
#include <algorithm>
#include <fstream>
#include <iterator>
#include <set>
#include <thread>

#include <doctest/doctest.h>
#include <sys/stat.h>

#include "cloudify/crypto.h"
#include "cloudify/model/json.h"

#include "storage/store_fixture.h"

namespace cloudify::testing {
namespace {

using storage::CallerContext;
using storage::ListQuery;
using storage::NodeInstanceUpdate;

CallerContext Caller(std::string tenant = "t1", std::string user = "alice", bool admin = false) {
  CallerContext c;
  c.tenant = std::move(tenant);
  c.user = std::move(user);
  c.is_admin = admin;
  return c;
}

model::Plan SamplePlan() {
  model::Plan plan;
  plan.tosca_definitions_version = "cloudify_dsl_1_4";
  plan.description = "two nodes";
  model::NodeTemplate vm;
  vm.id = "vm";
  vm.type = "cloudify.nodes.Compute";
  vm.type_hierarchy = {"cloudify.nodes.Root", "cloudify.nodes.Compute"};
  vm.properties = {{"ip", "10.0.0.1"}};
  model::OperationSpec create;
  create.implementation = "scripts/create.sh";
  create.plugin = "script";
  create.operation = "script_runner.tasks.run";
  create.executor = model::Executor::kCentralDeploymentAgent;
  create.inputs = {{"x", 1}};
  create.max_retries = 3;
  vm.operations["cloudify.interfaces.lifecycle.create"] = create;
  vm.host_id = "vm";
  vm.capabilities.default_instances = 2;
  vm.capabilities.current_instances = 2;
  vm.capabilities.planned_instances = 2;
  plan.nodes.push_back(vm);
  model::ParameterSchema input;
  input.type = "string";
  input.default_value = "hello";
  plan.inputs["greeting"] = input;
  model::WorkflowSpec install;
  install.plugin = "default_workflows";
  install.operation = "cloudify.plugins.workflows.install";
  plan.workflows["install"] = install;
  plan.outputs["ip"] = {nlohmann::json{{"get_attribute", {"vm", "ip"}}}, "the ip"};
  return plan;
}

model::Blueprint MakeBlueprint(std::string id,
                               model::Visibility visibility = model::Visibility::kTenant) {
  model::Blueprint bp;
  bp.id = std::move(id);
  bp.meta.visibility = visibility;
  bp.plan = SamplePlan();
  bp.state = model::BlueprintState::kUploaded;
  bp.description = "a blueprint";
  bp.labels.push_back({"env", "prod", Timestamp(std::chrono::milliseconds(5)), "alice"});
  return bp;
}

model::Deployment MakeDeployment(std::string id, std::string blueprint) {
  model::Deployment d;
  d.id = std::move(id);
  d.display_name = d.id;
  d.blueprint_id = std::move(blueprint);
  d.inputs = {{"greeting", "hi"}};
  d.workflows["install"] = SamplePlan().workflows["install"];
  d.outputs = SamplePlan().outputs;
  return d;
}

model::NodeInstance MakeInstance(std::string id, std::string deployment, std::string node = "vm") {
  model::NodeInstance i;
  i.id = std::move(id);
  i.deployment_id = std::move(deployment);
  i.node_id = std::move(node);
  i.host_id = i.id;
  i.runtime_properties = {{"a", 1}};
  i.relationships.push_back({"db_1", "db", "cloudify.relationships.connected_to"});
  return i;
}

model::Execution MakeExecution(std::string id, std::string deployment,
                               model::ExecutionStatus status = model::ExecutionStatus::kPending) {
  model::Execution e;
  e.id = std::move(id);
  e.deployment_id = std::move(deployment);
  e.workflow_id = "install";
  e.status = status;
  e.parameters = {{"p", true}};
  return e;
}

model::Event MakeEvent(std::string execution, int n, model::EventKind kind) {
  model::Event e;
  e.kind = kind;
  e.execution_id = std::move(execution);
  e.deployment_id = "d1";
  e.message = "message " + std::to_string(n);
  e.reported_timestamp = Timestamp(std::chrono::milliseconds(1000 + n));
  if (kind == model::EventKind::kEvent) {
    e.event_type = "task_succeeded";
  } else {
    e.logger = "ctx";
    e.level = n % 2 == 0 ? LogLevel::kInfo : LogLevel::kError;
  }
  return e;
}

// Sample n of instance `instance` of node vm in deployment d1: cpu.total_system = n / 4.
model::Metric MakeMetric(std::string instance, int n) {
  model::Metric m;
  m.deployment_id = "d1";
  m.node_name = "vm";
  m.node_instance_id = std::move(instance);
  m.host = m.node_instance_id;
  m.name = n % 2 == 0 ? "cpu" : "memory";
  m.path = "total_system";
  m.value = n / 4.0;
  m.unit = "%";
  m.type = n % 3 == 0 ? model::MetricType::kCounter : model::MetricType::kGauge;
  m.time = Timestamp(std::chrono::seconds(1'700'000'000 + n));
  m.service = "d1.vm." + m.node_instance_id + "." + m.name + ".total.system";
  return m;
}

ListQuery Filter(std::string field, std::vector<std::string> values) {
  ListQuery q;
  q.filters[std::move(field)] = std::move(values);
  return q;
}

std::vector<std::string> Ids(const storage::Page<model::Deployment>& page) {
  std::vector<std::string> ids;
  for (const auto& d : page.items) {
    ids.push_back(d.id);
  }
  return ids;
}

CONTRACT_TEST("a blueprint round-trips with its plan and tenancy fields") {
  CallerContext alice = Caller();
  model::Blueprint bp = MakeBlueprint("bp1");
  REQUIRE(ts->CreateBlueprint(alice, bp).ok());
  auto got = ts->GetBlueprint(alice, "bp1");
  REQUIRE_MESSAGE(got.ok(), got.status().ToString());
  CHECK(got->plan == bp.plan);
  CHECK(got->labels == bp.labels);
  CHECK(got->meta.tenant_name == "t1");
  CHECK(got->meta.created_by == "alice");
  CHECK(got->meta.created_at == ts.clock().Now());
  CHECK(got->state == model::BlueprintState::kUploaded);

  got->description = "changed";
  got->state = model::BlueprintState::kInvalid;
  REQUIRE(ts->UpdateBlueprint(alice, *got).ok());
  auto again = ts->GetBlueprint(alice, "bp1");
  REQUIRE(again.ok());
  CHECK(again->description == "changed");
  CHECK(again->state == model::BlueprintState::kInvalid);

  CHECK(ts->GetBlueprint(alice, "nope").status().code() == ErrorCode::kNotFound);
  CHECK(ts->CreateBlueprint(alice, bp).code() == ErrorCode::kConflict);
  REQUIRE(ts->DeleteBlueprint(alice, "bp1").ok());
  CHECK(ts->GetBlueprint(alice, "bp1").status().code() == ErrorCode::kNotFound);
  CHECK(ts->DeleteBlueprint(alice, "bp1").code() == ErrorCode::kNotFound);
}

CONTRACT_TEST(
    "tenancy: tenants are isolated, global rows are shared, private rows are the creator's") {
  CallerContext alice = Caller("t1", "alice");
  CallerContext bob = Caller("t1", "bob");
  CallerContext carol = Caller("t2", "carol");
  CallerContext admin = Caller("t1", "root", true);
  REQUIRE(ts->CreateBlueprint(alice, MakeBlueprint("shared")).ok());
  REQUIRE(ts->CreateBlueprint(alice, MakeBlueprint("secret", model::Visibility::kPrivate)).ok());
  REQUIRE(ts->CreateBlueprint(admin, MakeBlueprint("everyone", model::Visibility::kGlobal)).ok());

  CHECK(ts->GetBlueprint(bob, "shared").ok());
  CHECK(ts->GetBlueprint(carol, "shared").status().code() == ErrorCode::kNotFound);
  CHECK(ts->GetBlueprint(carol, "everyone").ok());
  CHECK(ts->GetBlueprint(alice, "secret").ok());
  CHECK(ts->GetBlueprint(bob, "secret").status().code() == ErrorCode::kNotFound);
  CHECK(ts->GetBlueprint(admin, "secret").ok());
  CHECK(ts->DeleteBlueprint(bob, "secret").code() == ErrorCode::kNotFound);

  auto bobs = ts->ListBlueprints(bob, {});
  REQUIRE(bobs.ok());
  CHECK(bobs->total == 2);  // shared + everyone
  auto carols = ts->ListBlueprints(carol, {});
  REQUIRE(carols.ok());
  CHECK(carols->total == 1);

  // Another tenant may reuse a tenant id, but not a global one; a new global id must be unique
  // everywhere.
  CHECK(ts->CreateBlueprint(carol, MakeBlueprint("shared")).ok());
  CHECK(ts->CreateBlueprint(carol, MakeBlueprint("everyone")).code() == ErrorCode::kConflict);
  CallerContext admin2 = Caller("t2", "root", true);
  CHECK(ts->CreateBlueprint(admin2, MakeBlueprint("secret", model::Visibility::kGlobal)).code() ==
        ErrorCode::kConflict);

  // _all_tenants: an admin sees every tenant, a user the tenants listed for them.
  CallerContext all = admin;
  all.all_tenants = true;
  auto every = ts->ListBlueprints(all, {});
  REQUIRE(every.ok());
  CHECK(every->total == 4);
  CallerContext alice_all = alice;
  alice_all.all_tenants = true;
  alice_all.tenants = {"t1"};
  auto mine = ts->ListBlueprints(alice_all, {});
  REQUIRE(mine.ok());
  CHECK(mine->total == 3);
}

CONTRACT_TEST("lists filter, search, sort and page in SQL with a total count") {
  CallerContext c = Caller();
  REQUIRE(ts->CreateBlueprint(c, MakeBlueprint("bp")).ok());
  for (int i = 0; i < 25; ++i) {
    ts.clock().Advance(std::chrono::milliseconds(10));
    model::Deployment d =
        MakeDeployment("dep-" + std::string(i < 10 ? "0" : "") + std::to_string(i), "bp");
    d.site_name = i % 3 == 0 ? "paris" : (i % 3 == 1 ? "london" : "rome");
    d.installation_status =
        i % 2 == 0 ? model::InstallationStatus::kActive : model::InstallationStatus::kInactive;
    REQUIRE(ts->CreateDeployment(c, d).ok());
  }
  ListQuery q;
  q.size = 10;
  q.offset = 20;
  auto page = ts->ListDeployments(c, q);
  REQUIRE(page.ok());
  CHECK(page->total == 25);
  CHECK(page->size == 10);
  CHECK(page->offset == 20);
  CHECK(Ids(*page) == std::vector<std::string>{"dep-20", "dep-21", "dep-22", "dep-23", "dep-24"});

  q = Filter("site_name", {"paris", "rome"});
  q.sort = {"-id"};
  q.size = 3;
  page = ts->ListDeployments(c, q);
  REQUIRE(page.ok());
  CHECK(page->total == 17);
  CHECK(Ids(*page) == std::vector<std::string>{"dep-24", "dep-23", "dep-21"});

  q = Filter("site_name", {"paris"});
  q.filters["installation_status"] = {"active"};
  page = ts->ListDeployments(c, q);
  REQUIRE(page.ok());
  CHECK(page->total == 5);  // 0, 6, 12, 18, 24

  q = {};
  q.sort = {"site_name", "-id"};
  q.size = 2;
  page = ts->ListDeployments(c, q);
  REQUIRE(page.ok());
  CHECK(Ids(*page) == std::vector<std::string>{"dep-22", "dep-19"});  // london, descending ids

  q = {};
  q.search = "DEP-1";
  page = ts->ListDeployments(c, q);
  REQUIRE(page.ok());
  CHECK(page->total == 10);

  q = {};
  q.include = {"id", "site_name"};
  q.size = 1;
  page = ts->ListDeployments(c, q);
  REQUIRE(page.ok());
  REQUIRE(page->items.size() == 1);
  CHECK(page->items[0].site_name == "paris");
  CHECK(page->items[0].blueprint_id.empty());  // not included
  CHECK(page->items[0].workflows.empty());

  // A field the table does not keep reads every field when the caller allows it.
  q.include = {"id", "status_display"};
  CHECK(ts->ListDeployments(c, q).status().code() == ErrorCode::kNoSuchIncludeField);
  q.include_unknown_reads_all = true;
  page = ts->ListDeployments(c, q);
  REQUIRE(page.ok());
  REQUIRE(page->items.size() == 1);
  CHECK(page->items[0].site_name == "paris");
  CHECK(!page->items[0].blueprint_id.empty());
  q.include = {"id", "site_name"};
  page = ts->ListDeployments(c, q);
  REQUIRE(page.ok());
  CHECK(page->items[0].blueprint_id.empty());  // known fields still read only those
  // What `cfy deployments list` shows is all stored, so its page is read column by column.
  q.include = {"id",         "display_name", "blueprint_id",      "created_at",
               "updated_at", "visibility",   "tenant_name",       "created_by",
               "site_name",  "labels",       "deployment_status", "installation_status"};
  q.include_unknown_reads_all = false;
  CHECK(ts->ListDeployments(c, q).ok());

  q = {};
  q.size = 0;
  page = ts->ListDeployments(c, q);
  REQUIRE(page.ok());
  CHECK(page->items.empty());
  CHECK(page->total == 25);

  q = {};
  q.get_all_results = true;
  q.size = 1;
  page = ts->ListDeployments(c, q);
  REQUIRE(page.ok());
  CHECK(page->items.size() == 25);
}

CONTRACT_TEST("bad list parameters are rejected with the REST error codes") {
  CallerContext c = Caller();
  ListQuery q;
  q.size = -1;
  CHECK(ts->ListDeployments(c, q).status().code() == ErrorCode::kBadParameters);
  q.size = 1'000'000'000;
  CHECK(ts->ListDeployments(c, q).status().code() == ErrorCode::kBadParameters);
  q = {};
  q.offset = -5;
  CHECK(ts->ListDeployments(c, q).status().code() == ErrorCode::kBadParameters);
  q = {};
  q.sort = {"no_such_field"};
  CHECK(ts->ListDeployments(c, q).status().code() == ErrorCode::kBadParameters);
  q.sort = {"workflows"};  // a JSON column does not sort
  CHECK(ts->ListDeployments(c, q).status().code() == ErrorCode::kBadParameters);
  q = Filter("no_such_field", {"x"});
  CHECK(ts->ListDeployments(c, q).status().code() == ErrorCode::kBadParameters);
  q = Filter("claim_owner", {"x"});  // internal columns are not REST fields
  CHECK(ts->ListExecutions(c, q).status().code() == ErrorCode::kBadParameters);
  q = Filter("index", {"not-a-number"});
  CHECK(ts->ListNodeInstances(c, q).status().code() == ErrorCode::kBadParameters);
  q = {};
  q.include = {"id", "nope"};
  CHECK(ts->ListDeployments(c, q).status().code() == ErrorCode::kNoSuchIncludeField);
  q = {};
  q.after_storage_id = 5;
  q.offset = 3;
  CHECK(ts->ListEvents(c, q).status().code() == ErrorCode::kBadParameters);
}

CONTRACT_TEST("SQL injection attempts in filters, sorts, searches, includes and ids are harmless") {
  CallerContext c = Caller();
  REQUIRE(ts->CreateBlueprint(c, MakeBlueprint("bp")).ok());
  REQUIRE(ts->CreateDeployment(c, MakeDeployment("d1", "bp")).ok());
  const std::vector<std::string> attacks = {
      "x' OR '1'='1",
      "'; DROP TABLE deployments; --",
      "\" OR 1=1 --",
      "d1' --",
      "1); DELETE FROM deployments; --",
      "%",
      "_1",
      "\\",
      "d1\n",
      "; SELECT pg_sleep(10); --",
  };
  for (const std::string& attack : attacks) {
    CAPTURE(attack);
    for (const char* field : {"id", "blueprint_id", "site_name", "created_by", "tenant_name",
                              "display_name", "visibility", "installation_status"}) {
      auto page = ts->ListDeployments(c, Filter(field, {attack}));
      REQUIRE(page.ok());
      CHECK(page->total == 0);
    }
    ListQuery q;
    q.search = attack;
    auto searched = ts->ListDeployments(c, q);
    REQUIRE(searched.ok());
    CHECK(searched->total == 0);
    q = {};
    q.sort = {attack};
    CHECK(ts->ListDeployments(c, q).status().code() == ErrorCode::kBadParameters);
    q.sort = {"-" + attack};
    CHECK(ts->ListDeployments(c, q).status().code() == ErrorCode::kBadParameters);
    q = {};
    q.include = {attack};
    CHECK(ts->ListDeployments(c, q).status().code() == ErrorCode::kNoSuchIncludeField);
    q = Filter(attack, {"d1"});
    CHECK(ts->ListDeployments(c, q).status().code() == ErrorCode::kBadParameters);
    CHECK(ts->GetDeployment(c, attack).status().code() == ErrorCode::kNotFound);
    CHECK(ts->DeleteDeployment(c, attack).code() == ErrorCode::kNotFound);
    ListQuery events = Filter("execution_id", {attack});
    auto ev = ts->ListEvents(c, events);
    REQUIRE(ev.ok());
    CHECK(ev->total == 0);
  }
  // A NUL byte would truncate the value in the database client: refused.
  CHECK(ts->ListDeployments(c, Filter("id", {std::string("d1\0x", 4)})).status().code() ==
        ErrorCode::kBadParameters);
  // Everything is still there.
  auto all = ts->ListDeployments(c, {});
  REQUIRE(all.ok());
  CHECK(all->total == 1);
  CHECK(ts->GetDeployment(c, "d1").ok());
}

CONTRACT_TEST("ids with odd characters are stored and found literally") {
  CallerContext c = Caller();
  const std::vector<std::string> ids = {"a'b",         "semi;colon", "per%cent",     "under_score",
                                        "back\\slash", "quote\"d",   "ünïcødé-名前", "sp ace"};
  REQUIRE(ts->CreateBlueprint(c, MakeBlueprint("bp")).ok());
  for (const auto& id : ids) {
    REQUIRE_MESSAGE(ts->CreateDeployment(c, MakeDeployment(id, "bp")).ok(), id);
  }
  for (const auto& id : ids) {
    auto got = ts->GetDeployment(c, id);
    REQUIRE_MESSAGE(got.ok(), id);
    CHECK(got->id == id);
  }
  ListQuery q;
  q.search = "%";
  auto page = ts->ListDeployments(c, q);
  REQUIRE(page.ok());
  CHECK(page->total == 1);  // only per%cent: % is literal
  q.search = "_";
  page = ts->ListDeployments(c, q);
  REQUIRE(page.ok());
  CHECK(page->total == 1);  // only under_score
  q.search = "\\";
  page = ts->ListDeployments(c, q);
  REQUIRE(page.ok());
  CHECK(page->total == 1);
}

CONTRACT_TEST("node instances: a stale version is a conflict that changes nothing") {
  CallerContext c = Caller();
  REQUIRE(
      ts->CreateNodeInstances(c, {MakeInstance("vm_1", "d1"), MakeInstance("vm_2", "d1")}).ok());
  auto inst = ts->GetNodeInstance(c, "vm_1");
  REQUIRE(inst.ok());
  CHECK(inst->version == model::NodeInstance::kInitialVersion);
  CHECK(inst->relationships.size() == 1);

  NodeInstanceUpdate u;
  u.version = 1;
  u.state = model::NodeInstanceState::kCreated;
  u.runtime_properties = nlohmann::json{{"ip", "1.2.3.4"}};
  auto updated = ts->UpdateNodeInstance(c, "vm_1", u);
  REQUIRE_MESSAGE(updated.ok(), updated.status().ToString());
  CHECK(updated->version == 2);
  CHECK(updated->state == model::NodeInstanceState::kCreated);

  NodeInstanceUpdate stale;
  stale.version = 1;
  stale.state = model::NodeInstanceState::kDeleted;
  stale.runtime_properties = nlohmann::json{{"lost", true}};
  auto conflict = ts->UpdateNodeInstance(c, "vm_1", stale);
  CHECK(conflict.status().code() == ErrorCode::kConflict);
  auto stored = ts->GetNodeInstance(c, "vm_1");
  REQUIRE(stored.ok());
  CHECK(stored->version == 2);
  CHECK(stored->state == model::NodeInstanceState::kCreated);
  CHECK(stored->runtime_properties == nlohmann::json{{"ip", "1.2.3.4"}});

  stale.force = true;
  auto forced = ts->UpdateNodeInstance(c, "vm_1", stale);
  REQUIRE(forced.ok());
  CHECK(forced->version == 3);
  CHECK(ts->UpdateNodeInstance(c, "missing", u).status().code() == ErrorCode::kNotFound);
  CHECK(ts->UpdateNodeInstance(Caller("t2"), "vm_1", u).status().code() == ErrorCode::kNotFound);

  auto listed = ts->ListNodeInstances(c, Filter("state", {"created"}));
  REQUIRE(listed.ok());
  CHECK(listed->total == 0);  // vm_1 is deleted now, vm_2 uninitialized
  listed = ts->ListNodeInstances(c, Filter("deployment_id", {"d1"}));
  REQUIRE(listed.ok());
  CHECK(listed->total == 2);
}

CONTRACT_TEST("deleting: a used blueprint is refused, a deployment takes its children along") {
  CallerContext c = Caller();
  REQUIRE(ts->CreateBlueprint(c, MakeBlueprint("bp")).ok());
  REQUIRE(ts->CreateDeployment(c, MakeDeployment("d1", "bp")).ok());
  REQUIRE(ts->CreateDeployment(c, MakeDeployment("d2", "bp")).ok());
  CHECK(ts->DeleteBlueprint(c, "bp").code() == ErrorCode::kDependentExists);

  model::Node node;
  node.deployment_id = "d1";
  node.blueprint_id = "bp";
  node.spec = SamplePlan().nodes[0];
  model::Node other = node;
  other.deployment_id = "d2";
  REQUIRE(ts->CreateNodes(c, {node, other}).ok());
  auto got_node = ts->GetNode(c, "d1", "vm");
  REQUIRE(got_node.ok());
  CHECK(got_node->spec == node.spec);
  REQUIRE(
      ts->CreateNodeInstances(c, {MakeInstance("vm_1", "d1"), MakeInstance("vm_2", "d2")}).ok());
  REQUIRE(ts->CreateExecution(c, MakeExecution("e1", "d1")).ok());
  REQUIRE(ts->CreateExecution(c, MakeExecution("e2", "d2")).ok());
  model::TasksGraph graph{"g1", "install", "e1", {}};
  model::Operation op;
  op.id = "op1";
  op.name = "create";
  op.tasks_graph_id = "g1";
  op.execution_id = "e1";
  op.dependencies = {"op0"};
  REQUIRE(ts->CreateTasksGraph(c, graph, {op}).ok());
  model::Event ev = MakeEvent("e1", 1, model::EventKind::kEvent);
  model::Event ev2 = MakeEvent("e2", 2, model::EventKind::kLog);
  ev2.deployment_id = "d2";
  REQUIRE(ts->AppendEvents(c, {ev, ev2}).ok());
  model::Metric other_metric = MakeMetric("vm_2", 2);
  other_metric.deployment_id = "d2";
  REQUIRE(ts->AppendMetrics(c, {MakeMetric("vm_1", 1), other_metric}).ok());
  model::Agent agent1;
  agent1.id = agent1.name = "vm_1";
  agent1.deployment_id = "d1";
  model::Agent agent2 = agent1;
  agent2.id = agent2.name = "vm_2";
  agent2.deployment_id = "d2";
  REQUIRE(ts->CreateAgent(c, agent1).ok());
  REQUIRE(ts->CreateAgent(c, agent2).ok());

  REQUIRE(ts->DeleteDeployment(c, "d1").ok());
  CHECK(ts->GetAgent(c, "vm_1").status().code() == ErrorCode::kNotFound);
  CHECK(ts->GetAgent(c, "vm_2").ok());
  CHECK(ts->GetDeployment(c, "d1").status().code() == ErrorCode::kNotFound);
  CHECK(ts->GetNode(c, "d1", "vm").status().code() == ErrorCode::kNotFound);
  CHECK(ts->GetNodeInstance(c, "vm_1").status().code() == ErrorCode::kNotFound);
  CHECK(ts->GetExecution(c, "e1").status().code() == ErrorCode::kNotFound);
  CHECK(ts->GetTasksGraph(c, "g1").status().code() == ErrorCode::kNotFound);
  CHECK(ts->GetOperation(c, "op1").status().code() == ErrorCode::kNotFound);
  auto events = ts->ListEvents(c, {});
  REQUIRE(events.ok());
  CHECK(events->total == 1);
  auto metrics = ts->ListMetrics(c, {});
  REQUIRE(metrics.ok());
  REQUIRE(metrics->items.size() == 1);
  CHECK(metrics->items[0].deployment_id == "d2");
  // d2's rows are untouched.
  CHECK(ts->GetNode(c, "d2", "vm").ok());
  CHECK(ts->GetNodeInstance(c, "vm_2").ok());
  CHECK(ts->GetExecution(c, "e2").ok());

  REQUIRE(ts->DeleteDeployment(c, "d2").ok());
  CHECK(ts->DeleteBlueprint(c, "bp").ok());
}

CONTRACT_TEST("a transaction spans several writes and rolls all back on error") {
  CallerContext c = Caller();
  Status failed = ts->InTransaction([&](storage::Store& tx) -> Status {
    CLOUDIFY_RETURN_IF_ERROR(tx.CreateBlueprint(c, MakeBlueprint("a")));
    CLOUDIFY_RETURN_IF_ERROR(tx.CreateBlueprint(c, MakeBlueprint("b")));
    CHECK(tx.GetBlueprint(c, "a").ok());               // visible inside
    return tx.CreateBlueprint(c, MakeBlueprint("a"));  // duplicate: the whole thing rolls back
  });
  CHECK(failed.code() == ErrorCode::kConflict);
  CHECK(ts->GetBlueprint(c, "a").status().code() == ErrorCode::kNotFound);
  CHECK(ts->GetBlueprint(c, "b").status().code() == ErrorCode::kNotFound);

  Status ok = ts->InTransaction([&](storage::Store& tx) -> Status {
    CLOUDIFY_RETURN_IF_ERROR(tx.CreateBlueprint(c, MakeBlueprint("a")));
    return tx.InTransaction(
        [&](storage::Store& inner) { return inner.CreateDeployment(c, MakeDeployment("d", "a")); });
  });
  REQUIRE(ok.ok());
  CHECK(ts->GetBlueprint(c, "a").ok());
  CHECK(ts->GetDeployment(c, "d").ok());
}

CONTRACT_TEST("events and logs: batches, filters, ranges and keyset paging") {
  CallerContext c = Caller();
  std::vector<model::Event> batch;
  for (int i = 0; i < 250; ++i) {
    batch.push_back(MakeEvent(i < 200 ? "e1" : "e2", i,
                              i % 5 == 0 ? model::EventKind::kLog : model::EventKind::kEvent));
  }
  batch[3].error_causes = nlohmann::json::array({{{"message", "boom"}, {"type", "E"}}});
  batch[2].message = "tab\there\nnew line\\back\rslash ünï \\N";
  batch[2].operation = "";
  auto last = ts->AppendEvents(c, batch);
  REQUIRE_MESSAGE(last.ok(), last.status().ToString());
  auto first_page = ts->ListEvents(c, [] {
    ListQuery q;
    q.size = 5;
    return q;
  }());
  REQUIRE(first_page.ok());
  CHECK(first_page->total == 250);
  REQUIRE(first_page->items.size() == 5);
  CHECK(first_page->items[0].message == "message 0");
  CHECK(first_page->items[0].kind == model::EventKind::kLog);
  CHECK(first_page->items[3].error_causes == batch[3].error_causes);
  CHECK(first_page->items[2].message == batch[2].message);  // survives COPY's text escaping
  CHECK(first_page->items[2].error_causes.is_null());
  CHECK(first_page->items[1].tenant_name == "t1");
  CHECK(first_page->items[4].storage_id > first_page->items[0].storage_id);
  CHECK(*last == first_page->items[0].storage_id + 249);

  // Keyset: follow from the last seen id to the end.
  ListQuery k;
  k.size = 100;
  k.with_total = false;
  k.after_storage_id = first_page->items[0].storage_id - 1;
  int seen = 0;
  int64_t previous = 0;
  while (true) {
    auto page = ts->ListEvents(c, k);
    REQUIRE(page.ok());
    if (page->items.empty()) {
      break;
    }
    for (const auto& e : page->items) {
      CHECK(e.storage_id > previous);
      previous = e.storage_id;
      ++seen;
    }
    k.after_storage_id = page->items.back().storage_id;
  }
  CHECK(seen == 250);

  auto logs = ts->ListEvents(c, Filter("type", {"cloudify_log"}));
  REQUIRE(logs.ok());
  CHECK(logs->total == 50);
  auto errors = ts->ListEvents(c, Filter("level", {"error"}));
  REQUIRE(errors.ok());
  CHECK(errors->total == 25);  // logs only: events have no level
  auto e2 = ts->ListEvents(c, Filter("execution_id", {"e2"}));
  REQUIRE(e2.ok());
  CHECK(e2->total == 50);
  CHECK(ts->ListEvents(Caller("t2"), {})->total == 0);

  ListQuery ranged;
  ranged.ranges.push_back({"@reported_timestamp", "1010", "1020"});
  auto in_range = ts->ListEvents(c, ranged);
  REQUIRE(in_range.ok());
  CHECK(in_range->total == 10);
  ranged.sort = {"-@reported_timestamp"};
  ranged.size = 1;
  in_range = ts->ListEvents(c, ranged);
  REQUIRE(in_range.ok());
  CHECK(in_range->items[0].message == "message 19");

  // message and operation filter like the original's ILIKE: patterns, any case.
  auto like = ts->ListEvents(c, Filter("message", {"%MESSAGE 1%"}));
  REQUIRE(like.ok());
  CHECK(like->total == 111);  // 1, 10-19, 100-199
  like = ts->ListEvents(c, Filter("message.text", {"message 7"}));
  REQUIRE(like.ok());
  CHECK(like->total == 1);
  CHECK(ts->ListEvents(c, Filter("message_id", {"x"})).status().code() ==
        ErrorCode::kBadParameters);
  auto deleted = ts->DeleteEvents(c, Filter("execution_id", {"e2"}));
  REQUIRE(deleted.ok());
  CHECK(*deleted == 50);
  CHECK(ts->ListEvents(c, {})->total == 200);
}

CONTRACT_TEST("metrics: batches, filters, ranges, sorts, keyset paging and retention") {
  CallerContext c = Caller();
  std::vector<model::Metric> batch;
  for (int i = 0; i < 300; ++i) {
    batch.push_back(MakeMetric(i < 200 ? "vm_1" : "vm_2", i));
  }
  batch[5].value = 0.1 + 0.2;  // not exactly representable: must come back bit for bit
  batch[6].value = -1.5e-300;
  batch[7].time = {};  // stamped by the store's clock
  auto last = ts->AppendMetrics(c, batch);
  REQUIRE_MESSAGE(last.ok(), last.status().ToString());
  CHECK(*ts->AppendMetrics(c, {}) == 0);

  auto all = ts->ListMetrics(c, [] {
    ListQuery q;
    q.size = 10;
    return q;
  }());
  REQUIRE_MESSAGE(all.ok(), all.status().ToString());
  CHECK(all->total == 300);
  REQUIRE(all->items.size() == 10);
  model::Metric expected = batch[0];
  expected.storage_id = all->items[0].storage_id;
  expected.tenant_name = "t1";
  CHECK(all->items[0] == expected);
  CHECK(all->items[5].value == 0.1 + 0.2);
  CHECK(all->items[6].value == -1.5e-300);
  CHECK(all->items[7].time == ts.clock().Now());
  CHECK(all->items[3].type == model::MetricType::kCounter);
  CHECK(*last == all->items[0].storage_id + 299);

  auto vm2 = ts->ListMetrics(c, Filter("node_instance_id", {"vm_2"}));
  REQUIRE(vm2.ok());
  CHECK(vm2->total == 100);
  auto counters = ts->ListMetrics(c, Filter("type", {"COUNTER"}));
  REQUIRE(counters.ok());
  CHECK(counters->total == 100);
  auto like = ts->ListMetrics(c, Filter("service", {"%VM_2.CPU%"}));
  REQUIRE(like.ok());
  CHECK(like->total == 50);
  CHECK(ts->ListMetrics(Caller("t2"), {})->total == 0);
  CHECK(ts->ListMetrics(c, Filter("unit", {"%"})).status().code() == ErrorCode::kBadParameters);
  CHECK(ts->ListMetrics(c, Filter("type", {"'; DROP TABLE metrics; --"}))->total == 0);

  // A time window of one instance's cpu samples, newest first.
  ListQuery window = Filter("node_instance_id", {"vm_1"});
  window.filters["name"] = {"cpu"};
  window.ranges.push_back({"time", "2023-11-14T22:15:00.000Z", "2023-11-14T22:16:00.000Z"});
  window.sort = {"-time"};
  auto in_window = ts->ListMetrics(c, window);
  REQUIRE_MESSAGE(in_window.ok(), in_window.status().ToString());
  // 1,700,000,100 .. 1,700,000,159 s: 60 samples, the even ones are cpu.
  CHECK(in_window->total == 30);
  REQUIRE(!in_window->items.empty());
  CHECK(in_window->items[0].time == Timestamp(std::chrono::seconds(1'700'000'158)));

  // Value ranges take numbers: [10, 20) holds samples 40..79.
  ListQuery by_value;
  by_value.ranges.push_back({"value", "10", "20"});
  by_value.sort = {"-value"};
  auto valued = ts->ListMetrics(c, by_value);
  REQUIRE(valued.ok());
  CHECK(valued->total == 40);
  CHECK(valued->items[0].value == 79 / 4.0);
  by_value.ranges[0].to = "twenty";
  CHECK(ts->ListMetrics(c, by_value).status().code() == ErrorCode::kBadParameters);

  // Keyset paging from the start to the end.
  ListQuery k;
  k.size = 64;
  k.with_total = false;
  k.after_storage_id = all->items[0].storage_id - 1;
  int seen = 0;
  while (true) {
    auto page = ts->ListMetrics(c, k);
    REQUIRE(page.ok());
    if (page->items.empty()) {
      break;
    }
    seen += static_cast<int>(page->items.size());
    k.after_storage_id = page->items.back().storage_id;
  }
  CHECK(seen == 300);

  // Retention: everything sampled before 1,700,000,250 s goes.
  ListQuery old;
  old.ranges.push_back({"time", std::nullopt, "2023-11-14T22:17:30.000Z"});
  auto deleted = ts->DeleteMetrics(c, old);
  REQUIRE(deleted.ok());
  CHECK(*deleted == 250);  // sample 7 too: the test clock stands in 2020
  CHECK(ts->ListMetrics(c, {})->total == 50);
  CHECK(*ts->DeleteMetrics(Caller("t2"), {}) == 0);  // another tenant's delete touches nothing
  CHECK(ts->ListMetrics(c, {})->total == 50);
}

CONTRACT_TEST("secrets are encrypted at rest and listed without values") {
  CallerContext c = Caller();
  model::Secret secret;
  secret.key = "db_password";
  secret.value = "correct-horse-battery-staple";
  secret.is_hidden_value = true;
  REQUIRE(ts->CreateSecret(c, secret).ok());
  auto got = ts->GetSecret(c, "db_password");
  REQUIRE(got.ok());
  CHECK(got->value == secret.value);
  CHECK(got->is_hidden_value);
  auto listed = ts->ListSecrets(c, {});
  REQUIRE(listed.ok());
  REQUIRE(listed->items.size() == 1);
  CHECK(listed->items[0].value.empty());
  CHECK(listed->items[0].key == "db_password");
  secret.value = "new value";
  REQUIRE(ts->UpdateSecret(c, secret).ok());
  CHECK(ts->GetSecret(c, "db_password")->value == "new value");

  struct stat st {};
  REQUIRE(::stat(ts.options().secret_key_file.c_str(), &st) == 0);
  CHECK((st.st_mode & 0777) == 0600);

  if (ts.backend() == Backend::kSqliteFile) {
    // Neither the database nor its WAL holds the clear value.
    for (const char* suffix : {"", "-wal"}) {
      std::ifstream in((ts.dir().path() / "db.sqlite").string() + suffix, std::ios::binary);
      std::string bytes((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
      CHECK(bytes.find("new value") == std::string::npos);
      CHECK(bytes.find("correct-horse") == std::string::npos);
    }
    // With another key the value cannot be read.
    storage::StoreOptions other = ts.options();
    other.secret_key_file = ts.dir().path() / "other.key";
    auto store = storage::OpenStore(ts.url(), other);
    REQUIRE(store.ok());
    CHECK((*store)->GetSecret(c, "db_password").status().code() == ErrorCode::kStorageError);
  }
  REQUIRE(ts->DeleteSecret(c, "db_password").ok());
  CHECK(ts->GetSecret(c, "db_password").status().code() == ErrorCode::kNotFound);
}

CONTRACT_TEST("users keep only password hashes; tenants and groups round-trip") {
  model::User user;
  user.username = "alice";
  user.password_hash = "hunter2";
  CHECK(ts->CreateUser(user).code() == ErrorCode::kBadParameters);
  PasswordHashOptions fast;
  fast.iterations = 1000;
  auto hash = HashPassword("hunter2", fast);
  REQUIRE(hash.ok());
  user.password_hash = *hash;
  user.tenant_roles = {{"t1", model::TenantRole::kManager}};
  user.groups = {"ops"};
  REQUIRE(ts->CreateUser(user).ok());
  auto got = ts->GetUser("alice");
  REQUIRE(got.ok());
  CHECK(VerifyPassword("hunter2", got->password_hash));
  CHECK(got->tenant_roles == user.tenant_roles);
  CHECK(got->groups == user.groups);
  CHECK(ts->CreateUser(user).code() == ErrorCode::kConflict);
  got->is_locked = true;
  REQUIRE(ts->UpdateUser(*got).ok());
  CHECK(ts->GetUser("alice")->is_locked);

  REQUIRE(ts->CreateTenant({"t1", {}, "vhost_t1", "user_t1"}).ok());
  REQUIRE(ts->CreateTenant({"t2", {}, "vhost_t2", "user_t2"}).ok());
  CHECK(ts->CreateTenant({"t1", {}, "", ""}).code() == ErrorCode::kConflict);
  auto tenants = ts->ListTenants({});
  REQUIRE(tenants.ok());
  CHECK(tenants->total == 2);
  CHECK(ts->GetTenant("t2")->rabbitmq_vhost == "vhost_t2");
  REQUIRE(ts->DeleteTenant("t2").ok());
  CHECK(ts->GetTenant("t2").status().code() == ErrorCode::kNotFound);

  model::UserGroup group;
  group.name = "ops";
  group.users = {"alice"};
  group.tenant_roles = {{"t1", model::TenantRole::kViewer}};
  REQUIRE(ts->CreateUserGroup(group).ok());
  CHECK(*ts->GetUserGroup("ops") == group);
  REQUIRE(ts->DeleteUser("alice").ok());
  CHECK(ts->ListUsers({})->total == 0);
}

CONTRACT_TEST("agents round-trip, filter by their host and state, and stay in their tenant") {
  CallerContext c = Caller();
  model::Agent agent;
  agent.id = agent.name = "vm_abc123";
  agent.node_instance_id = "vm_abc123";
  agent.node_id = "vm";
  agent.deployment_id = "d1";
  agent.ip = "10.0.0.5";
  agent.install_method = "provided";
  agent.system = "linux";
  agent.version = "7.0.0";
  agent.state = model::AgentState::kStarted;
  agent.rabbitmq_username = "agent_user";
  agent.rabbitmq_exchange = "vm_abc123";
  agent.meta.tenant_name = c.tenant;
  agent.meta.created_by = c.user;
  agent.meta.created_at = Timestamp(std::chrono::milliseconds(1700000000000));
  agent.updated_at = agent.meta.created_at;
  REQUIRE(ts->CreateAgent(c, agent).ok());
  CHECK(ts->CreateAgent(c, agent).code() == ErrorCode::kConflict);
  auto got = ts->GetAgent(c, "vm_abc123");
  REQUIRE(got.ok());
  CHECK(*got == agent);
  model::Agent other = agent;
  other.id = other.name = "db_def456";
  other.node_instance_id = "db_def456";
  other.state = model::AgentState::kCreating;
  REQUIRE(ts->CreateAgent(c, other).ok());
  CHECK(ts->ListAgents(c, Filter("state", {"started"}))->total == 1);
  CHECK(ts->ListAgents(c, Filter("node_instance_id", {"db_def456"}))->items[0].id == "db_def456");
  CHECK(ts->ListAgents(c, Filter("deployment_id", {"d1"}))->total == 2);
  got->state = model::AgentState::kStopped;
  got->updated_at = agent.updated_at + std::chrono::seconds(5);
  REQUIRE(ts->UpdateAgent(c, *got).ok());
  CHECK(ts->GetAgent(c, "vm_abc123")->state == model::AgentState::kStopped);
  // Another tenant neither sees nor changes them.
  CallerContext stranger = c;
  stranger.tenant = "elsewhere";
  stranger.is_admin = false;
  CHECK(ts->GetAgent(stranger, "vm_abc123").status().code() == ErrorCode::kNotFound);
  CHECK(ts->ListAgents(stranger, {})->total == 0);
  CHECK(ts->DeleteAgent(stranger, "vm_abc123").code() == ErrorCode::kNotFound);
  REQUIRE(ts->DeleteAgent(c, "vm_abc123").ok());
  CHECK(ts->GetAgent(c, "vm_abc123").status().code() == ErrorCode::kNotFound);
  CHECK(model::ParseAgentState("nonresponsive") == model::AgentState::kNonresponsive);
  CHECK(model::AgentStateName(model::AgentState::kRestored) == "restored");
  CHECK_FALSE(model::ParseAgentState("running").has_value());
}

CONTRACT_TEST("plugins, task graphs and operations round-trip") {
  CallerContext c = Caller();
  model::Plugin plugin;
  plugin.id = "p1";
  plugin.package_name = "cloudify-aws-plugin";
  plugin.package_version = "3.0";
  plugin.wheels = {"a.whl", "b.whl"};
  REQUIRE(ts->CreatePlugin(c, plugin).ok());
  auto got = ts->GetPlugin(c, "p1");
  REQUIRE(got.ok());
  CHECK(got->wheels == plugin.wheels);
  CHECK(ts->ListPlugins(c, Filter("package_name", {"cloudify-aws-plugin"}))->total == 1);

  model::TasksGraph graph{"g1", "install", "e1", {}};
  std::vector<model::Operation> ops;
  for (int i = 0; i < 3; ++i) {
    model::Operation op;
    op.id = "op" + std::to_string(i);
    op.name = "task " + std::to_string(i);
    op.type = "RemoteWorkflowTask";
    op.tasks_graph_id = "g1";
    op.execution_id = "e1";
    op.parameters = {{"task_kwargs", {{"i", i}}}};
    ops.push_back(op);
  }
  REQUIRE(ts->CreateTasksGraph(c, graph, ops).ok());
  auto listed = ts->ListOperations(c, Filter("tasks_graph_id", {"g1"}));
  REQUIRE(listed.ok());
  CHECK(listed->total == 3);
  model::Operation op = *ts->GetOperation(c, "op1");
  CHECK(op.parameters == ops[1].parameters);
  op.state = model::TaskState::kSucceeded;
  REQUIRE(ts->UpdateOperation(c, op).ok());
  CHECK(ts->GetOperation(c, "op1")->state == model::TaskState::kSucceeded);
  CHECK(ts->ListOperations(c, Filter("state", {"succeeded"}))->total == 1);
  CHECK(ts->ListTasksGraphs(c, Filter("execution_id", {"e1"}))->total == 1);
  CHECK(ts->GetOperation(Caller("t2"), "op1").status().code() == ErrorCode::kNotFound);
  REQUIRE(ts->DeleteOperation(c, "op1").ok());
  CHECK(ts->ListOperations(c, {})->total == 2);
}

CONTRACT_TEST("API tokens are stored, found by id, listed per user, updated and deleted") {
  model::Token token;
  token.id = "abcDEF1234";
  token.secret_hash = std::string(64, 'f');
  token.username = "alice";
  token.description = "ci";
  token.created_at = Timestamp(std::chrono::milliseconds(1000));
  token.expires_at = Timestamp(std::chrono::milliseconds(5000));
  REQUIRE(ts->CreateToken(token).ok());
  CHECK(ts->CreateToken(token).code() == ErrorCode::kConflict);
  model::Token other = token;
  other.id = "zzzZZZ9999";
  other.username = "bob";
  REQUIRE(ts->CreateToken(other).ok());

  auto found = ts->GetToken("abcDEF1234");
  REQUIRE(found.ok());
  CHECK(*found == token);
  CHECK_FALSE(found->last_used.has_value());
  CHECK(ts->GetToken("ABCdef1234").status().code() == ErrorCode::kNotFound);  // ids are exact

  found->last_used = Timestamp(std::chrono::milliseconds(3000));
  REQUIRE(ts->UpdateToken(*found).ok());
  CHECK(ts->GetToken("abcDEF1234")->last_used == found->last_used);
  CHECK(ts->ListTokens(Filter("username", {"alice"}))->total == 1);
  CHECK(ts->ListTokens({})->total == 2);

  REQUIRE(ts->DeleteToken("abcDEF1234").ok());
  CHECK(ts->GetToken("abcDEF1234").status().code() == ErrorCode::kNotFound);
  CHECK(ts->DeleteToken("abcDEF1234").code() == ErrorCode::kNotFound);
  CHECK(ts->ListTokens({})->total == 1);
}

CONTRACT_TEST("a run's progress is written in one batch, skipping stale instances") {
  CallerContext c = Caller();
  REQUIRE(
      ts->CreateNodeInstances(c, {MakeInstance("vm_1", "d1"), MakeInstance("vm_2", "d1")}).ok());
  model::TasksGraph graph{"g1", "install", "e1", {}};
  model::Operation op;
  op.id = "op1";
  op.name = "cloudify.interfaces.lifecycle.create";
  op.type = "RemoteWorkflowTask";
  op.tasks_graph_id = "g1";
  op.execution_id = "e1";
  REQUIRE(ts->CreateTasksGraph(c, graph, {op}).ok());
  // Someone else wrote vm_2 since the run read it (version 1 -> 2).
  NodeInstanceUpdate other;
  other.version = 1;
  other.runtime_properties = nlohmann::json{{"by", "rest"}};
  REQUIRE(ts->UpdateNodeInstance(c, "vm_2", other).ok());

  using State = model::NodeInstanceState;
  storage::RunProgress progress;
  progress.instance_states = {{"vm_1", State::kCreating, 1},
                              {"vm_2", State::kCreating, 1},
                              {"vm_1", State::kCreated, 2},
                              {"vm_2", State::kCreated, 2}};
  progress.operation_states = {
      {"op1", model::TaskState::kSucceeded, {{"current_retries", 1}, {"error", "once"}}}};
  auto stale = ts->WriteRunProgress(c, progress);
  REQUIRE_MESSAGE(stale.ok(), stale.status().ToString());
  // vm_2's later state is skipped too, though its version happens to match by then.
  CHECK(*stale == std::vector<std::string>{"vm_2"});
  auto vm1 = ts->GetNodeInstance(c, "vm_1");
  REQUIRE(vm1.ok());
  CHECK(vm1->state == State::kCreated);
  CHECK(vm1->version == 3);
  auto vm2 = ts->GetNodeInstance(c, "vm_2");
  REQUIRE(vm2.ok());
  CHECK(vm2->state == State::kUninitialized);
  CHECK(vm2->version == 2);
  CHECK(vm2->runtime_properties == nlohmann::json{{"by", "rest"}});
  auto stored = ts->GetOperation(c, "op1");
  REQUIRE(stored.ok());
  CHECK(stored->state == model::TaskState::kSucceeded);
  CHECK(stored->parameters == nlohmann::json{{"current_retries", 1}, {"error", "once"}});

  // Another tenant's instances are not written (they are reported as not writable).
  storage::RunProgress foreign;
  foreign.instance_states = {{"vm_1", State::kStarted, 3}};
  auto skipped = ts->WriteRunProgress(Caller("t2"), foreign);
  REQUIRE(skipped.ok());
  CHECK(*skipped == std::vector<std::string>{"vm_1"});
  CHECK(ts->GetNodeInstance(c, "vm_1")->state == State::kCreated);

  // An unknown operation fails the batch and nothing of it is written.
  storage::RunProgress bad;
  bad.instance_states = {{"vm_1", State::kConfiguring, 3}};
  bad.operation_states = {{"op1", model::TaskState::kFailed, nlohmann::json::object()},
                          {"nope", model::TaskState::kSucceeded, nlohmann::json::object()}};
  CHECK(ts->WriteRunProgress(c, bad).status().code() == ErrorCode::kNotFound);
  CHECK(ts->GetNodeInstance(c, "vm_1")->version == 3);
  CHECK(ts->GetOperation(c, "op1")->state == model::TaskState::kSucceeded);
}

CONTRACT_TEST("executions are claimed once, leases expire and are renewed or released") {
  CallerContext c = Caller();
  model::Execution done = MakeExecution("e0", "d1", model::ExecutionStatus::kTerminated);
  REQUIRE(ts->CreateExecution(c, done).ok());
  ts.clock().Advance(std::chrono::milliseconds(1));
  REQUIRE(ts->CreateExecution(c, MakeExecution("e1", "d1")).ok());
  ts.clock().Advance(std::chrono::milliseconds(1));
  REQUIRE(ts->CreateExecution(Caller("t2"), MakeExecution("e2", "d2")).ok());
  const auto lease = std::chrono::milliseconds(1000);

  auto first = ts->ClaimExecution("manager-a", lease);
  REQUIRE(first.ok());
  REQUIRE(first->has_value());
  CHECK((*first)->id == "e1");
  auto second = ts->ClaimExecution("manager-b", lease);
  REQUIRE(second.ok());
  REQUIRE(second->has_value());
  CHECK((*second)->id == "e2");
  auto none = ts->ClaimExecution("manager-b", lease);
  REQUIRE(none.ok());
  CHECK_FALSE(none->has_value());
  CHECK(*ts->ExecutionOwner("e1") == "manager-a");

  ts.clock().Advance(std::chrono::milliseconds(600));
  REQUIRE(ts->RenewExecutionLease("e1", "manager-a", lease).ok());
  ts.clock().Advance(std::chrono::milliseconds(600));
  // e2's lease expired, e1's was renewed.
  auto reclaimed = ts->ClaimExecution("manager-c", lease);
  REQUIRE(reclaimed.ok());
  REQUIRE(reclaimed->has_value());
  CHECK((*reclaimed)->id == "e2");
  CHECK(ts->RenewExecutionLease("e2", "manager-b", lease).code() == ErrorCode::kConflict);
  CHECK(ts->ReleaseExecution("e1", "manager-b").code() == ErrorCode::kConflict);
  REQUIRE(ts->ReleaseExecution("e1", "manager-a").ok());
  CHECK(*ts->ExecutionOwner("e1") == "");
  auto again = ts->ClaimExecution("manager-d", lease);
  REQUIRE(again.ok());
  REQUIRE(again->has_value());
  CHECK((*again)->id == "e1");
  CHECK(ts->ExecutionOwner("missing").status().code() == ErrorCode::kNotFound);
}

CONTRACT_TEST("concurrent claimers never get the same execution") {
  if (ts.backend() == Backend::kSqliteMemory) {
    return;  // one connection: nothing runs concurrently
  }
  CallerContext c = Caller();
  std::vector<model::Execution> executions;
  for (int i = 0; i < 20; ++i) {
    REQUIRE(ts->CreateExecution(c, MakeExecution("e" + std::to_string(i), "d1")).ok());
  }
  std::mutex mu;
  std::vector<std::string> claimed;
  std::vector<std::thread> threads;
  std::atomic<int> failures{0};
  for (int t = 0; t < 4; ++t) {
    threads.emplace_back([&, t] {
      while (true) {
        auto got = ts->ClaimExecution("m" + std::to_string(t), std::chrono::minutes(1));
        if (!got.ok()) {
          ++failures;
          return;
        }
        if (!got->has_value()) {
          return;
        }
        std::lock_guard<std::mutex> lock(mu);
        claimed.push_back((*got)->id);
      }
    });
  }
  for (auto& th : threads) {
    th.join();
  }
  CHECK(failures == 0);
  CHECK(claimed.size() == 20);
  CHECK(std::set<std::string>(claimed.begin(), claimed.end()).size() == 20);
}

CONTRACT_TEST("the schema is migrated once and reopening is idempotent") {
  auto version = ts->SchemaVersion();
  REQUIRE(version.ok());
  CHECK(*version >= 1);
  if (ts.backend() == Backend::kSqliteMemory) {
    return;
  }
  REQUIRE(ts->CreateBlueprint(Caller(), MakeBlueprint("kept")).ok());
  ts.Reopen();
  CHECK(*ts->SchemaVersion() == *version);
  CHECK(ts->GetBlueprint(Caller(), "kept").ok());
}

}  // namespace
}  // namespace cloudify::testing
