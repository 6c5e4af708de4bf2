#include "cloudify/model/node.h"

#include <array>

#include "common/enum_table.h"

namespace cloudify::model {
namespace {

using S = NodeInstanceState;
constexpr std::array<EnumName<NodeInstanceState>, 12> kStateNames{{
    {S::kUninitialized, "uninitialized"},
    {S::kInitializing, "initializing"},
    {S::kCreating, "creating"},
    {S::kCreated, "created"},
    {S::kConfiguring, "configuring"},
    {S::kConfigured, "configured"},
    {S::kStarting, "starting"},
    {S::kStarted, "started"},
    {S::kStopping, "stopping"},
    {S::kStopped, "stopped"},
    {S::kDeleting, "deleting"},
    {S::kDeleted, "deleted"},
}};

}  // namespace

std::string_view NodeInstanceStateName(NodeInstanceState s) {
  return NameOf<NodeInstanceState>(kStateNames, s);
}

std::optional<NodeInstanceState> ParseNodeInstanceState(std::string_view name) {
  return ValueOf<NodeInstanceState>(kStateNames, name);
}

Status CheckNodeInstanceVersion(const std::string& instance_id, int64_t stored, int64_t proposed) {
  if (proposed < 0) {
    return BadParametersError("Node instance version must be a non-negative integer, got " +
                              std::to_string(proposed));
  }
  if (proposed < stored) {
    return ConflictError("Node instance update conflict [current version=" +
                         std::to_string(stored) + ", update version=" + std::to_string(proposed) +
                         "] for node instance `" + instance_id + "`");
  }
  return Status::Ok();
}

}  // namespace cloudify::model
