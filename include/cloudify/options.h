// ManagerOptions: how Manager::Open wires the library. Every field has a default that gives the
// embedded manager (SQLite file under the data dir, in-process broker, worker threads).
#pragma once

#include <chrono>
#include <filesystem>
#include <functional>
#include <string>

#include "cloudify/clock.h"
#include "cloudify/status.h"

namespace cloudify {

namespace storage {
class Store;
}  // namespace storage
namespace messaging {
class Bus;
}  // namespace messaging

struct ManagerOptions {
  // Where the SQLite file, blueprint resources and the secret key live.
  // Default: "./cloudify-data".
  std::filesystem::path data_dir = "./cloudify-data";
  // The store. Default: "" meaning "sqlite:///<data_dir>/db.sqlite".
  std::string store_url;
  // The broker. Default: "inproc://".
  std::string bus_url = "inproc://";
  // The REST API's URL as agents on other hosts reach it: printed in the command that starts
  // an agent of install_method `provided`, given to the agents installed over SSH. Default:
  // empty (a placeholder is printed; remote installs fail).
  std::string agent_rest_url;
  // install_method `remote`: the cloudify-agent program installed over SSH on hosts whose
  // agent_config gives a `user` (cloudify/workflow/engine.h, EngineOptions::agent_program); those
  // agents reach the broker at bus_url, which must then be amqp://. Default: empty (remote hosts
  // get no agent and their operations run on the manager).
  std::filesystem::path agent_program;
  // Executions running at once in this process (others wait their turn). Default: 8.
  int max_concurrent_executions = 8;
  // Operations of one execution running at once. Default: 8.
  int operation_parallelism = 8;
  // host_agent operations of one execution that may wait for their agents beyond
  // operation_parallelism, each on a thread of its own (EngineOptions). Default: 256.
  int max_remote_waits = 256;
  // Retries of a failed operation that sets none (-1 = for ever). Default: 60.
  int task_retries = 60;
  // Pause between retries when the operation sets none. Default: 15 s.
  std::chrono::milliseconds task_retry_interval = std::chrono::seconds(15);
  // Beyond the original: retries that name no delay back off exponentially (x2 per retry, at
  // most task_retry_max_interval, up to half of each pause taken off at random). Default: false.
  bool task_retry_backoff = false;
  // The longest pause with task_retry_backoff. Default: 5 min.
  std::chrono::milliseconds task_retry_max_interval = std::chrono::minutes(5);
  // This manager's name: execution lease owner and events' manager_name. Default: "manager".
  std::string manager_name = "manager";
  // How long a claimed execution stays this manager's without renewal. Default: 30 s.
  std::chrono::milliseconds execution_lease = std::chrono::seconds(30);
  // How often the manager looks for scheduled executions whose time has come. Default: 1 s.
  std::chrono::milliseconds schedule_check_interval = std::chrono::seconds(1);
  // How often the manager runs the store's upkeep (Store::Maintain: planner statistics, dead
  // rows). Zero: never. Default: 1 hour.
  std::chrono::milliseconds store_maintenance_interval = std::chrono::hours(1);
  // A Store to use instead of store_url; not owned, must outlive the Manager. Default: null.
  storage::Store* store = nullptr;
  // A Bus to use instead of bus_url; not owned, must outlive the Manager. Default: null.
  messaging::Bus* bus = nullptr;
  // Time source. Default: null (SystemClock()).
  const Clock* clock = nullptr;
  // The folder holding the `ctx` program that scripts of script operations call (put first on
  // their PATH). Default: empty (next to the running program when a `ctx` is there, else the
  // install bindir; see cloudify/workflow/script_executor.h).
  std::filesystem::path ctx_dir;
  // Fetches what blueprints name by http(s):// URL: scripts of script operations, and imports
  // that are not the bundled built-in types. cloudify::client::FetchUrl is one; the library
  // itself has no HTTP client. Default: null (such scripts and imports are refused).
  std::function<Result<std::string>(const std::string& url)> url_fetcher;
  // Where script operations make their private work dirs. Default: empty (the system temp dir).
  std::filesystem::path script_work_dir;
  // host_agent operations: how long an agent has to answer the ping sent before each of them.
  // Default: 30 s, as the original.
  std::chrono::milliseconds agent_ping_timeout = std::chrono::seconds(30);
  // host_agent operations: an agent heard from this recently (a ping answered, a task replied
  // to) is not pinged again before the next operation; zero pings before every one, as the
  // original. Default: 2 s.
  std::chrono::milliseconds agent_ping_interval = std::chrono::seconds(2);
};

}  // namespace cloudify
