// CtxResolver: what a script's `ctx ARGS...` means, answered against the running operation's
// OperationContext (the original's process_ctx_request walk over its CloudifyContext, written
// out for the forms scripts use):
//
//   logger debug|info|warning|error MSG          instance id | host-ip | runtime-properties
//   node id|name|type|type-hierarchy|properties   [PATH [VALUE]] (node ops)
//   source|target instance|node ...  (relationship operations; `instance`/`node` are refused
//   there, as the original refuses them, and source/target in node operations)
//   deployment id   blueprint id   execution-id   workflow-id   tenant-name
//   operation name|retry-number|max-retries|retry MSG [AFTER]
//   download-resource PATH [TARGET]   download-resource-and-render PATH [TARGET] [VARS]
//   get-resource PATH   returns VALUE   abort_operation MSG   retry_operation MSG [AFTER]
//
// Names accept '-' and '_' alike. A dict (runtime properties, node properties) followed by no
// argument is returned whole; by PATH (`a.b[0].c`) its value (a missing key is the error
// "illegal path"); by PATH VALUE it is set (intermediate dicts made). Runtime-property writes
// change the operation's view of the instance; the engine stores them with the versioned
// update when the operation ends.
//
// Rendering (download-resource-and-render) is Jinja2's, with the variables VARS and `ctx`
// (ctx.node.properties.x, ctx.instance.runtime_properties.x, ctx.node.id, ctx.instance.id,
// ctx.deployment.id, ...); an undefined name is an error. A template of plain
// `{{ name.path }}` substitutions is rendered here; any other (statements, filters,
// expressions, comments) by Jinja2 itself, through python3 (options.python_dir).
//
// abort_operation, retry_operation and returns set the operation's outcome through the
// context (Fail without retry, Retry, Return); only one of them per run.
//
// Thread-safety: one resolver serves one operation, from one thread at a time.
#pragma once

#include <filesystem>
#include <string>

#include <nlohmann/json.hpp>

#include "cloudify/status.h"
#include "cloudify/workflow/operation.h"

namespace cloudify::workflow {

// `relative` inside the blueprint folder `root`, symlinks resolved. kBadParameters for an
// absolute path or one that leads outside `root` (through .. or a symlink); kNotFound when
// nothing is there.
Result<std::filesystem::path> ResolveBlueprintResource(const std::filesystem::path& root,
                                                       const std::string& relative);

struct CtxResolverOptions {
  // The blueprint's folder (download-resource and get-resource read there). Default: empty
  // (resource calls fail).
  std::filesystem::path blueprint_dir;
  // Where download-resource puts files when given no target, and what relative targets are
  // relative to. Default: empty (the current directory).
  std::filesystem::path work_dir;
  // The folder holding the `cloudify` Python package, whose renderer (Jinja2, through python3)
  // renders templates that use more than `{{ name.path }}` substitutions. Default: empty
  // (such templates are refused).
  std::filesystem::path python_dir;
};

class CtxResolver {
 public:
  // `ctx` must outlive the resolver.
  CtxResolver(OperationContext& ctx, CtxResolverOptions options);

  // The answer to one request: {"type": "result", "payload": ...}, {"type": "error",
  // "payload": {"type", "message", "traceback"}} or {"type": "stop_operation", "payload":
  // {"message"}} after abort_operation / retry_operation.
  nlohmann::json Handle(const nlohmann::json& args);

  // True once the script called abort_operation or retry_operation (the outcome is set on the
  // context; the script's exit code no longer decides it).
  bool stop_requested() const { return stop_requested_; }

 private:
  OperationContext& ctx_;
  const CtxResolverOptions options_;
  bool stop_requested_ = false;
  bool outcome_set_ = false;
};

}  // namespace cloudify::workflow
