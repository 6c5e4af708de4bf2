// cfy against a real manager: the embedded Manager behind the real REST server on a free
// loopback port (the blueprint's operations are C++ handlers registered in the test's Manager).
#include <algorithm>
#include <cstdlib>
#include <sstream>

#include <doctest/doctest.h>

#include "cloudify/cli/cfy.h"

#include "server/rest_fixture.h"

namespace cloudify::cli {
namespace {

using nlohmann::json;
using testing::kAdminPassword;
using testing::ServerUnderTest;

struct WorkDirScope {
  WorkDirScope() { setenv("CFY_WORKDIR", dir.path().c_str(), 1); }
  ~WorkDirScope() { unsetenv("CFY_WORKDIR"); }
  testing::TempDir dir;
};

struct Run {
  int code;
  std::string out;
  std::string err;
};

Run Cfy(std::vector<std::string> args) {
  args.insert(args.begin(), "cfy");
  std::ostringstream out;
  std::ostringstream err;
  int code = RunCfy(args, out, err);
  return Run{code, out.str(), err.str()};
}

bool Contains(const std::string& text, const std::string& part) {
  return text.find(part) != std::string::npos;
}

// A blueprint folder with the fixture's blueprint (or `yaml`) as blueprint.yaml.
std::string BlueprintFolder(ServerUnderTest& server, const std::string& name,
                            const std::string& yaml = testing::kTestBlueprint) {
  auto folder = server.tmp.path() / name;
  std::filesystem::create_directories(folder);
  std::ofstream(folder / "blueprint.yaml") << yaml;
  return folder.string();
}

void UseAdmin(const ServerUnderTest& server) {
  Run use = Cfy({"profiles", "use", "127.0.0.1", "--rest-port", std::to_string(server.port), "-u",
                 "admin", "-p", kAdminPassword, "-t", "default_tenant"});
  REQUIRE_MESSAGE(use.code == 0, use.err);
}

TEST_CASE("the everyday flow: profiles use, install, execute_operation, events, uninstall") {
  ServerUnderTest server;
  WorkDirScope scope;
  UseAdmin(server);
  const std::string folder = BlueprintFolder(server, "app");

  Run install = Cfy({"install", folder, "-b", "app", "-d", "app-1", "-i", "port=9090"});
  REQUIRE_MESSAGE(install.code == 0, install.out << install.err);
  CHECK(Contains(install.out, "Blueprint uploaded. The blueprint's id is app"));
  CHECK(Contains(install.out, "Deployment created. The deployment's id is app-1"));
  CHECK(Contains(install.out, "Executing workflow `install` on deployment `app-1`"));
  CHECK(Contains(install.out, "CFY <app-1>"));
  CHECK(Contains(install.out, "Finished executing workflow install on deployment app-1"));

  Run instances = Cfy({"node-instances", "list", "-d", "app-1", "--json"});
  REQUIRE(instances.code == 0);
  json items = json::parse(instances.out);
  REQUIRE(items.size() == 2);
  for (const auto& instance : items) {
    CHECK(instance["state"] == "started");
    CHECK(instance["deployment_id"] == "app-1");
  }

  Run outputs = Cfy({"deployments", "outputs", "app-1", "--json"});
  REQUIRE(outputs.code == 0);
  CHECK(json::parse(outputs.out)["url"] == "http://10.0.0.7:9090");
  Run table = Cfy({"deployments", "list"});
  REQUIRE(table.code == 0);
  CHECK(Contains(table.out, "| app-1 |"));
  CHECK(Contains(table.out, "Showing 1 of 1 deployments"));

  Run operation = Cfy({"executions", "start", "execute_operation", "-d", "app-1", "-p",
                       "operation=cloudify.interfaces.lifecycle.start", "--json"});
  REQUIRE_MESSAGE(operation.code == 0, operation.out << operation.err);

  Run executions = Cfy({"executions", "list", "-d", "app-1", "--json"});
  REQUIRE(executions.code == 0);
  std::string operation_id;
  int terminated = 0;
  for (const auto& execution : json::parse(executions.out)) {
    if (execution["workflow_id"] == "execute_operation") {
      operation_id = execution["id"];
    }
    terminated += execution["status_display"] == "completed" ? 1 : 0;
  }
  CHECK(terminated == 2);  // install and execute_operation; system workflows hidden
  REQUIRE_FALSE(operation_id.empty());

  // A dry run of uninstall prints its marked trace and uninstalls nothing.
  Run dry = Cfy({"executions", "start", "uninstall", "-d", "app-1", "--dry-run"});
  REQUIRE_MESSAGE(dry.code == 0, dry.out << dry.err);
  CHECK(Contains(dry.out, "cloudify.interfaces.lifecycle.delete"));
  CHECK(Contains(dry.out, "(dry run)"));
  for (const auto& ni : json::parse(Cfy({"node-instances", "list", "-d", "app-1", "--json"}).out)) {
    CHECK(ni["state"] == "started");
  }

  Run events = Cfy({"events", "list", "-e", operation_id, "--json"});
  REQUIRE(events.code == 0);
  std::istringstream lines(events.out);
  std::vector<std::string> types;
  for (std::string line; std::getline(lines, line);) {
    types.push_back(json::parse(line).value("event_type", ""));
  }
  CHECK(std::count(types.begin(), types.end(), "workflow_started") == 1);
  CHECK(std::count(types.begin(), types.end(), "workflow_succeeded") == 1);
  CHECK(std::count(types.begin(), types.end(), "task_succeeded") == 2);  // one per instance

  // The downloaded archive uploads again as another blueprint.
  const std::string archive = (server.tmp.path() / "app-download.tar.gz").string();
  Run download = Cfy({"blueprints", "download", "app", "-o", archive});
  REQUIRE_MESSAGE(download.code == 0, download.err);
  Run again = Cfy({"blueprints", "upload", archive, "-b", "app-copy"});
  REQUIRE_MESSAGE(again.code == 0, again.err);
  CHECK(Cfy({"blueprints", "delete", "app-copy"}).code == 0);

  Run uninstall = Cfy({"uninstall", "app-1"});
  REQUIRE_MESSAGE(uninstall.code == 0, uninstall.out << uninstall.err);
  CHECK(Contains(uninstall.out, "Finished executing workflow uninstall on deployment app-1"));
  CHECK(json::parse(Cfy({"deployments", "list", "--json"}).out).empty());
  CHECK(json::parse(Cfy({"blueprints", "list", "--json"}).out).empty());
}

TEST_CASE("a failed execution makes `executions start` exit 1 with the error") {
  ServerUnderTest server;
  server.manager->operations().Add(
      "p.tasks.fail", [](workflow::OperationContext& ctx) { ctx.Fail("the disk is full"); });
  WorkDirScope scope;
  UseAdmin(server);
  std::string yaml = testing::kTestBlueprint;
  yaml.replace(yaml.find("create: p.tasks.create"), 22, "create: p.tasks.fail");
  const std::string folder = BlueprintFolder(server, "broken", yaml);
  REQUIRE(Cfy({"blueprints", "upload", folder, "-b", "broken"}).code == 0);
  REQUIRE(Cfy({"deployments", "create", "-b", "broken", "broken-1"}).code == 0);
  Run run = Cfy({"executions", "start", "install", "-d", "broken-1"});
  CHECK(run.code == 1);
  CHECK(Contains(run.err, "Execution of workflow install for deployment broken-1 failed."));
  CHECK(Contains(run.err, "the disk is full"));
}

TEST_CASE("errors print the manager's message and code on one line and exit 1") {
  ServerUnderTest server;
  WorkDirScope scope;
  Run wrong = Cfy({"profiles", "use", "127.0.0.1", "--rest-port", std::to_string(server.port), "-u",
                   "admin", "-p", "not-the-password"});
  CHECK(wrong.code == 1);
  CHECK(Contains(wrong.err, "(unauthorized_error)"));
  CHECK(std::count(wrong.err.begin(), wrong.err.end(), '\n') == 1);

  UseAdmin(server);
  Run missing = Cfy({"deployments", "get", "nope"});
  CHECK(missing.code == 1);
  CHECK(Contains(missing.err, "not found"));
  CHECK(Contains(missing.err, "(not_found_error)"));
  CHECK(std::count(missing.err.begin(), missing.err.end(), '\n') == 1);
  Run start = Cfy({"executions", "start", "install", "-d", "nope"});
  CHECK(start.code == 1);
  CHECK(Contains(start.err, "(not_found_error)"));
}

TEST_CASE("secrets, tenants and users through cfy, as an administrator") {
  ServerUnderTest server;
  WorkDirScope scope;
  UseAdmin(server);
  CHECK(Cfy({"secrets", "create", "db_password", "-s", "hunter2"}).code == 0);
  Run secret = Cfy({"secrets", "get", "db_password", "--json"});
  REQUIRE(secret.code == 0);
  CHECK(json::parse(secret.out)["value"] == "hunter2");
  CHECK(Cfy({"secrets", "update", "db_password", "-s", "hunter3"}).code == 0);
  CHECK(json::parse(Cfy({"secrets", "get", "db_password", "--json"}).out)["value"] == "hunter3");
  Run secrets = Cfy({"secrets", "list", "--json"});
  REQUIRE(secrets.code == 0);
  REQUIRE(json::parse(secrets.out).size() == 1);
  Run global = Cfy({"secrets", "set-visibility", "db_password", "-l", "global"});
  CHECK_MESSAGE(global.code == 0, global.err);
  CHECK(Contains(global.out + global.err, "Secret `db_password` was set to global"));
  CHECK(json::parse(Cfy({"secrets", "get", "db_password", "--json"}).out)["visibility"] ==
        "global");
  Run narrower = Cfy({"secrets", "set-visibility", "db_password", "-l", "tenant"});
  CHECK(narrower.code == 1);
  CHECK(Contains(narrower.err, "illegal_action_error"));
  CHECK(Cfy({"secrets", "delete", "db_password"}).code == 0);
  CHECK(json::parse(Cfy({"secrets", "list", "--json"}).out).empty());

  CHECK(Cfy({"tenants", "create", "team-b"}).code == 0);
  CHECK(Cfy({"users", "create", "bob", "-p", "bob-password-1"}).code == 0);
  CHECK(Cfy({"tenants", "add-user", "bob", "-t", "team-b", "-r", "viewer"}).code == 0);
  Run tenants = Cfy({"tenants", "list", "--json"});
  REQUIRE(tenants.code == 0);
  bool found = false;
  for (const auto& tenant : json::parse(tenants.out)) {
    found = found || tenant["name"] == "team-b";
  }
  CHECK(found);

  // Bob, a viewer in team-b, may look but not deploy.
  setenv("CLOUDIFY_USERNAME", "bob", 1);
  setenv("CLOUDIFY_PASSWORD", "bob-password-1", 1);
  setenv("CLOUDIFY_TENANT", "team-b", 1);
  Run look = Cfy({"deployments", "list", "--json"});
  Run deploy = Cfy({"deployments", "create", "-b", "nothing", "d"});
  unsetenv("CLOUDIFY_USERNAME");
  unsetenv("CLOUDIFY_PASSWORD");
  unsetenv("CLOUDIFY_TENANT");
  CHECK(look.code == 0);
  CHECK(deploy.code == 1);
  CHECK(Contains(deploy.err, "(forbidden_error)"));
}

TEST_CASE("plugins and agents through cfy: upload with its YAML, list, get, download, delete") {
  namespace fs = std::filesystem;
  ServerUnderTest server;
  WorkDirScope scope;
  UseAdmin(server);
  // A wagon: <top>/package.json and a wheel, tar.gz.
  const fs::path top = server.tmp.path() / "cfy-mock-plugin-2.0";
  fs::create_directories(top / "wheels");
  std::ofstream(top / "wheels" / "cfy_mock_plugin-2.0-py3-none-any.whl") << "wheel";
  std::ofstream(top / "package.json")
      << json{{"package_name", "cfy-mock-plugin"},
              {"package_version", "2.0"},
              {"supported_platform", "any"},
              {"build_server_os_properties", {{"distribution", "debian"}}},
              {"wheels", {"cfy_mock_plugin-2.0-py3-none-any.whl"}}}
             .dump();
  const fs::path wagon = server.tmp.path() / "cfy_mock_plugin-2.0.wgn";
  REQUIRE(CreateTarGz(top, wagon).ok());
  const fs::path yaml = server.tmp.path() / "plugin.yaml";
  std::ofstream(yaml) << "plugins:\n  mock: {executor: central_deployment_agent}\n";

  Run uploaded = Cfy({"plugins", "upload", wagon.string(), "-y", yaml.string(), "-t", "Mock"});
  REQUIRE_MESSAGE(uploaded.code == 0, uploaded.err);
  CHECK(Contains(uploaded.out + uploaded.err, "Plugin uploaded. Plugin's id is "));
  Run listed = Cfy({"plugins", "list", "--json"});
  REQUIRE(listed.code == 0);
  const json plugins = json::parse(listed.out);
  REQUIRE(plugins.size() == 1);
  const std::string id = plugins[0]["id"];
  CHECK(plugins[0]["package_name"] == "cfy-mock-plugin");
  CHECK(plugins[0]["yaml_url_path"] == "plugin:cfy-mock-plugin?version=2.0&distribution=debian");
  Run got = Cfy({"plugins", "get", id, "--json"});
  REQUIRE(got.code == 0);
  CHECK(json::parse(got.out)["package_version"] == "2.0");
  testing::Client admin(server.port, "admin", kAdminPassword);
  CHECK(testing::Body(admin.Get("/plugins/" + id))["title"] == "Mock");
  const fs::path downloaded = server.tmp.path() / "downloaded.wgn";
  REQUIRE(Cfy({"plugins", "download", id, "-o", downloaded.string()}).code == 0);
  std::ifstream a(wagon, std::ios::binary), b(downloaded, std::ios::binary);
  std::stringstream wagon_bytes, downloaded_bytes;
  wagon_bytes << a.rdbuf();
  downloaded_bytes << b.rdbuf();
  CHECK(wagon_bytes.str() == downloaded_bytes.str());
  // The same package again is refused with the manager's code.
  Run again = Cfy({"plugins", "upload", wagon.string()});
  CHECK(again.code == 1);
  CHECK(Contains(again.err, "(conflict_error)"));
  CHECK(Cfy({"plugins", "delete", id}).code == 0);
  CHECK(json::parse(Cfy({"plugins", "list", "--json"}).out).empty());

  // Agents: one registered for the deployment's instance is listed, filtered by its host.
  REQUIRE(Cfy({"install", BlueprintFolder(server, "bp"), "-b", "bp", "-d", "dep"}).code == 0);
  json instance = json::parse(Cfy({"node-instances", "list", "-d", "dep", "--json"}).out)[0];
  auto registered = admin.Put(
      "/agents/agent-1",
      {{"node_instance_id", instance["id"]}, {"state", "started"}, {"install_method", "provided"}});
  REQUIRE(registered);
  REQUIRE(registered->status == 201);
  Run agents = Cfy({"agents", "list", "-d", "dep", "--json"});
  REQUIRE_MESSAGE(agents.code == 0, agents.err);
  REQUIRE(json::parse(agents.out).size() == 1);
  CHECK(json::parse(agents.out)[0]["id"] == "agent-1");
  CHECK(json::parse(Cfy({"agents", "list", "--install-method", "remote", "--json"}).out).empty());
}

}  // namespace
}  // namespace cloudify::cli
