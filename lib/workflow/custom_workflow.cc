#include "cloudify/workflow/custom_workflow.h"

#include "cloudify/ids.h"

namespace cloudify::workflow {

namespace {

using Functions = std::map<std::string, WorkflowFunction, std::less<>>;

void Put(std::mutex& mu, Functions& functions, std::string key, WorkflowFunction function) {
  std::lock_guard lock(mu);
  functions[std::move(key)] = std::move(function);
}

const WorkflowFunction* Get(std::mutex& mu, const Functions& functions, std::string_view key) {
  std::lock_guard lock(mu);
  auto it = functions.find(key);
  return it == functions.end() ? nullptr : &it->second;
}

}  // namespace

void WorkflowRegistry::Add(std::string name, WorkflowFunction function) {
  Put(mu_, functions_, std::move(name), std::move(function));
}

const WorkflowFunction* WorkflowRegistry::Find(std::string_view name) const {
  return Get(mu_, functions_, name);
}

void WorkflowRegistry::AddSystemWide(std::string workflow_id, WorkflowFunction function) {
  Put(mu_, system_wide_, std::move(workflow_id), std::move(function));
}

const WorkflowFunction* WorkflowRegistry::FindSystemWide(std::string_view workflow_id) const {
  return Get(mu_, system_wide_, workflow_id);
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
