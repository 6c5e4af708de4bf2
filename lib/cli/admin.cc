// cfy tenants, users, user-groups (administrators) and status.
#include "cli/commands.h"

namespace cloudify::cli {
namespace {

using nlohmann::json;

const std::vector<std::string> kTenantColumns = {"name", "groups", "users", "user_roles"};
const std::vector<std::string> kUserColumns = {
    "username", "groups", "role", "group_system_roles", "active", "last_login_at", "is_locked"};
const std::vector<std::string> kGroupColumns = {"name", "role", "tenants", "users"};

// One REST call whose answer is only reported as done (or its error).
struct Call {
  std::string method;  // GET, PUT, POST, PATCH, DELETE
  std::string path;
  json body;
  std::string done;  // printed on success
};

int Run(Session& session, const Call& call) {
  auto client = session.Client();
  if (!client.ok()) {
    return session.Fail(client.status());
  }
  client::RestClient& c = **client;
  Result<json> answer = call.method == "PUT"      ? c.Put(call.path, call.body)
                        : call.method == "POST"   ? c.Post(call.path, call.body)
                        : call.method == "PATCH"  ? c.Patch(call.path, call.body)
                        : call.method == "DELETE" ? c.Delete(call.path)
                                                  : c.Get(call.path);
  if (!answer.ok()) {
    return session.Fail(answer.status());
  }
  session.Info(call.done);
  return 0;
}

int List(Session& session, const std::string& path, const std::vector<std::string>& columns,
         const std::string& title, const std::string& what) {
  auto client = session.Client();
  if (!client.ok()) {
    return session.Fail(client.status());
  }
  session.Info("Listing all " + what + "...");
  auto page = (*client)->List(path);
  if (!page.ok()) {
    return session.Fail(page.status());
  }
  session.PrintList(columns, page->items, title);
  session.PrintShowing(page->items.size(), page->total, what);
  return 0;
}

int Get(Session& session, const std::string& path, const std::vector<std::string>& columns,
        const std::string& title) {
  auto client = session.Client();
  if (!client.ok()) {
    return session.Fail(client.status());
  }
  auto item = (*client)->Get(path);
  if (!item.ok()) {
    return session.Fail(item.status());
  }
  session.PrintOne(columns, *item, title);
  return 0;
}

struct Args {
  std::string name;
  std::string user;
  std::string tenant;
  std::string group;
  std::string role;
  std::string password;
};

void AddTenants(CLI::App& app, Session& session, Action& action, std::shared_ptr<Args> a) {
  CLI::App* tenants = app.add_subcommand("tenants", "Handle tenants (administrators)");
  tenants->require_subcommand(1);
  OnRun(tenants->add_subcommand("list", "List tenants"), action,
        [&session] { return List(session, "/tenants", kTenantColumns, "Tenants:", "tenants"); });
  CLI::App* create = tenants->add_subcommand("create", "Create a tenant");
  create->add_option("tenant_name", a->name, "The tenant's name")->required();
  OnRun(create, action, [&session, a] {
    return Run(session,
               {"POST", "/tenants/" + a->name, json::object(), "Tenant `" + a->name + "` created"});
  });
  CLI::App* get = tenants->add_subcommand("get", "Retrieve a tenant");
  get->add_option("tenant_name", a->name, "The tenant's name")->required();
  OnRun(get, action, [&session, a] {
    return Get(session, "/tenants/" + a->name, kTenantColumns, "Requested tenant info:");
  });
  CLI::App* del = tenants->add_subcommand("delete", "Delete a tenant");
  del->add_option("tenant_name", a->name, "The tenant's name")->required();
  OnRun(del, action, [&session, a] {
    return Run(session,
               {"DELETE", "/tenants/" + a->name, nullptr, "Tenant `" + a->name + "` deleted"});
  });
  CLI::App* add_user = tenants->add_subcommand("add-user", "Add a user to a tenant");
  add_user->add_option("username", a->user, "The user")->required();
  add_user->add_option("-t,--tenant-name", a->tenant, "The tenant")->required();
  add_user->add_option("-r,--role", a->role, "The user's role in the tenant")->default_val("user");
  OnRun(add_user, action, [&session, a] {
    return Run(session,
               {"PUT",
                "/tenants/users",
                {{"username", a->user}, {"tenant_name", a->tenant}, {"role", a->role}},
                "User `" + a->user + "` added successfully to tenant `" + a->tenant + "`"});
  });
  CLI::App* remove_user = tenants->add_subcommand("remove-user", "Remove a user from a tenant");
  remove_user->add_option("username", a->user, "The user")->required();
  remove_user->add_option("-t,--tenant-name", a->tenant, "The tenant")->required();
  OnRun(remove_user, action, [&session, a] {
    return Run(session,
               {"DELETE",
                "/tenants/users",
                {{"username", a->user}, {"tenant_name", a->tenant}},
                "User `" + a->user + "` removed successfully from tenant `" + a->tenant + "`"});
  });
}

void AddUsers(CLI::App& app, Session& session, Action& action, std::shared_ptr<Args> a) {
  CLI::App* users = app.add_subcommand("users", "Handle users (administrators)");
  users->require_subcommand(1);
  OnRun(users->add_subcommand("list", "List users"), action,
        [&session] { return List(session, "/users", kUserColumns, "Users:", "users"); });
  CLI::App* create = users->add_subcommand("create", "Create a user");
  create->add_option("username", a->user, "The user's name")->required();
  create->add_option("-p,--password", a->password, "The user's password")->required();
  create->add_option("-r,--security-role", a->role, "The system role: sys_admin or default")
      ->default_val("default");
  create->add_option("-t,--tenant-name", a->tenant, "A tenant to add the user to");
  OnRun(create, action, [&session, a] {
    int code =
        Run(session, {"PUT",
                      "/users",
                      {{"username", a->user}, {"password", a->password}, {"role", a->role}},
                      "User `" + a->user + "` created with `" + a->role + "` security role"});
    if (code == 0 && !a->tenant.empty()) {
      code =
          Run(session, {"PUT",
                        "/tenants/users",
                        {{"username", a->user}, {"tenant_name", a->tenant}, {"role", "user"}},
                        "User `" + a->user + "` added successfully to tenant `" + a->tenant + "`"});
    }
    return code;
  });
  CLI::App* get = users->add_subcommand("get", "Retrieve a user");
  get->add_option("username", a->user, "The user's name")->required();
  OnRun(get, action, [&session, a] {
    return Get(session, "/users/" + a->user, kUserColumns, "Requested user info:");
  });
  CLI::App* del = users->add_subcommand("delete", "Delete a user");
  del->add_option("username", a->user, "The user's name")->required();
  OnRun(del, action, [&session, a] {
    return Run(session, {"DELETE", "/users/" + a->user, nullptr, "User removed"});
  });
  CLI::App* password = users->add_subcommand("set-password", "Set a user's password");
  password->add_option("username", a->user, "The user's name")->required();
  password->add_option("-p,--password", a->password, "The new password")->required();
  OnRun(password, action, [&session, a] {
    return Run(
        session,
        {"POST", "/users/" + a->user, {{"password", a->password}}, "User's password updated"});
  });
  CLI::App* role = users->add_subcommand("set-role", "Set a user's system role");
  role->add_option("username", a->user, "The user's name")->required();
  role->add_option("-r,--security-role", a->role, "sys_admin or default")->required();
  OnRun(role, action, [&session, a] {
    return Run(session, {"POST",
                         "/users/" + a->user,
                         {{"role", a->role}},
                         "New role `" + a->role + "` set to user `" + a->user + "`"});
  });
}

void AddGroups(CLI::App& app, Session& session, Action& action, std::shared_ptr<Args> a) {
  CLI::App* groups = app.add_subcommand("user-groups", "Handle user groups (administrators)");
  groups->require_subcommand(1);
  OnRun(groups->add_subcommand("list", "List user groups"), action, [&session] {
    return List(session, "/user-groups", kGroupColumns, "Groups:", "user groups");
  });
  CLI::App* create = groups->add_subcommand("create", "Create a user group");
  create->add_option("group_name", a->group, "The group's name")->required();
  create->add_option("-r,--security-role", a->role, "The group's system role")
      ->default_val("default");
  OnRun(create, action, [&session, a] {
    return Run(session, {"POST",
                         "/user-groups",
                         {{"group_name", a->group}, {"role", a->role}},
                         "Group `" + a->group + "` created"});
  });
  CLI::App* del = groups->add_subcommand("delete", "Delete a user group");
  del->add_option("group_name", a->group, "The group's name")->required();
  OnRun(del, action, [&session, a] {
    return Run(session,
               {"DELETE", "/user-groups/" + a->group, nullptr, "Group `" + a->group + "` deleted"});
  });
  CLI::App* add_user = groups->add_subcommand("add-user", "Add a user to a group");
  add_user->add_option("username", a->user, "The user")->required();
  add_user->add_option("-g,--group-name", a->group, "The group")->required();
  OnRun(add_user, action, [&session, a] {
    return Run(session,
               {"PUT",
                "/user-groups/users",
                {{"username", a->user}, {"group_name", a->group}},
                "User `" + a->user + "` added successfully to user group `" + a->group + "`"});
  });
  CLI::App* remove_user = groups->add_subcommand("remove-user", "Remove a user from a group");
  remove_user->add_option("username", a->user, "The user")->required();
  remove_user->add_option("-g,--group-name", a->group, "The group")->required();
  OnRun(remove_user, action, [&session, a] {
    return Run(session,
               {"DELETE",
                "/user-groups/users",
                {{"username", a->user}, {"group_name", a->group}},
                "User `" + a->user + "` removed successfully from user group `" + a->group + "`"});
  });
}

int ShowStatus(Session& session) {
  auto client = session.Client();
  if (!client.ok()) {
    return session.Fail(client.status());
  }
  session.Info("Retrieving manager services status... [ip=" + (*client)->options().host + "]");
  auto status = (*client)->Get("/status");
  if (!status.ok()) {
    return session.Fail(status.status());
  }
  if (session.json) {
    session.out << status->dump() << "\n";
    return 0;
  }
  json rows = json::array();
  const json services = status->value("services", json::object());
  for (auto it = services.begin(); it != services.end(); ++it) {
    rows.push_back({{"service", it.key()}, {"status", it->value("status", json())}});
  }
  session.PrintList({"service", "status"}, rows, "Services:");
  session.Info("Manager status: " + CellText(status->value("status", json())));
  return 0;
}

}  // namespace

void AddAdminCommands(CLI::App& app, Session& session, Action& action) {
  auto args = std::make_shared<Args>();
  AddTenants(app, session, action, args);
  AddUsers(app, session, action, args);
  AddGroups(app, session, action, args);
  OnRun(app.add_subcommand("status", "Show the manager's status"), action,
        [&session] { return ShowStatus(session); });
}

}  // namespace cloudify::cli
