// The client side of the `ctx` command that scripts run by script operations call to talk to
// the manager: the original's command-line forms (cloudify-common cloudify/proxy/client.py)
// turned into a request, the request sent to the operation's ctx proxy, and the answer printed
// the way the original prints it.
//
//   ctx [-t|--timeout SECONDS] [-j|--json-output] [--json-arg-prefix P] [--socket-url URL]
//       [--token TOKEN] ARGS...
//
// ARGS are sent as they are, except those starting with the JSON prefix ("@" by default),
// which are decoded as JSON (`@14`, `@'{"a": 1}'`). The proxy is found through CTX_SOCKET_URL
// ("unix://<path>") and authenticates the request with CTX_TOKEN, both set by the script
// executor.
//
// Wire (one request per connection): the client writes {"args": [...], "token": "..."} and
// shuts its write side down; the proxy answers {"type": "result"|"error"|"stop_operation",
// "payload": ...} and closes.
//
// Thread-safety: every function may be called from any thread. No exception escapes.
#pragma once

#include <chrono>
#include <ostream>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "cloudify/status.h"

namespace cloudify::client {

// Names of the environment variables the script executor sets for the script.
inline constexpr const char* kCtxSocketUrlEnv = "CTX_SOCKET_URL";
inline constexpr const char* kCtxTokenEnv = "CTX_TOKEN";

// A parsed `ctx` command line.
struct CtxCommand {
  // The proxy's URL ("unix://<path>"). Default: CTX_SOCKET_URL.
  std::string socket_url;
  // The operation's token. Default: CTX_TOKEN.
  std::string token;
  // How long to wait for the answer. Default: 30 s (the original's).
  std::chrono::milliseconds timeout = std::chrono::seconds(30);
  // Print the payload as JSON instead of the original's Python str() form. Default: false.
  bool json_output = false;
  // The request's args, JSON-prefixed ones decoded. Default: empty.
  nlohmann::json args = nlohmann::json::array();
};

// Parses the command line (without the program name). `env_socket_url` and `env_token` are
// the values of CTX_SOCKET_URL and CTX_TOKEN (null when unset). kBadParameters for an unknown
// option value, a bad timeout, an argument with the JSON prefix that is not JSON (naming it),
// or no socket URL at all.
Result<CtxCommand> ParseCtxCommandLine(const std::vector<std::string>& args,
                                       const char* env_socket_url, const char* env_token);

// The proxy's answer.
struct CtxResponse {
  std::string type;  // "result", "error" or "stop_operation"
  nlohmann::json payload;
};

// Sends the request and reads the answer. kBadParameters for a URL that is not unix://;
// kUnavailable when the proxy cannot be reached (no such socket, refused: the operation has
// ended) or does not answer within the timeout; kInternal for an answer that is not the
// protocol's.
Result<CtxResponse> SendCtxRequest(const CtxCommand& command);

// The payload as the original's client prints it: Python's str() (strings raw, dicts and
// lists in Python literal form, True/False/None), and nothing for a falsy payload; or JSON
// with `json_output`. No trailing newline, as the original.
std::string FormatCtxPayload(const nlohmann::json& payload, bool json_output);

// The whole command: parse, send, print the result to `out` or the error to `err`. Returns
// the process exit code: 0 on a result, 1 on an error answer, a stop_operation answer
// (abort/retry requested) or an unreachable proxy, 2 on a bad command line.
int RunCtxCommand(const std::vector<std::string>& args, std::ostream& out, std::ostream& err);

}  // namespace cloudify::client
