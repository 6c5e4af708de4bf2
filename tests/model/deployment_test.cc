#include "cloudify/model/deployment.h"

#include <doctest/doctest.h>

namespace cloudify::model {
namespace {

TEST_CASE("deployment status enums carry the original's names") {
  CHECK(InstallationStatusName(InstallationStatus::kActive) == "active");
  CHECK(*ParseInstallationStatus("inactive") == InstallationStatus::kInactive);
  CHECK(DeploymentStatusName(DeploymentStatus::kRequiresAttention) == "requires_attention");
  CHECK(*ParseDeploymentStatus("in_progress") == DeploymentStatus::kInProgress);
  CHECK(LatestExecutionStatusName(LatestExecutionStatus::kCompleted) == "completed");
  CHECK(*ParseLatestExecutionStatus("in_progress") == LatestExecutionStatus::kInProgress);
  CHECK_FALSE(ParseDeploymentStatus("bad").has_value());
}

TEST_CASE("a new deployment is inactive and good until something runs") {
  Deployment d;
  CHECK(d.installation_status == InstallationStatus::kInactive);
  CHECK(d.deployment_status == DeploymentStatus::kGood);
  CHECK_FALSE(d.latest_execution_status.has_value());
}

}  // namespace
}  // namespace cloudify::model
