// The blueprint parser: imports, merge, types, templates, operations, functions (see
// cloudify/dsl/parser.h). Linear in the size of the blueprint: every lookup is a hash or tree
// map, resolved types and their default operations are computed once per type.
#include "cloudify/dsl/parser.h"

#include <algorithm>
#include <deque>
#include <fstream>
#include <map>
#include <set>
#include <sstream>
#include <tuple>
#include <unordered_map>
#include <unordered_set>

#include "cloudify/dsl/functions.h"

#include "dsl/internal.h"
#include "dsl/yaml_tree.h"

#ifndef CLOUDIFY_RESOURCES_DIR
#define CLOUDIFY_RESOURCES_DIR ""
#endif
#ifndef CLOUDIFY_INSTALLED_RESOURCES_DIR
#define CLOUDIFY_INSTALLED_RESOURCES_DIR ""
#endif

namespace cloudify::dsl {
namespace fs = std::filesystem;
using nlohmann::json;

namespace {

constexpr int kMaxMinor = 5;

std::string VersionName(int minor) { return "cloudify_dsl_1_" + std::to_string(minor); }

bool StartsWith(std::string_view s, std::string_view prefix) {
  return s.substr(0, prefix.size()) == prefix;
}
bool EndsWith(std::string_view s, std::string_view suffix) {
  return s.size() >= suffix.size() && s.substr(s.size() - suffix.size()) == suffix;
}

// Joins message parts: error messages are built only when an error is returned, not for every
// template that passes.
template <typename... Parts>
std::string Concat(const Parts&... parts) {
  std::string out;
  (out.append(std::string_view(parts)), ...);
  return out;
}

std::string JoinNames(const std::vector<std::string>& names) {
  std::string out = "[";
  for (size_t i = 0; i < names.size(); ++i) {
    out += (i ? ", " : "") + names[i];
  }
  return out + "]";
}

// ---------------------------------------------------------------------------------------------
// Files and the merged document.

struct FileInfo {
  std::string display;  // in messages: path relative to the blueprint folder, or the URL
  fs::path dir;         // folder for relative imports (empty for remote files)
  std::string ns;       // namespace of the import ("" for none)
  bool basic_types = false;
};

struct Item {
  std::string name;  // namespaced
  YamlMark key_mark;
  YamlNodePtr value;
  int file = 0;
  std::string ns;
};

struct Section {
  std::vector<Item> items;
  std::unordered_map<std::string, size_t> index;
  bool present = false;
  int first_file = -1;

  const Item* Find(const std::string& name) const {
    auto it = index.find(name);
    return it == index.end() ? nullptr : &items[it->second];
  }
};

enum class Merge { kIgnoredInImports, kFirstWins, kAlways, kFrom13, kNever };

struct TopLevelKey {
  std::string_view name;
  int min_minor;
  Merge merge;
};

constexpr TopLevelKey kTopLevelKeys[] = {
    {"tosca_definitions_version", 0, Merge::kIgnoredInImports},
    {"imports", 0, Merge::kIgnoredInImports},
    {"dsl_definitions", 2, Merge::kIgnoredInImports},
    {"description", 2, Merge::kFirstWins},
    {"metadata", 0, Merge::kFirstWins},
    {"inputs", 0, Merge::kFrom13},
    {"data_types", 2, Merge::kAlways},
    {"plugins", 0, Merge::kAlways},
    {"node_types", 0, Merge::kAlways},
    {"relationships", 0, Merge::kAlways},
    {"node_templates", 0, Merge::kFrom13},
    {"workflows", 0, Merge::kAlways},
    {"outputs", 0, Merge::kFrom13},
    {"capabilities", 0, Merge::kFrom13},
    {"policy_types", 0, Merge::kAlways},
    {"policy_triggers", 0, Merge::kAlways},
    {"groups", 0, Merge::kAlways},
    {"policies", 3, Merge::kFrom13},
    {"labels", 0, Merge::kFrom13},
    {"blueprint_labels", 0, Merge::kFrom13},
    {"deployment_settings", 0, Merge::kNever},
    {"resource_tags", 3, Merge::kFrom13},
};

const TopLevelKey* FindTopLevelKey(std::string_view name) {
  for (const auto& key : kTopLevelKeys) {
    if (key.name == name) {
      return &key;
    }
  }
  return nullptr;
}

// A key allowed in some dict of the DSL, and the version that added it.
struct KeySpec {
  std::string_view name;
  int min_minor = 0;
};

// ---------------------------------------------------------------------------------------------
// Element definitions after the YAML phase.

struct PropDef {
  model::ParameterSchema schema;
  YamlMark mark;
  const YamlNode* default_node = nullptr;
};
using PropDefs = std::map<std::string, PropDef>;

struct OpDef {
  bool empty = false;  // `{}` or null: a no-op that overrides a parent's operation
  std::string implementation;
  YamlMark mark;
  PropDefs input_schema;         // in types
  json inputs = json::object();  // in templates: plain values
  const YamlNode* inputs_node = nullptr;
  std::optional<std::string> executor;
  std::optional<int> max_retries;
  std::optional<double> retry_interval;
  std::optional<double> timeout;
  std::optional<bool> timeout_recoverable;
};
// Transparent comparators: templates look their operations up by parts of "iface.op" keys.
using InterfaceDefs = std::map<std::string, std::map<std::string, OpDef, std::less<>>, std::less<>>;

enum class TypeKind { kNode, kRelationship, kData };

struct ResolvedType {
  const Item* item = nullptr;
  int state = 0;  // 0 new, 1 resolving, 2 done
  std::vector<std::string> hierarchy;
  PropDefs props;
  InterfaceDefs interfaces;         // node types; relationship source_interfaces
  InterfaceDefs target_interfaces;  // relationship types
  json defaults = json::object();   // checked property defaults
  // Default operations (no template override), computed on first use.
  bool ops_ready = false;
  model::OperationMap default_ops;
  model::OperationMap default_target_ops;
  std::vector<std::string> op_names[2];  // bare names of every operation (sorted), per side
  // Type operations that cannot stand alone (e.g. an input without a default): an error only
  // for templates that do not override them. Per side (0 node/source, 1 target).
  std::vector<std::tuple<int, std::string, std::string, Status>> op_errors;
};

// Scope of a value holding intrinsic functions, for validation.
enum class FnScope { kNode, kRelationship, kOutput, kOther };

class Parser {
 public:
  explicit Parser(const ParseOptions& options) : options_(options) {
    resources_ = options.resources_dir.empty() ? DefaultResourcesDir() : options.resources_dir;
    limits_.max_alias_nodes = options.max_alias_expansion_nodes;
  }

  Result<model::Plan> Run(std::string_view text, const std::string& file_name, fs::path dir) {
    std::error_code ec;
    root_ = dir.empty() ? fs::path() : fs::weakly_canonical(fs::absolute(dir, ec), ec);
    if (text.size() > options_.max_file_bytes) {
      return Status(ErrorCode::kInvalidBlueprint,
                    "blueprint file is larger than " + std::to_string(options_.max_file_bytes) +
                        " bytes; refused",
                    SourceLocation{file_name, 0, 0});
    }
    files_.push_back(FileInfo{file_name, root_, "", false});
    CLOUDIFY_ASSIGN_OR_RETURN(YamlNodePtr main, ParseYaml(text, 0, file_name, limits_));
    CLOUDIFY_RETURN_IF_ERROR(ReadMainVersion(*main));
    CLOUDIFY_RETURN_IF_ERROR(LoadImports(main));
    CLOUDIFY_RETURN_IF_ERROR(BuildPlan());
    return std::move(plan_);
  }

 private:
  // ------------------------------------------------------------------ errors and small helpers
  Status Err(const YamlMark& mark, std::string message) const {
    const std::string& file = mark.file < static_cast<int>(files_.size())
                                  ? files_[static_cast<size_t>(mark.file)].display
                                  : files_[0].display;
    return Status(ErrorCode::kInvalidBlueprint, std::move(message),
                  SourceLocation{file, mark.line, mark.column});
  }

  template <typename... Where>
  Status CheckKeys(const YamlNode& node, std::initializer_list<KeySpec> allowed,
                   const Where&... where_parts) const {
    for (const auto& entry : node.entries) {
      const KeySpec* found = nullptr;
      for (const auto& spec : allowed) {
        if (spec.name == entry.key) {
          found = &spec;
          break;
        }
      }
      if (found == nullptr) {
        const std::string where = Concat(where_parts...);
        std::vector<std::string> names;
        for (const auto& spec : allowed) {
          if (spec.min_minor <= minor_ || !options_.validate_definitions_version) {
            names.emplace_back(spec.name);
          }
        }
        return Err(entry.key_mark, "'" + entry.key + "' is not in schema of " + where +
                                       ". Valid schema values: " + JoinNames(names));
      }
      if (options_.validate_definitions_version && minor_ < found->min_minor) {
        return RequireVersion(entry.key_mark, Concat("'", entry.key, "' in ", where_parts...),
                              found->min_minor);
      }
    }
    return Status::Ok();
  }

  Status RequireVersion(const YamlMark& mark, const std::string& feature, int min_minor) const {
    if (options_.validate_definitions_version && minor_ < min_minor) {
      return Err(mark, feature + " not supported in version " + VersionName(minor_) +
                           ", it was added in " + VersionName(min_minor));
    }
    return Status::Ok();
  }

  template <typename... What>
  Status ExpectMap(const YamlNode& node, const What&... what) const {
    if (!node.IsMap()) {
      return Err(node.mark, Concat(what..., " must be a dict"));
    }
    return Status::Ok();
  }

  template <typename... What>
  Result<std::string> GetString(const YamlEntry& entry, const What&... what) const {
    if (!entry.value->IsString()) {
      return Err(entry.value->mark, Concat(what..., " '", entry.key, "' must be a string"));
    }
    return entry.value->text;
  }

  // ------------------------------------------------------------------ version
  Result<int> ParseVersion(const YamlNode& node) const {
    if (!node.IsString() || node.text.empty()) {
      return Err(node.mark, "tosca_definitions_version must be a non-empty string");
    }
    const auto& text = node.text;
    constexpr std::string_view kPrefix = "cloudify_dsl_";
    if (!StartsWith(text, kPrefix)) {
      return Err(node.mark, "tosca_definitions_version '" + text + "' must start with '" +
                                std::string(kPrefix) + "'");
    }
    std::string rest = text.substr(kPrefix.size());
    std::vector<int> parts;
    std::stringstream stream(rest);
    std::string part;
    while (std::getline(stream, part, '_')) {
      if (part.empty() || part.size() > 3 ||
          !std::all_of(part.begin(), part.end(), [](char c) { return c >= '0' && c <= '9'; })) {
        return Err(node.mark, "tosca_definitions_version '" + text +
                                  "' must be cloudify_dsl_<major>_<minor>[_<micro>] with numbers");
      }
      parts.push_back(std::stoi(part));
    }
    if (parts.size() < 2 || parts.size() > 3) {
      return Err(node.mark, "tosca_definitions_version '" + text +
                                "' must be cloudify_dsl_<major>_<minor>[_<micro>]");
    }
    if (parts[0] != 1 || parts[1] > kMaxMinor || (parts.size() == 3 && parts[2] != 0)) {
      return Err(node.mark, "Unexpected tosca_definitions_version '" + text +
                                "'; supported versions are cloudify_dsl_1_0 ... " +
                                VersionName(kMaxMinor));
    }
    return parts[1];
  }

  Status ReadMainVersion(const YamlNode& main) {
    if (!main.IsMap()) {
      if (main.IsNull()) {
        return Err(main.mark,
                   "tosca_definitions_version is missing from the blueprint (the "
                   "file is empty)");
      }
      return Err(main.mark, "a blueprint must be a dict of top-level keys");
    }
    const YamlEntry* version = main.Find("tosca_definitions_version");
    if (version == nullptr) {
      return Err(main.mark, "tosca_definitions_version is missing from the main blueprint");
    }
    CLOUDIFY_ASSIGN_OR_RETURN(minor_, ParseVersion(*version->value));
    plan_.tosca_definitions_version = VersionName(minor_);
    return Status::Ok();
  }

  // ------------------------------------------------------------------ imports
  struct Source {
    std::string identity;  // dedupe key
    std::string display;
    std::string text;
    fs::path dir;
    bool bundled_types = false;
  };

  static bool IsRemote(std::string_view url) {
    for (std::string_view scheme : {"http:", "https:", "ftp:", "file:", "plugin:", "blueprint:"}) {
      if (StartsWith(url, scheme)) {
        return true;
      }
    }
    return false;
  }

  // http[s]://[www.](getcloudify.org|cloudify.co)/spec/cloudify/<version>/types.yaml
  static bool IsWellKnownTypesUrl(std::string_view url) {
    for (std::string_view scheme : {"http://", "https://"}) {
      if (!StartsWith(url, scheme)) {
        continue;
      }
      std::string_view rest = url.substr(scheme.size());
      if (StartsWith(rest, "www.")) {
        rest.remove_prefix(4);
      }
      for (std::string_view host :
           {"getcloudify.org/spec/cloudify/", "cloudify.co/spec/cloudify/"}) {
        if (StartsWith(rest, host)) {
          std::string_view tail = rest.substr(host.size());
          size_t slash = tail.find('/');
          return slash != std::string_view::npos && slash > 0 &&
                 tail.substr(slash + 1) == "types.yaml";
        }
      }
    }
    return false;
  }

  Result<std::string> ReadFile(const fs::path& path, const YamlMark& at,
                               const std::string& what) const {
    std::error_code ec;
    auto size = fs::file_size(path, ec);
    if (ec) {
      return Err(at, "cannot read " + what + ": " + ec.message());
    }
    if (size > options_.max_file_bytes) {
      return Err(at, what + " is larger than " + std::to_string(options_.max_file_bytes) +
                         " bytes; refused");
    }
    std::ifstream in(path, std::ios::binary);
    if (!in) {
      return Err(at, "cannot open " + what);
    }
    std::string text(static_cast<size_t>(size), '\0');
    in.read(text.data(), static_cast<std::streamsize>(size));
    return text;
  }

  Result<Source> BundledTypes(const YamlMark& at) const {
    // The newest generation not newer than the blueprint (error 28 otherwise).
    fs::path file = resources_ / "types" / (minor_ >= 4 ? "types.yaml" : "types_1_3.yaml");
    Source source;
    source.identity = "bundled:" + file.string();
    source.display = minor_ >= 4 ? "cloudify/types/types.yaml" : "cloudify/types/types_1_3.yaml";
    CLOUDIFY_ASSIGN_OR_RETURN(source.text, ReadFile(file, at, "bundled types " + file.string()));
    source.dir = file.parent_path();
    source.bundled_types = true;
    return source;
  }

  // A path inside the blueprint folder, or an error (`../` and absolute paths that leave it).
  Result<fs::path> InsideRoot(const fs::path& candidate, const YamlMark& at,
                              const std::string& import) const {
    std::error_code ec;
    fs::path full = fs::weakly_canonical(candidate, ec);
    if (ec) {
      return Err(at, "import '" + import + "': " + ec.message());
    }
    auto rel = full.lexically_relative(root_);
    if (root_.empty() || rel.empty() || *rel.begin() == "..") {
      return Err(at, "import '" + import + "' resolves outside the blueprint folder; refused");
    }
    return full;
  }

  Result<Source> Resolve(const std::string& url, const FileInfo& from, const YamlMark& at) const {
    if (IsWellKnownTypesUrl(url)) {
      return BundledTypes(at);
    }
    if (StartsWith(url, "file:")) {
      std::string path = url.substr(5);
      if (StartsWith(path, "//")) {
        path = path.substr(2);
      }
      fs::path file(path);
      if (file.is_relative()) {
        file = (from.dir.empty() ? root_ : from.dir) / file;
      }
      CLOUDIFY_ASSIGN_OR_RETURN(fs::path full, InsideRoot(file, at, url));
      Source source;
      source.identity = full.string();
      source.display = full.lexically_relative(root_).string();
      CLOUDIFY_ASSIGN_OR_RETURN(source.text, ReadFile(full, at, "import '" + url + "'"));
      source.dir = full.parent_path();
      return source;
    }
    if (IsRemote(url)) {
      if (!options_.import_resolver) {
        return Err(at, "Failed to resolve import '" + url +
                           "': no suitable location found for import (remote imports need an "
                           "import resolver; the parser works offline)");
      }
      auto fetched = options_.import_resolver(url);
      if (!fetched.ok()) {
        return Err(at, "Failed to resolve import '" + url + "': " + fetched.status().message());
      }
      if (fetched->size() > options_.max_file_bytes) {
        return Err(at, "import '" + url + "' is larger than " +
                           std::to_string(options_.max_file_bytes) + " bytes; refused");
      }
      Source source;
      source.identity = url;
      source.display = url;
      source.text = std::move(*fetched);
      return source;
    }
    // A relative (or absolute) path.
    fs::path base = from.dir.empty() ? root_ : from.dir;
    fs::path candidate = fs::path(url).is_absolute() ? fs::path(url) : base / url;
    std::error_code ec;
    if (!fs::exists(candidate, ec) && !fs::path(url).is_absolute()) {
      // The manager's resources: cloudify/types/types.yaml is the bundled types.
      if (url == "cloudify/types/types.yaml" || EndsWith(url, "/cloudify/types/types.yaml")) {
        return BundledTypes(at);
      }
      if (from.basic_types || (!from.dir.empty() && from.dir == resources_ / "types")) {
        candidate = resources_ / "types" / url;
        if (fs::exists(candidate, ec)) {
          Source source;
          source.identity = candidate.string();
          source.display = url;
          CLOUDIFY_ASSIGN_OR_RETURN(source.text, ReadFile(candidate, at, "import '" + url + "'"));
          source.dir = candidate.parent_path();
          return source;
        }
      }
      return Err(at, "Failed to resolve import '" + url +
                         "': no suitable location found for "
                         "import (no such file in the blueprint "
                         "folder)");
    }
    CLOUDIFY_ASSIGN_OR_RETURN(fs::path full, InsideRoot(candidate, at, url));
    Source source;
    source.identity = full.string();
    source.display = full.lexically_relative(root_).string();
    CLOUDIFY_ASSIGN_OR_RETURN(source.text, ReadFile(full, at, "import '" + url + "'"));
    source.dir = full.parent_path();
    return source;
  }

  struct Pending {
    int file;
    YamlNodePtr root;
    int depth;
  };

  Status LoadImports(const YamlNodePtr& main) {
    std::deque<Pending> queue;
    queue.push_back(Pending{0, main, 0});
    std::unordered_set<std::string> seen;
    if (!root_.empty()) {
      // The main file is imported already: a cycle back to it ends there, as in the original.
      std::error_code ec;
      fs::path main_file = fs::weakly_canonical(root_ / files_[0].display, ec);
      if (!ec) {
        seen.insert("|" + main_file.string());
      }
    }
    int imported = 0;
    while (!queue.empty()) {
      Pending current = std::move(queue.front());
      queue.pop_front();
      const YamlNode& doc = *current.root;
      if (doc.IsNull()) {
        continue;
      }
      if (!doc.IsMap()) {
        return Err(doc.mark, "a blueprint file must be a dict of top-level keys");
      }
      if (current.file != 0) {
        if (const YamlEntry* v = doc.Find("tosca_definitions_version")) {
          CLOUDIFY_ASSIGN_OR_RETURN(int imported_minor, ParseVersion(*v->value));
          if (imported_minor > minor_) {
            return Err(v->value->mark,
                       "An import uses a newer DSL version (" + VersionName(imported_minor) +
                           ") than the main blueprint (" + VersionName(minor_) + ")");
          }
        }
        const YamlEntry* meta = doc.Find("metadata");
        bool basic = (meta && meta->value->IsMap() && meta->value->Find("cloudify_types") &&
                      meta->value->Find("cloudify_types")->value->scalar == json(true));
        if (const YamlEntry* types = doc.Find("node_types");
            types && types->value->IsMap() && types->value->Find("cloudify.nodes.Root")) {
          basic = true;
        }
        files_[static_cast<size_t>(current.file)].basic_types = basic;
        if (basic) {
          files_[static_cast<size_t>(current.file)].ns.clear();  // never namespaced
        }
      }
      CLOUDIFY_RETURN_IF_ERROR(MergeFile(doc, current.file));

      const YamlEntry* imports = doc.Find("imports");
      if (imports == nullptr || imports->value->IsNull()) {
        continue;
      }
      if (!imports->value->IsSeq()) {
        return Err(imports->value->mark, "'imports' must be a list of import strings");
      }
      std::unordered_set<std::string> in_this_list;
      for (const auto& item : imports->value->items) {
        std::string url;
        if (item->IsString()) {
          url = item->text;
        } else if (item->IsMap() && item->entries.size() == 1) {
          CLOUDIFY_RETURN_IF_ERROR(RequireVersion(item->mark, "import with properties", 5));
          url = item->entries[0].key;
          if (!item->entries[0].value->IsMap()) {
            return Err(item->mark, "import '" + url + "' properties must be a dict");
          }
        } else {
          return Err(item->mark, "each import must be a string");
        }
        if (!in_this_list.insert(url).second) {
          return Err(item->mark, "Duplicate imports: '" + url + "'");
        }
        const FileInfo& from = files_[static_cast<size_t>(current.file)];
        std::string ns = from.ns;
        bool own_ns = false;
        std::string target = url;
        if (size_t sep = url.rfind("--");
            sep != std::string::npos && !IsRemote(url.substr(0, sep))) {
          std::string own = url.substr(0, sep);
          if (own.find("--") != std::string::npos || own.empty()) {
            return Err(item->mark, "invalid namespace '" + own + "' in import '" + url +
                                       "': a namespace may not contain '--'");
          }
          ns = ns.empty() ? own : ns + "--" + own;
          own_ns = true;
          target = url.substr(sep + 2);
        }
        if (StartsWith(target, "blueprint:") && ns.empty()) {
          return Err(item->mark, "import '" + url + "': a blueprint import needs a namespace");
        }
        if (current.depth + 1 > options_.max_import_depth) {
          return Err(item->mark, "imports nested deeper than " +
                                     std::to_string(options_.max_import_depth) +
                                     " levels; refused");
        }
        CLOUDIFY_ASSIGN_OR_RETURN(Source source, Resolve(target, from, item->mark));
        if (source.bundled_types) {
          if (own_ns) {
            return Err(item->mark,
                       "Cloudify basic types cannot be imported with a namespace ('" + ns + "')");
          }
          ns.clear();  // the basic types are shared by every namespace
        }
        if (!seen.insert(ns + "|" + source.identity).second) {
          continue;  // already imported: cycles and diamonds are harmless
        }
        if (++imported > options_.max_imports) {
          return Err(item->mark,
                     "more than " + std::to_string(options_.max_imports) + " imports; refused");
        }
        int index = static_cast<int>(files_.size());
        files_.push_back(FileInfo{source.display, source.dir, ns, source.bundled_types});
        CLOUDIFY_ASSIGN_OR_RETURN(YamlNodePtr root,
                                  ParseYaml(source.text, index, source.display, limits_));
        queue.push_back(Pending{index, std::move(root), current.depth + 1});
      }
    }
    return Status::Ok();
  }

  // Namespaced name of an entry of file `file` (cloudify.* names are never namespaced).
  std::string Qualified(const std::string& ns, const std::string& name) const {
    if (ns.empty() || StartsWith(name, "cloudify.")) {
      return name;
    }
    return ns + "--" + name;
  }

  static bool IsRelationshipsOnlyTemplate(const YamlNode& node) {
    return node.IsMap() && node.entries.size() == 1 && node.entries[0].key == "relationships";
  }

  Status MergeFile(const YamlNode& doc, int file) {
    const FileInfo& info = files_[static_cast<size_t>(file)];
    for (const auto& entry : doc.entries) {
      const TopLevelKey* key = FindTopLevelKey(entry.key);
      if (key == nullptr) {
        std::vector<std::string> names;
        for (const auto& k : kTopLevelKeys) {
          names.emplace_back(k.name);
        }
        return Err(entry.key_mark, "'" + entry.key + "' is not in schema. Valid schema values: " +
                                       JoinNames(names));
      }
      CLOUDIFY_RETURN_IF_ERROR(
          RequireVersion(entry.key_mark, "'" + entry.key + "'", key->min_minor));
      if (key->merge == Merge::kIgnoredInImports) {
        if (file == 0 && entry.key == "dsl_definitions" && !entry.value->IsMap() &&
            !entry.value->IsSeq() && !entry.value->IsNull()) {
          return Err(entry.value->mark, "'dsl_definitions' must be a dict or a list");
        }
        continue;
      }
      Section& section = sections_[entry.key];
      if (key->merge == Merge::kFirstWins || key->merge == Merge::kNever) {
        if (section.present) {
          if (key->merge == Merge::kNever) {
            return Err(entry.key_mark, "Import failed: non-mergeable field: '" + entry.key + "'");
          }
          continue;
        }
        section.present = true;
        section.first_file = file;
        section.items.push_back(Item{entry.key, entry.key_mark, entry.value, file, info.ns});
        continue;
      }
      bool mergeable = key->merge == Merge::kAlways || minor_ > 2;
      if (section.present && !mergeable) {
        return Err(entry.key_mark, "Import failed: non-mergeable field: '" + entry.key + "'");
      }
      if (!section.present) {
        section.first_file = file;
      }
      section.present = true;
      if (entry.value->IsNull()) {
        continue;
      }
      if (!entry.value->IsMap()) {
        return Err(entry.value->mark, "'" + entry.key + "' must be a dict");
      }
      for (const auto& child : entry.value->entries) {
        std::string name = Qualified(info.ns, child.key);
        auto [it, inserted] = section.index.emplace(name, section.items.size());
        if (inserted) {
          section.items.push_back(Item{name, child.key_mark, child.value, file, info.ns});
          continue;
        }
        Item& existing = section.items[it->second];
        const bool basic =
            info.basic_types || files_[static_cast<size_t>(existing.file)].basic_types;
        if (StartsWith(name, "cloudify.") || basic) {
          continue;  // built-in definitions imported twice: the first stays
        }
        if (entry.key == "labels" || entry.key == "blueprint_labels" ||
            entry.key == "resource_tags") {
          continue;
        }
        if (entry.key == "workflows" && existing.value->IsMap() && child.value->IsMap()) {
          auto merged = std::make_shared<YamlNode>(*existing.value);
          for (const auto& e : child.value->entries) {
            if (merged->Find(e.key) == nullptr) {
              merged->entries.push_back(e);
            }
          }
          existing.value = std::move(merged);
          continue;
        }
        if (entry.key == "node_templates" && (IsRelationshipsOnlyTemplate(*existing.value) ||
                                              IsRelationshipsOnlyTemplate(*child.value))) {
          const YamlNodePtr& full =
              IsRelationshipsOnlyTemplate(*existing.value) ? child.value : existing.value;
          const YamlNodePtr& extra =
              IsRelationshipsOnlyTemplate(*existing.value) ? existing.value : child.value;
          auto merged = std::make_shared<YamlNode>(*full);
          const YamlEntry* extra_rels = extra->Find("relationships");
          if (extra_rels && extra_rels->value->IsSeq()) {
            bool found = false;
            for (auto& e : merged->entries) {
              if (e.key == "relationships" && e.value->IsSeq()) {
                auto rels = std::make_shared<YamlNode>(*e.value);
                for (const auto& r : extra_rels->value->items) {
                  rels->items.push_back(r);
                }
                e.value = std::move(rels);
                found = true;
              }
            }
            if (!found) {
              merged->entries.push_back(*extra_rels);
            }
          }
          existing.value = std::move(merged);
          if (&*full == &*child.value) {
            existing.file = file;
            existing.key_mark = child.key_mark;
          }
          continue;
        }
        return Err(child.key_mark,
                   "Could not merge '" + entry.key + "' due to conflict on '" + name + "'");
      }
    }
    return Status::Ok();
  }

  const Section* GetSection(const std::string& key) const {
    auto it = sections_.find(key);
    return it == sections_.end() ? nullptr : &it->second;
  }

  // A reference from a namespaced item: its own namespace's name first, then the global one.
  std::string Ref(const std::string& ns, const std::string& name, const Section* section) const {
    if (!ns.empty() && section != nullptr) {
      std::string qualified = Qualified(ns, name);
      if (section->Find(qualified)) {
        return qualified;
      }
    }
    return name;
  }

  // In a namespaced file, get_input / get_property / get_attribute name the file's own inputs
  // and nodes: rewrite those references to the namespaced names.
  void Namespace(json& value, const std::string& ns) const {
    if (ns.empty()) {
      return;
    }
    if (value.is_array()) {
      for (auto& item : value) {
        Namespace(item, ns);
      }
      return;
    }
    if (!value.is_object()) {
      return;
    }
    for (auto& item : value) {
      Namespace(item, ns);
    }
    if (!IsFunctionCall(value)) {
      return;
    }
    const std::string& name = value.begin().key();
    json& args = value.begin().value();
    json* ref = args.is_array() && !args.empty() ? &args[0] : &args;
    if (!ref->is_string()) {
      return;
    }
    std::string qualified = Qualified(ns, ref->get<std::string>());
    if (name == "get_input" && plan_.inputs.count(qualified)) {
      *ref = qualified;
    } else if ((name == "get_property" || name == "get_attribute") && args.is_array() &&
               node_index_.count(qualified)) {
      *ref = qualified;
    }
  }

  // ------------------------------------------------------------------ property schemas
  bool IsKnownType(const std::string& type) const {
    return IsPrimitiveType(type, minor_) || data_types_.count(type) > 0;
  }

  Result<PropDefs> ParseSchema(const YamlNode* node, const std::string& what, const std::string& ns,
                               bool input_like) {
    PropDefs out;
    if (node == nullptr || node->IsNull()) {
      return out;
    }
    CLOUDIFY_RETURN_IF_ERROR(ExpectMap(*node, what));
    for (const auto& entry : node->entries) {
      PropDef def;
      def.mark = entry.key_mark;
      std::string where = what + " '" + entry.key + "'";
      if (entry.value->IsNull()) {
        out[entry.key] = std::move(def);
        continue;
      }
      if (!entry.value->IsMap()) {
        return Err(entry.value->mark, where + " must be a dict (type, default, description, ...)");
      }
      const YamlNode& v = *entry.value;
      CLOUDIFY_RETURN_IF_ERROR(CheckKeys(v,
                                         {{"type"},
                                          {"default"},
                                          {"description"},
                                          {"required", 2},
                                          {"constraints"},
                                          {"display_label", 3},
                                          {"hidden", 3},
                                          {"item_type", 4},
                                          {"display"}},
                                         where));
      for (const auto& field : v.entries) {
        const YamlNode& fv = *field.value;
        if (field.key == "type") {
          CLOUDIFY_ASSIGN_OR_RETURN(std::string type, GetString(field, where));
          type = Ref(ns, type, GetSection("data_types"));
          if (!IsKnownType(type)) {
            return Err(fv.mark, where + ": Illegal type name '" + type + "'");
          }
          def.schema.type = type;
        } else if (field.key == "default") {
          def.schema.default_value = fv.ToJson();
          def.default_node = &fv;
        } else if (field.key == "description") {
          def.schema.description = fv.IsString() ? fv.text : fv.ToJson().dump();
        } else if (field.key == "required") {
          if (!fv.scalar.is_boolean()) {
            return Err(fv.mark, where + ": 'required' must be a boolean");
          }
          def.schema.required = fv.scalar.get<bool>();
        } else if (field.key == "constraints") {
          json constraints = fv.ToJson();
          if (std::string e = ConstraintsShapeError(constraints, minor_); !e.empty()) {
            return Err(fv.mark, where + ": " + e);
          }
          def.schema.constraints = std::move(constraints);
        } else if (field.key == "display_label") {
          CLOUDIFY_ASSIGN_OR_RETURN(std::string label, GetString(field, where));
          def.schema.display_label = label;
        } else if (field.key == "hidden") {
          if (!fv.scalar.is_boolean()) {
            return Err(fv.mark, where + ": 'hidden' must be a boolean");
          }
          def.schema.hidden = fv.scalar.get<bool>();
        } else if (field.key == "item_type") {
          CLOUDIFY_ASSIGN_OR_RETURN(std::string type, GetString(field, where));
          if (!IsKnownType(type)) {
            return Err(fv.mark, where + ": Illegal item_type '" + type + "'");
          }
          def.schema.item_type = type;
        } else if (field.key == "display") {
          if (!fv.IsMap()) {
            return Err(fv.mark, where + ": 'display' must be a dict like {rows: 5}");
          }
        }
      }
      if (def.schema.item_type && def.schema.type != "list") {
        return Err(def.mark, where + ": item_type is only allowed with type: list");
      }
      if (const YamlEntry* display = v.Find("display"); display && def.schema.type != "textarea") {
        return Err(display->key_mark, where + ": 'display' is only allowed with type: textarea");
      }
      if (input_like && def.schema.hidden && def.schema.required && !def.schema.default_value) {
        return Err(def.mark, where + " is hidden and required but has no default");
      }
      if (!def.schema.constraints.empty()) {
        if (def.schema.default_value && IsFunctionCall(*def.schema.default_value)) {
          return Err(def.mark, where +
                                   ": a default given by an intrinsic function cannot be "
                                   "combined with constraints");
        }
      }
      out[entry.key] = std::move(def);
    }
    return out;
  }

  // CheckValue for the common case, a value of a primitive type that matches, without building
  // the message: `what` is called only when the value needs the full check.
  template <typename What>
  Result<json> CheckValueLazy(json value, const std::optional<std::string>& type,
                              const YamlNode* node, const YamlMark& fallback, const What& what) {
    if (!type || value.is_null() || IsFunctionCall(value) ||
        (data_types_.find(*type) == data_types_.end() && MatchesPrimitiveType(value, *type))) {
      return value;
    }
    return CheckValue(std::move(value), type, node, fallback, what());
  }

  // Checks `value` against `type`; fills data-type defaults. `node` locates errors (may be null).
  Result<json> CheckValue(json value, const std::optional<std::string>& type, const YamlNode* node,
                          const YamlMark& fallback, const std::string& what, int depth = 0) {
    const YamlMark& mark = node ? node->mark : fallback;
    if (!type || value.is_null() || IsFunctionCall(value)) {
      return value;
    }
    if (depth > 64) {
      return Err(mark, what + ": data types nested too deeply");
    }
    auto dt = data_types_.find(*type);
    if (dt == data_types_.end()) {
      if (!MatchesPrimitiveType(value, *type)) {
        return Err(mark,
                   what + " has value " + value.dump() + " which is not of type '" + *type + "'");
      }
      return value;
    }
    if (!value.is_object()) {
      return Err(mark, what + " has value " + value.dump() + " but data type '" + *type +
                           "' needs a dict");
    }
    const ResolvedType& data = dt->second;
    for (auto it = value.begin(); it != value.end(); ++it) {
      if (data.props.find(it.key()) == data.props.end()) {
        const YamlEntry* e = node && node->IsMap() ? node->Find(it.key()) : nullptr;
        return Err(e ? e->key_mark : mark,
                   what + ": property '" + it.key() + "' is not part of data type '" + *type + "'");
      }
    }
    for (const auto& [name, def] : data.props) {
      auto it = value.find(name);
      if (it != value.end()) {
        const YamlEntry* e = node && node->IsMap() ? node->Find(name) : nullptr;
        CLOUDIFY_ASSIGN_OR_RETURN(
            *it, CheckValue(std::move(*it), def.schema.type, e ? e->value.get() : nullptr, mark,
                            what + "." + name, depth + 1));
      } else if (def.schema.default_value) {
        value[name] = *def.schema.default_value;
      } else if (def.schema.required) {
        return Err(mark, what + ": required property '" + name + "' of data type '" + *type +
                             "' is missing a value");
      }
    }
    return value;
  }

  // ------------------------------------------------------------------ types
  Status ResolveTypes(TypeKind kind) {
    const char* section_name = kind == TypeKind::kNode           ? "node_types"
                               : kind == TypeKind::kRelationship ? "relationships"
                                                                 : "data_types";
    auto& table = kind == TypeKind::kNode           ? node_types_
                  : kind == TypeKind::kRelationship ? relationship_types_
                                                    : data_types_;
    const Section* section = GetSection(section_name);
    if (section == nullptr) {
      return Status::Ok();
    }
    for (const auto& item : section->items) {
      if (kind == TypeKind::kData && IsPrimitiveType(item.name, kMaxMinor)) {
        return Err(item.key_mark, "data type '" + item.name +
                                      "' reuses the name of a primitive "
                                      "type");
      }
      table[item.name].item = &item;
    }
    for (const auto& item : section->items) {
      CLOUDIFY_RETURN_IF_ERROR(ResolveType(kind, item.name, table, *section, item.key_mark));
    }
    if (kind == TypeKind::kData) {
      // Defaults and nested data-type cycles, now that every data type is known.
      for (const auto& item : section->items) {
        std::vector<std::string> path;
        CLOUDIFY_RETURN_IF_ERROR(CheckDataTypeCycle(item.name, path, item.key_mark));
      }
    }
    for (const auto& item : section->items) {
      ResolvedType& type = table[item.name];
      for (const auto& [name, def] : type.props) {
        if (def.schema.default_value) {
          CLOUDIFY_ASSIGN_OR_RETURN(
              json checked,
              CheckValue(*def.schema.default_value, def.schema.type, def.default_node, def.mark,
                         "default of property '" + name + "' of '" + item.name + "'"));
          type.defaults[name] = std::move(checked);
        }
      }
    }
    return Status::Ok();
  }

  Status CheckDataTypeCycle(const std::string& name, std::vector<std::string>& path,
                            const YamlMark& mark) {
    if (std::find(path.begin(), path.end(), name) != path.end()) {
      path.push_back(name);
      std::string chain;
      for (const auto& p : path) {
        chain += (chain.empty() ? "" : " -> ") + p;
      }
      return Err(mark, "Circular dependency among data types: " + chain);
    }
    auto it = data_types_.find(name);
    if (it == data_types_.end()) {
      return Status::Ok();
    }
    path.push_back(name);
    for (const auto& [prop, def] : it->second.props) {
      if (def.schema.type && data_types_.count(*def.schema.type) &&
          (!def.schema.default_value && def.schema.required)) {
        CLOUDIFY_RETURN_IF_ERROR(CheckDataTypeCycle(*def.schema.type, path, def.mark));
      }
    }
    path.pop_back();
    return Status::Ok();
  }

  Status ResolveType(TypeKind kind, const std::string& name,
                     std::unordered_map<std::string, ResolvedType>& table, const Section& section,
                     const YamlMark& from) {
    ResolvedType& type = table[name];
    if (type.state == 2) {
      return Status::Ok();
    }
    if (type.state == 1) {
      return Err(from, "Circular dependency: '" + name + "' derives from itself");
    }
    type.state = 1;
    const Item& item = *type.item;
    const char* what = kind == TypeKind::kNode           ? "node type"
                       : kind == TypeKind::kRelationship ? "relationship"
                                                         : "data type";
    std::string where = std::string(what) + " '" + name + "'";
    const YamlNode& node = *item.value;
    if (!node.IsNull()) {
      CLOUDIFY_RETURN_IF_ERROR(ExpectMap(node, where));
      if (kind == TypeKind::kNode) {
        CLOUDIFY_RETURN_IF_ERROR(CheckKeys(
            node, {{"derived_from"}, {"properties"}, {"interfaces"}, {"runtime_properties", 5}},
            where));
      } else if (kind == TypeKind::kRelationship) {
        CLOUDIFY_RETURN_IF_ERROR(CheckKeys(
            node, {{"derived_from"}, {"properties"}, {"source_interfaces"}, {"target_interfaces"}},
            where));
      } else {
        CLOUDIFY_RETURN_IF_ERROR(CheckKeys(
            node, {{"derived_from"}, {"properties"}, {"description"}, {"version"}}, where));
      }
    }
    const YamlEntry* derived = node.IsMap() ? node.Find("derived_from") : nullptr;
    if (derived != nullptr) {
      CLOUDIFY_ASSIGN_OR_RETURN(std::string parent, GetString(*derived, where));
      parent = Ref(item.ns, parent, &section);
      auto it = table.find(parent);
      if (it == table.end() || it->second.item == nullptr) {
        return Err(derived->value->mark,
                   where + " derives from '" + parent + "' which is not defined");
      }
      CLOUDIFY_RETURN_IF_ERROR(ResolveType(kind, parent, table, section, derived->value->mark));
      const ResolvedType& p = table[parent];
      type.hierarchy = p.hierarchy;
      type.props = p.props;
      type.interfaces = p.interfaces;
      type.target_interfaces = p.target_interfaces;
      type.defaults = p.defaults;
    }
    type.hierarchy.push_back(name);
    if (node.IsMap()) {
      if (const YamlEntry* props = node.Find("properties")) {
        CLOUDIFY_ASSIGN_OR_RETURN(
            PropDefs own, ParseSchema(props->value.get(), where + " property", item.ns, false));
        for (auto& [k, v] : own) {
          type.defaults.erase(k);
          type.props[k] = std::move(v);
        }
      }
      if (kind == TypeKind::kNode) {
        if (const YamlEntry* runtime = node.Find("runtime_properties")) {
          CLOUDIFY_RETURN_IF_ERROR(
              ParseSchema(runtime->value.get(), where + " runtime property", item.ns, false)
                  .status());
        }
      }
      const char* iface_keys[] = {kind == TypeKind::kNode ? "interfaces" : "source_interfaces",
                                  "target_interfaces"};
      for (int i = 0; i < (kind == TypeKind::kRelationship ? 2 : (kind == TypeKind::kNode ? 1 : 0));
           ++i) {
        if (const YamlEntry* ifaces = node.Find(iface_keys[i])) {
          InterfaceDefs& target = i == 0 ? type.interfaces : type.target_interfaces;
          CLOUDIFY_RETURN_IF_ERROR(ParseInterfaces(*ifaces->value, where, true, item.ns, target));
        }
      }
    }
    type.state = 2;
    return Status::Ok();
  }

  // Interfaces of a type (in_type: input schemas) or of a template (input values); merges
  // into `out` by interface then operation name (an operation replaces the parent's whole).
  Status ParseInterfaces(const YamlNode& node, const std::string& where, bool in_type,
                         const std::string& ns, InterfaceDefs& out) {
    if (node.IsNull()) {
      return Status::Ok();
    }
    CLOUDIFY_RETURN_IF_ERROR(ExpectMap(node, where, " interfaces"));
    for (const auto& iface : node.entries) {
      auto& ops = out[iface.key];
      if (iface.value->IsNull()) {
        continue;
      }
      CLOUDIFY_RETURN_IF_ERROR(ExpectMap(*iface.value, where, " interface '", iface.key, "'"));
      for (const auto& op : iface.value->entries) {
        CLOUDIFY_ASSIGN_OR_RETURN(OpDef def, ParseOperation(op, where, iface.key, in_type, ns));
        ops.insert_or_assign(op.key, std::move(def));
      }
    }
    return Status::Ok();
  }

  Result<OpDef> ParseOperation(const YamlEntry& entry, const std::string& owner_where,
                               const std::string& iface, bool in_type, const std::string& ns) {
    auto where = [&] { return Concat(owner_where, " operation '", iface, ".", entry.key, "'"); };
    OpDef def;
    const YamlNode& v = *entry.value;
    def.mark = v.IsNull() ? entry.key_mark : v.mark;
    if (v.IsNull()) {
      def.empty = true;
      return def;
    }
    if (v.IsString()) {
      def.implementation = v.text;
      def.empty = def.implementation.empty();
      return def;
    }
    if (!v.IsMap()) {
      return Err(v.mark, where() + " must be a string or a dict");
    }
    if (v.entries.empty()) {
      def.empty = true;
      return def;
    }
    CLOUDIFY_RETURN_IF_ERROR(CheckKeys(v,
                                       {{"implementation"},
                                        {"inputs"},
                                        {"executor"},
                                        {"max_retries", 1},
                                        {"retry_interval", 1},
                                        {"timeout"},
                                        {"timeout_recoverable"}},
                                       owner_where, " operation '", iface, ".", entry.key, "'"));
    for (const auto& field : v.entries) {
      const YamlNode& fv = *field.value;
      if (field.key == "implementation") {
        if (!fv.IsNull()) {
          CLOUDIFY_ASSIGN_OR_RETURN(
              def.implementation,
              GetString(field, owner_where, " operation '", iface, ".", entry.key, "'"));
        }
      } else if (field.key == "inputs") {
        if (in_type) {
          CLOUDIFY_ASSIGN_OR_RETURN(def.input_schema,
                                    ParseSchema(&fv, where() + " input", ns, false));
        } else {
          if (!fv.IsNull() && !fv.IsMap()) {
            return Err(fv.mark, where() + ": 'inputs' must be a dict");
          }
          def.inputs = fv.IsNull() ? json::object() : fv.ToJson();
          def.inputs_node = &fv;
        }
      } else if (field.key == "executor") {
        CLOUDIFY_ASSIGN_OR_RETURN(
            std::string executor,
            GetString(field, owner_where, " operation '", iface, ".", entry.key, "'"));
        if (executor != "central_deployment_agent" && executor != "host_agent" &&
            executor != "auto") {
          return Err(fv.mark, where() + ": illegal executor '" + executor +
                                  "' (valid: central_deployment_agent, host_agent)");
        }
        def.executor = executor;
      } else if (field.key == "max_retries") {
        if (!fv.scalar.is_number_integer() || fv.scalar.get<long long>() < -1) {
          return Err(fv.mark, where() + ": max_retries must be an integer >= -1");
        }
        def.max_retries = fv.scalar.get<int>();
      } else if (field.key == "retry_interval" || field.key == "timeout") {
        if (!fv.scalar.is_number() || fv.scalar.get<double>() < 0) {
          return Err(fv.mark, where() + ": " + field.key + " must be a number >= 0");
        }
        (field.key == "timeout" ? def.timeout : def.retry_interval) = fv.scalar.get<double>();
      } else if (field.key == "timeout_recoverable") {
        if (!fv.scalar.is_boolean()) {
          return Err(fv.mark, where() + ": timeout_recoverable must be a boolean");
        }
        def.timeout_recoverable = fv.scalar.get<bool>();
      }
    }
    if (def.implementation.empty() && in_type) {
      def.empty = def.input_schema.empty();
    }
    return def;
  }

  // ------------------------------------------------------------------ plugins
  Status ParsePlugins() {
    const Section* section = GetSection("plugins");
    if (section == nullptr) {
      return Status::Ok();
    }
    for (const auto& item : section->items) {
      std::string where = "plugin '" + item.name + "'";
      const YamlNode& node = *item.value;
      CLOUDIFY_RETURN_IF_ERROR(ExpectMap(node, where));
      CLOUDIFY_RETURN_IF_ERROR(CheckKeys(node,
                                         {{"executor"},
                                          {"source"},
                                          {"install"},
                                          {"install_arguments", 1},
                                          {"package_name", 2},
                                          {"package_version", 2},
                                          {"supported_platform", 2},
                                          {"distribution", 2},
                                          {"distribution_version", 2},
                                          {"distribution_release", 2},
                                          {"properties", 5},
                                          {"properties_description", 5}},
                                         where));
      model::PluginSpec plugin;
      plugin.name = item.name;
      const YamlEntry* executor = node.Find("executor");
      if (executor == nullptr) {
        return Err(item.key_mark, where + ": 'executor' is required");
      }
      CLOUDIFY_ASSIGN_OR_RETURN(std::string exec, GetString(*executor, where));
      auto parsed = model::ParseExecutor(exec);
      if (!parsed || *parsed == model::Executor::kAuto) {
        return Err(executor->value->mark, where + ": illegal executor '" + exec +
                                              "' (valid: central_deployment_agent, host_agent)");
      }
      plugin.executor = *parsed;
      for (const auto& field : node.entries) {
        const YamlNode& fv = *field.value;
        if (field.key == "source" || field.key == "package_name" ||
            field.key == "package_version") {
          if (fv.IsNull()) {
            continue;
          }
          CLOUDIFY_ASSIGN_OR_RETURN(std::string s, GetString(field, where));
          (field.key == "source"         ? plugin.source
           : field.key == "package_name" ? plugin.package_name
                                         : plugin.package_version) = s;
        } else if (field.key == "install") {
          if (!fv.scalar.is_boolean()) {
            return Err(fv.mark, where + ": 'install' must be a boolean");
          }
          plugin.install = fv.scalar.get<bool>();
        } else if (field.key == "install_arguments") {
          plugin.install_arguments = fv.ToJson();
        } else if (field.key == "properties") {
          plugin.properties = fv.ToJson();
        }
      }
      if (plugin.install && plugin.source.empty() && plugin.package_name.empty()) {
        return Err(item.key_mark, where +
                                      " has install: true but neither 'source' nor "
                                      "'package_name'");
      }
      plugins_[plugin.name] = std::move(plugin);
    }
    return Status::Ok();
  }

  // ------------------------------------------------------------------ operations
  bool ScriptExists(const std::string& path) {
    auto it = script_cache_.find(path);
    if (it != script_cache_.end()) {
      return it->second;
    }
    bool exists = false;
    if (!root_.empty() && !fs::path(path).is_absolute()) {
      std::error_code ec;
      exists = fs::is_regular_file(root_ / path, ec);
    }
    script_cache_[path] = exists;
    return exists;
  }

  static bool LooksLikeUrl(std::string_view s) {
    size_t colon = s.find("://");
    if (colon == std::string_view::npos || colon == 0) {
      return false;
    }
    for (size_t i = 0; i < colon; ++i) {
      char c = s[i];
      if (!std::isalnum(static_cast<unsigned char>(c)) && c != '+' && c != '-' && c != '.') {
        return false;
      }
    }
    return true;
  }

  enum class OpOwner { kNode, kRelationship, kWorkflow };

  // Decides script vs plugin (the original's order) and fills plugin/operation/executor.
  // `where()` names the operation in errors.
  template <typename Where>
  Status ResolveImplementation(model::OperationSpec& spec, const YamlMark& mark, const Where& where,
                               OpOwner owner) {
    const std::string& impl = spec.implementation;
    bool script = LooksLikeUrl(impl) || impl.find('\n') != std::string::npos || ScriptExists(impl);
    if (script) {
      auto plugin = plugins_.find("script");
      if (plugin == plugins_.end()) {
        bool any = false;
        for (const auto& [name, p] : plugins_) {
          if (EndsWith(name, "script")) {
            plugin = plugins_.find(name);
            any = true;
            break;
          }
        }
        if (!any) {
          return Err(mark, where() + ": implementation '" + impl +
                               "' is a script but no 'script' plugin is declared (import the "
                               "built-in types)");
        }
      }
      const char* input = impl.find('\n') != std::string::npos ? "script_source" : "script_path";
      if (spec.inputs.contains("script_path") || spec.inputs.contains("script_source")) {
        return Err(mark, where() + ": the script is given as implementation and as '" +
                             std::string(input) + "' input");
      }
      spec.inputs[input] = impl;
      spec.plugin = plugin->first;
      spec.operation = owner == OpOwner::kWorkflow ? "script_runner.tasks.execute_workflow"
                                                   : "script_runner.tasks.run";
      if (!spec.executor && owner != OpOwner::kWorkflow) {
        spec.executor = model::Executor::kAuto;
      }
      return Status::Ok();
    }
    std::vector<std::string> matches;
    for (const auto& [name, plugin] : plugins_) {
      if (impl.size() > name.size() + 1 && StartsWith(impl, name) && impl[name.size()] == '.') {
        matches.push_back(name);
      }
    }
    if (matches.size() > 1) {
      return Err(mark, where() + ": implementation '" + impl + "' matches several plugins " +
                           JoinNames(matches));
    }
    if (matches.empty()) {
      return Err(mark, where() + ": could not extract a plugin from implementation '" + impl +
                           "', and no script of that path exists in the blueprint folder");
    }
    const model::PluginSpec& plugin = plugins_[matches[0]];
    spec.plugin = plugin.name;
    spec.operation = impl.substr(plugin.name.size() + 1);
    if (!spec.executor) {
      spec.executor = plugin.executor;
    }
    return Status::Ok();
  }

  static void ApplyOpFields(model::OperationSpec& spec, const OpDef& def) {
    if (def.executor) {
      spec.executor = model::ParseExecutor(*def.executor);
    }
    if (def.max_retries) {
      spec.max_retries = def.max_retries;
    }
    if (def.retry_interval) {
      spec.retry_interval = def.retry_interval;
    }
    if (def.timeout) {
      spec.timeout = def.timeout;
    }
    if (def.timeout_recoverable) {
      spec.timeout_recoverable = *def.timeout_recoverable;
    }
  }

  // One operation after the type/template merge (§4.3 of the design notes).
  // The template's operation, when there is one, is consumed: its input values are moved.
  Result<model::OperationSpec> BuildOperation(const OpDef* type_op, OpDef* tmpl_op,
                                              const std::string& owner_where,
                                              const std::string& iface, const std::string& op_name,
                                              OpOwner owner) {
    model::OperationSpec spec;
    if ((tmpl_op && tmpl_op->empty) || (!tmpl_op && (!type_op || type_op->empty))) {
      return spec;  // a no-op
    }
    // Built only for an error message.
    auto where = [&] { return Concat(owner_where, " operation '", iface, ".", op_name, "'"); };
    const YamlMark& mark = tmpl_op ? tmpl_op->mark : type_op->mark;
    bool from_type = type_op && !type_op->empty &&
                     (!tmpl_op || tmpl_op->implementation.empty() ||
                      tmpl_op->implementation == type_op->implementation);
    if (from_type) {
      spec.implementation = type_op->implementation;
      ApplyOpFields(spec, *type_op);
      if (tmpl_op) {
        ApplyOpFields(spec, *tmpl_op);
      }
      for (const auto& [name, def] : type_op->input_schema) {
        json* given = nullptr;
        if (tmpl_op) {
          auto it = tmpl_op->inputs.find(name);
          if (it != tmpl_op->inputs.end()) {
            given = &*it;
          }
        }
        if (given) {
          const YamlEntry* e = tmpl_op->inputs_node ? tmpl_op->inputs_node->Find(name) : nullptr;
          CLOUDIFY_ASSIGN_OR_RETURN(
              spec.inputs[name],
              CheckValueLazy(std::move(*given), def.schema.type, e ? e->value.get() : nullptr, mark,
                             [&] { return where() + " input '" + name + "'"; }));
        } else if (def.schema.default_value) {
          spec.inputs[name] = *def.schema.default_value;
        } else if (def.schema.required) {
          return Err(mark, where() + ": input '" + name + "' is missing a value");
        }
        if (def.schema.type) {
          spec.inputs_types[name] = *def.schema.type;
        }
      }
      if (tmpl_op) {
        for (auto it = tmpl_op->inputs.begin(); it != tmpl_op->inputs.end(); ++it) {
          if (!spec.inputs.contains(it.key())) {
            spec.inputs[it.key()] = std::move(it.value());
          }
        }
      }
    } else {
      spec.implementation = tmpl_op->implementation;
      spec.inputs = std::move(tmpl_op->inputs);
      ApplyOpFields(spec, *tmpl_op);
      if (spec.implementation.empty()) {
        return model::OperationSpec{};
      }
    }
    if (spec.implementation.empty()) {
      return model::OperationSpec{};
    }
    CLOUDIFY_RETURN_IF_ERROR(ResolveImplementation(spec, mark, where, owner));
    spec.has_intrinsic_functions = ContainsFunctionCall(spec.inputs);
    return spec;
  }

  // Adds "op" next to "iface.op" when no other interface has an operation named "op". The
  // operation names are `op_names` (sorted) and `extra_names` (few, any order).
  static void AddBareNames(model::OperationMap& ops, const std::vector<std::string>& op_names,
                           const std::vector<std::string_view>& extra_names) {
    auto less = [](std::string_view a, std::string_view b) { return a < b; };
    std::vector<std::pair<std::string, const model::OperationSpec*>> bare;
    for (const auto& [key, spec] : ops) {
      size_t dot = key.rfind('.');
      if (dot == std::string::npos) {
        continue;
      }
      std::string_view op = std::string_view(key).substr(dot + 1);
      auto [first, last] = std::equal_range(op_names.begin(), op_names.end(), op, less);
      auto count = (last - first) + std::count(extra_names.begin(), extra_names.end(), op);
      if (count == 1 && ops.find(std::string(op)) == ops.end()) {
        bare.emplace_back(std::string(op), &spec);
      }
    }
    for (auto& [op, spec] : bare) {
      model::OperationSpec copy = *spec;
      ops.emplace(op, std::move(copy));
    }
  }

  // The type's operations as a template that overrides none of them gets them (computed once
  // per type; templates copy or patch the result).
  Status EnsureDefaultOps(ResolvedType& type, const std::string& name, OpOwner owner) {
    if (type.ops_ready) {
      return Status::Ok();
    }
    std::string where = (owner == OpOwner::kNode ? "node type '" : "relationship '") + name + "'";
    for (int side = 0; side < 2; ++side) {
      const InterfaceDefs& ifaces = side == 0 ? type.interfaces : type.target_interfaces;
      model::OperationMap& out = side == 0 ? type.default_ops : type.default_target_ops;
      std::vector<std::string>& names = type.op_names[side];
      for (const auto& [iface, ops] : ifaces) {
        for (const auto& [op, def] : ops) {
          names.push_back(op);
          auto spec = BuildOperation(&def, nullptr, where, iface, op, owner);
          if (!spec.ok()) {
            type.op_errors.emplace_back(side, iface, op, spec.status());
          } else if (!spec->IsNoOp()) {
            out.emplace(iface + "." + op, std::move(*spec));
          }
        }
      }
      std::sort(names.begin(), names.end());
      AddBareNames(out, names, {});
    }
    type.ops_ready = true;
    return Status::Ok();
  }

  // The first type operation of `side` that fails on its own, unless `tmpl` overrides it.
  static Status DefaultOpError(const ResolvedType& type, int side, const InterfaceDefs* tmpl) {
    for (const auto& [error_side, iface, op, status] : type.op_errors) {
      if (error_side != side) {
        continue;
      }
      if (tmpl) {
        auto it = tmpl->find(iface);
        if (it != tmpl->end() && it->second.count(op)) {
          continue;
        }
      }
      return status;
    }
    return Status::Ok();
  }

  // The type's default operations of `side` patched with a template's interfaces (keyed
  // "iface.op" and the bare "op"), without rebuilding the operations the template leaves alone.
  // `tmpl` is consumed (its input values are moved into the result).
  Result<model::OperationMap> MergeTemplateOperations(ResolvedType& type, const std::string& name,
                                                      int side, InterfaceDefs& tmpl,
                                                      const std::string& where, OpOwner owner) {
    CLOUDIFY_RETURN_IF_ERROR(EnsureDefaultOps(type, name, owner));
    CLOUDIFY_RETURN_IF_ERROR(DefaultOpError(type, side, &tmpl));
    const InterfaceDefs& type_ifaces = side == 0 ? type.interfaces : type.target_interfaces;
    const model::OperationMap& defaults = side == 0 ? type.default_ops : type.default_target_ops;
    model::OperationMap out;
    for (const auto& [key, spec] : defaults) {
      // Full names only (bare ones are redone below), and not those the template rebuilds.
      size_t dot = key.rfind('.');
      if (dot == std::string::npos) {
        continue;
      }
      auto iface = tmpl.find(std::string_view(key).substr(0, dot));
      if (iface != tmpl.end() && iface->second.count(std::string_view(key).substr(dot + 1))) {
        continue;
      }
      out.emplace_hint(out.end(), key, spec);
    }
    std::vector<std::string_view> extra_names;  // operations the type does not have
    for (auto& [iface, ops] : tmpl) {
      auto type_iface = type_ifaces.find(iface);
      for (auto& [op, def] : ops) {
        const OpDef* type_op = nullptr;
        if (type_iface != type_ifaces.end()) {
          auto it = type_iface->second.find(op);
          type_op = it == type_iface->second.end() ? nullptr : &it->second;
        }
        if (type_op == nullptr) {
          extra_names.push_back(op);
        }
        CLOUDIFY_ASSIGN_OR_RETURN(model::OperationSpec spec,
                                  BuildOperation(type_op, &def, where, iface, op, owner));
        std::string key = iface + "." + op;
        if (spec.IsNoOp()) {
          out.erase(key);
        } else {
          out.insert_or_assign(std::move(key), std::move(spec));
        }
      }
    }
    AddBareNames(out, type.op_names[side], extra_names);
    return out;
  }

  // ------------------------------------------------------------------ node templates
  Status ParseNodeTemplates() {
    const Section* section = GetSection("node_templates");
    if (section == nullptr) {
      return Status::Ok();
    }
    const Section* types_section = GetSection("node_types");
    const Section* rel_section = GetSection("relationships");
    plan_.nodes.reserve(section->items.size());
    for (const auto& item : section->items) {
      node_index_.emplace(item.name, plan_.nodes.size());
      plan_.nodes.emplace_back();
      plan_.nodes.back().id = item.name;
    }
    template_items_.reserve(section->items.size());
    for (size_t i = 0; i < section->items.size(); ++i) {
      const Item& item = section->items[i];
      template_items_.push_back(&item);
      model::NodeTemplate& node = plan_.nodes[i];
      std::string where = "node '" + item.name + "'";
      const YamlNode& v = *item.value;
      CLOUDIFY_RETURN_IF_ERROR(ExpectMap(v, where));
      CLOUDIFY_RETURN_IF_ERROR(CheckKeys(v,
                                         {{"type"},
                                          {"properties"},
                                          {"interfaces"},
                                          {"relationships"},
                                          {"instances"},
                                          {"capabilities", 3}},
                                         where));
      const YamlEntry* type_entry = v.Find("type");
      if (type_entry == nullptr) {
        return Err(item.key_mark, where + ": 'type' is required");
      }
      CLOUDIFY_ASSIGN_OR_RETURN(std::string type_name, GetString(*type_entry, where));
      type_name = Ref(item.ns, type_name, types_section);
      auto type_it = node_types_.find(type_name);
      if (type_it == node_types_.end()) {
        return Err(type_entry->value->mark,
                   where + " has unknown type '" + type_name + "' (not a declared node type)");
      }
      ResolvedType& type = type_it->second;
      node.type = type_name;
      node.type_hierarchy = type.hierarchy;

      // Properties.
      node.properties = type.defaults;
      const YamlEntry* props = v.Find("properties");
      if (props && !props->value->IsNull()) {
        CLOUDIFY_RETURN_IF_ERROR(ExpectMap(*props->value, where + " properties"));
        for (const auto& p : props->value->entries) {
          auto def = type.props.find(p.key);
          if (def == type.props.end()) {
            return Err(p.key_mark, where + ": property '" + p.key + "' is not part of type '" +
                                       type_name + "'");
          }
          if (p.key == "use_external_resource" && IsFunctionCall(p.value->ToJson())) {
            return Err(p.value->mark, where +
                                          ": use_external_resource may not be an intrinsic "
                                          "function");
          }
          CLOUDIFY_ASSIGN_OR_RETURN(
              node.properties[p.key],
              CheckValueLazy(p.value->ToJson(), def->second.schema.type, p.value.get(), p.key_mark,
                             [&] { return where + " property '" + p.key + "'"; }));
        }
      }
      bool external = false;
      if (auto ext = node.properties.find("use_external_resource");
          ext != node.properties.end() && ext->is_boolean()) {
        external = ext->get<bool>();
      }
      for (const auto& [name, def] : type.props) {
        if (!node.properties.contains(name) && def.schema.required && !external) {
          return Err(item.key_mark, where + ": required property '" + name + "' of type '" +
                                        type_name + "' is missing a value");
        }
      }

      // Operations.
      const YamlEntry* ifaces = v.Find("interfaces");
      if (ifaces && !ifaces->value->IsNull()) {
        InterfaceDefs tmpl;
        CLOUDIFY_RETURN_IF_ERROR(ParseInterfaces(*ifaces->value, where, false, item.ns, tmpl));
        CLOUDIFY_ASSIGN_OR_RETURN(node.operations, MergeTemplateOperations(type, type_name, 0, tmpl,
                                                                           where, OpOwner::kNode));
      } else {
        CLOUDIFY_RETURN_IF_ERROR(EnsureDefaultOps(type, type_name, OpOwner::kNode));
        CLOUDIFY_RETURN_IF_ERROR(DefaultOpError(type, 0, nullptr));
        node.operations = type.default_ops;
      }

      // Relationships.
      if (const YamlEntry* rels = v.Find("relationships"); rels && !rels->value->IsNull()) {
        if (!rels->value->IsSeq()) {
          return Err(rels->value->mark, where + ": 'relationships' must be a list");
        }
        int contained = 0;
        for (const auto& rel : rels->value->items) {
          CLOUDIFY_ASSIGN_OR_RETURN(model::RelationshipSpec spec,
                                    ParseRelationship(*rel, item, where, rel_section));
          if (spec.IsContainedIn() && ++contained > 1) {
            return Err(rel->mark, where + " has more than one contained_in relationship");
          }
          node.relationships.push_back(std::move(spec));
        }
      }

      // Instances.
      CLOUDIFY_RETURN_IF_ERROR(ParseInstances(v, node, where));
      if (!item.ns.empty()) {
        Namespace(node.properties, item.ns);
        Namespace(node.capabilities_functions, item.ns);
        for (auto& [key, op] : node.operations) {
          Namespace(op.inputs, item.ns);
        }
        for (auto& rel : node.relationships) {
          Namespace(rel.properties, item.ns);
          for (auto* ops : {&rel.source_operations, &rel.target_operations}) {
            for (auto& [key, op] : *ops) {
              Namespace(op.inputs, item.ns);
            }
          }
        }
      }
    }
    CLOUDIFY_RETURN_IF_ERROR(CheckLifecycleDependencies());
    return ResolveHosts();
  }

  // depends_on_lifecycle_operation names a lifecycle operation of its target.
  Status CheckLifecycleDependencies() {
    constexpr std::string_view kType = "cloudify.relationships.depends_on_lifecycle_operation";
    constexpr std::string_view kLifecycle = "cloudify.interfaces.lifecycle";
    for (size_t i = 0; i < plan_.nodes.size(); ++i) {
      for (const auto& rel : plan_.nodes[i].relationships) {
        if (std::find(rel.type_hierarchy.begin(), rel.type_hierarchy.end(), kType) ==
            rel.type_hierarchy.end()) {
          continue;
        }
        auto op = rel.properties.find("operation");
        const model::NodeTemplate& target = plan_.nodes[node_index_.at(rel.target_id)];
        const ResolvedType& type = node_types_.at(target.type);
        auto lifecycle = type.interfaces.find(std::string(kLifecycle));
        bool declared =
            op != rel.properties.end() && op->is_string() &&
            (target.operations.count(std::string(kLifecycle) + "." + op->get<std::string>()) ||
             (lifecycle != type.interfaces.end() &&
              lifecycle->second.count(op->get<std::string>())));
        if (!declared) {
          return Err(template_items_[i]->key_mark,
                     "node '" + plan_.nodes[i].id + "' relationship " + std::string(kType) +
                         " to '" + rel.target_id + "': 'operation' " +
                         (op == rel.properties.end() ? std::string("is missing")
                                                     : op->dump() + " is not") +
                         " a lifecycle operation of the target");
        }
      }
    }
    return Status::Ok();
  }

  Result<model::RelationshipSpec> ParseRelationship(const YamlNode& rel, const Item& item,
                                                    const std::string& node_where,
                                                    const Section* rel_section) {
    model::RelationshipSpec spec;
    CLOUDIFY_RETURN_IF_ERROR(ExpectMap(rel, node_where + " relationship"));
    CLOUDIFY_RETURN_IF_ERROR(CheckKeys(
        rel, {{"type"}, {"target"}, {"properties"}, {"source_interfaces"}, {"target_interfaces"}},
        node_where + " relationship"));
    const YamlEntry* type_entry = rel.Find("type");
    const YamlEntry* target_entry = rel.Find("target");
    if (type_entry == nullptr || target_entry == nullptr) {
      return Err(rel.mark, node_where + ": a relationship needs 'type' and 'target'");
    }
    CLOUDIFY_ASSIGN_OR_RETURN(std::string type_name, GetString(*type_entry, node_where));
    CLOUDIFY_ASSIGN_OR_RETURN(std::string target, GetString(*target_entry, node_where));
    type_name = Ref(item.ns, type_name, rel_section);
    target = Ref(item.ns, target, GetSection("node_templates"));
    std::string where = node_where + " relationship to '" + target + "'";
    auto type_it = relationship_types_.find(type_name);
    if (type_it == relationship_types_.end()) {
      return Err(type_entry->value->mark,
                 node_where + " relationship type '" + type_name + "' is not defined");
    }
    if (node_index_.find(target) == node_index_.end()) {
      return Err(target_entry->value->mark,
                 node_where + " relationship target '" + target + "' does not exist");
    }
    if (target == item.name) {
      return Err(target_entry->value->mark, node_where + " has a relationship to itself");
    }
    ResolvedType& type = type_it->second;
    spec.type = type_name;
    spec.target_id = target;
    spec.type_hierarchy = type.hierarchy;
    spec.properties = type.defaults;
    if (const YamlEntry* props = rel.Find("properties"); props && !props->value->IsNull()) {
      CLOUDIFY_RETURN_IF_ERROR(ExpectMap(*props->value, where + " properties"));
      for (const auto& p : props->value->entries) {
        auto def = type.props.find(p.key);
        if (def == type.props.end()) {
          return Err(p.key_mark,
                     where + ": property '" + p.key + "' is not part of '" + type_name + "'");
        }
        CLOUDIFY_ASSIGN_OR_RETURN(
            spec.properties[p.key],
            CheckValueLazy(p.value->ToJson(), def->second.schema.type, p.value.get(), p.key_mark,
                           [&] { return where + " property '" + p.key + "'"; }));
      }
    }
    for (const auto& [name, def] : type.props) {
      if (!spec.properties.contains(name) && def.schema.required) {
        return Err(rel.mark, where + ": required property '" + name + "' is missing a value");
      }
    }
    if (auto ct = spec.properties.find("connection_type");
        ct != spec.properties.end() && ct->is_string() &&
        !model::ParseConnectionType(ct->get<std::string>())) {
      return Err(rel.mark, where + ": connection_type must be all_to_all or all_to_one, not '" +
                               ct->get<std::string>() + "'");
    }
    const YamlEntry* src = rel.Find("source_interfaces");
    const YamlEntry* tgt = rel.Find("target_interfaces");
    if ((src && !src->value->IsNull()) || (tgt && !tgt->value->IsNull())) {
      InterfaceDefs src_defs;
      InterfaceDefs tgt_defs;
      if (src) {
        CLOUDIFY_RETURN_IF_ERROR(ParseInterfaces(*src->value, where, false, item.ns, src_defs));
      }
      if (tgt) {
        CLOUDIFY_RETURN_IF_ERROR(ParseInterfaces(*tgt->value, where, false, item.ns, tgt_defs));
      }
      CLOUDIFY_ASSIGN_OR_RETURN(
          spec.source_operations,
          MergeTemplateOperations(type, type_name, 0, src_defs, where, OpOwner::kRelationship));
      CLOUDIFY_ASSIGN_OR_RETURN(
          spec.target_operations,
          MergeTemplateOperations(type, type_name, 1, tgt_defs, where, OpOwner::kRelationship));
    } else {
      CLOUDIFY_RETURN_IF_ERROR(EnsureDefaultOps(type, type_name, OpOwner::kRelationship));
      CLOUDIFY_RETURN_IF_ERROR(DefaultOpError(type, 0, nullptr));
      CLOUDIFY_RETURN_IF_ERROR(DefaultOpError(type, 1, nullptr));
      spec.source_operations = type.default_ops;
      spec.target_operations = type.default_target_ops;
    }
    return spec;
  }

  // A count that is a literal int (checked) or an intrinsic function (kept for deployment).
  Status ParseCount(const YamlEntry& entry, const std::string& where, const std::string& key,
                    int& out, model::NodeTemplate* node, bool allow_unbounded) {
    const YamlNode& v = *entry.value;
    json value = v.ToJson();
    if (IsFunctionCall(value)) {
      if (node) {
        node->capabilities_functions[key] = value;
      }
      return Status::Ok();
    }
    if (allow_unbounded && value == "UNBOUNDED") {
      out = model::ScalableProperties::kUnbounded;
      return Status::Ok();
    }
    if (!value.is_number_integer()) {
      return Err(v.mark, where + ": '" + key + "' must be an integer" +
                             (allow_unbounded ? " or UNBOUNDED" : "") + ", got " + value.dump());
    }
    if (value.get<long long>() < 0 || value.get<long long>() > 100000000) {
      return Err(v.mark, where + ": '" + key + "' must be a non-negative integer");
    }
    out = value.get<int>();
    return Status::Ok();
  }

  Status ParseScalable(const YamlNode& props, const std::string& where,
                       model::ScalableProperties& out, model::NodeTemplate* node) {
    CLOUDIFY_RETURN_IF_ERROR(ExpectMap(props, where));
    CLOUDIFY_RETURN_IF_ERROR(
        CheckKeys(props, {{"default_instances"}, {"min_instances"}, {"max_instances"}}, where));
    for (const auto& e : props.entries) {
      int* target = e.key == "default_instances" ? &out.default_instances
                    : e.key == "min_instances"   ? &out.min_instances
                                                 : &out.max_instances;
      CLOUDIFY_RETURN_IF_ERROR(
          ParseCount(e, where, e.key, *target, node, e.key == "max_instances"));
    }
    bool literal = node == nullptr || node->capabilities_functions.empty();
    if (literal) {
      bool bounded = out.max_instances != model::ScalableProperties::kUnbounded;
      if (out.min_instances > out.default_instances ||
          (bounded &&
           (out.default_instances > out.max_instances || out.min_instances > out.max_instances))) {
        return Err(props.mark, where +
                                   ": instances must satisfy min_instances <= "
                                   "default_instances <= max_instances");
      }
    }
    out.current_instances = out.planned_instances = out.default_instances;
    return Status::Ok();
  }

  Status ParseInstances(const YamlNode& v, model::NodeTemplate& node, const std::string& where) {
    const YamlEntry* instances = v.Find("instances");
    const YamlEntry* caps = v.Find("capabilities");
    if (instances && caps) {
      return Err(caps->key_mark, where +
                                     ": 'instances' and 'capabilities' cannot be used "
                                     "together");
    }
    if (instances) {
      CLOUDIFY_RETURN_IF_ERROR(ExpectMap(*instances->value, where + " instances"));
      CLOUDIFY_RETURN_IF_ERROR(CheckKeys(*instances->value, {{"deploy"}}, where + " instances"));
      if (const YamlEntry* deploy = instances->value->Find("deploy")) {
        int n = 1;
        CLOUDIFY_RETURN_IF_ERROR(
            ParseCount(*deploy, where + " instances", "deploy", n, nullptr, false));
        node.capabilities.default_instances = node.capabilities.current_instances =
            node.capabilities.planned_instances = n;
      }
    }
    if (caps && !caps->value->IsNull()) {
      CLOUDIFY_RETURN_IF_ERROR(ExpectMap(*caps->value, where + " capabilities"));
      CLOUDIFY_RETURN_IF_ERROR(CheckKeys(*caps->value, {{"scalable"}}, where + " capabilities"));
      if (const YamlEntry* scalable = caps->value->Find("scalable")) {
        CLOUDIFY_RETURN_IF_ERROR(ExpectMap(*scalable->value, where + " scalable"));
        CLOUDIFY_RETURN_IF_ERROR(
            CheckKeys(*scalable->value, {{"properties"}}, where + " scalable"));
        if (const YamlEntry* props = scalable->value->Find("properties")) {
          CLOUDIFY_RETURN_IF_ERROR(ParseScalable(*props->value, where + " scalable properties",
                                                 node.capabilities, &node));
        }
      }
    }
    return Status::Ok();
  }

  Status ResolveHosts() {
    // state: 0 unknown, 1 resolving, 2 done
    std::vector<int> state(plan_.nodes.size(), 0);
    for (size_t i = 0; i < plan_.nodes.size(); ++i) {
      // Walk up the containment chain iteratively, then assign on the way back.
      std::vector<size_t> chain;
      size_t current = i;
      while (state[current] == 0) {
        state[current] = 1;
        chain.push_back(current);
        const model::RelationshipSpec* parent = plan_.nodes[current].ContainedIn();
        if (parent == nullptr || plan_.nodes[current].IsCompute()) {
          break;
        }
        current = node_index_.at(parent->target_id);
        if (state[current] == 1) {
          return Err(template_items_[current]->key_mark,
                     "Circular dependency: node '" + plan_.nodes[current].id +
                         "' is contained in itself through contained_in relationships");
        }
      }
      for (auto it = chain.rbegin(); it != chain.rend(); ++it) {
        model::NodeTemplate& node = plan_.nodes[*it];
        if (node.IsCompute()) {
          node.host_id = node.id;
        } else if (const model::RelationshipSpec* parent = node.ContainedIn()) {
          node.host_id = plan_.nodes[node_index_.at(parent->target_id)].host_id;
        }
        state[*it] = 2;
      }
    }
    return Status::Ok();
  }

  // Plugins used by each node, plugins to install, and the host_agent-without-host rule.
  Status CollectPlugins() {
    std::map<std::string, std::set<std::string>> host_plugins;  // host -> plugins
    std::set<std::string> central_all;
    std::set<std::string> host_all;
    auto effective = [&](const model::OperationSpec& op) {
      return op.executor.value_or(plugins_[op.plugin].executor);
    };
    for (size_t i = 0; i < plan_.nodes.size(); ++i) {
      model::NodeTemplate& node = plan_.nodes[i];
      std::set<std::string> used;
      std::set<std::string> central;
      auto visit = [&](const model::OperationMap& ops, const std::string& key_prefix) -> Status {
        for (const auto& [key, op] : ops) {
          if (op.IsNoOp() || op.plugin.empty()) {
            continue;
          }
          used.insert(op.plugin);
          model::Executor executor = effective(op);
          if (executor == model::Executor::kHostAgent) {
            if (!node.host_id) {
              return Err(template_items_[i]->key_mark,
                         "node '" + node.id + "' has operation '" + key_prefix + key +
                             "' on host_agent plugin '" + op.plugin +
                             "' but is neither a Compute node nor contained in one");
            }
            host_plugins[*node.host_id].insert(op.plugin);
          } else if (executor == model::Executor::kCentralDeploymentAgent) {
            central.insert(op.plugin);
          } else if (node.host_id) {  // auto: the host agent when there is a host
            host_plugins[*node.host_id].insert(op.plugin);
          }
        }
        return Status::Ok();
      };
      CLOUDIFY_RETURN_IF_ERROR(visit(node.operations, ""));
      for (const auto& rel : node.relationships) {
        CLOUDIFY_RETURN_IF_ERROR(visit(rel.source_operations, "relationship "));
      }
      for (const auto& name : used) {
        node.plugins.push_back(plugins_[name]);
      }
      for (const auto& name : central) {
        node.deployment_plugins_to_install.push_back(plugins_[name]);
        central_all.insert(name);
      }
    }
    for (auto& node : plan_.nodes) {
      auto it = host_plugins.find(node.id);
      if (it != host_plugins.end() && node.IsCompute()) {
        for (const auto& name : it->second) {
          node.plugins_to_install.push_back(plugins_[name]);
          host_all.insert(name);
        }
      }
    }
    AddInstallable(central_all, plan_.deployment_plugins_to_install);
    AddInstallable(host_all, plan_.host_agent_plugins_to_install);
    return Status::Ok();
  }

  // Appends the named plugins that are to be installed (install: true) to `out`.
  template <typename Names>
  void AddInstallable(const Names& names, std::vector<model::PluginSpec>& out) {
    for (const auto& name : names) {
      if (plugins_[name].install) {
        out.push_back(plugins_[name]);
      }
    }
  }

  // ------------------------------------------------------------------ workflows
  Status ParseWorkflows() {
    const Section* section = GetSection("workflows");
    if (section == nullptr) {
      return Status::Ok();
    }
    std::set<std::string> workflow_plugins;
    for (const auto& item : section->items) {
      std::string where = "workflow '" + item.name + "'";
      const YamlNode& v = *item.value;
      model::WorkflowSpec workflow;
      model::OperationSpec op;
      YamlMark mark = v.mark;
      if (v.IsString()) {
        op.implementation = v.text;
      } else if (v.IsMap()) {
        CLOUDIFY_RETURN_IF_ERROR(CheckKeys(
            v, {{"mapping"}, {"parameters"}, {"is_cascading"}, {"availability_rules", 4}}, where));
        const YamlEntry* mapping = v.Find("mapping");
        if (mapping == nullptr) {
          return Err(item.key_mark, where + ": 'mapping' is required");
        }
        CLOUDIFY_ASSIGN_OR_RETURN(op.implementation, GetString(*mapping, where));
        mark = mapping->value->mark;
        if (const YamlEntry* params = v.Find("parameters")) {
          CLOUDIFY_ASSIGN_OR_RETURN(
              PropDefs defs, ParseSchema(params->value.get(), where + " parameter", item.ns, true));
          for (auto& [name, def] : defs) {
            if (def.schema.default_value) {
              CLOUDIFY_ASSIGN_OR_RETURN(
                  def.schema.default_value,
                  CheckValue(*def.schema.default_value, def.schema.type, def.default_node, def.mark,
                             where + " parameter '" + name + "' default"));
            }
            workflow.parameters[name] = std::move(def.schema);
          }
        }
        if (const YamlEntry* cascading = v.Find("is_cascading")) {
          if (!cascading->value->scalar.is_boolean()) {
            return Err(cascading->value->mark, where + ": is_cascading must be a boolean");
          }
          workflow.is_cascading = cascading->value->scalar.get<bool>();
        }
        if (const YamlEntry* rules = v.Find("availability_rules")) {
          CLOUDIFY_RETURN_IF_ERROR(ExpectMap(*rules->value, where + " availability_rules"));
          CLOUDIFY_RETURN_IF_ERROR(CheckKeys(
              *rules->value, {{"available"}, {"node_instances_active"}, {"node_types_required"}},
              where + " availability_rules"));
          workflow.availability_rules = rules->value->ToJson();
        }
      } else {
        return Err(v.mark, where + " must be a mapping string or a dict with 'mapping'");
      }
      CLOUDIFY_RETURN_IF_ERROR(ResolveImplementation(
          op, mark, [&] { return where; }, OpOwner::kWorkflow));
      workflow.plugin = op.plugin;
      workflow.operation = op.operation;
      if (auto sp = op.inputs.find("script_path"); sp != op.inputs.end()) {
        model::ParameterSchema script;
        script.default_value = *sp;
        script.required = false;
        workflow.parameters["script_path"] = script;
      }
      workflow_plugins.insert(op.plugin);
      plan_.workflows[item.name] = std::move(workflow);
    }
    AddInstallable(workflow_plugins, plan_.workflow_plugins_to_install);
    return Status::Ok();
  }

  // ------------------------------------------------------------------ inputs and outputs
  Status ParseInputs() {
    const Section* section = GetSection("inputs");
    if (section == nullptr) {
      return Status::Ok();
    }
    for (const auto& item : section->items) {
      std::string where = "input '" + item.name + "'";
      const YamlNode& v = *item.value;
      if (!v.IsNull() && !v.IsMap()) {
        return Err(v.mark, where + " must be a dict (type, default, description, ...)");
      }
      // Reuse the schema parser on a one-entry view.
      YamlNode wrapper;
      wrapper.kind = YamlNode::Kind::kMap;
      wrapper.entries.push_back(YamlEntry{item.name, item.key_mark, item.value});
      CLOUDIFY_ASSIGN_OR_RETURN(PropDefs defs, ParseSchema(&wrapper, "input", item.ns, true));
      PropDef& def = defs.begin()->second;
      if (def.schema.default_value) {
        CLOUDIFY_ASSIGN_OR_RETURN(def.schema.default_value,
                                  CheckValue(*def.schema.default_value, def.schema.type,
                                             def.default_node, def.mark, where + " default"));
        std::string violation =
            ConstraintViolation(*def.schema.default_value, def.schema.constraints, where);
        if (!violation.empty()) {
          return Err(def.default_node ? def.default_node->mark : def.mark,
                     "default value of " + violation);
        }
      }
      plan_.inputs[item.name] = std::move(def.schema);
    }
    return Status::Ok();
  }

  Status ParseOutputs(const char* key, std::map<std::string, model::OutputSpec>& out) {
    const Section* section = GetSection(key);
    if (section == nullptr) {
      return Status::Ok();
    }
    for (const auto& item : section->items) {
      std::string where = std::string(key == std::string("outputs") ? "output" : "capability") +
                          " '" + item.name + "'";
      const YamlNode& v = *item.value;
      CLOUDIFY_RETURN_IF_ERROR(ExpectMap(v, where));
      CLOUDIFY_RETURN_IF_ERROR(CheckKeys(v, {{"description"}, {"value"}}, where));
      const YamlEntry* value = v.Find("value");
      if (value == nullptr) {
        return Err(item.key_mark, where + ": 'value' is required");
      }
      model::OutputSpec spec;
      spec.value = value->value->ToJson();
      if (const YamlEntry* d = v.Find("description"); d && d->value->IsString()) {
        spec.description = d->value->text;
      }
      Namespace(spec.value, item.ns);
      out[item.name] = std::move(spec);
    }
    return Status::Ok();
  }

  // ------------------------------------------------------------------ groups and policies
  // A group policy's properties (or a trigger's parameters) against the schema its policy type
  // (or policy trigger) declares, merged as the original merges them: a name the schema lacks
  // is refused, an absent one takes its default, and an absent one without a default is refused
  // unless it says `required: false`.
  Result<json> MergeWithSchema(const YamlEntry* values, const YamlNode& definition,
                               const std::string& schema_key, const YamlMark& at,
                               const std::string& where, const std::string& type) const {
    json schema = json::object();
    if (const YamlEntry* declared = definition.Find(schema_key);
        declared && declared->value->IsMap()) {
      schema = declared->value->ToJson();
    }
    json merged = json::object();
    if (values && !values->value->IsNull()) {
      CLOUDIFY_RETURN_IF_ERROR(ExpectMap(*values->value, where, " ", schema_key));
      for (const auto& v : values->value->entries) {
        if (!schema.contains(v.key)) {
          return Err(v.key_mark, where + ": '" + v.key + "' is not part of the " + schema_key +
                                     " of '" + type + "'");
        }
        merged[v.key] = v.value->ToJson();
      }
    }
    for (auto it = schema.begin(); it != schema.end(); ++it) {
      if (merged.contains(it.key())) {
        continue;
      }
      const json& spec = it.value();
      json fallback = spec.is_object() && spec.contains("default") ? spec["default"] : json();
      bool required = !(spec.is_object() && spec.contains("required") && spec["required"] == false);
      if (fallback.is_null() && required) {
        return Err(at, where + ": '" + it.key() + "' of the " + schema_key + " of '" + type +
                           "' is missing a value");
      }
      merged[it.key()] = std::move(fallback);
    }
    return merged;
  }

  Status ParseGroupsAndPolicies() {
    if (const Section* groups = GetSection("groups")) {
      for (const auto& item : groups->items) {
        std::string where = "group '" + item.name + "'";
        const YamlNode& v = *item.value;
        CLOUDIFY_RETURN_IF_ERROR(ExpectMap(v, where));
        CLOUDIFY_RETURN_IF_ERROR(CheckKeys(v, {{"members"}, {"policies"}}, where));
        if (node_index_.count(item.name)) {
          return Err(item.key_mark, where + " has the same name as a node template");
        }
        const YamlEntry* members = v.Find("members");
        if (members == nullptr || !members->value->IsSeq() || members->value->items.empty()) {
          return Err(members ? members->value->mark : item.key_mark,
                     where + ": 'members' must be a non-empty list");
        }
        model::GroupSpec group;
        std::set<std::string> unique;
        for (const auto& m : members->value->items) {
          if (!m->IsString()) {
            return Err(m->mark, where + ": members must be node or group names");
          }
          std::string name = Ref(item.ns, m->text, GetSection("node_templates"));
          if (!node_index_.count(name) && !groups->Find(name)) {
            return Err(m->mark, where + ": member '" + name + "' is not a node or a group");
          }
          if (!unique.insert(name).second) {
            return Err(m->mark, where + ": member '" + name + "' is listed twice");
          }
          group.members.push_back(name);
        }
        if (const YamlEntry* policies = v.Find("policies");
            policies && !policies->value->IsNull()) {
          CLOUDIFY_RETURN_IF_ERROR(ExpectMap(*policies->value, where + " policies"));
          const Section* policy_types = GetSection("policy_types");
          for (const auto& p : policies->value->entries) {
            std::string pwhere = where + " policy '" + p.key + "'";
            CLOUDIFY_RETURN_IF_ERROR(ExpectMap(*p.value, pwhere));
            CLOUDIFY_RETURN_IF_ERROR(
                CheckKeys(*p.value, {{"type"}, {"properties"}, {"triggers"}}, pwhere));
            const YamlEntry* type = p.value->Find("type");
            if (type == nullptr || !type->value->IsString()) {
              return Err(p.key_mark, pwhere + ": 'type' is required");
            }
            const Item* policy_type =
                policy_types ? policy_types->Find(type->value->text) : nullptr;
            if (policy_type == nullptr) {
              return Err(type->value->mark,
                         pwhere + ": policy type '" + type->value->text + "' is not defined");
            }
            json policy = p.value->ToJson();
            CLOUDIFY_ASSIGN_OR_RETURN(
                policy["properties"],
                MergeWithSchema(p.value->Find("properties"), *policy_type->value, "properties",
                                p.key_mark, pwhere, type->value->text));
            if (const YamlEntry* triggers = p.value->Find("triggers");
                triggers && !triggers->value->IsNull()) {
              CLOUDIFY_RETURN_IF_ERROR(ExpectMap(*triggers->value, pwhere + " triggers"));
              const Section* policy_triggers = GetSection("policy_triggers");
              for (const auto& t : triggers->value->entries) {
                std::string twhere = pwhere + " trigger '" + t.key + "'";
                CLOUDIFY_RETURN_IF_ERROR(ExpectMap(*t.value, twhere));
                CLOUDIFY_RETURN_IF_ERROR(CheckKeys(*t.value, {{"type"}, {"parameters"}}, twhere));
                const YamlEntry* trigger_type = t.value->Find("type");
                if (trigger_type == nullptr || !trigger_type->value->IsString()) {
                  return Err(t.key_mark, twhere + ": 'type' is required");
                }
                const Item* trigger =
                    policy_triggers ? policy_triggers->Find(trigger_type->value->text) : nullptr;
                if (trigger == nullptr) {
                  return Err(trigger_type->value->mark, twhere + ": policy trigger '" +
                                                            trigger_type->value->text +
                                                            "' is not defined");
                }
                CLOUDIFY_ASSIGN_OR_RETURN(
                    policy["triggers"][t.key]["parameters"],
                    MergeWithSchema(t.value->Find("parameters"), *trigger->value, "parameters",
                                    t.key_mark, twhere, trigger_type->value->text));
              }
            }
            group.policies[p.key] = std::move(policy);
          }
        }
        plan_.groups[item.name] = std::move(group);
      }
      // Group cycles.
      for (const auto& [name, group] : plan_.groups) {
        std::vector<std::string> stack{name};
        std::set<std::string> seen;
        while (!stack.empty()) {
          std::string g = stack.back();
          stack.pop_back();
          for (const auto& m : plan_.groups[g].members) {
            if (m == name) {
              return Err(groups->Find(name)->key_mark, "group '" + name + "' contains itself");
            }
            if (plan_.groups.count(m) && seen.insert(m).second) {
              stack.push_back(m);
            }
          }
        }
      }
    }
    for (const char* key : {"policy_types", "policy_triggers"}) {
      if (const Section* section = GetSection(key)) {
        json& out = std::string(key) == "policy_types" ? plan_.policy_types : plan_.policy_triggers;
        for (const auto& item : section->items) {
          CLOUDIFY_RETURN_IF_ERROR(
              ExpectMap(*item.value, std::string(key) + " '" + item.name + "'"));
          const std::string where = std::string(key) + " '" + item.name + "'";
          CLOUDIFY_RETURN_IF_ERROR(
              CheckKeys(*item.value, {{"source"}, {"properties"}, {"parameters"}}, where));
          const YamlEntry* source = item.value->Find("source");
          if (source == nullptr || !source->value->IsString()) {
            return Err(source ? source->value->mark : item.key_mark,
                       where + ": 'source' is required and must be a string");
          }
          out[item.name] = item.value->ToJson();
        }
      }
    }
    if (const Section* policies = GetSection("policies")) {
      std::map<std::string, std::string> scaled;  // node/group member -> scaling group
      for (const auto& item : policies->items) {
        std::string where = "policy '" + item.name + "'";
        const YamlNode& v = *item.value;
        CLOUDIFY_RETURN_IF_ERROR(ExpectMap(v, where));
        CLOUDIFY_RETURN_IF_ERROR(CheckKeys(v, {{"type"}, {"targets"}, {"properties"}}, where));
        model::PolicySpec policy;
        const YamlEntry* type = v.Find("type");
        if (type == nullptr) {
          return Err(item.key_mark, where + ": 'type' is required");
        }
        CLOUDIFY_ASSIGN_OR_RETURN(policy.type, GetString(*type, where));
        if (policy.type != "cloudify.policies.scaling") {
          return Err(type->value->mark, where + ": unsupported policy type '" + policy.type +
                                            "' (only cloudify.policies.scaling)");
        }
        const YamlEntry* targets = v.Find("targets");
        if (targets == nullptr || !targets->value->IsSeq() || targets->value->items.empty()) {
          return Err(targets ? targets->value->mark : item.key_mark,
                     where + ": 'targets' must be a non-empty list of groups");
        }
        model::ScalableProperties props;
        if (const YamlEntry* p = v.Find("properties")) {
          CLOUDIFY_RETURN_IF_ERROR(ParseScalable(*p->value, where + " properties", props, nullptr));
          policy.properties = p->value->ToJson();
        }
        for (const auto& t : targets->value->items) {
          if (!t->IsString() || !plan_.groups.count(t->text)) {
            return Err(t->mark, where + ": target " + t->ToJson().dump() + " is not a group");
          }
          std::string group = t->text;
          policy.targets.push_back(group);
          model::ScalingGroupSpec scaling;
          scaling.properties = props;
          for (const auto& m : plan_.groups[group].members) {
            auto [it, inserted] = scaled.emplace(m, group);
            if (!inserted && it->second != group) {
              return Err(t->mark, "node '" + m + "' is a member of the scaling groups '" +
                                      it->second + "' and '" + group + "'");
            }
            scaling.members.push_back(m);
          }
          plan_.scaling_groups[group] = std::move(scaling);
        }
        plan_.policies[item.name] = std::move(policy);
      }
      // Members contained (transitively) in another member of the same group are dropped.
      for (auto& [name, group] : plan_.scaling_groups) {
        std::set<std::string> members(group.members.begin(), group.members.end());
        std::vector<std::string> kept;
        for (const auto& m : group.members) {
          bool inside = false;
          auto idx = node_index_.find(m);
          while (idx != node_index_.end()) {
            const model::RelationshipSpec* parent = plan_.nodes[idx->second].ContainedIn();
            if (parent == nullptr) {
              break;
            }
            if (members.count(parent->target_id)) {
              inside = true;
              break;
            }
            idx = node_index_.find(parent->target_id);
          }
          if (!inside) {
            kept.push_back(m);
          }
        }
        group.members = std::move(kept);
      }
    }
    return Status::Ok();
  }

  Status ParseLabels() {
    for (const char* key : {"labels", "blueprint_labels"}) {
      const Section* section = GetSection(key);
      if (section == nullptr) {
        continue;
      }
      json& out = std::string(key) == "labels" ? plan_.labels : plan_.blueprint_labels;
      for (const auto& item : section->items) {
        std::string where =
            std::string(key == std::string("labels") ? "label" : "blueprint label") + " '" +
            item.name + "'";
        CLOUDIFY_RETURN_IF_ERROR(ExpectMap(*item.value, where));
        CLOUDIFY_RETURN_IF_ERROR(CheckKeys(*item.value, {{"values"}}, where));
        const YamlEntry* values = item.value->Find("values");
        if (values == nullptr || !values->value->IsSeq()) {
          return Err(values ? values->value->mark : item.key_mark,
                     where + ": 'values' must be a list");
        }
        for (const auto& v : values->value->items) {
          json value = v->ToJson();
          bool function = IsFunctionCall(value);
          if (!value.is_string() && !(function && std::string(key) == "labels")) {
            return Err(v->mark,
                       where + ": values must be strings" +
                           (std::string(key) == "labels" ? " or intrinsic functions" : ""));
          }
          if (function && value.contains("get_attribute")) {
            return Err(v->mark, where + ": get_attribute cannot be used in labels");
          }
        }
        out[item.name] = item.value->ToJson();
      }
    }
    if (const Section* tags = GetSection("resource_tags")) {
      for (const auto& item : tags->items) {
        plan_.resource_tags[item.name] = item.value->ToJson();
      }
    }
    if (const Section* settings = GetSection("deployment_settings");
        settings && !settings->items.empty()) {
      const YamlNode& v = *settings->items[0].value;
      CLOUDIFY_RETURN_IF_ERROR(ExpectMap(v, "deployment_settings"));
      CLOUDIFY_RETURN_IF_ERROR(CheckKeys(
          v, {{"default_schedules"}, {"default_groups"}, {"id_template"}, {"display_name"}},
          "deployment_settings"));
      plan_.deployment_settings = v.ToJson();
    }
    if (const Section* description = GetSection("description");
        description && !description->items.empty()) {
      const YamlNode& v = *description->items[0].value;
      plan_.description = v.IsString() ? v.text : "";
    }
    return Status::Ok();
  }

  // ------------------------------------------------------------------ function validation
  struct FnCheck {
    FnScope scope;
    std::string self;    // node scope
    std::string source;  // relationship scope
    std::string target;
    YamlMark mark;
    std::string where;
  };

  Status ValidateFunctions(const json& value, const FnCheck& check) {
    if (value.is_array()) {
      for (const auto& item : value) {
        CLOUDIFY_RETURN_IF_ERROR(ValidateFunctions(item, check));
      }
      return Status::Ok();
    }
    if (!value.is_object()) {
      return Status::Ok();
    }
    if (!IsFunctionCall(value)) {
      for (const auto& item : value) {
        CLOUDIFY_RETURN_IF_ERROR(ValidateFunctions(item, check));
      }
      return Status::Ok();
    }
    const std::string& name = value.begin().key();
    const json& args = value.begin().value();
    CLOUDIFY_RETURN_IF_ERROR(ValidateFunctions(args, check));
    auto fail = [&](const std::string& message) {
      return Err(check.mark, check.where + ": " + message);
    };
    if (name == "get_input") {
      const json* input = args.is_array() && !args.empty() ? &args[0] : &args;
      if (input->is_string() && !plan_.inputs.count(input->get<std::string>())) {
        return fail("get_input function references an unknown input '" + input->get<std::string>() +
                    "'");
      }
      if (!input->is_string() && !IsFunctionCall(*input)) {
        return fail("get_input expects an input name, got " + args.dump());
      }
    } else if (name == "get_property" || name == "get_attribute" || name == "get_attributes_list" ||
               name == "get_attributes_dict") {
      if (!args.is_array() || args.size() < 2) {
        return fail(name + " expects [node, name, ...], got " + args.dump());
      }
      if (!args[0].is_string()) {
        return fail(name + ": the node reference must be a string, got " + args[0].dump());
      }
      const std::string& ref = args[0].get_ref<const std::string&>();
      std::string node;
      if (ref == "SELF") {
        if (check.scope != FnScope::kNode) {
          return fail(name + ": SELF cannot be used here (only in node properties and operations)");
        }
        node = check.self;
      } else if (ref == "SOURCE" || ref == "TARGET") {
        if (check.scope != FnScope::kRelationship) {
          return fail(name + ": " + ref + " can only be used in relationships");
        }
        node = ref == "SOURCE" ? check.source : check.target;
      } else {
        if (!node_index_.count(ref)) {
          return fail(name + " function references a node '" + ref + "' that does not exist");
        }
        node = ref;
      }
      if (name == "get_property" && args[1].is_string()) {
        const auto& props = plan_.nodes[node_index_.at(node)].properties;
        if (!props.contains(args[1].get<std::string>())) {
          return fail("get_property: node '" + node + "' has no property '" +
                      args[1].get<std::string>() + "'");
        }
      }
    } else if (name == "concat") {
      if (options_.validate_definitions_version && minor_ < 1) {
        return fail("concat is not supported in version " + VersionName(minor_) +
                    ", it was added in cloudify_dsl_1_1");
      }
      if (!args.is_array()) {
        return fail("concat expects a list, got " + args.dump());
      }
    } else if (name == "merge") {
      if (options_.validate_definitions_version && minor_ < 3) {
        return fail("merge is not supported in version " + VersionName(minor_) +
                    ", it was added in cloudify_dsl_1_3");
      }
      if (!args.is_array()) {
        return fail("merge expects a list of dicts, got " + args.dump());
      }
      for (const auto& item : args) {
        if (!item.is_object()) {
          return fail("merge expects a list of dicts, got an item " + item.dump());
        }
      }
    } else if (name == "get_sys") {
      static const std::set<std::pair<std::string, std::string>> kKnown = {
          {"tenant", "name"},          {"deployment", "id"},    {"deployment", "name"},
          {"deployment", "blueprint"}, {"deployment", "owner"}, {"deployment", "display_name"}};
      if (!args.is_array() || args.size() != 2 || !args[0].is_string() || !args[1].is_string() ||
          !kKnown.count({args[0].get<std::string>(), args[1].get<std::string>()})) {
        return fail("get_sys: unknown entity or property " + args.dump() +
                    " (tenant name; deployment id, name, blueprint, owner)");
      }
    } else if (name == "get_secret") {
      if (!args.is_string() && !(args.is_array() && !args.empty()) && !IsFunctionCall(args)) {
        return fail("get_secret expects a secret name or [name, ...], got " + args.dump());
      }
      if (args.is_string()) {
        secrets_used_.insert(args.get<std::string>());
      }
    } else if (name == "get_capability") {
      if (!args.is_array() || args.size() < 2) {
        return fail("get_capability expects [deployment_id, capability, ...], got " + args.dump());
      }
      for (size_t i = 0; i < args.size(); ++i) {
        const json& arg = args[i];
        if (!arg.is_string() && !arg.is_number_integer() && !arg.is_boolean() &&
            !IsFunctionCall(arg)) {
          return fail(
              "get_capability arguments can't be complex values; only strings, integers "
              "and functions are accepted, but item " +
              std::to_string(i) + " of " + args.dump() + " is " + arg.dump());
        }
      }
    }
    return Status::Ok();
  }

  Status ValidateAllFunctions() {
    for (size_t i = 0; i < plan_.nodes.size(); ++i) {
      const model::NodeTemplate& node = plan_.nodes[i];
      YamlMark mark = template_items_[i]->key_mark;
      FnCheck check{FnScope::kNode, node.id, "", "", mark, "node '" + node.id + "'"};
      CLOUDIFY_RETURN_IF_ERROR(ValidateFunctions(node.properties, check));
      for (const auto& [key, op] : node.operations) {
        if (op.has_intrinsic_functions) {
          CLOUDIFY_RETURN_IF_ERROR(ValidateFunctions(op.inputs, check));
        }
      }
      CLOUDIFY_RETURN_IF_ERROR(ValidateFunctions(node.capabilities_functions, check));
      for (const auto& rel : node.relationships) {
        FnCheck rcheck{FnScope::kRelationship,
                       "",
                       node.id,
                       rel.target_id,
                       mark,
                       "node '" + node.id + "' relationship to '" + rel.target_id + "'"};
        CLOUDIFY_RETURN_IF_ERROR(ValidateFunctions(rel.properties, rcheck));
        for (const auto* ops : {&rel.source_operations, &rel.target_operations}) {
          for (const auto& [key, op] : *ops) {
            if (op.has_intrinsic_functions) {
              CLOUDIFY_RETURN_IF_ERROR(ValidateFunctions(op.inputs, rcheck));
            }
          }
        }
      }
    }
    for (auto* outputs : {&plan_.outputs, &plan_.capabilities}) {
      const char* key = outputs == &plan_.outputs ? "outputs" : "capabilities";
      const Section* section = GetSection(key);
      for (const auto& [name, spec] : *outputs) {
        YamlMark mark = section && section->Find(name) ? section->Find(name)->key_mark : YamlMark{};
        FnCheck check{
            FnScope::kOutput,
            "",
            "",
            "",
            mark,
            std::string(outputs == &plan_.outputs ? "output" : "capability") + " '" + name + "'"};
        CLOUDIFY_RETURN_IF_ERROR(ValidateFunctions(spec.value, check));
      }
    }
    if (const Section* section = GetSection("inputs")) {
      for (const auto& [name, input] : plan_.inputs) {
        if (input.default_value) {
          FnCheck check{FnScope::kOther,       "", "", "", section->Find(name)->key_mark,
                        "input '" + name + "'"};
          CLOUDIFY_RETURN_IF_ERROR(ValidateFunctions(*input.default_value, check));
        }
      }
    }
    FnCheck label_check{FnScope::kOther, "", "", "", YamlMark{}, "labels"};
    CLOUDIFY_RETURN_IF_ERROR(ValidateFunctions(plan_.labels, label_check));
    for (const auto& secret : secrets_used_) {
      plan_.requirements["secrets"].push_back(secret);
    }
    return Status::Ok();
  }

  // ------------------------------------------------------------------ all of it
  Status BuildPlan() {
    CLOUDIFY_RETURN_IF_ERROR(ResolveTypes(TypeKind::kData));
    CLOUDIFY_RETURN_IF_ERROR(ParsePlugins());
    CLOUDIFY_RETURN_IF_ERROR(ResolveTypes(TypeKind::kNode));
    CLOUDIFY_RETURN_IF_ERROR(ResolveTypes(TypeKind::kRelationship));
    CLOUDIFY_RETURN_IF_ERROR(ParseInputs());
    CLOUDIFY_RETURN_IF_ERROR(ParseNodeTemplates());
    CLOUDIFY_RETURN_IF_ERROR(CollectPlugins());
    CLOUDIFY_RETURN_IF_ERROR(ParseWorkflows());
    CLOUDIFY_RETURN_IF_ERROR(ParseOutputs("outputs", plan_.outputs));
    CLOUDIFY_RETURN_IF_ERROR(ParseOutputs("capabilities", plan_.capabilities));
    CLOUDIFY_RETURN_IF_ERROR(ParseGroupsAndPolicies());
    CLOUDIFY_RETURN_IF_ERROR(ParseLabels());
    CLOUDIFY_RETURN_IF_ERROR(ValidateAllFunctions());
    json data_types = json::object();
    if (const Section* section = GetSection("data_types")) {
      for (const auto& item : section->items) {
        data_types[item.name] = item.value->ToJson();
      }
    }
    plan_.data_types = std::move(data_types);
    if (const Section* section = GetSection("relationships")) {
      for (const auto& item : section->items) {
        json rel = item.value->ToJson();
        if (!rel.is_object()) {
          rel = json::object();
        }
        rel["name"] = item.name;
        rel["type_hierarchy"] = relationship_types_[item.name].hierarchy;
        plan_.relationships[item.name] = std::move(rel);
      }
    }
    for (size_t i = 1; i < files_.size(); ++i) {
      if (!files_[i].ns.empty()) {
        plan_.imported_blueprints.push_back(files_[i].ns);
      }
    }
    return Status::Ok();
  }

  const ParseOptions& options_;
  fs::path resources_;
  fs::path root_;
  YamlLimits limits_;
  int minor_ = 0;
  std::vector<FileInfo> files_;
  std::map<std::string, Section> sections_;
  std::unordered_map<std::string, ResolvedType> node_types_;
  std::unordered_map<std::string, ResolvedType> relationship_types_;
  std::unordered_map<std::string, ResolvedType> data_types_;
  std::map<std::string, model::PluginSpec> plugins_;
  std::unordered_map<std::string, size_t> node_index_;
  std::vector<const Item*> template_items_;
  std::unordered_map<std::string, bool> script_cache_;
  std::set<std::string> secrets_used_;
  model::Plan plan_;
};

}  // namespace

fs::path DefaultResourcesDir() {
  std::error_code ec;
  fs::path source(CLOUDIFY_RESOURCES_DIR);
  if (!source.empty() && fs::is_directory(source / "types", ec)) {
    return source;
  }
  return fs::path(CLOUDIFY_INSTALLED_RESOURCES_DIR);
}

Result<model::Plan> ParseBlueprintText(std::string_view text, std::string_view file_name,
                                       const fs::path& blueprint_dir, const ParseOptions& options) {
  try {
    Parser parser(options);
    return parser.Run(text, std::string(file_name), blueprint_dir);
  } catch (const std::exception& e) {  // a library exception we failed to foresee
    return Status(ErrorCode::kInvalidBlueprint,
                  std::string("blueprint could not be parsed: ") + e.what(),
                  SourceLocation{std::string(file_name), 0, 0});
  }
}

Result<model::Plan> ParseBlueprintFile(const fs::path& path, const ParseOptions& options) {
  std::error_code ec;
  std::string name = path.filename().string();
  if (!fs::is_regular_file(path, ec)) {
    return Status(ErrorCode::kInvalidBlueprint, "blueprint file not found: " + path.string(),
                  SourceLocation{name, 0, 0});
  }
  auto size = fs::file_size(path, ec);
  if (ec || size > options.max_file_bytes) {
    return Status(ErrorCode::kInvalidBlueprint,
                  ec ? "cannot read blueprint: " + ec.message()
                     : "blueprint file is larger than " + std::to_string(options.max_file_bytes) +
                           " bytes; refused",
                  SourceLocation{name, 0, 0});
  }
  std::ifstream in(path, std::ios::binary);
  std::string text(static_cast<size_t>(size), '\0');
  in.read(text.data(), static_cast<std::streamsize>(size));
  if (!in) {
    return Status(ErrorCode::kInvalidBlueprint, "cannot read blueprint " + path.string(),
                  SourceLocation{name, 0, 0});
  }
  fs::path dir = path.parent_path().empty() ? fs::path(".") : path.parent_path();
  return ParseBlueprintText(text, name, dir, options);
}

Result<json> ParseInputsArgument(std::string_view argument) {
  std::string arg(argument);
  std::error_code ec;
  std::string text;
  if (!arg.empty() && fs::is_regular_file(arg, ec)) {
    auto size = fs::file_size(arg, ec);
    if (size > 50ull * 1024 * 1024) {
      return BadParametersError("inputs file '" + arg + "' is larger than 50 MiB");
    }
    std::ifstream in(arg, std::ios::binary);
    text.assign(std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>());
  } else if (arg.find('=') != std::string::npos && arg.find('{') == std::string::npos) {
    json out = json::object();
    std::stringstream stream(arg);
    std::string pair;
    while (std::getline(stream, pair, ';')) {
      if (pair.empty()) {
        continue;
      }
      size_t eq = pair.find('=');
      if (eq == std::string::npos || eq == 0) {
        return BadParametersError("inputs '" + arg + "': '" + pair + "' is not key=value");
      }
      out[pair.substr(0, eq)] = ResolvePlainScalar(pair.substr(eq + 1));
    }
    return out;
  } else {
    text = arg;
  }
  YamlLimits limits;
  auto root = ParseYaml(text, 0, "inputs", limits);
  if (!root.ok()) {
    return BadParametersError("inputs '" + arg +
                              "' are not valid YAML/JSON: " + root.status().ToString());
  }
  json value = (*root)->ToJson();
  if (value.is_null()) {
    return json::object();
  }
  if (!value.is_object()) {
    return BadParametersError("inputs '" + arg + "' must be a mapping of input names to values");
  }
  return value;
}

}  // namespace cloudify::dsl
