// cfy executions, events, install and uninstall: starting workflows and following them.
#include <chrono>
#include <cstdio>
#include <thread>

#include "cli/commands.h"

namespace cloudify::cli {
namespace {

using nlohmann::json;
using Clock = std::chrono::steady_clock;

const std::vector<std::string> kExecutionColumns = {
    "id",           "workflow_id", "status_display", "is_dry_run",   "deployment_id",
    "blueprint_id", "created_at",  "ended_at",       "error",        "visibility",
    "tenant_name",  "created_by",  "started_at",     "scheduled_for"};
constexpr int kEventsPage = 100;

bool IsTerminal(const std::string& status) {
  return status == "terminated" || status == "failed" || status == "cancelled";
}

bool IsWorkflowEnd(const json& event) {
  const std::string type = event.value("event_type", json()).is_string()
                               ? event["event_type"].get<std::string>()
                               : std::string();
  return type == "workflow_succeeded" || type == "workflow_failed" || type == "workflow_cancelled";
}

client::QueryParams EventsQuery(const std::string& execution_id, bool include_logs) {
  client::QueryParams query = {{"execution_id", execution_id}, {"type", "cloudify_event"}};
  if (include_logs) {
    query.emplace_back("type", "cloudify_log");
  }
  return query;
}

// Prints events as they come, and a progress line on a terminal.
class Follower {
 public:
  Follower(Session& session, client::RestClient& client, std::string execution_id)
      : session_(session), client_(client), execution_id_(std::move(execution_id)) {}

  void Print(const json& event) {
    ++printed_;
    ended_ = ended_ || IsWorkflowEnd(event);
    ClearProgress();
    if (session_.json) {
      session_.out << event.dump() << "\n";
    } else {
      std::string line = FormatEvent(event);
      const std::string type = event.value("event_type", json()).is_string()
                                   ? event["event_type"].get<std::string>()
                                   : std::string();
      if (session_.color && (type == "task_failed" || type == "workflow_failed")) {
        line = "\033[31m" + line + "\033[0m";
      } else if (session_.color && type == "workflow_succeeded") {
        line = "\033[32m" + line + "\033[0m";
      }
      session_.out << line << "\n";
    }
    const std::string type = event.value("event_type", json()).is_string()
                                 ? event["event_type"].get<std::string>()
                                 : std::string();
    if (type.rfind("task_", 0) == 0 || type.rfind("workflow_", 0) == 0) {
      RefreshProgress(false);
    }
  }

  // Pages the events stored after the ones printed. kOk when drained.
  Status Drain(bool include_logs) {
    for (;;) {
      client::QueryParams query = EventsQuery(execution_id_, include_logs);
      query.emplace_back("_offset", std::to_string(printed_));
      query.emplace_back("_size", std::to_string(kEventsPage));
      query.emplace_back("_sort", "timestamp");
      CLOUDIFY_ASSIGN_OR_RETURN(client::ListPage page, client_.List("/events", query));
      for (const auto& event : page.items) {
        Print(event);
      }
      if (page.items.size() < static_cast<size_t>(kEventsPage)) {
        return Status::Ok();
      }
    }
  }

  Result<json> Execution() {
    CLOUDIFY_ASSIGN_OR_RETURN(json execution, client_.Get("/executions/" + execution_id_));
    finished_ = execution.value("finished_operations", json()).is_number()
                    ? execution["finished_operations"].get<int64_t>()
                    : finished_;
    total_ = execution.value("total_operations", json()).is_number()
                 ? execution["total_operations"].get<int64_t>()
                 : total_;
    return execution;
  }

  // On a terminal: "[progress] done/total operations, elapsed", rewritten in place.
  void RefreshProgress(bool force) {
    if (!session_.color || session_.json) {
      return;
    }
    const auto now = Clock::now();
    if (!force && now - last_refresh_ < std::chrono::milliseconds(250)) {
      return;
    }
    last_refresh_ = now;
    if (!Execution().ok()) {
      return;
    }
    session_.err << "\r\033[2K" << ProgressText() << std::flush;
    progress_shown_ = true;
  }

  void ClearProgress() {
    if (progress_shown_) {
      session_.err << "\r\033[2K" << std::flush;
      progress_shown_ = false;
    }
  }

  std::string ProgressText() const {
    char elapsed[32];
    std::snprintf(elapsed, sizeof elapsed, "%.1f s",
                  std::chrono::duration<double>(Clock::now() - started_).count());
    return std::to_string(finished_) + "/" + std::to_string(total_) + " operations, " + elapsed;
  }

  int64_t printed() const { return printed_; }
  // The workflow's end event was printed.
  bool ended() const { return ended_; }

 private:
  Session& session_;
  client::RestClient& client_;
  const std::string execution_id_;
  const Clock::time_point started_ = Clock::now();
  Clock::time_point last_refresh_{};
  int64_t printed_ = 0;
  int64_t finished_ = 0;
  int64_t total_ = 0;
  bool progress_shown_ = false;
  bool ended_ = false;
};

}  // namespace

int FollowExecution(Session& session, const std::string& execution_id, bool include_logs,
                    int timeout_seconds) {
  auto client_or = session.Client();
  if (!client_or.ok()) {
    return session.Fail(client_or.status());
  }
  client::RestClient& client = **client_or;
  Follower follower(session, client, execution_id);
  const auto deadline = Clock::now() + std::chrono::seconds(timeout_seconds);

  // Live first: the manager's event stream (events and logs, then an "end" event once the
  // execution ended). Any failure falls back to polling from where the stream stopped.
  client::QueryParams query = EventsQuery(execution_id, include_logs);
  Status streamed =
      client.Stream("/events/stream", query, [&](const std::string& name, const json& event) {
        if (name == "end" || name == "error") {
          return false;
        }
        follower.Print(event);
        return !follower.ended() && Clock::now() < deadline;
      });
  (void)streamed;  // any stream failure falls back to polling from where it stopped

  // Polling: the execution's status, then the events stored since (unless the stream already
  // showed the end). Events are stored a moment after the status changes, so after the end
  // the events are drained until the workflow's end event shows up (for a few seconds at most).
  json execution;
  int drains_after_end = 0;
  for (;;) {
    auto current = follower.Execution();
    if (!current.ok()) {
      follower.ClearProgress();
      return session.Fail(current.status());
    }
    execution = std::move(*current);
    const bool terminal = IsTerminal(execution.value("status", ""));
    if (!follower.ended()) {
      if (Status drained = follower.Drain(include_logs); !drained.ok()) {
        follower.ClearProgress();
        return session.Fail(drained);
      }
    }
    if (terminal && (follower.ended() || ++drains_after_end > 25)) {
      break;
    }
    if (!terminal && Clock::now() >= deadline) {
      follower.ClearProgress();
      const std::string workflow = execution.value("workflow_id", "");
      const std::string deployment = execution.value("deployment_id", "");
      session.Info("Timed out waiting for workflow '" + workflow + "' of deployment '" +
                   deployment +
                   "' to end. The execution may still be running properly; "
                   "however, the command-line utility was instructed to wait up to " +
                   std::to_string(timeout_seconds) +
                   " seconds for its completion.\n\n"
                   "* Run 'cfy executions list' to determine the execution's status.\n"
                   "* Run 'cfy executions cancel " +
                   execution_id +
                   "' to cancel the running workflow.\n"
                   "* Run 'cfy events list --tail " +
                   execution_id + "' to retrieve the execution's events/logs");
      return 1;
    }
    follower.RefreshProgress(true);
    std::this_thread::sleep_for(std::chrono::milliseconds(terminal ? 100 : 200));
  }
  follower.ClearProgress();
  const std::string workflow = execution.value("workflow_id", "");
  const std::string deployment = execution.value("deployment_id", "");
  const std::string status = execution.value("status", "");
  const std::string events_hint =
      "* Run 'cfy events list " + execution_id + "' to retrieve the execution's events/logs";
  if (status == "terminated") {
    session.Info("Finished executing workflow " + workflow + " on deployment " + deployment + " (" +
                 follower.ProgressText() + ")");
    session.Info(events_hint);
    return 0;
  }
  std::string error = execution.value("error", json()).is_string()
                          ? execution["error"].get<std::string>()
                          : std::string();
  session.err << "Execution of workflow " << workflow << " for deployment " << deployment << " "
              << (status == "cancelled" ? "was cancelled." : "failed.")
              << (error.empty() ? "" : " [error=" + error + "]") << "\n";
  session.Info(events_hint);
  return 1;
}

int StartAndFollow(Session& session, const StartRequest& request) {
  auto client = session.Client();
  if (!client.ok()) {
    return session.Fail(client.status());
  }
  session.Info("Executing workflow `" + request.workflow_id + "` on deployment `" +
               request.deployment_id + "` [timeout=" + std::to_string(request.timeout_seconds) +
               " seconds]");
  auto flag = [](bool value) { return value ? "true" : "false"; };
  // The body the official client sends: string booleans and explicit nulls.
  json body = {{"deployment_id", request.deployment_id},
               {"workflow_id", request.workflow_id},
               {"parameters", request.parameters},
               {"allow_custom_parameters", flag(request.allow_custom_parameters)},
               {"force", flag(request.force)},
               {"dry_run", flag(request.dry_run)},
               {"queue", flag(request.queue)},
               {"scheduled_time", nullptr},
               {"wait_after_fail", 600}};
  auto execution = (*client)->Post("/executions", body);
  if (!execution.ok()) {
    return session.Fail(execution.status());
  }
  const std::string id = execution->value("id", "");
  if (execution->value("status", "") == "queued") {
    session.Info("Execution is being queued. It will automatically start when possible.");
  }
  return FollowExecution(session, id, request.include_logs, request.timeout_seconds);
}

namespace {

struct StartArgs {
  StartRequest request;
  std::vector<std::string> parameters;
  bool without_logs = false;
};

int ParseAndStart(Session& session, StartArgs& args) {
  if (!args.parameters.empty()) {
    auto parameters = MergeInputArguments(args.parameters);
    if (!parameters.ok()) {
      return session.Fail(parameters.status());
    }
    args.request.parameters = std::move(*parameters);
  }
  args.request.include_logs = !args.without_logs;
  return StartAndFollow(session, args.request);
}

void AddExecutions(CLI::App& app, Session& session, Action& action) {
  CLI::App* executions = app.add_subcommand("executions", "Handle workflow executions");
  executions->require_subcommand(1);

  auto start = std::make_shared<StartArgs>();
  CLI::App* st = executions->add_subcommand("start", "Execute a workflow");
  st->add_option("workflow_id", start->request.workflow_id, "The workflow to run")->required();
  st->add_option("-d,--deployment-id", start->request.deployment_id, "The deployment")->required();
  st->add_option("-p,--parameters", start->parameters,
                 "Parameters: a YAML/JSON file, inline YAML/JSON, or 'k=v;k2=v2' (repeatable)");
  st->add_flag("--allow-custom-parameters", start->request.allow_custom_parameters,
               "Allow parameters the workflow does not declare");
  st->add_flag("-f,--force", start->request.force,
               "Run even if another execution of the deployment is running");
  st->add_flag("--queue", start->request.queue, "Queue the execution if it cannot run now");
  st->add_flag("--dry-run", start->request.dry_run,
               "Trace what the workflow would run, with no operation run and nothing changed");
  st->add_option("--timeout", start->request.timeout_seconds,
                 "Seconds to wait for the execution to end (default: 900)");
  st->add_flag("--without-logs", start->without_logs, "Show events only, not logs");
  OnRun(st, action, [&session, start] { return ParseAndStart(session, *start); });

  auto list = std::make_shared<ListArgs>();
  auto deployment = std::make_shared<std::string>();
  auto system = std::make_shared<bool>(false);
  CLI::App* ls = executions->add_subcommand("list", "List executions");
  list->AddTo(ls);
  ls->add_option("-d,--deployment-id", *deployment, "Only executions of this deployment");
  ls->add_flag("--include-system-workflows", *system, "Include system workflows");
  OnRun(ls, action, [&session, list, deployment, system] {
    auto client = session.Client();
    if (!client.ok()) {
      return session.Fail(client.status());
    }
    ListArgs args = *list;
    if (!deployment->empty()) {
      args.filters.emplace_back("deployment_id", *deployment);
      session.Info("Listing executions for deployment " + *deployment + "...");
    } else {
      session.Info("Listing all executions...");
    }
    args.filters.emplace_back("_include_system_workflows", *system ? "true" : "false");
    auto page = (*client)->List("/executions", args.Query());
    if (!page.ok()) {
      return session.Fail(page.status());
    }
    session.PrintList(kExecutionColumns, page->items, "Executions:");
    session.PrintShowing(page->items.size(), page->total, "executions");
    return 0;
  });

  auto id = std::make_shared<std::string>();
  CLI::App* get = executions->add_subcommand("get", "Retrieve information for an execution");
  get->add_option("execution_id", *id, "The execution's id")->required();
  OnRun(get, action, [&session, id] {
    auto client = session.Client();
    if (!client.ok()) {
      return session.Fail(client.status());
    }
    session.Info("Retrieving execution " + *id);
    auto execution = (*client)->Get("/executions/" + *id);
    if (!execution.ok()) {
      return session.Fail(execution.status());
    }
    session.PrintOne(kExecutionColumns, *execution, "Execution:");
    if (!session.json) {
      session.Info("Execution Parameters:");
      const json parameters = execution->value("parameters", json::object());
      for (auto it = parameters.begin(); it != parameters.end(); ++it) {
        session.Info("\t" + it.key() + ": \t" + CellText(*it));
      }
    }
    return 0;
  });

  auto force = std::make_shared<bool>(false);
  auto kill = std::make_shared<bool>(false);
  CLI::App* cancel = executions->add_subcommand("cancel", "Cancel a workflow's execution");
  cancel->add_option("execution_id", *id, "The execution's id")->required();
  cancel->add_flag("-f,--force", *force, "Force-cancel: stop waiting for running operations");
  cancel->add_flag("-k,--kill", *kill, "Kill the execution's running operations");
  OnRun(cancel, action, [&session, id, force, kill] {
    auto client = session.Client();
    if (!client.ok()) {
      return session.Fail(client.status());
    }
    const std::string verb = *kill ? "Killing" : *force ? "Force-cancelling" : "Cancelling";
    session.Info(verb + " execution " + *id);
    auto answer = (*client)->Post("/executions/" + *id, {{"action", *kill    ? "kill"
                                                                    : *force ? "force-cancel"
                                                                             : "cancel"}});
    if (!answer.ok()) {
      return session.Fail(answer.status());
    }
    session.Info("A cancel request for execution " + *id +
                 " has been sent. To track the execution's status, use:\ncfy executions get " +
                 *id);
    return 0;
  });

  CLI::App* resume = executions->add_subcommand("resume", "Resume a workflow's execution");
  resume->add_option("execution_id", *id, "The execution's id")->required();
  resume->add_flag("--reset-operations", *force, "Run again operations that started");
  OnRun(resume, action, [&session, id, force] {
    auto client = session.Client();
    if (!client.ok()) {
      return session.Fail(client.status());
    }
    session.Info("Resuming execution " + *id);
    auto answer =
        (*client)->Post("/executions/" + *id, {{"action", *force ? "force-resume" : "resume"}});
    if (!answer.ok()) {
      return session.Fail(answer.status());
    }
    session.Info("A resume request for execution " + *id +
                 " has been sent. To track the execution's status, use:\ncfy executions get " +
                 *id);
    return 0;
  });
}

struct EventArgs {
  std::string execution_id;
  bool tail = false;
  bool include_logs = false;
  int timeout_seconds = 900;
};

void AddEvents(CLI::App& app, Session& session, Action& action) {
  CLI::App* events = app.add_subcommand("events", "Show events from workflow executions");
  events->require_subcommand(1);
  auto args = std::make_shared<EventArgs>();
  CLI::App* ls = events->add_subcommand("list", "Display the events of an execution");
  auto* positional = ls->add_option("execution_id", args->execution_id, "The execution's id");
  auto* flag = ls->add_option("-e,--execution-id", args->execution_id, "The execution's id");
  positional->excludes(flag);
  ls->add_flag("--tail", args->tail, "Follow the events until the execution ends");
  ls->add_flag("-i,--include-logs,--logs", args->include_logs, "Include logs");
  OnRun(ls, action, [&session, args] {
    if (args->execution_id.empty()) {
      return session.Fail(BadParametersError("an execution id is required (-e EXECUTION_ID)"));
    }
    if (args->tail) {
      FollowExecution(session, args->execution_id, args->include_logs, args->timeout_seconds);
      return 0;
    }
    auto client = session.Client();
    if (!client.ok()) {
      return session.Fail(client.status());
    }
    session.Info("Listing events for execution id " + args->execution_id +
                 " [include_logs=" + (args->include_logs ? "True" : "False") + "]");
    Follower follower(session, **client, args->execution_id);
    if (Status drained = follower.Drain(args->include_logs); !drained.ok()) {
      return session.Fail(drained);
    }
    session.Info("\nTotal events: " + std::to_string(follower.printed()));
    return 0;
  });
}

struct InstallArgs {
  std::string path;
  std::string blueprint_id;
  std::string deployment_id;
  std::string main_file;
  std::vector<std::string> inputs;
  int timeout_seconds = 900;
};

void AddInstall(CLI::App& app, Session& session, Action& action) {
  auto args = std::make_shared<InstallArgs>();
  CLI::App* install =
      app.add_subcommand("install", "Upload a blueprint, create a deployment, install it");
  install
      ->add_option("blueprint_path", args->path,
                   "A blueprint folder, its main YAML file, or an archive")
      ->required();
  install->add_option("-b,--blueprint-id", args->blueprint_id, "The blueprint's id");
  install->add_option("-d,--deployment-id", args->deployment_id,
                      "The deployment's id (default: the blueprint's id)");
  install->add_option("-n,--blueprint-filename", args->main_file, "The main YAML file");
  install->add_option("-i,--inputs", args->inputs, "Deployment inputs (repeatable)");
  install->add_option("--timeout", args->timeout_seconds, "Seconds to wait for the install");
  OnRun(install, action, [&session, args] {
    auto inputs = MergeInputArguments(args->inputs);
    if (!inputs.ok()) {
      return session.Fail(inputs.status());
    }
    auto blueprint = UploadBlueprint(session, args->path, args->blueprint_id, args->main_file, "");
    if (!blueprint.ok()) {
      return session.Fail(blueprint.status());
    }
    const std::string deployment_id =
        args->deployment_id.empty() ? blueprint->id : args->deployment_id;
    auto deployment = CreateDeployment(session, blueprint->id, deployment_id, *inputs, "");
    if (!deployment.ok()) {
      return session.Fail(deployment.status());
    }
    StartRequest request;
    request.deployment_id = deployment_id;
    request.workflow_id = "install";
    request.timeout_seconds = args->timeout_seconds;
    return StartAndFollow(session, request);
  });

  auto uninstall_args = std::make_shared<StartRequest>();
  auto force = std::make_shared<bool>(false);
  CLI::App* uninstall =
      app.add_subcommand("uninstall", "Uninstall a deployment, then delete it and its blueprint");
  uninstall->add_option("deployment_id", uninstall_args->deployment_id, "The deployment")
      ->required();
  uninstall->add_flag("-f,--force", *force, "Delete even if the uninstall failed");
  uninstall->add_option("--timeout", uninstall_args->timeout_seconds,
                        "Seconds to wait for the uninstall");
  OnRun(uninstall, action, [&session, uninstall_args, force] {
    auto client = session.Client();
    if (!client.ok()) {
      return session.Fail(client.status());
    }
    auto deployment = (*client)->Get("/deployments/" + uninstall_args->deployment_id);
    if (!deployment.ok()) {
      return session.Fail(deployment.status());
    }
    const std::string blueprint_id = deployment->value("blueprint_id", "");
    StartRequest request = *uninstall_args;
    request.workflow_id = "uninstall";
    int code = StartAndFollow(session, request);
    if (code != 0 && !*force) {
      return code;
    }
    if (Status deleted = DeleteDeployment(session, request.deployment_id, *force); !deleted.ok()) {
      return session.Fail(deleted);
    }
    // The blueprint goes too, unless other deployments still use it.
    auto others = (*client)->List("/deployments", {{"blueprint_id", blueprint_id}, {"_size", "1"}});
    if (others.ok() && others->total == 0) {
      session.Info("Deleting blueprint " + blueprint_id + "...");
      auto removed = (*client)->Delete("/blueprints/" + blueprint_id, {{"force", "False"}});
      if (!removed.ok()) {
        return session.Fail(removed.status());
      }
      session.Info("Blueprint deleted");
    }
    return code;
  });
}

}  // namespace

void AddExecutionCommands(CLI::App& app, Session& session, Action& action) {
  AddExecutions(app, session, action);
}
void AddEventCommands(CLI::App& app, Session& session, Action& action) {
  AddEvents(app, session, action);
}
void AddInstallCommands(CLI::App& app, Session& session, Action& action) {
  AddInstall(app, session, action);
}

}  // namespace cloudify::cli
