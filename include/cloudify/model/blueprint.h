// Blueprint: an uploaded blueprint, its upload state and its parsed plan (REST.md §3.1).
#pragma once

#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "cloudify/model/plan.h"
#include "cloudify/model/resource.h"

namespace cloudify::model {

// The original's BlueprintUploadState.
enum class BlueprintState {
  kPending,  // URL upload queued
  kUploading,
  kExtracting,
  kParsing,
  kUploaded,
  kFailedUploading,
  kFailedExtracting,
  kFailedParsing,
  kFailedExtractingToFileServer,
  kInvalid,  // the DSL rejected it
  kValidating,
};

std::string_view BlueprintStateName(BlueprintState s);  // e.g. "failed_parsing"
std::optional<BlueprintState> ParseBlueprintState(std::string_view name);
// The failed states and kInvalid: such a blueprint may be replaced or deleted unconditionally.
bool IsFailedBlueprintState(BlueprintState s);

struct Blueprint {
  std::string id;
  ResourceMeta meta;
  Timestamp updated_at{};
  std::string main_file_name = "blueprint.yaml";
  std::string description;
  Plan plan;
  nlohmann::json requirements = nlohmann::json::object();
  BlueprintState state = BlueprintState::kUploading;
  std::string error;
  std::string error_traceback;
  bool is_hidden = false;
  std::vector<Label> labels;
  std::string upload_execution_id;

  bool operator==(const Blueprint&) const = default;
};

}  // namespace cloudify::model
