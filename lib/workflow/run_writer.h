// Stores a run's node-instance states and operation outcomes in batches (group commit).
//
// The engine changes an instance's state several times per operation, and every operation ends
// with a stored outcome: written one transaction each, those writes are most of an install's
// cost. A RunWriter queues them and one thread of its own stores everything queued in one
// transaction (Store::WriteRunProgress), then the next batch, so the writes of many tasks share
// a commit and no task waits for one.
//
// What is queued is stored in queue order and each batch is atomic, so after a crash the store
// holds a prefix of what the run did: an operation stored as succeeded has every operation it
// depended on (queued before it started) stored as succeeded too, and a resume never runs an
// operation stored as succeeded. An outcome still queued when the process dies is lost; that
// operation runs again on resume, as one that died just before its outcome was written does.
//
// Thread-safety: every member may be called from any thread.
#pragma once

#include <condition_variable>
#include <cstdint>
#include <functional>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "cloudify/storage/store.h"

namespace cloudify::workflow {

class RunWriter {
 public:
  // Called on the writer's thread with the instances whose queued state was stale (someone
  // else wrote them): the caller re-reads them and stores their state again.
  using StaleHandler = std::function<void(const std::vector<std::string>& instance_ids)>;

  RunWriter(storage::Store& store, storage::CallerContext caller, StaleHandler on_stale);
  // Stores what is still queued.
  ~RunWriter();
  RunWriter(const RunWriter&) = delete;
  RunWriter& operator=(const RunWriter&) = delete;

  // Queues "instance `id` moves from `version` to version + 1 with `state`".
  void SetInstanceState(std::string id, model::NodeInstanceState state, int64_t version);
  // Queues an operation's state and parameters.
  void SetOperationState(std::string id, model::TaskState state, nlohmann::json parameters);

  // Waits until everything queued before the call is stored. Returns the first failed write of
  // the run (a failed batch is not retried: the run must not go on as if it were stored).
  Status Flush();

  // Batches stored so far (for tests and benchmarks).
  int64_t batches() const;

 private:
  void Loop();

  storage::Store& store_;
  const storage::CallerContext caller_;
  const StaleHandler on_stale_;

  mutable std::mutex mu_;
  std::condition_variable work_cv_;  // the writer waits for work
  std::condition_variable done_cv_;  // Flush waits for the writer
  storage::RunProgress queued_;
  uint64_t queued_seq_ = 0;  // writes queued so far
  uint64_t stored_seq_ = 0;  // writes stored (or failed) so far
  int64_t batches_ = 0;
  Status error_;
  bool stopping_ = false;
  std::thread thread_;
};

}  // namespace cloudify::workflow
