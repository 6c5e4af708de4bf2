#include "cloudify/client/rest_client.h"

#include <utility>

#include <httplib.h>

namespace cloudify::client {
namespace {

using nlohmann::json;

constexpr int kDefaultHttpPort = 53333;
constexpr int kDefaultHttpsPort = 443;

bool IsRootPath(std::string_view path) {
  return path.rfind("/api/", 0) == 0 || path.rfind("/resources/", 0) == 0;
}

// HTTP statuses the API answers without an envelope (or with an unknown code), as codes.
ErrorCode CodeForHttpStatus(int status) {
  switch (status) {
    case 400:
      return ErrorCode::kBadParameters;
    case 401:
      return ErrorCode::kUnauthorized;
    case 403:
      return ErrorCode::kForbidden;
    case 404:
      return ErrorCode::kNotFound;
    case 405:
      return ErrorCode::kMethodNotAllowed;
    case 409:
      return ErrorCode::kConflict;
    case 413:
      return ErrorCode::kPayloadTooLarge;
    case 415:
      return ErrorCode::kUnsupportedContentType;
    case 503:
      return ErrorCode::kUnavailable;
    default:
      return ErrorCode::kInternal;
  }
}

}  // namespace

Status StatusFromErrorResponse(int http_status, std::string_view body) {
  json envelope = json::parse(body, nullptr, /*allow_exceptions=*/false);
  std::string message;
  std::optional<ErrorCode> code;
  if (envelope.is_object()) {
    for (const char* key : {"message", "detail"}) {
      auto it = envelope.find(key);
      if (it != envelope.end() && it->is_string()) {
        message = it->get<std::string>();
        break;
      }
    }
    auto it = envelope.find("error_code");
    if (it != envelope.end() && it->is_string()) {
      code = ErrorCodeFromName(it->get<std::string>());
    }
  }
  if (message.empty()) {
    message = "HTTP " + std::to_string(http_status);
    if (!body.empty() && body.size() < 200) {
      message += ": " + std::string(body);
    }
  }
  return Status(code.value_or(CodeForHttpStatus(http_status)), std::move(message));
}

class RestClient::Impl {
 public:
  explicit Impl(ClientOptions options) : options_(std::move(options)) {
    if (options_.port == 0) {
      options_.port = options_.ssl ? kDefaultHttpsPort : kDefaultHttpPort;
    }
    http_ = std::make_unique<httplib::Client>(BaseUrl());
    const auto seconds = std::chrono::duration_cast<std::chrono::seconds>(options_.timeout);
    const auto micros =
        std::chrono::duration_cast<std::chrono::microseconds>(options_.timeout - seconds);
    http_->set_connection_timeout(seconds.count(), micros.count());
    http_->set_read_timeout(seconds.count(), micros.count());
    http_->set_write_timeout(seconds.count(), micros.count());
    http_->set_keep_alive(true);
    // Without it each small request waits ~40 ms for the delayed ACK.
    http_->set_tcp_nodelay(true);
    if (options_.ssl) {
      http_->enable_server_certificate_verification(options_.verify_certificate);
      if (!options_.ca_cert.empty()) {
        http_->set_ca_cert_path(options_.ca_cert.c_str());
      }
    }
    if (options_.token.empty() && !options_.username.empty()) {
      http_->set_basic_auth(options_.username.c_str(), options_.password.c_str());
    }
  }

  std::string BaseUrl() const {
    return std::string(options_.ssl ? "https://" : "http://") + options_.host + ":" +
           std::to_string(options_.port);
  }

  std::string Url(std::string_view path, const QueryParams& query, bool allow_root) const {
    std::string url = allow_root && IsRootPath(path)
                          ? std::string(path)
                          : "/api/" + options_.api_version + std::string(path);
    if (!query.empty()) {
      httplib::Params params;
      for (const auto& [key, value] : query) {
        params.emplace(key, value);
      }
      url = httplib::append_query_params(url, params);
    }
    return url;
  }

  httplib::Headers Headers() const {
    httplib::Headers headers;
    if (!options_.token.empty()) {
      headers.emplace("Authentication-Token", options_.token);
    }
    if (!options_.tenant.empty()) {
      headers.emplace("Tenant", options_.tenant);
    }
    return headers;
  }

  Status Unreachable(httplib::Error error) const {
    std::string why;
    switch (error) {
      case httplib::Error::Connection:
        why = "connection refused or host unreachable";
        break;
      case httplib::Error::ConnectionTimeout:
        why = "connection timed out";
        break;
      case httplib::Error::Read:
        why = "no answer (read failed or timed out)";
        break;
      case httplib::Error::SSLConnection:
      case httplib::Error::SSLServerVerification:
        why = "TLS handshake failed (" + httplib::to_string(error) + ")";
        break;
      default:
        why = httplib::to_string(error);
    }
    return Status(ErrorCode::kUnavailable, "cannot reach the manager at " + BaseUrl() + ": " + why);
  }

  // The decoded JSON body of a 2xx answer, or the error it carries.
  Result<json> Decode(const httplib::Result& result) const {
    if (!result) {
      return Unreachable(result.error());
    }
    if (result->status < 200 || result->status >= 300) {
      return StatusFromErrorResponse(result->status, result->body);
    }
    if (result->body.empty()) {
      return json();
    }
    json body = json::parse(result->body, nullptr, /*allow_exceptions=*/false);
    if (body.is_discarded()) {
      return Status(ErrorCode::kInternal,
                    "the manager at " + BaseUrl() + " answered with a body that is not JSON");
    }
    return body;
  }

  Result<json> SendJson(const std::string& method, std::string_view path, const json* body,
                        const QueryParams& query) {
    const std::string url = Url(path, query, /*allow_root=*/false);
    httplib::Headers headers = Headers();
    const std::string text = body != nullptr ? body->dump() : std::string();
    constexpr const char* kJson = "application/json";
    if (method == "GET") {
      return Decode(http_->Get(url, headers));
    }
    if (method == "DELETE") {
      return Decode(http_->Delete(url, headers));
    }
    if (method == "PUT") {
      return Decode(http_->Put(url, headers, text, kJson));
    }
    if (method == "POST") {
      return Decode(http_->Post(url, headers, text, kJson));
    }
    return Decode(http_->Patch(url, headers, text, kJson));
  }

  ClientOptions options_;
  std::unique_ptr<httplib::Client> http_;
};

RestClient::RestClient(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}
RestClient::~RestClient() = default;

Result<std::unique_ptr<RestClient>> RestClient::Create(ClientOptions options) {
  if (options.host.empty()) {
    return BadParametersError("the manager's host is empty");
  }
  if (options.port < 0 || options.port > 65535) {
    return BadParametersError("port " + std::to_string(options.port) + " is out of range");
  }
  return std::unique_ptr<RestClient>(new RestClient(std::make_unique<Impl>(std::move(options))));
}

const ClientOptions& RestClient::options() const { return impl_->options_; }
std::string RestClient::BaseUrl() const { return impl_->BaseUrl(); }

Result<json> RestClient::Get(std::string_view path, const QueryParams& query) {
  return impl_->SendJson("GET", path, nullptr, query);
}
Result<json> RestClient::Delete(std::string_view path, const QueryParams& query) {
  return impl_->SendJson("DELETE", path, nullptr, query);
}
Result<json> RestClient::Put(std::string_view path, const json& body, const QueryParams& query) {
  return impl_->SendJson("PUT", path, &body, query);
}
Result<json> RestClient::Post(std::string_view path, const json& body, const QueryParams& query) {
  return impl_->SendJson("POST", path, &body, query);
}
Result<json> RestClient::Patch(std::string_view path, const json& body, const QueryParams& query) {
  return impl_->SendJson("PATCH", path, &body, query);
}

Result<json> RestClient::PostBytes(std::string_view path, std::string_view body,
                                   const std::string& content_type, const QueryParams& query) {
  return impl_->Decode(impl_->http_->Post(impl_->Url(path, query, false), impl_->Headers(),
                                          body.data(), body.size(), content_type));
}

Result<json> RestClient::PutForm(std::string_view path, const std::vector<FormPart>& parts,
                                 const QueryParams& query) {
  httplib::MultipartFormDataItems items;
  items.reserve(parts.size());
  for (const FormPart& part : parts) {
    items.push_back({part.name, part.content, part.filename, part.content_type});
  }
  return impl_->Decode(impl_->http_->Put(impl_->Url(path, query, false), impl_->Headers(), items));
}

Result<ListPage> RestClient::List(std::string_view path, const QueryParams& query) {
  CLOUDIFY_ASSIGN_OR_RETURN(json body, Get(path, query));
  const json* items = body.is_object() && body.contains("items") ? &body["items"] : nullptr;
  if (items == nullptr || !items->is_array()) {
    return Status(ErrorCode::kInternal,
                  "the answer of " + std::string(path) + " is not a list (no items)");
  }
  ListPage page;
  page.items = std::move(*items);
  const json pagination = body.value("metadata", json::object()).value("pagination", json());
  if (pagination.is_object()) {
    page.total = pagination.value("total", int64_t{0});
    page.size = pagination.value("size", int64_t{0});
    page.offset = pagination.value("offset", int64_t{0});
  } else {
    page.total = static_cast<int64_t>(page.items.size());
  }
  return page;
}

Result<std::string> RestClient::Download(std::string_view path, const QueryParams& query) {
  auto result = impl_->http_->Get(impl_->Url(path, query, true), impl_->Headers());
  if (!result) {
    return impl_->Unreachable(result.error());
  }
  if (result->status < 200 || result->status >= 300) {
    return StatusFromErrorResponse(result->status, result->body);
  }
  return std::move(result->body);
}

Status RestClient::Stream(std::string_view path, const QueryParams& query,
                          const StreamHandler& on_event) {
  // The SSE wire: "event: <name>" and "data: <json>" lines, an empty line ends an event
  // (comments start with ':').
  std::string pending;  // bytes not yet split into lines
  std::string name;     // the current event's name
  std::string data;     // the current event's data lines
  bool stopped = false;
  int status = 0;
  std::string error_body;
  auto deliver_line = [&](std::string_view line) {
    if (!line.empty() && line.back() == '\r') {
      line.remove_suffix(1);
    }
    if (line.empty()) {
      if (!data.empty()) {
        json event = json::parse(data, nullptr, /*allow_exceptions=*/false);
        if (!event.is_discarded() && !on_event(name.empty() ? "message" : name, event)) {
          stopped = true;
        }
      }
      data.clear();
      name.clear();
      return;
    }
    if (line.rfind("event:", 0) == 0) {
      line.remove_prefix(6);
      if (!line.empty() && line.front() == ' ') {
        line.remove_prefix(1);
      }
      name = line;
    } else if (line.rfind("data:", 0) == 0) {
      line.remove_prefix(5);
      if (!line.empty() && line.front() == ' ') {
        line.remove_prefix(1);
      }
      if (!data.empty()) {
        data += '\n';
      }
      data.append(line);
    }
  };
  httplib::Headers headers = impl_->Headers();
  headers.emplace("Accept", "text/event-stream");
  auto result = impl_->http_->Get(
      impl_->Url(path, query, true), headers,
      [&](const httplib::Response& response) {
        status = response.status;
        return true;
      },
      [&](const char* bytes, size_t length) {
        if (status < 200 || status >= 300) {
          error_body.append(bytes, length);
          return error_body.size() < 64 * 1024;
        }
        pending.append(bytes, length);
        size_t start = 0;
        for (size_t end; !stopped && (end = pending.find('\n', start)) != std::string::npos;
             start = end + 1) {
          deliver_line(std::string_view(pending).substr(start, end - start));
        }
        pending.erase(0, start);
        return !stopped;
      });
  if (stopped) {
    return Status::Ok();
  }
  if (status != 0 && (status < 200 || status >= 300)) {
    return StatusFromErrorResponse(status, error_body);
  }
  if (!result) {
    return impl_->Unreachable(result.error());
  }
  return Status::Ok();
}

}  // namespace cloudify::client
