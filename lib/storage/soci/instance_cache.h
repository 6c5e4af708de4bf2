// Node instances read by id, kept between reads of an SQLite store.
//
// ctx calls from scripts and agents, and clients polling an install, read the same instances
// over and over; on SQLite each read is a read transaction, an index walk and the parse of the
// instance's JSON columns, most of what such a REST request costs. An entry is good while the
// store has committed no write since it was read (every write of this process goes through
// the store, which counts them) and for a second at most: another process writing the same
// file (not a supported set-up: several managers share PostgreSQL) is seen within that.
#pragma once

#include <chrono>
#include <cstdint>
#include <memory>
#include <mutex>
#include <string>
#include <unordered_map>

#include "cloudify/model/node.h"
#include "cloudify/storage/store.h"

namespace cloudify::storage::soci_backend {

class NodeInstanceCache {
 public:
  static constexpr std::chrono::seconds kMaxAge{1};
  static constexpr size_t kMaxEntries = 4096;

  // What decides which row a read by id finds (AddTenancy): the tenant, and for a caller who
  // is not an admin, the user (private rows are their creator's). Callers reading across
  // tenants are not cached.
  static std::string Key(const CallerContext& c, const std::string& id) {
    std::string key = c.tenant;
    key += '\0';
    key += c.is_admin ? std::string("\1") : c.user;
    key += '\0';
    key += id;
    return key;
  }

  // The instance read under `key` when the store's write count was `writes`, if that is still
  // the count and the read is recent.
  std::shared_ptr<const model::NodeInstance> Find(const std::string& key, uint64_t writes) {
    std::lock_guard lock(mu_);
    auto it = entries_.find(key);
    if (it == entries_.end() || it->second.writes != writes ||
        std::chrono::steady_clock::now() - it->second.read_at > kMaxAge) {
      return nullptr;
    }
    return it->second.instance;
  }

  // `writes` is the count taken before the read: a write committed meanwhile leaves the
  // entry stale, never a stale entry looking fresh.
  void Put(std::string key, uint64_t writes, const model::NodeInstance& instance) {
    auto copy = std::make_shared<const model::NodeInstance>(instance);
    std::lock_guard lock(mu_);
    if (entries_.size() >= kMaxEntries) {
      entries_.clear();  // a crude bound; the hot instances come back at their next read
    }
    entries_[std::move(key)] = {writes, std::chrono::steady_clock::now(), std::move(copy)};
  }

 private:
  struct Entry {
    uint64_t writes = 0;
    std::chrono::steady_clock::time_point read_at;
    std::shared_ptr<const model::NodeInstance> instance;
  };
  std::mutex mu_;
  std::unordered_map<std::string, Entry> entries_;
};

}  // namespace cloudify::storage::soci_backend
