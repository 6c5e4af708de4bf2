#include "cloudify/workflow/ctx_proxy.h"

#include <atomic>
#include <cerrno>
#include <cstring>
#include <mutex>
#include <thread>

#include <fcntl.h>
#include <poll.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include "cloudify/crypto.h"

namespace cloudify::workflow {
namespace {

using nlohmann::json;

json ErrorAnswer(std::string_view type, std::string message) {
  return {{"type", "error"},
          {"payload",
           {{"type", std::string(type)}, {"message", std::move(message)}, {"traceback", ""}}}};
}

void CloseFd(int& fd) {
  if (fd >= 0) {
    close(fd);
    fd = -1;
  }
}

}  // namespace

class CtxProxy::Impl {
 public:
  Impl(CtxRequestHandler handler, CtxProxyOptions options)
      : handler_(std::move(handler)), options_(options) {}

  ~Impl() { Close(); }

  Status Listen(const std::filesystem::path& dir) {
    CLOUDIFY_ASSIGN_OR_RETURN(token_, RandomHexToken(32));
    path_ = (dir / "ctx.sock").string();
    sockaddr_un addr{};
    addr.sun_family = AF_UNIX;
    if (path_.size() >= sizeof addr.sun_path) {
      return BadParametersError("the ctx socket path " + path_ + " is longer than " +
                                std::to_string(sizeof addr.sun_path - 1) +
                                " bytes; use a shorter work dir");
    }
    std::memcpy(addr.sun_path, path_.data(), path_.size());
    listen_fd_ = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (listen_fd_ < 0) {
      return InternalError(std::string("ctx proxy: socket: ") + std::strerror(errno));
    }
    unlink(path_.c_str());
    if (bind(listen_fd_, reinterpret_cast<const sockaddr*>(&addr), sizeof addr) != 0) {
      return InternalError("ctx proxy: bind " + path_ + ": " + std::strerror(errno));
    }
    bound_ = true;
    if (chmod(path_.c_str(), 0600) != 0 || listen(listen_fd_, 64) != 0) {
      return InternalError("ctx proxy: listen " + path_ + ": " + std::strerror(errno));
    }
    int wake[2];
    if (pipe2(wake, O_CLOEXEC | O_NONBLOCK) != 0) {
      return InternalError(std::string("ctx proxy: pipe: ") + std::strerror(errno));
    }
    wake_read_ = wake[0];
    wake_write_ = wake[1];
    url_ = "unix://" + path_;
    thread_ = std::thread([this] { Serve(); });
    return Status::Ok();
  }

  void Close() {
    std::lock_guard lock(close_mu_);
    if (thread_.joinable()) {
      stopping_.store(true);
      char byte = 1;
      ssize_t ignored = write(wake_write_, &byte, 1);
      (void)ignored;
      thread_.join();
    }
    if (bound_) {
      unlink(path_.c_str());
      bound_ = false;
    }
    CloseFd(listen_fd_);
    CloseFd(wake_read_);
    CloseFd(wake_write_);
  }

  const std::string& url() const { return url_; }
  const std::string& token() const { return token_; }
  int64_t served() const { return served_.load(); }

 private:
  void Serve() {
    while (!stopping_.load()) {
      pollfd fds[2] = {{listen_fd_, POLLIN, 0}, {wake_read_, POLLIN, 0}};
      int n = poll(fds, 2, -1);
      if (n < 0) {
        if (errno == EINTR) {
          continue;
        }
        return;
      }
      if ((fds[1].revents & POLLIN) != 0 || stopping_.load()) {
        return;
      }
      if ((fds[0].revents & POLLIN) == 0) {
        continue;
      }
      int client = accept4(listen_fd_, nullptr, nullptr, SOCK_CLOEXEC | SOCK_NONBLOCK);
      if (client < 0) {
        continue;
      }
      HandleConnection(client);
      close(client);
    }
  }

  // Waits for `fd` to be ready for `events`; false on the deadline or when the proxy stops.
  bool WaitFor(int fd, short events, std::chrono::steady_clock::time_point deadline) {
    for (;;) {
      auto left = std::chrono::duration_cast<std::chrono::milliseconds>(
          deadline - std::chrono::steady_clock::now());
      if (left.count() <= 0) {
        return false;
      }
      pollfd fds[2] = {{fd, events, 0}, {wake_read_, POLLIN, 0}};
      int n = poll(fds, 2, static_cast<int>(left.count()));
      if (n < 0 && errno == EINTR) {
        continue;
      }
      if (n <= 0 || (fds[1].revents & POLLIN) != 0) {
        return false;
      }
      return true;
    }
  }

  void HandleConnection(int fd) {
    const auto deadline = std::chrono::steady_clock::now() + options_.request_timeout;
    std::string request;
    char buffer[16 * 1024];
    json answer;
    for (;;) {
      if (!WaitFor(fd, POLLIN, deadline)) {
        if (stopping_.load()) {
          return;
        }
        answer = ErrorAnswer("TimeoutError", "the ctx request was not received in time");
        break;
      }
      ssize_t n = recv(fd, buffer, sizeof buffer, 0);
      if (n < 0 && (errno == EINTR || errno == EAGAIN)) {
        continue;
      }
      if (n < 0) {
        return;
      }
      if (n == 0) {
        answer = Answer(request);
        break;
      }
      request.append(buffer, static_cast<size_t>(n));
      if (request.size() > options_.max_request_bytes) {
        answer = ErrorAnswer("RequestTooLarge", "the ctx request is larger than " +
                                                    std::to_string(options_.max_request_bytes) +
                                                    " bytes");
        break;
      }
    }
    ++served_;
    const std::string out = answer.dump(-1, ' ', true, json::error_handler_t::replace);
    size_t sent = 0;
    const auto write_deadline = std::chrono::steady_clock::now() + options_.request_timeout;
    while (sent < out.size()) {
      if (!WaitFor(fd, POLLOUT, write_deadline)) {
        return;
      }
      ssize_t n = send(fd, out.data() + sent, out.size() - sent, MSG_NOSIGNAL);
      if (n < 0 && (errno == EINTR || errno == EAGAIN)) {
        continue;
      }
      if (n < 0) {
        return;
      }
      sent += static_cast<size_t>(n);
    }
  }

  json Answer(const std::string& request) {
    json parsed = json::parse(request, nullptr, /*allow_exceptions=*/false);
    if (parsed.is_discarded() || !parsed.is_object()) {
      return ErrorAnswer("ValueError", "the ctx request is not a JSON object");
    }
    auto token = parsed.find("token");
    if (token == parsed.end() || !token->is_string() ||
        !ConstantTimeEquals(token->get_ref<const std::string&>(), token_)) {
      return ErrorAnswer("Unauthorized", "the ctx request's token is missing or wrong");
    }
    auto args = parsed.find("args");
    if (args == parsed.end() || !args->is_array()) {
      return ErrorAnswer("ValueError", "the ctx request has no 'args' list");
    }
    try {
      return handler_(*args);
    } catch (const std::exception& e) {
      // A handler bug must not take the manager down: it is the request's error.
      return ErrorAnswer("RuntimeError", e.what());
    }
  }

  CtxRequestHandler handler_;
  const CtxProxyOptions options_;
  std::string path_, url_, token_;
  int listen_fd_ = -1;
  int wake_read_ = -1;
  int wake_write_ = -1;
  bool bound_ = false;
  std::atomic<bool> stopping_{false};
  std::atomic<int64_t> served_{0};
  std::mutex close_mu_;
  std::thread thread_;
};

CtxProxy::CtxProxy(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}
CtxProxy::~CtxProxy() = default;

Result<std::unique_ptr<CtxProxy>> CtxProxy::Start(const std::filesystem::path& dir,
                                                  CtxRequestHandler handler,
                                                  CtxProxyOptions options) {
  auto impl = std::make_unique<Impl>(std::move(handler), options);
  CLOUDIFY_RETURN_IF_ERROR(impl->Listen(dir));
  return std::unique_ptr<CtxProxy>(new CtxProxy(std::move(impl)));
}

const std::string& CtxProxy::url() const { return impl_->url(); }
const std::string& CtxProxy::token() const { return impl_->token(); }
int64_t CtxProxy::requests_served() const { return impl_->served(); }
void CtxProxy::Close() { impl_->Close(); }

}  // namespace cloudify::workflow
