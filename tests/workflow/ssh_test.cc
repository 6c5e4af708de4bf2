// The SSH client and the remote agent installer against a real sshd of the test's own on
// loopback (tests/support/sshd.h); the "agent" here is a stand-in script, so no broker is
// needed (tests/agent/remote_install_test.cc installs the real one).
#include "workflow/ssh.h"

#include <chrono>
#include <filesystem>
#include <fstream>
#include <thread>

#include <doctest/doctest.h>
#include <nlohmann/json.hpp>
#include <signal.h>
#include <sys/stat.h>

#include "cloudify/files.h"

#include "support/sshd.h"
#include "support/temp_dir.h"
#include "workflow/remote_agent.h"

namespace cloudify::workflow {
namespace {

using nlohmann::json;
using testing::EventuallyStopped;
using testing::ModeOf;
using testing::Running;
namespace fs = std::filesystem;

SshTarget TargetOf(const testing::TestSshd& sshd) {
  SshTarget t;
  t.host = "127.0.0.1";
  t.port = sshd.port();
  t.user = sshd.user();
  t.key = sshd.client_key().string();
  t.timeout = std::chrono::seconds(20);
  return t;
}

TEST_CASE("SshSession: runs commands and writes files with their mode, the key a file or text") {
  auto sshd = testing::TestSshd::Start();
  if (!testing::HaveSshd(sshd)) {
    return;
  }
  testing::TempDir tmp;
  SshTarget target = TargetOf(**sshd);
  SUBCASE("key file") {}
  SUBCASE("key text") { target.key = ReadFileBytes(target.key).value(); }
  auto ssh = SshSession::Connect(target);
  REQUIRE_MESSAGE(ssh.ok(), ssh.status().ToString() << "\n" << (*sshd)->Log());

  auto run =
      (*ssh)->Run("echo out; echo err >&2; read line; echo \"got $line\"; exit 3", "input line\n");
  REQUIRE_MESSAGE(run.ok(), run.status().ToString());
  CHECK(run->exit_status == 3);
  CHECK(run->out == "out\ngot input line\n");
  CHECK(run->err == "err\n");

  auto failed = (*ssh)->Check("echo oops >&2; exit 2", "the step");
  REQUIRE_FALSE(failed.ok());
  CHECK_MESSAGE(failed.status().message() ==
                    "the step failed on " + target.Describe() + " (exit status 2): oops",
                failed.status().message());
  CHECK((*ssh)->Check("printf ok", "printing").value() == "ok");

  const fs::path secret = tmp.path() / "secret";
  REQUIRE((*ssh)->WriteFile(secret.string(), "s3cret\n", 0600).ok());
  CHECK(ReadFileBytes(secret).value() == "s3cret\n");
  CHECK(ModeOf(secret) == 0600);
  // Written again with another mode: the file is made anew with it.
  REQUIRE((*ssh)->WriteFile(secret.string(), "again", 0640).ok());
  CHECK(ReadFileBytes(secret).value() == "again");
  CHECK(ModeOf(secret) == 0640);

  std::string big(200 * 1024, 'x');
  std::ofstream(tmp.path() / "program") << big;
  const fs::path copy = tmp.path() / "copy";
  REQUIRE((*ssh)->CopyFile(tmp.path() / "program", copy.string(), 0755).ok());
  CHECK(ReadFileBytes(copy).value() == big);
  CHECK(ModeOf(copy) == 0755);
  CHECK((*ssh)->CopyFile(tmp.path() / "missing", copy.string(), 0755).code() ==
        ErrorCode::kNotFound);
  CHECK_FALSE((*ssh)->WriteFile((tmp.path() / "no" / "such" / "dir").string(), "x", 0600).ok());
}

TEST_CASE("SshSession: failures name host, port and user, and never the key's text") {
  auto sshd = testing::TestSshd::Start();
  if (!testing::HaveSshd(sshd)) {
    return;
  }
  const SshTarget good = TargetOf(**sshd);
  const std::string where = "127.0.0.1:" + std::to_string(good.port);

  SUBCASE("a key the server does not know") {
    SshTarget t = good;
    t.key = (*sshd)->unknown_key().string();
    auto ssh = SshSession::Connect(t);
    REQUIRE_FALSE(ssh.ok());
    CHECK(ssh.status().code() == ErrorCode::kUnauthorized);
    const std::string m = ssh.status().message();
    CHECK_MESSAGE(m.find("authentication failed") != std::string::npos, m);
    CHECK_MESSAGE(m.find(t.user + "@" + where) != std::string::npos, m);
  }
  SUBCASE("the key's text, not a key") {
    SshTarget t = good;
    t.key = "-----BEGIN OPENSSH PRIVATE KEY-----\nnot-a-key-at-all\n";
    auto ssh = SshSession::Connect(t);
    REQUIRE_FALSE(ssh.ok());
    CHECK(ssh.status().code() == ErrorCode::kUnauthorized);
    CHECK(ssh.status().message().find("not-a-key-at-all") == std::string::npos);
    CHECK(ssh.status().message().find("given as text") != std::string::npos);
  }
  SUBCASE("a key file that is not there") {
    SshTarget t = good;
    t.key = "/nonexistent/id_rsa";
    auto ssh = SshSession::Connect(t);
    REQUIRE_FALSE(ssh.ok());
    CHECK(ssh.status().code() == ErrorCode::kUnauthorized);
    CHECK(ssh.status().message().find("/nonexistent/id_rsa") != std::string::npos);
  }
  SUBCASE("a password the server does not take") {
    SshTarget t = good;
    t.key.clear();
    t.password = "not-the-password";
    auto ssh = SshSession::Connect(t);
    REQUIRE_FALSE(ssh.ok());
    CHECK(ssh.status().code() == ErrorCode::kUnauthorized);
    CHECK(ssh.status().message().find("not-the-password") == std::string::npos);
  }
  SUBCASE("a port nothing listens on: refused, which a retry may mend") {
    SshTarget t = good;
    t.port = testing::FreeLoopbackPort();
    auto ssh = SshSession::Connect(t);
    REQUIRE_FALSE(ssh.ok());
    CHECK(ssh.status().code() == ErrorCode::kUnavailable);
    const std::string m = ssh.status().message();
    CHECK_MESSAGE(m.find(t.user + "@127.0.0.1:" + std::to_string(t.port)) != std::string::npos, m);
    CHECK_MESSAGE(m.find("onnection refused") != std::string::npos, m);
  }
}

TEST_CASE("RemoteAgentSpecOf: the ip in the original's order, and a key or password is needed") {
  const json config = {{"user", "centos"}, {"key", "~/.ssh/id"}, {"ip", "10.0.0.3"}};
  auto spec = RemoteAgentSpecOf("vm_1", config, {{"ip", "10.0.0.2"}}, {{"ip", "10.0.0.1"}});
  REQUIRE(spec.ok());
  CHECK(spec->ssh.host == "10.0.0.1");
  CHECK(spec->ssh.port == 22);
  CHECK(spec->ssh.user == "centos");
  CHECK(spec->ssh.key == "~/.ssh/id");
  CHECK(spec->name == "vm_1");
  CHECK(RemoteAgentSpecOf("vm_1", config, {{"ip", "10.0.0.2"}}, {{"ip", ""}})->ssh.host ==
        "10.0.0.2");
  CHECK(RemoteAgentSpecOf("vm_1", config, {{"ip", ""}}, json::object())->ssh.host == "10.0.0.3");
  json no_ip = config;
  no_ip.erase("ip");
  auto missing = RemoteAgentSpecOf("vm_1", no_ip, {{"ip", ""}}, json::object());
  CHECK(missing.status().code() == ErrorCode::kBadParameters);
  CHECK(missing.status().message().find("no ip") != std::string::npos);

  json password = {{"user", "u"}, {"port", "2222"}, {"basedir", "/opt/agents"}};
  auto by_password = RemoteAgentSpecOf("vm_1", password, {{"password", "pw"}}, {{"ip", "h"}});
  REQUIRE(by_password.ok());
  CHECK(by_password->ssh.password == "pw");
  CHECK(by_password->ssh.port == 2222);
  CHECK(by_password->basedir == "/opt/agents");
  auto neither = RemoteAgentSpecOf("vm_1", {{"user", "u"}}, json::object(), {{"ip", "h"}});
  CHECK(neither.status().code() == ErrorCode::kBadParameters);
  CHECK(neither.status().message().find("agent_config.key") != std::string::npos);
  CHECK(RemoteAgentSpecOf("vm_1", {{"user", "u"}, {"key", "k"}, {"port", 0}}, json::object(),
                          {{"ip", "h"}})
            .status()
            .code() == ErrorCode::kBadParameters);
}

TEST_CASE("InstallRemoteAgent: copies, configures and starts the agent, and uninstall stops it") {
  auto sshd = testing::TestSshd::Start();
  if (!testing::HaveSshd(sshd)) {
    return;
  }
  testing::TempDir tmp;
  // A stand-in agent: it stays up until SIGTERM, and shows where it found ctx.
  const fs::path programs = tmp.path() / "programs";
  fs::create_directories(programs);
  std::ofstream(programs / "cloudify-agent") << "#!/bin/sh\n"
                                                "trap 'echo stopping; exit 0' TERM\n"
                                                "echo started in \"$PWD\" as $CLOUDIFY_AGENT_NAME\n"
                                                "while :; do sleep 0.05; done\n";
  std::ofstream(programs / "ctx") << "#!/bin/sh\n";
  RemoteAgentSpec spec;
  spec.ssh = TargetOf(**sshd);
  spec.name = "vm_abc";
  spec.basedir = (tmp.path() / "home").string();
  spec.env = {{"GREETING", "it's here"}, {"COUNT", 3}};
  RemoteAgentSettings settings;
  settings.bus_url = "amqp://agent:bus-secret@127.0.0.1:5672/%2f";
  settings.rest_url = "http://127.0.0.1:53333";
  settings.rest_token = "ctok-token-secret";
  settings.tenant = "default_tenant";
  settings.node_instance_id = "vm_abc";

  auto installed = InstallRemoteAgent(spec, settings, programs / "cloudify-agent");
  REQUIRE_MESSAGE(installed.ok(), installed.status().ToString());
  const fs::path dir = tmp.path() / "home" / "vm_abc";
  CHECK(installed->basedir == (tmp.path() / "home").string());
  CHECK(installed->agent_dir == dir.string());
  CHECK(installed->pid_file == (dir / "agent.pid").string());
  CHECK(ModeOf(dir) == 0700);
  CHECK(ModeOf(dir / "cloudify-agent") == 0755);
  CHECK(ModeOf(dir / "ctx") == 0755);
  CHECK(fs::is_directory(dir / "work"));
  // The secrets are in the settings file, readable by its owner only...
  CHECK(ModeOf(dir / "agent.env") == 0600);
  const std::string env = ReadFileBytes(dir / "agent.env").value();
  CHECK(env.find("CLOUDIFY_AGENT_BUS_URL='amqp://agent:bus-secret@127.0.0.1:5672/%2f'") !=
        std::string::npos);
  CHECK(env.find("CLOUDIFY_AGENT_REST_TOKEN='ctok-token-secret'") != std::string::npos);
  CHECK(env.find("CLOUDIFY_AGENT_INSTALL_METHOD='remote'") != std::string::npos);
  CHECK(env.find("GREETING='it'\\''s here'") != std::string::npos);
  CHECK(env.find("COUNT='3'") != std::string::npos);
  // ... and the agent runs with them, detached, none of them on its command line.
  const pid_t pid = std::stoi(ReadFileBytes(dir / "agent.pid").value());
  CHECK(Running(pid));
  const std::string cmdline = ReadFileBytes("/proc/" + std::to_string(pid) + "/cmdline").value();
  CHECK(cmdline.find("cloudify-agent") != std::string::npos);
  CHECK(cmdline.find("secret") == std::string::npos);
  const std::string environ_text =
      ReadFileBytes("/proc/" + std::to_string(pid) + "/environ").value();
  CHECK(environ_text.find("CLOUDIFY_AGENT_REST_TOKEN=ctok-token-secret") != std::string::npos);
  CHECK(environ_text.find("GREETING=it's here") != std::string::npos);

  // Installed again (a retried create): the first agent is stopped, one runs.
  auto again = InstallRemoteAgent(spec, settings, programs / "cloudify-agent");
  REQUIRE_MESSAGE(again.ok(), again.status().ToString());
  CHECK(EventuallyStopped(pid));
  const pid_t second = std::stoi(ReadFileBytes(dir / "agent.pid").value());
  CHECK(second != pid);
  CHECK(Running(second));
  CHECK(EndedRemoteAgentLog(spec.ssh, installed->agent_dir).value().empty());

  REQUIRE(UninstallRemoteAgent(spec.ssh, installed->agent_dir).ok());
  CHECK(EventuallyStopped(second));
  CHECK_FALSE(fs::exists(dir));
  CHECK(fs::exists(tmp.path() / "home"));
  // Nothing left to stop: uninstalling again is fine.
  CHECK(UninstallRemoteAgent(spec.ssh, installed->agent_dir).ok());
}

TEST_CASE("InstallRemoteAgent: an agent that ends at once shows its log, bad settings stop early") {
  auto sshd = testing::TestSshd::Start();
  if (!testing::HaveSshd(sshd)) {
    return;
  }
  testing::TempDir tmp;
  std::ofstream(tmp.path() / "cloudify-agent") << "#!/bin/sh\necho cannot reach the broker\n";
  RemoteAgentSpec spec;
  spec.ssh = TargetOf(**sshd);
  spec.name = "vm_dead";
  spec.basedir = (tmp.path() / "home").string();
  RemoteAgentSettings settings;
  auto installed = InstallRemoteAgent(spec, settings, tmp.path() / "cloudify-agent");
  REQUIRE_MESSAGE(installed.ok(), installed.status().ToString());
  std::string log;
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(15);
  while (log.empty() && std::chrono::steady_clock::now() < deadline) {
    log = EndedRemoteAgentLog(spec.ssh, installed->agent_dir).value();
  }
  CHECK_MESSAGE(log.find("cannot reach the broker") != std::string::npos, log);

  for (const char* name : {"..", "a/b", "", "vm 1"}) {
    RemoteAgentSpec bad_name = spec;
    bad_name.name = name;
    CHECK(InstallRemoteAgent(bad_name, settings, tmp.path() / "cloudify-agent").status().code() ==
          ErrorCode::kBadParameters);
  }
  spec.env = {{"NOT A NAME", "x"}};
  auto bad_env = InstallRemoteAgent(spec, settings, tmp.path() / "cloudify-agent");
  CHECK(bad_env.status().code() == ErrorCode::kBadParameters);
  spec.env = json::object();
  CHECK(InstallRemoteAgent(spec, settings, tmp.path() / "missing").status().code() ==
        ErrorCode::kNotFound);
  spec.ssh.key = (*sshd)->unknown_key().string();
  spec.name = "vm_refused";
  auto refused = InstallRemoteAgent(spec, settings, tmp.path() / "cloudify-agent");
  CHECK(refused.status().code() == ErrorCode::kUnauthorized);
  CHECK_FALSE(fs::exists(tmp.path() / "home" / "vm_refused"));
}

}  // namespace
}  // namespace cloudify::workflow
