#include "cloudify/messaging/topology.h"

#include <algorithm>

#include <doctest/doctest.h>

namespace cloudify::messaging {
namespace {

bool HasBinding(const Topology& t, std::string_view queue, std::string_view exchange,
                std::string_view key) {
  return std::any_of(t.bindings.begin(), t.bindings.end(), [&](const BindingSpec& b) {
    return b.queue == queue && b.exchange == exchange && b.routing_key == key;
  });
}

const ExchangeSpec* FindExchange(const Topology& t, std::string_view name) {
  for (const ExchangeSpec& e : t.exchanges) {
    if (e.name == name) {
      return &e;
    }
  }
  return nullptr;
}

TEST_CASE("Topology: the manager's exchanges, queues and bindings use the original's names") {
  const Topology t = ManagementTopology("manager1");
  const ExchangeSpec* management = FindExchange(t, "cloudify.management");
  REQUIRE(management != nullptr);
  CHECK(management->type == ExchangeType::kDirect);
  CHECK(management->durable);
  const ExchangeSpec* events = FindExchange(t, "cloudify-events-topic");
  REQUIRE(events != nullptr);
  CHECK(events->type == ExchangeType::kTopic);
  const ExchangeSpec* logs = FindExchange(t, "cloudify-logs");
  REQUIRE(logs != nullptr);
  CHECK(logs->type == ExchangeType::kFanout);
  const ExchangeSpec* monitoring = FindExchange(t, "cloudify-monitoring");
  REQUIRE(monitoring != nullptr);
  CHECK(monitoring->type == ExchangeType::kTopic);
  CHECK_FALSE(monitoring->durable);
  CHECK(monitoring->auto_delete);
  const ExchangeSpec* service = FindExchange(t, "cloudify-mgmtworker-service");
  REQUIRE(service != nullptr);
  CHECK(service->type == ExchangeType::kFanout);

  CHECK(HasBinding(t, "cloudify.management_workflow", "cloudify.management", "workflow"));
  CHECK(HasBinding(t, "cloudify.management_operation", "cloudify.management", "operation"));
  CHECK(HasBinding(t, "cloudify-mgmtworker-service-manager1", "cloudify-mgmtworker-service", ""));
  CHECK(HasBinding(t, "cloudify-logs-events", "cloudify-logs", ""));
  CHECK(HasBinding(t, "cloudify-logs-events", "cloudify-events-topic", "events.#"));
  CHECK(HasBinding(t, "cloudify-hooks", "cloudify-events-topic", "events.hooks"));
  CHECK(HasBinding(t, "cloudify-metrics", "cloudify-monitoring", "#"));
  // Every bound queue is declared.
  for (const BindingSpec& b : t.bindings) {
    CHECK_MESSAGE(std::any_of(t.queues.begin(), t.queues.end(),
                              [&](const QueueSpec& q) { return q.name == b.queue; }),
                  b.queue);
  }
  // The writers' queues are consumed by one manager at a time; the management queues by all.
  for (const QueueSpec& q : t.queues) {
    const bool writer_queue = q.name == "cloudify-logs-events" || q.name == "cloudify-metrics";
    CHECK_MESSAGE(q.single_active_consumer == writer_queue, q.name);
  }
}

TEST_CASE("Topology: an agent has its exchange and operation and service queues") {
  const Topology t = AgentTopology("vm_abc123");
  REQUIRE(t.exchanges.size() == 1);
  CHECK(t.exchanges[0].name == "vm_abc123");
  CHECK(t.exchanges[0].type == ExchangeType::kDirect);
  CHECK(HasBinding(t, "vm_abc123_operation", "vm_abc123", "operation"));
  CHECK(HasBinding(t, "vm_abc123_service", "vm_abc123", "service"));
}

TEST_CASE("Topology: an execution's reply queue is bound to each target exchange by its name") {
  const Topology t = ExecutionReplyTopology("e1", {"cloudify.management", "vm_abc123"});
  REQUIRE(t.queues.size() == 1);
  CHECK(t.queues[0].name == "execution_responses_e1");
  CHECK(t.queues[0].durable);
  CHECK(HasBinding(t, "execution_responses_e1", "cloudify.management", "execution_responses_e1"));
  CHECK(HasBinding(t, "execution_responses_e1", "vm_abc123", "execution_responses_e1"));
  CHECK(t.bindings.size() == 2);
}

TEST_CASE("Topology: Merge appends") {
  Topology a = AgentTopology("a");
  a.Merge(AgentTopology("b"));
  CHECK(a.exchanges.size() == 2);
  CHECK(a.queues.size() == 4);
  CHECK(a.bindings.size() == 4);
}

}  // namespace
}  // namespace cloudify::messaging
