// Auth, roles, tenant isolation, tokens, users/tenants/groups, secrets and the events stream,
// over HTTP against a real manager.
#include "rest_fixture.h"

namespace cloudify::testing {
namespace {

// admin creates tenant_b and users: alice (user in default_tenant), bob (user in tenant_b),
// vic (viewer in default_tenant), and uploads + deploys in default_tenant.
struct Tenants {
  ServerUnderTest s;
  Client admin{s.port, "admin", kAdminPassword};

  void AddUser(const std::string& name, const std::string& tenant, const std::string& role) {
    auto created = admin.Put("/users", {{"username", name}, {"password", name + "-pw"}});
    REQUIRE(created);
    REQUIRE_MESSAGE(created->status == 201, created->body);
    auto joined =
        admin.Put("/tenants/users", {{"username", name}, {"tenant_name", tenant}, {"role", role}});
    REQUIRE(joined);
    REQUIRE_MESSAGE(joined->status == 200, joined->body);
  }

  Tenants() {
    auto t = admin.Post("/tenants/tenant_b", json::object());
    REQUIRE(t);
    REQUIRE_MESSAGE(t->status == 201, t->body);
    AddUser("alice", "default_tenant", "user");
    AddUser("bob", "tenant_b", "user");
    AddUser("vic", "default_tenant", "viewer");
    REQUIRE(admin.Upload("bp", s.BlueprintArchive())->status == 201);
    REQUIRE(admin.Put("/deployments/dep", {{"blueprint_id", "bp"}})->status == 201);
  }

  Client As(const std::string& user, const std::string& tenant = "default_tenant") {
    Client c(s.port, user, user + "-pw");
    c.tenant = tenant;
    return c;
  }
};

TEST_CASE("a user of tenant B sees, changes and deletes nothing of tenant A") {
  Tenants t;
  Client bob = t.As("bob", "tenant_b");
  CHECK(Body(bob.Get("/blueprints"))["items"].empty());
  CHECK(Body(bob.Get("/deployments"))["items"].empty());
  CHECK(Body(bob.Get("/node-instances"))["items"].empty());
  CHECK(Body(bob.Get("/executions?_include_system_workflows=true"))["items"].empty());
  CHECK(ErrorCodeOf(bob.Get("/blueprints/bp"), 404) == "not_found_error");
  CHECK(ErrorCodeOf(bob.Get("/deployments/dep/outputs"), 404) == "not_found_error");
  CHECK(ErrorCodeOf(bob.Delete("/deployments/dep"), 404) == "not_found_error");
  CHECK(ErrorCodeOf(bob.Delete("/blueprints/bp"), 404) == "not_found_error");
  CHECK(ErrorCodeOf(bob.StartExecution("dep", "install"), 404) == "not_found_error");
  json ni = Body(t.admin.Get("/node-instances?deployment_id=dep"))["items"][0];
  CHECK(ErrorCodeOf(bob.Patch("/node-instances/" + ni["id"].get<std::string>(),
                              {{"version", 1}, {"runtime_properties", {{"x", 1}}}}),
                    404) == "not_found_error");
  auto file = bob.http.Get("/resources/blueprints/default_tenant/bp/blueprint.yaml", bob.Headers());
  CHECK(ErrorCodeOf(file, 403) == "forbidden_error");
  // Asking for tenant A with bob's credentials is refused outright.
  CHECK(ErrorCodeOf(t.As("bob", "default_tenant").Get("/blueprints"), 403) == "forbidden_error");
  // Nothing changed for tenant A.
  CHECK(t.admin.Get("/blueprints/bp")->status == 200);
  CHECK(Body(t.admin.Get("/node-instances/" + ni["id"].get<std::string>()))["version"] ==
        ni["version"]);
  // bob uploads his own blueprint with the same id in his tenant.
  CHECK(bob.Upload("bp", t.s.BlueprintArchive())->status == 201);
  CHECK(Body(bob.Get("/blueprints/bp"))["tenant_name"] == "tenant_b");
  CHECK(Body(t.admin.Get("/blueprints/bp"))["tenant_name"] == "default_tenant");
  // Tenants listed: bob sees his only.
  json tenants = Body(bob.Get("/tenants"));
  REQUIRE(tenants["items"].size() == 1);
  CHECK(tenants["items"][0]["name"] == "tenant_b");
}

TEST_CASE("set-visibility widens only, global is for sys_admin, unique ids and global blueprints") {
  Tenants t;
  Client alice = t.As("alice");
  Client bob = t.As("bob", "tenant_b");
  REQUIRE(alice.Upload("mine", t.s.BlueprintArchive())->status == 201);
  CHECK(ErrorCodeOf(alice.Patch("/blueprints/mine/set-visibility", {{"visibility", "bogus"}}),
                    400) == "bad_parameters_error");
  // tenant -> private narrows: refused, nothing changes.
  CHECK(ErrorCodeOf(alice.Patch("/blueprints/mine/set-visibility", {{"visibility", "private"}}),
                    400) == "illegal_action_error");
  CHECK(Body(t.admin.Get("/blueprints/mine"))["visibility"] == "tenant");
  // Global only for sys_admin.
  CHECK(ErrorCodeOf(alice.Patch("/blueprints/mine/set-visibility", {{"visibility", "global"}}),
                    403) == "forbidden_error");
  CHECK(ErrorCodeOf(bob.Get("/blueprints/mine"), 404) == "not_found_error");

  // A deployment goes global only after its blueprint.
  CHECK(ErrorCodeOf(t.admin.Patch("/deployments/dep/set-visibility", {{"visibility", "global"}}),
                    400) == "illegal_action_error");
  // bob has a blueprint `bp` too: admin's `bp` cannot become global (ids clash).
  REQUIRE(bob.Upload("bp", t.s.BlueprintArchive())->status == 201);
  CHECK(ErrorCodeOf(t.admin.Patch("/blueprints/bp/set-visibility", {{"visibility", "global"}}),
                    409) == "conflict_error");
  CHECK(bob.Delete("/blueprints/bp")->status == 204);
  json global = Body(t.admin.Patch("/blueprints/bp/set-visibility", {{"visibility", "global"}}));
  CHECK(global["visibility"] == "global");
  CHECK(global["resource_availability"] == "global");
  CHECK(Body(bob.Get("/blueprints/bp"))["visibility"] == "global");  // seen from tenant_b
  json dep = Body(t.admin.Patch("/deployments/dep/set-visibility", {{"visibility", "global"}}));
  CHECK(dep["visibility"] == "global");
  CHECK(ErrorCodeOf(t.admin.Patch("/blueprints/bp/set-visibility", {{"visibility", "tenant"}}),
                    400) == "illegal_action_error");

  // Secrets: private -> tenant through set-visibility, not back through PATCH.
  REQUIRE(alice.Put("/secrets/k", {{"value", "v"}, {"visibility", "private"}})->status == 200);
  CHECK(ErrorCodeOf(t.As("vic").Get("/secrets/k"), 404) == "not_found_error");
  CHECK(Body(alice.Patch("/secrets/k/set-visibility", {{"visibility", "tenant"}}))["visibility"] ==
        "tenant");
  CHECK(t.As("vic").Get("/secrets/k")->status == 200);
  CHECK(ErrorCodeOf(alice.Patch("/secrets/k", {{"visibility", "private"}}), 400) ==
        "illegal_action_error");
}

TEST_CASE("a viewer reads but cannot start executions, upload, deploy or write secrets") {
  Tenants t;
  Client vic = t.As("vic");
  CHECK(Body(vic.Get("/blueprints"))["items"].size() == 1);
  CHECK(vic.Get("/deployments/dep")->status == 200);
  CHECK(ErrorCodeOf(vic.StartExecution("dep", "install"), 403) == "forbidden_error");
  CHECK(ErrorCodeOf(vic.Upload("bp2", t.s.BlueprintArchive()), 403) == "forbidden_error");
  CHECK(ErrorCodeOf(vic.Put("/deployments/d2", {{"blueprint_id", "bp"}}), 403) ==
        "forbidden_error");
  CHECK(ErrorCodeOf(vic.Put("/secrets/s", {{"value", "v"}}), 403) == "forbidden_error");
  CHECK(ErrorCodeOf(vic.Get("/users"), 403) == "forbidden_error");
  CHECK(ErrorCodeOf(vic.Post("/tenants/t3", json::object()), 403) == "forbidden_error");
  // alice (user role) may start executions.
  Client alice = t.As("alice");
  auto started = alice.StartExecution("dep", "install");
  REQUIRE(started);
  CHECK_MESSAGE(started->status == 201, started->body);
  CHECK(alice.WaitForExecution(Body(started)["id"])["status"] == "terminated");
  CHECK(Body(alice.Get("/user"))["username"] == "alice");
}

TEST_CASE("tokens: POST /tokens, Authentication-Token, expiry and revocation") {
  Tenants t;
  Client alice = t.As("alice");
  auto created = alice.Post("/tokens", {{"description", "ci"}});
  REQUIRE(created);
  REQUIRE_MESSAGE(created->status == 200, created->body);
  json token = Body(created);
  const std::string value = token["value"];
  CHECK(value.rfind("ctok-", 0) == 0);
  CHECK(token["username"] == "alice");

  httplib::Client http("127.0.0.1", t.s.port);
  httplib::Headers with_token = {{"Authentication-Token", value}, {"Tenant", "default_tenant"}};
  auto listed = http.Get("/api/v3.1/blueprints", with_token);
  REQUIRE(listed);
  CHECK(listed->status == 200);
  // Lists never show the secret again.
  json tokens = Body(alice.Get("/tokens"));
  REQUIRE(tokens["items"].size() == 1);
  CHECK(tokens["items"][0]["value"] == "********");

  // Tokens live in the store: another router over it (another manager process sharing the
  // store, or this one restarted) accepts them.
  {
    rest::RouterOptions options;
    options.admin_password = kAdminPassword;
    options.password_iterations = 1000;
    options.data_dir = (t.s.tmp.path() / "data").string();
    auto router = rest::Router::Create(*t.s.manager, options);
    REQUIRE_MESSAGE(router.ok(), router.status().ToString());
    server::ServerOptions server_options;
    server_options.port = 0;
    server_options.threads = 2;
    auto other = server::HttpServer::Start(server_options, **router);
    REQUIRE_MESSAGE(other.ok(), other.status().ToString());
    httplib::Client other_http("127.0.0.1", (*other)->port());
    auto there = other_http.Get("/api/v3.1/blueprints", with_token);
    REQUIRE(there);
    CHECK(there->status == 200);
  }

  // Revoked: 401 afterwards.
  auto revoked = alice.Delete("/tokens/" + token["id"].get<std::string>());
  REQUIRE(revoked);
  CHECK(revoked->status == 204);
  CHECK(ErrorCodeOf(http.Get("/api/v3.1/blueprints", with_token), 401) == "unauthorized_error");

  // Expired: 401 "Token is expired".
  json old = Body(alice.Post("/tokens", {{"expiration_date", "2000-01-01 00:00"}}));
  auto expired = http.Get(
      "/api/v3.1/blueprints",
      httplib::Headers{{"Authentication-Token", old["value"]}, {"Tenant", "default_tenant"}});
  CHECK(ErrorCodeOf(expired, 401) == "unauthorized_error");
  CHECK(Body(expired)["message"].get<std::string>().find("expired") != std::string::npos);
  auto malformed = http.Get(
      "/api/v3.1/blueprints",
      httplib::Headers{{"Authentication-Token", "ctok-nope"}, {"Tenant", "default_tenant"}});
  CHECK(ErrorCodeOf(malformed, 401) == "unauthorized_error");

  // Deactivating a user revokes their tokens and their logins.
  json fresh = Body(alice.Post("/tokens", json::object()));
  auto deactivated = t.admin.Post("/users/active/alice", {{"action", "deactivate"}});
  REQUIRE(deactivated);
  CHECK(deactivated->status == 200);
  CHECK(ErrorCodeOf(alice.Get("/blueprints"), 401) == "unauthorized_error");
  CHECK(ErrorCodeOf(http.Get("/api/v3.1/blueprints",
                             httplib::Headers{{"Authentication-Token", fresh["value"]},
                                              {"Tenant", "default_tenant"}}),
                    401) == "unauthorized_error");
}

TEST_CASE("users, tenants and user groups: management and roles through groups") {
  Tenants t;
  auto group = t.admin.Post("/user-groups", {{"group_name", "ops"}, {"role", "default"}});
  REQUIRE(group);
  REQUIRE_MESSAGE(group->status == 201, group->body);
  auto created = t.admin.Put("/users", {{"username", "gina"}, {"password", "gina-pw"}});
  REQUIRE(created);
  CHECK(created->status == 201);
  CHECK(Body(created).contains("password_hash") == false);
  Client gina = t.As("gina");
  // No role in the tenant yet.
  CHECK(ErrorCodeOf(gina.Get("/blueprints"), 403) == "forbidden_error");
  REQUIRE(
      t.admin.Put("/user-groups/users", {{"username", "gina"}, {"group_name", "ops"}})->status ==
      200);
  auto joined = t.admin.Put(
      "/tenants/user-groups",
      {{"group_name", "ops"}, {"tenant_name", "default_tenant"}, {"role", "operations"}});
  REQUIRE(joined);
  CHECK_MESSAGE(joined->status == 200, joined->body);
  // operations through the group: may run workflows, may not upload blueprints.
  CHECK(gina.Get("/blueprints")->status == 200);
  auto started = gina.StartExecution("dep", "install");
  REQUIRE(started);
  CHECK(started->status == 201);
  gina.WaitForExecution(Body(started)["id"]);
  CHECK(ErrorCodeOf(gina.Upload("bp2", t.s.BlueprintArchive()), 403) == "forbidden_error");

  json users = Body(t.admin.Get("/users"));
  CHECK(users["metadata"]["pagination"]["total"] == 5);  // admin, alice, bob, vic, gina
  CHECK(Body(t.admin.Get("/user-groups/ops"))["users"] == json{"gina"});
  json tenant = Body(t.admin.Get("/tenants/default_tenant"));
  CHECK(tenant["user_roles"]["groups"]["ops"] == "operations");
  CHECK(ErrorCodeOf(t.admin.Put("/users", {{"username", "gina"}, {"password", "x"}}), 409) ==
        "conflict_error");

  // Password change: the old one stops working.
  REQUIRE(t.admin.Post("/users/gina", {{"password", "new-pw"}})->status == 200);
  CHECK(ErrorCodeOf(gina.Get("/blueprints"), 401) == "unauthorized_error");
  Client gina2(t.s.port, "gina", "new-pw");
  CHECK(gina2.Get("/blueprints")->status == 200);

  // Removing the group from the tenant removes the access.
  auto left = t.admin.http.Delete(
      "/api/v3.1/tenants/user-groups", t.admin.Headers(),
      json({{"group_name", "ops"}, {"tenant_name", "default_tenant"}}).dump(), "application/json");
  REQUIRE(left);
  CHECK(left->status == 204);
  CHECK(ErrorCodeOf(gina2.Get("/blueprints"), 403) == "forbidden_error");

  CHECK(t.admin.Delete("/users/gina")->status == 204);
  CHECK(ErrorCodeOf(t.admin.Get("/users/gina"), 404) == "not_found_error");
  CHECK(ErrorCodeOf(t.admin.Delete("/users/admin"), 400) == "illegal_action_error");
  CHECK(ErrorCodeOf(t.admin.Delete("/tenants/default_tenant"), 400) == "illegal_action_error");
}

TEST_CASE("secrets: hidden values only for their creator and admins, lists carry no values") {
  Tenants t;
  t.AddUser("carol", "default_tenant", "user");
  Client alice = t.As("alice");
  auto put = alice.Put("/secrets/db_password", {{"value", "s3cret"}, {"is_hidden_value", true}});
  REQUIRE(put);
  REQUIRE_MESSAGE(put->status == 200, put->body);
  CHECK(Body(put)["value"] == "s3cret");
  CHECK(Body(alice.Get("/secrets/db_password"))["value"] == "s3cret");
  CHECK(Body(t.admin.Get("/secrets/db_password"))["value"] == "s3cret");
  Client carol = t.As("carol");
  json seen = Body(carol.Get("/secrets/db_password"));
  CHECK(seen["value"] == "");
  CHECK(seen["is_hidden_value"] == true);
  CHECK(ErrorCodeOf(
            carol.Put("/secrets/db_password", {{"value", "mine"}, {"update_if_exists", true}}),
            403) == "forbidden_error");
  CHECK(ErrorCodeOf(carol.Delete("/secrets/db_password"), 403) == "forbidden_error");
  json list = Body(carol.Get("/secrets"));
  REQUIRE(list["items"].size() == 1);
  CHECK_FALSE(list["items"][0].contains("value"));
  CHECK(ErrorCodeOf(alice.Put("/secrets/db_password", {{"value", "x"}}), 409) == "conflict_error");
  CHECK(alice.Put("/secrets/db_password", {{"value", "x"}, {"update_if_exists", "true"}})->status ==
        200);
  CHECK(Body(alice.Get("/secrets/db_password"))["value"] == "x");
  CHECK(ErrorCodeOf(alice.Put("/secrets/empty", {{"value", ""}}), 400) == "bad_parameters_error");
  // Other tenants never see it.
  CHECK(ErrorCodeOf(t.As("bob", "tenant_b").Get("/secrets/db_password"), 404) == "not_found_error");
  CHECK(alice.Delete("/secrets/db_password")->status == 204);
}

TEST_CASE("GET /events/stream follows an execution as Server-Sent Events until it ends") {
  Tenants t;
  t.s.hold = true;
  json ex = Body(t.admin.StartExecution("dep", "install"));
  const std::string id = ex["id"];
  std::string received;
  std::thread release([&] {
    std::this_thread::sleep_for(std::chrono::milliseconds(200));
    t.s.hold = false;
  });
  auto r = t.admin.http.Get("/api/v3.1/events/stream?execution_id=" + id, t.admin.Headers(),
                            [&](const char* data, size_t length) {
                              received.append(data, length);
                              return true;
                            });
  release.join();
  REQUIRE(r);
  CHECK(r->status == 200);
  CHECK(r->get_header_value("Content-Type") == "text/event-stream");
  CHECK(received.find("workflow_started") != std::string::npos);
  CHECK(received.find("workflow_succeeded") != std::string::npos);
  CHECK(received.find("event: end\ndata: {\"execution_id\":\"" + id +
                      "\",\"status\":\"terminated\"}") != std::string::npos);
  // Every event arrived once: the ids strictly increase.
  int64_t last = 0;
  size_t pos = 0;
  int count = 0;
  while ((pos = received.find("\nid: ", pos)) != std::string::npos ||
         (count == 0 && received.rfind("id: ", 0) == 0 && (pos = 0, true))) {
    size_t start = received.find("id: ", pos) + 4;
    int64_t value = std::stoll(received.substr(start, received.find('\n', start) - start));
    CHECK(value > last);
    last = value;
    ++count;
    pos = start;
  }
  CHECK(count > 3);
  CHECK(ErrorCodeOf(t.admin.Get("/events/stream"), 400) == "bad_parameters_error");
  CHECK(ErrorCodeOf(t.admin.Get("/events/stream?execution_id=nope"), 404) == "not_found_error");
  CHECK(ErrorCodeOf(t.As("bob", "tenant_b").Get("/events/stream?execution_id=" + id), 404) ==
        "not_found_error");
}

}  // namespace
}  // namespace cloudify::testing

namespace cloudify::testing {
namespace {

TEST_CASE("agents register for a node instance, report their state, and stay in their tenant") {
  Tenants t;
  json vm = Body(t.admin.Get("/node-instances?deployment_id=dep&node_id=vm"))["items"][0];
  const std::string vm_id = vm["id"];
  Client alice = t.As("alice");
  auto put = alice.Put("/agents/" + vm_id, {{"node_instance_id", vm_id},
                                            {"state", "creating"},
                                            {"ip", "10.0.0.7"},
                                            {"install_method", "provided"},
                                            {"system", "linux"},
                                            {"version", "7.0.0"},
                                            {"create_rabbitmq_user", false}});
  REQUIRE(put);
  REQUIRE_MESSAGE(put->status == 201, put->body);
  json agent = Body(put);
  CHECK(agent["name"] == vm_id);
  CHECK(agent["node_id"] == "vm");
  CHECK(agent["deployment_id"] == "dep");
  CHECK(agent["host_id"] == vm_id);
  CHECK(agent["state"] == "creating");
  CHECK(agent["rabbitmq_exchange"] == vm_id);
  CHECK(agent["created_by"] == "alice");
  CHECK(agent["tenant_name"] == "default_tenant");
  // Registering again (a reinstall) returns the agent as it is.
  auto again = alice.Put("/agents/" + vm_id, {{"node_instance_id", vm_id}, {"state", "started"}});
  REQUIRE(again);
  CHECK(again->status == 200);
  CHECK(Body(again)["state"] == "creating");

  auto patched = alice.Patch("/agents/" + vm_id, {{"state", "started"}, {"version", "7.0.1"}});
  REQUIRE(patched);
  REQUIRE_MESSAGE(patched->status == 200, patched->body);
  CHECK(Body(patched)["state"] == "started");
  CHECK(Body(patched)["version"] == "7.0.1");
  CHECK(Body(patched)["updated_at"] >= agent["updated_at"]);

  Client vic = t.As("vic");
  json listed = Body(vic.Get("/agents?node_instance_ids=" + vm_id + "&state=started"));
  REQUIRE(listed["items"].size() == 1);
  CHECK(listed["items"][0]["ip"] == "10.0.0.7");
  CHECK(listed["items"][0].contains("rabbitmq_username") == false);
  CHECK(listed["metadata"]["pagination"]["total"] == 1);
  CHECK(Body(vic.Get("/agents?deployment_id=dep&install_methods=remote"))["items"].empty());
  CHECK(Body(vic.Get("/agents/" + vm_id)).contains("rabbitmq_username"));
  // A viewer reads but may not register or report.
  CHECK(ErrorCodeOf(vic.Patch("/agents/" + vm_id, {{"state", "stopped"}}), 403) ==
        "forbidden_error");
  CHECK(ErrorCodeOf(vic.Put("/agents/x", {{"node_instance_id", vm_id}, {"state", "creating"}}),
                    403) == "forbidden_error");
  // Bad input changes nothing.
  CHECK(ErrorCodeOf(alice.Patch("/agents/" + vm_id, {{"state", "running"}}), 400) ==
        "bad_parameters_error");
  CHECK(
      ErrorCodeOf(alice.Put("/agents/a2", {{"node_instance_id", "ghost_1"}, {"state", "started"}}),
                  404) == "not_found_error");
  CHECK(ErrorCodeOf(alice.Put("/agents/a2", {{"state", "started"}}), 400) ==
        "bad_parameters_error");
  CHECK(ErrorCodeOf(alice.Put("/agents/a2", {{"node_instance_id", vm_id}}), 400) ==
        "bad_parameters_error");
  CHECK(ErrorCodeOf(alice.Get("/agents/a2"), 404) == "not_found_error");
  CHECK(Body(alice.Get("/agents/" + vm_id))["state"] == "started");
  // Another tenant sees none of them, and cannot register for this tenant's instance.
  Client bob = t.As("bob", "tenant_b");
  CHECK(Body(bob.Get("/agents"))["items"].empty());
  CHECK(ErrorCodeOf(bob.Get("/agents/" + vm_id), 404) == "not_found_error");
  CHECK(ErrorCodeOf(bob.Put("/agents/b1", {{"node_instance_id", vm_id}, {"state", "started"}}),
                    404) == "not_found_error");
}

}  // namespace
}  // namespace cloudify::testing
