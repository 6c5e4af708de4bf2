// YamlToJson: a YAML document as JSON, for configuration files (cloudify-manager's --config).
// Uses the DSL's YAML reader (PyYAML-compatible scalars, alias bombs refused), so yaml-cpp stays
// private to the dsl layer.
//
// Errors: kBadParameters with the file name, line and column of invalid YAML.
// Thread-safety: stateless; safe from any thread.
#pragma once

#include <string>
#include <string_view>

#include <nlohmann/json.hpp>

#include "cloudify/status.h"

namespace cloudify::dsl {

// The first document of `text`; `file_name` names it in error messages. An empty document is
// null.
Result<nlohmann::json> YamlToJson(std::string_view text, const std::string& file_name);

}  // namespace cloudify::dsl
