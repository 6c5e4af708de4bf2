#include "cloudify/cli/cfy.h"

#include <filesystem>
#include <fstream>
#include <sstream>

#include <doctest/doctest.h>
#include <nlohmann/json.hpp>

#include "support/temp_dir.h"

namespace cloudify::cli {
namespace {

namespace fs = std::filesystem;

struct Run {
  int code;
  std::string out;
  std::string err;
};

Run Cfy(std::vector<std::string> args) {
  args.insert(args.begin(), "cfy");
  std::ostringstream out;
  std::ostringstream err;
  int code = RunCfy(args, out, err);
  return Run{code, out.str(), err.str()};
}

void Write(const fs::path& path, const std::string& text) { std::ofstream(path) << text; }

constexpr const char* kBlueprint = R"(tosca_definitions_version: cloudify_dsl_1_4
imports:
  - http://www.getcloudify.org/spec/cloudify/6.4.0/types.yaml
inputs:
  count: {type: integer, default: 1}
  name: {type: string}
node_templates:
  vm:
    type: cloudify.nodes.Compute
    properties:
      agent_config: {install_method: none}
      ip: {get_input: name}
  app:
    type: cloudify.nodes.ApplicationModule
    capabilities:
      scalable: {properties: {default_instances: {get_input: count}}}
    relationships:
      - type: cloudify.relationships.contained_in
        target: vm
)";

TEST_CASE("cfy blueprints validate: a valid blueprint exits 0 and counts nodes and instances") {
  testing::TempDir dir;
  Write(dir.path() / "blueprint.yaml", kBlueprint);
  std::string path = (dir.path() / "blueprint.yaml").string();

  SUBCASE("k=v inputs, text output") {
    Run run = Cfy({"blueprints", "validate", path, "-i", "name=web;count=3"});
    CHECK(run.code == 0);
    CHECK(run.out == "Blueprint validated: 2 nodes, 4 node instances\n");
  }
  SUBCASE("inputs file, JSON output") {
    Write(dir.path() / "inputs.yaml", "name: web\ncount: 2\n");
    Run run = Cfy(
        {"blueprints", "validate", path, "-i", (dir.path() / "inputs.yaml").string(), "--json"});
    CHECK(run.code == 0);
    CHECK(nlohmann::json::parse(run.out) ==
          nlohmann::json{{"valid", true}, {"nodes", 2}, {"node_instances", 3}});
  }
  SUBCASE("inline JSON inputs") {
    Run run = Cfy({"blueprints", "validate", path, "--inputs", R"({"name": "x"})", "--json"});
    CHECK(run.code == 0);
    CHECK(nlohmann::json::parse(run.out)["node_instances"] == 2);
  }
}

TEST_CASE("cfy blueprints validate: an invalid blueprint exits 1 with the located error") {
  testing::TempDir dir;
  std::string text = kBlueprint;
  text.replace(text.find("target: vm"), 10, "target: vmm");
  Write(dir.path() / "blueprint.yaml", text);
  std::string path = (dir.path() / "blueprint.yaml").string();

  SUBCASE("text") {
    Run run = Cfy({"blueprints", "validate", path, "-i", "name=web"});
    CHECK(run.code == 1);
    CHECK(run.err == "blueprint.yaml:19:17: node 'app' relationship target 'vmm' does not exist\n");
  }
  SUBCASE("json") {
    Run run = Cfy({"blueprints", "validate", path, "--json"});
    CHECK(run.code == 1);
    nlohmann::json expected = {{"valid", false},
                               {"error",
                                {{"code", "invalid_blueprint_error"},
                                 {"message", "node 'app' relationship target 'vmm' does not exist"},
                                 {"file", "blueprint.yaml"},
                                 {"line", 19},
                                 {"column", 17}}}};
    CHECK(nlohmann::json::parse(run.out) == expected);
  }
}

TEST_CASE("cfy blueprints validate: deployment input errors are invalid too") {
  testing::TempDir dir;
  Write(dir.path() / "blueprint.yaml", kBlueprint);
  Run run = Cfy({"blueprints", "validate", (dir.path() / "blueprint.yaml").string(), "--json"});
  CHECK(run.code == 1);
  nlohmann::json result = nlohmann::json::parse(run.out);
  CHECK(result["valid"] == false);
  CHECK(result["error"]["code"] == "missing_required_deployment_input_error");
  CHECK(result["error"]["message"] == "Required inputs [name] were not specified");
  CHECK(result["error"]["file"] == "blueprint.yaml");
  CHECK(result["error"]["line"] == 0);
}

TEST_CASE("cfy blueprints validate: usage errors and missing files") {
  CHECK(Cfy({"blueprints", "validate"}).code != 0);
  CHECK(Cfy({}).code != 0);
  Run missing = Cfy({"blueprints", "validate", "no-such-blueprint.yaml"});
  CHECK(missing.code == 1);
  CHECK(missing.err.find("blueprint file not found") != std::string::npos);
  Run bad_inputs = Cfy({"blueprints", "validate", "x.yaml", "-i", "a=1;oops"});
  CHECK(bad_inputs.code == 1);
  CHECK(bad_inputs.err.find("is not key=value") != std::string::npos);
}

}  // namespace
}  // namespace cloudify::cli
