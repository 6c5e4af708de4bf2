#include "cloudify/model/blueprint.h"

#include <array>

#include "common/enum_table.h"

namespace cloudify::model {
namespace {

using S = BlueprintState;
constexpr std::array<EnumName<BlueprintState>, 11> kStateNames{{
    {S::kPending, "pending"},
    {S::kUploading, "uploading"},
    {S::kExtracting, "extracting"},
    {S::kParsing, "parsing"},
    {S::kUploaded, "uploaded"},
    {S::kFailedUploading, "failed_uploading"},
    {S::kFailedExtracting, "failed_extracting"},
    {S::kFailedParsing, "failed_parsing"},
    {S::kFailedExtractingToFileServer, "failed_extracting_to_file_server"},
    {S::kInvalid, "invalid"},
    {S::kValidating, "validating"},
}};

}  // namespace

std::string_view BlueprintStateName(BlueprintState s) {
  return NameOf<BlueprintState>(kStateNames, s);
}

std::optional<BlueprintState> ParseBlueprintState(std::string_view name) {
  return ValueOf<BlueprintState>(kStateNames, name);
}

bool IsFailedBlueprintState(BlueprintState s) {
  switch (s) {
    case S::kFailedUploading:
    case S::kFailedExtracting:
    case S::kFailedParsing:
    case S::kFailedExtractingToFileServer:
    case S::kInvalid:
      return true;
    default:
      return false;
  }
}

}  // namespace cloudify::model
