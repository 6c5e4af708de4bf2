// SshSession: one SSH connection to a host, as the `remote` agent installer needs it: run a
// shell command and collect its output and exit status, and copy a file or some bytes to a path
// on the host over SFTP. libssh stays inside ssh.cc.
//
// Errors: Connect returns kUnavailable when the host cannot be reached (refused, timed out, no
// route: a retry may help) and kUnauthorized when it refuses the credentials or the key cannot
// be read; every message names user@host:port and libssh's own words. Neither a password nor a
// key's text is ever part of a message.
//
// Thread-safety: one session is used by one thread at a time; sessions are independent.
#pragma once

#include <chrono>
#include <filesystem>
#include <memory>
#include <string>
#include <string_view>

#include "cloudify/status.h"

namespace cloudify::workflow {

struct SshTarget {
  std::string host;
  int port = 22;
  std::string user;
  // A private key: its text (PEM or OpenSSH format) or the path of its file on this machine
  // ("~/" is the home folder). Tried before the password when both are given.
  std::string key;
  std::string password;
  // How long connecting, and each command or file copy, may take. Default: 60 s.
  std::chrono::milliseconds timeout = std::chrono::seconds(60);

  // "user@host:port", for messages.
  std::string Describe() const;
};

struct SshCommandResult {
  int exit_status = -1;
  std::string out;
  std::string err;
};

class SshSession {
 public:
  // Connects and authenticates (key, then password).
  static Result<std::unique_ptr<SshSession>> Connect(const SshTarget& target);
  ~SshSession();
  SshSession(const SshSession&) = delete;
  SshSession& operator=(const SshSession&) = delete;

  // Runs `command` through the user's shell on the host, `input` on its stdin. A non-zero exit
  // is a result; a broken connection or the timeout is kUnavailable.
  Result<SshCommandResult> Run(const std::string& command, std::string_view input = {});
  // Run, and kInternal naming the command's purpose and its stderr unless it exits 0; its
  // stdout otherwise.
  Result<std::string> Check(const std::string& command, std::string_view what);
  // Writes `content` to `remote_path` with permissions `mode` (the file is created with them:
  // a secret is never readable by others, not even for a moment).
  Status WriteFile(const std::string& remote_path, std::string_view content, int mode);
  // Copies the local file `local` to `remote_path` with permissions `mode`.
  Status CopyFile(const std::filesystem::path& local, const std::string& remote_path, int mode);

  const SshTarget& target() const;

 private:
  struct Impl;
  explicit SshSession(std::unique_ptr<Impl> impl);
  std::unique_ptr<Impl> impl_;
};

}  // namespace cloudify::workflow
