// TasksGraph and Operation: a workflow's persisted task graph (WORKFLOWS.md §2.1). An execution
// stores its graph before running it, so a resumed execution continues from the stored
// operations and never re-runs one that succeeded.
#pragma once

#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include <nlohmann/json.hpp>

#include "cloudify/clock.h"

namespace cloudify::model {

enum class TaskState {
  kPending,
  kSending,
  kSent,
  kStarted,
  kRescheduled,
  kResponseSent,
  kSucceeded,
  kFailed,
};

std::string_view TaskStateName(TaskState s);  // e.g. "response-sent"
std::optional<TaskState> ParseTaskState(std::string_view name);
// rescheduled, succeeded, failed.
bool IsTerminal(TaskState s);

struct TasksGraph {
  std::string id;    // uuid
  std::string name;  // unique per execution, e.g. "install"
  std::string execution_id;
  Timestamp created_at{};

  bool operator==(const TasksGraph&) const = default;
};

struct Operation {
  std::string id;  // uuid; also the correlation id of a remote task
  std::string name;
  TaskState state = TaskState::kPending;
  std::vector<std::string> dependencies;  // ids of operations this one waits for
  // "RemoteWorkflowTask", "LocalWorkflowTask", "SubgraphTask", "SetNodeInstanceStateTask", ...
  std::string type;
  std::string tasks_graph_id;
  std::string execution_id;
  std::string manager_name;
  std::string agent_name;
  // task_kwargs, info, current_retries, total_retries, retry_interval, send_task_events,
  // containing_subgraph, retried_task, error: as the original's `parameters` column holds them.
  nlohmann::json parameters = nlohmann::json::object();
  Timestamp created_at{};

  bool operator==(const Operation&) const = default;
};

}  // namespace cloudify::model
