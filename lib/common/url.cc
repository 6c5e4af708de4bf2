#include "cloudify/url.h"

#include <charconv>

namespace cloudify {
namespace {

int HexValue(char c) {
  if (c >= '0' && c <= '9') {
    return c - '0';
  }
  if (c >= 'a' && c <= 'f') {
    return c - 'a' + 10;
  }
  if (c >= 'A' && c <= 'F') {
    return c - 'A' + 10;
  }
  return -1;
}

bool IsSchemeChar(char c, bool first) {
  bool alpha = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z');
  return alpha || (!first && ((c >= '0' && c <= '9') || c == '+' || c == '-' || c == '.'));
}

}  // namespace

Result<std::string> PercentDecode(std::string_view text) {
  std::string out;
  out.reserve(text.size());
  for (size_t i = 0; i < text.size(); ++i) {
    if (text[i] != '%') {
      out += text[i];
      continue;
    }
    int hi = i + 2 < text.size() ? HexValue(text[i + 1]) : -1;
    int lo = i + 2 < text.size() ? HexValue(text[i + 2]) : -1;
    if (hi < 0 || lo < 0) {
      return BadParametersError("malformed percent-escape in '" + std::string(text) + "'");
    }
    out += static_cast<char>(hi * 16 + lo);
    i += 2;
  }
  return out;
}

std::string Url::Redacted() const {
  std::string out = scheme + "://";
  if (!user.empty() || !password.empty()) {
    out += user;
    if (!password.empty()) {
      out += ":***";
    }
    out += '@';
  }
  out += host.find(':') != std::string::npos && host != ":memory:" ? "[" + host + "]" : host;
  if (port != 0) {
    out += ":" + std::to_string(port);
  }
  out += path;
  for (size_t i = 0; i < query.size(); ++i) {
    out += (i == 0 ? '?' : '&') + query[i].first + "=" + query[i].second;
  }
  return out;
}

Result<Url> ParseUrl(std::string_view text) {
  const std::string quoted = "'" + std::string(text) + "'";
  size_t sep = text.find("://");
  if (sep == std::string_view::npos || sep == 0) {
    return BadParametersError("invalid URL " + quoted + ": expected <scheme>://...");
  }
  Url url;
  for (size_t i = 0; i < sep; ++i) {
    if (!IsSchemeChar(text[i], i == 0)) {
      return BadParametersError("invalid URL " + quoted + ": bad scheme");
    }
    char c = text[i];
    url.scheme += (c >= 'A' && c <= 'Z') ? static_cast<char>(c - 'A' + 'a') : c;
  }
  std::string_view rest = text.substr(sep + 3);

  std::string_view query;
  if (size_t q = rest.find('?'); q != std::string_view::npos) {
    query = rest.substr(q + 1);
    rest = rest.substr(0, q);
  }
  // sqlite://:memory: has no path; everything else splits authority from path at the first '/'.
  std::string_view authority = rest;
  std::string_view path;
  if (size_t slash = rest.find('/'); slash != std::string_view::npos) {
    authority = rest.substr(0, slash);
    path = rest.substr(slash);
  }

  if (size_t at = authority.rfind('@'); at != std::string_view::npos) {
    std::string_view userinfo = authority.substr(0, at);
    authority = authority.substr(at + 1);
    std::string_view user = userinfo;
    std::string_view password;
    if (size_t colon = userinfo.find(':'); colon != std::string_view::npos) {
      user = userinfo.substr(0, colon);
      password = userinfo.substr(colon + 1);
    }
    CLOUDIFY_ASSIGN_OR_RETURN(url.user, PercentDecode(user));
    CLOUDIFY_ASSIGN_OR_RETURN(url.password, PercentDecode(password));
  }

  std::string_view port;
  if (!authority.empty() && authority.front() == '[') {
    size_t close = authority.find(']');
    if (close == std::string_view::npos) {
      return BadParametersError("invalid URL " + quoted + ": unterminated IPv6 address");
    }
    url.host = std::string(authority.substr(1, close - 1));
    std::string_view after = authority.substr(close + 1);
    if (!after.empty()) {
      if (after.front() != ':') {
        return BadParametersError("invalid URL " + quoted + ": junk after IPv6 address");
      }
      port = after.substr(1);
    }
  } else if (authority == ":memory:") {
    url.host = std::string(authority);
  } else if (size_t colon = authority.rfind(':'); colon != std::string_view::npos) {
    url.host = std::string(authority.substr(0, colon));
    port = authority.substr(colon + 1);
  } else {
    url.host = std::string(authority);
  }
  if (!port.empty()) {
    int value = 0;
    auto [end, ec] = std::from_chars(port.data(), port.data() + port.size(), value);
    if (ec != std::errc() || end != port.data() + port.size() || value <= 0 || value > 65535) {
      return BadParametersError("invalid URL " + quoted + ": bad port '" + std::string(port) + "'");
    }
    url.port = value;
  }
  CLOUDIFY_ASSIGN_OR_RETURN(url.path, PercentDecode(path));

  while (!query.empty()) {
    size_t amp = query.find('&');
    std::string_view pair = query.substr(0, amp);
    query = amp == std::string_view::npos ? std::string_view() : query.substr(amp + 1);
    if (pair.empty()) {
      continue;
    }
    size_t eq = pair.find('=');
    CLOUDIFY_ASSIGN_OR_RETURN(std::string key, PercentDecode(pair.substr(0, eq)));
    std::string value;
    if (eq != std::string_view::npos) {
      CLOUDIFY_ASSIGN_OR_RETURN(value, PercentDecode(pair.substr(eq + 1)));
    }
    url.query.emplace_back(std::move(key), std::move(value));
  }
  return url;
}

}  // namespace cloudify
