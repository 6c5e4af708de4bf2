// The manager's messaging topology, with the names the original uses
// (WORKFLOWS.md §3.1: cloudify-manager amqp_manager.py, cloudify-agent worker.py,
// cloudify-common amqp_dispatcher.py), as Topology values for Bus::Declare and
// BusOptions::topology.
//
// Thread-safety: pure functions and constants.
#pragma once

#include <string>
#include <string_view>
#include <vector>

#include "cloudify/messaging/bus.h"

namespace cloudify::messaging {

// Management traffic: REST -> mgmtworker (routing "workflow"), workflow -> mgmtworker
// (routing "operation").
inline constexpr std::string_view kManagementExchange = "cloudify.management";
inline constexpr std::string_view kManagementWorkflowQueue = "cloudify.management_workflow";
inline constexpr std::string_view kManagementOperationQueue = "cloudify.management_operation";
inline constexpr std::string_view kWorkflowRoutingKey = "workflow";
inline constexpr std::string_view kOperationRoutingKey = "operation";
inline constexpr std::string_view kServiceRoutingKey = "service";
// REST -> every mgmtworker (fanout); each manager has queue "<exchange>-<manager name>".
inline constexpr std::string_view kMgmtworkerServiceExchange = "cloudify-mgmtworker-service";
// Events (routing "events"; hook triggers "events.hooks") and logs.
inline constexpr std::string_view kEventsExchange = "cloudify-events-topic";
inline constexpr std::string_view kLogsExchange = "cloudify-logs";
inline constexpr std::string_view kEventsRoutingKey = "events";
inline constexpr std::string_view kHooksRoutingKey = "events.hooks";
// The queue the event/log writer consumes (bound to both exchanges above). Single active
// consumer: with several managers one writer stores at a time, in publish order.
inline constexpr std::string_view kLogsEventsQueue = "cloudify-logs-events";
inline constexpr std::string_view kHooksQueue = "cloudify-hooks";
// Metrics: topic, non-durable, auto-delete (routing key = deployment id).
inline constexpr std::string_view kMonitoringExchange = "cloudify-monitoring";
// The queue the metric writer consumes (bound to monitoring with "#"). The original's consumer
// (amqp-influxdb) used an anonymous queue; a named one keeps samples while a manager restarts.
// Single active consumer, as the logs-events queue.
inline constexpr std::string_view kMetricsQueue = "cloudify-metrics";

// What the manager declares on connect: the management exchange and its two queues, the
// mgmtworker service exchange with this manager's queue, the events, logs and monitoring
// exchanges, the logs-events queue (bound to logs, and to events with "events.#"), the hooks
// queue (bound to events with "events.hooks") and the metrics queue (bound to monitoring with
// "#").
Topology ManagementTopology(std::string_view manager_name);

// An agent's direct exchange "<agent>" and its queues "<agent>_operation" (key "operation")
// and "<agent>_service" (key "service").
Topology AgentTopology(std::string_view agent_name);

// "execution_responses_<execution_id>".
std::string ExecutionReplyQueue(std::string_view execution_id);

// The durable reply queue of one execution, bound to each exchange the workflow sends tasks to
// (e.g. cloudify.management, an agent's exchange) with its own name as the routing key.
Topology ExecutionReplyTopology(std::string_view execution_id,
                                const std::vector<std::string>& target_exchanges);

}  // namespace cloudify::messaging
