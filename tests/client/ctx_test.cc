#include "cloudify/client/ctx.h"

#include <sstream>

#include <doctest/doctest.h>

namespace cloudify::client {
namespace {

using nlohmann::json;

constexpr const char* kUrl = "unix:///run/op/ctx.sock";

CtxCommand Parse(const std::vector<std::string>& args, const char* url = kUrl,
                 const char* token = "tok") {
  auto parsed = ParseCtxCommandLine(args, url, token);
  REQUIRE_MESSAGE(parsed.ok(), parsed.status().ToString());
  return *parsed;
}

TEST_CASE("ctx command line: the plain forms are sent as strings") {
  const std::vector<std::vector<std::string>> forms = {
      {"logger", "info", "hello world"},
      {"logger", "debug", "d"},
      {"logger", "warning", "w"},
      {"logger", "error", "e"},
      {"instance", "id"},
      {"instance", "runtime-properties"},
      {"instance", "runtime-properties", "a.b[0].c"},
      {"instance", "runtime-properties", "a.b[0].c", "value"},
      {"node", "id"},
      {"node", "name"},
      {"node", "type"},
      {"node", "properties", "port"},
      {"source", "instance", "runtime-properties", "x"},
      {"target", "node", "properties", "name"},
      {"deployment", "id"},
      {"execution-id"},
      {"workflow-id"},
      {"operation", "name"},
      {"download-resource", "files/a.conf", "/tmp/a.conf"},
      {"download-resource-and-render", "files/a.conf"},
      {"returns", "done"},
      {"abort_operation", "broken"},
      {"retry_operation", "later", "5"},
  };
  for (const auto& form : forms) {
    CtxCommand c = Parse(form);
    CHECK(c.args == json(form));
    CHECK(c.socket_url == kUrl);
    CHECK(c.token == "tok");
    CHECK_FALSE(c.json_output);
    CHECK(c.timeout == std::chrono::seconds(30));
  }
}

TEST_CASE("ctx command line: @ arguments are JSON and -j prints JSON and options go anywhere") {
  CtxCommand c = Parse({"-j", "instance", "runtime-properties", "k", R"(@{"a": [1, 2]})"});
  CHECK(c.json_output);
  CHECK(c.args == json::array({"instance", "runtime-properties", "k", {{"a", {1, 2}}}}));

  c = Parse({"instance", "runtime-properties", "n", "@14", "--json-output"});
  CHECK(c.args[3] == 14);
  CHECK(c.json_output);

  c = Parse({"returns", "@true"});
  CHECK(c.args[1] == true);

  c = Parse({"--json-arg-prefix", "%", "returns", "%[1]", "@notjson"});
  CHECK(c.args == json::array({"returns", json::array({1}), "@notjson"}));

  c = Parse({"-t", "5", "--socket-url", "unix:///other", "--token", "t2", "node", "id"});
  CHECK(c.timeout == std::chrono::seconds(5));
  CHECK(c.socket_url == "unix:///other");
  CHECK(c.token == "t2");
  CHECK(c.args == json::array({"node", "id"}));

  c = Parse({"-t7", "--timeout=9", "node", "id"});
  CHECK(c.timeout == std::chrono::seconds(9));

  // Messages that start with '-' and anything after "--" are arguments.
  c = Parse({"logger", "info", "-5", "--- done ---"});
  CHECK(c.args == json::array({"logger", "info", "-5", "--- done ---"}));
  c = Parse({"--", "logger", "info", "-j"});
  CHECK(c.args == json::array({"logger", "info", "-j"}));
  CHECK_FALSE(c.json_output);
}

TEST_CASE("ctx command line: errors") {
  auto bad_json = ParseCtxCommandLine({"returns", "@{oops"}, kUrl, "t");
  REQUIRE_FALSE(bad_json.ok());
  CHECK(bad_json.status().code() == ErrorCode::kBadParameters);
  CHECK(bad_json.status().message().find("@{oops") != std::string::npos);

  auto no_url = ParseCtxCommandLine({"node", "id"}, nullptr, nullptr);
  REQUIRE_FALSE(no_url.ok());
  CHECK(no_url.status().message().find("CTX_SOCKET_URL") != std::string::npos);

  CHECK_FALSE(ParseCtxCommandLine({"-t", "zero", "node", "id"}, kUrl, "t").ok());
  CHECK_FALSE(ParseCtxCommandLine({"-t", "0", "node", "id"}, kUrl, "t").ok());
  CHECK_FALSE(ParseCtxCommandLine({"node", "id", "--timeout"}, kUrl, "t").ok());
}

TEST_CASE("ctx output: Python str() of the payload or JSON with -j") {
  CHECK(FormatCtxPayload("vm_abc123", false) == "vm_abc123");
  CHECK(FormatCtxPayload(nullptr, false).empty());
  CHECK(FormatCtxPayload(false, false).empty());
  CHECK(FormatCtxPayload(0, false).empty());
  CHECK(FormatCtxPayload(json::object(), false).empty());
  CHECK(FormatCtxPayload(true, false) == "True");
  CHECK(FormatCtxPayload(8080, false) == "8080");
  CHECK(FormatCtxPayload(1.5, false) == "1.5");
  CHECK(FormatCtxPayload(json{{"a", 1}, {"b", {true, nullptr, "x'y"}}}, false) ==
        R"({'a': 1, 'b': [True, None, "x'y"]})");
  CHECK(FormatCtxPayload(json::array({"it's \"q\""}), false) == R"(['it\'s "q"'])");
  CHECK(FormatCtxPayload(json{{"a", 1}}, true) == R"({"a":1})");
  CHECK(FormatCtxPayload("s", true) == R"("s")");
  CHECK(FormatCtxPayload(nullptr, true) == "null");
}

TEST_CASE("ctx: an unreachable proxy is an error and not a hang") {
  CtxCommand c = Parse({"node", "id"}, "unix:///nonexistent/cloudify/ctx.sock");
  auto response = SendCtxRequest(c);
  REQUIRE_FALSE(response.ok());
  CHECK(response.status().code() == ErrorCode::kUnavailable);

  c = Parse({"node", "id"}, "http://localhost:1");
  auto http = SendCtxRequest(c);
  REQUIRE_FALSE(http.ok());
  CHECK(http.status().code() == ErrorCode::kBadParameters);

  std::ostringstream out, err;
  CHECK(RunCtxCommand({"--socket-url", "unix:///nonexistent/ctx.sock", "node", "id"}, out, err) ==
        1);
  CHECK(out.str().empty());
  CHECK(err.str().find("cannot reach") != std::string::npos);
  CHECK(RunCtxCommand({"--socket-url", "unix:///x", "returns", "@{"}, out, err) == 2);
}

}  // namespace
}  // namespace cloudify::client
