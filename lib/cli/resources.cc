// cfy deployments, nodes, node-instances, secrets, and the list flags they share.
#include <cctype>
#include <chrono>
#include <filesystem>
#include <fstream>
#include <thread>

#include "cli/commands.h"

#include "cloudify/archive.h"
#include "cloudify/files.h"
#include "cloudify/ids.h"

namespace cloudify::cli {

using nlohmann::json;

void ListArgs::AddTo(CLI::App* command) {
  command->add_option("--sort-by", sort_by, "Key for sorting the list");
  command->add_flag("--descending", descending, "Sort in descending order");
  command->add_option("-o,--pagination-offset", offset, "The number of items to skip");
  command->add_option("-s,--pagination-size", size, "The maximum number of items to list");
  command->add_flag("-a,--all-tenants", all_tenants, "Include resources of all tenants");
  command->add_option("--search", search, "Only ids containing this text");
}

client::QueryParams ListArgs::Query() const {
  client::QueryParams query = filters;
  query.emplace_back("_offset", std::to_string(offset));
  query.emplace_back("_size", std::to_string(size));
  if (!sort_by.empty()) {
    query.emplace_back("_sort", (descending ? "-" : "") + sort_by);
  }
  if (all_tenants) {
    query.emplace_back("_all_tenants", "true");
  }
  if (!search.empty()) {
    query.emplace_back("_search", search);
  }
  return query;
}

namespace {

const std::vector<std::string> kDeploymentColumns = {
    "id",         "display_name", "blueprint_id",      "created_at",
    "updated_at", "visibility",   "tenant_name",       "created_by",
    "site_name",  "labels",       "deployment_status", "installation_status"};
const std::vector<std::string> kNodeColumns = {
    "id",   "deployment_id", "blueprint_id", "host_id",
    "type", "visibility",    "tenant_name",  "actual_number_of_instances"};
const std::vector<std::string> kNodeInstanceColumns = {"id",          "deployment_id", "host_id",
                                                       "node_id",     "state",         "visibility",
                                                       "tenant_name", "created_by"};
const std::vector<std::string> kSecretColumns = {
    "key",         "created_at", "updated_at",     "visibility",
    "tenant_name", "created_by", "is_hidden_value"};

// Runs `call` with the session's client, printing the error if either fails.
template <class Call>
int WithClient(Session& session, Call call) {
  auto client = session.Client();
  if (!client.ok()) {
    return session.Fail(client.status());
  }
  return call(**client);
}

}  // namespace

void AddSetVisibility(CLI::App* group, Session& session, Action& action,
                      const std::string& collection, const std::string& what) {
  auto id = std::make_shared<std::string>();
  auto visibility = std::make_shared<std::string>();
  CLI::App* set = group->add_subcommand("set-visibility", "Widen a " + what + "'s visibility");
  set->add_option(what == "secret" ? "key" : what + "_id", *id, "The " + what)->required();
  set->add_option("-l,--visibility", *visibility, "tenant or global (only ever wider)")
      ->required()
      ->check(CLI::IsMember({"private", "tenant", "global"}));
  OnRun(set, action, [&session, id, visibility, collection, what] {
    return WithClient(session, [&](client::RestClient& client) {
      auto changed = client.Patch("/" + collection + "/" + *id + "/set-visibility",
                                  {{"visibility", *visibility}});
      if (!changed.ok()) {
        return session.Fail(changed.status());
      }
      std::string name = what;
      name[0] = static_cast<char>(std::toupper(static_cast<unsigned char>(name[0])));
      session.Info(name + " `" + *id + "` was set to " + *visibility);
      return 0;
    });
  });
}

namespace {

int ListResource(Session& session, const std::string& path, const ListArgs& args,
                 const std::vector<std::string>& columns, const std::string& title,
                 const std::string& what) {
  return WithClient(session, [&](client::RestClient& client) {
    session.Info("Listing " + what + "...");
    auto page = client.List(path, args.Query());
    if (!page.ok()) {
      return session.Fail(page.status());
    }
    session.PrintList(columns, page->items, title);
    session.PrintShowing(page->items.size(), page->total, what);
    return 0;
  });
}

int GetResource(Session& session, const std::string& path, const client::QueryParams& query,
                const std::vector<std::string>& columns, const std::string& title,
                const std::string& what) {
  return WithClient(session, [&](client::RestClient& client) {
    session.Info("Retrieving " + what + "...");
    auto item = client.Get(path, query);
    if (!item.ok()) {
      return session.Fail(item.status());
    }
    session.PrintOne(columns, *item, title);
    return 0;
  });
}

// Prints a {name: value} map as the original's "name: value" lines, or as JSON.
void PrintValues(Session& session, const json& values, const std::string& title) {
  if (session.json) {
    session.out << values.dump() << "\n";
    return;
  }
  session.out << title << "\n";
  if (values.is_object()) {
    for (auto it = values.begin(); it != values.end(); ++it) {
      session.out << " - \"" << it.key()
                  << "\":\n     Value: " << (it->is_string() ? it->get<std::string>() : it->dump())
                  << "\n";
    }
  }
}

// ---- deployments ----

struct CreateArgs {
  std::string blueprint_id;
  std::string deployment_id;
  std::vector<std::string> inputs;
  std::string visibility;
};

}  // namespace

Result<json> CreateDeployment(Session& session, const std::string& blueprint_id,
                              const std::string& deployment_id, const json& inputs,
                              const std::string& visibility) {
  CLOUDIFY_ASSIGN_OR_RETURN(client::RestClient * client, session.Client());
  session.Info("Creating new deployment from blueprint " + blueprint_id + "...");
  json body = {{"blueprint_id", blueprint_id},
               {"visibility", visibility.empty() ? "tenant" : visibility},
               {"inputs", inputs},
               {"skip_plugins_validation", false},
               {"runtime_only_evaluation", false}};
  CLOUDIFY_ASSIGN_OR_RETURN(json deployment, client->Put("/deployments/" + deployment_id, body));
  session.Info("Deployment created. The deployment's id is " + deployment_id);
  return deployment;
}

Status DeleteDeployment(Session& session, const std::string& deployment_id, bool force) {
  CLOUDIFY_ASSIGN_OR_RETURN(client::RestClient * client, session.Client());
  session.Info("Trying to delete deployment " + deployment_id + "...");
  CLOUDIFY_RETURN_IF_ERROR(
      client
          ->Delete("/deployments/" + deployment_id, {{"force", force ? "True" : "False"},
                                                     {"delete_logs", "False"},
                                                     {"recursive", "False"}})
          .status());
  // Deletion may finish after the answer: wait until the deployment is gone.
  for (int attempt = 0; attempt < 600; ++attempt) {
    auto still = client->Get("/deployments/" + deployment_id, {{"_include", "id"}});
    if (!still.ok() && still.status().code() == ErrorCode::kNotFound) {
      session.Info("Deployment deleted");
      return Status::Ok();
    }
    if (!still.ok()) {
      return still.status();
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(100));
  }
  return Status(ErrorCode::kUnavailable,
                "deployment " + deployment_id + " is still being deleted after 60 s");
}

namespace {

void AddDeployments(CLI::App& app, Session& session, Action& action) {
  CLI::App* deployments = app.add_subcommand("deployments", "Handle deployments on the manager");
  deployments->require_subcommand(1);

  auto create = std::make_shared<CreateArgs>();
  CLI::App* cr = deployments->add_subcommand("create", "Create a deployment");
  cr->add_option("deployment_id", create->deployment_id,
                 "The deployment's id (default: the blueprint's id)");
  cr->add_option("-b,--blueprint-id", create->blueprint_id, "The blueprint to deploy")->required();
  cr->add_option("-i,--inputs", create->inputs,
                 "Inputs: a YAML/JSON file, inline YAML/JSON, or 'k=v;k2=v2' (repeatable)");
  cr->add_option("-l,--visibility", create->visibility, "private, tenant or global");
  OnRun(cr, action, [&session, create] {
    auto inputs = MergeInputArguments(create->inputs);
    if (!inputs.ok()) {
      return session.Fail(inputs.status());
    }
    const std::string id =
        create->deployment_id.empty() ? create->blueprint_id : create->deployment_id;
    auto created = CreateDeployment(session, create->blueprint_id, id, *inputs, create->visibility);
    if (!created.ok()) {
      return session.Fail(created.status());
    }
    if (session.json) {
      session.PrintOne(kDeploymentColumns, *created, "Deployment:");
    }
    return 0;
  });

  auto list = std::make_shared<ListArgs>();
  auto blueprint = std::make_shared<std::string>();
  CLI::App* ls = deployments->add_subcommand("list", "List deployments");
  list->AddTo(ls);
  ls->add_option("-b,--blueprint-id", *blueprint, "Only deployments of this blueprint");
  OnRun(ls, action, [&session, list, blueprint] {
    ListArgs args = *list;
    if (!blueprint->empty()) {
      args.filters.emplace_back("blueprint_id", *blueprint);
    }
    // Only the shown fields: a deployment's full record (workflows, outputs, ...) is ~10 KB.
    std::string include;
    for (const std::string& column : kDeploymentColumns) {
      include += (include.empty() ? "" : ",") + column;
    }
    args.filters.emplace_back("_include", include);
    return ListResource(session, "/deployments", args, kDeploymentColumns,
                        "Deployments:", "deployments");
  });

  auto id = std::make_shared<std::string>();
  auto force = std::make_shared<bool>(false);
  CLI::App* get = deployments->add_subcommand("get", "Retrieve information for a deployment");
  get->add_option("deployment_id", *id, "The deployment's id")->required();
  OnRun(get, action, [&session, id] {
    return GetResource(session, "/deployments/" + *id,
                       {{"all_sub_deployments", "False"}, {"include_workdir", "False"}},
                       kDeploymentColumns, "Deployment:", "deployment " + *id);
  });

  CLI::App* del = deployments->add_subcommand("delete", "Delete a deployment");
  del->add_option("deployment_id", *id, "The deployment's id")->required();
  del->add_flag("-f,--force", *force, "Delete even if it has live node instances");
  OnRun(del, action, [&session, id, force] {
    Status deleted = DeleteDeployment(session, *id, *force);
    return deleted.ok() ? 0 : session.Fail(deleted);
  });
  AddSetVisibility(deployments, session, action, "deployments", "deployment");

  for (const char* what : {"outputs", "capabilities", "inputs"}) {
    const std::string name = what;
    CLI::App* values = deployments->add_subcommand(name, "Show a deployment's " + name);
    values->add_option("deployment_id", *id, "The deployment's id")->required();
    OnRun(values, action, [&session, id, name] {
      return WithClient(session, [&](client::RestClient& client) {
        session.Info("Retrieving " + name + " for deployment " + *id + "...");
        // Inputs are a field of the deployment; outputs and capabilities are evaluated now.
        auto answer = name == "inputs" ? client.Get("/deployments/" + *id)
                                       : client.Get("/deployments/" + *id + "/" + name);
        if (!answer.ok()) {
          return session.Fail(answer.status());
        }
        std::string title = name;
        title[0] = static_cast<char>(std::toupper(title[0]));
        PrintValues(session, answer->value(name, json::object()), title + ":");
        return 0;
      });
    });
  }
}

// ---- nodes and node instances ----

void AddNodes(CLI::App& app, Session& session, Action& action) {
  CLI::App* nodes = app.add_subcommand("nodes", "Handle a deployment's nodes");
  nodes->require_subcommand(1);
  auto list = std::make_shared<ListArgs>();
  auto deployment = std::make_shared<std::string>();
  CLI::App* ls = nodes->add_subcommand("list", "List nodes");
  list->AddTo(ls);
  ls->add_option("-d,--deployment-id", *deployment, "Only nodes of this deployment");
  OnRun(ls, action, [&session, list, deployment] {
    ListArgs args = *list;
    if (!deployment->empty()) {
      args.filters.emplace_back("deployment_id", *deployment);
    }
    return ListResource(session, "/nodes", args, kNodeColumns, "Nodes:", "nodes");
  });
  auto node = std::make_shared<std::string>();
  CLI::App* get = nodes->add_subcommand("get", "Retrieve information for a node");
  get->add_option("node_id", *node, "The node's id")->required();
  get->add_option("-d,--deployment-id", *deployment, "The node's deployment")->required();
  OnRun(get, action, [&session, node, deployment] {
    return WithClient(session, [&](client::RestClient& client) {
      session.Info("Retrieving node " + *node + " of deployment " + *deployment + "...");
      auto page = client.List("/nodes", {{"deployment_id", *deployment}, {"id", *node}});
      if (!page.ok()) {
        return session.Fail(page.status());
      }
      if (page->items.empty()) {
        return session.Fail(NotFoundError("Requested `Node` with ID `" + *node +
                                          "` on deployment `" + *deployment + "` was not found"));
      }
      session.PrintOne(kNodeColumns, page->items[0], "Node:");
      return 0;
    });
  });

  CLI::App* instances = app.add_subcommand("node-instances", "Handle node instances");
  instances->require_subcommand(1);
  auto ilist = std::make_shared<ListArgs>();
  auto node_name = std::make_shared<std::string>();
  CLI::App* ils = instances->add_subcommand("list", "List node instances");
  ilist->AddTo(ils);
  ils->add_option("-d,--deployment-id", *deployment, "Only instances of this deployment");
  ils->add_option("--node-name,--node-id", *node_name, "Only instances of this node");
  OnRun(ils, action, [&session, ilist, deployment, node_name] {
    ListArgs args = *ilist;
    if (!deployment->empty()) {
      args.filters.emplace_back("deployment_id", *deployment);
    }
    if (!node_name->empty()) {
      args.filters.emplace_back("node_id", *node_name);
    }
    return ListResource(session, "/node-instances", args, kNodeInstanceColumns,
                        "Node-instances:", "node instances");
  });
  auto instance = std::make_shared<std::string>();
  CLI::App* iget = instances->add_subcommand("get", "Retrieve information for a node instance");
  iget->add_option("node_instance_id", *instance, "The node instance's id")->required();
  OnRun(iget, action, [&session, instance] {
    return WithClient(session, [&](client::RestClient& client) {
      session.Info("Retrieving node instance " + *instance);
      auto item = client.Get("/node-instances/" + *instance);
      if (!item.ok()) {
        return session.Fail(item.status());
      }
      session.PrintOne(kNodeInstanceColumns, *item, "Node-instance:");
      if (!session.json) {
        PrintValues(session, item->value("runtime_properties", json::object()),
                    "Instance runtime properties:");
      }
      return 0;
    });
  });
}

// ---- secrets ----

struct SecretArgs {
  std::string key;
  std::string value;
  std::string file;
  bool hidden = false;
  bool update_if_exists = false;
  std::string visibility;
};

void AddSecrets(CLI::App& app, Session& session, Action& action) {
  CLI::App* secrets = app.add_subcommand("secrets", "Handle secrets on the manager");
  secrets->require_subcommand(1);
  auto args = std::make_shared<SecretArgs>();

  CLI::App* create = secrets->add_subcommand("create", "Create a secret");
  create->add_option("key", args->key, "The secret's key")->required();
  create->add_option("-s,--secret-string", args->value, "The secret's value")->required();
  create->add_flag("--hidden-value", args->hidden, "Hide the value from other users");
  create->add_flag("-u,--update-if-exists", args->update_if_exists,
                   "Update the secret if it exists");
  create->add_option("-l,--visibility", args->visibility, "private, tenant or global");
  OnRun(create, action, [&session, args] {
    return WithClient(session, [&](client::RestClient& client) {
      json body = {{"value", args->value},
                   {"update_if_exists", args->update_if_exists},
                   {"is_hidden_value", args->hidden},
                   {"visibility", args->visibility.empty() ? "tenant" : args->visibility}};
      auto created = client.Put("/secrets/" + args->key, body);
      if (!created.ok()) {
        return session.Fail(created.status());
      }
      session.Info("Secret `" + args->key + "` created");
      return 0;
    });
  });

  CLI::App* update = secrets->add_subcommand("update", "Update a secret's value");
  update->add_option("key", args->key, "The secret's key")->required();
  update->add_option("-s,--secret-string", args->value, "The new value")->required();
  OnRun(update, action, [&session, args] {
    return WithClient(session, [&](client::RestClient& client) {
      auto updated = client.Patch("/secrets/" + args->key, {{"value", args->value}});
      if (!updated.ok()) {
        return session.Fail(updated.status());
      }
      session.Info("Secret `" + args->key + "` updated");
      return 0;
    });
  });

  CLI::App* get = secrets->add_subcommand("get", "Retrieve a secret");
  get->add_option("key", args->key, "The secret's key")->required();
  OnRun(get, action, [&session, args] {
    std::vector<std::string> columns = kSecretColumns;
    columns.insert(columns.begin() + 1, "value");
    return GetResource(session, "/secrets/" + args->key, {}, columns,
                       "Requested secret info:", "secret " + args->key);
  });

  auto list = std::make_shared<ListArgs>();
  CLI::App* ls = secrets->add_subcommand("list", "List secrets");
  list->AddTo(ls);
  OnRun(ls, action, [&session, list] {
    return ListResource(session, "/secrets", *list, kSecretColumns, "Secrets:", "secrets");
  });

  AddSetVisibility(secrets, session, action, "secrets", "secret");
  CLI::App* del = secrets->add_subcommand("delete", "Delete a secret");
  del->add_option("key", args->key, "The secret's key")->required();
  OnRun(del, action, [&session, args] {
    return WithClient(session, [&](client::RestClient& client) {
      session.Info("Deleting secret " + args->key + "...");
      auto deleted = client.Delete("/secrets/" + args->key);
      if (!deleted.ok()) {
        return session.Fail(deleted.status());
      }
      session.Info("Secret removed");
      return 0;
    });
  });
}

}  // namespace

void AddDeploymentCommands(CLI::App& app, Session& session, Action& action) {
  AddDeployments(app, session, action);
}
void AddNodeCommands(CLI::App& app, Session& session, Action& action) {
  AddNodes(app, session, action);
}
void AddSecretCommands(CLI::App& app, Session& session, Action& action) {
  AddSecrets(app, session, action);
}

// ---- plugins and agents ----

namespace {

const std::vector<std::string> kPluginColumns = {
    "id",          "package_name", "package_version", "distribution", "supported_platform",
    "uploaded_at", "visibility",   "tenant_name",     "created_by",   "yaml_url_path"};
const std::vector<std::string> kAgentColumns = {
    "id", "ip", "deployment", "node", "system", "version", "install_method", "tenant_name"};

struct PluginArgs {
  std::string path;
  std::vector<std::string> yamls;
  std::string title;
  std::string visibility;
  std::string id;
  std::string output;
};

// The wagon itself, or, with plugin YAML files, a tar.gz holding the wagon and them (the
// manager takes either).
Result<std::string> PluginUploadBody(const PluginArgs& args) {
  namespace fs = std::filesystem;
  if (args.yamls.empty()) {
    return ReadFileBytes(args.path);
  }
  const fs::path staging = fs::temp_directory_path() / ("cfy-plugin-" + NewUuid());
  ScopedRemoval cleanup(staging);
  std::error_code ec;
  fs::create_directories(staging / "bundle", ec);
  if (!ec) {
    fs::copy_file(args.path, staging / "bundle" / fs::path(args.path).filename(), ec);
  }
  for (const std::string& yaml : args.yamls) {
    if (!ec) {
      fs::copy_file(yaml, staging / "bundle" / fs::path(yaml).filename(), ec);
    }
  }
  if (ec) {
    return BadParametersError("cannot bundle the plugin: " + ec.message());
  }
  CLOUDIFY_RETURN_IF_ERROR(CreateTarGz(staging / "bundle", staging / "bundle.tar.gz"));
  return ReadFileBytes(staging / "bundle.tar.gz");
}

void AddPlugins(CLI::App& app, Session& session, Action& action) {
  CLI::App* plugins = app.add_subcommand("plugins", "Handle plugins on the manager");
  plugins->require_subcommand(1);
  auto args = std::make_shared<PluginArgs>();

  CLI::App* upload = plugins->add_subcommand("upload", "Upload a plugin (a wagon) to the manager");
  upload->add_option("plugin-path", args->path, "The wagon file")->required();
  upload->add_option("-y,--yaml-path", args->yamls, "The plugin's YAML file(s)");
  upload->add_option("-t,--title", args->title, "A title for the plugin");
  upload->add_option("-l,--visibility", args->visibility, "private, tenant or global");
  OnRun(upload, action, [&session, args] {
    return WithClient(session, [&](client::RestClient& client) {
      auto body = PluginUploadBody(*args);
      if (!body.ok()) {
        return session.Fail(body.status());
      }
      client::QueryParams query = {
          {"visibility", args->visibility.empty() ? "tenant" : args->visibility}};
      if (!args->title.empty()) {
        query.emplace_back("title", args->title);
      }
      session.Info("Uploading plugin " + args->path + "...");
      auto uploaded = client.PostBytes("/plugins", *body, "application/octet-stream", query);
      if (!uploaded.ok()) {
        return session.Fail(uploaded.status());
      }
      session.Info("Plugin uploaded. Plugin's id is " + uploaded->value("id", ""));
      if (session.json) {
        session.PrintOne(kPluginColumns, *uploaded, "");
      }
      return 0;
    });
  });

  CLI::App* get = plugins->add_subcommand("get", "Retrieve a plugin");
  get->add_option("plugin-id", args->id, "The plugin's id")->required();
  OnRun(get, action, [&session, args] {
    return GetResource(session, "/plugins/" + args->id, {}, kPluginColumns,
                       "Requested plugin info:", "plugin " + args->id);
  });

  auto list = std::make_shared<ListArgs>();
  CLI::App* ls = plugins->add_subcommand("list", "List plugins");
  list->AddTo(ls);
  OnRun(ls, action, [&session, list] {
    return ListResource(session, "/plugins", *list, kPluginColumns, "Plugins:", "plugins");
  });

  CLI::App* download = plugins->add_subcommand("download", "Download a plugin's wagon");
  download->add_option("plugin-id", args->id, "The plugin's id")->required();
  download->add_option("-o,--output-path", args->output, "Where to write it");
  OnRun(download, action, [&session, args] {
    return WithClient(session, [&](client::RestClient& client) {
      auto bytes = client.Download("/plugins/" + args->id + "/archive");
      if (!bytes.ok()) {
        return session.Fail(bytes.status());
      }
      const std::string output = args->output.empty() ? args->id + ".wgn" : args->output;
      std::ofstream(output, std::ios::binary)
          .write(bytes->data(), static_cast<std::streamsize>(bytes->size()));
      session.Info("Plugin downloaded as " + output);
      return 0;
    });
  });

  CLI::App* del = plugins->add_subcommand("delete", "Delete a plugin");
  del->add_option("plugin-id", args->id, "The plugin's id")->required();
  OnRun(del, action, [&session, args] {
    return WithClient(session, [&](client::RestClient& client) {
      session.Info("Deleting plugin " + args->id + "...");
      auto deleted = client.Delete("/plugins/" + args->id);
      if (!deleted.ok()) {
        return session.Fail(deleted.status());
      }
      session.Info("Plugin deleted");
      return 0;
    });
  });
}

struct AgentFilters {
  std::string deployment_id;
  std::string node_id;
  std::string node_instance_id;
  std::string install_method;
};

void AddAgents(CLI::App& app, Session& session, Action& action) {
  CLI::App* agents = app.add_subcommand("agents", "Handle a deployment's agents");
  agents->require_subcommand(1);
  auto list = std::make_shared<ListArgs>();
  auto filters = std::make_shared<AgentFilters>();
  CLI::App* ls = agents->add_subcommand("list", "List agents");
  list->AddTo(ls);
  ls->add_option("-d,--deployment-id", filters->deployment_id, "Only this deployment's");
  ls->add_option("--node-id", filters->node_id, "Only this node's");
  ls->add_option("--node-instance-id", filters->node_instance_id, "Only this node instance's");
  ls->add_option("--install-method", filters->install_method, "Only those installed so");
  OnRun(ls, action, [&session, list, filters] {
    ListArgs args = *list;
    for (const auto& [name, value] : std::vector<std::pair<std::string, std::string>>{
             {"deployment_id", filters->deployment_id},
             {"node_ids", filters->node_id},
             {"node_instance_ids", filters->node_instance_id},
             {"install_methods", filters->install_method}}) {
      if (!value.empty()) {
        args.filters.emplace_back(name, value);
      }
    }
    return ListResource(session, "/agents", args, kAgentColumns, "Agents:", "agents");
  });
}

}  // namespace

void AddPluginCommands(CLI::App& app, Session& session, Action& action) {
  AddPlugins(app, session, action);
  AddAgents(app, session, action);
}

}  // namespace cloudify::cli
