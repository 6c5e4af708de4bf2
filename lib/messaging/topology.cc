// The manager's topology with the original's names (WORKFLOWS.md §3.1).
#include "cloudify/messaging/topology.h"

#include <string>

namespace cloudify::messaging {

Topology ManagementTopology(std::string_view manager_name) {
  const std::string management(kManagementExchange);
  const std::string service(kMgmtworkerServiceExchange);
  const std::string events(kEventsExchange);
  const std::string logs(kLogsExchange);
  const std::string service_queue = service + "-" + std::string(manager_name);
  Topology topology;
  topology.exchanges = {
      {.name = management, .type = ExchangeType::kDirect},
      {.name = service, .type = ExchangeType::kFanout},
      {.name = events, .type = ExchangeType::kTopic},
      {.name = logs, .type = ExchangeType::kFanout},
      {.name = std::string(kMonitoringExchange),
       .type = ExchangeType::kTopic,
       .durable = false,
       .auto_delete = true},
  };
  topology.queues = {
      {.name = std::string(kManagementWorkflowQueue)},
      {.name = std::string(kManagementOperationQueue)},
      {.name = service_queue},
      // One writer at a time stores events and metrics, whichever manager it is in: they are
      // stored in the order published, and a writer's Sync marker reaches the writer holding
      // everything ahead of it.
      {.name = std::string(kLogsEventsQueue), .single_active_consumer = true},
      {.name = std::string(kHooksQueue)},
      {.name = std::string(kMetricsQueue), .single_active_consumer = true},
  };
  topology.bindings = {
      {std::string(kManagementWorkflowQueue), management, std::string(kWorkflowRoutingKey)},
      {std::string(kManagementOperationQueue), management, std::string(kOperationRoutingKey)},
      {service_queue, service, ""},
      {std::string(kLogsEventsQueue), logs, ""},
      {std::string(kLogsEventsQueue), events, std::string(kEventsRoutingKey) + ".#"},
      {std::string(kHooksQueue), events, std::string(kHooksRoutingKey)},
      {std::string(kMetricsQueue), std::string(kMonitoringExchange), "#"},
  };
  return topology;
}

Topology AgentTopology(std::string_view agent_name) {
  const std::string agent(agent_name);
  Topology topology;
  topology.exchanges = {{.name = agent, .type = ExchangeType::kDirect}};
  topology.queues = {{.name = agent + "_" + std::string(kOperationRoutingKey)},
                     {.name = agent + "_" + std::string(kServiceRoutingKey)}};
  topology.bindings = {
      {agent + "_" + std::string(kOperationRoutingKey), agent, std::string(kOperationRoutingKey)},
      {agent + "_" + std::string(kServiceRoutingKey), agent, std::string(kServiceRoutingKey)},
  };
  return topology;
}

std::string ExecutionReplyQueue(std::string_view execution_id) {
  return "execution_responses_" + std::string(execution_id);
}

Topology ExecutionReplyTopology(std::string_view execution_id,
                                const std::vector<std::string>& target_exchanges) {
  const std::string queue = ExecutionReplyQueue(execution_id);
  Topology topology;
  topology.queues = {{.name = queue}};
  for (const std::string& exchange : target_exchanges) {
    topology.bindings.push_back({queue, exchange, queue});
  }
  return topology;
}

}  // namespace cloudify::messaging
