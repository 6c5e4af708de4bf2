#include "cloudify/dsl/functions.h"

#include <map>

#include <doctest/doctest.h>

namespace cloudify::dsl {
namespace {

using nlohmann::json;

// A run-time context over plain maps, like the workflow layer's would be over the store.
class MapContext : public FunctionContext {
 public:
  std::map<std::string, json> inputs;
  std::map<std::string, json> properties;
  std::map<std::string, json> runtime;  // instance id -> runtime properties
  std::map<std::string, std::string> secrets;
  std::vector<std::string> attribute_calls;

  Result<json> GetInput(const std::string& name) override {
    auto it = inputs.find(name);
    if (it == inputs.end()) {
      return Status(ErrorCode::kFunctionsEvaluation, "no input " + name);
    }
    return it->second;
  }
  Result<json> GetNodeProperties(const std::string& node) override {
    auto it = properties.find(node);
    if (it == properties.end()) {
      return Status(ErrorCode::kFunctionsEvaluation, "no node " + node);
    }
    return it->second;
  }
  Result<json> GetAttribute(const std::string& node, const std::string& instance,
                            const std::string& from, const json& path) override {
    attribute_calls.push_back(node + "/" + instance + "/" + from + "/" + path.dump());
    std::string id = instance.empty() ? node + "_1" : instance;
    json value = runtime[id];
    for (const auto& step : path) {
      value = value.is_object() && value.contains(step.get<std::string>())
                  ? value[step.get<std::string>()]
                  : json();
    }
    return value;
  }
  std::map<std::string, json> capabilities;  // "deployment/capability" -> value
  Result<json> GetCapability(const std::string& deployment,
                             const std::string& capability) override {
    auto it = capabilities.find(deployment + "/" + capability);
    if (it == capabilities.end()) {
      return Status(ErrorCode::kFunctionsEvaluation,
                    "no capability " + capability + " of " + deployment);
    }
    return it->second;
  }
  Result<json> GetSecret(const std::string& key) override {
    auto it = secrets.find(key);
    if (it == secrets.end()) {
      return Status(ErrorCode::kUnknownDeploymentSecret, "no secret " + key);
    }
    return json(it->second);
  }
};

TEST_CASE("Functions: recognising calls") {
  CHECK(IsFunctionCall(json::parse(R"({"get_input": "x"})")));
  CHECK_FALSE(IsFunctionCall(json::parse(R"({"get_input": "x", "other": 1})")));
  CHECK_FALSE(IsFunctionCall(json::parse(R"({"get_inputs": "x"})")));
  CHECK(ContainsFunctionCall(json::parse(R"({"a": [1, {"b": {"concat": ["x"]}}]})")));
  CHECK(IsRuntimeFunction("get_attribute"));
  CHECK(IsRuntimeFunction("get_secret"));
  CHECK_FALSE(IsRuntimeFunction("get_property"));
}

TEST_CASE("Functions: static evaluation leaves runtime calls for later") {
  MapContext context;
  context.inputs["port"] = 8080;
  context.inputs["settings"] = json::parse(R"({"a": [10, 20]})");
  context.properties["vm"] = json::parse(R"({"ip": "10.0.0.1", "name": {"get_input": "port"}})");
  FunctionScope scope;
  scope.self_node = "vm";
  json value = json::parse(R"({
    "url": {"concat": ["http://", {"get_property": ["SELF", "ip"]}, ":", {"get_input": "port"}]},
    "nested": {"get_input": ["settings", "a", 1]},
    "chained": {"get_property": ["vm", "name"]},
    "runtime": {"concat": ["x", {"get_attribute": ["SELF", "ip"]}]},
    "merged": {"merge": [{"a": 1, "b": 1}, {"b": 2}]},
    "text": {"string_upper": {"string_replace": ["a-b-c", "-", "_", 1]}},
    "parts": {"string_split": ["a,b,c", ",", 2]},
    "where": {"string_find": ["hello", "ll"]},
    "secret": {"get_secret": "password"}
  })");
  auto result = EvaluateFunctions(value, scope, context, EvaluationMode::kStatic);
  REQUIRE_MESSAGE(result.ok(), result.status().ToString());
  CHECK((*result)["url"] == "http://10.0.0.1:8080");
  CHECK((*result)["nested"] == 20);
  CHECK((*result)["chained"] == 8080);
  CHECK((*result)["runtime"] == value["runtime"]);
  CHECK((*result)["merged"] == json::parse(R"({"a": 1, "b": 2})"));
  CHECK((*result)["text"] == "A_B-C");
  CHECK((*result)["parts"] == "c");
  CHECK((*result)["where"] == 2);
  CHECK((*result)["secret"] == value["secret"]);
  CHECK(context.attribute_calls.empty());
}

TEST_CASE("Functions: run-time evaluation asks the context") {
  MapContext context;
  context.runtime["vm_abc123"] = json::parse(R"({"ip": "10.0.0.9", "cfg": {"port": 22}})");
  context.secrets["creds"] = R"({"user": "admin"})";
  FunctionScope scope;
  scope.source_node = "app";
  scope.target_node = "vm";
  scope.target_instance = "vm_abc123";
  json value = json::parse(R"({
    "ip": {"get_attribute": ["TARGET", "ip"]},
    "port": {"get_attribute": ["TARGET", "cfg", "port"]},
    "user": {"get_secret": ["creds", "user"]},
    "joined": {"concat": [{"get_attribute": ["TARGET", "ip"]}, ":", 1.0, true, null]}
  })");
  auto result = EvaluateFunctions(value, scope, context, EvaluationMode::kRuntime);
  REQUIRE_MESSAGE(result.ok(), result.status().ToString());
  CHECK((*result)["ip"] == "10.0.0.9");
  CHECK((*result)["port"] == 22);
  CHECK((*result)["user"] == "admin");
  CHECK((*result)["joined"] == "10.0.0.9:1.0TrueNone");  // Python's str() of each part
  CHECK(context.attribute_calls.front() == "vm/vm_abc123//[\"ip\"]");
}

TEST_CASE("Functions: get_capability is looked up only at run time, nested path included") {
  MapContext context;
  context.inputs["dep"] = "other";
  context.capabilities["other/endpoint"] = json::parse(R"({"urls": ["http://a", "http://b"]})");
  json value = json::parse(R"({
    "whole": {"get_capability": ["other", "endpoint"]},
    "nested": {"get_capability": [{"get_input": "dep"}, "endpoint", "urls", 1]}
  })");
  FunctionScope scope;
  auto deployment_time = EvaluateFunctions(value, scope, context, EvaluationMode::kStatic);
  REQUIRE_MESSAGE(deployment_time.ok(), deployment_time.status().ToString());
  CHECK((*deployment_time)["whole"] == value["whole"]);  // kept for run time

  auto result = EvaluateFunctions(value, scope, context, EvaluationMode::kRuntime);
  REQUIRE_MESSAGE(result.ok(), result.status().ToString());
  CHECK((*result)["whole"] == json::parse(R"({"urls": ["http://a", "http://b"]})"));
  CHECK((*result)["nested"] == "http://b");

  auto missing = EvaluateFunctions(json::parse(R"({"get_capability": ["nope", "endpoint"]})"),
                                   scope, context, EvaluationMode::kRuntime);
  REQUIRE_FALSE(missing.ok());
  CHECK(missing.status().code() == ErrorCode::kFunctionsEvaluation);
}

TEST_CASE("Functions: errors are values with the functions_evaluation code") {
  MapContext context;
  context.properties["a"] = json::parse(R"({"self": {"get_property": ["SELF", "self"]}})");
  FunctionScope node_scope;
  node_scope.self_node = "a";

  auto loop = EvaluateFunctions(json::parse(R"({"get_property": ["a", "self"]})"), node_scope,
                                context, EvaluationMode::kRuntime);
  REQUIRE_FALSE(loop.ok());
  CHECK(loop.status().code() == ErrorCode::kFunctionsEvaluation);
  CHECK(loop.status().message().find("recursion deeper than 50") != std::string::npos);

  auto missing = EvaluateFunctions(json::parse(R"({"get_property": ["a", "nope"]})"), node_scope,
                                   context, EvaluationMode::kRuntime);
  REQUIRE_FALSE(missing.ok());
  CHECK(missing.status().message() == "get_property: node 'a' has no property nope");

  FunctionScope no_self;
  auto self = EvaluateFunctions(json::parse(R"({"get_attribute": ["SELF", "ip"]})"), no_self,
                                context, EvaluationMode::kRuntime);
  REQUIRE_FALSE(self.ok());
  CHECK(self.status().message() == "get_attribute: SELF cannot be used in this context");

  auto secret = EvaluateFunctions(json::parse(R"({"get_secret": "nope"})"), no_self, context,
                                  EvaluationMode::kRuntime);
  REQUIRE_FALSE(secret.ok());
  CHECK(secret.status().code() == ErrorCode::kUnknownDeploymentSecret);

  FunctionContext bare;  // every lookup unavailable by default
  auto sys = EvaluateFunctions(json::parse(R"({"get_sys": ["deployment", "id"]})"), no_self, bare,
                               EvaluationMode::kRuntime);
  REQUIRE_FALSE(sys.ok());
  CHECK(sys.status().message() == "get_sys is not available in this context");
}

}  // namespace
}  // namespace cloudify::dsl
