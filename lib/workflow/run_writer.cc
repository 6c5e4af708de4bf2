#include "workflow/run_writer.h"

#include <utility>

namespace cloudify::workflow {

RunWriter::RunWriter(storage::Store& store, storage::CallerContext caller, StaleHandler on_stale)
    : store_(store), caller_(std::move(caller)), on_stale_(std::move(on_stale)) {
  thread_ = std::thread([this] { Loop(); });
}

RunWriter::~RunWriter() {
  (void)Flush();
  {
    std::lock_guard lock(mu_);
    stopping_ = true;
  }
  work_cv_.notify_one();
  thread_.join();
}

void RunWriter::SetInstanceState(std::string id, model::NodeInstanceState state, int64_t version) {
  {
    std::lock_guard lock(mu_);
    queued_.instance_states.push_back({std::move(id), state, version});
    ++queued_seq_;
  }
  work_cv_.notify_one();
}

void RunWriter::SetOperationState(std::string id, model::TaskState state,
                                  nlohmann::json parameters) {
  {
    std::lock_guard lock(mu_);
    queued_.operation_states.push_back({std::move(id), state, std::move(parameters)});
    ++queued_seq_;
  }
  work_cv_.notify_one();
}

Status RunWriter::Flush() {
  std::unique_lock lock(mu_);
  const uint64_t target = queued_seq_;
  done_cv_.wait(lock, [&] { return stored_seq_ >= target; });
  return error_;
}

int64_t RunWriter::batches() const {
  std::lock_guard lock(mu_);
  return batches_;
}

void RunWriter::Loop() {
  std::unique_lock lock(mu_);
  while (true) {
    work_cv_.wait(lock, [&] { return stopping_ || stored_seq_ < queued_seq_; });
    if (stored_seq_ == queued_seq_) {
      return;  // stopping with nothing queued
    }
    storage::RunProgress batch = std::exchange(queued_, {});
    const uint64_t seq = queued_seq_;
    const bool failed = !error_.ok();
    lock.unlock();
    Status status;
    std::vector<std::string> stale;
    if (!failed) {
      // After a failed batch nothing more is stored: a later outcome must not be stored
      // without the earlier ones.
      auto written = store_.WriteRunProgress(caller_, batch);
      if (written.ok()) {
        stale = std::move(*written);
      } else {
        status = written.status();
      }
    }
    if (!stale.empty() && on_stale_) {
      on_stale_(stale);
    }
    lock.lock();
    if (!status.ok() && error_.ok()) {
      error_ = status;
    }
    ++batches_;
    stored_seq_ = seq;
    done_cv_.notify_all();
  }
}

}  // namespace cloudify::workflow
