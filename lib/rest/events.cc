// /events (REST.md §3.6) and /events/stream, the Server-Sent Events follow of an execution.
#include <thread>

#include "rest/internal.h"
#include "rest/json_codec.h"

namespace cloudify::rest::internal {

using nlohmann::json;

namespace {

constexpr int64_t kEventsPageSize = 10000;

Result<HttpResponse> List(Context& ctx) {
  CLOUDIFY_ASSIGN_OR_RETURN(storage::ListQuery q,
                            ListQueryFrom(ctx, {"include_logs"}, kEventsPageSize));
  if (ctx.Query("include_logs") && !q.filters.contains("type")) {
    CLOUDIFY_ASSIGN_OR_RETURN(bool logs, QueryBool(ctx, "include_logs", true));
    if (!logs) {
      q.filters["type"] = {"cloudify_event"};
    }
  }
  CLOUDIFY_ASSIGN_OR_RETURN(auto page, ctx.store().ListEvents(ctx.caller, q));
  return PageResponse(page, IncludeFields(ctx), [](const model::Event& e) { return ToWire(e); });
}

// The state of one stream, shared with the server thread that pulls chunks from it.
struct StreamState {
  Services* services = nullptr;
  storage::CallerContext caller;
  std::string execution_id;
  std::vector<std::string> types;
  int64_t last_storage_id = 0;
  bool first_call = true;
  bool ended = false;
};

// One step of the stream: the events stored since the last step, then, once the execution has
// ended and every event is drained, an `end` event carrying its final status.
bool StreamStep(StreamState& s, const ChunkSink& sink) {
  if (s.ended) {
    return false;
  }
  if (!s.first_call) {
    std::this_thread::sleep_for(s.services->options.stream_poll_interval);
  }
  s.first_call = false;
  storage::Store& store = s.services->manager->store();
  // Read the status before the events: an execution seen ended here has all its events stored
  // once SyncEvents returns, so the page below is the last one needed.
  Result<model::Execution> e = store.GetExecution(s.caller, s.execution_id);
  const bool ended = !e.ok() || model::IsTerminal(e->status);
  if (ended) {
    (void)s.services->manager->SyncEvents(std::chrono::seconds(5));
  }
  while (true) {
    storage::ListQuery q;
    q.size = 1000;
    q.with_total = false;
    q.after_storage_id = s.last_storage_id;
    q.filters["execution_id"] = {s.execution_id};
    if (!s.types.empty()) {
      q.filters["type"] = s.types;
    }
    Result<storage::Page<model::Event>> page = store.ListEvents(s.caller, q);
    if (!page.ok()) {
      json err = {{"message", page.status().ToString()}};
      sink("event: error\ndata: " + err.dump() + "\n\n");
      return false;
    }
    for (const auto& event : page->items) {
      s.last_storage_id = std::max(s.last_storage_id, event.storage_id);
      std::string chunk =
          "id: " + std::to_string(event.storage_id) +
          "\nevent: " + std::string(model::EventKindName(event.kind)) +
          "\ndata: " + ToWire(event).dump(-1, ' ', false, json::error_handler_t::replace) + "\n\n";
      if (!sink(chunk)) {
        return false;  // the client went away
      }
    }
    if (page->items.size() < 1000) {
      break;
    }
  }
  if (ended) {
    json end = {{"execution_id", s.execution_id},
                {"status", e.ok() ? std::string(model::ExecutionStatusName(e->status))
                                  : std::string("deleted")}};
    sink("event: end\ndata: " + end.dump() + "\n\n");
    s.ended = true;
    return false;
  }
  // A comment line keeps proxies from timing the connection out and detects a gone client.
  return sink(": keep-alive\n\n");
}

Result<HttpResponse> Stream(Context& ctx) {
  std::optional<std::string> execution_id = ctx.Query("execution_id");
  if (!execution_id || execution_id->empty()) {
    return BadParametersError("events/stream needs ?execution_id=<id>");
  }
  CLOUDIFY_RETURN_IF_ERROR(ctx.store().GetExecution(ctx.caller, *execution_id).status());
  auto state = std::make_shared<StreamState>();
  state->services = &ctx.services;
  state->caller = ctx.caller;
  state->execution_id = *execution_id;
  state->types = ctx.QueryAll("type");
  if (auto after = ctx.request.headers.find("last-event-id"); after != ctx.request.headers.end()) {
    try {
      state->last_storage_id = std::stoll(after->second);
    } catch (const std::exception&) {
      return BadParametersError("Last-Event-ID must be an event id, got `" + after->second + "`");
    }
  }
  HttpResponse r;
  r.status = 200;
  r.content_type = "text/event-stream";
  r.headers["Cache-Control"] = "no-cache";
  r.stream = [state](const ChunkSink& sink) { return StreamStep(*state, sink); };
  return r;
}

}  // namespace

void AddEventRoutes(std::vector<Route>& routes) {
  routes.push_back({"GET", "/events", Access::kViewer, List});
  routes.push_back({"GET", "/events/stream", Access::kViewer, Stream});
}

}  // namespace cloudify::rest::internal
