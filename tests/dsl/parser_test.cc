#include "cloudify/dsl/parser.h"

#include <filesystem>
#include <fstream>

#include <doctest/doctest.h>

#include "dsl/yaml_tree.h"
#include "support/temp_dir.h"

namespace cloudify::dsl {
namespace {

namespace fs = std::filesystem;
using nlohmann::json;

fs::path WebappBlueprint() {
  return fs::path(CLOUDIFY_SHARED_DIR) / "blueprints/webapp/blueprint.yaml";
}

void Write(const fs::path& path, const std::string& text) {
  fs::create_directories(path.parent_path());
  std::ofstream(path) << text;
}

TEST_CASE("Parser: the shared webapp blueprint becomes the plan the original would make") {
  auto plan = ParseBlueprintFile(WebappBlueprint());
  REQUIRE_MESSAGE(plan.ok(), plan.status().ToString());
  CHECK(plan->tosca_definitions_version == "cloudify_dsl_1_4");
  REQUIRE(plan->nodes.size() == 3);

  const model::NodeTemplate* host = plan->FindNode("host");
  const model::NodeTemplate* app = plan->FindNode("app");
  REQUIRE(host != nullptr);
  REQUIRE(app != nullptr);
  CHECK(host->IsCompute());
  CHECK(host->host_id == "host");
  CHECK(app->host_id == "host");
  CHECK(app->type_hierarchy ==
        std::vector<std::string>{"cloudify.nodes.Root", "cloudify.nodes.SoftwareComponent",
                                 "cloudify.nodes.ApplicationServer", "webapp.nodes.App"});
  // Type defaults merged with template values; the function stays for deployment time.
  CHECK(app->properties["port"] == json{{"get_input", "app_port"}});
  CHECK(app->properties["use_external_resource"] == false);
  CHECK(host->properties["agent_config"]["install_method"] == "none");
  CHECK(app->capabilities.default_instances == 2);

  // A script operation: plugin script, script_path injected, executor as written.
  const model::OperationSpec& start = app->operations.at("cloudify.interfaces.lifecycle.start");
  CHECK(start.plugin == "script");
  CHECK(start.operation == "script_runner.tasks.run");
  CHECK(start.inputs["script_path"] == "scripts/start.sh");
  CHECK(start.executor == model::Executor::kCentralDeploymentAgent);
  CHECK(start.max_retries == 3);
  CHECK(start.retry_interval == 1.0);
  // The bare name "start" is dropped: cloudify.interfaces.monitoring has a start too.
  CHECK(app->operations.count("start") == 0);
  CHECK(app->operations.count("cloudify.interfaces.lifecycle.configure") == 0);  // a no-op

  REQUIRE(app->relationships.size() == 2);
  CHECK(app->relationships[0].IsContainedIn());
  CHECK(app->relationships[1].type == "webapp.relationships.app_uses_db");
  CHECK(app->relationships[1].connection_type() == model::ConnectionType::kAllToAll);
  CHECK(app->relationships[1]
            .source_operations.at("cloudify.interfaces.relationship_lifecycle.establish")
            .inputs["script_path"] == "scripts/link.sh");

  // Built-in workflows and plugins come from the bundled types.
  CHECK(plan->workflows.at("install").operation == "cloudify.plugins.workflows.install");
  CHECK(plan->workflows.at("install").plugin == "default_workflows");
  CHECK(plan->workflows.at("scale").parameters.at("delta").default_value == json(1));
  CHECK(plan->inputs.at("db_name").constraints ==
        json::parse(R"([{"pattern":"^[a-z][a-z0-9_]*$"}])"));
  CHECK(plan->outputs.at("database").value == json{{"get_attribute", {"db", "database_url"}}});
}

TEST_CASE("Parser: YAML 1.1 scalars resolve as PyYAML resolves them") {
  CHECK(ResolvePlainScalar("yes") == json(true));
  CHECK(ResolvePlainScalar("Off") == json(false));
  CHECK(ResolvePlainScalar("y") == json("y"));
  CHECK(ResolvePlainScalar("~") == json(nullptr));
  CHECK(ResolvePlainScalar("null") == json(nullptr));
  CHECK(ResolvePlainScalar("0755") == json(493));
  CHECK(ResolvePlainScalar("0x1F") == json(31));
  CHECK(ResolvePlainScalar("0b101") == json(5));
  CHECK(ResolvePlainScalar("1_000") == json(1000));
  CHECK(ResolvePlainScalar("1:20") == json(80));
  CHECK(ResolvePlainScalar("-12") == json(-12));
  CHECK(ResolvePlainScalar("1.5") == json(1.5));
  CHECK(ResolvePlainScalar("1.0e+3") == json(1000.0));
  CHECK(ResolvePlainScalar("1e3") == json("1e3"));  // YAML 1.1 floats need a dot
  CHECK(ResolvePlainScalar(".inf").get<double>() > 1e308);
  CHECK(ResolvePlainScalar("8.8.8.8") == json("8.8.8.8"));
  CHECK(ResolvePlainScalar("09") == json("09"));  // not octal, not decimal
}

TEST_CASE("Parser: YAML keeps line and column, anchors, merge keys and quoted strings") {
  auto root = ParseYaml("a: &x {b: 1, c: 'yes'}\nd:\n  <<: *x\n  b: 2\n", 0, "t.yaml", {});
  REQUIRE(root.ok());
  json value = (*root)->ToJson();
  CHECK(value["a"] == json{{"b", 1}, {"c", "yes"}});
  CHECK(value["d"] == json{{"b", 2}, {"c", "yes"}});
  const YamlEntry* d = (*root)->Find("d");
  REQUIRE(d != nullptr);
  CHECK(d->key_mark.line == 2);
  CHECK(d->key_mark.column == 1);
  CHECK(d->value->Find("b")->value->mark.line == 4);
  CHECK(d->value->Find("b")->value->mark.column == 6);

  auto bad_key = ParseYaml("1: a\n", 0, "t.yaml", {});
  REQUIRE_FALSE(bad_key.ok());
  CHECK(bad_key.status().message().find("Dict keys must be strings") != std::string::npos);
}

TEST_CASE("Parser: features newer than the blueprint's version are refused") {
  SUBCASE("concat in 1_0") {
    auto plan = ParseBlueprintText(R"(tosca_definitions_version: cloudify_dsl_1_0
node_types: {t: {properties: {p: {default: ''}}}}
node_templates:
  n: {type: t, properties: {p: {concat: [a, b]}}}
)",
                                   "b.yaml", "");
    REQUIRE_FALSE(plan.ok());
    CHECK(plan.status().message().find("concat is not supported in version cloudify_dsl_1_0") !=
          std::string::npos);
  }
  SUBCASE("max_retries in 1_0") {
    auto plan = ParseBlueprintText(R"(tosca_definitions_version: cloudify_dsl_1_0
plugins: {p: {executor: central_deployment_agent, install: false}}
node_types:
  t: {interfaces: {i: {op: {implementation: p.x, max_retries: 2}}}}
)",
                                   "b.yaml", "");
    REQUIRE_FALSE(plan.ok());
    CHECK(plan.status().ToString() ==
          "b.yaml:4:50: 'max_retries' in node type 't' operation 'i.op' not supported in version "
          "cloudify_dsl_1_0, it was added in cloudify_dsl_1_1");
  }
  SUBCASE("the check can be switched off like the manager's validate_definitions_version") {
    ParseOptions options;
    options.validate_definitions_version = false;
    auto plan = ParseBlueprintText("tosca_definitions_version: cloudify_dsl_1_1\ndata_types: {}\n",
                                   "b.yaml", "", options);
    CHECK(plan.ok());
  }
}

TEST_CASE("Parser: well-known types URLs resolve offline to the right generation") {
  for (const char* url :
       {"http://www.getcloudify.org/spec/cloudify/4.5/types.yaml",
        "https://getcloudify.org/spec/cloudify/5.0.5/types.yaml",
        "http://cloudify.co/spec/cloudify/6.4.0/types.yaml",
        "https://www.cloudify.co/spec/cloudify/7.0.0/types.yaml", "cloudify/types/types.yaml"}) {
    CAPTURE(url);
    for (int minor : {3, 4, 5}) {
      std::string text = "tosca_definitions_version: cloudify_dsl_1_" + std::to_string(minor) +
                         "\nimports: ['" + url +
                         "']\nnode_templates: {s: {type: cloudify.nodes.PasswordSecret}}\n";
      auto plan = ParseBlueprintText(text, "b.yaml", "");
      // PasswordSecret exists only in the 1_4 generation.
      CHECK(plan.ok() == (minor >= 4));
    }
  }
}

TEST_CASE("Parser: other remote imports go through the resolver") {
  std::vector<std::string> asked;
  ParseOptions options;
  options.import_resolver = [&](const std::string& url) -> Result<std::string> {
    asked.push_back(url);
    if (url == "https://example.com/plugin.yaml") {
      return std::string(
          "plugins:\n  ex: {executor: central_deployment_agent, package_name: ex}\n");
    }
    return NotFoundError("no such url");
  };
  auto plan = ParseBlueprintText(R"(tosca_definitions_version: cloudify_dsl_1_4
imports: [cloudify/types/types.yaml, https://example.com/plugin.yaml]
node_templates:
  n:
    type: cloudify.nodes.Root
    interfaces: {cloudify.interfaces.lifecycle: {create: ex.tasks.create}}
)",
                                 "b.yaml", "", options);
  REQUIRE_MESSAGE(plan.ok(), plan.status().ToString());
  CHECK(asked == std::vector<std::string>{"https://example.com/plugin.yaml"});
  CHECK(plan->nodes[0].operations.at("cloudify.interfaces.lifecycle.create").plugin == "ex");
  CHECK(plan->deployment_plugins_to_install.size() == 1);

  auto missing = ParseBlueprintText(
      "tosca_definitions_version: cloudify_dsl_1_4\nimports: [http://example.com/x.yaml]\n",
      "b.yaml", "", options);
  REQUIRE_FALSE(missing.ok());
  CHECK(missing.status().ToString() ==
        "b.yaml:2:11: Failed to resolve import 'http://example.com/x.yaml': no such url");
}

TEST_CASE("Parser: malicious input is refused, not followed") {
  testing::TempDir dir;
  SUBCASE("import depth") {
    ParseOptions options;
    options.max_import_depth = 5;
    for (int i = 0; i < 10; ++i) {
      Write(dir.path() / ("f" + std::to_string(i) + ".yaml"),
            "imports: [f" + std::to_string(i + 1) + ".yaml]\n");
    }
    Write(dir.path() / "f10.yaml", "node_types: {}\n");
    Write(dir.path() / "main.yaml",
          "tosca_definitions_version: cloudify_dsl_1_3\nimports: [f0.yaml]\n");
    auto plan = ParseBlueprintFile(dir.path() / "main.yaml", options);
    REQUIRE_FALSE(plan.ok());
    CHECK(plan.status().message() == "imports nested deeper than 5 levels; refused");
    CHECK(plan.status().location()->file == "f4.yaml");
    options.max_import_depth = 32;
    CHECK(ParseBlueprintFile(dir.path() / "main.yaml", options).ok());
  }
  SUBCASE("import count") {
    ParseOptions options;
    options.max_imports = 3;
    std::string imports;
    for (int i = 0; i < 5; ++i) {
      Write(dir.path() / ("g" + std::to_string(i) + ".yaml"), "node_types: {}\n");
      imports += (i ? ", g" : "g") + std::to_string(i) + ".yaml";
    }
    Write(dir.path() / "main.yaml",
          "tosca_definitions_version: cloudify_dsl_1_3\nimports: [" + imports + "]\n");
    auto plan = ParseBlueprintFile(dir.path() / "main.yaml", options);
    REQUIRE_FALSE(plan.ok());
    CHECK(plan.status().message() == "more than 3 imports; refused");
  }
  SUBCASE("files over 50 MB") {
    Write(dir.path() / "huge.yaml", "");
    fs::resize_file(dir.path() / "huge.yaml", 50ull * 1024 * 1024 + 1);  // sparse: instant
    Write(dir.path() / "main.yaml",
          "tosca_definitions_version: cloudify_dsl_1_3\nimports: [huge.yaml]\n");
    auto plan = ParseBlueprintFile(dir.path() / "main.yaml");
    REQUIRE_FALSE(plan.ok());
    CHECK(plan.status().message().find("is larger than 52428800 bytes; refused") !=
          std::string::npos);
    auto main = ParseBlueprintFile(dir.path() / "huge.yaml");
    REQUIRE_FALSE(main.ok());
    CHECK(main.status().message().find("larger than 52428800 bytes") != std::string::npos);
  }
  SUBCASE("symlinks out of the blueprint folder") {
    testing::TempDir outside;
    Write(outside.path() / "secret.yaml", "node_types: {}\n");
    fs::create_symlink(outside.path() / "secret.yaml", dir.path() / "link.yaml");
    Write(dir.path() / "main.yaml",
          "tosca_definitions_version: cloudify_dsl_1_3\nimports: [link.yaml]\n");
    auto plan = ParseBlueprintFile(dir.path() / "main.yaml");
    REQUIRE_FALSE(plan.ok());
    CHECK(plan.status().message() ==
          "import 'link.yaml' resolves outside the blueprint folder; refused");
  }
  SUBCASE("alias bombs under the limit option") {
    ParseOptions options;
    options.max_alias_expansion_nodes = 50;
    std::string text =
        "tosca_definitions_version: cloudify_dsl_1_3\ndsl_definitions:\n"
        "  a: &a [1, 2, 3, 4, 5, 6, 7, 8, 9, 10]\n  b: [*a, *a, *a, *a, *a]\n";
    auto plan = ParseBlueprintText(text, "b.yaml", "", options);
    REQUIRE_FALSE(plan.ok());
    CHECK(plan.status().message().find("alias bomb") != std::string::npos);
  }
  SUBCASE("garbage never throws") {
    for (const char* text :
         {"", "[", "{a: [}", "- - - -", "tosca_definitions_version: [1]",
          "tosca_definitions_version: cloudify_dsl_1_3\nnode_templates: [1]", "\t\x01\x02",
          "tosca_definitions_version: cloudify_dsl_1_3\n"
          "node_templates: {a: {type: {x: 1}}}"}) {
      CAPTURE(text);
      Result<model::Plan> plan = Status::Ok();
      CHECK_NOTHROW(plan = ParseBlueprintText(text, "b.yaml", ""));
      CHECK_FALSE(plan.ok());
      CHECK(plan.status().code() == ErrorCode::kInvalidBlueprint);
    }
  }
}

TEST_CASE("Parser: operation forms, overrides and plugin resolution") {
  auto plan = ParseBlueprintText(R"(tosca_definitions_version: cloudify_dsl_1_4
plugins:
  p: {executor: central_deployment_agent, install: false}
  agent_side: {executor: host_agent, source: http://example.com/p.zip}
node_types:
  t:
    interfaces:
      i:
        a: {implementation: p.tasks.a, inputs: {x: {default: 1}, y: {type: integer, default: 2}}}
        b: p.tasks.b
        c: {implementation: p.tasks.c, inputs: {needed: {type: string}}}
        h: agent_side.tasks.h
  compute:
    derived_from: t
node_templates:
  vm:
    type: compute
    interfaces:
      i:
        c: {inputs: {needed: here}}
  n:
    type: t
    interfaces:
      i:
        a: {inputs: {y: 5}, executor: host_agent, timeout: 30}
        b: {}
        c: {implementation: p.tasks.other, inputs: {free: form}}
        h: {}
      extra:
        op: {implementation: p.tasks.extra, max_retries: -1, retry_interval: 0.5}
)",
                                 "b.yaml", "");
  // host_agent ops need a host: `vm` is not a Compute here, so its h op is an error.
  REQUIRE_FALSE(plan.ok());
  CHECK(plan.status().message().find("on host_agent plugin 'agent_side'") != std::string::npos);
}

TEST_CASE("Parser: template operations merge with the type's as the original merges them") {
  auto plan = ParseBlueprintText(R"(tosca_definitions_version: cloudify_dsl_1_4
plugins:
  p: {executor: central_deployment_agent, install: false}
node_types:
  t:
    interfaces:
      i:
        a: {implementation: p.tasks.a, inputs: {x: {default: 1}, y: {type: integer, default: 2}}}
        b: p.tasks.b
        c: {implementation: p.tasks.c, inputs: {needed: {type: string, default: d}}}
node_templates:
  n:
    type: t
    interfaces:
      i:
        a: {inputs: {y: 5}, executor: host_agent, timeout: 30}
        b: {}
        c: {implementation: p.tasks.other, inputs: {free: form}}
      extra:
        op: {implementation: p.tasks.extra, max_retries: -1, retry_interval: 0.5}
)",
                                 "b.yaml", "");
  // executor host_agent on a host-less node is refused.
  REQUIRE_FALSE(plan.ok());
  CHECK(plan.status().message().find("neither a Compute node nor contained in one") !=
        std::string::npos);

  auto ok = ParseBlueprintText(R"(tosca_definitions_version: cloudify_dsl_1_4
plugins:
  p: {executor: central_deployment_agent, install: false}
node_types:
  t:
    interfaces:
      i:
        a: {implementation: p.tasks.a, inputs: {x: {default: 1}, y: {type: integer, default: 2}}}
        b: p.tasks.b
        c: {implementation: p.tasks.c, inputs: {needed: {type: string, default: d}}}
node_templates:
  n:
    type: t
    interfaces:
      i:
        a: {inputs: {y: 5}, timeout: 30}
        b: {}
        c: {implementation: p.tasks.other, inputs: {free: form}}
      extra:
        op: {implementation: p.tasks.extra, max_retries: -1, retry_interval: 0.5}
)",
                               "b.yaml", "");
  REQUIRE_MESSAGE(ok.ok(), ok.status().ToString());
  const auto& ops = ok->nodes[0].operations;
  // Same implementation: inputs validated against the schema, defaults filled in.
  CHECK(ops.at("i.a").inputs == json{{"x", 1}, {"y", 5}});
  CHECK(ops.at("i.a").inputs_types == json{{"y", "integer"}});
  CHECK(ops.at("i.a").timeout == 30.0);
  CHECK(ops.at("i.a").executor == model::Executor::kCentralDeploymentAgent);
  CHECK(ops.at("i.a").operation == "tasks.a");
  // {} overrides the type's operation with a no-op (left out of the plan).
  CHECK(ops.count("i.b") == 0);
  // A different implementation: the template's inputs verbatim, the type's schema discarded.
  CHECK(ops.at("i.c").operation == "tasks.other");
  CHECK(ops.at("i.c").inputs == json{{"free", "form"}});
  CHECK(ops.at("extra.op").max_retries == -1);
  CHECK(ops.at("extra.op").retry_interval == 0.5);
  CHECK(ops.at("op") == ops.at("extra.op"));

  auto wrong_type = ParseBlueprintText(R"(tosca_definitions_version: cloudify_dsl_1_4
plugins:
  p: {executor: central_deployment_agent, install: false}
node_types:
  t:
    interfaces:
      i:
        a: {implementation: p.tasks.a, inputs: {y: {type: integer}}}
node_templates:
  n: {type: t}
)",
                                       "b.yaml", "");
  REQUIRE_FALSE(wrong_type.ok());
  CHECK(wrong_type.status().message() ==
        "node type 't' operation 'i.a': input 'y' is missing a value");

  // The same type is fine when every template gives the input (also through relationships).
  auto supplied = ParseBlueprintText(R"(tosca_definitions_version: cloudify_dsl_1_4
plugins:
  p: {executor: central_deployment_agent, install: false}
node_types:
  t:
    interfaces:
      i:
        a: {implementation: p.tasks.a, inputs: {y: {type: integer}}}
        b: p.tasks.b
relationships:
  r:
    target_interfaces:
      j:
        link: {implementation: p.tasks.link, inputs: {z: {}}}
node_templates:
  n:
    type: t
    interfaces: {i: {a: {inputs: {y: 7}}}}
  m:
    type: t
    interfaces: {i: {a: {inputs: {y: 8}}}, k: {b: p.tasks.kb}}
    relationships:
      - type: r
        target: n
        target_interfaces: {j: {link: {inputs: {z: 1}}}}
)",
                                     "b.yaml", "");
  REQUIRE_MESSAGE(supplied.ok(), supplied.status().ToString());
  const auto& n_ops = supplied->nodes[0].operations;
  CHECK(n_ops.at("i.a").inputs == json{{"y", 7}});
  CHECK(n_ops.at("a").inputs == json{{"y", 7}});
  CHECK(n_ops.at("b").operation == "tasks.b");
  const auto& m_ops = supplied->nodes[1].operations;
  CHECK(m_ops.at("i.a").inputs == json{{"y", 8}});
  CHECK(m_ops.count("b") == 0);  // i.b and k.b share the bare name
  CHECK(m_ops.at("k.b").operation == "tasks.kb");
  const auto& rel = supplied->nodes[1].relationships.at(0);
  CHECK(rel.target_operations.at("j.link").inputs == json{{"z", 1}});
  CHECK(rel.target_operations.at("link").inputs == json{{"z", 1}});

  auto rel_missing = ParseBlueprintText(R"(tosca_definitions_version: cloudify_dsl_1_4
plugins:
  p: {executor: central_deployment_agent, install: false}
node_types:
  t: {}
relationships:
  r:
    target_interfaces:
      j:
        link: {implementation: p.tasks.link, inputs: {z: {}}}
node_templates:
  n: {type: t}
  m:
    type: t
    relationships:
      - {type: r, target: n}
)",
                                        "b.yaml", "");
  REQUIRE_FALSE(rel_missing.ok());
  CHECK(rel_missing.status().message() ==
        "relationship 'r' operation 'j.link': input 'z' is missing a value");
}

}  // namespace
}  // namespace cloudify::dsl
