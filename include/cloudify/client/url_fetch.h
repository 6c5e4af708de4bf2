// FetchUrl: the body of an http:// or https:// URL, for what a blueprint names by URL (a
// script operation's `implementation: http://.../create.sh`, a remote import). Host programs
// hand it to the library as ManagerOptions::url_fetcher; libcloudify itself links no HTTP
// client.
//
// Thread-safety: FetchUrl may be called from many threads at once.
#pragma once

#include <chrono>
#include <cstddef>
#include <string>

#include "cloudify/status.h"

namespace cloudify::client {

struct FetchOptions {
  // For connecting, and for each read. Default: 30 s.
  std::chrono::milliseconds timeout = std::chrono::seconds(30);
  // A larger body is refused. Default: 64 MiB.
  size_t max_bytes = 64 * 1024 * 1024;
  // https: check the server's certificate against the system's CAs. Default: true.
  bool verify_certificate = true;
};

// GETs `url`, following redirects. kBadParameters for a URL that is not http(s)://host/...;
// kNotFound for a 404; kUnavailable when the server cannot be reached, times out, or answers
// with another error status; kPayloadTooLarge for a body over max_bytes.
Result<std::string> FetchUrl(const std::string& url, const FetchOptions& options = {});

}  // namespace cloudify::client
