#include "core/plugin_archive.h"

#include <fstream>

#include <nlohmann/json.hpp>

#include "cloudify/archive.h"
#include "cloudify/files.h"

namespace cloudify::core {
namespace {

namespace fs = std::filesystem;
using nlohmann::json;

Status Invalid(const std::string& message) { return Status(ErrorCode::kInvalidPlugin, message); }

// Files named `name` (or ending with `suffix` when name is empty) at most two levels down.
std::vector<fs::path> FindFiles(const fs::path& root, const std::string& name,
                                const std::string& suffix) {
  std::vector<fs::path> out;
  std::error_code ec;
  for (fs::recursive_directory_iterator it(root, ec), end; !ec && it != end; it.increment(ec)) {
    if (it.depth() > 1) {
      it.disable_recursion_pending();
    }
    if (!it->is_regular_file(ec)) {
      continue;
    }
    const std::string file = it->path().filename().string();
    if (name.empty() ? file.ends_with(suffix) : file == name) {
      out.push_back(it->path());
    }
  }
  return out;
}

std::string Text(const json& j, const char* key) {
  auto it = j.find(key);
  return it != j.end() && it->is_string() ? it->get<std::string>() : std::string();
}

// The wagon's package.json, extracted under `dir`.
Result<model::Plugin> ReadWagon(std::string_view bytes, const fs::path& dir) {
  auto extracted = ExtractArchive(bytes, dir);
  if (!extracted.ok()) {
    return Invalid("The provided wagon archive can not be read: " + extracted.status().message());
  }
  std::vector<fs::path> found = FindFiles(dir, "package.json", "");
  if (found.size() != 1) {
    return Invalid(
        "The provided wagon archive can not be read: expected one package.json, "
        "found " +
        std::to_string(found.size()));
  }
  CLOUDIFY_ASSIGN_OR_RETURN(std::string text, ReadFileBytes(found.front()));
  json meta = json::parse(text, nullptr, /*allow_exceptions=*/false);
  if (!meta.is_object()) {
    return Invalid(
        "The provided wagon archive can not be read: package.json is not a JSON "
        "object");
  }
  model::Plugin p;
  p.package_name = Text(meta, "package_name");
  p.package_version = Text(meta, "package_version");
  if (p.package_name.empty() || p.package_version.empty()) {
    return Invalid(
        "The provided wagon archive can not be read: package.json needs "
        "package_name and package_version");
  }
  p.package_source = Text(meta, "package_source");
  p.archive_name = Text(meta, "archive_name");
  p.supported_platform = Text(meta, "supported_platform");
  if (const json& py = meta.value("supported_python_versions", json()); py.is_array()) {
    for (const auto& v : py) {
      if (v.is_string()) {
        p.supported_py_versions +=
            (p.supported_py_versions.empty() ? "" : ",") + v.get<std::string>();
      }
    }
  }
  if (const json& os = meta.value("build_server_os_properties", json()); os.is_object()) {
    p.distribution = Text(os, "distribution");
    p.distribution_version = Text(os, "distribution_version");
    p.distribution_release = Text(os, "distribution_release");
  }
  if (const json& wheels = meta.value("wheels", json()); wheels.is_array()) {
    for (const auto& w : wheels) {
      if (w.is_string()) {
        p.wheels.push_back(w.get<std::string>());
      }
    }
  }
  return p;
}

}  // namespace

Result<PluginArchive> ReadPluginArchive(std::string_view bytes, const fs::path& work_dir) {
  std::error_code ec;
  fs::create_directories(work_dir, ec);
  if (ec) {
    return Status(ErrorCode::kInternal, "cannot make " + work_dir.string() + ": " + ec.message());
  }
  PluginArchive out;
  // A wagon itself?
  Result<model::Plugin> wagon = ReadWagon(bytes, work_dir / "wagon");
  if (wagon.ok()) {
    out.plugin = std::move(*wagon);
    // A file name only: package.json is the uploader's text.
    out.plugin.archive_name = fs::path(out.plugin.archive_name).filename().string();
    if (out.plugin.archive_name.empty() || out.plugin.archive_name == "." ||
        out.plugin.archive_name == "..") {
      out.plugin.archive_name = out.plugin.package_name + "-" + out.plugin.package_version + ".wgn";
    }
    out.wagon = work_dir / out.plugin.archive_name;
    std::ofstream(out.wagon, std::ios::binary)
        .write(bytes.data(), static_cast<std::streamsize>(bytes.size()));
    return out;
  }
  // A bundle: one wagon and its YAML files.
  const fs::path bundle = work_dir / "bundle";
  auto extracted = ExtractArchive(bytes, bundle);
  if (!extracted.ok()) {
    return Invalid("input can be only a wagon or a zip file: " + extracted.status().message());
  }
  std::vector<fs::path> wagons = FindFiles(bundle, "", ".wgn");
  if (wagons.size() != 1) {
    return Invalid("Archive must include one wgn file (found " + std::to_string(wagons.size()) +
                   ")");
  }
  CLOUDIFY_ASSIGN_OR_RETURN(std::string wagon_bytes, ReadFileBytes(wagons.front()));
  CLOUDIFY_ASSIGN_OR_RETURN(out.plugin, ReadWagon(wagon_bytes, work_dir / "bundled-wagon"));
  out.plugin.archive_name = wagons.front().filename().string();
  out.wagon = wagons.front();
  for (const auto& y : FindFiles(bundle, "", ".yaml")) {
    out.yamls.push_back(y);
  }
  return out;
}

}  // namespace cloudify::core
