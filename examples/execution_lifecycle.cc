// Walks an execution through its life with the model's rules, the way the manager does:
// pending -> started -> terminated, then shows that an ended execution cannot be revived.
#include <iostream>

#include <cloudify/cloudify.h>

int main() {
  using cloudify::model::ExecutionStatus;
  cloudify::model::Execution execution;
  execution.id = cloudify::NewUuid();
  execution.workflow_id = "install";
  execution.deployment_id = "web-1";

  std::cout << execution.workflow_id << ": " << ExecutionStatusName(execution.status);
  for (ExecutionStatus next : {ExecutionStatus::kStarted, ExecutionStatus::kTerminated}) {
    cloudify::Status allowed =
        CheckExecutionTransition(execution.workflow_id, execution.status, next);
    if (!allowed.ok()) {
      std::cerr << "\nunexpected: " << allowed.ToString() << "\n";
      return 1;
    }
    execution.status = next;
    std::cout << " -> " << ExecutionStatusName(execution.status);
  }
  std::cout << " (" << StatusDisplay(execution.status) << ")\n";

  cloudify::Status revive =
      CheckExecutionTransition(execution.workflow_id, execution.status, ExecutionStatus::kStarted);
  std::cout << "restart an ended execution: " << cloudify::ErrorCodeName(revive.code()) << ": "
            << revive.message() << "\n";
  return revive.ok() ? 1 : 0;
}
