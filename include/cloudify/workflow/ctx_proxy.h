// CtxProxy: the endpoint a running script's `ctx` calls reach (the original's ctx proxy,
// cloudify-common cloudify/proxy/server.py). One per running script operation, for the
// operation's life only.
//
// It listens on a unix domain socket, `<dir>/ctx.sock` (mode 0600, in the operation's private
// work dir), so no other local user can connect, and it also checks a random token (OpenSSL
// RAND_bytes) that the script receives in its environment: a request without it is refused.
// The wire is cloudify/client/ctx.h's: one JSON request {"args": [...], "token": "..."} per
// connection, the client shuts its write side down, the proxy writes one JSON answer
// {"type": "result"|"error"|"stop_operation", "payload": ...} and closes. Requests larger than
// max_request_bytes, or slower than request_timeout, are answered with an error.
//
// Requests are handled one at a time on the proxy's own thread, so the handler needs no lock
// against itself; after Close() returns the handler is never called again.
//
// Thread-safety: url(), token(), requests_served() and Close() may be called from any thread.
// Ownership: the proxy owns its thread and socket; the handler must outlive it (or Close()).
#pragma once

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <filesystem>
#include <functional>
#include <memory>
#include <string>

#include <nlohmann/json.hpp>

#include "cloudify/status.h"

namespace cloudify::workflow {

struct CtxProxyOptions {
  // Largest request accepted. Default: 1 MiB.
  size_t max_request_bytes = 1024 * 1024;
  // How long a client may take to send its whole request. Default: 10 s.
  std::chrono::milliseconds request_timeout = std::chrono::seconds(10);
};

// Answers one request's args with {"type": ..., "payload": ...}. Called on the proxy thread.
using CtxRequestHandler = std::function<nlohmann::json(const nlohmann::json& args)>;

class CtxProxy {
 public:
  // Listens on `dir`/ctx.sock; `dir` must exist (and should be private to the user).
  // kBadParameters when the socket path is too long for a unix socket; kInternal when the
  // socket cannot be made or the RNG fails.
  static Result<std::unique_ptr<CtxProxy>> Start(const std::filesystem::path& dir,
                                                 CtxRequestHandler handler,
                                                 CtxProxyOptions options = {});
  // Close()s.
  ~CtxProxy();
  CtxProxy(const CtxProxy&) = delete;
  CtxProxy& operator=(const CtxProxy&) = delete;

  // "unix://<dir>/ctx.sock", what CTX_SOCKET_URL is set to.
  const std::string& url() const;
  // The token requests must carry (CTX_TOKEN).
  const std::string& token() const;
  // Requests answered so far (refused ones included).
  int64_t requests_served() const;
  // Stops: the socket is removed, so later connections fail; a request being read is dropped.
  // Idempotent.
  void Close();

 private:
  class Impl;
  explicit CtxProxy(std::unique_ptr<Impl> impl);
  std::unique_ptr<Impl> impl_;
};

}  // namespace cloudify::workflow
