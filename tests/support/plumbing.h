// The plumbing the workflow-layer tests share: a store in memory and an in-process bus that
// carries the manager's topology, as Manager::Open wires them on the embedded default.
#pragma once

#include <memory>
#include <string>

#include <doctest/doctest.h>

#include "cloudify/messaging/bus.h"
#include "cloudify/messaging/topology.h"
#include "cloudify/storage/store.h"

namespace cloudify::testing {

struct Plumbing {
  std::unique_ptr<storage::Store> store;
  std::unique_ptr<messaging::Bus> bus;

  Plumbing() {
    auto s = storage::OpenStore("sqlite://:memory:");
    REQUIRE_MESSAGE(s.ok(), s.status().ToString());
    store = std::move(*s);
    messaging::BusOptions options;
    options.topology = messaging::ManagementTopology("test");
    auto b = messaging::OpenBus("inproc://", options);
    REQUIRE_MESSAGE(b.ok(), b.status().ToString());
    bus = std::move(*b);
  }
};

// The one node instance of `node` in `deployment`.
inline model::NodeInstance OnlyInstance(storage::Store& store, const storage::CallerContext& caller,
                                        const std::string& deployment, const std::string& node) {
  storage::ListQuery query;
  query.filters = {{"deployment_id", {deployment}}, {"node_id", {node}}};
  auto page = store.ListNodeInstances(caller, query);
  REQUIRE_MESSAGE(page.ok(), page.status().ToString());
  REQUIRE(page->items.size() == 1);
  return page->items[0];
}

}  // namespace cloudify::testing
