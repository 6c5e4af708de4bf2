// RestClient: the HTTP client of the manager's REST API (v3.1), for cfy, agents and host
// programs. It speaks the wire the official Python client speaks: HTTP Basic or an
// Authentication-Token, the Tenant header, JSON bodies, the list envelope, and the error
// envelope {"message", "error_code"} turned back into a Status with the same ErrorCode.
//
//   auto client = cloudify::client::RestClient::Create({.host = "10.0.0.5",
//                                                       .username = "admin",
//                                                       .password = "admin"}).value();
//   auto page = client->List("/deployments", {{"_size", "100"}});
//
// Paths are relative to /api/<version> ("/deployments"), except Download and Stream, which also
// accept server-root paths ("/resources/...", "/api/...").
//
// Errors: the manager's own code and message; kUnavailable when the manager cannot be reached
// (connection refused, timeout); kInternal for an answer that is not the API's JSON.
//
// Thread-safety: one RestClient keeps one keep-alive connection; use it from one thread at a
// time (create one per thread for parallel calls).
#pragma once

#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include <nlohmann/json.hpp>

#include "cloudify/status.h"

namespace cloudify::client {

using QueryParams = std::vector<std::pair<std::string, std::string>>;

struct ClientOptions {
  // The manager's address. Default: "127.0.0.1".
  std::string host = "127.0.0.1";
  // Its REST port. Default: 0, meaning 53333 (the manager's own listener; 443 with ssl).
  int port = 0;
  // HTTPS instead of HTTP. Default: false.
  bool ssl = false;
  // A CA bundle to verify the manager's certificate with; empty = the system's. Default: "".
  std::string ca_cert;
  // Verify the manager's certificate (ssl only). Default: true.
  bool verify_certificate = true;
  // HTTP Basic credentials (used when token is empty). Default: "".
  std::string username;
  std::string password;
  // An API token (ctok-...) sent as Authentication-Token. Default: "".
  std::string token;
  // The Tenant header. Default: "default_tenant".
  std::string tenant = "default_tenant";
  // Connect / read timeout of one request. Default: 30 s.
  std::chrono::milliseconds timeout = std::chrono::seconds(30);
  // The API version prefix. Default: "v3.1".
  std::string api_version = "v3.1";
};

// One page of a list endpoint: the items and the envelope's pagination.
struct ListPage {
  nlohmann::json items = nlohmann::json::array();
  int64_t total = 0;
  int64_t size = 0;
  int64_t offset = 0;
};

// One part of a multipart/form-data body.
struct FormPart {
  std::string name;
  std::string content;
  std::string filename;      // empty for a plain field
  std::string content_type;  // empty for a plain field
};

class RestClient {
 public:
  // No network traffic yet: the connection is made by the first call.
  // kBadParameters for an empty host or a port out of range.
  static Result<std::unique_ptr<RestClient>> Create(ClientOptions options);
  ~RestClient();
  RestClient(const RestClient&) = delete;
  RestClient& operator=(const RestClient&) = delete;

  const ClientOptions& options() const;
  // "http://host:port", for messages.
  std::string BaseUrl() const;

  // JSON calls. The decoded body; null for an empty body (204).
  Result<nlohmann::json> Get(std::string_view path, const QueryParams& query = {});
  Result<nlohmann::json> Delete(std::string_view path, const QueryParams& query = {});
  Result<nlohmann::json> Put(std::string_view path, const nlohmann::json& body,
                             const QueryParams& query = {});
  Result<nlohmann::json> Post(std::string_view path, const nlohmann::json& body,
                              const QueryParams& query = {});
  Result<nlohmann::json> Patch(std::string_view path, const nlohmann::json& body,
                               const QueryParams& query = {});
  // POST with a raw body (plugin upload: the archive is the body).
  Result<nlohmann::json> PostBytes(std::string_view path, std::string_view body,
                                   const std::string& content_type, const QueryParams& query = {});
  // PUT with a multipart/form-data body (blueprint upload).
  Result<nlohmann::json> PutForm(std::string_view path, const std::vector<FormPart>& parts,
                                 const QueryParams& query = {});

  // A list endpoint's page. kInternal when the answer is not the list envelope.
  Result<ListPage> List(std::string_view path, const QueryParams& query = {});

  // The raw bytes of a file (an archive, a /resources/... file).
  Result<std::string> Download(std::string_view path, const QueryParams& query = {});

  // Follows a Server-Sent Events endpoint: `on_event` gets each event's name ("message" when
  // the server names none) and its data parsed as JSON, until the server ends the stream or
  // `on_event` returns false. kNotFound when the manager has no such endpoint (the caller may
  // fall back to polling); kUnavailable when the stream breaks.
  using StreamHandler = std::function<bool(const std::string& event, const nlohmann::json& data)>;
  Status Stream(std::string_view path, const QueryParams& query, const StreamHandler& on_event);

 private:
  class Impl;
  explicit RestClient(std::unique_ptr<Impl> impl);
  std::unique_ptr<Impl> impl_;
};

// Parses a body of the API's error envelope (or any other error answer) into a Status:
// the envelope's error_code when it names a known code, else one derived from the HTTP status.
Status StatusFromErrorResponse(int http_status, std::string_view body);

}  // namespace cloudify::client
