// Deployment modifications on every backend: the table's CRUD and the atomic start/end calls
// that create, rewrite and delete node instances with the modification row.
#include <atomic>
#include <thread>

#include <doctest/doctest.h>

#include "cloudify/model/deployment_modification.h"

#include "storage/store_fixture.h"

namespace cloudify::testing {
namespace {

using model::DeploymentModificationStatus;
using storage::CallerContext;
using storage::ListQuery;
using storage::NodeInstanceChanges;

CallerContext Tenant1() {
  CallerContext c;
  c.tenant = "t1";
  c.user = "alice";
  return c;
}

model::NodeInstance Instance(std::string id, std::string node = "vm") {
  model::NodeInstance i;
  i.id = std::move(id);
  i.node_id = std::move(node);
  i.deployment_id = "d1";
  i.host_id = i.id;
  return i;
}

// A deployment d1 with node vm and one instance vm_1, started.
void Seed(TestStore& ts, const CallerContext& c) {
  model::Deployment d;
  d.id = "d1";
  d.blueprint_id = "bp";
  REQUIRE(ts->CreateDeployment(c, d).ok());
  model::Node vm;
  vm.deployment_id = "d1";
  vm.spec.id = "vm";
  REQUIRE(ts->CreateNodes(c, {vm}).ok());
  model::NodeInstance vm1 = Instance("vm_1");
  vm1.state = model::NodeInstanceState::kStarted;
  REQUIRE(ts->CreateNodeInstances(c, {vm1}).ok());
}

model::DeploymentModification Modification(std::string id) {
  model::DeploymentModification m;
  m.id = std::move(id);
  m.deployment_id = "d1";
  m.modified_nodes = {{"vm", {{"instances", 2}}}};
  nlohmann::json added = model::NodeInstanceToJson(Instance("vm_2"));
  added["modification"] = "added";
  m.node_instances = nlohmann::json::object();
  m.node_instances["added_and_related"] = nlohmann::json::array({added});
  m.node_instances["removed_and_related"] = nlohmann::json::array();
  m.node_instances["before_modification"] =
      nlohmann::json::array({model::NodeInstanceToJson(Instance("vm_1"))});
  m.context = {{"execution_id", "e1"}};
  return m;
}

int64_t CountInstances(TestStore& ts, const CallerContext& c) {
  ListQuery q;
  q.filters = {{"deployment_id", {"d1"}}};
  auto page = ts->ListNodeInstances(c, q);
  REQUIRE(page.ok());
  return page->total;
}

}  // namespace

CONTRACT_TEST("a deployment modification round-trips and lists by deployment and status") {
  CallerContext c = Tenant1();
  Seed(ts, c);
  model::DeploymentModification m = Modification("m1");
  m.meta.created_at = Timestamp(std::chrono::milliseconds(42));
  REQUIRE(ts->CreateDeploymentModification(c, m).ok());
  CHECK(ts->CreateDeploymentModification(c, m).code() == ErrorCode::kConflict);

  auto got = ts->GetDeploymentModification(c, "m1");
  REQUIRE_MESSAGE(got.ok(), got.status().ToString());
  CHECK(got->deployment_id == "d1");
  CHECK(got->status == DeploymentModificationStatus::kStarted);
  CHECK(got->modified_nodes == m.modified_nodes);
  CHECK(got->node_instances == m.node_instances);
  CHECK(got->context == m.context);
  CHECK(got->meta.tenant_name == "t1");
  CHECK(got->meta.created_by == "alice");
  CHECK(got->meta.created_at == m.meta.created_at);
  CHECK_FALSE(got->ended_at.has_value());

  got->status = DeploymentModificationStatus::kFinished;
  got->ended_at = Timestamp(std::chrono::milliseconds(99));
  REQUIRE(ts->UpdateDeploymentModification(c, *got).ok());
  auto again = ts->GetDeploymentModification(c, "m1");
  REQUIRE(again.ok());
  CHECK(again->status == DeploymentModificationStatus::kFinished);
  CHECK(again->ended_at == Timestamp(std::chrono::milliseconds(99)));

  REQUIRE(ts->CreateDeploymentModification(c, Modification("m2")).ok());
  ListQuery q;
  q.filters = {{"deployment_id", {"d1"}}, {"status", {"started"}}};
  auto started = ts->ListDeploymentModifications(c, q);
  REQUIRE(started.ok());
  REQUIRE(started->total == 1);
  CHECK(started->items.front().id == "m2");
  q.filters["no_such_field"] = {"x"};
  CHECK(ts->ListDeploymentModifications(c, q).status().code() == ErrorCode::kBadParameters);

  CallerContext other;
  other.tenant = "t2";
  CHECK(ts->GetDeploymentModification(other, "m1").status().code() == ErrorCode::kNotFound);

  // Deleting the deployment deletes its modifications.
  REQUIRE(ts->DeleteDeployment(c, "d1").ok());
  CHECK(ts->GetDeploymentModification(c, "m1").status().code() == ErrorCode::kNotFound);
}

CONTRACT_TEST("starting a modification adds instances atomically; a second start is refused") {
  CallerContext c = Tenant1();
  Seed(ts, c);
  NodeInstanceChanges changes;
  changes.create = {Instance("vm_2")};
  auto vm1 = ts->GetNodeInstance(c, "vm_1");
  REQUIRE(vm1.ok());
  vm1->relationships.push_back({"vm_2", "vm", "cloudify.relationships.connected_to"});
  changes.replace = {*vm1};
  auto node = ts->GetNode(c, "d1", "vm");
  REQUIRE(node.ok());
  node->planned_number_of_instances = 2;
  changes.nodes = {*node};
  REQUIRE(storage::StartDeploymentModification(ts.store(), c, Modification("m1"), changes).ok());
  CHECK(CountInstances(ts, c) == 2);
  auto related = ts->GetNodeInstance(c, "vm_1");
  REQUIRE(related.ok());
  REQUIRE(related->relationships.size() == 1);
  CHECK(related->relationships[0].target_id == "vm_2");
  CHECK(related->version == vm1->version + 1);
  CHECK(related->state == model::NodeInstanceState::kStarted);
  CHECK(ts->GetNode(c, "d1", "vm")->planned_number_of_instances == 2);

  // Another start while m1 is started: refused, and nothing of it is written.
  NodeInstanceChanges more;
  more.create = {Instance("vm_3")};
  Status second = storage::StartDeploymentModification(ts.store(), c, Modification("m2"), more);
  CHECK(second.code() == ErrorCode::kExistingStartedDeploymentModification);
  CHECK(second.message().find("m1") != std::string::npos);
  CHECK(CountInstances(ts, c) == 2);
  CHECK(ts->GetDeploymentModification(c, "m2").status().code() == ErrorCode::kNotFound);

  // Unknown deployment.
  model::DeploymentModification stray = Modification("m3");
  stray.deployment_id = "nope";
  CHECK(storage::StartDeploymentModification(ts.store(), c, stray, {}).code() ==
        ErrorCode::kNotFound);
}

CONTRACT_TEST("a failing start writes nothing: duplicate instance id rolls the row back") {
  CallerContext c = Tenant1();
  Seed(ts, c);
  NodeInstanceChanges changes;
  changes.create = {Instance("vm_2"), Instance("vm_1")};  // vm_1 exists
  Status s = storage::StartDeploymentModification(ts.store(), c, Modification("m1"), changes);
  CHECK(s.code() == ErrorCode::kConflict);
  CHECK(CountInstances(ts, c) == 1);
  CHECK(ts->GetDeploymentModification(c, "m1").status().code() == ErrorCode::kNotFound);
}

CONTRACT_TEST("finishing removes instances, rolling back restores them; ended ones stay ended") {
  CallerContext c = Tenant1();
  Seed(ts, c);
  NodeInstanceChanges add;
  add.create = {Instance("vm_2"), Instance("vm_3")};
  REQUIRE(storage::StartDeploymentModification(ts.store(), c, Modification("m1"), add).ok());
  const Timestamp t1(std::chrono::milliseconds(1000));
  NodeInstanceChanges none;
  REQUIRE(storage::EndDeploymentModification(ts.store(), c, "m1",
                                             DeploymentModificationStatus::kFinished, none, t1)
              .ok());
  auto m1 = ts->GetDeploymentModification(c, "m1");
  REQUIRE(m1.ok());
  CHECK(m1->status == DeploymentModificationStatus::kFinished);
  CHECK(m1->ended_at == t1);
  CHECK(CountInstances(ts, c) == 3);
  CHECK(storage::EndDeploymentModification(ts.store(), c, "m1",
                                           DeploymentModificationStatus::kRolledback, none, t1)
            .code() == ErrorCode::kDeploymentModificationAlreadyEnded);

  // A scale-in: started with nothing to write, finished by deleting the removed instances and
  // writing the deployment's scaling-group count.
  REQUIRE(storage::StartDeploymentModification(ts.store(), c, Modification("m2"), none).ok());
  NodeInstanceChanges remove;
  remove.remove = {"vm_3"};
  auto d = ts->GetDeployment(c, "d1");
  REQUIRE(d.ok());
  d->scaling_groups["g"].members = {"vm"};
  d->scaling_groups["g"].properties.current_instances = 2;
  remove.deployment = *d;
  REQUIRE(storage::EndDeploymentModification(ts.store(), c, "m2",
                                             DeploymentModificationStatus::kFinished, remove, t1)
              .ok());
  CHECK(CountInstances(ts, c) == 2);
  auto written = ts->GetDeployment(c, "d1");
  REQUIRE(written.ok());
  CHECK(written->scaling_groups.at("g").properties.current_instances == 2);

  // A failed scale-out: rolled back by deleting the added and restoring the related.
  NodeInstanceChanges add4;
  add4.create = {Instance("vm_4")};
  auto vm1 = ts->GetNodeInstance(c, "vm_1");
  REQUIRE(vm1.ok());
  model::NodeInstance before = *vm1;
  vm1->relationships.push_back({"vm_4", "vm", "cloudify.relationships.connected_to"});
  add4.replace = {*vm1};
  REQUIRE(storage::StartDeploymentModification(ts.store(), c, Modification("m3"), add4).ok());
  NodeInstanceChanges rollback;
  rollback.remove = {"vm_4"};
  rollback.replace = {before};
  REQUIRE(storage::EndDeploymentModification(
              ts.store(), c, "m3", DeploymentModificationStatus::kRolledback, rollback, t1)
              .ok());
  CHECK(ts->GetDeploymentModification(c, "m3")->status ==
        DeploymentModificationStatus::kRolledback);
  CHECK(ts->GetNodeInstance(c, "vm_4").status().code() == ErrorCode::kNotFound);
  CHECK(ts->GetNodeInstance(c, "vm_1")->relationships.empty());

  // A failing end (unknown instance to remove) leaves the modification started.
  REQUIRE(storage::StartDeploymentModification(ts.store(), c, Modification("m4"), none).ok());
  NodeInstanceChanges bad;
  bad.remove = {"ghost"};
  CHECK(storage::EndDeploymentModification(ts.store(), c, "m4",
                                           DeploymentModificationStatus::kFinished, bad, t1)
            .code() == ErrorCode::kNotFound);
  CHECK(ts->GetDeploymentModification(c, "m4")->status == DeploymentModificationStatus::kStarted);
  CHECK(storage::EndDeploymentModification(ts.store(), c, "m4",
                                           DeploymentModificationStatus::kStarted, none, t1)
            .code() == ErrorCode::kBadParameters);
}

TEST_CASE("node instance dicts round-trip and bad ones are named") {
  model::NodeInstance i = Instance("vm_9");
  i.state = model::NodeInstanceState::kConfigured;
  i.version = 7;
  i.index = 3;
  i.runtime_properties = {{"ip", "10.0.0.9"}};
  i.relationships.push_back({"net_1", "net", "cloudify.relationships.connected_to"});
  i.scaling_groups.push_back({"g", "g_abc123"});
  auto back = model::NodeInstanceFromJson(model::NodeInstanceToJson(i));
  REQUIRE(back.ok());
  CHECK(*back == i);
  CHECK(model::NodeInstanceFromJson(nlohmann::json::array()).status().code() ==
        ErrorCode::kBadParameters);
  CHECK(model::NodeInstanceFromJson({{"id", 5}}).status().code() == ErrorCode::kBadParameters);
  CHECK(model::NodeInstanceFromJson({{"id", "x"}, {"state", "flying"}}).status().code() ==
        ErrorCode::kBadParameters);
}

CONTRACT_TEST("concurrent starts on one deployment: exactly one wins, the other is refused") {
  CallerContext c = Tenant1();
  Seed(ts, c);
  for (int round = 0; round < 10; ++round) {
    const std::string a = "ma" + std::to_string(round), b = "mb" + std::to_string(round);
    std::atomic<int> ready{0};
    Status results[2];
    auto start = [&](int i, const std::string& id) {
      ++ready;
      while (ready.load() < 2) {
      }
      results[i] = storage::StartDeploymentModification(ts.store(), c, Modification(id), {});
    };
    std::thread first(start, 0, a), second(start, 1, b);
    first.join();
    second.join();
    CAPTURE(results[0].ToString());
    CAPTURE(results[1].ToString());
    REQUIRE(results[0].ok() != results[1].ok());
    const int lost = results[0].ok() ? 1 : 0;
    CHECK(results[lost].code() == ErrorCode::kExistingStartedDeploymentModification);
    const std::string winner = results[0].ok() ? a : b;
    CHECK(results[lost].message().find(winner) != std::string::npos);
    CHECK(ts->GetDeploymentModification(c, lost == 0 ? a : b).status().code() ==
          ErrorCode::kNotFound);
    REQUIRE(storage::EndDeploymentModification(ts.store(), c, winner,
                                               DeploymentModificationStatus::kFinished, {},
                                               Timestamp(std::chrono::milliseconds(1)))
                .ok());
  }
}

}  // namespace cloudify::testing
