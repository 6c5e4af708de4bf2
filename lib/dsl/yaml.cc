#include "cloudify/dsl/yaml.h"

#include "dsl/yaml_tree.h"

namespace cloudify::dsl {

Result<nlohmann::json> YamlToJson(std::string_view text, const std::string& file_name) {
  Result<YamlNodePtr> node = ParseYaml(text, 0, file_name, YamlLimits{});
  if (!node.ok()) {
    Status s = node.status();
    return s.location() ? Status(ErrorCode::kBadParameters, s.message(), *s.location())
                        : Status(ErrorCode::kBadParameters, s.message());
  }
  return (*node)->ToJson();
}

}  // namespace cloudify::dsl
