#include "dsl/yaml_tree.h"

#include <algorithm>
#include <cctype>
#include <cmath>
#include <cstdint>
#include <cstdlib>
#include <istream>
#include <limits>
#include <map>
#include <streambuf>
#include <system_error>
#include <thread>
#include <unordered_set>

#include <yaml-cpp/eventhandler.h>
#include <yaml-cpp/yaml.h>

namespace cloudify::dsl {
namespace {

bool IsDigit(char c) { return c >= '0' && c <= '9'; }

std::string WithoutUnderscores(std::string_view s) {
  std::string out;
  out.reserve(s.size());
  for (char c : s) {
    if (c != '_') {
      out.push_back(c);
    }
  }
  return out;
}

// Base-60 ("1:20:30") to a number; `s` has no sign.
double Sexagesimal(std::string_view s) {
  double value = 0;
  size_t start = 0;
  while (start <= s.size()) {
    size_t colon = s.find(':', start);
    std::string part = WithoutUnderscores(s.substr(start, colon - start));
    value = value * 60 + std::strtod(part.c_str(), nullptr);
    if (colon == std::string_view::npos) {
      break;
    }
    start = colon + 1;
  }
  return value;
}

// [0-9_]* from i; returns the end.
size_t SkipDigits(std::string_view s, size_t i, bool allow_underscore = true) {
  while (i < s.size() && (IsDigit(s[i]) || (allow_underscore && s[i] == '_'))) {
    ++i;
  }
  return i;
}

// (:[0-5]?[0-9])+ from i; returns the end, or npos when there is no such group.
size_t SkipSexagesimalGroups(std::string_view s, size_t i) {
  size_t groups = 0;
  while (i < s.size() && s[i] == ':') {
    size_t j = i + 1;
    if (j + 1 < s.size() && s[j] >= '0' && s[j] <= '5' && IsDigit(s[j + 1])) {
      j += 2;
    } else if (j < s.size() && IsDigit(s[j])) {
      j += 1;
    } else {
      return std::string_view::npos;
    }
    i = j;
    ++groups;
  }
  return groups > 0 ? i : std::string_view::npos;
}

// [eE][-+][0-9]+ from i (YAML 1.1 wants the sign); returns the end, or npos when malformed.
size_t SkipExponent(std::string_view s, size_t i) {
  if (i == s.size()) {
    return i;
  }
  if ((s[i] != 'e' && s[i] != 'E') || i + 2 >= s.size() || (s[i + 1] != '+' && s[i + 1] != '-')) {
    return std::string_view::npos;
  }
  size_t end = SkipDigits(s, i + 2, false);
  return end > i + 2 ? end : std::string_view::npos;
}

std::optional<nlohmann::json> ResolveNumber(std::string_view text) {
  std::string_view s = text;
  bool negative = false;
  bool signed_ = false;
  if (!s.empty() && (s[0] == '-' || s[0] == '+')) {
    negative = s[0] == '-';
    signed_ = true;
    s.remove_prefix(1);
  }
  if (s.empty()) {
    return std::nullopt;
  }
  if (s == ".inf" || s == ".Inf" || s == ".INF") {
    return nlohmann::json(negative ? -std::numeric_limits<double>::infinity()
                                   : std::numeric_limits<double>::infinity());
  }
  if (!signed_ && (s == ".nan" || s == ".NaN" || s == ".NAN")) {
    return nlohmann::json(std::numeric_limits<double>::quiet_NaN());
  }
  const double sign = negative ? -1.0 : 1.0;
  if (s[0] == '.') {
    if (signed_) {
      return std::nullopt;
    }
    size_t end = SkipDigits(s, 1);
    if (end == 1) {
      return std::nullopt;
    }
    size_t exp_end = SkipExponent(s, end);
    if (exp_end != s.size()) {
      return std::nullopt;
    }
    return nlohmann::json(std::strtod(WithoutUnderscores(text).c_str(), nullptr));
  }
  if (!IsDigit(s[0])) {
    return std::nullopt;
  }
  // Integers with a base prefix.
  if (s.size() > 2 && s[0] == '0' && (s[1] == 'b' || s[1] == 'x')) {
    int base = s[1] == 'b' ? 2 : 16;
    std::string digits = WithoutUnderscores(s.substr(2));
    if (digits.empty()) {
      return std::nullopt;
    }
    for (char c : digits) {
      bool ok =
          base == 2 ? (c == '0' || c == '1') : std::isxdigit(static_cast<unsigned char>(c)) != 0;
      if (!ok) {
        return std::nullopt;
      }
    }
    long long v = std::strtoll(digits.c_str(), nullptr, base);
    return nlohmann::json(negative ? -v : v);
  }
  size_t end = SkipDigits(s, 0);
  if (end == s.size()) {
    std::string digits = WithoutUnderscores(s);
    if (digits.empty()) {
      return std::nullopt;
    }
    if (digits.size() > 1 && digits[0] == '0') {  // octal
      for (char c : digits) {
        if (c > '7') {
          return std::nullopt;
        }
      }
      long long v = std::strtoll(digits.c_str(), nullptr, 8);
      return nlohmann::json(negative ? -v : v);
    }
    errno = 0;
    long long v = std::strtoll(digits.c_str(), nullptr, 10);
    if (errno == ERANGE) {
      return nlohmann::json(sign * std::strtod(digits.c_str(), nullptr));
    }
    return nlohmann::json(negative ? -v : v);
  }
  if (s[end] == '.') {
    size_t frac_end = SkipDigits(s, end + 1);
    if (SkipExponent(s, frac_end) != s.size()) {
      return std::nullopt;
    }
    return nlohmann::json(std::strtod(WithoutUnderscores(text).c_str(), nullptr));
  }
  if (s[end] == ':' && s[0] != '0') {
    size_t groups_end = SkipSexagesimalGroups(s, end);
    if (groups_end == s.size()) {
      double v = Sexagesimal(s);
      return nlohmann::json(static_cast<long long>(negative ? -v : v));
    }
    if (groups_end != std::string_view::npos && s[groups_end] == '.' &&
        SkipDigits(s, groups_end + 1) == s.size()) {
      return nlohmann::json(sign * Sexagesimal(s));
    }
  }
  return std::nullopt;
}

// Reads `text` where it is (an istringstream would copy it first). Read-only: nothing writes to
// the get area.
class ViewBuffer : public std::streambuf {
 public:
  explicit ViewBuffer(std::string_view text) {
    char* begin = const_cast<char*>(text.data());
    setg(begin, begin, begin + text.size());
  }
};

class BuildError : public std::exception {
 public:
  BuildError(std::string message, YamlMark mark) : message_(std::move(message)), mark_(mark) {}
  const char* what() const noexcept override { return message_.c_str(); }
  const std::string& message() const { return message_; }
  YamlMark mark() const { return mark_; }

 private:
  std::string message_;
  YamlMark mark_;
};

class TreeBuilder : public YAML::EventHandler {
 public:
  // Blueprint maps and lists mostly hold a few items: room for two at the first saves a
  // reallocation for the many with two, and wastes little on the many with one ({get_input: x}).
  static constexpr size_t kFirstCapacity = 2;

  TreeBuilder(int file, const YamlLimits& limits, int line_offset = 0)
      : file_(file), limits_(limits), line_offset_(line_offset) {}

  YamlNodePtr root() const { return root_; }

  void OnDocumentStart(const YAML::Mark&) override {}
  void OnDocumentEnd() override { done_ = true; }

  void OnNull(const YAML::Mark& mark, YAML::anchor_t anchor) override {
    auto node = std::make_shared<YamlNode>();
    node->mark = ToMark(mark);
    Add(std::move(node), anchor, /*plain_key=*/false);
  }

  void OnAlias(const YAML::Mark& mark, YAML::anchor_t anchor) override {
    auto it = anchors_.find(anchor);
    if (it == anchors_.end()) {
      throw BuildError("alias to an anchor that is not complete (recursive alias)", ToMark(mark));
    }
    alias_nodes_ += it->second->subtree_size;
    if (alias_nodes_ > limits_.max_alias_nodes) {
      throw BuildError("YAML aliases expand to more than " +
                           std::to_string(limits_.max_alias_nodes) +
                           " nodes (alias bomb?); refused",
                       ToMark(mark));
    }
    Add(it->second, 0, false);
  }

  void OnScalar(const YAML::Mark& mark, const std::string& tag, YAML::anchor_t anchor,
                const std::string& value) override {
    const YamlMark at = ToMark(mark);
    for (unsigned char c : value) {
      if (c >= 0x80) {
        throw BuildError("illegal characters in '" + value.substr(0, 40) +
                             "': only valid ASCII characters are supported",
                         at);
      }
    }
    const bool plain = tag == "?";
    bool resolve = plain;
    if (!plain && tag != "!" && tag != "tag:yaml.org,2002:str") {
      if (tag != "tag:yaml.org,2002:int" && tag != "tag:yaml.org,2002:float" &&
          tag != "tag:yaml.org,2002:bool" && tag != "tag:yaml.org,2002:null") {
        throw BuildError("unsupported YAML tag '" + tag + "'", at);
      }
      resolve = true;
    }
    // A mapping key (without an anchor) is kept as the entry's key only: no node of its own.
    if (anchor == 0 && !stack_.empty() && stack_.back().node->IsMap() && !stack_.back().have_key) {
      if (resolve) {
        if (std::optional<nlohmann::json> other = ResolvePlainNonString(value)) {
          throw BuildError("Dict keys must be strings (found " +
                               (other->is_null() ? std::string("a non-scalar") : other->dump()) +
                               ")",
                           at);
        }
      }
      Frame& frame = stack_.back();
      frame.have_key = true;
      frame.key = value;
      frame.key_mark = at;
      frame.key_is_merge = plain && value == "<<";
      return;
    }
    auto node = std::make_shared<YamlNode>();
    node->mark = at;
    std::optional<nlohmann::json> other;
    if (resolve) {
      other = ResolvePlainNonString(value);
    }
    if (other) {
      node->scalar = std::move(*other);
    } else {
      node->text = value;
      node->is_string = true;
    }
    if (!node->is_string && node->scalar.is_null()) {
      node->kind = YamlNode::Kind::kNull;
    } else {
      node->kind = YamlNode::Kind::kScalar;
    }
    Add(std::move(node), anchor, plain);
  }

  void OnSequenceStart(const YAML::Mark& mark, const std::string&, YAML::anchor_t anchor,
                       YAML::EmitterStyle::value) override {
    Push(YamlNode::Kind::kSeq, mark, anchor);
  }
  void OnSequenceEnd() override { Pop(); }
  void OnMapStart(const YAML::Mark& mark, const std::string&, YAML::anchor_t anchor,
                  YAML::EmitterStyle::value) override {
    Push(YamlNode::Kind::kMap, mark, anchor);
  }
  void OnMapEnd() override {
    Frame& frame = stack_.back();
    if (!frame.merges.empty()) {
      ApplyMerges(frame);
    }
    Pop();
  }

 private:
  struct Frame {
    std::shared_ptr<YamlNode> node;
    YAML::anchor_t anchor = 0;
    bool have_key = false;
    std::string key;
    YamlMark key_mark;
    bool key_is_merge = false;
    std::vector<YamlNodePtr> merges;
  };

  YamlMark ToMark(const YAML::Mark& mark) const {
    return YamlMark{file_, line_offset_ + mark.line + 1, mark.column + 1};
  }

  void Push(YamlNode::Kind kind, const YAML::Mark& mark, YAML::anchor_t anchor) {
    if (static_cast<int>(stack_.size()) >= limits_.max_depth) {
      throw BuildError(
          "YAML nesting deeper than " + std::to_string(limits_.max_depth) + " levels; refused",
          ToMark(mark));
    }
    auto node = std::make_shared<YamlNode>();
    node->kind = kind;
    node->mark = ToMark(mark);
    stack_.push_back(Frame{std::move(node), anchor});
  }

  void Pop() {
    Frame frame = std::move(stack_.back());
    stack_.pop_back();
    if (frame.have_key) {
      throw BuildError("mapping key without a value", frame.key_mark);
    }
    Add(std::move(frame.node), frame.anchor, false);
  }

  void Add(YamlNodePtr node, YAML::anchor_t anchor, bool plain_scalar) {
    if (anchor != 0) {
      anchors_[anchor] = node;
    }
    if (stack_.empty()) {
      if (!root_) {
        root_ = std::move(node);
      }
      return;
    }
    Frame& frame = stack_.back();
    YamlNode& parent = *frame.node;
    parent.subtree_size += node->subtree_size;
    if (parent.kind == YamlNode::Kind::kSeq) {
      if (parent.items.empty()) {
        parent.items.reserve(kFirstCapacity);
      }
      parent.items.push_back(std::move(node));
      return;
    }
    if (!frame.have_key) {
      if (!node->IsString()) {
        throw BuildError("Dict keys must be strings (found " +
                             (node->kind == YamlNode::Kind::kScalar ? node->scalar.dump()
                                                                    : std::string("a non-scalar")) +
                             ")",
                         node->mark);
      }
      frame.have_key = true;
      frame.key = node->text;
      frame.key_mark = node->mark;
      frame.key_is_merge = plain_scalar && frame.key == "<<";
      parent.subtree_size -= node->subtree_size;  // keys are not counted as nodes
      return;
    }
    frame.have_key = false;
    if (frame.key_is_merge) {
      if (node->IsMap()) {
        frame.merges.push_back(node);
      } else if (node->IsSeq()) {
        for (const auto& item : node->items) {
          if (!item->IsMap()) {
            throw BuildError("merge key '<<' takes a mapping or a list of mappings", item->mark);
          }
          frame.merges.push_back(item);
        }
      } else {
        throw BuildError("merge key '<<' takes a mapping or a list of mappings", node->mark);
      }
      return;
    }
    if (parent.entries.empty()) {
      parent.entries.reserve(kFirstCapacity);
    }
    parent.entries.push_back(YamlEntry{std::move(frame.key), frame.key_mark, std::move(node)});
  }

  // PyYAML: keys written in the mapping win over merged ones; among merged sources the
  // earlier source wins.
  static void ApplyMerges(Frame& frame) {
    std::unordered_set<std::string> present;
    for (const auto& entry : frame.node->entries) {
      present.insert(entry.key);
    }
    for (const auto& source : frame.merges) {
      for (const auto& entry : source->entries) {
        if (present.insert(entry.key).second) {
          frame.node->entries.push_back(entry);
        }
      }
    }
  }

  int file_;
  YamlLimits limits_;
  int line_offset_;  // lines before the text parsed (a part of a larger document)
  std::vector<Frame> stack_;
  std::map<YAML::anchor_t, YamlNodePtr> anchors_;
  YamlNodePtr root_;
  size_t alias_nodes_ = 0;
  bool done_ = false;
};

}  // namespace

nlohmann::json ResolvePlainScalar(const std::string& text) {
  std::optional<nlohmann::json> other = ResolvePlainNonString(text);
  return other ? std::move(*other) : nlohmann::json(text);
}

std::optional<nlohmann::json> ResolvePlainNonString(std::string_view text) {
  if (text.empty()) {
    return nlohmann::json(nullptr);
  }
  switch (text[0]) {
    case '~':
      if (text.size() == 1) {
        return nlohmann::json(nullptr);
      }
      break;
    case 'n':
    case 'N':
      if (text == "null" || text == "Null" || text == "NULL") {
        return nlohmann::json(nullptr);
      }
      if (text == "no" || text == "No" || text == "NO") {
        return nlohmann::json(false);
      }
      break;
    case 'y':
    case 'Y':
      if (text == "yes" || text == "Yes" || text == "YES") {
        return nlohmann::json(true);
      }
      break;
    case 't':
    case 'T':
      if (text == "true" || text == "True" || text == "TRUE") {
        return nlohmann::json(true);
      }
      break;
    case 'f':
    case 'F':
      if (text == "false" || text == "False" || text == "FALSE") {
        return nlohmann::json(false);
      }
      break;
    case 'o':
    case 'O':
      if (text == "on" || text == "On" || text == "ON") {
        return nlohmann::json(true);
      }
      if (text == "off" || text == "Off" || text == "OFF") {
        return nlohmann::json(false);
      }
      break;
    default:
      if (IsDigit(text[0]) || text[0] == '-' || text[0] == '+' || text[0] == '.') {
        if (auto number = ResolveNumber(text)) {
          return *number;
        }
      }
      break;
  }
  return std::nullopt;
}

const YamlEntry* YamlNode::Find(std::string_view key) const {
  for (auto it = entries.rbegin(); it != entries.rend(); ++it) {
    if (it->key == key) {
      return &*it;
    }
  }
  return nullptr;
}

nlohmann::json YamlNode::ToJson() const {
  switch (kind) {
    case Kind::kNull:
      return nullptr;
    case Kind::kScalar:
      return is_string ? nlohmann::json(text) : scalar;
    case Kind::kSeq: {
      nlohmann::json out = nlohmann::json::array();
      for (const auto& item : items) {
        out.push_back(item->ToJson());
      }
      return out;
    }
    case Kind::kMap: {
      nlohmann::json out = nlohmann::json::object();
      for (const auto& entry : entries) {
        out[entry.key] = entry.value->ToJson();  // later duplicates win, as in PyYAML
      }
      return out;
    }
  }
  return nullptr;
}

namespace {

// Parses one document (or a part of one starting `line_offset` lines in).
Result<YamlNodePtr> ParseText(std::string_view text, int file, const std::string& file_name,
                              const YamlLimits& limits, int line_offset = 0) {
  TreeBuilder builder(file, limits, line_offset);
  try {
    ViewBuffer buffer(text);
    std::istream stream(&buffer);
    YAML::Parser parser(stream);
    parser.HandleNextDocument(builder);
  } catch (const BuildError& e) {
    YamlMark mark = e.mark();
    return Status(ErrorCode::kInvalidBlueprint, e.message(),
                  SourceLocation{file_name, mark.line, mark.column});
  } catch (const YAML::Exception& e) {
    return Status(ErrorCode::kInvalidBlueprint, "invalid YAML: " + e.msg,
                  SourceLocation{file_name, line_offset + e.mark.line + 1, e.mark.column + 1});
  } catch (const std::exception& e) {
    return Status(ErrorCode::kInvalidBlueprint, std::string("invalid YAML: ") + e.what(),
                  SourceLocation{file_name, 0, 0});
  }
  YamlNodePtr root = builder.root();
  if (!root) {
    auto empty = std::make_shared<YamlNode>();
    empty->mark = YamlMark{file, line_offset + 1, 1};
    root = std::move(empty);
  }
  return root;
}

// A large document is parsed on two threads: yaml-cpp's scanner is most of a big blueprint's
// parse time, and one top-level section (node_templates, node_types, ...) is most of its text.
// The section's body is cut in two at a line holding one of its keys; each half is parsed as a
// mapping of its own (keeping its indentation, so columns stay right) and the document without
// the body is parsed beside them. The cut is made only where it cannot change the meaning:
// a block-style section whose keys all start a line at one indentation, no aliases in the body
// (an anchor may be defined in another part), one document. Any error in a part sends the
// whole text through the plain parse, so errors read exactly as they would without the cut.
struct Line {
  size_t begin = 0;  // byte offsets; end excludes the '\n'
  size_t end = 0;
  int indent = 0;      // leading spaces
  bool blank = false;  // empty, spaces only, or a comment
  bool tab = false;    // a tab in the leading whitespace
};

struct SectionCut {
  size_t key_line = 0;                           // index of the section's key line
  size_t body_begin = 0, body_end = 0, cut = 0;  // byte offsets
  size_t body_first_line = 0, cut_line = 0;      // line indexes
  std::string key;
};

std::vector<Line> SplitLines(std::string_view text) {
  std::vector<Line> lines;
  size_t pos = 0;
  while (pos < text.size()) {
    size_t end = text.find('\n', pos);
    if (end == std::string_view::npos) {
      end = text.size();
    }
    Line line{pos, end};
    size_t i = pos;
    while (i < end && (text[i] == ' ' || text[i] == '\t')) {
      line.tab = line.tab || text[i] == '\t';
      ++i;
    }
    line.indent = static_cast<int>(i - pos);
    line.blank = i == end || text[i] == '#' || text[i] == '\r';
    lines.push_back(line);
    pos = end + 1;
  }
  return lines;
}

// "name:" alone on a line (a trailing comment allowed): the key of a block section.
std::optional<std::string> BlockSectionKey(std::string_view line) {
  size_t colon = line.find(':');
  if (colon == std::string_view::npos || colon == 0) {
    return std::nullopt;
  }
  for (size_t i = 0; i < colon; ++i) {
    const char c = line[i];
    if (!(std::isalnum(static_cast<unsigned char>(c)) || c == '_')) {
      return std::nullopt;
    }
  }
  size_t rest = colon + 1;
  while (rest < line.size() && (line[rest] == ' ' || line[rest] == '\r')) {
    ++rest;
  }
  if (rest < line.size() && line[rest] != '#') {
    return std::nullopt;
  }
  return std::string(line.substr(0, colon));
}

std::optional<SectionCut> PlanCut(std::string_view text, size_t min_body) {
  if (text.size() < min_body || text.find("\n---") != std::string_view::npos ||
      text.find("\n...") != std::string_view::npos) {
    return std::nullopt;
  }
  const std::vector<Line> lines = SplitLines(text);
  // The document must be a block mapping: inside a flow collection the section's lines would
  // not be block content, and one parse would refuse what the parts accept.
  for (const Line& line : lines) {
    if (line.blank) {
      continue;
    }
    const std::string_view content = text.substr(line.begin, line.end - line.begin);
    if (content.substr(0, 3) == "---") {
      if (content.find_first_not_of(" \r", 3) != std::string_view::npos) {
        return std::nullopt;  // content on the document-start line
      }
      continue;
    }
    const char c = content[0];
    if (!(std::isalnum(static_cast<unsigned char>(c)) || c == '_' || c == '"' || c == '\'')) {
      return std::nullopt;  // a flow collection, a sequence, a property, an indented start
    }
    break;
  }
  std::optional<SectionCut> best;
  for (size_t i = 0; i < lines.size(); ++i) {
    const Line& line = lines[i];
    if (line.blank || line.indent != 0) {
      continue;
    }
    std::optional<std::string> key =
        BlockSectionKey(text.substr(line.begin, line.end - line.begin));
    if (!key) {
      continue;
    }
    // The body: from the first content line (its indentation is the keys') to the next line
    // indented less.
    size_t first = i + 1;
    while (first < lines.size() && lines[first].blank) {
      ++first;
    }
    if (first >= lines.size() || lines[first].indent == 0) {
      continue;
    }
    const int indent = lines[first].indent;
    size_t end = first;
    bool plain = true;
    std::vector<size_t> keys;
    for (; end < lines.size(); ++end) {
      const Line& l = lines[end];
      if (l.tab) {
        plain = false;
      }
      if (l.blank) {
        continue;
      }
      if (l.indent < indent) {
        break;
      }
      if (l.indent == indent) {
        const char c = text[l.begin + static_cast<size_t>(indent)];
        if (!(std::isalnum(static_cast<unsigned char>(c)) || c == '_' || c == '"' || c == '\'')) {
          plain = false;  // a sequence item, a complex key, a flow or a property
        }
        keys.push_back(end);
      }
    }
    if (!plain || keys.size() < 2) {
      continue;
    }
    const size_t body_begin = lines[first].begin;
    const size_t body_end = end < lines.size() ? lines[end].begin : text.size();
    if (body_end - body_begin < min_body ||
        (best && best->body_end - best->body_begin >= body_end - body_begin)) {
      continue;
    }
    const std::string_view body = text.substr(body_begin, body_end - body_begin);
    if (body.find('*') != std::string_view::npos) {
      continue;  // an alias may refer to an anchor of another part
    }
    // The last key line before the middle of the body (not the first: each part has keys).
    const size_t middle = body_begin + (body_end - body_begin) / 2;
    size_t cut_line = keys[1];
    for (size_t k = 2; k < keys.size() && lines[keys[k]].begin <= middle; ++k) {
      cut_line = keys[k];
    }
    best = SectionCut{i, body_begin, body_end, lines[cut_line].begin, first, cut_line, *key};
  }
  return best;
}

// Parses the document as PlanCut planned, or nullopt when any part did not parse.
std::optional<YamlNodePtr> ParseCut(std::string_view text, const SectionCut& cut, int file,
                                    const std::string& file_name, const YamlLimits& limits) {
  YamlLimits part_limits = limits;
  part_limits.max_depth = std::max(1, limits.max_depth - 1);  // a part starts one level in
  Result<YamlNodePtr> second = Status(ErrorCode::kInternal, "not parsed");
  std::thread worker;
  try {
    worker = std::thread([&] {
      second = ParseText(text.substr(cut.cut, cut.body_end - cut.cut), file, file_name, part_limits,
                         static_cast<int>(cut.cut_line));
    });
  } catch (const std::system_error&) {
    return std::nullopt;  // no thread to be had: the plain parse
  }
  const std::string_view body = text.substr(cut.body_begin, cut.body_end - cut.body_begin);
  std::string rest;
  rest.reserve(text.size() - body.size());
  rest.append(text.substr(0, cut.body_begin));
  // The body's lines become empty ones: the rest keeps its line numbers.
  rest.append(static_cast<size_t>(std::count(body.begin(), body.end(), '\n')), '\n');
  rest.append(text.substr(cut.body_end));
  Result<YamlNodePtr> first =
      ParseText(text.substr(cut.body_begin, cut.cut - cut.body_begin), file, file_name, part_limits,
                static_cast<int>(cut.body_first_line));
  Result<YamlNodePtr> outer = ParseText(rest, file, file_name, limits);
  worker.join();
  if (!first.ok() || !second.ok() || !outer.ok() || !(*first)->IsMap() || !(*second)->IsMap() ||
      !(*outer)->IsMap()) {
    return std::nullopt;
  }
  // The two halves make the section's mapping, entries in document order.
  auto section = std::make_shared<YamlNode>(**first);
  section->entries.insert(section->entries.end(), (*second)->entries.begin(),
                          (*second)->entries.end());
  section->subtree_size += (*second)->subtree_size - 1;
  // The parsed rest is this parse's own: its section entry (now null) takes the mapping.
  auto root = std::const_pointer_cast<YamlNode>(*outer);
  for (YamlEntry& entry : root->entries) {
    if (entry.key == cut.key && entry.key_mark.line == static_cast<int>(cut.key_line) + 1) {
      if (!entry.value->IsNull()) {
        return std::nullopt;
      }
      root->subtree_size += section->subtree_size - entry.value->subtree_size;
      entry.value = std::move(section);
      return YamlNodePtr(std::move(root));
    }
  }
  return std::nullopt;
}

}  // namespace

Result<YamlNodePtr> ParseYaml(std::string_view text, int file, const std::string& file_name,
                              const YamlLimits& limits) {
  if (std::optional<SectionCut> cut = PlanCut(text, limits.split_body_bytes)) {
    if (std::optional<YamlNodePtr> root = ParseCut(text, *cut, file, file_name, limits)) {
      return std::move(*root);
    }
  }
  return ParseText(text, file, file_name, limits);
}

}  // namespace cloudify::dsl
