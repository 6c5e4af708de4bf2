// YamlNode: a YAML document as a tree that remembers where every node came from.
//
// Built from yaml-cpp's event stream (not YAML::Node) so that aliases are seen as aliases:
// an alias shares the anchored subtree, and the number of nodes aliases add is counted and
// capped (a "billion laughs" document is refused before it is expanded). Plain scalars are
// resolved with YAML 1.1 rules as PyYAML's SafeLoader resolves them (yes/no/on/off booleans,
// octal, hex, base-60, .inf), and `<<` merge keys are applied.
//
// Private to the dsl layer: the only place yaml-cpp is used.
#pragma once

#include <cstddef>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include <nlohmann/json.hpp>

#include "cloudify/status.h"

namespace cloudify::dsl {

struct YamlNode;
using YamlNodePtr = std::shared_ptr<const YamlNode>;

struct YamlMark {
  int file = 0;  // index into the loader's file table
  int line = 0;  // 1-based
  int column = 0;
};

struct YamlEntry {
  std::string key;
  YamlMark key_mark;
  YamlNodePtr value;
};

struct YamlNode {
  enum class Kind { kNull, kScalar, kMap, kSeq };
  Kind kind = Kind::kNull;
  YamlMark mark;
  nlohmann::json scalar;           // resolved value of a number or bool scalar; null otherwise
  std::string text;                // value of a string scalar (no json allocation of its own)
  bool is_string = false;          // a scalar that is a string: its value is `text`
  std::vector<YamlEntry> entries;  // map entries in document order (later duplicates win)
  std::vector<YamlNodePtr> items;  // sequence items
  size_t subtree_size = 1;         // nodes in this subtree, aliases expanded

  bool IsMap() const { return kind == Kind::kMap; }
  bool IsSeq() const { return kind == Kind::kSeq; }
  bool IsNull() const { return kind == Kind::kNull; }
  bool IsString() const { return kind == Kind::kScalar && is_string; }
  // The value of `key` in a map (the last one when duplicated), or null.
  const YamlEntry* Find(std::string_view key) const;
  // The subtree as JSON.
  nlohmann::json ToJson() const;
};

struct YamlLimits {
  size_t max_alias_nodes = 100000;  // nodes added by alias expansion, whole document
  int max_depth = 256;              // nesting depth
  // A document with a top-level section whose body is at least this large is parsed on two
  // threads (see ParseYaml); SIZE_MAX never.
  size_t split_body_bytes = 32 * 1024;
};

// Parses `text` (the first document). `file` indexes the caller's file table; `file_name` is
// used in error messages. A large block-style section is parsed in two halves on two threads,
// with the same result as one parse (and the same errors: a half that fails to parse sends the
// whole text through one parse). Errors: kInvalidBlueprint with a location (invalid YAML, non-ASCII
// text, non-string keys, alias bomb, too deep).
Result<YamlNodePtr> ParseYaml(std::string_view text, int file, const std::string& file_name,
                              const YamlLimits& limits);

// Resolves a plain scalar as YAML 1.1 / PyYAML does: null, bool, int, float or string.
nlohmann::json ResolvePlainScalar(const std::string& text);
// The same, or nullopt when the scalar is a string (which then needs no copy).
std::optional<nlohmann::json> ResolvePlainNonString(std::string_view text);

}  // namespace cloudify::dsl
