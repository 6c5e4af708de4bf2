// What every cfy command shares: the output streams and format, the active profile, the REST
// client made from it, and the helpers that print tables, JSON and errors the way the
// original CLI does.
#pragma once

#include <filesystem>
#include <functional>
#include <memory>
#include <ostream>
#include <string>
#include <vector>

#include <CLI/CLI.hpp>
#include <nlohmann/json.hpp>

#include "cloudify/client/rest_client.h"
#include "cloudify/status.h"

namespace cloudify::cli {

// A manager the CLI talks to, stored as <workdir>/profiles/<name>/context.json (mode 0600).
struct Profile {
  std::string name;
  std::string host;
  int port = 0;  // 0: the client's default
  bool ssl = false;
  std::string ca_cert;
  std::string username;
  std::string password;
  std::string tenant = "default_tenant";
};

// <$CFY_WORKDIR or $HOME>/.cloudify, as the original.
std::filesystem::path WorkDir();
Result<Profile> LoadProfile(const std::string& name);
Status SaveProfile(const Profile& profile);
// The active profile's name; kNotFound when none was chosen with `cfy profiles use`.
Result<std::string> ActiveProfileName();
Status SetActiveProfile(const std::string& name);

// The command chosen on the command line, run after parsing. Returns the exit code.
using Action = std::function<int()>;

class Session {
 public:
  Session(std::ostream& out_stream, std::ostream& err_stream, bool use_color)
      : out(out_stream), err(err_stream), color(use_color) {}

  std::ostream& out;
  std::ostream& err;
  const bool color;             // ANSI colours (only when stdout is a terminal)
  bool json = false;            // --json: machine-readable output
  std::string tenant_override;  // -t/--tenant-name

  // The client for the active profile, with CLOUDIFY_USERNAME / CLOUDIFY_PASSWORD /
  // CLOUDIFY_TENANT / CLOUDIFY_TOKEN overriding it.
  Result<client::RestClient*> Client();
  // Prints "Error: <message> (<error_code>)" and returns exit code 1.
  int Fail(const Status& status);

  // A list as the original prints it: title, an aligned table of `columns`, or with --json a
  // JSON array of objects restricted to those columns.
  void PrintList(const std::vector<std::string>& columns, const nlohmann::json& items,
                 const std::string& title);
  // One object: a one-row table, or its columns as a JSON object.
  void PrintOne(const std::vector<std::string>& columns, const nlohmann::json& item,
                const std::string& title);
  // "Showing N of M <what>" (not with --json).
  void PrintShowing(size_t shown, int64_t total, const std::string& what);
  // A line for people (not printed with --json, which keeps stdout parseable).
  void Info(const std::string& line);

 private:
  std::unique_ptr<client::RestClient> client_;
};

// The text of a table with the original's layout (a prettytable: +---+ rules, centred cells).
std::string RenderTable(const std::vector<std::string>& columns,
                        const std::vector<std::vector<std::string>>& rows);
// A JSON value as a table cell: strings bare, timestamps "YYYY-MM-DD hh:mm:ss.sss",
// lists comma-joined, null empty, objects as JSON.
std::string CellText(const nlohmann::json& value);
// One event or log line as the original prints it:
// "<timestamp>  CFY <deployment> [node_instance.operation] message".
std::string FormatEvent(const nlohmann::json& event);

// Command groups; each adds its subcommands to `app` and sets `action` when one is chosen.
void AddProfileCommands(CLI::App& app, Session& session, Action& action);
void AddBlueprintCommands(CLI::App& app, Session& session, Action& action);
void AddDeploymentCommands(CLI::App& app, Session& session, Action& action);
void AddExecutionCommands(CLI::App& app, Session& session, Action& action);
void AddEventCommands(CLI::App& app, Session& session, Action& action);
void AddNodeCommands(CLI::App& app, Session& session, Action& action);
void AddSecretCommands(CLI::App& app, Session& session, Action& action);
// cfy plugins (upload, list, get, download, delete) and cfy agents list.
void AddPluginCommands(CLI::App& app, Session& session, Action& action);
void AddAdminCommands(CLI::App& app, Session& session, Action& action);
void AddInstallCommands(CLI::App& app, Session& session, Action& action);

// Starts `workflow_id` on the deployment and follows it to its end (events as they happen,
// a progress line on a terminal). Exit code 0 when it terminated, 1 otherwise.
struct StartRequest {
  std::string deployment_id;
  std::string workflow_id;
  nlohmann::json parameters = nullptr;
  bool allow_custom_parameters = false;
  bool force = false;
  bool queue = false;
  bool dry_run = false;
  bool include_logs = true;
  int timeout_seconds = 900;
};
int StartAndFollow(Session& session, const StartRequest& request);
// Follows an execution already started. Exit code as StartAndFollow.
int FollowExecution(Session& session, const std::string& execution_id, bool include_logs,
                    int timeout_seconds);

// Reads -i/-p style arguments (files, inline YAML/JSON, k=v;k2=v2) into one object.
Result<nlohmann::json> MergeInputArguments(const std::vector<std::string>& arguments);

}  // namespace cloudify::cli
