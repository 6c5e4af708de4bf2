// The REST API over HTTP against a real manager: lifecycle, error paths, auth and tenancy.
#include <algorithm>
#include <cstdlib>

#include "rest_fixture.h"

#include "support/env.h"
#include "support/pg_schema.h"

namespace cloudify::testing {
namespace {

// upload -> deployment -> install -> node instances -> outputs -> events -> uninstall -> delete
void RunLifecycle(ServerUnderTest& s) {
  Client c(s.port, "admin", kAdminPassword);

  // The client reads the REST config before an upload.
  auto config = c.Get("/config?scope=rest");
  REQUIRE(config);
  CHECK(config->status == 200);
  CHECK(Body(config)["items"].is_array());

  auto up = c.Upload("bp", s.BlueprintArchive());
  REQUIRE(up);
  REQUIRE_MESSAGE(up->status == 201, up->body);
  json bp = Body(up);
  CHECK(bp["id"] == "bp");
  CHECK(bp["state"] == "uploaded");
  CHECK(bp["plan"]["nodes"].size() == 2);
  CHECK(bp["tenant_name"] == "default_tenant");
  CHECK(bp["created_by"] == "admin");

  json list = Body(c.Get("/blueprints"));
  CHECK(list["items"].size() == 1);
  CHECK(list["metadata"]["pagination"] == json{{"total", 1}, {"size", 1000}, {"offset", 0}});

  // The file server serves the extracted blueprint.
  auto file = c.http.Get("/resources/blueprints/default_tenant/bp/blueprint.yaml", c.Headers());
  REQUIRE(file);
  CHECK(file->status == 200);
  CHECK(file->body.find("two tiers run by C++ handlers") != std::string::npos);

  auto dep = c.Put("/deployments/dep", {{"blueprint_id", "bp"},
                                        {"visibility", "tenant"},
                                        {"inputs", {{"port", 9090}}},
                                        {"skip_plugins_validation", false},
                                        {"runtime_only_evaluation", false}});
  REQUIRE(dep);
  REQUIRE_MESSAGE(dep->status == 201, dep->body);
  json d = Body(dep);
  CHECK(d["inputs"]["port"] == 9090);
  bool has_install = false;
  for (const auto& w : d["workflows"]) {
    has_install = has_install || w["name"] == "install";
  }
  CHECK(has_install);
  CHECK(Body(c.Get("/deployments/dep?all_sub_deployments=False&include_workdir=False"))["id"] ==
        "dep");

  // The CLI finds the create-environment execution among system workflows only.
  json env =
      Body(c.Get("/executions?deployment_id=dep&workflow_id=create_deployment_environment"
                 "&_sort=-created_at&_include_system_workflows=True"));
  REQUIRE(env["items"].size() == 1);
  CHECK(env["items"][0]["status"] == "terminated");
  CHECK(Body(c.Get("/executions?deployment_id=dep&_include_system_workflows=False"))["items"]
            .empty());

  auto started = c.StartExecution("dep", "install");
  REQUIRE(started);
  REQUIRE_MESSAGE(started->status == 201, started->body);
  json ex = Body(started);
  CHECK(ex["workflow_id"] == "install");
  const std::string install_id = ex["id"];
  json done = c.WaitForExecution(install_id);
  CHECK_MESSAGE(done["status"] == "terminated", done.dump());
  CHECK(Body(c.Get("/executions/" + install_id + "?_include=status")) ==
        json{{"status", "terminated"}});

  json instances = Body(c.Get("/node-instances?deployment_id=dep"));
  REQUIRE(instances["items"].size() == 2);
  for (const auto& ni : instances["items"]) {
    CHECK(ni["state"] == "started");
  }
  json nodes = Body(c.Get("/nodes?deployment_id=dep&id=web"));
  REQUIRE(nodes["items"].size() == 1);
  CHECK(nodes["items"][0]["properties"]["port"] == 9090);

  // _include is read from the database column by column: every field alone, and all of them
  // together, comes back exactly as in the full record.
  for (const std::string path :
       {"/blueprints", "/deployments", "/executions?_include_system_workflows=true&",
        "/node-instances?deployment_id=dep&"}) {
    const std::string sep = path.back() == '&' ? "" : "?";
    json full = Body(c.Get(path))["items"][0];
    REQUIRE(full.is_object());
    std::string all;
    for (const auto& [key, value] : full.items()) {
      json one = Body(c.Get(path + sep + "_include=" + key))["items"][0];
      const json expected = {{key, value}};
      CHECK_MESSAGE(one == expected, path << " _include=" << key << ": " << one.dump());
      all += (all.empty() ? "" : ",") + key;
    }
    CHECK(Body(c.Get(path + sep + "_include=" + all))["items"][0] == full);
  }

  json outputs = Body(c.Get("/deployments/dep/outputs"));
  CHECK(outputs == json{{"deployment_id", "dep"}, {"outputs", {{"url", "http://10.0.0.7:9090"}}}});
  json caps = Body(c.Get("/deployments/dep/capabilities"));
  CHECK(caps["capabilities"]["port"] == 9090);

  // Events as the CLI pages them, and with the flat keys it indexes.
  REQUIRE(s.manager->SyncEvents(std::chrono::seconds(5)).ok());
  json events = Body(c.Get("/events?execution_id=" + install_id +
                           "&type=cloudify_event&type=cloudify_log&_sort=reported_timestamp"));
  REQUIRE(!events["items"].empty());
  int64_t total = events["metadata"]["pagination"]["total"];
  CHECK(total == static_cast<int64_t>(events["items"].size()));
  CHECK(events["metadata"]["pagination"]["size"] == 10000);
  bool succeeded = false;
  for (const auto& e : events["items"]) {
    for (const char* key : {"deployment_id", "execution_id", "node_name", "operation",
                            "workflow_id", "node_instance_id", "source_id", "target_id", "message",
                            "error_causes", "timestamp", "reported_timestamp"}) {
      CHECK_MESSAGE(e.contains(key), key);
    }
    succeeded = succeeded || e.value("event_type", "") == "workflow_succeeded";
  }
  CHECK(succeeded);
  json page = Body(c.Get("/events?execution_id=" + install_id + "&_size=2&_offset=1"));
  CHECK(page["items"].size() == 2);
  CHECK(page["metadata"]["pagination"]["total"] == total);
  CHECK(page["metadata"]["pagination"]["offset"] == 1);
  json only_events = Body(c.Get("/events?execution_id=" + install_id + "&type=cloudify_event"));
  for (const auto& e : only_events["items"]) {
    CHECK(e["type"] == "cloudify_event");
  }

  // A deployment with live instances is not deleted; uninstall first.
  CHECK(ErrorCodeOf(c.Delete("/deployments/dep"), 400) == "dependent_exists_error");
  json un = Body(c.StartExecution("dep", "uninstall"));
  CHECK(c.WaitForExecution(un["id"])["status"] == "terminated");
  json after = Body(c.Get("/node-instances?deployment_id=dep"));
  REQUIRE(after["items"].size() == 2);
  for (const auto& ni : after["items"]) {
    CHECK(ni["state"] == "deleted");
  }
  auto del = c.Delete("/deployments/dep?force=False&delete_logs=False&recursive=False");
  REQUIRE(del);
  CHECK(del->status == 204);
  CHECK(ErrorCodeOf(c.Get("/deployments/dep"), 404) == "not_found_error");
  auto bdel = c.Delete("/blueprints/bp?force=False");
  REQUIRE(bdel);
  CHECK(bdel->status == 204);
  CHECK(ErrorCodeOf(c.Get("/blueprints/bp"), 404) == "not_found_error");
}

TEST_CASE("the whole lifecycle over HTTP on the embedded default (SQLite, in-process broker)") {
  ServerUnderTest s;
  RunLifecycle(s);
}

TEST_CASE("the whole lifecycle over HTTP on PostgreSQL and RabbitMQ" * testing::kSharedAmqpVhost) {
  const std::string pg = PostgresTestUrl();
  const std::string amqp = AmqpTestUrl();
  if (!HaveServer(pg, "CLOUDIFY_TEST_POSTGRES_URL") ||
      !HaveServer(amqp, "CLOUDIFY_TEST_AMQP_URL")) {
    return;
  }
  ScratchPgSchema schema("cfy_rest");
  ManagerOptions options;
  options.store_url = schema.url();
  options.bus_url = amqp;
  options.manager_name = schema.name();
  ServerUnderTest s(options);
  CHECK(s.manager->store().backend() == "postgresql");
  RunLifecycle(s);
  auto status = Body(Client(s.port, "admin", kAdminPassword).Get("/status"));
  CHECK(status["status"] == "OK");
  CHECK(status["services"]["Database"]["extra_info"]["backend"] == "postgresql");
}

TEST_CASE("node-instance PATCH checks the version: stale is 409, current bumps it") {
  ServerUnderTest s;
  Client c(s.port, "admin", kAdminPassword);
  REQUIRE(c.Upload("bp", s.BlueprintArchive())->status == 201);
  REQUIRE(c.Put("/deployments/d", {{"blueprint_id", "bp"}})->status == 201);
  json ni = Body(c.Get("/node-instances?deployment_id=d&node_id=vm"))["items"][0];
  const std::string id = ni["id"];
  int64_t version = ni["version"];
  auto ok = c.Patch("/node-instances/" + id,
                    {{"version", version}, {"runtime_properties", {{"k", "v"}}}});
  REQUIRE(ok);
  REQUIRE_MESSAGE(ok->status == 200, ok->body);
  CHECK(Body(ok)["version"] == version + 1);
  CHECK(Body(c.Get("/node-instances/" + id + "?_evaluate_functions=False"))["runtime_properties"] ==
        json{{"k", "v"}});
  CHECK(ErrorCodeOf(c.Patch("/node-instances/" + id,
                            {{"version", version}, {"runtime_properties", json::object()}}),
                    409) == "conflict_error");
  CHECK(ErrorCodeOf(c.Patch("/node-instances/" + id, {{"state", "started"}}), 400) ==
        "bad_parameters_error");
}

// Polls GET `path` until its `field` leaves `from` (values the client sees while it waits).
json WaitWhile(Client& c, const std::string& path, const std::string& field,
               const std::vector<std::string>& from) {
  for (int i = 0; i < 2000; ++i) {
    json body = Body(c.Get(path));
    if (std::find(from.begin(), from.end(), body.value(field, "")) == from.end()) {
      return body;
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
  FAIL(path << " stayed " << field << " in its waiting values");
  return {};
}

TEST_CASE("async_upload and async_create answer at once and finish in the background") {
  ServerUnderTest s;
  Client c(s.port, "admin", kAdminPassword);
  auto uploaded = c.Upload("bp", s.BlueprintArchive(), /*async_upload=*/true);
  REQUIRE(uploaded);
  REQUIRE_MESSAGE(uploaded->status == 201, uploaded->body);
  const std::string state = Body(uploaded)["state"];
  CHECK((state == "uploading" || state == "uploaded"));
  CHECK(WaitWhile(c, "/blueprints/bp", "state", {"uploading"})["state"] == "uploaded");
  // Its upload_blueprint execution is listed among the system workflows.
  json uploads =
      Body(c.Get("/executions?_include_system_workflows=true&workflow_id=upload_blueprint"));
  REQUIRE(uploads["items"].size() == 1);
  CHECK(uploads["items"][0]["blueprint_id"] == "bp");
  CHECK(uploads["items"][0]["status"] == "terminated");

  // An invalid blueprint: refused at once without async_upload, `invalid` with it.
  const std::string broken = s.BlueprintArchive(
      "tosca_definitions_version: cloudify_dsl_1_4\nnode_templates:\n  a:\n    type: "
      "no.such.Type\n",
      "broken");
  CHECK(ErrorCodeOf(c.Upload("broken", broken), 400) == "invalid_blueprint_error");
  auto accepted = c.Upload("broken", broken, /*async_upload=*/true);
  REQUIRE(accepted);
  CHECK(accepted->status == 201);
  json invalid = WaitWhile(c, "/blueprints/broken", "state", {"uploading"});
  CHECK(invalid["state"] == "invalid");
  CHECK(invalid["error"].get<std::string>().find("no.such.Type") != std::string::npos);
  CHECK(ErrorCodeOf(c.Put("/deployments/x", {{"blueprint_id", "broken"}}), 400) ==
        "deployment_creation_error");

  // async_create: bad inputs are still refused at once; good ones answer 201 and the nodes
  // and instances follow.
  CHECK(ErrorCodeOf(c.Put("/deployments/d?async_create=true",
                          {{"blueprint_id", "bp"}, {"inputs", {{"nope", 1}}}}),
                    400) == "unknown_deployment_input_error");
  CHECK(ErrorCodeOf(c.Get("/deployments/d"), 404) == "not_found_error");
  auto created = c.Put("/deployments/d?async_create=true",
                       {{"blueprint_id", "bp"}, {"inputs", {{"port", 9090}}}});
  REQUIRE(created);
  REQUIRE_MESSAGE(created->status == 201, created->body);
  const std::string env_id = Body(created)["create_execution"];
  json env = c.WaitForExecution(env_id);
  CHECK(env["status"] == "terminated");
  CHECK(env["workflow_id"] == "create_deployment_environment");
  CHECK(Body(c.Get("/node-instances?deployment_id=d"))["items"].size() == 2);
  json install = Body(c.StartExecution("d", "install"));
  CHECK(c.WaitForExecution(install["id"])["status"] == "terminated");
  CHECK(Body(c.Get("/deployments/d/outputs"))["outputs"]["url"] == "http://10.0.0.7:9090");
}

// Uploads "bp", deploys it as "d" and starts its install scheduled far ahead: the execution.
json DeployAndScheduleInstall(Client& c, ServerUnderTest& s) {
  REQUIRE(c.Upload("bp", s.BlueprintArchive())->status == 201);
  REQUIRE(c.Put("/deployments/d", {{"blueprint_id", "bp"}})->status == 201);
  auto started = c.Post("/executions", {{"deployment_id", "d"},
                                        {"workflow_id", "install"},
                                        {"scheduled_time", "2999-01-01T00:00:00.000Z"}});
  REQUIRE(started);
  REQUIRE_MESSAGE(started->status == 201, started->body);
  return Body(started);
}

TEST_CASE("an execution started with scheduled_time waits as scheduled and can be cancelled") {
  ServerUnderTest s;
  Client c(s.port, "admin", kAdminPassword);
  json e = DeployAndScheduleInstall(c, s);
  CHECK(e["status"] == "scheduled");
  CHECK(e["scheduled_for"] == "2999-01-01T00:00:00.000Z");
  // Waiting does not make the deployment busy: another execution starts at once.
  auto now = c.Post("/executions", {{"deployment_id", "d"}, {"workflow_id", "install"}});
  REQUIRE(now);
  CHECK(now->status == 201);
  auto cancelled = c.Post("/executions/" + e["id"].get<std::string>(), {{"action", "cancel"}});
  REQUIRE(cancelled);
  CHECK(Body(cancelled)["status"] == "cancelled");
  CHECK(ErrorCodeOf(c.Post("/executions", {{"deployment_id", "d"},
                                           {"workflow_id", "install"},
                                           {"scheduled_time", "tomorrow at noon"}}),
                    400) == "bad_parameters_error");
}

TEST_CASE("PATCH /executions/<id> updates the status as the original's workflow process does") {
  ServerUnderTest s;
  Client c(s.port, "admin", kAdminPassword);
  const std::string id = DeployAndScheduleInstall(c, s)["id"];
  CHECK(ErrorCodeOf(c.Patch("/executions/" + id, {{"status", "running"}}), 400) ==
        "bad_parameters_error");
  CHECK(ErrorCodeOf(c.Patch("/executions/" + id, {{"error", "no status"}}), 400) ==
        "bad_parameters_error");
  CHECK(ErrorCodeOf(c.Patch("/executions/nope", {{"status", "failed"}}), 404) == "not_found_error");
  auto failed = c.Patch("/executions/" + id, {{"status", "failed"}, {"error", "given up"}});
  REQUIRE(failed);
  REQUIRE_MESSAGE(failed->status == 200, failed->body);
  CHECK(Body(failed)["status"] == "failed");
  CHECK(Body(failed)["error"] == "given up");
  CHECK(Body(failed)["ended_at"].is_string());
  json stored = Body(c.Get("/executions/" + id));
  CHECK(stored["status"] == "failed");
  // Nothing leaves an end state.
  CHECK(ErrorCodeOf(c.Patch("/executions/" + id, {{"status", "started"}}), 400) ==
        "invalid_exception_status_update");
  CHECK(Body(c.Get("/executions/" + id))["status"] == "failed");
  // The same status again is allowed (a redelivered report).
  auto again = c.Patch("/executions/" + id, {{"status", "failed"}, {"error", "given up"}});
  REQUIRE(again);
  CHECK(again->status == 200);
}

// A wagon as the wagon tool builds it: <top>/package.json and <top>/wheels/*.whl, tar.gz.
std::string MakeWagon(const std::filesystem::path& dir, const std::string& name,
                      const std::string& version) {
  namespace fs = std::filesystem;
  const fs::path top = dir / (name + "-" + version);
  fs::create_directories(top / "wheels");
  std::ofstream(top / "wheels" / (name + "-" + version + "-py3-none-any.whl")) << "wheel";
  std::ofstream(top / "package.json")
      << json{{"package_name", name},
              {"package_version", version},
              {"package_source", name + "==" + version},
              {"archive_name", name + "-" + version + "-py3-none-linux_x86_64.wgn"},
              {"supported_platform", "linux_x86_64"},
              {"supported_python_versions", {"py3"}},
              {"build_server_os_properties",
               {{"distribution", "debian"},
                {"distribution_version", "12"},
                {"distribution_release", "bookworm"}}},
              {"wheels", {name + "-" + version + "-py3-none-any.whl"}}}
             .dump();
  const fs::path out = dir / (name + "-" + version + ".wgn");
  REQUIRE(CreateTarGz(top, out).ok());
  std::ifstream in(out, std::ios::binary);
  std::stringstream bytes;
  bytes << in.rdbuf();
  return bytes.str();
}

TEST_CASE("plugins: a wagon or a bundle uploads, lists, downloads and deletes") {
  namespace fs = std::filesystem;
  ServerUnderTest s;
  Client c(s.port, "admin", kAdminPassword);
  TempDir work;
  const std::string wagon = MakeWagon(work.path(), "cloudify-mock-plugin", "1.2");
  auto post = [&](const std::string& query, const std::string& body) {
    return c.http.Post(Client::Api("/plugins" + query), c.Headers(), body,
                       "application/octet-stream");
  };
  auto uploaded = post("?title=Mock&visibility=tenant", wagon);
  REQUIRE(uploaded);
  REQUIRE_MESSAGE(uploaded->status == 201, uploaded->body);
  json p = Body(uploaded);
  const std::string id = p["id"];
  CHECK(p["package_name"] == "cloudify-mock-plugin");
  CHECK(p["package_version"] == "1.2");
  CHECK(p["title"] == "Mock");
  CHECK(p["distribution"] == "debian");
  CHECK(p["distribution_release"] == "bookworm");
  CHECK(p["supported_platform"] == "linux_x86_64");
  CHECK(p["archive_name"] == "cloudify-mock-plugin-1.2-py3-none-linux_x86_64.wgn");
  CHECK(p["wheels"] == json{"cloudify-mock-plugin-1.2-py3-none-any.whl"});
  CHECK(p["visibility"] == "tenant");
  CHECK(Body(c.Get("/plugins/" + id))["package_source"] == "cloudify-mock-plugin==1.2");
  CHECK(Body(c.Get("/plugins?package_name=cloudify-mock-plugin"))["items"].size() == 1);
  auto archive = c.Get("/plugins/" + id + "/archive");
  REQUIRE(archive);
  CHECK(archive->status == 200);
  CHECK(archive->body == wagon);
  // The same package again is a conflict; garbage is not a plugin; nothing is kept.
  CHECK(ErrorCodeOf(post("", wagon), 409) == "conflict_error");
  CHECK(ErrorCodeOf(post("", "not an archive"), 400) == "invalid_plugin_error");
  CHECK(ErrorCodeOf(post("", ""), 400) == "upload_missing_file");
  CHECK(Body(c.Get("/plugins"))["items"].size() == 1);

  // A bundle: the wagon and its plugin.yaml in a zip, as `cfy plugins upload -y` sends it.
  const std::string other = MakeWagon(work.path(), "cloudify-other-plugin", "0.1");
  std::ofstream(work.path() / "other.wgn", std::ios::binary) << other;
  std::ofstream(work.path() / "plugin.yaml")
      << "plugins:\n  other: {executor: central_deployment_agent, package_name: "
         "cloudify-other-plugin}\nnode_types:\n  other.nodes.Thing:\n    derived_from: "
         "cloudify.nodes.Root\n    properties:\n      size: {default: 3}\n";
  const fs::path zip = work.path() / "bundle.zip";
  REQUIRE(std::system(("cd '" + work.path().string() +
                       "' && python3 -m zipfile -c bundle.zip other.wgn plugin.yaml")
                          .c_str()) == 0);
  std::ifstream in(zip, std::ios::binary);
  std::stringstream bundle;
  bundle << in.rdbuf();
  auto bundled = post("?id=other-id", bundle.str());
  REQUIRE(bundled);
  REQUIRE_MESSAGE(bundled->status == 201, bundled->body);
  CHECK(Body(bundled)["id"] == "other-id");
  CHECK(Body(bundled)["package_name"] == "cloudify-other-plugin");
  CHECK(Body(bundled)["archive_name"] == "other.wgn");
  CHECK(Body(bundled)["yaml_url_path"] ==
        "plugin:cloudify-other-plugin?version=0.1&distribution=debian");
  CHECK(c.Get("/plugins/other-id/archive")->body == other);
  // A blueprint imports it by name (and version), as `plugin:` imports name uploaded plugins.
  const std::string uses_plugin = R"(tosca_definitions_version: cloudify_dsl_1_4
imports:
  - http://cloudify.co/spec/cloudify/6.4.0/types.yaml
  - plugin:cloudify-other-plugin?version=0.1
node_templates:
  thing: {type: other.nodes.Thing}
)";
  auto with_plugin = c.Upload("uses-plugin", s.BlueprintArchive(uses_plugin, "uses-plugin"));
  REQUIRE(with_plugin);
  CHECK_MESSAGE(with_plugin->status == 201, with_plugin->body);
  const std::string missing = R"(tosca_definitions_version: cloudify_dsl_1_4
imports:
  - plugin:cloudify-absent-plugin
)";
  auto unresolved = c.Upload("missing-plugin", s.BlueprintArchive(missing, "missing-plugin"));
  REQUIRE(unresolved);
  CHECK(unresolved->status == 400);
  CHECK(unresolved->body.find("plugin:cloudify-absent-plugin") != std::string::npos);
  // A zip without a wagon is refused.
  REQUIRE(std::system(
              ("cd '" + work.path().string() + "' && python3 -m zipfile -c empty.zip plugin.yaml")
                  .c_str()) == 0);
  std::ifstream empty_in(work.path() / "empty.zip", std::ios::binary);
  std::stringstream empty;
  empty << empty_in.rdbuf();
  CHECK(ErrorCodeOf(post("", empty.str()), 400) == "invalid_plugin_error");

  auto deleted = c.Delete("/plugins/" + id);
  REQUIRE(deleted);
  CHECK(deleted->status == 200);
  CHECK(ErrorCodeOf(c.Get("/plugins/" + id), 404) == "not_found_error");
  CHECK(ErrorCodeOf(c.Get("/plugins/" + id + "/archive"), 404) == "not_found_error");
  CHECK(Body(c.Get("/plugins"))["items"].size() == 1);
}

TEST_CASE("every error path answers the envelope with the original's code and status") {
  ServerUnderTest s;
  Client c(s.port, "admin", kAdminPassword);

  // Authentication and tenant.
  CHECK(ErrorCodeOf(Client(s.port, "", "").Get("/blueprints"), 401) == "unauthorized_error");
  CHECK(ErrorCodeOf(Client(s.port, "admin", "wrong").Get("/blueprints"), 401) ==
        "unauthorized_error");
  CHECK(ErrorCodeOf(Client(s.port, "nobody", "x").Get("/blueprints"), 401) == "unauthorized_error");
  Client no_tenant(s.port, "admin", kAdminPassword);
  no_tenant.tenant = "";
  CHECK(ErrorCodeOf(no_tenant.Get("/blueprints"), 403) == "forbidden_error");
  Client bad_tenant(s.port, "admin", kAdminPassword);
  bad_tenant.tenant = "no_such_tenant";
  CHECK(ErrorCodeOf(bad_tenant.Get("/blueprints"), 403) == "forbidden_error");
  // Version and status need no tenant.
  CHECK(no_tenant.Get("/status")->status == 200);
  CHECK(Client(s.port, "", "").Get("/ok")->status == 200);

  // Bodies.
  auto malformed =
      c.http.Put("/api/v3.1/deployments/x", c.Headers(), "{not json", "application/json");
  CHECK(ErrorCodeOf(malformed, 400) == "bad_parameters_error");
  auto text = c.http.Put("/api/v3.1/deployments/x", c.Headers(), "{}", "text/plain");
  CHECK(ErrorCodeOf(text, 415) == "unsupported_content_type_error");
  json big = {{"blueprint_id", std::string(size_t{2} << 20, 'x')}};
  CHECK(ErrorCodeOf(c.Put("/deployments/x", big), 413) == "payload_too_large_error");

  // Not found, with "not found" in the message.
  for (const char* path : {"/blueprints/nope", "/deployments/nope", "/executions/nope",
                           "/node-instances/nope", "/secrets/nope", "/deployments/nope/outputs"}) {
    auto r = c.Get(path);
    CHECK_MESSAGE(ErrorCodeOf(r, 404) == "not_found_error", path);
    CHECK(Body(r)["message"].get<std::string>().find("not found") != std::string::npos);
  }
  CHECK(ErrorCodeOf(c.Delete("/ok"), 405) == "method_not_allowed_error");
  CHECK(ErrorCodeOf(c.http.Patch("/api/v3.1/blueprints", c.Headers(), "{}", "application/json"),
                    405) == "method_not_allowed_error");

  // Blueprints.
  CHECK(ErrorCodeOf(c.Upload("bad", s.BlueprintArchive("tosca_definitions_version: nope\n", "bad")),
                    400) == "invalid_blueprint_error");
  json invalid = Body(c.Get("/blueprints/bad"));
  CHECK(invalid["state"] == "invalid");
  CHECK(!invalid["error"].get<std::string>().empty());
  // An invalid blueprint is replaced by a good upload of the same id.
  CHECK(c.Upload("bad", s.BlueprintArchive())->status == 201);
  CHECK(c.Upload("bp", s.BlueprintArchive())->status == 201);
  CHECK(ErrorCodeOf(c.Upload("bp", s.BlueprintArchive()), 409) == "conflict_error");
  CHECK(ErrorCodeOf(c.Upload("bp2", "not an archive at all"), 400) == "invalid_blueprint_error");
  auto missing = c.http.Put("/api/v3.1/blueprints/bp3", c.Headers(),
                            httplib::MultipartFormDataItems{{"params", "{}", "", ""}});
  CHECK(ErrorCodeOf(missing, 400) == "upload_missing_file");

  // Deployments and executions.
  CHECK(ErrorCodeOf(c.Put("/deployments/d", {{"blueprint_id", "nope"}}), 404) == "not_found_error");
  CHECK(ErrorCodeOf(c.Put("/deployments/d", {{"inputs", json::object()}}), 400) ==
        "bad_parameters_error");
  CHECK(ErrorCodeOf(c.Put("/deployments/d", {{"blueprint_id", "bp"}, {"inputs", {{"nope", 1}}}}),
                    400) == "unknown_deployment_input_error");
  REQUIRE(c.Put("/deployments/d", {{"blueprint_id", "bp"}})->status == 201);
  CHECK(ErrorCodeOf(c.Put("/deployments/d", {{"blueprint_id", "bp"}}), 409) == "conflict_error");
  CHECK(ErrorCodeOf(c.Delete("/blueprints/bp"), 400) == "dependent_exists_error");
  CHECK(ErrorCodeOf(c.StartExecution("d", "no_such_workflow"), 400) ==
        "nonexistent_workflow_error");
  CHECK(ErrorCodeOf(c.StartExecution("nope", "install"), 404) == "not_found_error");
  CHECK(ErrorCodeOf(c.Post("/executions", {{"deployment_id", "d"},
                                           {"workflow_id", "install"},
                                           {"parameters", {{"x", 1}}}}),
                    400) == "illegal_execution_parameters_error");
  CHECK(
      ErrorCodeOf(c.Post("/executions",
                         {{"deployment_id", "d"}, {"workflow_id", "install"}, {"force", "maybe"}}),
                  400) == "bad_parameters_error");
  s.hold = true;
  json running = Body(c.StartExecution("d", "install"));
  CHECK(ErrorCodeOf(c.StartExecution("d", "install"), 400) == "existing_running_execution_error");
  CHECK(ErrorCodeOf(c.Post("/executions/" + running["id"].get<std::string>(), {{"action", "fly"}}),
                    400) == "unknown_action");
  auto cancel = c.Post("/executions/" + running["id"].get<std::string>(), {{"action", "cancel"}});
  REQUIRE(cancel);
  CHECK_MESSAGE(cancel->status == 200, cancel->body);
  s.hold = false;
  json cancelled = c.WaitForExecution(running["id"]);
  CHECK(cancelled["status"] == "cancelled");
  CHECK(
      ErrorCodeOf(c.Post("/executions/" + running["id"].get<std::string>(), {{"action", "cancel"}}),
                  400) == "illegal_action_error");
  auto resumed = c.Post("/executions/" + running["id"].get<std::string>(), {{"action", "resume"}});
  REQUIRE(resumed);
  CHECK_MESSAGE(resumed->status == 200, resumed->body);
  CHECK(c.WaitForExecution(running["id"])["status"] == "terminated");

  // Lists.
  CHECK(ErrorCodeOf(c.Get("/blueprints?_include=id,nope"), 400) == "no_such_include_field_error");
  CHECK(Body(c.Get("/blueprints?_include=id"))["items"][0] == json{{"id", "bad"}});
  CHECK(ErrorCodeOf(c.Get("/blueprints?_size=-1"), 400) == "bad_parameters_error");
  CHECK(ErrorCodeOf(c.Get("/blueprints?no_such_field=1"), 400) == "bad_parameters_error");
  CHECK(ErrorCodeOf(c.Get("/blueprints?_sort=no_such_field"), 400) == "bad_parameters_error");
  json sorted = Body(c.Get("/blueprints?_sort=-id&_size=1"));
  CHECK(sorted["items"].size() == 1);
  CHECK(sorted["items"][0]["id"] == "bp");
  CHECK(sorted["metadata"]["pagination"] == json{{"total", 2}, {"size", 1}, {"offset", 0}});
  CHECK(Body(c.Get("/blueprints?_size=0"))["metadata"]["pagination"]["size"] == 1000);
}

}  // namespace
}  // namespace cloudify::testing
