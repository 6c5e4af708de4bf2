// Operations implemented in C++: what a host program registers on the Manager and what the
// engine hands them when they run (the original's `ctx` for plugin operations).
//
//   registry.Add("my_plugin.tasks.create", [](cloudify::workflow::OperationContext& ctx) {
//     ctx.instance().runtime_properties()["ip"] = "10.0.0.7";
//     ctx.logger().Info("created");
//   });
//
// A handler signals failure through the context (Fail, Retry); returning normally is success.
// Runtime properties changed through the context are stored when the handler returns, with
// the node instance's version check (a concurrent change is a conflict, retried by the engine).
//
// Thread-safety: OperationRegistry may be read from many threads once filled; an
// OperationContext belongs to the one thread running its operation.
#pragma once

#include <chrono>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>

#include <nlohmann/json.hpp>

#include "cloudify/logging.h"
#include "cloudify/model/node.h"
#include "cloudify/status.h"

namespace cloudify::workflow {

// One node instance as an operation sees it: its node, and its runtime properties to read and
// change.
class InstanceContext {
 public:
  virtual ~InstanceContext() = default;
  virtual const model::Node& node() const = 0;
  virtual const model::NodeInstance& instance() const = 0;
  const std::string& id() const { return instance().id; }
  // The runtime properties, to read or change; changes are stored when the operation ends.
  virtual nlohmann::json& runtime_properties() = 0;
};

class OperationContext {
 public:
  virtual ~OperationContext() = default;

  virtual const std::string& tenant() const = 0;
  virtual const std::string& deployment_id() const = 0;
  virtual const std::string& blueprint_id() const = 0;
  virtual const std::string& execution_id() const = 0;
  virtual const std::string& workflow_id() const = 0;
  // The full interface operation name, e.g. "cloudify.interfaces.lifecycle.create".
  virtual const std::string& operation_name() const = 0;
  // 0 on the first attempt.
  virtual int retry_number() const = 0;
  // -1 = retried for ever.
  virtual int max_retries() const = 0;
  // The operation's inputs, functions evaluated.
  virtual const nlohmann::json& inputs() const = 0;
  // The operation's `timeout` from the blueprint (none when unset), and whether running into
  // it is a recoverable failure (`timeout_recoverable`). Script operations kill the script at
  // it.
  virtual std::optional<std::chrono::milliseconds> timeout() const { return std::nullopt; }
  virtual bool timeout_recoverable() const { return false; }

  // Node operations: the instance the operation runs for.
  virtual bool is_relationship() const = 0;
  virtual InstanceContext& instance() = 0;
  // Relationship operations: the two ends (instance() is then the side it runs on).
  virtual InstanceContext& source() = 0;
  virtual InstanceContext& target() = 0;

  // Another node instance of the deployment as this run knows it now (ctx `host-ip` reads the
  // host's `ip`). Default: kNotFound, for a context that cannot look one up.
  virtual Result<model::NodeInstance> ReadInstance(const std::string& id) const {
    return Status(ErrorCode::kNotFound, "node instance " + id + " cannot be read here");
  }

  // Logs into the execution's logs (the events list with include_logs).
  virtual Logger& logger() = 0;

  // Ends the operation as failed: retried (per the retry settings) when `recoverable`.
  virtual void Fail(std::string message, bool recoverable = false) = 0;
  // Asks to run the operation again after `after` (or the retry interval).
  virtual void Retry(std::string message,
                     std::optional<std::chrono::milliseconds> after = std::nullopt) = 0;
  // The operation's result value (ctx returns).
  virtual void Return(nlohmann::json value) = 0;
  // True once the execution is force-cancelled or killed. A handler runs on a manager thread
  // and cannot be interrupted: a long one should check this and return (its outcome is then a
  // cancellation, not a success).
  virtual bool cancel_requested() const { return false; }
};

using OperationHandler = std::function<void(OperationContext&)>;

// Handlers by task name: "<plugin>.<task path>", e.g. "my_plugin.tasks.create" (the plugin
// name and the operation's mapping joined), the name the blueprint's implementation gives.
class OperationRegistry {
 public:
  // Replaces a handler registered under the same name.
  void Add(std::string name, OperationHandler handler);
  // The handler for `name`, or null.
  const OperationHandler* Find(std::string_view name) const;

 private:
  mutable std::mutex mu_;
  std::map<std::string, OperationHandler, std::less<>> handlers_;
};

}  // namespace cloudify::workflow
