// The only translation unit that includes <httplib.h>.
#include <thread>

#include <httplib.h>

#include "cloudify/server/server.h"

namespace cloudify::server {
namespace {

rest::HttpRequest ToRestRequest(const httplib::Request& in) {
  rest::HttpRequest out;
  out.method = in.method;
  out.path = in.path;
  for (const auto& [key, value] : in.params) {
    out.query.emplace_back(key, value);
  }
  for (const auto& [key, value] : in.headers) {
    std::string lower;
    for (char c : key) {
      lower += (c >= 'A' && c <= 'Z') ? static_cast<char>(c - 'A' + 'a') : c;
    }
    out.headers.emplace(std::move(lower), value);
  }
  out.body = in.body;
  return out;
}

}  // namespace

class HttpServer::Impl {
 public:
  Impl(const ServerOptions& options, const rest::Router& router) : router_(router) {
    server_.set_tcp_nodelay(true);  // without it every response waits ~40 ms for Nagle
    // httplib's default adds SO_REUSEPORT, which would let a second manager share the port
    // silently; SO_REUSEADDR alone still allows a quick restart over TIME_WAIT sockets.
    server_.set_socket_options([](socket_t sock) {
      int yes = 1;
      setsockopt(sock, SOL_SOCKET, SO_REUSEADDR, &yes, sizeof yes);
    });
    server_.set_payload_max_length(options.max_body_bytes);
    const int threads = options.threads;
    server_.new_task_queue = [threads] { return new httplib::ThreadPool(threads); };
    auto handler = [this](const httplib::Request& req, httplib::Response& res) {
      rest::HttpResponse out = router_.Handle(ToRestRequest(req));
      res.status = out.status;
      for (const auto& [key, value] : out.headers) {
        res.set_header(key, value);
      }
      res.set_content(std::move(out.body), out.content_type);
    };
    const std::string any = ".*";
    server_.Get(any, handler);
    server_.Post(any, handler);
    server_.Put(any, handler);
    server_.Patch(any, handler);
    server_.Delete(any, handler);
    server_.Options(any, handler);
    server_.set_error_handler([](const httplib::Request&, httplib::Response& res) {
      if (res.status == 413) {
        rest::HttpResponse out = rest::ErrorResponse(
            Status(ErrorCode::kPayloadTooLarge, "Request body exceeds the configured limit"));
        res.set_content(out.body, out.content_type);
      }
    });
  }

  Status Listen(const ServerOptions& options) {
    if (options.port == 0) {
      port_ = server_.bind_to_any_port(options.host);
    } else if (server_.bind_to_port(options.host, options.port)) {
      port_ = options.port;
    }
    if (port_ <= 0) {
      return Status(ErrorCode::kUnavailable,
                    "cannot listen on " + options.host + ":" + std::to_string(options.port));
    }
    thread_ = std::thread([this] { server_.listen_after_bind(); });
    // This httplib has no wait_until_ready(); listen_after_bind flips is_running() quickly.
    while (!server_.is_running()) {
      std::this_thread::yield();
    }
    return Status::Ok();
  }

  void Stop() {
    if (thread_.joinable()) {
      server_.stop();
      thread_.join();
    }
  }

  int port() const { return port_; }

 private:
  const rest::Router& router_;
  httplib::Server server_;
  std::thread thread_;
  int port_ = -1;
};

HttpServer::HttpServer(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}
HttpServer::~HttpServer() { Stop(); }

Result<std::unique_ptr<HttpServer>> HttpServer::Start(const ServerOptions& options,
                                                      const rest::Router& router) {
  auto impl = std::make_unique<Impl>(options, router);
  CLOUDIFY_RETURN_IF_ERROR(impl->Listen(options));
  return std::unique_ptr<HttpServer>(new HttpServer(std::move(impl)));
}

int HttpServer::port() const { return impl_->port(); }
void HttpServer::Stop() { impl_->Stop(); }

}  // namespace cloudify::server
