// Deployment: a blueprint instantiated with inputs (REST.md §3.2).
#pragma once

#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "cloudify/model/plan.h"
#include "cloudify/model/resource.h"

namespace cloudify::model {

// active iff every node instance is started.
enum class InstallationStatus { kActive, kInactive };
enum class DeploymentStatus { kGood, kInProgress, kRequiresAttention };
// The summary of the latest execution shown on a deployment.
enum class LatestExecutionStatus { kCompleted, kFailed, kCancelled, kInProgress };

std::string_view InstallationStatusName(InstallationStatus s);  // "active", "inactive"
std::optional<InstallationStatus> ParseInstallationStatus(std::string_view name);
std::string_view DeploymentStatusName(DeploymentStatus s);  // "good", "in_progress", ...
std::optional<DeploymentStatus> ParseDeploymentStatus(std::string_view name);
std::string_view LatestExecutionStatusName(LatestExecutionStatus s);
std::optional<LatestExecutionStatus> ParseLatestExecutionStatus(std::string_view name);

struct Deployment {
  std::string id;
  std::string display_name;  // defaults to id
  std::string blueprint_id;
  ResourceMeta meta;
  Timestamp updated_at{};
  std::string description;
  nlohmann::json inputs = nlohmann::json::object();  // bound input values
  std::map<std::string, OutputSpec> outputs;         // definitions, evaluated on read
  std::map<std::string, OutputSpec> capabilities;
  std::map<std::string, GroupSpec> groups;
  std::map<std::string, ScalingGroupSpec> scaling_groups;
  std::map<std::string, PolicySpec> policies;
  nlohmann::json policy_types = nlohmann::json::object();
  nlohmann::json policy_triggers = nlohmann::json::object();
  std::map<std::string, WorkflowSpec> workflows;
  bool runtime_only_evaluation = false;
  std::string site_name;
  std::vector<Label> labels;
  InstallationStatus installation_status = InstallationStatus::kInactive;
  DeploymentStatus deployment_status = DeploymentStatus::kGood;
  std::string create_execution_id;
  std::string latest_execution_id;
  std::optional<LatestExecutionStatus> latest_execution_status;

  bool operator==(const Deployment&) const = default;
};

}  // namespace cloudify::model
