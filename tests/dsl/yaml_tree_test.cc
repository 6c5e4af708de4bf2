// The two-thread parse of a large section gives what one parse gives: the same tree, the same
// marks, the same errors.
#include "dsl/yaml_tree.h"

#include <cstdint>
#include <string>

#include <doctest/doctest.h>

namespace cloudify::dsl {
namespace {

YamlLimits Split() {
  YamlLimits limits;
  limits.split_body_bytes = 1;  // any section with two keys is cut
  return limits;
}

YamlLimits Whole() {
  YamlLimits limits;
  limits.split_body_bytes = SIZE_MAX;
  return limits;
}

// Same kind, value, marks and entries, all the way down; the first difference as a path.
std::string Difference(const YamlNode& a, const YamlNode& b, const std::string& path = "$") {
  auto mark = [](const YamlMark& m) {
    return std::to_string(m.file) + ":" + std::to_string(m.line) + ":" + std::to_string(m.column);
  };
  if (a.kind != b.kind || a.is_string != b.is_string || a.text != b.text || a.scalar != b.scalar) {
    return path + ": value";
  }
  if (mark(a.mark) != mark(b.mark)) {
    return path + ": mark " + mark(a.mark) + " vs " + mark(b.mark);
  }
  if (a.subtree_size != b.subtree_size) {
    return path + ": subtree size";
  }
  if (a.entries.size() != b.entries.size() || a.items.size() != b.items.size()) {
    return path + ": size";
  }
  for (size_t i = 0; i < a.entries.size(); ++i) {
    const YamlEntry& x = a.entries[i];
    const YamlEntry& y = b.entries[i];
    if (x.key != y.key || mark(x.key_mark) != mark(y.key_mark)) {
      return path + "." + x.key + ": key";
    }
    if (std::string d = Difference(*x.value, *y.value, path + "." + x.key); !d.empty()) {
      return d;
    }
  }
  for (size_t i = 0; i < a.items.size(); ++i) {
    std::string d = Difference(*a.items[i], *b.items[i], path + "[" + std::to_string(i) + "]");
    if (!d.empty()) {
      return d;
    }
  }
  return "";
}

// A blueprint with `n` node templates written in the styles a blueprint uses.
std::string Blueprint(int n, const std::string& extra_template = "") {
  std::string out =
      "# a generated blueprint\n"
      "tosca_definitions_version: cloudify_dsl_1_4\n"
      "dsl_definitions:\n"
      "  common: &common {port: 80}\n"
      "inputs:\n"
      "  size: {default: 3}\n"
      "\n"
      "node_templates:   # every template\n"
      "\n"
      "  # the first one\n";
  for (int i = 0; i < n; ++i) {
    const std::string name = "node_" + std::to_string(i);
    out += "  " + name + ":\n";
    out += "    type: cloudify.nodes.Root\n";
    out += "    properties:\n";
    out += "      count: " + std::to_string(i) + "\n";
    out += "      flag: yes\n";
    out += "      text: |\n        line one of " + name + "\n\n        line three\n";
    out += "      quoted: \"a # not a comment\"\n";
    out += "      folded: >-\n        folded\n        text\n";
    out += "      list: [a, {b: 1}, 2.5]\n";
    out += "# a comment at the margin\n";
    out += "      items:\n        - x\n        - {get_input: size}\n";
    if (i % 7 == 3) {
      out += "  \"quoted_" + name + "\":\n    type: cloudify.nodes.Root\n";
    }
  }
  out += extra_template;
  out += "outputs:\n  o: {value: {get_input: size}}\n";
  return out;
}

TEST_CASE("a large section parsed in two halves is the tree one parse makes") {
  const std::string text = Blueprint(200);
  auto split = ParseYaml(text, 3, "blueprint.yaml", Split());
  auto whole = ParseYaml(text, 3, "blueprint.yaml", Whole());
  REQUIRE_MESSAGE(split.ok(), split.status().ToString());
  REQUIRE(whole.ok());
  CHECK(Difference(**split, **whole) == "");
  // The default cut applies to a large document, with the same result.
  const std::string large = Blueprint(2000);
  REQUIRE(large.size() > 2 * YamlLimits{}.split_body_bytes);
  auto by_default = ParseYaml(large, 0, "blueprint.yaml", YamlLimits{});
  auto large_whole = ParseYaml(large, 0, "blueprint.yaml", Whole());
  REQUIRE(by_default.ok());
  REQUIRE(large_whole.ok());
  CHECK(Difference(**by_default, **large_whole) == "");
  const YamlEntry* templates = (*by_default)->Find("node_templates");
  REQUIRE(templates != nullptr);
  CHECK(templates->value->entries.size() == 2000 + 2000 / 7 + 1);
  CHECK(templates->value->entries.back().key == "node_1999");
}

TEST_CASE("an error in either half reads as one parse reports it") {
  for (const std::string bad : {"  broken:\n    list: [unclosed\n", "  broken: {a: 1\n",
                                "  tagged: !!python/object x\n", "  é: 1\n"}) {
    for (int before : {5, 150}) {
      std::string text = Blueprint(before) + "node_templates_end: 1\n";
      // The bad template goes inside the section, after `before` templates.
      const std::string marker = "  node_" + std::to_string(before - 1) + ":\n";
      const size_t at = text.find(marker);
      REQUIRE(at != std::string::npos);
      text.insert(at, bad);
      auto split = ParseYaml(text, 0, "blueprint.yaml", Split());
      auto whole = ParseYaml(text, 0, "blueprint.yaml", Whole());
      REQUIRE_FALSE(whole.ok());
      REQUIRE_FALSE(split.ok());
      CHECK(split.status().ToString() == whole.status().ToString());
    }
  }
}

TEST_CASE("what a cut could change is parsed whole") {
  // An alias in the section refers to an anchor outside it.
  const std::string alias = Blueprint(50, "  aliased:\n    properties: *common\n");
  // Duplicate keys: the later one wins, whichever half it is in.
  const std::string duplicate = Blueprint(50, "  node_1:\n    type: late\n");
  // A section of sequence items, and a second document.
  std::string sequence = "groups:\n";
  for (int i = 0; i < 50; ++i) {
    sequence += "  - name: g" + std::to_string(i) + "\n    members: [a, b]\n";
  }
  const std::string documents = "a: 1\n---\n" + Blueprint(50);
  // A flow mapping around block lines: invalid as a whole, whatever its parts would say.
  const std::string flow = "{\nnode_templates:\n  a: {type: x}\n  b: {type: y}\n}\n";
  const std::string flow_after_start = "--- {\nnode_templates:\n  a: 1\n  b: 2\n}\n";
  // A tab in the indentation (invalid YAML, reported as one parse reports it).
  std::string tab = Blueprint(50);
  tab.insert(tab.find("  node_40:"), "\tbad: 1\n");
  for (const std::string& text :
       {alias, duplicate, sequence, documents, tab, flow, flow_after_start}) {
    auto split = ParseYaml(text, 0, "b.yaml", Split());
    auto whole = ParseYaml(text, 0, "b.yaml", Whole());
    REQUIRE(split.ok() == whole.ok());
    if (whole.ok()) {
      CHECK(Difference(**split, **whole) == "");
    } else {
      CHECK(split.status().ToString() == whole.status().ToString());
    }
  }
  auto aliased = ParseYaml(alias, 0, "b.yaml", Split());
  REQUIRE(aliased.ok());
  const YamlEntry* templates = (*aliased)->Find("node_templates");
  REQUIRE(templates != nullptr);
  CHECK(templates->value->Find("aliased")->value->ToJson() ==
        nlohmann::json{{"properties", {{"port", 80}}}});
  auto late = ParseYaml(duplicate, 0, "b.yaml", Split());
  REQUIRE(late.ok());
  CHECK((*late)->Find("node_templates")->value->Find("node_1")->value->ToJson()["type"] == "late");
}

}  // namespace
}  // namespace cloudify::dsl
