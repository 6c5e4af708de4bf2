// The blueprint parser: Cloudify DSL YAML (cloudify_dsl_1_0 ... cloudify_dsl_1_5) to a
// validated model::Plan, as the original dsl_parser's parse_from_path does.
//
// What it does: loads YAML 1.1 keeping line/column of every node; gates top-level keys and
// features by tosca_definitions_version; follows imports breadth-first (relative paths inside
// the blueprint folder, file: URLs, the well-known getcloudify.org / cloudify.co types URLs
// resolved offline to the bundled built-in types, other URLs through a caller-given resolver);
// merges the imported files; resolves derived_from chains of node types, relationships and
// data types; checks node templates, operations, relationships, inputs, outputs, groups,
// policies and intrinsic-function references; decides script vs plugin operations.
//
// Errors: every failure is one Status with code kInvalidBlueprint whose message names the
// offending key, and whose location() is the file (relative to the blueprint folder, or the
// import URL), line and column, e.g.
//   blueprint.yaml:14:7: node 'web' relationship target 'dbb' does not exist
// Inputs that break the limits below (alias bombs, import depth/count, oversized files, files
// outside the blueprint folder) are refused with kInvalidBlueprint too.
//
// Thread-safety: the functions are reentrant; distinct calls may run on distinct threads.
// An ImportResolver given in the options must then be callable concurrently.
#pragma once

#include <cstddef>
#include <cstdint>
#include <filesystem>
#include <functional>
#include <string>
#include <string_view>

#include "cloudify/model/plan.h"
#include "cloudify/status.h"

namespace cloudify::dsl {

// Fetches the text of a non-file import URL (http(s)://, plugin:, blueprint:, ...) that is
// not one of the well-known built-in types URLs. Return kNotFound (or any error) when it cannot.
using ImportResolver = std::function<Result<std::string>(const std::string& url)>;

struct ParseOptions {
  // Where the bundled built-in types live (types/types.yaml, types/types_1_3.yaml).
  // Default: empty, meaning DefaultResourcesDir().
  std::filesystem::path resources_dir;
  // Resolver for remote imports. Default: none (remote imports other than the well-known
  // types URLs fail: the parser never goes to the network itself).
  ImportResolver import_resolver;
  // Largest blueprint or imported file accepted. Default: 50 MiB.
  uint64_t max_file_bytes = 50ull * 1024 * 1024;
  // Deepest chain of imports (the main file is depth 0). Default: 32.
  int max_import_depth = 32;
  // Most files imported in total (built-in types included). Default: 1000.
  int max_imports = 1000;
  // Most YAML nodes that aliases may add by expansion, per file. Default: 100,000.
  size_t max_alias_expansion_nodes = 100000;
  // Reject features newer than the blueprint's tosca_definitions_version (the manager's
  // validate_definitions_version setting). Default: true.
  bool validate_definitions_version = true;
};

// The bundled resources folder: the source tree's resources/ when it exists (builds from
// source), else the installed <datadir>/cloudify/resources.
std::filesystem::path DefaultResourcesDir();

// Parses the blueprint at `path`; its folder is the blueprint root (imports and scripts are
// found relative to it and may not leave it). Errors: kInvalidBlueprint (see above).
Result<model::Plan> ParseBlueprintFile(const std::filesystem::path& path,
                                       const ParseOptions& options = {});

// Parses blueprint text as if it were the file `file_name` in folder `blueprint_dir`
// (used for relative imports and script paths; may be empty for self-contained text).
Result<model::Plan> ParseBlueprintText(std::string_view text, std::string_view file_name,
                                       const std::filesystem::path& blueprint_dir,
                                       const ParseOptions& options = {});

// Parses deployment inputs given on a command line: a path to a YAML/JSON file holding a
// mapping, inline YAML/JSON mapping text, or "k=v;k2=v2" (values read as YAML scalars, so
// `port=8080` is the integer 8080). Errors: kBadParameters naming the problem.
Result<nlohmann::json> ParseInputsArgument(std::string_view argument);

}  // namespace cloudify::dsl
