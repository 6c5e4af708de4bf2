#include "cloudify/workflow/custom_workflow.h"

#include "cloudify/ids.h"

namespace cloudify::workflow {

void WorkflowRegistry::Add(std::string name, WorkflowFunction function) {
  std::lock_guard lock(mu_);
  functions_[std::move(name)] = std::move(function);
}

const WorkflowFunction* WorkflowRegistry::Find(std::string_view name) const {
  std::lock_guard lock(mu_);
  auto it = functions_.find(name);
  return it == functions_.end() ? nullptr : &it->second;
}

void WorkflowRegistry::AddSystemWide(std::string workflow_id, WorkflowFunction function) {
  std::lock_guard lock(mu_);
  system_wide_[std::move(workflow_id)] = std::move(function);
}

const WorkflowFunction* WorkflowRegistry::FindSystemWide(std::string_view workflow_id) const {
  std::lock_guard lock(mu_);
  auto it = system_wide_.find(workflow_id);
  return it == system_wide_.end() ? nullptr : &it->second;
}

std::vector<std::string> AddSequence(TaskGraph& graph, std::vector<GraphTask> tasks,
                                     const std::vector<std::string>& after) {
  std::vector<std::string> ids;
  std::vector<std::string> previous = after;
  for (auto& task : tasks) {
    if (task.id.empty()) {
      task.id = NewUuid();
    }
    task.dependencies.insert(task.dependencies.end(), previous.begin(), previous.end());
    ids.push_back(task.id);
    previous = {task.id};
    graph.tasks.push_back(std::move(task));
  }
  return ids;
}

std::vector<std::string> AddParallel(TaskGraph& graph, std::vector<GraphTask> tasks,
                                     const std::vector<std::string>& after) {
  std::vector<std::string> ids;
  for (auto& task : tasks) {
    if (task.id.empty()) {
      task.id = NewUuid();
    }
    task.dependencies.insert(task.dependencies.end(), after.begin(), after.end());
    ids.push_back(task.id);
    graph.tasks.push_back(std::move(task));
  }
  return ids;
}

}  // namespace cloudify::workflow
