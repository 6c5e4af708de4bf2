// cfy profiles: which manager the other commands talk to, and as whom.
#include <filesystem>

#include "cli/session.h"

namespace cloudify::cli {
namespace {

namespace fs = std::filesystem;
using nlohmann::json;

const std::vector<std::string> kProfileColumns = {
    "name", "manager_ip", "manager_username", "manager_tenant", "rest_port", "rest_protocol"};

json ProfileRow(const Profile& profile, bool active) {
  return {{"name", (active ? "*" : "") + profile.name},
          {"manager_ip", profile.host},
          {"manager_username", profile.username},
          {"manager_tenant", profile.tenant},
          {"rest_port", profile.port},
          {"rest_protocol", profile.ssl ? "https" : "http"}};
}

struct UseArgs {
  std::string host;
  std::string name;
  std::string username;
  std::string password;
  std::string tenant;
  int port = 0;
  bool ssl = false;
  std::string ca_cert;
  bool skip_validation = false;
};

int Use(Session& session, const UseArgs& args) {
  Profile profile;
  profile.name = args.name.empty() ? args.host : args.name;
  // `use` on an existing profile keeps what is not given again, as the original.
  if (auto existing = LoadProfile(profile.name); existing.ok()) {
    profile = *existing;
  }
  profile.host = args.host;
  if (!args.username.empty()) profile.username = args.username;
  if (!args.password.empty()) profile.password = args.password;
  if (!args.tenant.empty()) profile.tenant = args.tenant;
  if (args.port != 0) profile.port = args.port;
  if (args.ssl) profile.ssl = true;
  if (!args.ca_cert.empty()) profile.ca_cert = args.ca_cert;
  session.Info("Attempting to connect to " + profile.host + " through port " +
               std::to_string(profile.port != 0 ? profile.port : (profile.ssl ? 443 : 53333)) +
               ", using " + (profile.ssl ? "https" : "http") +
               " (SSL mode: " + (profile.ssl ? "on" : "off") + ")...");
  if (!args.skip_validation) {
    client::ClientOptions options;
    options.host = profile.host;
    options.port = profile.port;
    options.ssl = profile.ssl;
    options.ca_cert = profile.ca_cert;
    options.username = profile.username;
    options.password = profile.password;
    options.tenant = profile.tenant;
    auto client = client::RestClient::Create(options);
    if (!client.ok()) {
      return session.Fail(client.status());
    }
    // Credentials and tenant are checked by an authenticated call, as the original does.
    session.Info("Validating credentials...");
    auto status = (*client)->Get("/status", {{"summary", "true"}});
    if (!status.ok()) {
      return session.Fail(status.status());
    }
    session.Info("Credentials validated");
  }
  if (Status saved = SaveProfile(profile); !saved.ok()) {
    return session.Fail(saved);
  }
  if (Status active = SetActiveProfile(profile.name); !active.ok()) {
    return session.Fail(active);
  }
  session.Info("Using manager " + profile.host + " with port " +
               std::to_string(profile.port != 0 ? profile.port : (profile.ssl ? 443 : 53333)));
  return 0;
}

int List(Session& session) {
  const std::string active = ActiveProfileName().value_or("");
  json rows = json::array();
  std::error_code ec;
  std::vector<std::string> names;
  for (const auto& entry : fs::directory_iterator(WorkDir() / "profiles", ec)) {
    if (entry.is_directory()) {
      names.push_back(entry.path().filename().string());
    }
  }
  std::sort(names.begin(), names.end());
  for (const auto& name : names) {
    if (auto profile = LoadProfile(name); profile.ok()) {
      rows.push_back(ProfileRow(*profile, name == active && !session.json));
    }
  }
  session.Info("Listing all profiles...");
  session.PrintList(kProfileColumns, rows, "Profiles:");
  return 0;
}

int ShowCurrent(Session& session) {
  auto name = ActiveProfileName();
  if (!name.ok()) {
    return session.Fail(name.status());
  }
  auto profile = LoadProfile(*name);
  if (!profile.ok()) {
    return session.Fail(profile.status());
  }
  session.PrintOne(kProfileColumns, ProfileRow(*profile, false), "Active profile:");
  return 0;
}

int Delete(Session& session, const std::string& name) {
  if (auto profile = LoadProfile(name); !profile.ok()) {
    return session.Fail(profile.status());
  }
  std::error_code ec;
  fs::remove_all(WorkDir() / "profiles" / name, ec);
  if (ec) {
    return session.Fail(InternalError("cannot delete profile '" + name + "': " + ec.message()));
  }
  if (ActiveProfileName().value_or("") == name) {
    fs::remove(WorkDir() / "active.profile", ec);
  }
  session.Info("Profile deleted");
  return 0;
}

}  // namespace

void AddProfileCommands(CLI::App& app, Session& session, Action& action) {
  CLI::App* profiles = app.add_subcommand("profiles", "Handle manager profiles");
  profiles->require_subcommand(1);

  auto args = std::make_shared<UseArgs>();
  CLI::App* use = profiles->add_subcommand("use", "Control a specific manager");
  use->add_option("manager_ip", args->host, "The manager's host name or IP")->required();
  use->add_option("--profile-name", args->name, "A name for the profile (default: the host)");
  use->add_option("-u,--manager-username", args->username, "The username on the manager");
  use->add_option("-p,--manager-password", args->password, "The password on the manager");
  use->add_option("-t,--manager-tenant", args->tenant, "The tenant on the manager");
  use->add_option("--rest-port,--port", args->port, "The REST port of the manager");
  use->add_flag("--ssl", args->ssl, "Connect with HTTPS");
  use->add_option("-c,--rest-certificate", args->ca_cert, "The CA certificate to trust");
  use->add_flag("--skip-credentials-validation", args->skip_validation,
                "Save the profile without contacting the manager");
  use->callback(
      [&session, &action, args] { action = [&session, args] { return Use(session, *args); }; });

  profiles->add_subcommand("list", "List all profiles")->callback([&session, &action] {
    action = [&session] { return List(session); };
  });
  profiles->add_subcommand("show-current", "Show the active profile")
      ->callback([&session, &action] { action = [&session] { return ShowCurrent(session); }; });
  auto name = std::make_shared<std::string>();
  CLI::App* del = profiles->add_subcommand("delete", "Delete a profile");
  del->add_option("profile_name", *name, "The profile to delete")->required();
  del->callback(
      [&session, &action, name] { action = [&session, name] { return Delete(session, *name); }; });
}

}  // namespace cloudify::cli
