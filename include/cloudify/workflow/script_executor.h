// The script executor: runs operations whose implementation is a script in the blueprint the
// way the original's script plugin does (cloudify-common script_runner/tasks.py). The engine
// uses it for operations the DSL resolved to the script plugin's `script_runner.tasks.run`
// when no C++ handler is registered under that task name.
//
// For each run it makes a private work dir (mode 0700), copies the script there (from the
// blueprint folder, paths leading outside it refused; or fetched from its http(s):// URL
// through ScriptOptions::fetch_url) and makes it executable, starts a
// CtxProxy in that dir, and runs the script in its own process group (cloudify/process.h):
//  - a `.py` script (unless `process.eval_python` is false), or any script with
//    `process.eval_python: true`, is evaluated as the original evaluates one: by
//    `python3 -m cloudify.script_runner`, with `ctx` and `inputs` among its globals and the
//    exceptions of cloudify.exceptions ending the operation (NonRecoverableError: failure
//    without retry; RecoverableError, OperationRetry: retry). The `cloudify` package it
//    imports is ours (resources/python): its `ctx` forwards every call to the ctx proxy;
//  - other scripts are executed directly, so their shebang decides the interpreter (no
//    shebang: /bin/sh; a `.py` file without one: python3); with `process.command_prefix` or
//    `process.args` the command line "<prefix> <script> <args...>" is run by /bin/sh -c;
//  - environment: the manager's, then every operation input but script_path, script_source,
//    process and ssl_cert_content (strings as they are, dicts, lists and booleans as JSON,
//    null as "None", as the original), then `process.env`, then CTX_SOCKET_URL and CTX_TOKEN;
//    the ctx program's folder goes first on PATH, the `cloudify` Python package's first on
//    PYTHONPATH (so any Python script may `from cloudify import ctx`), and the inputs as one
//    JSON object in CLOUDIFY_CTX_PARAMETERS (cloudify.state.ctx_parameters);
//  - working folder: `process.cwd`, else the work dir;
//  - stdout and stderr lines go into the execution's logs ("<out> ..." / "<err> ..."), bounded:
//    a line is cut at max_line_bytes and an operation logs at most max_logged_output_bytes,
//    the rest only counted; output is never held whole;
//  - exit code 0 is success; any other exit, or a signal, is a recoverable failure (retried
//    per the operation's retry settings), unless the script asked for abort_operation (failure
//    without retry) or retry_operation through ctx; the operation's `timeout` kills the whole
//    group (a recoverable failure only with timeout_recoverable).
// The work dir, the script copy and the socket are removed when the run ends, so `ctx` calls
// after that are refused.
//
// Finding `ctx`: ScriptOptions::ctx_dir; when empty, DefaultCtxDirectory(): the folder of the
// running program when a `ctx` program is there (the build tree's apps/ folder, where
// cloudify-manager is built, or an installed bindir), else the install bindir this library was
// configured with, else nothing is added to PATH (the script finds `ctx` on PATH, if at all).
//
// Thread-safety: RunScriptOperation may run for many operations at once.
#pragma once

#include <cstddef>
#include <filesystem>
#include <functional>
#include <string>

#include "cloudify/model/plan.h"
#include "cloudify/status.h"
#include "cloudify/workflow/operation.h"

namespace cloudify::workflow {

// The task the DSL gives script operations (after the plugin name).
inline constexpr const char* kScriptRunTask = "script_runner.tasks.run";

// The body of a URL (a script named by URL). See cloudify/client/url_fetch.h for one.
using UrlFetcher = std::function<Result<std::string>(const std::string& url)>;

// Finds a blueprint's folder from (tenant, blueprint id).
using BlueprintDirResolver = std::function<Result<std::filesystem::path>(
    const std::string& tenant, const std::string& blueprint_id)>;

struct ScriptOptions {
  // The folder holding the `ctx` program, put first on the script's PATH.
  // Default: empty (DefaultCtxDirectory()).
  std::filesystem::path ctx_dir;
  // Where each run's private work dir is made. Default: empty (the system temp dir).
  std::filesystem::path work_root;
  // Where a blueprint's files are. Default: null (script operations fail: no resources).
  BlueprintDirResolver blueprint_dir;
  // Fetches scripts named by an http(s):// URL. Default: null (such scripts fail without
  // retry: nothing here can fetch them).
  UrlFetcher fetch_url;
  // The folder holding the `cloudify` Python package. Default: empty
  // (dsl::DefaultResourcesDir() / "python").
  std::filesystem::path python_dir;
  // Output lines longer than this are cut (the rest of the line is dropped). Default: 8 KiB.
  size_t max_line_bytes = 8 * 1024;
  // Output logged per run; beyond it lines are only counted. Default: 1 MiB.
  size_t max_logged_output_bytes = 1024 * 1024;
};

// True when the engine runs `spec` with the script executor: the script plugin's run task.
bool IsScriptOperation(const model::OperationSpec& spec);

// See the header comment; empty when no `ctx` program was found.
std::filesystem::path DefaultCtxDirectory();

// Runs one script operation to its end and sets the outcome on `ctx` (Fail / Retry / Return);
// success leaves it untouched.
void RunScriptOperation(OperationContext& ctx, const ScriptOptions& options);

}  // namespace cloudify::workflow
