#include "cloudify/dsl/yaml.h"

#include <doctest/doctest.h>

namespace cloudify::dsl {
namespace {

TEST_CASE("YamlToJson reads a config map with PyYAML's scalar rules") {
  auto j = YamlToJson("listen: 127.0.0.1:53333\nworkers: 4\ntls: no\nlist: [a, 1]\nempty:\n",
                      "manager.yaml");
  REQUIRE_MESSAGE(j.ok(), j.status().ToString());
  CHECK(*j == nlohmann::json{{"listen", "127.0.0.1:53333"},
                             {"workers", 4},
                             {"tls", false},
                             {"list", {"a", 1}},
                             {"empty", nullptr}});
}

TEST_CASE("YamlToJson: invalid YAML is bad parameters naming the file and line") {
  auto j = YamlToJson("a: 1\nb: [unclosed\n", "manager.yaml");
  REQUIRE_FALSE(j.ok());
  CHECK(j.status().code() == ErrorCode::kBadParameters);
  REQUIRE(j.status().location().has_value());
  CHECK(j.status().location()->file == "manager.yaml");
  CHECK(j.status().location()->line >= 2);
  CHECK(YamlToJson("", "empty.yaml")->is_null());
}

}  // namespace
}  // namespace cloudify::dsl
