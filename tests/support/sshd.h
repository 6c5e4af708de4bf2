// TestSshd: an OpenSSH server of the test's own on 127.0.0.1 and a free port, with a host key
// and a client key made by ssh-keygen in a temp dir and the client key authorized for the user
// running the test (the system's sshd, running or not, plays no part). Stopped (SIGTERM, then
// reaped) when the object goes away.
//
//   auto sshd = testing::TestSshd::Start();
//   if (!testing::HaveSshd(sshd)) return;  // fails under CLOUDIFY_REQUIRE_SERVERS=1
#pragma once

#include <chrono>
#include <filesystem>
#include <fstream>
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include <arpa/inet.h>
#include <doctest/doctest.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <pwd.h>
#include <signal.h>
#include <spawn.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "cloudify/files.h"
#include "cloudify/process.h"
#include "cloudify/status.h"

#include "support/env.h"
#include "support/temp_dir.h"

namespace cloudify::testing {

// A TCP port on 127.0.0.1 that nothing listens on right now.
inline int FreeLoopbackPort() {
  const int fd = socket(AF_INET, SOCK_STREAM, 0);
  if (fd < 0) {
    return 0;
  }
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  addr.sin_port = 0;
  socklen_t len = sizeof addr;
  int port = 0;
  if (bind(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr) == 0 &&
      getsockname(fd, reinterpret_cast<sockaddr*>(&addr), &len) == 0) {
    port = ntohs(addr.sin_port);
  }
  close(fd);
  return port;
}

inline bool AcceptsConnections(int port) {
  const int fd = socket(AF_INET, SOCK_STREAM, 0);
  if (fd < 0) {
    return false;
  }
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  addr.sin_port = htons(static_cast<uint16_t>(port));
  const bool ok = connect(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr) == 0;
  close(fd);
  return ok;
}

inline std::string CurrentUser() {
  const passwd* pw = getpwuid(getuid());  // NOLINT(concurrency-mt-unsafe): tests, one thread
  return pw != nullptr ? pw->pw_name : "";
}

class TestSshd {
 public:
  // The server, or why it could not be started.
  // `extra_config`: more sshd_config lines (e.g. "SetEnv PATH=...").
  static Result<std::unique_ptr<TestSshd>> Start(
      const std::vector<std::string>& extra_config = {}) {
    auto sshd = std::unique_ptr<TestSshd>(new TestSshd());
    const std::filesystem::path program = "/usr/sbin/sshd";
    std::error_code ec;
    if (!std::filesystem::exists(program, ec)) {
      return NotFoundError(program.string() + " is not installed (Debian: openssh-server)");
    }
    sshd->user_ = CurrentUser();
    if (sshd->user_.empty()) {
      return InternalError("the current user has no name");
    }
    const auto& dir = sshd->dir_.path();
    for (const char* key : {"host_key", "client_key", "other_key"}) {
      auto made = RunProcess(
          {.argv = {"ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-f", (dir / key).string()}});
      if (!made.ok() || !made->succeeded()) {
        return InternalError(std::string("ssh-keygen could not make ") + key);
      }
    }
    auto pub = ReadFileBytes(dir / "client_key.pub");
    if (!pub.ok()) {
      return pub.status();
    }
    std::ofstream(dir / "authorized_keys") << *pub;
    // Privilege separation wants its empty folder; a root test run makes it.
    if (geteuid() == 0) {
      std::filesystem::create_directories("/run/sshd", ec);
    }
    sshd->port_ = FreeLoopbackPort();
    std::ofstream(dir / "sshd_config")
        << "ListenAddress 127.0.0.1\n"
        << "HostKey " << (dir / "host_key").string() << "\n"
        << "AuthorizedKeysFile " << (dir / "authorized_keys").string() << "\n"
        << "StrictModes no\n"
        << "UsePAM no\n"
        << "PasswordAuthentication no\n"
        << "KbdInteractiveAuthentication no\n"
        << "PermitRootLogin prohibit-password\n"
        << "PidFile none\n"
        << "Subsystem sftp internal-sftp\n";
    {
      std::ofstream config(dir / "sshd_config", std::ios::app);
      for (const std::string& line : extra_config) {
        config << line << "\n";
      }
    }
    const std::string log = (dir / "sshd.log").string();
    std::vector<std::string> args = {
        program.string(),           "-D", "-e", "-f", (dir / "sshd_config").string(), "-p",
        std::to_string(sshd->port_)};
    std::vector<char*> argv;
    for (auto& a : args) {
      argv.push_back(a.data());
    }
    argv.push_back(nullptr);
    posix_spawn_file_actions_t actions;
    posix_spawn_file_actions_init(&actions);
    posix_spawn_file_actions_addopen(&actions, 1, log.c_str(), O_WRONLY | O_CREAT | O_APPEND, 0600);
    posix_spawn_file_actions_adddup2(&actions, 1, 2);
    const int spawned = posix_spawn(&sshd->pid_, argv[0], &actions, nullptr, argv.data(), environ);
    posix_spawn_file_actions_destroy(&actions);
    if (spawned != 0) {
      sshd->pid_ = 0;
      return InternalError("cannot run " + program.string());
    }
    const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(10);
    while (!AcceptsConnections(sshd->port_)) {
      int status = 0;
      if (waitpid(sshd->pid_, &status, WNOHANG) == sshd->pid_) {
        sshd->pid_ = 0;
        return InternalError("sshd exited: " + sshd->Log());
      }
      if (std::chrono::steady_clock::now() > deadline) {
        return InternalError("sshd did not listen within 10 s: " + sshd->Log());
      }
      std::this_thread::sleep_for(std::chrono::milliseconds(20));
    }
    return sshd;
  }

  ~TestSshd() {
    if (pid_ > 0) {
      kill(pid_, SIGTERM);
      int status = 0;
      waitpid(pid_, &status, 0);
    }
  }
  TestSshd(const TestSshd&) = delete;
  TestSshd& operator=(const TestSshd&) = delete;

  int port() const { return port_; }
  const std::string& user() const { return user_; }
  // The authorized client key, and one the server does not know.
  std::filesystem::path client_key() const { return dir_.path() / "client_key"; }
  std::filesystem::path unknown_key() const { return dir_.path() / "other_key"; }
  // The server's own log (its -e output), for failure messages.
  std::string Log() const {
    auto text = ReadFileBytes(dir_.path() / "sshd.log");
    return text.ok() ? *text : "(no log)";
  }

 private:
  TestSshd() = default;
  TempDir dir_;
  pid_t pid_ = 0;
  int port_ = 0;
  std::string user_;
};

// True when `sshd` started. When it did not, the calling test returns early with the reason,
// or, under CLOUDIFY_REQUIRE_SERVERS=1, fails.
inline bool HaveSshd(const Result<std::unique_ptr<TestSshd>>& sshd) {
  if (sshd.ok()) {
    return true;
  }
  if (!EnvOr("CLOUDIFY_REQUIRE_SERVERS").empty()) {
    FAIL("cannot start a test sshd but CLOUDIFY_REQUIRE_SERVERS is set: "
         << sshd.status().ToString());
  }
  MESSAGE("cannot start a test sshd, nothing to test against: " << sshd.status().ToString());
  return false;
}

// A started test sshd when CLOUDIFY_TEST_AMQP_URL is set too (the remote-install tests need
// both), else null: the calling test returns early, or fails as HaveServer and HaveSshd say.
inline std::unique_ptr<TestSshd> SshdWithBroker(const std::vector<std::string>& extra_config = {}) {
  if (!HaveServer(AmqpTestUrl(), "CLOUDIFY_TEST_AMQP_URL")) {
    return nullptr;
  }
  auto sshd = TestSshd::Start(extra_config);
  if (!HaveSshd(sshd)) {
    return nullptr;
  }
  return std::move(*sshd);
}

// The permission bits of `path`, or -1.
inline int ModeOf(const std::filesystem::path& path) {
  struct stat st {};
  return stat(path.c_str(), &st) == 0 ? static_cast<int>(st.st_mode & 0777) : -1;
}

// Alive and not a zombie (an agent's parent, once its SSH session ended, may not reap it).
inline bool Running(pid_t pid) {
  if (pid <= 0 || kill(pid, 0) != 0) {
    return false;
  }
  auto status = ReadFileBytes("/proc/" + std::to_string(pid) + "/status");
  return !status.ok() || status->find("State:\tZ") == std::string::npos;
}

inline bool EventuallyStopped(pid_t pid, std::chrono::seconds timeout = std::chrono::seconds(20)) {
  const auto deadline = std::chrono::steady_clock::now() + timeout;
  while (Running(pid)) {
    if (std::chrono::steady_clock::now() > deadline) {
      return false;
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }
  return true;
}

}  // namespace cloudify::testing
