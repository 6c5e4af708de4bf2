#include "cloudify/workflow/metrics.h"

#include <doctest/doctest.h>

#include "cloudify/messaging/topology.h"

#include "support/plumbing.h"

namespace cloudify::workflow {
namespace {

model::Metric Sample(int n) {
  model::Metric m;
  m.deployment_id = n % 2 == 0 ? "d1" : "d2";
  m.node_name = "vm";
  m.node_instance_id = "vm_" + std::to_string(n % 5);
  m.name = "cpu";
  m.path = "total_user";
  m.value = n;
  m.time = Timestamp(std::chrono::seconds(1'700'000'000 + n));
  return m;
}

TEST_CASE("published metrics reach the store in batches, Sync waits for them") {
  testing::Plumbing p;
  auto writer = MetricWriter::Start(*p.bus, *p.store, {.max_batch = 64});
  REQUIRE(writer.ok());
  MetricPublisher publisher(*p.bus);
  for (int i = 0; i < 300; ++i) {
    model::Metric m = Sample(i);
    if (i >= 290) {
      m.tenant_name = "t1";  // the message names its tenant
    }
    publisher.Publish(m);
  }
  // Poisoned messages are dropped (and counted), not redelivered for ever.
  messaging::Message junk;
  junk.body = "{not json";
  REQUIRE(p.bus->Publish(messaging::kMonitoringExchange, "d1", junk).ok());
  junk.body = R"({"deployment_id": "d1", "metric": "high"})";
  REQUIRE(p.bus->Publish(messaging::kMonitoringExchange, "d1", junk).ok());
  REQUIRE((*writer)->Sync(std::chrono::seconds(10)).ok());
  CHECK((*writer)->stored() == 300);
  CHECK((*writer)->malformed() == 2);
  CHECK((*writer)->store_failures() == 0);
  CHECK(publisher.failures() == 0);

  storage::CallerContext system = storage::CallerContext::System();
  storage::ListQuery q;
  q.filters = {{"deployment_id", {"d1"}}};
  q.sort = {"-time"};
  q.size = 1;
  auto page = p.store->ListMetrics(system, q);
  REQUIRE(page.ok());
  CHECK(page->total == 145);  // the even samples below 290
  REQUIRE(page->items.size() == 1);
  CHECK(page->items[0].value == 288);
  CHECK(page->items[0].time == Timestamp(std::chrono::seconds(1'700'000'288)));
  auto t1 = p.store->ListMetrics(storage::CallerContext::System("t1"), {});
  REQUIRE(t1.ok());
  CHECK(t1->total == 10);
}

TEST_CASE("samples published while no writer runs wait in the queue for the next one") {
  testing::Plumbing p;
  {
    auto first = MetricWriter::Start(*p.bus, *p.store);
    REQUIRE(first.ok());
  }  // a manager that stopped
  MetricPublisher publisher(*p.bus);
  for (int i = 0; i < 20; ++i) {
    publisher.Publish(Sample(i));
  }
  REQUIRE(p.bus->WaitForConfirms(std::chrono::seconds(10)).ok());
  auto second = MetricWriter::Start(*p.bus, *p.store);
  REQUIRE(second.ok());
  REQUIRE((*second)->Sync(std::chrono::seconds(10)).ok());
  CHECK((*second)->stored() == 20);
  CHECK(p.store->ListMetrics(storage::CallerContext::System(), {})->total == 20);
}

}  // namespace
}  // namespace cloudify::workflow
