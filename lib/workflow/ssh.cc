// SshSession on libssh: the only place <libssh/...> appears.
#include "workflow/ssh.h"

#include <algorithm>
#include <cstdlib>
#include <mutex>
#include <vector>

#include <fcntl.h>
#include <libssh/libssh.h>
#include <libssh/sftp.h>

#include "cloudify/files.h"

namespace cloudify::workflow {
namespace {

struct SessionDeleter {
  void operator()(ssh_session s) const {
    if (ssh_is_connected(s) != 0) {
      ssh_disconnect(s);
    }
    ssh_free(s);
  }
};
struct KeyDeleter {
  void operator()(ssh_key k) const { ssh_key_free(k); }
};
struct ChannelDeleter {
  void operator()(ssh_channel c) const {
    ssh_channel_close(c);
    ssh_channel_free(c);
  }
};
struct SftpDeleter {
  void operator()(sftp_session s) const { sftp_free(s); }
};
struct SftpFileDeleter {
  void operator()(sftp_file f) const { sftp_close(f); }
};
using SessionPtr = std::unique_ptr<ssh_session_struct, SessionDeleter>;
using KeyPtr = std::unique_ptr<ssh_key_struct, KeyDeleter>;
using ChannelPtr = std::unique_ptr<ssh_channel_struct, ChannelDeleter>;
using SftpPtr = std::unique_ptr<sftp_session_struct, SftpDeleter>;
using SftpFilePtr = std::unique_ptr<sftp_file_struct, SftpFileDeleter>;

std::string ErrorOf(ssh_session session) {
  const char* error = ssh_get_error(session);
  return error != nullptr && error[0] != '\0' ? error : "unknown libssh error";
}

// A key given as text, else the path of its file.
bool IsKeyText(const std::string& key) { return key.find("-----BEGIN") != std::string::npos; }

std::string ExpandHome(const std::string& path) {
  if (path.rfind("~/", 0) == 0) {
    const char* home = std::getenv("HOME");  // NOLINT(concurrency-mt-unsafe): read-only use
    if (home != nullptr) {
      return std::string(home) + path.substr(1);
    }
  }
  return path;
}

}  // namespace

std::string SshTarget::Describe() const { return user + "@" + host + ":" + std::to_string(port); }

struct SshSession::Impl {
  SshTarget target;
  SessionPtr session;

  Status Error(ErrorCode code, std::string_view what) const {
    return Status(
        code, std::string(what) + " (SSH to " + target.Describe() + "): " + ErrorOf(session.get()));
  }
  int TimeoutMs() const { return static_cast<int>(std::max<int64_t>(1, target.timeout.count())); }
};

SshSession::SshSession(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}
SshSession::~SshSession() = default;

const SshTarget& SshSession::target() const { return impl_->target; }

Result<std::unique_ptr<SshSession>> SshSession::Connect(const SshTarget& target) {
  static std::once_flag init;
  std::call_once(init, [] { ssh_init(); });
  if (target.host.empty() || target.user.empty()) {
    return BadParametersError("SSH to " + target.Describe() + ": a host and a user are needed");
  }
  if (target.key.empty() && target.password.empty()) {
    return BadParametersError("SSH to " + target.Describe() + ": neither a key nor a password");
  }
  auto impl = std::make_unique<Impl>();
  impl->target = target;
  impl->session.reset(ssh_new());
  if (!impl->session) {
    return InternalError("SSH to " + target.Describe() + ": cannot allocate a session");
  }
  ssh_session s = impl->session.get();
  const int port = target.port;
  const long timeout_s = std::max<long>(1, static_cast<long>(target.timeout.count() / 1000));
  // Only what is given here counts: no ~/.ssh/config of the manager's user, no agent.
  const bool process_config = false;
  if (ssh_options_set(s, SSH_OPTIONS_HOST, target.host.c_str()) != SSH_OK ||
      ssh_options_set(s, SSH_OPTIONS_PORT, &port) != SSH_OK ||
      ssh_options_set(s, SSH_OPTIONS_USER, target.user.c_str()) != SSH_OK ||
      ssh_options_set(s, SSH_OPTIONS_TIMEOUT, &timeout_s) != SSH_OK ||
      ssh_options_set(s, SSH_OPTIONS_PROCESS_CONFIG, &process_config) != SSH_OK) {
    return impl->Error(ErrorCode::kBadParameters, "setting connection options");
  }
  if (ssh_connect(s) != SSH_OK) {
    return impl->Error(ErrorCode::kUnavailable, "connecting");
  }
  // The host key is not checked against a known_hosts file: the hosts are machines the same
  // workflow has just created, whose keys nobody could have recorded yet (the original's
  // installer does not check them either). The connection is still encrypted.
  std::string refused;
  if (!target.key.empty()) {
    ssh_key raw = nullptr;
    const int imported =
        IsKeyText(target.key)
            ? ssh_pki_import_privkey_base64(target.key.c_str(), nullptr, nullptr, nullptr, &raw)
            : ssh_pki_import_privkey_file(ExpandHome(target.key).c_str(), nullptr, nullptr, nullptr,
                                          &raw);
    KeyPtr key(raw);
    if (imported != SSH_OK) {
      // Never the key's text: only whether it was a file.
      return Status(ErrorCode::kUnauthorized,
                    "reading the private key " +
                        (IsKeyText(target.key) ? std::string("given as text")
                                               : "file " + ExpandHome(target.key)) +
                        " (SSH to " + target.Describe() +
                        "): not a private key libssh can use (or it needs a passphrase)");
    }
    const int auth = ssh_userauth_publickey(s, nullptr, key.get());
    if (auth == SSH_AUTH_SUCCESS) {
      return std::unique_ptr<SshSession>(new SshSession(std::move(impl)));
    }
    if (auth == SSH_AUTH_ERROR) {
      return impl->Error(ErrorCode::kUnavailable, "authenticating with the key");
    }
    refused = "the key was refused";
  }
  if (!target.password.empty()) {
    const int auth = ssh_userauth_password(s, nullptr, target.password.c_str());
    if (auth == SSH_AUTH_SUCCESS) {
      return std::unique_ptr<SshSession>(new SshSession(std::move(impl)));
    }
    if (auth == SSH_AUTH_ERROR) {
      return impl->Error(ErrorCode::kUnavailable, "authenticating with the password");
    }
    refused += refused.empty() ? "the password was refused" : ", then the password";
  }
  return Status(ErrorCode::kUnauthorized, "authentication failed (SSH to " + target.Describe() +
                                              "): " + refused + ": " + ErrorOf(s));
}

Result<SshCommandResult> SshSession::Run(const std::string& command, std::string_view input) {
  ssh_session s = impl_->session.get();
  ChannelPtr channel(ssh_channel_new(s));
  if (!channel) {
    return impl_->Error(ErrorCode::kUnavailable, "opening a channel");
  }
  if (ssh_channel_open_session(channel.get()) != SSH_OK) {
    return impl_->Error(ErrorCode::kUnavailable, "opening a session channel");
  }
  if (ssh_channel_request_exec(channel.get(), command.c_str()) != SSH_OK) {
    return impl_->Error(ErrorCode::kUnavailable, "running a command");
  }
  size_t written = 0;
  while (written < input.size()) {
    const uint32_t chunk = static_cast<uint32_t>(std::min<size_t>(input.size() - written, 32768));
    const int n = ssh_channel_write(channel.get(), input.data() + written, chunk);
    if (n == SSH_ERROR) {
      return impl_->Error(ErrorCode::kUnavailable, "writing a command's input");
    }
    written += static_cast<size_t>(n);
  }
  ssh_channel_send_eof(channel.get());
  SshCommandResult result;
  const auto deadline = std::chrono::steady_clock::now() + impl_->target.timeout;
  char buffer[16384];
  // Both streams are drained as they come, so neither can fill its window and stall the other.
  for (;;) {
    bool got = false;
    for (int is_stderr : {0, 1}) {
      const int n = ssh_channel_read_timeout(channel.get(), buffer, sizeof buffer, is_stderr, 50);
      if (n == SSH_ERROR) {
        return impl_->Error(ErrorCode::kUnavailable, "reading a command's output");
      }
      if (n > 0) {
        (is_stderr != 0 ? result.err : result.out).append(buffer, static_cast<size_t>(n));
        got = true;
      }
    }
    if (!got && ssh_channel_is_eof(channel.get()) != 0) {
      break;
    }
    if (std::chrono::steady_clock::now() > deadline) {
      return Status(ErrorCode::kUnavailable, "the command did not end within " +
                                                 std::to_string(impl_->target.timeout.count()) +
                                                 " ms (SSH to " + impl_->target.Describe() + ")");
    }
  }
  result.exit_status = ssh_channel_get_exit_status(channel.get());
  return result;
}

Result<std::string> SshSession::Check(const std::string& command, std::string_view what) {
  CLOUDIFY_ASSIGN_OR_RETURN(SshCommandResult result, Run(command));
  if (result.exit_status != 0) {
    std::string err = result.err;
    while (!err.empty() && (err.back() == '\n' || err.back() == '\r')) {
      err.pop_back();
    }
    return InternalError(std::string(what) + " failed on " + impl_->target.Describe() +
                         " (exit status " + std::to_string(result.exit_status) + ")" +
                         (err.empty() ? "" : ": " + err));
  }
  return result.out;
}

Status SshSession::WriteFile(const std::string& remote_path, std::string_view content, int mode) {
  ssh_session s = impl_->session.get();
  SftpPtr sftp(sftp_new(s));
  if (!sftp) {
    return impl_->Error(ErrorCode::kUnavailable, "starting SFTP");
  }
  if (sftp_init(sftp.get()) != SSH_OK) {
    return impl_->Error(ErrorCode::kUnavailable, "starting SFTP");
  }
  const std::string what = "writing " + remote_path;
  // A file left by an earlier attempt would keep its old permissions: made anew.
  sftp_unlink(sftp.get(), remote_path.c_str());
  SftpFilePtr file(sftp_open(sftp.get(), remote_path.c_str(), O_WRONLY | O_CREAT | O_TRUNC, mode));
  if (!file) {
    return impl_->Error(ErrorCode::kInternal, what);
  }
  size_t written = 0;
  while (written < content.size()) {
    const size_t chunk = std::min<size_t>(content.size() - written, 32768);
    const ssize_t n = sftp_write(file.get(), content.data() + written, chunk);
    if (n < 0) {
      return impl_->Error(ErrorCode::kUnavailable, what);
    }
    written += static_cast<size_t>(n);
  }
  if (sftp_close(file.release()) != SSH_OK) {
    return impl_->Error(ErrorCode::kUnavailable, what);
  }
  // The server's umask may have taken bits off (an executable's x bits).
  if (sftp_chmod(sftp.get(), remote_path.c_str(), static_cast<mode_t>(mode)) != SSH_OK) {
    return impl_->Error(ErrorCode::kInternal, "setting the permissions of " + remote_path);
  }
  return Status::Ok();
}

Status SshSession::CopyFile(const std::filesystem::path& local, const std::string& remote_path,
                            int mode) {
  Result<std::string> content = ReadFileBytes(local);
  if (!content.ok()) {
    return content.status();
  }
  return WriteFile(remote_path, *content, mode);
}

}  // namespace cloudify::workflow
