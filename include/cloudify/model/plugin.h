// Plugin: an uploaded plugin package (REST.md §3.9).
#pragma once

#include <string>
#include <vector>

#include "cloudify/model/resource.h"

namespace cloudify::model {

struct Plugin {
  std::string id;
  std::string package_name;
  std::string package_version;
  std::string package_source;
  std::string archive_name;
  std::string distribution;
  std::string distribution_version;
  std::string distribution_release;
  std::string supported_platform;
  std::string supported_py_versions;
  std::string title;
  std::vector<std::string> wheels;
  std::vector<std::string> yaml_url_paths;
  ResourceMeta meta;  // meta.created_at is the original's uploaded_at

  bool operator==(const Plugin&) const = default;
};

}  // namespace cloudify::model
