// Crash safety: a child process writing event batches is killed with SIGKILL mid-stream; the
// database it leaves holds whole batches only and opens cleanly.
#include <map>

#include <doctest/doctest.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include "storage/store_fixture.h"

namespace cloudify::testing {
namespace {

constexpr int kBatch = 2000;

// In the child: append batches forever, telling the parent after each one.
[[noreturn]] void WriteForever(const std::string& url, const storage::StoreOptions& options,
                               int ready_fd) {
  auto store = storage::OpenStore(url, options);
  if (!store.ok()) {
    _exit(2);
  }
  storage::CallerContext caller;
  for (int batch = 0;; ++batch) {
    std::vector<model::Event> events(kBatch);
    for (int i = 0; i < kBatch; ++i) {
      events[i].execution_id = "batch-" + std::to_string(batch);
      events[i].message = std::string(200, 'x');
    }
    if (!(*store)->AppendEvents(caller, events).ok()) {
      _exit(3);
    }
    char byte = 1;
    if (write(ready_fd, &byte, 1) != 1) {
      _exit(4);
    }
  }
}

void KillMidBatch(Backend backend) {
  TestStore ts;
  if (!ts.Open(backend)) {
    return;
  }
  int fds[2];
  REQUIRE(pipe(fds) == 0);
  pid_t child = fork();
  REQUIRE(child >= 0);
  if (child == 0) {
    close(fds[0]);
    WriteForever(ts.url(), ts.options(), fds[1]);
  }
  close(fds[1]);
  // Let a few batches commit, then kill it while it is inside the next one.
  char byte = 0;
  for (int i = 0; i < 3; ++i) {
    REQUIRE(read(fds[0], &byte, 1) == 1);
  }
  usleep(3000);
  REQUIRE(kill(child, SIGKILL) == 0);
  int status = 0;
  REQUIRE(waitpid(child, &status, 0) == child);
  REQUIRE(WIFSIGNALED(status));
  close(fds[0]);

  ts.Reopen();
  storage::ListQuery q;
  q.get_all_results = true;
  q.include = {"execution_id"};
  auto events = ts->ListEvents(storage::CallerContext{}, q);
  REQUIRE_MESSAGE(events.ok(), events.status().ToString());
  std::map<std::string, int> per_batch;
  for (const auto& e : events->items) {
    ++per_batch[e.execution_id];
  }
  CHECK(per_batch.size() >= 3);
  for (const auto& [batch, count] : per_batch) {
    CAPTURE(batch);
    CHECK(count == kBatch);
  }
  // And it still takes writes.
  CHECK(ts->AppendEvents(storage::CallerContext{}, {model::Event{}}).ok());
}

TEST_CASE("[sqlite file] a writer killed mid-batch leaves whole batches only") {
  KillMidBatch(Backend::kSqliteFile);
}

TEST_CASE("[postgresql] a writer killed mid-batch leaves whole batches only") {
  KillMidBatch(Backend::kPostgres);
}

}  // namespace
}  // namespace cloudify::testing
