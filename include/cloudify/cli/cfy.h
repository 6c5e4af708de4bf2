// The `cfy` command line: the commands of the original Cloudify CLI that libcloudify serves.
//
// Today: `cfy blueprints validate PATH [-i INPUTS] [--json]`, which validates a blueprint
// offline (parse + deployment plan with the inputs) and exits 0 when it is valid, 1 when it is
// not, printing the error as "file:line:column: message" (or, with --json, one JSON object:
// {"valid": true, "nodes": N, "node_instances": M} or
// {"valid": false, "error": {"code", "message", "file", "line", "column"}}).
// INPUTS is a YAML/JSON file, inline YAML/JSON, or "k=v;k2=v2"; -i may be repeated.
//
// Thread-safety: RunCfy is reentrant (it writes only to the streams it is given).
#pragma once

#include <ostream>
#include <string>
#include <vector>

namespace cloudify::cli {

// Runs cfy with `args` (args[0] is the program name) and returns the process exit code:
// 0 success, 1 an invalid blueprint or a failed command, other values for usage errors.
int RunCfy(const std::vector<std::string>& args, std::ostream& out, std::ostream& err);

// RunCfy on the process arguments, std::cout and std::cerr.
int CfyMain(int argc, char** argv);

}  // namespace cloudify::cli
