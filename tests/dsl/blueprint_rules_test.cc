// Blueprint rules the original parser enforces: version gating of top-level keys, import
// cycles, input constraint operators, legacy policies and get_capability.
#include <filesystem>
#include <fstream>
#include <string>
#include <vector>

#include <doctest/doctest.h>

#include "cloudify/dsl/deployment_plan.h"
#include "cloudify/dsl/parser.h"

#include "support/temp_dir.h"

namespace cloudify::dsl {
namespace {

namespace fs = std::filesystem;
using nlohmann::json;

void Write(const fs::path& path, const std::string& text) {
  fs::create_directories(path.parent_path());
  std::ofstream(path) << text;
}

std::string Version(int minor) { return "cloudify_dsl_1_" + std::to_string(minor); }

Result<model::Plan> ParseAt(int minor, const std::string& body) {
  return ParseBlueprintText("tosca_definitions_version: " + Version(minor) + "\n" + body,
                            "blueprint.yaml", "");
}

// ------------------------------------------------------------------ version gating

struct GatedKey {
  const char* key;
  const char* body;  // the blueprint after its version line
  int added_in;      // the minor version that added the key (0: any version)
  int line;          // where the key is written
  int column;
};

constexpr const char* kPolicies = R"(node_types: {t: {}}
node_templates: {n: {type: t}}
groups: {g: {members: [n]}}
policies: {p: {type: cloudify.policies.scaling, targets: [g]}}
)";

const GatedKey kGatedKeys[] = {
    {"dsl_definitions", "dsl_definitions:\n  - &a {x: 1}\n", 2, 2, 1},
    {"description", "description: a blueprint\n", 2, 2, 1},
    {"data_types", "data_types: {d: {properties: {x: {}}}}\n", 2, 2, 1},
    {"policies", kPolicies, 3, 5, 1},
    {"resource_tags", "resource_tags: {owner: me}\n", 3, 2, 1},
    // Not gated at all in the original: accepted from cloudify_dsl_1_0.
    {"policy_types", "policy_types: {pt: {source: x.clj, properties: {a: {}}}}\n", 0, 2, 1},
    {"policy_triggers", "policy_triggers: {tr: {source: y.clj, parameters: {b: {}}}}\n", 0, 2, 1},
    {"capabilities", "capabilities: {c: {value: 1}}\n", 0, 2, 1},
    {"labels", "labels: {env: {values: [prod]}}\n", 0, 2, 1},
    {"blueprint_labels", "blueprint_labels: {team: {values: [a]}}\n", 0, 2, 1},
    {"metadata", "metadata: {a: 1}\n", 0, 2, 1},
    {"deployment_settings", "deployment_settings: {display_name: d}\n", 0, 2, 1},
};

TEST_CASE("DSL versions: a top-level key is refused one version before the one that added it") {
  for (const auto& gated : kGatedKeys) {
    CAPTURE(gated.key);
    auto at = ParseAt(gated.added_in, gated.body);
    CHECK_MESSAGE(at.ok(), at.status().ToString());
    if (gated.added_in == 0) {
      continue;
    }
    auto before = ParseAt(gated.added_in - 1, gated.body);
    REQUIRE_FALSE(before.ok());
    CHECK(ErrorCodeName(before.status().code()) == "invalid_blueprint_error");
    CHECK(before.status().ToString() ==
          "blueprint.yaml:" + std::to_string(gated.line) + ":" + std::to_string(gated.column) +
              ": '" + gated.key + "' not supported in version " + Version(gated.added_in - 1) +
              ", it was added in " + Version(gated.added_in));
  }
}

TEST_CASE("DSL versions: a gated key written in an imported file is refused in that file") {
  testing::TempDir dir;
  Write(dir.path() / "part.yaml",
        "tosca_definitions_version: cloudify_dsl_1_2\n"
        "resource_tags: {owner: me}\n");
  Write(dir.path() / "main.yaml",
        "tosca_definitions_version: cloudify_dsl_1_2\n"
        "imports: [part.yaml]\n");
  auto plan = ParseBlueprintFile(dir.path() / "main.yaml");
  REQUIRE_FALSE(plan.ok());
  CHECK(plan.status().ToString() ==
        "part.yaml:2:1: 'resource_tags' not supported in version cloudify_dsl_1_2, it was added "
        "in cloudify_dsl_1_3");
}

TEST_CASE("DSL versions: an import with properties needs cloudify_dsl_1_5") {
  testing::TempDir dir;
  Write(dir.path() / "part.yaml", "node_types: {t: {}}\n");
  const std::string body =
      "imports:\n"
      "  - part.yaml: {region: here}\n"
      "node_templates: {n: {type: t}}\n";
  Write(dir.path() / "old.yaml", "tosca_definitions_version: cloudify_dsl_1_4\n" + body);
  Write(dir.path() / "new.yaml", "tosca_definitions_version: cloudify_dsl_1_5\n" + body);

  auto old_plan = ParseBlueprintFile(dir.path() / "old.yaml");
  REQUIRE_FALSE(old_plan.ok());
  CHECK(ErrorCodeName(old_plan.status().code()) == "invalid_blueprint_error");
  CHECK(old_plan.status().ToString() ==
        "old.yaml:3:5: import with properties not supported in version cloudify_dsl_1_4, it was "
        "added in cloudify_dsl_1_5");

  auto new_plan = ParseBlueprintFile(dir.path() / "new.yaml");
  REQUIRE_MESSAGE(new_plan.ok(), new_plan.status().ToString());
  CHECK(new_plan->nodes.size() == 1);
}

// ------------------------------------------------------------------ import cycles

TEST_CASE("Imports: cycles are followed once, as the original follows them") {
  testing::TempDir dir;
  SUBCASE("a imports b imports a") {
    Write(dir.path() / "a.yaml",
          "tosca_definitions_version: cloudify_dsl_1_3\n"
          "imports: [b.yaml]\n"
          "node_templates: {n: {type: t}}\n");
    Write(dir.path() / "b.yaml", "imports: [a.yaml]\nnode_types: {t: {}}\n");
    auto plan = ParseBlueprintFile(dir.path() / "a.yaml");
    REQUIRE_MESSAGE(plan.ok(), plan.status().ToString());
    REQUIRE(plan->nodes.size() == 1);
    CHECK(plan->nodes[0].type == "t");
  }
  SUBCASE("a file importing itself") {
    Write(dir.path() / "a.yaml",
          "tosca_definitions_version: cloudify_dsl_1_3\n"
          "imports: [a.yaml]\n"
          "node_types: {t: {}}\n"
          "node_templates: {n: {type: t}}\n");
    auto plan = ParseBlueprintFile(dir.path() / "a.yaml");
    REQUIRE_MESSAGE(plan.ok(), plan.status().ToString());
    CHECK(plan->nodes.size() == 1);
  }
  SUBCASE("a longer cycle through a sub-folder: a -> sub/b -> sub/c -> a") {
    Write(dir.path() / "a.yaml",
          "tosca_definitions_version: cloudify_dsl_1_3\n"
          "imports: [sub/b.yaml]\n"
          "node_templates: {n: {type: tb}, m: {type: tc}}\n");
    Write(dir.path() / "sub/b.yaml", "imports: [c.yaml]\nnode_types: {tb: {}}\n");
    Write(dir.path() / "sub/c.yaml", "imports: [../a.yaml]\nnode_types: {tc: {}}\n");
    auto plan = ParseBlueprintFile(dir.path() / "a.yaml");
    REQUIRE_MESSAGE(plan.ok(), plan.status().ToString());
    CHECK(plan->nodes.size() == 2);
  }
  SUBCASE("a diamond: b and c both import d, whose type is defined once") {
    Write(dir.path() / "a.yaml",
          "tosca_definitions_version: cloudify_dsl_1_3\n"
          "imports: [b.yaml, c.yaml]\n"
          "node_templates: {n: {type: td}}\n");
    Write(dir.path() / "b.yaml", "imports: [d.yaml]\n");
    Write(dir.path() / "c.yaml", "imports: [d.yaml]\n");
    Write(dir.path() / "d.yaml", "node_types: {td: {properties: {p: {default: 1}}}}\n");
    auto plan = ParseBlueprintFile(dir.path() / "a.yaml");
    REQUIRE_MESSAGE(plan.ok(), plan.status().ToString());
    REQUIRE(plan->nodes.size() == 1);
    CHECK(plan->nodes[0].properties["p"] == 1);
  }
  SUBCASE("a cycle does not hide a real conflict between two files") {
    Write(dir.path() / "a.yaml",
          "tosca_definitions_version: cloudify_dsl_1_3\n"
          "imports: [b.yaml]\n"
          "node_types: {t: {}}\n");
    Write(dir.path() / "b.yaml", "imports: [a.yaml]\nnode_types: {t: {}}\n");
    auto plan = ParseBlueprintFile(dir.path() / "a.yaml");
    REQUIRE_FALSE(plan.ok());
    CHECK(ErrorCodeName(plan.status().code()) == "invalid_blueprint_error");
    REQUIRE(plan.status().location().has_value());
    CHECK(plan.status().location()->file == "b.yaml");
    CHECK(plan.status().message().find("'t'") != std::string::npos);
  }
}

// ------------------------------------------------------------------ input constraints

struct ConstraintCase {
  const char* constraint;  // one constraint, YAML flow
  json passes;
  json fails;
  const char* message;  // the violation for `fails`
};

const ConstraintCase kConstraintCases[] = {
    {"{equal: 5}", 5, 6, "input 'x': value 6 violates constraint equal 5"},
    {"{greater_than: 5}", 6, 5, "input 'x': value 5 violates constraint greater_than 5"},
    {"{greater_or_equal: 5}", 5, 4, "input 'x': value 4 violates constraint greater_or_equal 5"},
    {"{less_than: 5}", 4, 5, "input 'x': value 5 violates constraint less_than 5"},
    {"{less_or_equal: 5}", 5, 6, "input 'x': value 6 violates constraint less_or_equal 5"},
    {"{in_range: [1, 5]}", 1, 0, "input 'x': value 0 violates constraint in_range [1,5]"},
    {"{valid_values: [a, b]}", "b", "c",
     R"(input 'x': value "c" violates constraint valid_values ["a","b"])"},
    {"{length: 3}", "abc", "ab", R"(input 'x': value "ab" violates constraint length 3)"},
    {"{min_length: 2}", json::array({1, 2}), json::array({1}),
     "input 'x': value [1] violates constraint min_length 2"},
    {"{max_length: 2}", "ab", "abc", R"(input 'x': value "abc" violates constraint max_length 2)"},
    // re.match: anchored at the start only.
    {"{pattern: '[a-z]+'}", "abc1", "1abc",
     R"(input 'x': value "1abc" violates constraint pattern "[a-z]+")"},
};

TEST_CASE("Input constraints: every operator passes a good value and fails a bad one") {
  for (const auto& c : kConstraintCases) {
    CAPTURE(c.constraint);
    auto plan = ParseAt(3, std::string("inputs:\n  x:\n    constraints: [") + c.constraint + "]\n");
    REQUIRE_MESSAGE(plan.ok(), plan.status().ToString());
    IdGenerator ids(3);
    auto good = PrepareDeploymentPlan(*plan, json{{"x", c.passes}}, ids);
    CHECK_MESSAGE(good.ok(), good.status().ToString());
    auto bad = PrepareDeploymentPlan(*plan, json{{"x", c.fails}}, ids);
    REQUIRE_FALSE(bad.ok());
    CHECK(bad.status().code() == ErrorCode::kConstraint);
    CHECK(ErrorCodeName(bad.status().code()) == "constraint_error");
    CHECK(bad.status().message() == c.message);
    CHECK_FALSE(bad.status().location().has_value());
  }
}

TEST_CASE("Input constraints: values the operator cannot compare fail as the original's") {
  // The original raises ConstraintException when Python cannot compare or measure the value.
  struct Case {
    const char* constraint;
    json value;
  };
  const Case cases[] = {
      {"{greater_than: 5}", "six"},
      {"{in_range: [1, 5]}", json::array({3})},
      {"{length: 1}", 7},
      {"{pattern: 'a'}", 1},
  };
  for (const auto& c : cases) {
    CAPTURE(c.constraint);
    auto plan = ParseAt(3, std::string("inputs:\n  x:\n    constraints: [") + c.constraint + "]\n");
    REQUIRE_MESSAGE(plan.ok(), plan.status().ToString());
    IdGenerator ids(3);
    auto d = PrepareDeploymentPlan(*plan, json{{"x", c.value}}, ids);
    REQUIRE_FALSE(d.ok());
    CHECK(d.status().code() == ErrorCode::kConstraint);
  }
}

TEST_CASE("Input constraints: operator arguments are checked at upload as the original checks") {
  struct Case {
    const char* constraint;
    const char* message;  // empty: accepted
  };
  const Case cases[] = {
      {"{equal: abc}", R"(constraint 'equal' needs a number, got "abc")"},
      {"{greater_than: '5'}", R"(constraint 'greater_than' needs a number, got "5")"},
      {"{less_or_equal: true}", "constraint 'less_or_equal' needs a number, got true"},
      {"{min_length: [2]}", "constraint 'min_length' needs a number, got [2]"},
      {"{in_range: [a, z]}", R"(constraint 'in_range' needs [min, max] of numbers, got ["a","z"])"},
      {"{in_range: [1]}", "constraint 'in_range' needs [min, max] of numbers, got [1]"},
      {"{valid_values: a}", R"(constraint 'valid_values' needs a list, got "a")"},
      {"{pattern: '('}", R"(constraint 'pattern' is not a valid regular expression: "(")"},
      {"{pattern: 5}", "constraint 'pattern' needs a regular expression string, got 5"},
      {"{biggest: 1}", "unknown constraint operator 'biggest'"},
      // Accepted as the original accepts them: any number, and a range nothing fits.
      {"{equal: 2.5}", ""},
      {"{max_length: 2.5}", ""},
      {"{in_range: [5, 1]}", ""},
  };
  for (const auto& c : cases) {
    CAPTURE(c.constraint);
    auto plan = ParseAt(3, std::string("inputs:\n  x:\n    constraints: [") + c.constraint + "]\n");
    if (std::string(c.message).empty()) {
      CHECK_MESSAGE(plan.ok(), plan.status().ToString());
      continue;
    }
    REQUIRE_FALSE(plan.ok());
    CHECK(ErrorCodeName(plan.status().code()) == "invalid_blueprint_error");
    CHECK(plan.status().ToString() == "blueprint.yaml:4:18: input 'x': " + std::string(c.message));
  }
}

TEST_CASE("Input constraints: lengths count characters, as Python's len() does") {
  auto plan = ParseAt(3, "inputs:\n  x:\n    constraints: [{length: 5}]\n");
  REQUIRE_MESSAGE(plan.ok(), plan.status().ToString());
  IdGenerator ids(3);
  auto five = PrepareDeploymentPlan(*plan, json{{"x", "h\u00e9llo"}}, ids);
  CHECK_MESSAGE(five.ok(), five.status().ToString());
  auto bad = PrepareDeploymentPlan(*plan, json{{"x", "h\u00e9llo!"}}, ids);
  REQUIRE_FALSE(bad.ok());
  CHECK(bad.status().code() == ErrorCode::kConstraint);
}

// The current original accepts an intrinsic function as a constraint argument and evaluates it
// when the deployment is created, with the deployment's inputs.
TEST_CASE("Input constraints: a function as an operator argument is evaluated at deployment") {
  auto plan = ParseAt(3, R"(inputs:
  limit: {default: 5}
  low: {default: 1}
  x:
    default: 3
    constraints:
      - less_than: {get_input: limit}
      - in_range: [{get_input: low}, 10]
)");
  REQUIRE_MESSAGE(plan.ok(), plan.status().ToString());
  IdGenerator ids(3);
  CHECK(PrepareDeploymentPlan(*plan, json::object(), ids).ok());
  CHECK(PrepareDeploymentPlan(*plan, json{{"x", 4}}, ids).ok());
  auto bad = PrepareDeploymentPlan(*plan, json{{"x", 5}}, ids);
  REQUIRE_FALSE(bad.ok());
  CHECK(bad.status().code() == ErrorCode::kConstraint);
  CHECK(bad.status().message() == "input 'x': value 5 violates constraint less_than 5");
  // The limit is the deployment's own input, whatever order the inputs come in.
  CHECK(PrepareDeploymentPlan(*plan, json{{"x", 5}, {"limit", 6}}, ids).ok());
  auto low = PrepareDeploymentPlan(*plan, json{{"x", 2}, {"low", 3}}, ids);
  REQUIRE_FALSE(low.ok());
  CHECK(low.status().message().find("in_range") != std::string::npos);
  // A reference to an input that does not exist is an error naming it.
  auto dangling = ParseAt(3, "inputs:\n  x:\n    constraints: [{less_than: {get_input: nope}}]\n");
  REQUIRE(dangling.ok());
  auto refused = PrepareDeploymentPlan(*dangling, json{{"x", 1}}, ids);
  REQUIRE_FALSE(refused.ok());
  CHECK(refused.status().message().find("nope") != std::string::npos);
}

TEST_CASE("Input constraints: several constraints must all hold, the first broken one is named") {
  auto plan = ParseAt(3, "inputs:\n  x:\n    constraints: [{min_length: 2}, {pattern: '^a'}]\n");
  REQUIRE_MESSAGE(plan.ok(), plan.status().ToString());
  IdGenerator ids(3);
  CHECK(PrepareDeploymentPlan(*plan, json{{"x", "ab"}}, ids).ok());
  auto d = PrepareDeploymentPlan(*plan, json{{"x", "ba"}}, ids);
  REQUIRE_FALSE(d.ok());
  CHECK(d.status().message() == R"(input 'x': value "ba" violates constraint pattern "^a")");
}

// ------------------------------------------------------------------ legacy policies

constexpr const char* kLegacyPolicies = R"(node_types: {t: {}}
node_templates: {vm: {type: t}}
policy_types:
  heal:
    source: heal.clj
    properties: {service: {default: ping}, interval: {default: 10}, note: {required: false}}
policy_triggers:
  run:
    source: run.clj
    parameters: {workflow: {}}
groups:
  g:
    members: [vm]
    policies:
      p:
        type: heal
        properties: {service: http}
        triggers:
          t1: {type: run, parameters: {workflow: heal}}
)";

TEST_CASE("Policies: policy_types, policy_triggers and group policies reach the plan") {
  auto plan = ParseAt(3, kLegacyPolicies);
  REQUIRE_MESSAGE(plan.ok(), plan.status().ToString());
  CHECK(plan->policy_types == json::parse(R"({"heal": {"source": "heal.clj",
                                 "properties": {"service": {"default": "ping"},
                                                "interval": {"default": 10},
                                                "note": {"required": false}}}})"));
  CHECK(plan->policy_triggers ==
        json::parse(R"({"run": {"source": "run.clj", "parameters": {"workflow": {}}}})"));
  REQUIRE(plan->groups.count("g") == 1);
  CHECK(plan->groups.at("g").members == std::vector<std::string>{"vm"});
  CHECK(plan->groups.at("g").policies["p"]["type"] == "heal");
  CHECK(plan->groups.at("g").policies["p"]["triggers"]["t1"]["type"] == "run");
  // Merged with the policy type's and the trigger's schema, defaults filled in.
  CHECK(plan->groups.at("g").policies["p"]["properties"] ==
        json::parse(R"({"service": "http", "interval": 10, "note": null})"));
  CHECK(plan->groups.at("g").policies["p"]["triggers"]["t1"]["parameters"] ==
        json::parse(R"({"workflow": "heal"})"));

  IdGenerator ids(5);
  auto d = PrepareDeploymentPlan(*plan, json::object(), ids);
  REQUIRE_MESSAGE(d.ok(), d.status().ToString());
  CHECK(d->plan.policy_types == plan->policy_types);
  CHECK(d->plan.policy_triggers == plan->policy_triggers);
}

TEST_CASE("Policies: a scaling policy becomes a scaling group of the plan") {
  auto plan = ParseAt(3, kPolicies);
  REQUIRE_MESSAGE(plan.ok(), plan.status().ToString());
  REQUIRE(plan->policies.count("p") == 1);
  CHECK(plan->policies.at("p").type == "cloudify.policies.scaling");
  CHECK(plan->policies.at("p").targets == std::vector<std::string>{"g"});
  REQUIRE(plan->scaling_groups.count("g") == 1);
  CHECK(plan->scaling_groups.at("g").members == std::vector<std::string>{"n"});
}

TEST_CASE("Policies: bad references are refused where they are written") {
  auto refused = [](const std::string& from, const std::string& to) {
    std::string body = kLegacyPolicies;
    size_t at = body.find(from);
    REQUIRE(at != std::string::npos);
    body.replace(at, from.size(), to);
    return ParseAt(3, body);
  };
  SUBCASE("a group policy of an undefined policy type") {
    auto plan = refused("type: heal", "type: cure");
    REQUIRE_FALSE(plan.ok());
    CHECK(ErrorCodeName(plan.status().code()) == "invalid_blueprint_error");
    CHECK(plan.status().ToString() ==
          "blueprint.yaml:17:15: group 'g' policy 'p': policy type 'cure' is not defined");
  }
  SUBCASE("a trigger of an undefined policy trigger") {
    auto plan = refused("type: run", "type: walk");
    REQUIRE_FALSE(plan.ok());
    CHECK(ErrorCodeName(plan.status().code()) == "invalid_blueprint_error");
    CHECK(plan.status().ToString() ==
          "blueprint.yaml:20:22: group 'g' policy 'p' trigger 't1': policy trigger 'walk' is "
          "not defined");
  }
  SUBCASE("a trigger without a type") {
    auto plan = refused("{type: run, parameters", "{parameters");
    REQUIRE_FALSE(plan.ok());
    CHECK(plan.status().ToString() ==
          "blueprint.yaml:20:11: group 'g' policy 'p' trigger 't1': 'type' is required");
  }
  SUBCASE("an unknown key in a trigger") {
    auto plan = refused("{type: run,", "{type: run, when: now,");
    REQUIRE_FALSE(plan.ok());
    CHECK(plan.status().message().find("'when'") != std::string::npos);
    REQUIRE(plan.status().location().has_value());
    CHECK(plan.status().location()->line == 20);
  }
  SUBCASE("a group policy property its policy type does not declare") {
    auto plan = refused("{service: http}", "{service: http, colour: red}");
    REQUIRE_FALSE(plan.ok());
    CHECK(ErrorCodeName(plan.status().code()) == "invalid_blueprint_error");
    CHECK(plan.status().ToString() ==
          "blueprint.yaml:18:37: group 'g' policy 'p': 'colour' is not part of the properties of "
          "'heal'");
  }
  SUBCASE("a trigger parameter without a value or a default") {
    auto plan = refused("{type: run, parameters: {workflow: heal}}", "{type: run}");
    REQUIRE_FALSE(plan.ok());
    CHECK(ErrorCodeName(plan.status().code()) == "invalid_blueprint_error");
    CHECK(plan.status().ToString() ==
          "blueprint.yaml:20:11: group 'g' policy 'p' trigger 't1': 'workflow' of the parameters "
          "of 'run' is missing a value");
  }
  SUBCASE("a policy type without its source") {
    auto plan = refused("source: heal.clj\n", "");
    REQUIRE_FALSE(plan.ok());
    CHECK(ErrorCodeName(plan.status().code()) == "invalid_blueprint_error");
    CHECK(plan.status().ToString() ==
          "blueprint.yaml:5:3: policy_types 'heal': 'source' is required and must be a string");
  }
  SUBCASE("a scaling policy targeting a node, not a group") {
    std::string body = kPolicies;
    body.replace(body.find("targets: [g]"), 12, "targets: [n]");
    auto plan = ParseAt(3, body);
    REQUIRE_FALSE(plan.ok());
    CHECK(plan.status().ToString() ==
          "blueprint.yaml:5:59: policy 'p': target \"n\" is not a group");
  }
  SUBCASE("a policy of a type other than scaling") {
    std::string body = kPolicies;
    body.replace(body.find("cloudify.policies.scaling"), 25, "cloudify.policies.other");
    auto plan = ParseAt(3, body);
    REQUIRE_FALSE(plan.ok());
    CHECK(plan.status().message() ==
          "policy 'p': unsupported policy type 'cloudify.policies.other' (only "
          "cloudify.policies.scaling)");
  }
}

// ------------------------------------------------------------------ get_capability

TEST_CASE("get_capability: argument shapes are checked at upload, the value left for run time") {
  const std::string types = "node_types: {t: {properties: {p: {default: ''}}}}\n";
  SUBCASE("valid: strings, integers and nested functions") {
    auto plan = ParseAt(3, types + R"(inputs: {dep: {default: other}}
node_templates:
  n: {type: t, properties: {p: {get_capability: [{get_input: dep}, endpoint, 0]}}}
outputs:
  o: {value: {get_capability: [other, endpoint, url]}}
capabilities:
  c: {value: {get_capability: [other, endpoint]}}
)");
    REQUIRE_MESSAGE(plan.ok(), plan.status().ToString());
    IdGenerator ids(9);
    auto d = PrepareDeploymentPlan(*plan, json::object(), ids);
    REQUIRE_MESSAGE(d.ok(), d.status().ToString());
    // A runtime function: nothing is looked up at deployment creation.
    CHECK(d->plan.outputs.at("o").value ==
          json::parse(R"({"get_capability": ["other", "endpoint", "url"]})"));
    CHECK(d->plan.capabilities.at("c").value ==
          json::parse(R"({"get_capability": ["other", "endpoint"]})"));
    REQUIRE(d->nodes.size() == 1);
    const json& p = d->nodes[0].spec.properties["p"];
    REQUIRE(p.contains("get_capability"));
    CHECK(p["get_capability"][1] == "endpoint");
    CHECK(p["get_capability"][2] == 0);
  }
  struct Bad {
    const char* args;
    const char* shown;
  };
  const Bad bad[] = {
      {"other", R"("other")"},
      {"[only_one]", R"(["only_one"])"},
      {"[[list], cap]", R"([["list"],"cap"])"},
      {"[dep, {complex: value}]", R"(["dep",{"complex":"value"}])"},
      {"[dep, 1.5]", R"(["dep",1.5])"},
  };
  for (const auto& b : bad) {
    CAPTURE(b.args);
    auto plan = ParseAt(3, types + "outputs:\n  o: {value: {get_capability: " + b.args + "}}\n");
    REQUIRE_FALSE(plan.ok());
    CHECK(ErrorCodeName(plan.status().code()) == "invalid_blueprint_error");
    REQUIRE(plan.status().location().has_value());
    CHECK(plan.status().location()->file == "blueprint.yaml");
    CHECK(plan.status().location()->line == 4);
    CHECK(plan.status().message().find("get_capability") != std::string::npos);
    CHECK(plan.status().message().find(b.shown) != std::string::npos);
  }
}

}  // namespace
}  // namespace cloudify::dsl
