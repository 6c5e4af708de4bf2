// Helpers the command groups share: wiring a subcommand to its action, the list flags, and
// the blueprint upload that `blueprints upload` and `install` both do.
#pragma once

#include <memory>
#include <string>
#include <utility>

#include "cli/session.h"

namespace cloudify::cli {

// When `command` is chosen, `run` becomes the action RunCfy executes after parsing.
template <class Run>
void OnRun(CLI::App* command, Action& action, Run run) {
  command->callback([&action, run = std::move(run)] { action = run; });
}

// The paging and sorting flags of every list command.
struct ListArgs {
  std::string sort_by;
  bool descending = false;
  int offset = 0;
  int size = 1000;
  bool all_tenants = false;
  std::string search;
  client::QueryParams filters;  // equality filters the command adds (e.g. deployment_id)

  void AddTo(CLI::App* command);
  client::QueryParams Query() const;
};

struct UploadedBlueprint {
  std::string id;
  nlohmann::json blueprint;
};
// Uploads a blueprint folder, its main file, or an archive (the id defaults to the folder or
// archive name, the main file to blueprint.yaml or the given file's name).
Result<UploadedBlueprint> UploadBlueprint(Session& session, const std::string& path,
                                          std::string blueprint_id, std::string main_file,
                                          const std::string& visibility);

// PUT /deployments/<id>, printing what the original prints.
Result<nlohmann::json> CreateDeployment(Session& session, const std::string& blueprint_id,
                                        const std::string& deployment_id,
                                        const nlohmann::json& inputs,
                                        const std::string& visibility);
// DELETE /deployments/<id>, then waits until it is gone.
Status DeleteDeployment(Session& session, const std::string& deployment_id, bool force);

// `<group> set-visibility ID -l VISIBILITY`: PATCH /<collection>/<id>/set-visibility.
void AddSetVisibility(CLI::App* group, Session& session, Action& action,
                      const std::string& collection, const std::string& what);

}  // namespace cloudify::cli
