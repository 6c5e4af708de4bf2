// Backend URLs: the form in which a Store, a Bus or a listen address is chosen at run time,
// e.g. "sqlite:///var/lib/cloudify/db.sqlite", "sqlite://:memory:",
// "postgresql://user:pass@host:5432/db", "inproc://", "amqp://user:pass@host:5672/vhost".
//
// Parsing splits scheme, user info, host, port, path and query and percent-decodes the user,
// password and path; what each scheme makes of the parts is its factory's business.
#pragma once

#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "cloudify/status.h"

namespace cloudify {

struct Url {
  std::string scheme;    // lowercased, e.g. "postgresql"
  std::string user;      // percent-decoded; empty when absent
  std::string password;  // percent-decoded; empty when absent
  std::string host;      // without brackets for IPv6; ":memory:" for sqlite://:memory:
  int port = 0;          // 0 when absent
  std::string path;      // percent-decoded, with its leading '/'; empty when absent
  std::vector<std::pair<std::string, std::string>> query;  // decoded, in order

  // The URL with the password replaced by "***", for logs and error messages.
  std::string Redacted() const;
};

// kBadParameters with the reason for text that is not "<scheme>://..." or has a bad port or
// percent-escape.
Result<Url> ParseUrl(std::string_view text);

// Decodes %XX escapes (and nothing else). kBadParameters on a malformed escape.
Result<std::string> PercentDecode(std::string_view text);

}  // namespace cloudify
