#include "cloudify/client/ctx.h"

#include <cerrno>
#include <charconv>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <optional>

#include <poll.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

namespace cloudify::client {
namespace {

using nlohmann::json;

// An answer larger than this is not the proxy's (payloads are runtime properties, node
// properties and paths).
constexpr size_t kMaxResponseBytes = 64 * 1024 * 1024;

class Fd {
 public:
  explicit Fd(int fd) : fd_(fd) {}
  ~Fd() {
    if (fd_ >= 0) {
      close(fd_);
    }
  }
  Fd(const Fd&) = delete;
  Fd& operator=(const Fd&) = delete;
  int get() const { return fd_; }

 private:
  int fd_;
};

bool StartsWith(std::string_view s, std::string_view prefix) {
  return s.substr(0, prefix.size()) == prefix;
}

Result<std::chrono::milliseconds> ParseTimeout(const std::string& text) {
  int seconds = 0;
  auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), seconds);
  if (ec != std::errc() || end != text.data() + text.size() || seconds <= 0) {
    return BadParametersError("ctx: the timeout must be a positive number of seconds, got '" +
                              text + "'");
  }
  return std::chrono::milliseconds(std::chrono::seconds(seconds));
}

// Python's repr() of a string: single quotes unless the text holds one and no double quote.
void PythonStringRepr(const std::string& s, std::string& out) {
  const bool has_single = s.find('\'') != std::string::npos;
  const bool has_double = s.find('"') != std::string::npos;
  const char quote = has_single && !has_double ? '"' : '\'';
  out.push_back(quote);
  for (unsigned char c : s) {
    switch (c) {
      case '\\':
        out += "\\\\";
        break;
      case '\n':
        out += "\\n";
        break;
      case '\r':
        out += "\\r";
        break;
      case '\t':
        out += "\\t";
        break;
      default:
        if (c == static_cast<unsigned char>(quote)) {
          out.push_back('\\');
          out.push_back(static_cast<char>(c));
        } else if (c < 0x20 || c == 0x7f) {
          char buf[8];
          std::snprintf(buf, sizeof buf, "\\x%02x", c);
          out += buf;
        } else {
          out.push_back(static_cast<char>(c));  // UTF-8 passes through, as Python 3 prints it
        }
    }
  }
  out.push_back(quote);
}

void PythonRepr(const json& v, std::string& out) {
  switch (v.type()) {
    case json::value_t::null:
      out += "None";
      break;
    case json::value_t::boolean:
      out += v.get<bool>() ? "True" : "False";
      break;
    case json::value_t::string:
      PythonStringRepr(v.get_ref<const std::string&>(), out);
      break;
    case json::value_t::array: {
      out.push_back('[');
      bool first = true;
      for (const auto& item : v) {
        out += first ? "" : ", ";
        first = false;
        PythonRepr(item, out);
      }
      out.push_back(']');
      break;
    }
    case json::value_t::object: {
      out.push_back('{');
      bool first = true;
      for (const auto& [key, item] : v.items()) {
        out += first ? "" : ", ";
        first = false;
        PythonStringRepr(key, out);
        out += ": ";
        PythonRepr(item, out);
      }
      out.push_back('}');
      break;
    }
    default:
      out += v.dump();  // numbers: the same digits Python prints
  }
}

bool Falsy(const json& v) {
  switch (v.type()) {
    case json::value_t::null:
      return true;
    case json::value_t::boolean:
      return !v.get<bool>();
    case json::value_t::string:
    case json::value_t::array:
    case json::value_t::object:
      return v.empty();
    case json::value_t::number_integer:
    case json::value_t::number_unsigned:
      return v.get<int64_t>() == 0;
    case json::value_t::number_float:
      return v.get<double>() == 0.0;
    default:
      return false;
  }
}

// Waits until `fd` is ready for `events` or the deadline passes.
bool WaitFor(int fd, short events, std::chrono::steady_clock::time_point deadline) {
  for (;;) {
    auto left = std::chrono::duration_cast<std::chrono::milliseconds>(
        deadline - std::chrono::steady_clock::now());
    if (left.count() <= 0) {
      return false;
    }
    pollfd p{fd, events, 0};
    int n = poll(&p, 1, static_cast<int>(left.count()));
    if (n > 0) {
      return true;
    }
    if (n < 0 && errno != EINTR) {
      return false;
    }
  }
}

}  // namespace

Result<CtxCommand> ParseCtxCommandLine(const std::vector<std::string>& args,
                                       const char* env_socket_url, const char* env_token) {
  CtxCommand command;
  command.socket_url = env_socket_url != nullptr ? env_socket_url : "";
  command.token = env_token != nullptr ? env_token : "";
  std::string json_prefix = "@";
  std::vector<std::string> positional;
  bool options_done = false;
  for (size_t i = 0; i < args.size(); ++i) {
    const std::string& arg = args[i];
    if (options_done || arg.size() < 2 || arg[0] != '-') {
      positional.push_back(arg);
      continue;
    }
    if (arg == "--") {
      options_done = true;
      continue;
    }
    // "--name=value", "--name value", "-tVALUE", "-t VALUE".
    std::string name = arg;
    std::optional<std::string> inline_value;
    if (StartsWith(arg, "--")) {
      if (size_t eq = arg.find('='); eq != std::string::npos) {
        name = arg.substr(0, eq);
        inline_value = arg.substr(eq + 1);
      }
    } else if (arg.size() > 2 && arg[1] == 't') {
      name = "-t";
      inline_value = arg.substr(2);
    }
    auto value = [&]() -> Result<std::string> {
      if (inline_value) {
        return *inline_value;
      }
      if (i + 1 >= args.size()) {
        return BadParametersError("ctx: option " + name + " needs a value");
      }
      return args[++i];
    };
    if (name == "-t" || name == "--timeout") {
      CLOUDIFY_ASSIGN_OR_RETURN(std::string text, value());
      CLOUDIFY_ASSIGN_OR_RETURN(command.timeout, ParseTimeout(text));
    } else if (name == "--socket-url") {
      CLOUDIFY_ASSIGN_OR_RETURN(command.socket_url, value());
    } else if (name == "--token") {
      CLOUDIFY_ASSIGN_OR_RETURN(command.token, value());
    } else if (name == "--json-arg-prefix") {
      CLOUDIFY_ASSIGN_OR_RETURN(json_prefix, value());
    } else if ((name == "-j" || name == "--json-output") && !inline_value) {
      command.json_output = true;
    } else {
      // Not an option of ctx: an argument that happens to start with '-' (a message, a
      // negative number).
      positional.push_back(arg);
    }
  }
  if (command.socket_url.empty()) {
    return BadParametersError(
        "ctx: missing CTX_SOCKET_URL environment variable or --socket-url argument");
  }
  for (const std::string& arg : positional) {
    if (!json_prefix.empty() && StartsWith(arg, json_prefix)) {
      json value = json::parse(arg.substr(json_prefix.size()), nullptr, /*allow_exceptions=*/false);
      if (value.is_discarded()) {
        return BadParametersError("ctx: argument '" + arg + "' starts with '" + json_prefix +
                                  "' but the rest is not JSON");
      }
      command.args.push_back(std::move(value));
    } else {
      command.args.push_back(arg);
    }
  }
  return command;
}

Result<CtxResponse> SendCtxRequest(const CtxCommand& command) {
  constexpr std::string_view kScheme = "unix://";
  if (!StartsWith(command.socket_url, kScheme)) {
    return BadParametersError("ctx: unsupported socket URL '" + command.socket_url +
                              "' (expected unix://<path>)");
  }
  const std::string path = command.socket_url.substr(kScheme.size());
  sockaddr_un addr{};
  addr.sun_family = AF_UNIX;
  if (path.empty() || path.size() >= sizeof addr.sun_path) {
    return BadParametersError("ctx: bad socket path '" + path + "'");
  }
  std::memcpy(addr.sun_path, path.data(), path.size());
  Fd fd(socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0));
  if (fd.get() < 0) {
    return InternalError(std::string("ctx: socket: ") + std::strerror(errno));
  }
  if (connect(fd.get(), reinterpret_cast<const sockaddr*>(&addr), sizeof addr) != 0) {
    return Status(ErrorCode::kUnavailable, "ctx: cannot reach the ctx proxy at " + path + ": " +
                                               std::strerror(errno) +
                                               " (has the operation ended?)");
  }
  const auto deadline = std::chrono::steady_clock::now() + command.timeout;
  const std::string request = json{{"args", command.args}, {"token", command.token}}.dump(
      -1, ' ', false, json::error_handler_t::replace);
  size_t sent = 0;
  while (sent < request.size()) {
    if (!WaitFor(fd.get(), POLLOUT, deadline)) {
      return Status(ErrorCode::kUnavailable, "ctx: timed out sending the request");
    }
    ssize_t n = send(fd.get(), request.data() + sent, request.size() - sent, MSG_NOSIGNAL);
    if (n < 0) {
      if (errno == EINTR || errno == EAGAIN) {
        continue;
      }
      return Status(ErrorCode::kUnavailable,
                    std::string("ctx: sending the request: ") + std::strerror(errno));
    }
    sent += static_cast<size_t>(n);
  }
  shutdown(fd.get(), SHUT_WR);
  std::string answer;
  char buffer[16 * 1024];
  for (;;) {
    if (!WaitFor(fd.get(), POLLIN, deadline)) {
      return Status(ErrorCode::kUnavailable, "ctx: timed out waiting for the answer");
    }
    ssize_t n = recv(fd.get(), buffer, sizeof buffer, 0);
    if (n == 0) {
      break;
    }
    if (n < 0) {
      if (errno == EINTR || errno == EAGAIN) {
        continue;
      }
      return Status(ErrorCode::kUnavailable,
                    std::string("ctx: reading the answer: ") + std::strerror(errno));
    }
    answer.append(buffer, static_cast<size_t>(n));
    if (answer.size() > kMaxResponseBytes) {
      return InternalError("ctx: the answer is larger than 64 MiB");
    }
  }
  json parsed = json::parse(answer, nullptr, /*allow_exceptions=*/false);
  if (parsed.is_discarded() || !parsed.is_object() || !parsed.contains("type") ||
      !parsed["type"].is_string()) {
    return InternalError("ctx: the proxy's answer is not a ctx response" +
                         (answer.empty() ? std::string(" (empty)") : ""));
  }
  CtxResponse response;
  response.type = parsed["type"].get<std::string>();
  response.payload = parsed.value("payload", json());
  return response;
}

std::string FormatCtxPayload(const json& payload, bool json_output) {
  if (json_output) {
    return payload.dump(-1, ' ', false, json::error_handler_t::replace);
  }
  if (Falsy(payload)) {
    return "";
  }
  if (payload.is_string()) {
    return payload.get<std::string>();
  }
  std::string out;
  PythonRepr(payload, out);
  return out;
}

int RunCtxCommand(const std::vector<std::string>& args, std::ostream& out, std::ostream& err) {
  auto command =
      ParseCtxCommandLine(args, std::getenv(kCtxSocketUrlEnv), std::getenv(kCtxTokenEnv));
  if (!command.ok()) {
    err << command.status().message() << "\n";
    return 2;
  }
  auto response = SendCtxRequest(*command);
  if (!response.ok()) {
    err << response.status().message() << "\n";
    return 1;
  }
  if (response->type == "result") {
    out << FormatCtxPayload(response->payload, command->json_output);
    out.flush();
    return 0;
  }
  const json& p = response->payload;
  std::string message = p.is_object() ? p.value("message", std::string()) : p.dump();
  if (response->type == "stop_operation") {
    err << message << "\n";
  } else {
    const std::string type = p.is_object() ? p.value("type", std::string("Error")) : "Error";
    err << "ctx: " << type << ": " << message << "\n";
  }
  return 1;
}

}  // namespace cloudify::client
