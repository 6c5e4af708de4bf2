// cfy blueprints: upload, list, get, delete, download, inputs, validate.
#include <filesystem>
#include <fstream>

#include "cli/commands.h"

#include "cloudify/archive.h"
#include "cloudify/dsl/deployment_plan.h"
#include "cloudify/dsl/parser.h"
#include "cloudify/files.h"
#include "cloudify/ids.h"

namespace cloudify::cli {
namespace {

namespace fs = std::filesystem;
using nlohmann::json;

const std::vector<std::string> kBlueprintColumns = {
    "id",          "description", "main_file_name", "created_at", "updated_at", "visibility",
    "tenant_name", "created_by",  "state",          "error",      "labels"};
const std::vector<std::string> kInputColumns = {"name", "type", "default", "description"};
constexpr size_t kDescriptionLimit = 20;

bool IsArchive(const fs::path& path) {
  const std::string name = path.filename().string();
  for (const char* suffix : {".tar.gz", ".tgz", ".tar.bz2", ".tbz2", ".tar", ".zip"}) {
    const std::string s = suffix;
    if (name.size() > s.size() && name.compare(name.size() - s.size(), s.size(), s) == 0) {
      return true;
    }
  }
  return false;
}

}  // namespace

Result<UploadedBlueprint> UploadBlueprint(Session& session, const std::string& path_text,
                                          std::string blueprint_id, std::string main_file,
                                          const std::string& visibility) {
  CLOUDIFY_ASSIGN_OR_RETURN(client::RestClient * client, session.Client());
  fs::path path(path_text);
  std::error_code ec;
  if (!fs::exists(path, ec)) {
    return NotFoundError("blueprint path " + path_text + " does not exist");
  }
  std::string archive;
  if (fs::is_directory(path)) {
    if (main_file.empty()) {
      main_file = "blueprint.yaml";
    }
    if (!fs::is_regular_file(path / main_file)) {
      return NotFoundError("no " + main_file + " in " + path_text + " (choose the file with -n)");
    }
  } else if (IsArchive(path)) {
    if (main_file.empty()) {
      main_file = "blueprint.yaml";
    }
    if (blueprint_id.empty()) {
      std::string name = path.filename().string();
      blueprint_id = name.substr(0, name.find('.'));
    }
    CLOUDIFY_ASSIGN_OR_RETURN(archive, ReadFileBytes(path));
  } else {
    // A YAML file: its folder is the blueprint.
    if (main_file.empty()) {
      main_file = path.filename().string();
    }
    path = fs::absolute(path).parent_path();
  }
  if (archive.empty()) {
    const fs::path folder = fs::absolute(path).lexically_normal();
    if (blueprint_id.empty()) {
      blueprint_id = (folder.filename().empty() ? folder.parent_path() : folder).filename();
    }
    // The original packs the folder under one top-level directory; so do we, in a temp file.
    const fs::path temp = fs::temp_directory_path() / ("cfy-upload-" + NewUuid() + ".tar.gz");
    Status packed = CreateTarGz(folder, temp, "blueprint");
    auto bytes = packed.ok() ? ReadFileBytes(temp) : Result<std::string>(packed);
    fs::remove(temp, ec);
    CLOUDIFY_ASSIGN_OR_RETURN(archive, std::move(bytes));
  }
  session.Info("Uploading blueprint " + path_text + "...");
  json params = {{"visibility", visibility.empty() ? "tenant" : visibility},
                 {"async_upload", false},
                 {"skip_execution", false},
                 {"application_file_name", main_file}};
  std::vector<client::FormPart> parts = {
      {"params", params.dump(), "", ""},
      {"blueprint_archive", std::move(archive), "blueprint.tar.gz", "application/octet-stream"}};
  CLOUDIFY_ASSIGN_OR_RETURN(json blueprint, client->PutForm("/blueprints/" + blueprint_id, parts));
  session.Info("Blueprint uploaded. The blueprint's id is " + blueprint_id);
  return UploadedBlueprint{blueprint_id, std::move(blueprint)};
}

namespace {

struct UploadArgs {
  std::string path;
  std::string blueprint_id;
  std::string main_file;
  std::string visibility;
};

int Upload(Session& session, const UploadArgs& args) {
  auto uploaded =
      UploadBlueprint(session, args.path, args.blueprint_id, args.main_file, args.visibility);
  if (!uploaded.ok()) {
    return session.Fail(uploaded.status());
  }
  if (session.json) {
    session.PrintOne(kBlueprintColumns, uploaded->blueprint, "Blueprint:");
  }
  return 0;
}

int List(Session& session, const ListArgs& args) {
  auto client = session.Client();
  if (!client.ok()) {
    return session.Fail(client.status());
  }
  session.Info("Listing all blueprints...");
  auto page = (*client)->List("/blueprints", args.Query());
  if (!page.ok()) {
    return session.Fail(page.status());
  }
  for (auto& blueprint : page->items) {
    auto description = blueprint.value("description", json());
    if (description.is_string() && description.get<std::string>().size() >= kDescriptionLimit) {
      blueprint["description"] =
          description.get<std::string>().substr(0, kDescriptionLimit - 2) + "..";
    }
  }
  session.PrintList(kBlueprintColumns, page->items, "Blueprints:");
  session.PrintShowing(page->items.size(), page->total, "blueprints");
  return 0;
}

int Get(Session& session, const std::string& id) {
  auto client = session.Client();
  if (!client.ok()) {
    return session.Fail(client.status());
  }
  session.Info("Retrieving blueprint " + id + "...");
  auto blueprint = (*client)->Get("/blueprints/" + id);
  if (!blueprint.ok()) {
    return session.Fail(blueprint.status());
  }
  session.PrintOne(kBlueprintColumns, *blueprint, "Blueprint:");
  if (!session.json) {
    session.Info("Description:");
    session.Info(CellText(blueprint->value("description", json())) + "\n");
    auto deployments = (*client)->List("/deployments", {{"blueprint_id", id}, {"_include", "id"}});
    if (deployments.ok()) {
      json ids = json::array();
      for (const auto& deployment : deployments->items) {
        ids.push_back(deployment.value("id", ""));
      }
      session.Info("Existing deployments:");
      session.Info(ids.dump() + "\n");
    }
  }
  return 0;
}

int Delete(Session& session, const std::string& id, bool force) {
  auto client = session.Client();
  if (!client.ok()) {
    return session.Fail(client.status());
  }
  session.Info("Deleting blueprint " + id + "...");
  auto deleted = (*client)->Delete("/blueprints/" + id, {{"force", force ? "True" : "False"}});
  if (!deleted.ok()) {
    return session.Fail(deleted.status());
  }
  session.Info("Blueprint deleted");
  return 0;
}

int Download(Session& session, const std::string& id, std::string output) {
  auto client = session.Client();
  if (!client.ok()) {
    return session.Fail(client.status());
  }
  session.Info("Downloading blueprint " + id + "...");
  auto bytes = (*client)->Download("/blueprints/" + id + "/archive");
  if (!bytes.ok()) {
    return session.Fail(bytes.status());
  }
  if (output.empty()) {
    output = id + ".tar.gz";
  }
  std::ofstream out(output, std::ios::binary | std::ios::trunc);
  out.write(bytes->data(), static_cast<std::streamsize>(bytes->size()));
  out.close();
  if (!out) {
    return session.Fail(InternalError("cannot write " + output));
  }
  session.Info("Blueprint downloaded as " + output);
  return 0;
}

int Inputs(Session& session, const std::string& id) {
  auto client = session.Client();
  if (!client.ok()) {
    return session.Fail(client.status());
  }
  session.Info("Retrieving inputs for blueprint " + id + "...");
  auto blueprint = (*client)->Get("/blueprints/" + id);
  if (!blueprint.ok()) {
    return session.Fail(blueprint.status());
  }
  json rows = json::array();
  const json inputs = blueprint->value("plan", json::object()).value("inputs", json::object());
  for (auto it = inputs.begin(); it != inputs.end(); ++it) {
    rows.push_back({{"name", it.key()},
                    {"type", it->value("type", json())},
                    {"default", it->contains("default") ? (*it)["default"] : json("-")},
                    {"description", it->value("description", json())}});
  }
  session.PrintList(kInputColumns, rows, "Inputs:");
  return 0;
}

struct ValidateArgs {
  std::string path;
  std::vector<std::string> inputs;
};

// Offline: parse and plan with the inputs; "file:line:column: message" on failure.
int Validate(Session& session, const ValidateArgs& args) {
  size_t nodes = 0;
  size_t instances = 0;
  Status status = [&]() -> Status {
    CLOUDIFY_ASSIGN_OR_RETURN(json inputs, MergeInputArguments(args.inputs));
    CLOUDIFY_ASSIGN_OR_RETURN(model::Plan plan, dsl::ParseBlueprintFile(args.path));
    IdGenerator ids;
    CLOUDIFY_ASSIGN_OR_RETURN(auto deployment, dsl::PrepareDeploymentPlan(plan, inputs, ids));
    nodes = deployment.nodes.size();
    instances = deployment.node_instances.size();
    return Status::Ok();
  }();
  if (session.json) {
    json result;
    if (status.ok()) {
      result = {{"valid", true}, {"nodes", nodes}, {"node_instances", instances}};
    } else {
      SourceLocation where =
          status.location().value_or(SourceLocation{fs::path(args.path).filename().string(), 0, 0});
      result = {{"valid", false},
                {"error",
                 {{"code", std::string(ErrorCodeName(status.code()))},
                  {"message", status.message()},
                  {"file", where.file},
                  {"line", where.line},
                  {"column", where.column}}}};
    }
    session.out << result.dump() << "\n";
  } else if (status.ok()) {
    session.out << "Blueprint validated: " << nodes << " nodes, " << instances
                << " node instances\n";
  } else {
    session.err << status.ToString() << "\n";
  }
  return status.ok() ? 0 : 1;
}

}  // namespace

void AddBlueprintCommands(CLI::App& app, Session& session, Action& action) {
  CLI::App* blueprints = app.add_subcommand("blueprints", "Handle blueprints on the manager");
  blueprints->require_subcommand(1);

  auto upload = std::make_shared<UploadArgs>();
  CLI::App* up = blueprints->add_subcommand("upload", "Upload a blueprint to the manager");
  up->add_option("blueprint_path", upload->path,
                 "A blueprint folder, its main YAML file, or an archive")
      ->required();
  up->add_option("-b,--blueprint-id", upload->blueprint_id,
                 "The blueprint's id (default: the folder or archive name)");
  up->add_option("-n,--blueprint-filename", upload->main_file,
                 "The main YAML file in the folder or archive (default: blueprint.yaml)");
  up->add_option("-l,--visibility", upload->visibility, "private, tenant or global");
  OnRun(up, action, [&session, upload] { return Upload(session, *upload); });

  auto list = std::make_shared<ListArgs>();
  CLI::App* ls = blueprints->add_subcommand("list", "List blueprints");
  list->AddTo(ls);
  OnRun(ls, action, [&session, list] { return List(session, *list); });

  auto id = std::make_shared<std::string>();
  auto force = std::make_shared<bool>(false);
  auto output = std::make_shared<std::string>();
  CLI::App* get = blueprints->add_subcommand("get", "Retrieve information for a blueprint");
  get->add_option("blueprint_id", *id, "The blueprint's id")->required();
  OnRun(get, action, [&session, id] { return Get(session, *id); });

  CLI::App* del = blueprints->add_subcommand("delete", "Delete a blueprint");
  del->add_option("blueprint_id", *id, "The blueprint's id")->required();
  del->add_flag("-f,--force", *force, "Delete even if the blueprint is used");
  OnRun(del, action, [&session, id, force] { return Delete(session, *id, *force); });
  AddSetVisibility(blueprints, session, action, "blueprints", "blueprint");

  CLI::App* down = blueprints->add_subcommand("download", "Download a blueprint's archive");
  down->add_option("blueprint_id", *id, "The blueprint's id")->required();
  down->add_option("-o,--output-path", *output, "Where to write it (default: <id>.tar.gz)");
  OnRun(down, action, [&session, id, output] { return Download(session, *id, *output); });

  CLI::App* inputs = blueprints->add_subcommand("inputs", "List a blueprint's inputs");
  inputs->add_option("blueprint_id", *id, "The blueprint's id")->required();
  OnRun(inputs, action, [&session, id] { return Inputs(session, *id); });

  auto validate = std::make_shared<ValidateArgs>();
  CLI::App* val = blueprints->add_subcommand("validate", "Validate a blueprint offline");
  val->add_option("blueprint_path", validate->path, "The blueprint's main YAML file")->required();
  val->add_option("-i,--inputs", validate->inputs,
                  "Inputs: a YAML/JSON file, inline YAML/JSON, or 'k=v;k2=v2'");
  OnRun(val, action, [&session, validate] { return Validate(session, *validate); });
}

}  // namespace cloudify::cli
