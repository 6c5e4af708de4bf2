// A real manager behind a real HTTP server on 127.0.0.1 port 0, and an HTTP client for it.
// The blueprint's operations are C++ handlers registered in the test's Manager.
#pragma once

#include <atomic>
#include <chrono>
#include <filesystem>
#include <fstream>
#include <random>
#include <sstream>
#include <thread>

#include <doctest/doctest.h>
#include <httplib.h>
#include <nlohmann/json.hpp>

#include "cloudify/archive.h"
#include "cloudify/manager.h"
#include "cloudify/server/server.h"

#include "support/temp_dir.h"

namespace cloudify::testing {

using nlohmann::json;
namespace fs = std::filesystem;

inline constexpr const char* kAdminPassword = "admin-test-password";

inline constexpr const char* kTestBlueprint = R"(
tosca_definitions_version: cloudify_dsl_1_4
description: two tiers run by C++ handlers
imports:
  - http://cloudify.co/spec/cloudify/6.4.0/types.yaml
inputs:
  port:
    type: integer
    default: 8080
plugins:
  p:
    executor: central_deployment_agent
    install: false
node_templates:
  vm:
    type: cloudify.nodes.Root
    interfaces:
      cloudify.interfaces.lifecycle:
        create: p.tasks.create
        start: p.tasks.start
        delete: p.tasks.delete
  web:
    type: cloudify.nodes.WebServer
    properties:
      port: { get_input: port }
    interfaces:
      cloudify.interfaces.lifecycle:
        start: p.tasks.start
    relationships:
      - type: cloudify.relationships.contained_in
        target: vm
outputs:
  url:
    value: { concat: ["http://", { get_attribute: [vm, ip] }, ":", { get_property: [web, port] }] }
capabilities:
  port:
    value: { get_property: [web, port] }
)";

struct ServerUnderTest {
  TempDir tmp;
  std::unique_ptr<Manager> manager;
  std::unique_ptr<rest::Router> router;
  std::unique_ptr<server::HttpServer> http;
  std::atomic<bool> hold{false};
  int port = 0;

  explicit ServerUnderTest(ManagerOptions options = {}, rest::RouterOptions router_options = {}) {
    options.data_dir = tmp.path() / "data";
    options.task_retry_interval = std::chrono::milliseconds(1);
    options.task_retries = 0;
    auto m = Manager::Open(options);
    REQUIRE_MESSAGE(m.ok(), m.status().ToString());
    manager = std::move(*m);
    manager->operations().Add("p.tasks.create", [](workflow::OperationContext& ctx) {
      ctx.instance().runtime_properties()["ip"] = "10.0.0.7";
    });
    manager->operations().Add("p.tasks.start", [this](workflow::OperationContext&) {
      while (hold.load()) {
        std::this_thread::sleep_for(std::chrono::milliseconds(5));
      }
    });
    manager->operations().Add("p.tasks.delete", [](workflow::OperationContext&) {});
    router_options.admin_password = kAdminPassword;
    router_options.password_iterations = 1000;  // fast enough for tests, still PBKDF2
    router_options.data_dir = options.data_dir.string();
    router_options.stream_poll_interval = std::chrono::milliseconds(20);
    auto r = rest::Router::Create(*manager, router_options);
    REQUIRE_MESSAGE(r.ok(), r.status().ToString());
    router = std::move(*r);
    server::ServerOptions server_options;
    server_options.port = 0;
    server_options.threads = 4;
    auto h = server::HttpServer::Start(server_options, *router);
    REQUIRE_MESSAGE(h.ok(), h.status().ToString());
    http = std::move(*h);
    port = http->port();
  }

  // The blueprint folder packed as the Python client packs it: one top-level folder.
  std::string BlueprintArchive(const std::string& yaml = kTestBlueprint,
                               const std::string& name = "bp") {
    fs::path folder = tmp.path() / ("src-" + name);
    fs::create_directories(folder);
    std::ofstream(folder / "blueprint.yaml") << yaml;
    fs::path archive = tmp.path() / (name + ".tar.gz");
    REQUIRE(CreateTarGz(folder, archive, name).ok());
    std::ifstream in(archive, std::ios::binary);
    std::stringstream bytes;
    bytes << in.rdbuf();
    return bytes.str();
  }
};

// A client as the official one: Basic auth or a token, the Tenant header, JSON content type.
struct Client {
  httplib::Client http;
  std::string tenant = "default_tenant";

  Client(int port, const std::string& user, const std::string& password) : http("127.0.0.1", port) {
    http.set_read_timeout(30, 0);
    if (!user.empty()) {
      http.set_basic_auth(user, password);
    }
  }

  httplib::Headers Headers() const {
    httplib::Headers h;
    if (!tenant.empty()) {
      h.emplace("Tenant", tenant);
    }
    return h;
  }

  static std::string Api(const std::string& path) { return "/api/v3.1" + path; }

  httplib::Result Get(const std::string& path) { return http.Get(Api(path), Headers()); }
  httplib::Result Delete(const std::string& path) { return http.Delete(Api(path), Headers()); }
  httplib::Result Put(const std::string& path, const json& body) {
    return http.Put(Api(path), Headers(), body.dump(), "application/json");
  }
  httplib::Result Post(const std::string& path, const json& body) {
    return http.Post(Api(path), Headers(), body.dump(), "application/json");
  }
  httplib::Result Patch(const std::string& path, const json& body) {
    return http.Patch(Api(path), Headers(), body.dump(), "application/json");
  }
  // PUT /blueprints/<id> exactly as cloudify_rest_client sends it.
  httplib::Result Upload(const std::string& id, const std::string& archive,
                         bool async_upload = false) {
    json params = {{"visibility", "tenant"},
                   {"async_upload", async_upload},
                   {"skip_execution", false},
                   {"application_file_name", "blueprint.yaml"}};
    httplib::MultipartFormDataItems items = {
        {"params", params.dump(), "", ""},
        {"blueprint_archive", archive, "filename", "text/plain"},
    };
    return http.Put(Api("/blueprints/" + id), Headers(), items);
  }
  // POST /executions with the body of executions.start (string booleans and nulls).
  httplib::Result StartExecution(const std::string& deployment_id, const std::string& workflow_id) {
    return Post("/executions", {{"deployment_id", deployment_id},
                                {"workflow_id", workflow_id},
                                {"parameters", nullptr},
                                {"allow_custom_parameters", "false"},
                                {"force", "false"},
                                {"dry_run", "false"},
                                {"queue", "false"},
                                {"scheduled_time", nullptr},
                                {"wait_after_fail", 600},
                                {"force_status", nullptr},
                                {"created_by", nullptr},
                                {"created_at", nullptr},
                                {"started_at", nullptr},
                                {"ended_at", nullptr},
                                {"id", nullptr},
                                {"is_system_workflow", nullptr},
                                {"error", nullptr}});
  }
  // Polls GET /executions/<id> as the CLI does until the execution ends.
  json WaitForExecution(const std::string& id) {
    for (int i = 0; i < 2000; ++i) {
      auto r = Get("/executions/" + id);
      REQUIRE(r);
      REQUIRE(r->status == 200);
      json e = json::parse(r->body);
      std::string status = e["status"];
      if (status == "terminated" || status == "failed" || status == "cancelled") {
        return e;
      }
      std::this_thread::sleep_for(std::chrono::milliseconds(10));
    }
    FAIL("execution " << id << " did not end");
    return {};
  }
};

inline json Body(const httplib::Result& r) {
  REQUIRE(r);
  return json::parse(r->body);
}

// The error envelope's code, checking the status and the envelope's shape on the way.
inline std::string ErrorCodeOf(const httplib::Result& r, int status) {
  REQUIRE(r);
  CHECK_MESSAGE(r->status == status, r->body);
  CHECK(r->get_header_value("Content-Type") == "application/json");
  json body = json::parse(r->body);
  CHECK(body.contains("message"));
  CHECK(body.contains("server_traceback"));
  return body.value("error_code", "");
}

}  // namespace cloudify::testing
