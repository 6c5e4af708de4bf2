#include "cloudify/workflow/task_graph.h"

#include <array>
#include <deque>
#include <unordered_map>

#include "common/enum_table.h"

namespace cloudify::workflow {
namespace {

constexpr std::array<EnumName<TaskKind>, 4> kKindNames{{
    {TaskKind::kOperation, "RemoteWorkflowTask"},
    {TaskKind::kSetNodeState, "SetNodeInstanceStateTask"},
    {TaskKind::kNodeEvent, "SendNodeEventTask"},
    {TaskKind::kSubgraph, "SubgraphTask"},
}};

}  // namespace

std::string_view TaskKindName(TaskKind k) { return NameOf<TaskKind>(kKindNames, k); }

const GraphTask* TaskGraph::Find(std::string_view id) const {
  for (const auto& task : tasks) {
    if (task.id == id) {
      return &task;
    }
  }
  return nullptr;
}

Result<std::vector<std::string>> TaskGraph::TopologicalOrder() const {
  std::unordered_map<std::string_view, size_t> index;
  for (size_t i = 0; i < tasks.size(); ++i) {
    if (!index.emplace(tasks[i].id, i).second) {
      return InternalError("task graph '" + name + "' has two tasks with id " + tasks[i].id);
    }
  }
  // Waiting for a subgraph means waiting for everything in it, nested subgraphs included.
  std::vector<std::vector<size_t>> members(tasks.size());
  for (size_t i = 0; i < tasks.size(); ++i) {
    if (!tasks[i].containing_subgraph.empty()) {
      auto it = index.find(tasks[i].containing_subgraph);
      if (it == index.end()) {
        return InternalError("task " + tasks[i].id + " of graph '" + name +
                             "' is in unknown subgraph " + tasks[i].containing_subgraph);
      }
      members[it->second].push_back(i);
    }
  }
  std::vector<size_t> waiting(tasks.size(), 0);
  std::vector<std::vector<size_t>> dependents(tasks.size());
  for (size_t i = 0; i < tasks.size(); ++i) {
    auto depend = [&](const std::string& on) -> Status {
      auto it = index.find(on);
      if (it == index.end()) {
        return InternalError("task " + tasks[i].id + " of graph '" + name +
                             "' depends on unknown task " + on);
      }
      dependents[it->second].push_back(i);
      ++waiting[i];
      return Status::Ok();
    };
    for (const auto& dep : tasks[i].dependencies) {
      CLOUDIFY_RETURN_IF_ERROR(depend(dep));
      std::vector<size_t> inside = members[index.at(dep)];
      while (!inside.empty()) {
        size_t m = inside.back();
        inside.pop_back();
        dependents[m].push_back(i);
        ++waiting[i];
        inside.insert(inside.end(), members[m].begin(), members[m].end());
      }
    }
    if (!tasks[i].containing_subgraph.empty()) {
      CLOUDIFY_RETURN_IF_ERROR(depend(tasks[i].containing_subgraph));
    }
  }
  std::deque<size_t> ready;
  for (size_t i = 0; i < tasks.size(); ++i) {
    if (waiting[i] == 0) {
      ready.push_back(i);
    }
  }
  std::vector<std::string> order;
  order.reserve(tasks.size());
  while (!ready.empty()) {
    size_t i = ready.front();
    ready.pop_front();
    order.push_back(tasks[i].id);
    for (size_t d : dependents[i]) {
      if (--waiting[d] == 0) {
        ready.push_back(d);
      }
    }
  }
  if (order.size() != tasks.size()) {
    return InternalError("task graph '" + name + "' has a dependency cycle");
  }
  return order;
}

}  // namespace cloudify::workflow
