// REST API throughput: GET /api/v3.1/node-instances/<id> on the embedded default (SQLite,
// in-process broker) with 64 keep-alive connections, and the same load against any other URL
// (nginx serving a static file of the same size, see rest_bench.sh).
//
//   rest_bench [--connections 64] [--seconds 10] [--target HOST:PORT/PATH]
//
// The load generator is one epoll thread writing pipelined-free HTTP/1.1 requests (one in
// flight per connection) and reading Content-Length framed responses; it reports requests/s,
// p50/p99 latency and the response size.
#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <sstream>
#include <string>
#include <vector>

#include <arpa/inet.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <unistd.h>

#include "cloudify/archive.h"
#include "cloudify/crypto.h"
#include "cloudify/manager.h"
#include "cloudify/server/server.h"

namespace {

using Clock = std::chrono::steady_clock;
namespace fs = std::filesystem;

struct Connection {
  int fd = -1;
  std::string in;
  Clock::time_point sent;
  long responses = 0;
};

struct LoadResult {
  double requests_per_second = 0;
  double p50_ms = 0;
  double p99_ms = 0;
  size_t body_bytes = 0;
  long errors = 0;
};

int Connect(const std::string& host, int port) {
  int fd = socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_port = htons(static_cast<uint16_t>(port));
  inet_pton(AF_INET, host.c_str(), &addr.sin_addr);
  if (connect(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr) != 0) {
    perror("connect");
    std::exit(1);
  }
  int yes = 1;
  setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &yes, sizeof yes);
  return fd;
}

// The length of a complete response at the front of `in` (0 when incomplete); `body` gets the
// body size and `status` the status code.
size_t CompleteResponse(const std::string& in, size_t& body, int& status) {
  size_t end = in.find("\r\n\r\n");
  if (end == std::string::npos) {
    return 0;
  }
  status = std::atoi(in.c_str() + 9);
  size_t length = 0;
  size_t pos = 0;
  std::string head = in.substr(0, end);
  std::transform(head.begin(), head.end(), head.begin(), ::tolower);
  if ((pos = head.find("content-length:")) != std::string::npos) {
    length = std::strtoul(head.c_str() + pos + 15, nullptr, 10);
  }
  if (in.size() < end + 4 + length) {
    return 0;
  }
  body = length;
  return end + 4 + length;
}

LoadResult RunLoad(const std::string& host, int port, const std::string& request, int connections,
                   std::chrono::seconds duration) {
  {
    // One request first, alone: the server verifies the credential once (PBKDF2) and caches
    // it, instead of 64 connections racing to verify it at once.
    int fd = Connect(host, port);
    if (write(fd, request.data(), request.size()) != static_cast<ssize_t>(request.size())) {
      perror("write");
      std::exit(1);
    }
    std::string in;
    char chunk[65536];
    size_t body = 0;
    int status = 0;
    while (CompleteResponse(in, body, status) == 0) {
      ssize_t got = read(fd, chunk, sizeof chunk);
      if (got <= 0) {
        std::cerr << "no answer to the first request\n";
        std::exit(1);
      }
      in.append(chunk, static_cast<size_t>(got));
    }
    close(fd);
    if (status != 200) {
      std::cerr << "the first request answered " << status << ": " << in << "\n";
      std::exit(1);
    }
  }
  int ep = epoll_create1(0);
  std::vector<Connection> conns(static_cast<size_t>(connections));
  for (size_t i = 0; i < conns.size(); ++i) {
    conns[i].fd = Connect(host, port);
    // httplib listens with a backlog of 5: connecting all at once would overflow it.
    usleep(2000);
    epoll_event ev{};
    ev.events = EPOLLIN;
    ev.data.u64 = i;
    epoll_ctl(ep, EPOLL_CTL_ADD, conns[i].fd, &ev);
  }
  std::vector<double> latencies;
  latencies.reserve(1 << 20);
  LoadResult result;
  auto send_one = [&](Connection& c) {
    c.sent = Clock::now();
    if (write(c.fd, request.data(), request.size()) != static_cast<ssize_t>(request.size())) {
      perror("write");
      std::exit(1);
    }
  };
  // Warm-up is the first second; it is not counted.
  const auto start = Clock::now();
  const auto measure_from = start + std::chrono::seconds(1);
  const auto end = measure_from + duration;
  for (auto& c : conns) {
    send_one(c);
  }
  long counted = 0;
  std::vector<epoll_event> events(static_cast<size_t>(connections));
  char buffer[65536];
  while (Clock::now() < end) {
    int n = epoll_wait(ep, events.data(), connections, 100);
    for (int i = 0; i < n; ++i) {
      Connection& c = conns[events[static_cast<size_t>(i)].data.u64];
      ssize_t got = read(c.fd, buffer, sizeof buffer);
      if (got <= 0) {
        std::cerr << "connection closed by the server (" << got << ", " << std::strerror(errno)
                  << ", after " << counted << " responses, " << c.responses
                  << " on this connection, "
                  << std::chrono::duration<double>(Clock::now() - start).count() << " s in)\n";
        std::exit(1);
      }
      c.in.append(buffer, static_cast<size_t>(got));
      size_t body = 0;
      int status = 0;
      size_t used = CompleteResponse(c.in, body, status);
      if (used == 0) {
        continue;
      }
      c.in.erase(0, used);
      ++c.responses;
      const auto now = Clock::now();
      if (now >= measure_from) {
        ++counted;
        latencies.push_back(std::chrono::duration<double, std::milli>(now - c.sent).count());
        result.body_bytes = body;
        if (status != 200) {
          ++result.errors;
        }
      }
      send_one(c);
    }
  }
  for (auto& c : conns) {
    close(c.fd);
  }
  close(ep);
  std::sort(latencies.begin(), latencies.end());
  result.requests_per_second = static_cast<double>(counted) / static_cast<double>(duration.count());
  if (!latencies.empty()) {
    result.p50_ms = latencies[latencies.size() / 2];
    result.p99_ms = latencies[latencies.size() * 99 / 100];
  }
  return result;
}

void Print(const std::string& what, const LoadResult& r) {
  std::printf("%-44s %10.0f req/s  p50 %6.2f ms  p99 %6.2f ms  body %zu B  errors %ld\n",
              what.c_str(), r.requests_per_second, r.p50_ms, r.p99_ms, r.body_bytes, r.errors);
}

constexpr const char* kBlueprint = R"(
tosca_definitions_version: cloudify_dsl_1_4
imports:
  - http://cloudify.co/spec/cloudify/6.4.0/types.yaml
node_templates:
  vm:
    type: cloudify.nodes.Root
)";

}  // namespace

int main(int argc, char** argv) {
  int connections = 64;
  int seconds = 10;
  std::string target;
  for (int i = 1; i + 1 < argc; i += 2) {
    std::string flag = argv[i];
    if (flag == "--connections") {
      connections = std::atoi(argv[i + 1]);
    } else if (flag == "--seconds") {
      seconds = std::atoi(argv[i + 1]);
    } else if (flag == "--target") {
      target = argv[i + 1];
    }
  }
  if (!target.empty()) {
    // HOST:PORT/PATH, no auth: the static-file comparison.
    size_t colon = target.find(':');
    size_t slash = target.find('/');
    std::string host = target.substr(0, colon);
    int port = std::atoi(target.substr(colon + 1, slash - colon - 1).c_str());
    std::string path = target.substr(slash);
    std::string request = "GET " + path + " HTTP/1.1\r\nHost: " + host + "\r\n\r\n";
    Print("GET " + path, RunLoad(host, port, request, connections, std::chrono::seconds(seconds)));
    return 0;
  }

  char pattern[] = "/tmp/cloudify-rest-bench-XXXXXX";
  fs::path dir = mkdtemp(pattern);
  cloudify::ManagerOptions options;
  options.data_dir = dir / "data";
  auto manager = cloudify::Manager::Open(options);
  if (!manager.ok()) {
    std::cerr << manager.status().ToString() << "\n";
    return 1;
  }
  auto caller = cloudify::storage::CallerContext::System();
  fs::create_directories(dir / "bp");
  std::ofstream(dir / "bp" / "blueprint.yaml") << kBlueprint;
  if (auto bp = (*manager)->UploadBlueprint(caller, "bp", dir / "bp" / "blueprint.yaml");
      !bp.ok() || !(*manager)->CreateDeployment(caller, "bp", "dep").ok()) {
    std::cerr << "setup failed\n";
    return 1;
  }
  cloudify::storage::ListQuery q;
  q.filters["deployment_id"] = {"dep"};
  auto instances = (*manager)->store().ListNodeInstances(caller, q);
  const std::string instance_id = instances->items.at(0).id;

  cloudify::rest::RouterOptions router_options;
  router_options.admin_password = "bench-password";
  router_options.data_dir = options.data_dir.string();
  auto router = cloudify::rest::Router::Create(**manager, router_options);
  cloudify::server::ServerOptions server_options;
  server_options.port = 0;
  auto server = cloudify::server::HttpServer::Start(server_options, **router);
  if (!router.ok() || !server.ok()) {
    std::cerr << "server failed\n";
    return 1;
  }
  const int port = (*server)->port();
  const std::string path = "/api/v3.1/node-instances/" + instance_id;
  const std::string basic = cloudify::Base64Encode("admin:bench-password");
  std::string request = "GET " + path + " HTTP/1.1\r\nHost: 127.0.0.1\r\nAuthorization: Basic " +
                        basic +
                        "\r\nTenant: default_tenant\r\nContent-Type: application/json\r\n\r\n";
  std::printf("embedded manager on 127.0.0.1:%d, %d connections, %d s (after 1 s warm-up)\n", port,
              connections, seconds);
  Print("GET /api/v3.1/node-instances/<id> (Basic)",
        RunLoad("127.0.0.1", port, request, connections, std::chrono::seconds(seconds)));
  (*server)->Stop();
  server->reset();
  router->reset();
  manager->reset();
  fs::remove_all(dir);
  return 0;
}
