#include "cloudify/workflow/graph_runner.h"

#include <algorithm>
#include <condition_variable>
#include <deque>
#include <mutex>
#include <queue>
#include <random>
#include <string>
#include <system_error>
#include <thread>
#include <unordered_map>
#include <vector>

namespace cloudify::workflow {
namespace {

using Clock = std::chrono::steady_clock;
using model::TaskState;
using Kind = TaskOutcome::Kind;

// The run whose worker this thread is, for RemoteWait.
thread_local RemoteWait::Host* current_host = nullptr;

// The scheduler state of one run. Everything but the executor calls happens under mu_.
class Run final : public RemoteWait::Host {
 public:
  Run(const TaskGraph& graph, TaskExecutor& executor, GraphObserver* observer,
      const GraphRunOptions& options)
      : graph_(graph),
        executor_(executor),
        observer_(observer),
        options_(options),
        parallelism_(std::max(1, options.parallelism)),
        max_threads_(static_cast<size_t>(parallelism_ + std::max(0, options.max_remote_waits))) {}

  void BeginRemoteWait() override {
    std::lock_guard lock(mu_);
    --busy_;
    if (!work_.empty()) {
      worker_cv_.notify_one();
      SpawnIfShort();
    }
  }

  void EndRemoteWait() override {
    std::lock_guard lock(mu_);
    ++busy_;  // may exceed parallelism_ for a moment: the task only finishes up
  }

  Status Prepare() {
    // A malformed graph is refused before anything runs.
    CLOUDIFY_RETURN_IF_ERROR(graph_.TopologicalOrder().status());
    const size_t n = graph_.tasks.size();
    std::unordered_map<std::string_view, size_t> index;
    for (size_t i = 0; i < n; ++i) {
      index.emplace(graph_.tasks[i].id, i);
    }
    waiting_.assign(n, 0);
    dependents_.resize(n);
    members_.resize(n);
    unfinished_members_.assign(n, 0);
    parent_.assign(n, kNone);
    started_.assign(n, false);
    retries_.assign(n, 0);
    for (size_t i = 0; i < n; ++i) {
      const GraphTask& task = graph_.tasks[i];
      for (const auto& dep : task.dependencies) {
        dependents_[index.at(dep)].push_back(i);
        ++waiting_[i];
      }
      if (!task.containing_subgraph.empty()) {
        size_t s = index.at(task.containing_subgraph);
        if (graph_.tasks[s].kind != TaskKind::kSubgraph) {
          // Its members would never be released: the run would wait for ever.
          return InternalError("task " + task.id + " is in " + task.containing_subgraph +
                               ", which is not a subgraph");
        }
        parent_[i] = s;
        members_[s].push_back(i);
        ++unfinished_members_[s];
        ++waiting_[i];  // released when the subgraph starts
      }
    }
    for (size_t i = 0; i < n; ++i) {
      if (waiting_[i] == 0) {
        ready_.push_back(i);
      }
    }
    remaining_ = n;
    return Status::Ok();
  }

  GraphRunResult Execute() {
    {
      std::unique_lock lock(mu_);
      for (int w = 0; w < parallelism_; ++w) {
        Spawn();
      }
      if (pool_.empty()) {
        GraphRunResult result;
        result.outcome = GraphRunResult::Outcome::kFailed;
        result.error = "cannot start a worker thread: " + spawn_error_;
        return result;
      }
      while (true) {
        PromoteDueRetries();
        const bool stopping = failed_ || Cancelled();
        if (!stopping) {
          while (!ready_.empty()) {
            size_t i = ready_.front();
            ready_.pop_front();
            Dispatch(i);
          }
        }
        if (remaining_ == 0 || (stopping && in_flight_ == 0)) {
          break;
        }
        if (!timers_.empty()) {
          scheduler_cv_.wait_until(
              lock, std::min(timers_.top().first, Clock::now() + std::chrono::milliseconds(100)));
        } else {
          scheduler_cv_.wait_for(lock, std::chrono::milliseconds(100));
        }
      }
      shutting_down_ = true;
    }
    worker_cv_.notify_all();
    // No thread is added once shutting_down_ is set.
    for (auto& t : pool_) {
      t.join();
    }
    GraphRunResult result;
    result.attempts = attempts_;
    result.skipped = skipped_;
    if (failed_ && !Cancelled()) {
      result.outcome = GraphRunResult::Outcome::kFailed;
      result.error = first_error_;
    } else if (remaining_ != 0) {
      result.outcome = GraphRunResult::Outcome::kCancelled;
    }
    return result;
  }

 private:
  static constexpr size_t kNone = static_cast<size_t>(-1);

  bool Cancelled() const { return options_.cancel != nullptr && options_.cancel->load(); }

  bool PreviouslySucceeded(size_t i) const {
    auto it = options_.previous_states.find(graph_.tasks[i].id);
    return it != options_.previous_states.end() && it->second == TaskState::kSucceeded;
  }

  // Starts task i: subgraphs start at once, tasks done earlier complete at once, the rest go
  // to a worker.
  void Dispatch(size_t i) {
    const GraphTask& task = graph_.tasks[i];
    if (task.kind == TaskKind::kSubgraph) {
      started_[i] = true;
      Notify(task, TaskState::kStarted, 0, {});
      for (size_t m : members_[i]) {
        Release(m);
      }
      if (unfinished_members_[i] == 0) {
        Complete(i);
      }
      return;
    }
    if (PreviouslySucceeded(i)) {
      ++skipped_;
      Complete(i);
      return;
    }
    ++in_flight_;
    work_.push_back(i);
    worker_cv_.notify_one();
    SpawnIfShort();
  }

  // A worker thread more, counted idle until it takes a task. At the system's limit of threads
  // there is none: the tasks wait for the workers there are.
  void Spawn() {
    try {
      pool_.emplace_back([this] { WorkerLoop(); });
      ++idle_;
    } catch (const std::system_error& e) {
      spawn_error_ = e.what();
    }
  }

  // Adds a worker when fewer are idle than there are tasks waiting and places free to run
  // them: the places remote waits left.
  void SpawnIfShort() {
    const size_t free_places = static_cast<size_t>(std::max(0, parallelism_ - busy_));
    if (!shutting_down_ && idle_ < std::min(work_.size(), free_places) &&
        pool_.size() < max_threads_) {
      Spawn();
    }
  }

  void Release(size_t i) {
    if (--waiting_[i] == 0) {
      ready_.push_back(i);
    }
  }

  // Task i succeeded: release what waits for it, and finish subgraphs it completes.
  void Complete(size_t i) {
    --remaining_;
    if (graph_.tasks[i].kind == TaskKind::kSubgraph) {
      Notify(graph_.tasks[i], TaskState::kSucceeded, 0, {});
    }
    for (size_t d : dependents_[i]) {
      Release(d);
    }
    size_t s = parent_[i];
    if (s != kNone && --unfinished_members_[s] == 0 && started_[s]) {
      Complete(s);
    }
  }

  void PromoteDueRetries() {
    const auto now = Clock::now();
    while (!timers_.empty() && timers_.top().first <= now) {
      ready_.push_back(timers_.top().second);
      timers_.pop();
    }
  }

  // Observer calls are serialized by their own lock, outside mu_ where possible.
  void Notify(const GraphTask& task, TaskState state, int retry, std::string_view error) {
    if (observer_ != nullptr) {
      std::lock_guard lock(observer_mu_);
      observer_->OnTaskState(task, state, retry, error);
    }
  }

  void WorkerLoop() {
    current_host = this;
    std::unique_lock lock(mu_);
    while (true) {
      worker_cv_.wait(
          lock, [this] { return shutting_down_ || (!work_.empty() && busy_ < parallelism_); });
      if (work_.empty()) {
        --idle_;
        return;  // shutting down with nothing left
      }
      size_t i = work_.front();
      work_.pop_front();
      --idle_;
      ++busy_;
      const GraphTask& task = graph_.tasks[i];
      const int retry = retries_[i];
      ++attempts_;
      lock.unlock();
      Notify(task, TaskState::kStarted, retry, {});
      TaskOutcome outcome = executor_.Execute(task, retry);
      const bool succeeded = outcome.kind == Kind::kSucceeded;
      if (succeeded) {
        // Heard before the dependents are released (Complete), but without holding up the
        // scheduler and the other workers while the observer stores and reports it.
        Notify(task, TaskState::kSucceeded, retry, {});
      }
      lock.lock();
      --busy_;
      ++idle_;
      if (succeeded) {
        Complete(i);
      } else {
        Finish(i, outcome);
      }
      --in_flight_;
      scheduler_cv_.notify_one();
    }
  }

  // A failed attempt: retried, or the task fails (a success is completed by the worker).
  void Finish(size_t i, const TaskOutcome& outcome) {
    const GraphTask& task = graph_.tasks[i];
    const int retry = retries_[i];
    const int max_retries = task.max_retries.value_or(options_.task_retries);
    if (Cancelled()) {
      // A cancel is not a failure: the task just does not finish (the run ends cancelled).
      Notify(task, TaskState::kFailed, retry, "cancelled: " + outcome.error);
      return;
    }
    const bool retryable =
        outcome.kind != Kind::kNonRecoverableError && (max_retries < 0 || retry < max_retries);
    if (retryable) {
      Notify(task, TaskState::kRescheduled, retry, outcome.error);
      ++retries_[i];
      std::chrono::milliseconds delay = options_.task_retry_interval;
      if (outcome.retry_after) {
        delay = *outcome.retry_after;
      } else if (task.retry_interval) {
        delay = std::chrono::milliseconds(static_cast<int64_t>(*task.retry_interval * 1000));
      } else if (options_.backoff.enabled) {
        delay = BackoffDelay(delay, options_.backoff, retries_[i],
                             std::uniform_real_distribution<double>(0.0, 1.0)(random_));
      }
      timers_.emplace(Clock::now() + delay, i);
      return;
    }
    Notify(task, TaskState::kFailed, retry, outcome.error);
    if (!failed_) {
      failed_ = true;
      first_error_ = "Task failed: " + task.name +
                     (task.node_instance_id.empty() ? "" : " (" + task.node_instance_id + ")") +
                     ": " + outcome.error;
    }
  }

  const TaskGraph& graph_;
  TaskExecutor& executor_;
  GraphObserver* observer_;
  const GraphRunOptions& options_;

  std::mutex mu_;
  std::mutex observer_mu_;
  std::condition_variable scheduler_cv_;
  std::condition_variable worker_cv_;
  std::vector<size_t> waiting_;                  // unmet dependencies (+1 until subgraph start)
  std::vector<std::vector<size_t>> dependents_;  // who waits for a task to be done
  std::vector<std::vector<size_t>> members_;     // a subgraph's direct members
  std::vector<size_t> unfinished_members_;
  std::vector<size_t> parent_;  // containing subgraph, or kNone
  std::vector<bool> started_;   // subgraphs that have started
  std::vector<int> retries_;
  std::mt19937_64 random_{std::random_device{}()};  // backoff jitter, used under mu_
  std::deque<size_t> ready_;
  std::deque<size_t> work_;
  const int parallelism_;
  const size_t max_threads_;
  std::vector<std::thread> pool_;
  std::string spawn_error_;  // why the last thread could not be started
  size_t idle_ = 0;          // workers without a task
  int busy_ = 0;             // workers running a task, not in a remote wait
  using Timer = std::pair<Clock::time_point, size_t>;
  std::priority_queue<Timer, std::vector<Timer>, std::greater<>> timers_;
  size_t remaining_ = 0;
  int in_flight_ = 0;
  int attempts_ = 0;
  int skipped_ = 0;
  bool failed_ = false;
  bool shutting_down_ = false;
  std::string first_error_;
};

}  // namespace

RemoteWait::RemoteWait() : host_(current_host) {
  if (host_ != nullptr) {
    host_->BeginRemoteWait();
  }
}

RemoteWait::~RemoteWait() {
  if (host_ != nullptr) {
    host_->EndRemoteWait();
  }
}

std::chrono::milliseconds BackoffDelay(std::chrono::milliseconds base, const RetryBackoff& backoff,
                                       int retry_number, double unit_random) {
  if (!backoff.enabled) {
    return base;
  }
  const double multiplier = std::max(1.0, backoff.multiplier);
  const double cap = static_cast<double>(backoff.max_interval.count());
  double pause = static_cast<double>(base.count());
  for (int n = 1; n < retry_number && pause < cap; ++n) {
    pause *= multiplier;
  }
  pause = std::min(pause, cap);
  const double jitter = std::clamp(backoff.jitter, 0.0, 1.0);
  pause *= 1.0 - jitter * std::clamp(unit_random, 0.0, 1.0);
  return std::chrono::milliseconds(static_cast<int64_t>(pause));
}

Result<GraphRunResult> RunGraph(const TaskGraph& graph, TaskExecutor& executor,
                                GraphObserver* observer, const GraphRunOptions& options) {
  Run run(graph, executor, observer, options);
  CLOUDIFY_RETURN_IF_ERROR(run.Prepare());
  return run.Execute();
}

}  // namespace cloudify::workflow
