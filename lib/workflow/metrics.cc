#include "cloudify/workflow/metrics.h"

#include <string>
#include <utility>
#include <vector>

#include "cloudify/messaging/topology.h"

#include "workflow/queue_writer.h"

namespace cloudify::workflow {

void MetricPublisher::Publish(const model::Metric& metric) {
  messaging::Message message;
  message.body = model::MetricToMessage(metric).dump();
  message.persistent = false;  // the exchange is not durable either: samples are cheap to lose
  bus_.PublishAsync(messaging::kMonitoringExchange, metric.deployment_id, std::move(message),
                    [this](Status s) {
                      if (!s.ok()) {
                        ++failures_;
                      }
                    });
}

class MetricWriter::Impl : public QueueWriter<model::Metric> {
 public:
  using QueueWriter::QueueWriter;
};

MetricWriter::MetricWriter(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}
MetricWriter::~MetricWriter() { impl_->Stop(); }

Result<std::unique_ptr<MetricWriter>> MetricWriter::Start(messaging::Bus& bus,
                                                          storage::Store& store,
                                                          MetricWriterOptions options) {
  QueueWriterSpec<model::Metric> spec;
  spec.queue = std::string(messaging::kMetricsQueue);
  spec.sync_exchange = std::string(messaging::kMonitoringExchange);
  spec.sync_routing_key = "sync";
  spec.parse = [](const nlohmann::json& body) -> Result<std::vector<model::Metric>> {
    CLOUDIFY_ASSIGN_OR_RETURN(model::Metric metric, model::MetricFromMessage(body));
    return std::vector<model::Metric>{std::move(metric)};
  };
  spec.store = [&store](std::vector<model::Metric>& metrics) {
    return store.AppendMetrics(storage::CallerContext::System(), metrics).status();
  };
  spec.what = "metrics";
  spec.max_batch = options.max_batch;
  spec.max_delay = options.max_delay;
  auto impl = std::make_unique<Impl>(bus, std::move(spec));
  CLOUDIFY_RETURN_IF_ERROR(impl->Start());
  return std::unique_ptr<MetricWriter>(new MetricWriter(std::move(impl)));
}

Status MetricWriter::Sync(std::chrono::milliseconds timeout) { return impl_->Sync(timeout); }
uint64_t MetricWriter::stored() const { return impl_->stored(); }
uint64_t MetricWriter::store_failures() const { return impl_->failures(); }
uint64_t MetricWriter::malformed() const { return impl_->malformed(); }

}  // namespace cloudify::workflow
