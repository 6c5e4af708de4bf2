// Plugin archives as `cfy plugins upload` sends them: a wagon (a tar.gz or zip whose top folder
// holds package.json and the wheels), or a zip holding one wagon (.wgn) and its plugin YAML
// files. Private to the core layer.
#pragma once

#include <filesystem>
#include <string>
#include <string_view>
#include <vector>

#include "cloudify/model/plugin.h"
#include "cloudify/status.h"

namespace cloudify::core {

struct PluginArchive {
  model::Plugin plugin;                      // read from package.json (no id nor meta yet)
  std::filesystem::path wagon;               // the wagon file, under the work dir
  std::vector<std::filesystem::path> yamls;  // its plugin YAML files, under the work dir
};

// Reads `bytes` safely (ExtractArchive's rules) under `work_dir`, which must not exist yet.
// kInvalidPlugin naming what is wrong: not an archive, no package.json, no package_name or
// package_version, a bundle without exactly one wagon.
Result<PluginArchive> ReadPluginArchive(std::string_view bytes,
                                        const std::filesystem::path& work_dir);

}  // namespace cloudify::core
