// cfy_bench: how fast `cfy` answers, end to end, as a person runs it (a new process each time).
//
// It opens an embedded manager (SQLite file, in-process broker), stores D deployments of a
// one-node blueprint, serves the REST API on a free loopback port, makes a cfy profile for it,
// then times `cfy --version` (start-up) and `cfy deployments list` (one page of the default
// 1000 rows, with the total) as child processes, R runs each: median, p90 and max.
//
//   cfy_bench [--deployments D] [--runs R]
#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <string>
#include <vector>

#include "cloudify/client/rest_client.h"
#include "cloudify/manager.h"
#include "cloudify/process.h"
#include "cloudify/rest/router.h"
#include "cloudify/server/server.h"

namespace {

using Clock = std::chrono::steady_clock;

constexpr const char* kBlueprint = R"(tosca_definitions_version: cloudify_dsl_1_4
imports:
  - http://cloudify.co/spec/cloudify/6.4.0/types.yaml
node_templates:
  vm:
    type: cloudify.nodes.Root
)";

struct Figures {
  double median_ms;
  double p90_ms;
  double max_ms;
};

Figures Summarize(std::vector<double> ms) {
  std::sort(ms.begin(), ms.end());
  return {ms[ms.size() / 2], ms[ms.size() * 9 / 10], ms.back()};
}

Figures Time(const std::vector<std::string>& argv, const std::string& workdir, int runs) {
  std::vector<double> ms;
  for (int i = 0; i < runs; ++i) {
    cloudify::ProcessOptions options;
    options.argv = argv;
    options.env["CFY_WORKDIR"] = workdir;
    size_t lines = 0;
    options.on_stdout_line = [&](std::string_view) { ++lines; };
    const auto start = Clock::now();
    auto result = cloudify::RunProcess(options);
    const auto elapsed = Clock::now() - start;
    if (!result.ok() || !result->succeeded()) {
      std::fprintf(stderr, "cfy failed: %s\n",
                   result.ok() ? "non-zero exit" : result.status().ToString().c_str());
      std::exit(1);
    }
    ms.push_back(std::chrono::duration<double, std::milli>(elapsed).count());
  }
  return Summarize(ms);
}

}  // namespace

int main(int argc, char** argv) {
  int deployments = 10000;
  int runs = 30;
  for (int i = 1; i + 1 < argc; i += 2) {
    const std::string flag = argv[i];
    if (flag == "--deployments") {
      deployments = std::atoi(argv[i + 1]);
    } else if (flag == "--runs") {
      runs = std::atoi(argv[i + 1]);
    }
  }
  namespace fs = std::filesystem;
  const fs::path dir = fs::temp_directory_path() / ("cfy-bench-" + std::to_string(getpid()));
  fs::create_directories(dir / "bp");
  std::ofstream(dir / "bp" / "blueprint.yaml") << kBlueprint;

  cloudify::ManagerOptions options;
  options.data_dir = dir / "data";
  auto manager = cloudify::Manager::Open(options);
  if (!manager.ok()) {
    std::fprintf(stderr, "%s\n", manager.status().ToString().c_str());
    return 1;
  }
  auto caller = cloudify::storage::CallerContext::System();
  if (auto bp = (*manager)->UploadBlueprint(caller, "bp", dir / "bp" / "blueprint.yaml");
      !bp.ok()) {
    std::fprintf(stderr, "%s\n", bp.status().ToString().c_str());
    return 1;
  }
  auto first = (*manager)->CreateDeployment(caller, "bp", "dep-0");
  if (!first.ok()) {
    std::fprintf(stderr, "%s\n", first.status().ToString().c_str());
    return 1;
  }
  // The rest are stored directly: the figure is about listing them, not creating them.
  auto& store = (*manager)->store();
  cloudify::Status fill =
      store.InTransaction([&](cloudify::storage::Store& tx) -> cloudify::Status {
        for (int i = 1; i < deployments; ++i) {
          cloudify::model::Deployment copy = *first;
          copy.id = "dep-" + std::to_string(i);
          copy.display_name = copy.id;
          CLOUDIFY_RETURN_IF_ERROR(tx.CreateDeployment(caller, copy));
        }
        return cloudify::Status::Ok();
      });
  if (!fill.ok()) {
    std::fprintf(stderr, "%s\n", fill.ToString().c_str());
    return 1;
  }

  cloudify::rest::RouterOptions router_options;
  router_options.admin_password = "bench-password";
  router_options.data_dir = options.data_dir.string();
  auto router = cloudify::rest::Router::Create(**manager, router_options);
  if (!router.ok()) {
    std::fprintf(stderr, "%s\n", router.status().ToString().c_str());
    return 1;
  }
  cloudify::server::ServerOptions server_options;
  server_options.port = 0;
  auto server = cloudify::server::HttpServer::Start(server_options, **router);
  if (!server.ok()) {
    std::fprintf(stderr, "%s\n", server.status().ToString().c_str());
    return 1;
  }
  const std::string cfy = CFY_BINARY;
  const std::string workdir = (dir / "home").string();
  Time({cfy, "profiles", "use", "127.0.0.1", "--rest-port", std::to_string((*server)->port()), "-u",
        "admin", "-p", "bench-password"},
       workdir, 1);

  Figures version = Time({cfy, "--version"}, workdir, runs);
  Figures list = Time({cfy, "deployments", "list"}, workdir, runs);
  Figures page = Time({cfy, "deployments", "list", "-s", "50"}, workdir, runs);
  // The same page as `cfy deployments list` asks for, from a client in this process: the
  // server's and the wire's share of that figure (the rest is cfy starting and printing).
  auto client = cloudify::client::RestClient::Create(
      {.port = (*server)->port(), .username = "admin", .password = "bench-password"});
  if (!client.ok()) {
    std::fprintf(stderr, "%s\n", client.status().ToString().c_str());
    return 1;
  }
  std::vector<double> rest_ms;
  for (int i = 0; i < runs; ++i) {
    const auto start = Clock::now();
    auto got = (*client)->List(
        "/deployments",
        {{"_include",
          "id,display_name,blueprint_id,created_at,updated_at,visibility,tenant_name,created_by,"
          "site_name,labels,deployment_status,installation_status"}});
    if (!got.ok() || got->items.size() != 1000) {
      std::fprintf(stderr, "REST list failed\n");
      return 1;
    }
    rest_ms.push_back(std::chrono::duration<double, std::milli>(Clock::now() - start).count());
  }
  Figures rest = Summarize(rest_ms);
  std::printf("cfy --version (start-up):            median %.1f ms  p90 %.1f ms  max %.1f ms\n",
              version.median_ms, version.p90_ms, version.max_ms);
  std::printf("cfy deployments list (1000 of %d):  median %.1f ms  p90 %.1f ms  max %.1f ms\n",
              deployments, list.median_ms, list.p90_ms, list.max_ms);
  std::printf("  of which the REST call (in-process client): median %.1f ms  p90 %.1f ms\n",
              rest.median_ms, rest.p90_ms);
  std::printf("cfy deployments list -s 50:          median %.1f ms  p90 %.1f ms  max %.1f ms\n",
              page.median_ms, page.p90_ms, page.max_ms);
  (*server)->Stop();
  std::error_code ec;
  fs::remove_all(dir, ec);
  return 0;
}
