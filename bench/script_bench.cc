// Script operations (issue 7):
//   1. install of one node scaled to N instances whose `create` is a trivial #!/bin/sh script
//      calling `ctx instance runtime-properties k v` once, through the embedded Manager
//      (SQLite file, in-process broker): script operations per second;
//   2. the ctx proxy alone: in-process request/answer round trips over its unix socket
//      (median, p99), what the proxy adds to a `ctx` call;
//   3. a whole `ctx` call from a script (the ctx program started by the shell, the request,
//      the answer): one script making C calls, timed against the same script making none.
//
//   script_bench [--instances N] [--calls C] [--requests R] [--ctx-dir DIR]
//   defaults: 500, 200, 20000, the folder of this program's ../apps
#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <string>
#include <vector>

#include <sys/resource.h>
#include <unistd.h>

#include <cloudify/client/ctx.h>
#include <cloudify/manager.h>
#include <cloudify/process.h>
#include <cloudify/workflow/ctx_proxy.h>

namespace {

namespace fs = std::filesystem;
using Clock = std::chrono::steady_clock;
using nlohmann::json;

[[noreturn]] void Die(const std::string& what, const cloudify::Status& s) {
  std::fprintf(stderr, "%s: %s\n", what.c_str(), s.ToString().c_str());
  std::exit(1);
}

double Seconds(Clock::duration d) { return std::chrono::duration<double>(d).count(); }

// CPU seconds of this process (who = RUSAGE_SELF) or of its reaped children.
double CpuOf(int who) {
  rusage u{};
  getrusage(who, &u);
  auto s = [](const timeval& t) { return double(t.tv_sec) + double(t.tv_usec) / 1e6; };
  return s(u.ru_utime) + s(u.ru_stime);
}
double CpuSeconds() { return CpuOf(RUSAGE_SELF) + CpuOf(RUSAGE_CHILDREN); }

std::string Blueprint(int instances) {
  return "tosca_definitions_version: cloudify_dsl_1_4\n"
         "imports:\n  - http://cloudify.co/spec/cloudify/6.4.0/types.yaml\n"
         "node_templates:\n"
         "  vm:\n    type: cloudify.nodes.Root\n"
         "    capabilities:\n      scalable:\n        properties:\n          default_instances: " +
         std::to_string(instances) +
         "\n"
         "    interfaces:\n      cloudify.interfaces.lifecycle:\n"
         "        create:\n          implementation: scripts/create.sh\n"
         "          executor: central_deployment_agent\n"
         "        start:\n          implementation: scripts/calls.sh\n"
         "          executor: central_deployment_agent\n";
}

struct Args {
  int instances = 500;
  int calls = 200;
  int requests = 20000;
  fs::path ctx_dir;
};

// What starting one process costs on this machine: the floor under every script operation
// (which starts at least the script's shell and one ctx).
void ProcessStart(int runs) {
  cloudify::ProcessOptions p;
  p.argv = {"/bin/true"};
  const double cpu0 = CpuSeconds();
  auto start = Clock::now();
  for (int i = 0; i < runs; ++i) {
    auto r = cloudify::RunProcess(p);
    if (!r.ok()) Die("run /bin/true", r.status());
  }
  std::printf("baseline: /bin/true started and reaped %d times: %.2f ms each (CPU %.2f ms)\n", runs,
              Seconds(Clock::now() - start) * 1000 / runs, (CpuSeconds() - cpu0) * 1000 / runs);
}

void ScriptOperations(const Args& args, const fs::path& tmp) {
  const fs::path bp = tmp / "bp";
  fs::create_directories(bp / "scripts");
  std::ofstream(bp / "blueprint.yaml") << Blueprint(args.instances);
  std::ofstream(bp / "scripts" / "create.sh") << "#!/bin/sh\nctx instance runtime-properties k v\n";
  std::ofstream(bp / "scripts" / "calls.sh") << "#!/bin/sh\n";  // unused by install's timing

  cloudify::ManagerOptions options;
  options.data_dir = tmp / "data";
  options.ctx_dir = args.ctx_dir;
  options.script_work_dir = tmp / "work";
  auto manager = cloudify::Manager::Open(options);
  if (!manager.ok()) Die("open", manager.status());
  auto& m = **manager;
  auto caller = cloudify::storage::CallerContext::System();
  if (auto b = m.UploadBlueprint(caller, "b", bp / "blueprint.yaml"); !b.ok())
    Die("upload", b.status());
  if (auto d = m.CreateDeployment(caller, "b", "d"); !d.ok()) Die("deploy", d.status());
  // execute_operation of create only: one script operation per instance and nothing else.
  const double cpu0 = CpuSeconds();
  const double self0 = CpuOf(RUSAGE_SELF);
  auto start = Clock::now();
  auto ex = m.StartExecution(caller, "d", "execute_operation",
                             {{"operation", "cloudify.interfaces.lifecycle.create"}});
  if (!ex.ok()) Die("start", ex.status());
  auto done = m.WaitForExecution(caller, ex->id, std::chrono::minutes(10));
  if (!done.ok()) Die("wait", done.status());
  const double wall = Seconds(Clock::now() - start);
  const double cpu = CpuSeconds() - cpu0;
  const double self = CpuOf(RUSAGE_SELF) - self0;
  if (done->status != cloudify::model::ExecutionStatus::kTerminated) {
    std::fprintf(stderr, "execution ended %s: %s\n",
                 std::string(cloudify::model::ExecutionStatusName(done->status)).c_str(),
                 done->error.c_str());
    std::exit(1);
  }
  std::printf(
      "script operations: %d in %.2f s = %.0f ops/s (CPU per op: %.2f ms, of which the "
      "manager process %.2f ms, the scripts and ctx %.2f ms)\n",
      args.instances, wall, args.instances / wall, cpu * 1000 / args.instances,
      self * 1000 / args.instances, (cpu - self) * 1000 / args.instances);
  ProcessStart(200);  // again, from the process holding a Manager
}

void ProxyRoundTrips(const Args& args, const fs::path& tmp) {
  fs::create_directories(tmp / "proxy");
  json props = json::object();
  auto proxy = cloudify::workflow::CtxProxy::Start(tmp / "proxy", [&](const json& a) {
    if (a.size() == 4) props[a[2].get<std::string>()] = a[3];
    return json{{"type", "result"}, {"payload", nullptr}};
  });
  if (!proxy.ok()) Die("proxy", proxy.status());
  cloudify::client::CtxCommand c;
  c.socket_url = (*proxy)->url();
  c.token = (*proxy)->token();
  c.args = json::array({"instance", "runtime-properties", "k", "v"});
  std::vector<double> us;
  us.reserve(args.requests);
  for (int i = 0; i < args.requests; ++i) {
    auto t0 = Clock::now();
    auto r = cloudify::client::SendCtxRequest(c);
    us.push_back(Seconds(Clock::now() - t0) * 1e6);
    if (!r.ok() || r->type != "result")
      Die("request", r.ok() ? cloudify::Status::Ok() : r.status());
  }
  std::sort(us.begin(), us.end());
  std::printf("ctx proxy round trip (in-process client): median %.1f us, p99 %.1f us over %d\n",
              us[us.size() / 2], us[us.size() * 99 / 100], args.requests);
}

void WholeCalls(const Args& args, const fs::path& tmp) {
  const fs::path bp = tmp / "calls";
  fs::create_directories(bp / "scripts");
  std::ofstream(bp / "blueprint.yaml") << Blueprint(1);
  std::ofstream(bp / "scripts" / "create.sh") << "#!/bin/sh\n";
  std::ofstream(bp / "scripts" / "calls.sh")
      << "#!/bin/sh\ni=0\nwhile [ $i -lt \"$calls\" ]; do\n"
         "  if [ \"$with_ctx\" = true ]; then ctx instance runtime-properties k$i v; else "
         "/bin/true; fi\n  i=$((i + 1))\ndone\n";
  cloudify::ManagerOptions options;
  options.data_dir = tmp / "calls-data";
  options.ctx_dir = args.ctx_dir;
  options.script_work_dir = tmp / "work";
  auto manager = cloudify::Manager::Open(options);
  if (!manager.ok()) Die("open", manager.status());
  auto& m = **manager;
  auto caller = cloudify::storage::CallerContext::System();
  if (auto b = m.UploadBlueprint(caller, "c", bp / "blueprint.yaml"); !b.ok())
    Die("upload", b.status());
  if (auto d = m.CreateDeployment(caller, "c", "c1"); !d.ok()) Die("deploy", d.status());
  struct Cost {
    double wall, cpu;
  };
  auto run = [&](bool with_ctx) {
    const double cpu0 = CpuSeconds();
    auto start = Clock::now();
    auto ex =
        m.StartExecution(caller, "c1", "execute_operation",
                         {{"operation", "cloudify.interfaces.lifecycle.start"},
                          {"operation_kwargs", {{"calls", args.calls}, {"with_ctx", with_ctx}}}});
    if (!ex.ok()) Die("start", ex.status());
    auto done = m.WaitForExecution(caller, ex->id, std::chrono::minutes(10));
    if (!done.ok() || done->status != cloudify::model::ExecutionStatus::kTerminated) {
      std::fprintf(stderr, "calls run failed: %s\n", done.ok() ? done->error.c_str() : "");
      std::exit(1);
    }
    return Cost{Seconds(Clock::now() - start), CpuSeconds() - cpu0};
  };
  const Cost with = run(true);
  const Cost without = run(false);
  std::printf(
      "whole ctx call from a script: %.2f ms wall, %.2f ms CPU (all processes) more than the "
      "same loop running /bin/true (%d calls: %.3f s vs %.3f s)\n",
      (with.wall - without.wall) * 1000 / args.calls, (with.cpu - without.cpu) * 1000 / args.calls,
      args.calls, with.wall, without.wall);
}

}  // namespace

int main(int argc, char** argv) {
  Args args;
  for (int i = 1; i + 1 < argc; i += 2) {
    std::string flag = argv[i];
    if (flag == "--instances")
      args.instances = std::atoi(argv[i + 1]);
    else if (flag == "--calls")
      args.calls = std::atoi(argv[i + 1]);
    else if (flag == "--requests")
      args.requests = std::atoi(argv[i + 1]);
    else if (flag == "--ctx-dir")
      args.ctx_dir = argv[i + 1];
  }
  if (args.ctx_dir.empty()) {
    args.ctx_dir = fs::canonical("/proc/self/exe").parent_path().parent_path() / "apps";
  }
  std::string pattern = (fs::temp_directory_path() / "script-bench-XXXXXX").string();
  if (mkdtemp(pattern.data()) == nullptr) return 1;
  const fs::path tmp = pattern;
  ProcessStart(200);
  ProxyRoundTrips(args, tmp);
  ScriptOperations(args, tmp);
  WholeCalls(args, tmp);
  std::error_code ec;
  fs::remove_all(tmp, ec);
  return 0;
}
