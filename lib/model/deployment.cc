#include "cloudify/model/deployment.h"

#include <array>

#include "common/enum_table.h"

namespace cloudify::model {
namespace {

constexpr std::array<EnumName<InstallationStatus>, 2> kInstallationNames{{
    {InstallationStatus::kActive, "active"},
    {InstallationStatus::kInactive, "inactive"},
}};
constexpr std::array<EnumName<DeploymentStatus>, 3> kDeploymentNames{{
    {DeploymentStatus::kGood, "good"},
    {DeploymentStatus::kInProgress, "in_progress"},
    {DeploymentStatus::kRequiresAttention, "requires_attention"},
}};
constexpr std::array<EnumName<LatestExecutionStatus>, 4> kLatestNames{{
    {LatestExecutionStatus::kCompleted, "completed"},
    {LatestExecutionStatus::kFailed, "failed"},
    {LatestExecutionStatus::kCancelled, "cancelled"},
    {LatestExecutionStatus::kInProgress, "in_progress"},
}};

}  // namespace

std::string_view InstallationStatusName(InstallationStatus s) {
  return NameOf<InstallationStatus>(kInstallationNames, s);
}
std::optional<InstallationStatus> ParseInstallationStatus(std::string_view name) {
  return ValueOf<InstallationStatus>(kInstallationNames, name);
}
std::string_view DeploymentStatusName(DeploymentStatus s) {
  return NameOf<DeploymentStatus>(kDeploymentNames, s);
}
std::optional<DeploymentStatus> ParseDeploymentStatus(std::string_view name) {
  return ValueOf<DeploymentStatus>(kDeploymentNames, name);
}
std::string_view LatestExecutionStatusName(LatestExecutionStatus s) {
  return NameOf<LatestExecutionStatus>(kLatestNames, s);
}
std::optional<LatestExecutionStatus> ParseLatestExecutionStatus(std::string_view name) {
  return ValueOf<LatestExecutionStatus>(kLatestNames, name);
}

}  // namespace cloudify::model
