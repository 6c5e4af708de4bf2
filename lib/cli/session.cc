#include "cli/session.h"

#include <algorithm>
#include <cstdlib>
#include <fstream>
#include <sstream>

#include <sys/stat.h>

#include "cloudify/dsl/parser.h"

namespace cloudify::cli {
namespace {

using nlohmann::json;
namespace fs = std::filesystem;

const char* Env(const char* name) {
  const char* value = std::getenv(name);
  return value != nullptr && *value != '\0' ? value : nullptr;
}

fs::path ProfileFile(const std::string& name) {
  return WorkDir() / "profiles" / name / "context.json";
}

// Profile names become folder names.
Status CheckProfileName(const std::string& name) {
  if (name.empty() || name == "." || name == ".." ||
      name.find_first_of("/\\") != std::string::npos) {
    return BadParametersError("invalid profile name '" + name + "'");
  }
  return Status::Ok();
}

bool LooksLikeTimestamp(const std::string& text) {
  return text.size() >= 19 && text[4] == '-' && text[7] == '-' && text[10] == 'T' &&
         std::all_of(text.begin(), text.begin() + 4, [](char c) { return c >= '0' && c <= '9'; });
}

// Display width of UTF-8 text: code points, which is right for the text tables hold.
size_t Width(const std::string& text) {
  return static_cast<size_t>(
      std::count_if(text.begin(), text.end(), [](char c) { return (c & 0xC0) != 0x80; }));
}

json Project(const std::vector<std::string>& columns, const json& item) {
  json projected = json::object();
  for (const std::string& column : columns) {
    projected[column] = item.is_object() ? item.value(column, json()) : json();
  }
  return projected;
}

}  // namespace

fs::path WorkDir() {
  if (const char* dir = Env("CFY_WORKDIR")) {
    return fs::path(dir) / ".cloudify";
  }
  const char* home = Env("HOME");
  return fs::path(home != nullptr ? home : ".") / ".cloudify";
}

Result<Profile> LoadProfile(const std::string& name) {
  CLOUDIFY_RETURN_IF_ERROR(CheckProfileName(name));
  std::ifstream in(ProfileFile(name));
  if (!in) {
    return NotFoundError("profile '" + name + "' not found (create it with `cfy profiles use`)");
  }
  json context = json::parse(in, nullptr, /*allow_exceptions=*/false);
  if (!context.is_object()) {
    return BadParametersError("profile file " + ProfileFile(name).string() + " is not valid JSON");
  }
  Profile profile;
  profile.name = name;
  profile.host = context.value("manager_ip", "");
  profile.port = context.value("rest_port", 0);
  profile.ssl = context.value("rest_protocol", "http") == "https";
  profile.ca_cert = context.value("rest_certificate", "");
  profile.username = context.value("manager_username", "");
  profile.password = context.value("manager_password", "");
  profile.tenant = context.value("manager_tenant", "default_tenant");
  return profile;
}

Status SaveProfile(const Profile& profile) {
  CLOUDIFY_RETURN_IF_ERROR(CheckProfileName(profile.name));
  const fs::path file = ProfileFile(profile.name);
  std::error_code ec;
  fs::create_directories(file.parent_path(), ec);
  if (ec) {
    return InternalError("cannot create " + file.parent_path().string() + ": " + ec.message());
  }
  fs::permissions(file.parent_path(), fs::perms::owner_all, ec);
  // The file holds a password: created 0600 before anything is written into it.
  const fs::path temp = file.string() + ".tmp";
  { std::ofstream create(temp, std::ios::trunc); }
  fs::permissions(temp, fs::perms::owner_read | fs::perms::owner_write, ec);
  std::ofstream out(temp, std::ios::trunc);
  out << json{{"manager_ip", profile.host},
              {"rest_port", profile.port},
              {"rest_protocol", profile.ssl ? "https" : "http"},
              {"rest_certificate", profile.ca_cert},
              {"manager_username", profile.username},
              {"manager_password", profile.password},
              {"manager_tenant", profile.tenant}}
             .dump(2)
      << "\n";
  out.close();
  if (!out) {
    return InternalError("cannot write " + temp.string());
  }
  fs::rename(temp, file, ec);
  if (ec) {
    return InternalError("cannot write " + file.string() + ": " + ec.message());
  }
  return Status::Ok();
}

Result<std::string> ActiveProfileName() {
  std::ifstream in(WorkDir() / "active.profile");
  std::string name;
  if (!in || !std::getline(in, name) || name.empty()) {
    return NotFoundError("no active profile: run `cfy profiles use <manager-host>` first");
  }
  return name;
}

Status SetActiveProfile(const std::string& name) {
  std::error_code ec;
  fs::create_directories(WorkDir(), ec);
  std::ofstream out(WorkDir() / "active.profile", std::ios::trunc);
  out << name << "\n";
  out.close();
  return out ? Status::Ok()
             : InternalError("cannot write " + (WorkDir() / "active.profile").string());
}

Result<client::RestClient*> Session::Client() {
  if (client_ != nullptr) {
    return client_.get();
  }
  CLOUDIFY_ASSIGN_OR_RETURN(std::string name, ActiveProfileName());
  CLOUDIFY_ASSIGN_OR_RETURN(Profile profile, LoadProfile(name));
  client::ClientOptions options;
  options.host = profile.host;
  options.port = profile.port;
  options.ssl = profile.ssl;
  options.ca_cert = profile.ca_cert;
  options.username = profile.username;
  options.password = profile.password;
  options.tenant = profile.tenant;
  if (const char* user = Env("CLOUDIFY_USERNAME")) {
    options.username = user;
  }
  if (const char* password = Env("CLOUDIFY_PASSWORD")) {
    options.password = password;
  }
  if (const char* tenant = Env("CLOUDIFY_TENANT")) {
    options.tenant = tenant;
  }
  if (const char* token = Env("CLOUDIFY_TOKEN")) {
    options.token = token;
  }
  if (!tenant_override.empty()) {
    options.tenant = tenant_override;
  }
  CLOUDIFY_ASSIGN_OR_RETURN(client_, client::RestClient::Create(std::move(options)));
  return client_.get();
}

int Session::Fail(const Status& status) {
  err << (color ? "\033[31mError:\033[0m " : "Error: ") << status.message() << " ("
      << ErrorCodeName(status.code()) << ")\n";
  return 1;
}

void Session::Info(const std::string& line) {
  if (!json) {
    out << line << "\n";
  }
}

void Session::PrintList(const std::vector<std::string>& columns, const nlohmann::json& items,
                        const std::string& title) {
  if (json) {
    nlohmann::json array = nlohmann::json::array();
    for (const auto& item : items) {
      array.push_back(Project(columns, item));
    }
    out << array.dump() << "\n";
    return;
  }
  std::vector<std::vector<std::string>> rows;
  for (const auto& item : items) {
    std::vector<std::string> row;
    for (const std::string& column : columns) {
      row.push_back(CellText(item.is_object() ? item.value(column, nlohmann::json()) : nullptr));
    }
    rows.push_back(std::move(row));
  }
  out << "\n" << title << "\n" << RenderTable(columns, rows) << "\n";
}

void Session::PrintOne(const std::vector<std::string>& columns, const nlohmann::json& item,
                       const std::string& title) {
  if (json) {
    out << Project(columns, item).dump() << "\n";
    return;
  }
  PrintList(columns, nlohmann::json::array({item}), title);
}

void Session::PrintShowing(size_t shown, int64_t total, const std::string& what) {
  Info("Showing " + std::to_string(shown) + " of " + std::to_string(total) + " " + what);
}

std::string CellText(const nlohmann::json& value) {
  if (value.is_null()) {
    return "";
  }
  if (value.is_string()) {
    std::string text = value.get<std::string>();
    if (LooksLikeTimestamp(text)) {
      std::replace(text.begin(), text.end(), 'T', ' ');
      text.erase(std::remove(text.begin(), text.end(), 'Z'), text.end());
    }
    return text;
  }
  if (value.is_array()) {
    std::string joined;
    for (const auto& element : value) {
      if (!joined.empty()) {
        joined += ",";
      }
      // Labels: {"key": k, "value": v} shown as k:v.
      if (element.is_object() && element.contains("key") && element.contains("value")) {
        joined += CellText(element["key"]) + ":" + CellText(element["value"]);
      } else {
        joined += CellText(element);
      }
    }
    return joined;
  }
  return value.dump();
}

std::string RenderTable(const std::vector<std::string>& columns,
                        const std::vector<std::vector<std::string>>& rows) {
  std::vector<size_t> widths;
  for (const auto& column : columns) {
    widths.push_back(Width(column));
  }
  for (const auto& row : rows) {
    for (size_t i = 0; i < row.size() && i < widths.size(); ++i) {
      widths[i] = std::max(widths[i], Width(row[i]));
    }
  }
  std::string rule = "+";
  for (size_t width : widths) {
    rule += std::string(width + 2, '-') + "+";
  }
  auto line = [&](const std::vector<std::string>& cells) {
    std::string text = "|";
    for (size_t i = 0; i < widths.size(); ++i) {
      const std::string& cell = i < cells.size() ? cells[i] : std::string();
      const size_t space = widths[i] - Width(cell);
      // Centred as prettytable does: the extra space goes right.
      text += " " + std::string(space / 2, ' ') + cell + std::string(space - space / 2, ' ') + " |";
    }
    return text;
  };
  std::ostringstream table;
  table << rule << "\n" << line(columns) << "\n" << rule << "\n";
  for (const auto& row : rows) {
    table << line(row) << "\n";
  }
  table << rule << "\n";
  return table.str();
}

std::string FormatEvent(const nlohmann::json& event) {
  auto text = [&](const char* key) {
    auto it = event.find(key);
    return it != event.end() && it->is_string() ? it->get<std::string>() : std::string();
  };
  std::string timestamp = text("reported_timestamp");
  if (timestamp.empty()) {
    timestamp = text("timestamp");
  }
  std::replace(timestamp.begin(), timestamp.end(), 'T', ' ');
  timestamp.erase(std::remove(timestamp.begin(), timestamp.end(), 'Z'), timestamp.end());
  const bool is_log = text("type") == "cloudify_log";
  std::string operation = text("operation");
  if (auto dot = operation.rfind('.'); dot != std::string::npos) {
    operation = operation.substr(dot + 1);
  }
  std::string info;
  if (!text("source_id").empty()) {
    info = text("source_id") + "->" + text("target_id") + "|" + operation;
  } else {
    info = text("node_instance_id");
    if (!operation.empty()) {
      info += (info.empty() ? "" : ".") + operation;
    }
  }
  std::string message = text("message");
  if (is_log) {
    std::string level = text("level");
    std::transform(level.begin(), level.end(), level.begin(),
                   [](unsigned char c) { return static_cast<char>(std::toupper(c)); });
    message = level + ": " + message;
  } else if (auto causes = event.find("error_causes");
             causes != event.end() && causes->is_array()) {
    for (const auto& cause : *causes) {
      if (cause.is_object() && cause.value("traceback", json()).is_string()) {
        message += "\n" + cause["traceback"].get<std::string>();
      }
    }
  }
  return timestamp + "  " + (is_log ? "LOG" : "CFY") + " <" + text("deployment_id") + "> " +
         (info.empty() ? "" : "[" + info + "] ") + message;
}

Result<nlohmann::json> MergeInputArguments(const std::vector<std::string>& arguments) {
  nlohmann::json merged = nlohmann::json::object();
  for (const std::string& argument : arguments) {
    CLOUDIFY_ASSIGN_OR_RETURN(nlohmann::json parsed, dsl::ParseInputsArgument(argument));
    for (auto it = parsed.begin(); it != parsed.end(); ++it) {
      merged[it.key()] = it.value();
    }
  }
  return merged;
}

}  // namespace cloudify::cli
