// What blueprints name by URL: FetchUrl against a real HTTP server on loopback, and a Manager
// given it as its url_fetcher running a script and importing types from that server.
#include "cloudify/client/url_fetch.h"

#include <fstream>
#include <thread>

#include <doctest/doctest.h>
#include <httplib.h>

#include "cloudify/manager.h"

#include "server/rest_fixture.h"
#include "support/temp_dir.h"

namespace cloudify {
namespace {

using std::chrono::milliseconds;
using std::chrono::seconds;
namespace fs = std::filesystem;

// An HTTP server on a free loopback port, serving a script, a types file, a redirect and a
// large body; anything else is 404.
struct FileServer {
  httplib::Server http;
  std::thread thread;
  int port = 0;

  std::string archive;  // served at /bp.tar.gz

  FileServer() {
    http.Get("/bp.tar.gz", [this](const httplib::Request&, httplib::Response& res) {
      res.set_content(archive, "application/gzip");
    });
    http.Get("/scripts/create.sh", [](const httplib::Request&, httplib::Response& res) {
      res.set_content("#!/bin/sh\nctx instance runtime-properties fetched yes\n", "text/plain");
    });
    http.Get("/types/extra.yaml", [](const httplib::Request&, httplib::Response& res) {
      res.set_content(
          "tosca_definitions_version: cloudify_dsl_1_4\n"
          "node_types:\n"
          "  remote.Server:\n"
          "    derived_from: cloudify.nodes.Root\n"
          "    properties:\n"
          "      size: {type: integer, default: 2}\n",
          "text/yaml");
    });
    http.Get("/moved", [](const httplib::Request&, httplib::Response& res) {
      res.set_redirect("/scripts/create.sh");
    });
    http.Get("/big", [](const httplib::Request&, httplib::Response& res) {
      res.set_content(std::string(2 * 1024 * 1024, 'x'), "application/octet-stream");
    });
    port = http.bind_to_any_port("127.0.0.1");
    REQUIRE(port > 0);
    thread = std::thread([this] { http.listen_after_bind(); });
    while (!http.is_running()) {
      std::this_thread::sleep_for(milliseconds(1));
    }
  }
  ~FileServer() {
    http.stop();
    thread.join();
  }
  std::string Url(const std::string& path) const {
    return "http://127.0.0.1:" + std::to_string(port) + path;
  }
};

TEST_CASE("FetchUrl: bodies, redirects, and clear errors for what cannot be fetched") {
  FileServer files;
  auto script = client::FetchUrl(files.Url("/scripts/create.sh"));
  REQUIRE_MESSAGE(script.ok(), script.status().ToString());
  CHECK(script->find("ctx instance runtime-properties fetched yes") != std::string::npos);
  auto moved = client::FetchUrl(files.Url("/moved"));
  REQUIRE(moved.ok());
  CHECK(*moved == *script);

  auto missing = client::FetchUrl(files.Url("/nothing-here"));
  CHECK(missing.status().code() == ErrorCode::kNotFound);
  CHECK(missing.status().message().find("/nothing-here") != std::string::npos);
  auto big = client::FetchUrl(files.Url("/big"), {.max_bytes = 1024 * 1024});
  CHECK(big.status().code() == ErrorCode::kPayloadTooLarge);
  CHECK(client::FetchUrl("ftp://127.0.0.1/x").status().code() == ErrorCode::kBadParameters);
  CHECK(client::FetchUrl("not a url").status().code() == ErrorCode::kBadParameters);

  int closed = 0;
  {
    FileServer gone;
    closed = gone.port;
  }
  auto unreachable = client::FetchUrl("http://127.0.0.1:" + std::to_string(closed) + "/x",
                                      {.timeout = seconds(2)});
  CHECK(unreachable.status().code() == ErrorCode::kUnavailable);
}

TEST_CASE("a manager with a URL fetcher runs a script and imports types named by URL") {
  FileServer files;
  testing::TempDir tmp;
  ManagerOptions options;
  options.data_dir = tmp.path() / "data";
  options.ctx_dir = CLOUDIFY_CTX_DIR;
  options.task_retries = 0;
  options.url_fetcher = [](const std::string& url) { return client::FetchUrl(url); };
  auto manager = Manager::Open(options);
  REQUIRE_MESSAGE(manager.ok(), manager.status().ToString());
  storage::CallerContext caller = storage::CallerContext::System();
  fs::create_directories(tmp.path() / "bp");
  std::ofstream(tmp.path() / "bp" / "blueprint.yaml")
      << "tosca_definitions_version: cloudify_dsl_1_4\n"
         "imports:\n"
         "  - http://cloudify.co/spec/cloudify/6.4.0/types.yaml\n"
         "  - "
      << files.Url("/types/extra.yaml")
      << "\n"
         "node_templates:\n"
         "  server:\n"
         "    type: remote.Server\n"
         "    interfaces:\n"
         "      cloudify.interfaces.lifecycle:\n"
         "        create: "
      << files.Url("/scripts/create.sh") << "\n";
  auto bp = (*manager)->UploadBlueprint(caller, "remote", tmp.path() / "bp" / "blueprint.yaml");
  REQUIRE_MESSAGE(bp.ok(), bp.status().ToString());
  REQUIRE((*manager)->CreateDeployment(caller, "remote", "remote-1", {}).ok());
  auto started = (*manager)->StartExecution(caller, "remote-1", "install");
  REQUIRE(started.ok());
  auto ended = (*manager)->WaitForExecution(caller, started->id, seconds(60));
  REQUIRE(ended.ok());
  CHECK_MESSAGE(ended->status == model::ExecutionStatus::kTerminated, ended->error);
  storage::ListQuery q;
  q.filters = {{"deployment_id", {"remote-1"}}};
  auto instances = (*manager)->store().ListNodeInstances(caller, q);
  REQUIRE(instances.ok());
  REQUIRE(instances->items.size() == 1);
  CHECK(instances->items[0].runtime_properties["fetched"] == "yes");

  // Without a fetcher the same blueprint is refused at upload, naming the import.
  testing::TempDir other;
  ManagerOptions bare;
  bare.data_dir = other.path() / "data";
  auto offline = Manager::Open(bare);
  REQUIRE(offline.ok());
  auto refused =
      (*offline)->UploadBlueprint(caller, "remote", tmp.path() / "bp" / "blueprint.yaml");
  REQUIRE_FALSE(refused.ok());
  CHECK(refused.status().message().find("extra.yaml") != std::string::npos);
}

TEST_CASE("REST: a blueprint archive named by blueprint_archive_url is fetched and uploaded") {
  FileServer files;
  ManagerOptions options;
  options.url_fetcher = [](const std::string& url) { return client::FetchUrl(url); };
  testing::ServerUnderTest server(options);
  files.archive = server.BlueprintArchive();
  testing::Client admin(server.port, "admin", testing::kAdminPassword);
  auto upload = [&](const std::string& id, const std::string& url) {
    nlohmann::json params = {{"visibility", "tenant"},
                             {"async_upload", false},
                             {"application_file_name", "blueprint.yaml"},
                             {"blueprint_archive_url", url}};
    httplib::MultipartFormDataItems items = {{"params", params.dump(), "", ""}};
    return admin.http.Put(testing::Client::Api("/blueprints/" + id), admin.Headers(), items);
  };
  auto uploaded = upload("from-url", files.Url("/bp.tar.gz"));
  REQUIRE(uploaded);
  CHECK_MESSAGE(uploaded->status == 201, uploaded->body);
  CHECK(nlohmann::json::parse(uploaded->body)["state"] == "uploaded");
  auto got = admin.Get("/blueprints/from-url");
  REQUIRE(got);
  CHECK(got->status == 200);

  auto missing = upload("nowhere", files.Url("/no-such.tar.gz"));
  REQUIRE(missing);
  CHECK(missing->status == 400);
  CHECK(missing->body.find("fetching its archive") != std::string::npos);
  CHECK(admin.Get("/blueprints/nowhere")->status == 404);  // nothing stored
}

}  // namespace
}  // namespace cloudify
