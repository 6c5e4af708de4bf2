// The script executor, the ctx proxy and the ctx resolver against a fake operation context,
// with the real `ctx` program.
#include <atomic>
#include <cstring>
#include <fstream>
#include <mutex>
#include <thread>

#include <doctest/doctest.h>
#include <signal.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include "cloudify/client/ctx.h"
#include "cloudify/dsl/parser.h"
#include "cloudify/process.h"
#include "cloudify/workflow/ctx_proxy.h"
#include "cloudify/workflow/ctx_resolver.h"
#include "cloudify/workflow/script_executor.h"

#include "support/temp_dir.h"

namespace cloudify::workflow {
namespace {

using nlohmann::json;
namespace fs = std::filesystem;
using std::chrono::milliseconds;

class FakeInstance final : public InstanceContext {
 public:
  FakeInstance(std::string node_id, std::string instance_id, json properties) {
    node_.spec.id = std::move(node_id);
    node_.spec.type = "cloudify.nodes.Root";
    node_.spec.type_hierarchy = {"cloudify.nodes.Root"};
    node_.spec.properties = std::move(properties);
    instance_.id = std::move(instance_id);
    instance_.node_id = node_.spec.id;
  }
  const model::Node& node() const override { return node_; }
  const model::NodeInstance& instance() const override { return instance_; }
  json& runtime_properties() override { return instance_.runtime_properties; }
  void set_host_id(std::string id) { instance_.host_id = std::move(id); }

 private:
  model::Node node_;
  model::NodeInstance instance_;
};

class RecordingLogger final : public Logger {
 public:
  bool Enabled(LogLevel) const override { return true; }
  void Write(LogLevel level, std::string_view message, std::initializer_list<LogField>) override {
    std::lock_guard lock(mu);
    lines.emplace_back(level, std::string(message));
  }
  bool Has(std::string_view text) {
    std::lock_guard lock(mu);
    for (const auto& [level, line] : lines) {
      if (line.find(text) != std::string::npos) {
        return true;
      }
    }
    return false;
  }
  size_t Bytes() {
    std::lock_guard lock(mu);
    size_t n = 0;
    for (const auto& l : lines) {
      n += l.second.size();
    }
    return n;
  }
  std::mutex mu;
  std::vector<std::pair<LogLevel, std::string>> lines;
};

class FakeContext final : public OperationContext {
 public:
  explicit FakeContext(json inputs, bool relationship = false)
      : inputs_(std::move(inputs)),
        relationship_(relationship),
        self_("app", "app_1", {{"port", 8080}, {"conf", {{"list", {1, 2}}}}}),
        other_("db", "db_1", {{"name", "appdb"}}) {}

  const std::string& tenant() const override { return tenant_; }
  const std::string& deployment_id() const override { return deployment_; }
  const std::string& blueprint_id() const override { return blueprint_; }
  const std::string& execution_id() const override { return execution_; }
  const std::string& workflow_id() const override { return workflow_; }
  const std::string& operation_name() const override { return operation_; }
  int retry_number() const override { return 0; }
  int max_retries() const override { return 3; }
  const json& inputs() const override { return inputs_; }
  std::optional<milliseconds> timeout() const override { return timeout_; }
  bool is_relationship() const override { return relationship_; }
  InstanceContext& instance() override { return self_; }
  InstanceContext& source() override { return self_; }
  InstanceContext& target() override { return other_; }
  Logger& logger() override { return logger_; }
  void Fail(std::string message, bool can_retry) override {
    failed = true;
    failure = std::move(message);
    recoverable = can_retry;
  }
  void Retry(std::string message, std::optional<milliseconds> after) override {
    retried = true;
    failure = std::move(message);
    retry_after = after;
  }
  void Return(json value) override { returned = std::move(value); }
  Result<model::NodeInstance> ReadInstance(const std::string& id) const override {
    for (const auto& other : others) {
      if (other.id == id) {
        return other;
      }
    }
    return OperationContext::ReadInstance(id);
  }

  std::vector<model::NodeInstance> others;  // what ReadInstance finds
  bool failed = false;
  bool recoverable = false;
  bool retried = false;
  std::optional<milliseconds> retry_after;
  std::string failure;
  json returned;
  std::optional<milliseconds> timeout_;
  RecordingLogger logger_;

 private:
  json inputs_;
  bool relationship_;

 public:
  FakeInstance self_, other_;

 private:
  std::string tenant_ = "default_tenant", deployment_ = "dep", blueprint_ = "bp",
              execution_ = "exec-1", workflow_ = "install",
              operation_ = "cloudify.interfaces.lifecycle.create";
};

// A blueprint folder with scripts, and the options that run them with the built `ctx`.
struct Blueprint {
  testing::TempDir tmp;
  fs::path root = tmp.path() / "bp";
  ScriptOptions options;

  Blueprint() {
    fs::create_directories(root / "scripts");
    options.ctx_dir = CLOUDIFY_CTX_DIR;
    options.work_root = tmp.path() / "work";
    options.blueprint_dir = [this](const std::string&, const std::string&) -> Result<fs::path> {
      return root;
    };
  }
  void Write(const std::string& relative, const std::string& text) {
    fs::create_directories((root / relative).parent_path());
    std::ofstream(root / relative) << text;  // deliberately not executable
  }
};

json ScriptInputs(const std::string& path, json extra = json::object()) {
  extra["script_path"] = path;
  return extra;
}

TEST_CASE("scripts: inputs become env vars and ctx reads and writes and output is logged") {
  Blueprint bp;
  bp.Write("scripts/create.sh", R"SH(#!/bin/bash
set -e
echo "role=$role port=$port flag=$flag conf=$conf none=$nothing extra=$EXTRA"
echo "to stderr" >&2
ctx logger info "creating $(ctx instance id) on $(ctx node properties port)"
ctx instance runtime-properties created yes
ctx instance runtime-properties a.b.c @'{"k": [1, 2]}'
ctx instance runtime-properties copy "$(ctx node properties conf.list[1])"
test "$(ctx deployment id)" = dep
test "$(ctx execution-id)" = exec-1
test "$(ctx workflow-id)" = install
test "$(ctx operation name)" = cloudify.interfaces.lifecycle.create
test "$(ctx node type)" = cloudify.nodes.Root
test "$(ctx -j instance runtime-properties a.b.c.k)" = "[1,2]"
test "$(ctx instance runtime-properties a.b.c.k[0])" = 1
test "$(pwd)" = "$CWD_EXPECTED" || test -z "$CWD_EXPECTED"
ctx returns @'{"ok": true}'
)SH");
  FakeContext ctx(ScriptInputs("scripts/create.sh", {{"role", "database"},
                                                     {"port", 5432},
                                                     {"flag", true},
                                                     {"conf", {{"a", 1}}},
                                                     {"nothing", nullptr},
                                                     {"process", {{"env", {{"EXTRA", "x"}}}}}}));
  RunScriptOperation(ctx, bp.options);
  INFO(ctx.failure);
  CHECK_FALSE(ctx.failed);
  CHECK(
      ctx.logger_.Has(R"(<out> role=database port=5432 flag=true conf={"a":1} none=None extra=x)"));
  CHECK(ctx.logger_.Has("<err> to stderr"));
  CHECK(ctx.logger_.Has("creating app_1 on 8080"));
  const json& rp = ctx.self_.runtime_properties();
  CHECK(rp["created"] == "yes");
  CHECK(rp["a"]["b"]["c"] == json{{"k", {1, 2}}});
  CHECK(rp["copy"] == "2");
  CHECK(ctx.returned == json{{"ok", true}});
  // The work dir is gone with the run.
  CHECK(fs::is_empty(bp.options.work_root));
}

TEST_CASE("scripts: inline script_source and ctx after the operation ended is refused") {
  Blueprint bp;
  const fs::path saved = bp.tmp.path() / "saved.env";
  FakeContext ctx(json{{"script_source",
                        "echo inline $(ctx instance id)\n"
                        "echo \"$CTX_SOCKET_URL $CTX_TOKEN\" > " +
                            saved.string() + "\n"}});
  RunScriptOperation(ctx, bp.options);
  INFO(ctx.failure);
  CHECK_FALSE(ctx.failed);
  CHECK(ctx.logger_.Has("<out> inline app_1"));
  std::string url, token;
  std::ifstream(saved) >> url >> token;
  REQUIRE(url.rfind("unix://", 0) == 0);
  REQUIRE(token.size() == 64);
  // The same call the script made, with its URL and token, after the run.
  ProcessOptions again;
  again.argv = {(fs::path(CLOUDIFY_CTX_DIR) / "ctx").string(), "instance", "id"};
  again.env = {{"CTX_SOCKET_URL", url}, {"CTX_TOKEN", token}};
  std::string err;
  again.on_stderr_line = [&](std::string_view line) { err += line; };
  auto result = RunProcess(again);
  REQUIRE(result.ok());
  CHECK(result->exit_code == 1);
  CHECK(err.find("cannot reach the ctx proxy") != std::string::npos);
}

TEST_CASE("scripts: process args and command_prefix and cwd") {
  Blueprint bp;
  bp.Write("scripts/args.sh", "echo \"args: $1 $2 in $(pwd)\"\n");
  bp.Write("scripts/tool.py", "import sys\nprint('python says', sys.argv[1:])\n");
  fs::create_directories(bp.tmp.path() / "cwd");
  FakeContext ctx(ScriptInputs("scripts/args.sh", {{"process",
                                                    {{"args", {"one", 2}},
                                                     {"cwd", (bp.tmp.path() / "cwd").string()},
                                                     {"command_prefix", "/bin/bash"}}}}));
  RunScriptOperation(ctx, bp.options);
  INFO(ctx.failure);
  CHECK_FALSE(ctx.failed);
  CHECK(ctx.logger_.Has("<out> args: one 2 in " + (bp.tmp.path() / "cwd").string()));

  if (access("/usr/bin/python3", X_OK) == 0) {
    FakeContext py(ScriptInputs("scripts/tool.py", {{"process", {{"args", {"x"}}}}}));
    RunScriptOperation(py, bp.options);
    INFO(py.failure);
    CHECK_FALSE(py.failed);
    CHECK(py.logger_.Has("<out> python says ['x']"));
  }
}

TEST_CASE("scripts: process log_stdout / log_stderr false keep the output out of the logs") {
  Blueprint bp;
  bp.Write("scripts/quiet.sh", "#!/bin/sh\necho visible-out\necho visible-err >&2\n");
  FakeContext ctx(ScriptInputs("scripts/quiet.sh",
                               {{"process", {{"log_stdout", false}, {"log_stderr", nullptr}}}}));
  RunScriptOperation(ctx, bp.options);
  CHECK_FALSE(ctx.failed);
  CHECK_FALSE(ctx.logger_.Has("visible-out"));
  CHECK(ctx.logger_.Has("<err> visible-err"));  // only a boolean false turns it off
}

TEST_CASE("scripts: a non-zero exit is a recoverable failure with the stderr tail") {
  Blueprint bp;
  bp.Write("scripts/fail.sh", "#!/bin/sh\necho 'no database here' >&2\nexit 3\n");
  FakeContext ctx(ScriptInputs("scripts/fail.sh"));
  RunScriptOperation(ctx, bp.options);
  CHECK(ctx.failed);
  CHECK(ctx.recoverable);
  CHECK(ctx.failure.find("exited with code 3") != std::string::npos);
  CHECK(ctx.failure.find("no database here") != std::string::npos);
}

TEST_CASE("scripts: abort_operation fails without retry and retry_operation asks for a retry") {
  Blueprint bp;
  bp.Write("scripts/abort.sh", "#!/bin/bash\nctx abort_operation 'cannot go on'\necho after\n");
  bp.Write("scripts/retry.sh", "#!/bin/bash\nctx retry_operation 'not yet' 2\nexit 0\n");
  bp.Write("scripts/twice.sh", "#!/bin/bash\nctx returns 1\nctx abort_operation x\n");
  FakeContext abort_ctx(ScriptInputs("scripts/abort.sh"));
  RunScriptOperation(abort_ctx, bp.options);
  CHECK(abort_ctx.failed);
  CHECK_FALSE(abort_ctx.recoverable);
  CHECK(abort_ctx.failure == "cannot go on");
  CHECK(abort_ctx.logger_.Has("<err> cannot go on"));  // the ctx program's exit message

  FakeContext retry_ctx(ScriptInputs("scripts/retry.sh"));
  RunScriptOperation(retry_ctx, bp.options);
  CHECK_FALSE(retry_ctx.failed);
  CHECK(retry_ctx.retried);
  CHECK(retry_ctx.failure == "not yet");
  CHECK(retry_ctx.retry_after == milliseconds(2000));

  FakeContext twice(ScriptInputs("scripts/twice.sh"));
  RunScriptOperation(twice, bp.options);
  CHECK(twice.failed);
  CHECK_FALSE(twice.recoverable);
  CHECK(twice.failure.find("only one of") != std::string::npos);
}

TEST_CASE("scripts: Python scripts get ctx and inputs, and their exceptions end the operation") {
  Blueprint bp;
  bp.Write("scripts/create.py", R"PY(
from cloudify import ctx
from cloudify.state import ctx_parameters as inputs
ctx.logger.info('creating %s for %s', ctx.instance.id, inputs['role'])
assert ctx.node.properties['port'] == 8080
assert ctx.node.properties['conf']['list'] == [1, 2]
assert ctx.node.type == 'cloudify.nodes.Root'
assert ctx.deployment.id == 'dep' and ctx.execution_id == 'exec-1'
props = ctx.instance.runtime_properties
props['py'] = {'k': [1, 2]}
props['gone'] = 1
del props['gone']
assert props['py'] == {'k': [1, 2]} and 'gone' not in props or props.get('gone') is None
print('globals: %s %s' % (type(ctx).__name__, inputs is not None))
ctx.returns({'ok': True, 'n': 3})
)PY");
  FakeContext ok(ScriptInputs("scripts/create.py", {{"role", "database"}}));
  RunScriptOperation(ok, bp.options);
  INFO(ok.failure);
  CHECK_FALSE(ok.failed);
  CHECK(ok.logger_.Has("creating app_1 for database"));
  CHECK(ok.logger_.Has("<out> globals: ProxyContext True"));
  CHECK(ok.self_.runtime_properties()["py"] == json{{"k", {1, 2}}});
  CHECK(ok.returned == json{{"ok", true}, {"n", 3}});

  bp.Write("scripts/abort.py",
           "from cloudify.exceptions import NonRecoverableError\n"
           "raise NonRecoverableError('broken beyond repair')\n");
  FakeContext aborted(ScriptInputs("scripts/abort.py"));
  RunScriptOperation(aborted, bp.options);
  CHECK(aborted.failed);
  CHECK_FALSE(aborted.recoverable);
  CHECK(aborted.failure == "broken beyond repair");

  // The script's globals hold ctx and inputs without imports, as the original's eval does.
  bp.Write("scripts/retry.py",
           "from cloudify.exceptions import OperationRetry\n"
           "ctx.logger.info('attempt with %s' % inputs['role'])\n"
           "raise OperationRetry('not ready', retry_after=3)\n");
  FakeContext retried(ScriptInputs("scripts/retry.py", {{"role", "web"}}));
  RunScriptOperation(retried, bp.options);
  CHECK_FALSE(retried.failed);
  CHECK(retried.retried);
  CHECK(retried.failure == "not ready");
  CHECK(retried.retry_after == milliseconds(3000));
  CHECK(retried.logger_.Has("attempt with web"));

  bp.Write("scripts/crash.py", "raise ValueError('bad value')\n");
  FakeContext crashed(ScriptInputs("scripts/crash.py"));
  RunScriptOperation(crashed, bp.options);
  CHECK(crashed.failed);
  CHECK(crashed.recoverable);
  CHECK(crashed.failure.find("ValueError: bad value") != std::string::npos);

  // eval_python: false runs the file as a program; it can still import our ctx.
  bp.Write("scripts/plain.py",
           "import sys\nfrom cloudify import ctx\n"
           "ctx.instance.runtime_properties['argv0'] = sys.argv[0]\n");
  FakeContext plain(ScriptInputs("scripts/plain.py", {{"process", {{"eval_python", false}}}}));
  RunScriptOperation(plain, bp.options);
  INFO(plain.failure);
  CHECK_FALSE(plain.failed);
  CHECK(plain.self_.runtime_properties()["argv0"].get<std::string>().find("plain.py") !=
        std::string::npos);
}

TEST_CASE("scripts: a hanging script is killed at its timeout with its children") {
  Blueprint bp;
  const fs::path pid_file = bp.tmp.path() / "child.pid";
  bp.Write("scripts/hang.sh",
           "#!/bin/bash\nsleep 300 &\necho $! > " + pid_file.string() + "\nsleep 300\n");
  FakeContext ctx(ScriptInputs("scripts/hang.sh"));
  ctx.timeout_ = milliseconds(500);
  auto start = std::chrono::steady_clock::now();
  RunScriptOperation(ctx, bp.options);
  auto took = std::chrono::steady_clock::now() - start;
  CHECK(took < std::chrono::seconds(10));
  CHECK(ctx.failed);
  CHECK_FALSE(ctx.recoverable);
  CHECK(ctx.failure.find("timed out after 0.5 s") != std::string::npos);
  pid_t child = 0;
  std::ifstream(pid_file) >> child;
  REQUIRE(child > 0);
  // The background child went with the group (it may linger a moment as a zombie of init).
  bool gone = false;
  for (int i = 0; i < 100 && !gone; ++i) {
    std::ifstream stat("/proc/" + std::to_string(child) + "/stat");
    std::string pid, comm, state;
    gone = !(stat >> pid >> comm >> state) || state == "Z";
    if (!gone) {
      std::this_thread::sleep_for(milliseconds(20));
    }
  }
  CHECK(gone);
}

TEST_CASE("scripts: bad script paths are refused without retry") {
  Blueprint bp;
  testing::TempDir outside;
  std::ofstream(outside.path() / "evil.sh") << "#!/bin/sh\necho evil\n";
  fs::create_symlink(outside.path() / "evil.sh", bp.root / "scripts" / "link.sh");
  fs::create_directories(bp.root / "scripts" / "dir.sh");

  struct Case {
    std::string path;
    std::string message;
  };
  for (const Case& c :
       {Case{"../" + (outside.path().filename() / "evil.sh").string(), "outside"},
        Case{"scripts/link.sh", "outside"}, Case{(outside.path() / "evil.sh").string(), "absolute"},
        Case{"scripts/missing.sh", "not found"}, Case{"scripts/dir.sh", "is a directory"},
        Case{"http://example.com/x.sh", "no URL fetcher"},
        Case{"ftp://example.com/x.sh", "only http:// and https://"}}) {
    CAPTURE(c.path);
    FakeContext ctx(ScriptInputs(c.path));
    RunScriptOperation(ctx, bp.options);
    CHECK(ctx.failed);
    CHECK_FALSE(ctx.recoverable);
    CHECK(ctx.failure.find(c.message) != std::string::npos);
    CHECK_FALSE(ctx.logger_.Has("evil"));
  }
}

TEST_CASE("scripts: huge output is bounded and long lines are cut") {
  Blueprint bp;
  bp.options.max_logged_output_bytes = 64 * 1024;
  bp.options.max_line_bytes = 1024;
  // 20 MB of short lines plus one 5 MB line.
  bp.Write("scripts/loud.sh",
           "#!/bin/bash\nhead -c 5000000 /dev/zero | tr '\\0' 'x'; echo\n"
           "yes 'a line of output' | head -n 1000000\n");
  FakeContext ctx(ScriptInputs("scripts/loud.sh"));
  RunScriptOperation(ctx, bp.options);
  INFO(ctx.failure);
  CHECK_FALSE(ctx.failed);
  CHECK(ctx.logger_.Has("[line cut at 1024 bytes]"));
  CHECK(ctx.logger_.Has("output truncated"));
  CHECK(ctx.logger_.Bytes() < 200 * 1024);
}

TEST_CASE("ctx proxy: wrong token and calls after the operation are refused") {
  testing::TempDir dir;
  std::atomic<int> handled{0};
  auto proxy = CtxProxy::Start(dir.path(), [&](const json& args) {
    ++handled;
    return json{{"type", "result"}, {"payload", args}};
  });
  REQUIRE(proxy.ok());
  struct stat st {};
  REQUIRE(stat((dir.path() / "ctx.sock").c_str(), &st) == 0);
  CHECK((st.st_mode & 0777) == 0600);

  client::CtxCommand good;
  good.socket_url = (*proxy)->url();
  good.token = (*proxy)->token();
  good.args = json::array({"node", "id"});
  auto ok = client::SendCtxRequest(good);
  REQUIRE(ok.ok());
  CHECK(ok->type == "result");
  CHECK(ok->payload == good.args);

  client::CtxCommand wrong = good;
  wrong.token = std::string(good.token.size(), '0');
  auto refused = client::SendCtxRequest(wrong);
  REQUIRE(refused.ok());
  CHECK(refused->type == "error");
  CHECK(refused->payload["type"] == "Unauthorized");
  wrong.token.clear();
  CHECK(client::SendCtxRequest(wrong)->type == "error");
  CHECK(handled == 1);

  (*proxy)->Close();
  auto after = client::SendCtxRequest(good);
  REQUIRE_FALSE(after.ok());
  CHECK(after.status().code() == ErrorCode::kUnavailable);
  CHECK(handled == 1);
}

TEST_CASE("ctx proxy: oversized and slow requests get errors") {
  testing::TempDir dir;
  CtxProxyOptions options;
  options.max_request_bytes = 1024;
  options.request_timeout = milliseconds(300);
  auto proxy = CtxProxy::Start(
      dir.path(),
      [](const json&) {
        return json{{"type", "result"}, {"payload", 1}};
      },
      options);
  REQUIRE(proxy.ok());
  client::CtxCommand big;
  big.socket_url = (*proxy)->url();
  big.token = (*proxy)->token();
  big.args = json::array({std::string(4096, 'x')});
  auto answer = client::SendCtxRequest(big);
  REQUIRE(answer.ok());
  CHECK(answer->payload["type"] == "RequestTooLarge");

  // A client that connects and never finishes its request does not block the next one.
  int fd = socket(AF_UNIX, SOCK_STREAM, 0);
  sockaddr_un addr{};
  addr.sun_family = AF_UNIX;
  const std::string path = (dir.path() / "ctx.sock").string();
  std::memcpy(addr.sun_path, path.data(), path.size());
  REQUIRE(connect(fd, reinterpret_cast<const sockaddr*>(&addr), sizeof addr) == 0);
  client::CtxCommand small = big;
  small.args = json::array({"x"});
  auto next = client::SendCtxRequest(small);
  close(fd);
  REQUIRE(next.ok());
  CHECK(next->type == "result");
}

TEST_CASE("ctx resolver: forms and paths and relationship sides") {
  FakeContext node_ctx(json::object());
  CtxResolver r(node_ctx, {});
  auto result = [&](CtxResolver& res, json args) {
    json answer = res.Handle(args);
    INFO(answer.dump());
    CHECK(answer["type"] == "result");
    return answer["payload"];
  };
  auto error = [&](CtxResolver& res, json args) {
    json answer = res.Handle(args);
    INFO(answer.dump());
    CHECK(answer["type"] == "error");
    return answer["payload"].value("message", "");
  };
  CHECK(result(r, {"instance", "id"}) == "app_1");
  CHECK(result(r, {"node", "name"}) == "app");
  CHECK(result(r, {"node", "properties"}) == node_ctx.self_.node().spec.properties);
  CHECK(result(r, {"node", "properties", "conf.list[0]"}) == 1);
  CHECK(result(r, {"instance", "runtime_properties", "x.y", "v"}).is_null());
  CHECK(node_ctx.self_.runtime_properties()["x"]["y"] == "v");
  CHECK(error(r, {"instance", "runtime-properties", "x.y[0]"}).find("illegal path") !=
        std::string::npos);
  result(r, {"instance", "runtime-properties", "list", json::array({1, {{"c", 0}}})});
  result(r, {"instance", "runtime-properties", "list[1].c", 5});
  CHECK(result(r, {"instance", "runtime-properties", "list[1].c"}) == 5);
  CHECK(result(r, {"instance", "runtime-properties", "list[1]"}) == json{{"c", 5}});
  CHECK(error(r, {"instance", "runtime-properties", "nope"}).find("illegal path: nope") !=
        std::string::npos);
  CHECK(error(r, {"node", "properties", "port", 1}).find("read-only") != std::string::npos);
  CHECK(error(r, {"source", "instance", "id"}).find("relationship") != std::string::npos);
  CHECK(error(r, {"bogus"}).find("cannot be processed") != std::string::npos);
  CHECK(result(r, {"operation", "max_retries"}) == 3);
  CHECK(result(r, {"tenant-name"}) == "default_tenant");
  CHECK(result(r, {"blueprint", "id"}) == "bp");
  result(r, {"logger", "warning", "careful", "now"});
  CHECK(node_ctx.logger_.Has("careful now"));

  // host-ip: the host instance's ip first, else the instance's own.
  node_ctx.self_.runtime_properties()["ip"] = "10.0.0.1";
  CHECK(result(r, {"instance", "host-ip"}) == "10.0.0.1");  // no host: its own
  model::NodeInstance host;
  host.id = "vm_1";
  host.runtime_properties = {{"ip", "10.0.0.9"}};
  node_ctx.others.push_back(host);
  node_ctx.self_.set_host_id("vm_1");
  CHECK(result(r, {"instance", "host-ip"}) == "10.0.0.9");
  node_ctx.others.clear();  // a host this context cannot read: its own again
  CHECK(result(r, {"instance", "host-ip"}) == "10.0.0.1");

  FakeContext rel_ctx(json::object(), /*relationship=*/true);
  CtxResolver rr(rel_ctx, {});
  rel_ctx.other_.runtime_properties()["database_url"] = "db://x";
  CHECK(result(rr, {"target", "instance", "runtime-properties", "database_url"}) == "db://x");
  result(rr, {"source", "instance", "runtime-properties", "database_url", "db://x"});
  CHECK(rel_ctx.self_.runtime_properties()["database_url"] == "db://x");
  CHECK(result(rr, {"target", "node", "properties", "name"}) == "appdb");
  CHECK(error(rr, {"instance", "id"}).find("relationship") != std::string::npos);
}

TEST_CASE("ctx resolver: download-resource and rendering stay in the blueprint") {
  Blueprint bp;
  bp.Write("files/app.conf",
           "name={{ ctx.node.properties.port }} id={{ctx.instance.id}} v={{ v }}\n");
  bp.Write("files/bad.conf", "{% if x %}\n");
  testing::TempDir work;
  FakeContext ctx(json::object());
  CtxResolver r(ctx, {.blueprint_dir = bp.root, .work_dir = work.path()});
  json plain = r.Handle({"download-resource", "files/app.conf"});
  REQUIRE(plain["type"] == "result");
  const fs::path downloaded = plain["payload"].get<std::string>();
  CHECK(downloaded.string().rfind(work.path().string(), 0) == 0);
  std::ifstream in(downloaded);
  std::string text((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  CHECK(text.find("{{ ctx.node.properties.port }}") != std::string::npos);

  json rendered = r.Handle(
      {"download-resource-and-render", "files/app.conf", "out/app.conf", json{{"v", "seven"}}});
  REQUIRE(rendered["type"] == "result");
  CHECK(rendered["payload"] == (work.path() / "out/app.conf").string());
  std::ifstream rin(work.path() / "out/app.conf");
  std::string rtext((std::istreambuf_iterator<char>(rin)), std::istreambuf_iterator<char>());
  CHECK(rtext == "name=8080 id=app_1 v=seven\n");

  CHECK(r.Handle({"get-resource", "files/app.conf"})["payload"] == text);
  CHECK(r.Handle({"download-resource", "../x"})["type"] == "error");
  CHECK(r.Handle({"download-resource", "files/none"})["type"] == "error");
  CHECK(r.Handle({"download-resource-and-render", "files/bad.conf"})["type"] == "error");
  CHECK(r.Handle({"download-resource-and-render", "files/app.conf"})["payload"]["message"] ==
        "template variable 'v' is undefined");
}

TEST_CASE("ctx resolver: templates beyond substitutions are rendered by Jinja2") {
  Blueprint bp;
  bp.Write("files/loop.conf",
           "{# a comment #}{% for n in ctx.node.properties.conf.list %}[{{ n }}]{% endfor %}\n"
           "{{ name | upper }} {{ flag }} {{ ctx.instance.id }}\n");
  bp.Write("files/undefined.conf", "{{ missing | default('x') }} {{ nowhere.at_all }}\n");
  testing::TempDir work;
  FakeContext ctx(json::object());
  CtxResolver r(ctx, {.blueprint_dir = bp.root,
                      .work_dir = work.path(),
                      .python_dir = dsl::DefaultResourcesDir() / "python"});
  json got = r.Handle({"get-resource-and-render", "files/loop.conf",
                       json{{"template_variables", {{"name", "web"}, {"flag", true}}}}});
  INFO(got.dump());
  REQUIRE(got["type"] == "result");
  // Python's str() of true, as the original writes it.
  CHECK(got["payload"] == "[1][2]\nWEB True app_1\n");
  json undefined = r.Handle({"download-resource-and-render", "files/undefined.conf"});
  REQUIRE(undefined["type"] == "error");
  CHECK(undefined["payload"]["message"].get<std::string>().find("UndefinedError") !=
        std::string::npos);
  // The renderer's scratch files are gone.
  CHECK(fs::is_empty(work.path()));
}

}  // namespace
}  // namespace cloudify::workflow
