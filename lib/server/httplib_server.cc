// The only translation unit that includes <httplib.h>.
#include <filesystem>
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
  if (in.is_multipart_form_data()) {
    // httplib parsed the parts; the REST layer never sees the raw multipart body.
    for (const auto& [name, part] : in.files) {
      out.form.push_back({.name = part.name,
                          .filename = part.filename,
                          .content_type = part.content_type,
                          .content = part.content});
    }
  } else {
    out.body = in.body;
  }
  out.client_address = in.remote_addr;
  return out;
}

void Respond(rest::HttpResponse out, httplib::Response& res) {
  res.status = out.status;
  for (const auto& [key, value] : out.headers) {
    res.set_header(key, value);
  }
  if (out.stream) {
    // Server-Sent Events: httplib pulls chunks on this connection's thread until the provider
    // says the body is complete or the client goes away.
    res.set_chunked_content_provider(
        out.content_type, [stream = std::move(out.stream)](size_t, httplib::DataSink& sink) {
          rest::ChunkSink write = [&sink](std::string_view chunk) {
            return sink.is_writable() && sink.write(chunk.data(), chunk.size());
          };
          if (!stream(write)) {
            sink.done();
          }
          return true;
        });
    return;
  }
  res.set_content(std::move(out.body), out.content_type);
}

}  // namespace

class HttpServer::Impl {
 public:
  Impl(const ServerOptions& options, const rest::Router& router) : router_(router) {
    if (!options.tls_cert.empty()) {
      server_ =
          std::make_unique<httplib::SSLServer>(options.tls_cert.c_str(), options.tls_key.c_str());
    } else {
      server_ = std::make_unique<httplib::Server>();
    }
    httplib::Server& server = *server_;
    server.set_tcp_nodelay(true);  // without it every response waits ~40 ms for Nagle
    // httplib's default adds SO_REUSEPORT, which would let a second manager share the port
    // silently; SO_REUSEADDR alone still allows a quick restart over TIME_WAIT sockets.
    server.set_socket_options([](socket_t sock) {
      int yes = 1;
      setsockopt(sock, SOL_SOCKET, SO_REUSEADDR, &yes, sizeof yes);
    });
    server.set_payload_max_length(options.max_body_bytes);
    // httplib closes a keep-alive connection after 5 requests by default, which makes busy
    // clients reconnect all the time; idle ones still go after the keep-alive timeout.
    server.set_keep_alive_max_count(100000);
    const int threads = options.threads;
    server.new_task_queue = [threads] { return new httplib::ThreadPool(threads); };
    auto handler = [this](const httplib::Request& req, httplib::Response& res) {
      Respond(router_.Handle(ToRestRequest(req)), res);
    };
    const std::string any = ".*";
    server.Get(any, handler);
    server.Post(any, handler);
    server.Put(any, handler);
    server.Patch(any, handler);
    server.Delete(any, handler);
    server.Options(any, handler);
    server.set_error_handler([](const httplib::Request&, httplib::Response& res) {
      if (res.status == 413) {
        rest::HttpResponse out = rest::ErrorResponse(
            Status(ErrorCode::kPayloadTooLarge, "Request body exceeds the configured limit"));
        res.set_content(out.body, out.content_type);
      }
    });
  }

  Status Listen(const ServerOptions& options) {
    if (!server_->is_valid()) {
      return BadParametersError("cannot load the TLS certificate " + options.tls_cert + " or key " +
                                options.tls_key);
    }
    if (options.port == 0) {
      port_ = server_->bind_to_any_port(options.host);
    } else if (server_->bind_to_port(options.host, options.port)) {
      port_ = options.port;
    }
    if (port_ <= 0) {
      return Status(ErrorCode::kUnavailable,
                    "cannot listen on " + options.host + ":" + std::to_string(options.port));
    }
    thread_ = std::thread([this] { server_->listen_after_bind(); });
    // This httplib has no wait_until_ready(); listen_after_bind flips is_running() quickly.
    while (!server_->is_running()) {
      std::this_thread::yield();
    }
    return Status::Ok();
  }

  void Stop() {
    if (thread_.joinable()) {
      server_->stop();
      thread_.join();
    }
  }

  int port() const { return port_; }

 private:
  const rest::Router& router_;
  std::unique_ptr<httplib::Server> server_;
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
