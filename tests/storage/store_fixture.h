// The contract suite's backends: every CONTRACT_TEST(name) body runs once per backend, each as
// its own doctest case (so ctest runs them as separate, parallel-safe processes):
// an SQLite file in a fresh temp dir, SQLite in memory, and the real PostgreSQL at
// CLOUDIFY_TEST_POSTGRES_URL in a schema of its own that is dropped at the end.
#pragma once

#include <memory>
#include <random>
#include <string>

#include <doctest/doctest.h>

#include "cloudify/storage/store.h"
#include "cloudify/url.h"

#include "support/env.h"
#include "support/fake_clock.h"
#include "support/pg_schema.h"
#include "support/temp_dir.h"

namespace cloudify::testing {

enum class Backend { kSqliteFile, kSqliteMemory, kPostgres };

class TestStore {
 public:
  // False (after a message, or a failure under CLOUDIFY_REQUIRE_SERVERS) when the backend's
  // server is not configured.
  bool Open(Backend backend, storage::StoreOptions options = {}) {
    backend_ = backend;
    options.clock = &clock_;
    options.secret_key_file = dir_.path() / "secret.key";
    switch (backend) {
      case Backend::kSqliteFile:
        url_ = "sqlite://" + (dir_.path() / "db.sqlite").string();
        break;
      case Backend::kSqliteMemory:
        url_ = "sqlite://:memory:";
        break;
      case Backend::kPostgres: {
        if (!HaveServer(PostgresTestUrl(), "CLOUDIFY_TEST_POSTGRES_URL")) {
          return false;
        }
        schema_ = std::make_unique<ScratchPgSchema>("cfy_test");
        options.schema = schema_->name();
        url_ = PostgresTestUrl();
        break;
      }
    }
    options_ = options;
    auto store = storage::OpenStore(url_, options);
    REQUIRE_MESSAGE(store.ok(), store.status().ToString());
    store_ = std::move(store).value();
    return true;
  }

  // Closes and opens the same database again (not for :memory:).
  void Reopen() {
    store_.reset();
    auto store = storage::OpenStore(url_, options_);
    REQUIRE_MESSAGE(store.ok(), store.status().ToString());
    store_ = std::move(store).value();
  }

  ~TestStore() {
    store_.reset();  // closed before its schema is dropped
    schema_.reset();
  }

  storage::Store& store() { return *store_; }
  storage::Store* operator->() { return store_.get(); }
  FakeClock& clock() { return clock_; }
  const TempDir& dir() const { return dir_; }
  const std::string& url() const { return url_; }
  const storage::StoreOptions& options() const { return options_; }
  Backend backend() const { return backend_; }

 private:
  TempDir dir_;
  FakeClock clock_;
  Backend backend_ = Backend::kSqliteMemory;
  std::string url_;
  storage::StoreOptions options_;
  std::unique_ptr<ScratchPgSchema> schema_;  // declared before store_: dropped after it closes
  std::unique_ptr<storage::Store> store_;
};

}  // namespace cloudify::testing

// CONTRACT_TEST("name") { body using `ts` (a TestStore&) }
#define CLOUDIFY_CONTRACT_CASE_(fn, backend, label, name) \
  TEST_CASE(label name) {                                 \
    ::cloudify::testing::TestStore ts;                    \
    if (ts.Open(backend)) {                               \
      fn(ts);                                             \
    }                                                     \
  }
#define CLOUDIFY_CONTRACT_TEST_(fn, name)                                                        \
  static void fn(::cloudify::testing::TestStore& ts);                                            \
  CLOUDIFY_CONTRACT_CASE_(fn, ::cloudify::testing::Backend::kSqliteFile, "[sqlite file] ", name) \
  CLOUDIFY_CONTRACT_CASE_(fn, ::cloudify::testing::Backend::kSqliteMemory, "[sqlite memory] ",   \
                          name)                                                                  \
  CLOUDIFY_CONTRACT_CASE_(fn, ::cloudify::testing::Backend::kPostgres, "[postgresql] ", name)    \
  static void fn([[maybe_unused]] ::cloudify::testing::TestStore& ts)
#define CONTRACT_TEST(name) CLOUDIFY_CONTRACT_TEST_(CLOUDIFY_CONCAT_(contract_, __LINE__), name)
