// Metrics on their way to the store, as the original's monitoring moved them: a producer (the
// Diamond handler on a host, a host program, a test) publishes each sample to the monitoring
// exchange with the deployment id as routing key, and a writer consumes the metrics queue bound
// to it and stores the samples in batches, acknowledging the messages only after the batch is
// committed.
//
// Thread-safety: MetricPublisher and MetricWriter may be used from any thread.
#pragma once

#include <atomic>
#include <chrono>
#include <cstddef>
#include <cstdint>
#include <memory>

#include "cloudify/messaging/bus.h"
#include "cloudify/model/metric.h"
#include "cloudify/status.h"
#include "cloudify/storage/store.h"

namespace cloudify::workflow {

class MetricPublisher {
 public:
  // The bus must outlive the publisher and have the management topology declared.
  explicit MetricPublisher(messaging::Bus& bus) : bus_(bus) {}

  // Sends without waiting; failures are counted (see failures()).
  void Publish(const model::Metric& metric);
  uint64_t failures() const { return failures_.load(); }

 private:
  messaging::Bus& bus_;
  std::atomic<uint64_t> failures_{0};
};

struct MetricWriterOptions {
  // Most samples stored in one transaction. Default: 1000.
  size_t max_batch = 1000;
  // A partial batch is stored after waiting this long for more. Default: 100 ms.
  std::chrono::milliseconds max_delay{100};
};

class MetricWriter {
 public:
  // Starts consuming the metrics queue; samples are stored in their deployment's tenant when
  // the publisher named one in the message's `tenant_name`, else in the default tenant. The
  // bus and the store must outlive the writer.
  static Result<std::unique_ptr<MetricWriter>> Start(messaging::Bus& bus, storage::Store& store,
                                                     MetricWriterOptions options = {});
  // Stores what it holds, then stops.
  ~MetricWriter();
  MetricWriter(const MetricWriter&) = delete;
  MetricWriter& operator=(const MetricWriter&) = delete;

  // Waits until every sample published (to this bus) before the call is stored.
  // kUnavailable on timeout.
  Status Sync(std::chrono::milliseconds timeout);

  uint64_t stored() const;          // samples stored so far
  uint64_t store_failures() const;  // batches the store refused (their messages are requeued)
  uint64_t malformed() const;       // messages that were not samples (dropped)

  class Impl;

 private:
  explicit MetricWriter(std::unique_ptr<Impl> impl);
  std::unique_ptr<Impl> impl_;
};

}  // namespace cloudify::workflow
