// Storage benchmark: the speed targets of the storage issue, on an SQLite file and (when
// CLOUDIFY_TEST_POSTGRES_URL is set) on PostgreSQL in a scratch schema.
//
//   storage_bench [--events N] [--big-events N] [--backend sqlite|postgresql|all]
//
// Prints one line per figure: what, how many, the rate or latency, and the target.
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <string>
#include <vector>

#include <sys/resource.h>
#include <unistd.h>

#include <cloudify/storage/store.h>

namespace {

using Clock = std::chrono::steady_clock;
using cloudify::storage::CallerContext;
using cloudify::storage::ListQuery;

double Seconds(Clock::time_point since) {
  return std::chrono::duration<double>(Clock::now() - since).count();
}

// CPU seconds (user + system) this process has used: on a shared, loaded machine the wall
// figures understate what the code does, so both are printed.
double CpuSeconds() {
  rusage usage{};
  getrusage(RUSAGE_SELF, &usage);
  return static_cast<double>(usage.ru_utime.tv_sec + usage.ru_stime.tv_sec) +
         static_cast<double>(usage.ru_utime.tv_usec + usage.ru_stime.tv_usec) / 1e6;
}

double g_cpu = 0;  // CPU seconds of the last InsertEvents

[[noreturn]] void Die(const std::string& what, const cloudify::Status& status) {
  std::fprintf(stderr, "%s: %s\n", what.c_str(), status.ToString().c_str());
  std::exit(1);
}

std::vector<cloudify::model::Event> MakeEvents(int n, int offset) {
  std::vector<cloudify::model::Event> events(static_cast<size_t>(n));
  for (int i = 0; i < n; ++i) {
    auto& e = events[static_cast<size_t>(i)];
    e.kind = i % 4 == 0 ? cloudify::model::EventKind::kLog : cloudify::model::EventKind::kEvent;
    e.execution_id = "exec-" + std::to_string((offset + i) / 10000);
    e.deployment_id = "dep-1";
    e.blueprint_id = "bp-1";
    e.workflow_id = "install";
    e.node_instance_id = "vm_abc123";
    e.node_name = "vm";
    e.operation = "cloudify.interfaces.lifecycle.create";
    e.message = "Task succeeded 'script_runner.tasks.run' (" + std::to_string(offset + i) + ")";
    e.event_type = "task_succeeded";
    e.logger = "ctx";
    e.reported_timestamp = cloudify::SystemClock().Now();
  }
  return events;
}

// Appends `total` events in batches of `batch`; returns events/s.
double InsertEvents(cloudify::storage::Store& store, int total, int batch) {
  CallerContext caller = CallerContext::System();
  auto start = Clock::now();
  double cpu = CpuSeconds();
  for (int done = 0; done < total; done += batch) {
    auto events = MakeEvents(batch, done);
    auto r = store.AppendEvents(caller, events);
    if (!r.ok()) {
      Die("append events", r.status());
    }
  }
  g_cpu = CpuSeconds() - cpu;
  return total / Seconds(start);
}

void BenchEvents(const char* backend, cloudify::storage::Store& store, int total, double target) {
  double rate = InsertEvents(store, total, 1000);
  std::printf(
      "%-11s insert %d events in batches of 1000: %.0f events/s wall, %.0f per CPU "
      "second of this process (target >= %.0f)\n",
      backend, total, rate, total / g_cpu, target);
}

// Metric samples as a monitoring agent sends them: 50 instances, 4 collectors each.
void BenchMetrics(cloudify::storage::Store& store, int total) {
  CallerContext caller = CallerContext::System();
  const auto now = cloudify::SystemClock().Now();
  auto start = Clock::now();
  double cpu = CpuSeconds();
  for (int done = 0; done < total; done += 1000) {
    std::vector<cloudify::model::Metric> batch(1000);
    for (int i = 0; i < 1000; ++i) {
      auto& m = batch[static_cast<size_t>(i)];
      const int n = done + i;
      m.deployment_id = "dep-1";
      m.node_name = "vm";
      m.node_instance_id = "vm_" + std::to_string(n % 50);
      m.host = m.node_instance_id;
      m.name = n % 4 == 0 ? "cpu" : n % 4 == 1 ? "memory" : n % 4 == 2 ? "disk" : "network";
      m.path = "total_system";
      m.value = n * 0.25;
      m.time = now;
      m.service = "dep-1.vm." + m.node_instance_id + "." + m.name + ".total.system";
    }
    auto r = store.AppendMetrics(caller, batch);
    if (!r.ok()) {
      Die("append metrics", r.status());
    }
  }
  double wall = Seconds(start);
  std::printf(
      "%-11s insert %d metric samples in batches of 1000: %.0f samples/s wall, %.0f per CPU "
      "second of this process\n",
      store.backend().data(), total, total / wall, total / (CpuSeconds() - cpu));
}

void BenchInstances(cloudify::storage::Store& store) {
  CallerContext caller = CallerContext::System();
  // 10,000 instances in the listed deployment, 10,000 more elsewhere.
  for (const char* dep : {"big", "other"}) {
    std::vector<cloudify::model::NodeInstance> instances;
    for (int i = 0; i < 10000; ++i) {
      cloudify::model::NodeInstance inst;
      inst.id = std::string(dep) + "_vm_" + std::to_string(i);
      inst.node_id = "vm";
      inst.deployment_id = dep;
      inst.index = i + 1;
      inst.runtime_properties = {{"ip", "10.0.0.1"}, {"n", i}};
      instances.push_back(std::move(inst));
    }
    auto s = store.CreateNodeInstances(caller, instances);
    if (!s.ok()) {
      Die("create node instances", s);
    }
  }

  // Versioned updates: state + runtime properties, each its own transaction.
  const int updates = 20000;
  std::vector<int64_t> versions(10000, cloudify::model::NodeInstance::kInitialVersion);
  auto start = Clock::now();
  double cpu = CpuSeconds();
  for (int i = 0; i < updates; ++i) {
    size_t k = static_cast<size_t>(i % 10000);
    cloudify::storage::NodeInstanceUpdate u;
    u.version = versions[k];
    u.state = i % 2 == 0 ? cloudify::model::NodeInstanceState::kCreated
                         : cloudify::model::NodeInstanceState::kStarted;
    u.runtime_properties = nlohmann::json{{"ip", "10.0.0.2"}, {"step", i}};
    auto r = store.UpdateNodeInstance(caller, "big_vm_" + std::to_string(k), u);
    if (!r.ok()) {
      Die("update node instance", r.status());
    }
    versions[k] = r->version;
  }
  double wall = Seconds(start);
  std::printf(
      "%-11s %d node-instance updates with version check: %.0f updates/s wall, %.0f per CPU "
      "second (target >= 5000 on sqlite)\n",
      store.backend().data(), updates, updates / wall, updates / (CpuSeconds() - cpu));

  // Listing 100 instances of the 10,000, pages spread over the deployment: right after the
  // updates, then after the store's upkeep (which a manager runs hourly, and PostgreSQL's
  // autovacuum about a minute after such a burst).
  for (const char* when : {"right after the updates", "after Store::Maintain"}) {
    if (std::string(when) != "right after the updates") {
      auto maintain_start = Clock::now();
      cloudify::Status maintained = store.Maintain();
      if (!maintained.ok()) {
        Die("maintain", maintained);
      }
      std::printf("%-11s Store::Maintain took %.0f ms\n", store.backend().data(),
                  Seconds(maintain_start) * 1000);
    }
    const int lists = 500;
    start = Clock::now();
    for (int i = 0; i < lists; ++i) {
      ListQuery q;
      q.size = 100;
      q.offset = (i * 100) % 10000;
      q.filters["deployment_id"] = {"big"};
      auto page = store.ListNodeInstances(caller, q);
      if (!page.ok() || page->items.size() != 100 || page->total != 10000) {
        Die("list node instances", page.status());
      }
    }
    std::printf("%-11s list 100 of 10,000 node instances (with total), %s: %.3f ms (target <= 2)\n",
                store.backend().data(), when, Seconds(start) * 1000 / lists);
  }
}

void BenchKeyset(cloudify::storage::Store& store, int total) {
  CallerContext caller = CallerContext::System();
  double rate = InsertEvents(store, total, 5000);
  std::printf("%-11s loaded %d events at %.0f events/s\n", store.backend().data(), total, rate);
  ListQuery first;
  first.size = 1;
  auto head = store.ListEvents(caller, first);
  if (!head.ok() || head->items.empty()) {
    Die("first event", head.status());
  }
  const int64_t base = head->items[0].storage_id - 1;
  const int runs = 200;
  auto start = Clock::now();
  for (int i = 0; i < runs; ++i) {
    ListQuery q;
    q.size = 100;
    q.with_total = false;
    q.after_storage_id = base + 100LL * (9999 - i % 3);  // page 10,000 (and its neighbours)
    auto page = store.ListEvents(caller, q);
    if (!page.ok() || page->items.size() != 100) {
      Die("keyset page", page.status());
    }
  }
  std::printf("%-11s page 10,000 (100 events) of %d by keyset: %.3f ms (target <= 5)\n",
              store.backend().data(), total, Seconds(start) * 1000 / runs);
}

std::filesystem::path MakeTempDir() {
  std::string pattern = (std::filesystem::temp_directory_path() / "cloudify-bench-XXXXXX").string();
  if (mkdtemp(pattern.data()) == nullptr) {
    std::perror("mkdtemp");
    std::exit(1);
  }
  return pattern;
}

}  // namespace

int main(int argc, char** argv) {
  int events = 200000;
  int big_events = 1000000;
  std::string backend = "all";
  for (int i = 1; i + 1 < argc; i += 2) {
    std::string flag = argv[i];
    if (flag == "--events") {
      events = std::atoi(argv[i + 1]);
    } else if (flag == "--big-events") {
      big_events = std::atoi(argv[i + 1]);
    } else if (flag == "--backend") {
      backend = argv[i + 1];
    }
  }
  std::filesystem::path dir = MakeTempDir();
  if (backend == "all" || backend == "sqlite") {
    cloudify::storage::StoreOptions options;
    options.secret_key_file = dir / "key";
    auto store =
        cloudify::storage::OpenStore("sqlite://" + (dir / "events.sqlite").string(), options);
    if (!store.ok()) {
      Die("open sqlite", store.status());
    }
    BenchEvents("sqlite", **store, events, 100000);
    BenchMetrics(**store, events);
    BenchInstances(**store);
    auto big = cloudify::storage::OpenStore("sqlite://" + (dir / "big.sqlite").string(), options);
    if (!big.ok()) {
      Die("open sqlite", big.status());
    }
    if (big_events > 0) {
      BenchKeyset(**big, big_events);
    }
  }
  const char* pg = std::getenv("CLOUDIFY_TEST_POSTGRES_URL");
  if (backend != "all" && backend != "postgresql") {
    // not asked for
  } else if (pg != nullptr && *pg != '\0') {
    cloudify::storage::StoreOptions options;
    options.secret_key_file = dir / "key";
    options.schema = "cfy_bench_" + std::to_string(getpid());
    options.pool_size = 1;
    auto store = cloudify::storage::OpenStore(pg, options);
    if (!store.ok()) {
      Die("open postgresql", store.status());
    }
    BenchEvents("postgresql", **store, events, 50000);
    BenchMetrics(**store, events);
    BenchInstances(**store);
    if (big_events > 0) {
      BenchKeyset(**store, big_events);
    }
    std::printf("(scratch schema %s left in place; drop it with DROP SCHEMA ... CASCADE)\n",
                options.schema.c_str());
  } else {
    std::printf("postgresql: CLOUDIFY_TEST_POSTGRES_URL not set, skipped\n");
  }
  std::filesystem::remove_all(dir);
  return 0;
}
