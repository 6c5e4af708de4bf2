#include "cloudify/client/url_fetch.h"

#include <httplib.h>

#include "cloudify/url.h"

namespace cloudify::client {

Result<std::string> FetchUrl(const std::string& url, const FetchOptions& options) {
  CLOUDIFY_ASSIGN_OR_RETURN(Url parsed, ParseUrl(url));
  if ((parsed.scheme != "http" && parsed.scheme != "https") || parsed.host.empty()) {
    return BadParametersError("cannot fetch '" + parsed.Redacted() +
                              "': only http:// and https:// URLs with a host are fetched");
  }
  // The request target as written (ParseUrl decodes the path; the server wants it encoded).
  const size_t authority = url.find("://") + 3;
  const size_t slash = url.find_first_of("/?#", authority);
  std::string target = slash == std::string::npos ? "/" : url.substr(slash);
  target = target.substr(0, target.find('#'));
  if (target.empty() || target[0] != '/') {
    target = "/" + target;
  }
  httplib::Client http(url.substr(0, slash == std::string::npos ? url.size() : slash));
  const auto seconds = std::chrono::duration_cast<std::chrono::seconds>(options.timeout);
  const auto micros =
      std::chrono::duration_cast<std::chrono::microseconds>(options.timeout - seconds);
  http.set_connection_timeout(seconds.count(), micros.count());
  http.set_read_timeout(seconds.count(), micros.count());
  http.set_follow_location(true);
  http.set_tcp_nodelay(true);
  if (parsed.scheme == "https") {
    http.enable_server_certificate_verification(options.verify_certificate);
  }
  std::string body;
  bool too_large = false;
  auto response = http.Get(target, [&](const char* data, size_t length) {
    if (body.size() + length > options.max_bytes) {
      too_large = true;
      return false;  // stops the transfer
    }
    body.append(data, length);
    return true;
  });
  const std::string shown = parsed.Redacted();
  if (too_large) {
    return Status(ErrorCode::kPayloadTooLarge, "fetching " + shown + ": the body is larger than " +
                                                   std::to_string(options.max_bytes) + " bytes");
  }
  if (!response) {
    return Status(ErrorCode::kUnavailable,
                  "fetching " + shown + ": " + httplib::to_string(response.error()));
  }
  if (response->status == 404) {
    return NotFoundError("fetching " + shown + ": not found (HTTP 404)");
  }
  if (response->status < 200 || response->status >= 300) {
    return Status(ErrorCode::kUnavailable,
                  "fetching " + shown + ": HTTP " + std::to_string(response->status));
  }
  return body;
}

}  // namespace cloudify::client
