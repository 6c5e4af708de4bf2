// The `cfy` command line: the everyday commands of the original Cloudify CLI, over the REST
// client (cloudify/client/rest_client.h).
//
//   cfy profiles use HOST -u USER -p PASSWORD -t TENANT [--rest-port N] [--ssl]
//   cfy blueprints upload|list|get|delete|download|inputs|validate ...
//   cfy deployments create|list|get|delete|outputs|inputs|capabilities ...
//   cfy executions start|list|get|cancel|resume ...   cfy events list -e ID [--tail]
//   cfy install PATH   cfy uninstall DEPLOYMENT   cfy nodes|node-instances list|get
//   cfy secrets ...   cfy tenants|users|user-groups ...   cfy status   cfy completion bash
//
// Profiles live in $CFY_WORKDIR/.cloudify (default ~/.cloudify), files mode 0600;
// CLOUDIFY_USERNAME, CLOUDIFY_PASSWORD, CLOUDIFY_TENANT and CLOUDIFY_TOKEN override the
// profile. --json prints JSON (lists as arrays) on stdout for scripts. Errors print the
// manager's message and error code on stderr and exit 1; usage errors exit 2 or more.
// `blueprints validate PATH [-i INPUTS]` works offline ("file:line:column: message").
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
