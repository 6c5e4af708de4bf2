// Secret: a named value that blueprints read with get_secret (REST.md §3.7). The value is held
// in clear here; the store encrypts it at rest.
#pragma once

#include <string>

#include <nlohmann/json.hpp>

#include "cloudify/model/resource.h"

namespace cloudify::model {

struct Secret {
  std::string key;
  std::string value;
  nlohmann::json schema;         // null when the secret has none
  bool is_hidden_value = false;  // only its creator and admins may read the value
  std::string provider_name;
  nlohmann::json provider_options;
  ResourceMeta meta;
  Timestamp updated_at{};

  bool operator==(const Secret&) const = default;
};

}  // namespace cloudify::model
