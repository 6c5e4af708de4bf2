#include "cloudify/dsl/functions.h"

#include <algorithm>
#include <array>
#include <cmath>
#include <cstdio>

#include "dsl/internal.h"

namespace cloudify::dsl {
namespace {

using nlohmann::json;

// The known functions, in kFunctions' order.
enum class Fn {
  kGetInput,
  kGetProperty,
  kGetAttribute,
  kGetAttributesList,
  kGetAttributesDict,
  kConcat,
  kMerge,
  kGetSecret,
  kGetCapability,
  kGetEnvironmentCapability,
  kGetGroupCapability,
  kGetLabel,
  kGetSys,
  kGetConsumers,
  kStringFind,
  kStringReplace,
  kStringSplit,
  kStringLower,
  kStringUpper,
};

struct FunctionInfo {
  std::string_view name;
  bool runtime;
  Fn id;
};

constexpr std::array<FunctionInfo, 19> kFunctions{{
    {"get_input", false, Fn::kGetInput},
    {"get_property", false, Fn::kGetProperty},
    {"get_attribute", true, Fn::kGetAttribute},
    {"get_attributes_list", true, Fn::kGetAttributesList},
    {"get_attributes_dict", true, Fn::kGetAttributesDict},
    {"concat", false, Fn::kConcat},
    {"merge", false, Fn::kMerge},
    {"get_secret", true, Fn::kGetSecret},
    {"get_capability", true, Fn::kGetCapability},
    {"get_environment_capability", true, Fn::kGetEnvironmentCapability},
    {"get_group_capability", true, Fn::kGetGroupCapability},
    {"get_label", true, Fn::kGetLabel},
    {"get_sys", true, Fn::kGetSys},
    {"get_consumers", true, Fn::kGetConsumers},
    {"string_find", false, Fn::kStringFind},
    {"string_replace", false, Fn::kStringReplace},
    {"string_split", false, Fn::kStringSplit},
    {"string_lower", false, Fn::kStringLower},
    {"string_upper", false, Fn::kStringUpper},
}};

const FunctionInfo* FindFunction(std::string_view name) {
  for (const auto& info : kFunctions) {
    if (info.name == name) {
      return &info;
    }
  }
  return nullptr;
}

Status EvalError(std::string message) {
  return Status(ErrorCode::kFunctionsEvaluation, std::move(message));
}

Status NotAvailable(std::string_view what) {
  return EvalError(std::string(what) + " is not available in this context");
}

// Python's str() of a value, which is what concat joins.
std::string PythonStr(const json& value) {
  if (value.is_string()) {
    return value.get<std::string>();
  }
  if (value.is_boolean()) {
    return value.get<bool>() ? "True" : "False";
  }
  if (value.is_null()) {
    return "None";
  }
  if (value.is_number_float()) {
    double d = value.get<double>();
    if (std::isfinite(d) && d == std::floor(d) && std::fabs(d) < 1e16) {
      char buffer[64];
      std::snprintf(buffer, sizeof buffer, "%.1f", d);
      return buffer;
    }
    return value.dump();
  }
  return value.dump();
}

std::string Describe(const json& path) {
  std::string out;
  for (const auto& item : path) {
    if (!out.empty()) {
      out += ".";
    }
    out += item.is_string() ? item.get<std::string>() : item.dump();
  }
  return out;
}

// One step of WalkJsonPath (an object key or a list index) without copying the value found:
// the value, or null when the step does not exist.
const json* FindStep(const json& value, const json& step) {
  if (value.is_object() && step.is_string()) {
    auto it = value.find(step.get_ref<const std::string&>());
    return it == value.end() ? nullptr : &*it;
  }
  if (value.is_array() && step.is_number_integer()) {
    auto index = step.get<long long>();
    if (index < 0 || static_cast<size_t>(index) >= value.size()) {
      return nullptr;
    }
    return &value[static_cast<size_t>(index)];
  }
  return nullptr;
}

}  // namespace

// Walks `path` (keys and list indexes) into `value`; `what` names the function for errors.
Result<json> WalkJsonPath(const json& value, const json& path, size_t start,
                          std::string_view what) {
  const json* current = &value;
  for (size_t i = start; i < path.size(); ++i) {
    const json& step = path[i];
    if (current->is_object() && step.is_string()) {
      auto it = current->find(step.get<std::string>());
      if (it == current->end()) {
        return EvalError(std::string(what) + ": key '" + step.get<std::string>() +
                         "' does not exist (path " + Describe(path) + ")");
      }
      current = &*it;
    } else if (current->is_array() && step.is_number_integer()) {
      auto index = step.get<long long>();
      if (index < 0 || static_cast<size_t>(index) >= current->size()) {
        return EvalError(std::string(what) + ": index " + std::to_string(index) +
                         " is out of range (path " + Describe(path) + ")");
      }
      current = &(*current)[static_cast<size_t>(index)];
    } else {
      return EvalError(std::string(what) + ": cannot follow " + step.dump() + " into " +
                       std::string(current->type_name()) + " (path " + Describe(path) + ")");
    }
  }
  return *current;
}

bool IsFunctionName(std::string_view name) { return FindFunction(name) != nullptr; }

bool IsFunctionCall(const json& value) {
  return value.is_object() && value.size() == 1 && IsFunctionName(value.begin().key());
}

bool ContainsFunctionCall(const json& value) {
  if (value.is_object()) {
    if (IsFunctionCall(value)) {
      return true;
    }
    for (const auto& item : value) {
      if (ContainsFunctionCall(item)) {
        return true;
      }
    }
  } else if (value.is_array()) {
    for (const auto& item : value) {
      if (ContainsFunctionCall(item)) {
        return true;
      }
    }
  }
  return false;
}

bool IsRuntimeFunction(std::string_view name) {
  const FunctionInfo* info = FindFunction(name);
  return info != nullptr && info->runtime;
}

Result<json> FunctionContext::GetInput(const std::string&) { return NotAvailable("get_input"); }
Result<json> FunctionContext::GetNodeProperties(const std::string&) {
  return NotAvailable("get_property");
}
const json* FunctionContext::FindNodeProperties(const std::string&) { return nullptr; }
Result<json> FunctionContext::GetAttribute(const std::string&, const std::string&,
                                           const std::string&, const json&) {
  return NotAvailable("get_attribute");
}
Result<json> FunctionContext::GetAttributeOfAllInstances(const std::string&, const json&) {
  return NotAvailable("get_attributes_list/get_attributes_dict");
}
Result<json> FunctionContext::GetSecret(const std::string&) { return NotAvailable("get_secret"); }
Result<json> FunctionContext::GetCapability(const std::string&, const std::string&) {
  return NotAvailable("get_capability");
}
Result<json> FunctionContext::GetEnvironmentCapability(const std::string&) {
  return NotAvailable("get_environment_capability");
}
Result<json> FunctionContext::GetGroupCapability(const std::string&, const json&) {
  return NotAvailable("get_group_capability");
}
Result<json> FunctionContext::GetLabel(const std::string&) { return NotAvailable("get_label"); }
Result<json> FunctionContext::GetSys(const std::string&, const std::string&) {
  return NotAvailable("get_sys");
}
Result<json> FunctionContext::GetConsumers(const std::string&) {
  return NotAvailable("get_consumers");
}

namespace {

constexpr int kMaxRecursion = 50;

class Evaluator {
 public:
  Evaluator(FunctionContext& context, EvaluationMode mode) : context_(context), mode_(mode) {}

  Result<json> Eval(const json& value, const FunctionScope& scope, int depth) {
    if (value.is_object()) {
      const FunctionInfo* fn = value.size() == 1 ? FindFunction(value.begin().key()) : nullptr;
      if (fn != nullptr) {
        const std::string& name = value.begin().key();
        if (mode_ == EvaluationMode::kStatic && fn->runtime) {
          return value;
        }
        const json& raw = value.begin().value();
        if (!ContainsFunctionCall(raw)) {  // evaluating it would only copy it
          return Call(fn->id, name, raw, scope, depth);
        }
        CLOUDIFY_ASSIGN_OR_RETURN(json args, Eval(raw, scope, depth));
        if (mode_ == EvaluationMode::kStatic && ContainsFunctionCall(args)) {
          return json{{name, std::move(args)}};
        }
        return Call(fn->id, name, args, scope, depth);
      }
      json out = json::object();
      for (auto it = value.begin(); it != value.end(); ++it) {
        CLOUDIFY_ASSIGN_OR_RETURN(out[it.key()], Eval(it.value(), scope, depth));
      }
      return out;
    }
    if (value.is_array()) {
      json out = json::array();
      for (const auto& item : value) {
        CLOUDIFY_ASSIGN_OR_RETURN(json evaluated, Eval(item, scope, depth));
        out.push_back(std::move(evaluated));
      }
      return out;
    }
    return value;
  }

 private:
  // SELF / SOURCE / TARGET or a node name -> (node, instance).
  Result<std::pair<std::string, std::string>> ResolveNode(const json& ref,
                                                          const FunctionScope& scope,
                                                          std::string_view function) {
    if (!ref.is_string()) {
      return EvalError(std::string(function) + ": the node reference must be a string, got " +
                       ref.dump());
    }
    const std::string& name = ref.get_ref<const std::string&>();
    auto pick = [&](const std::string& node, const std::string& instance,
                    std::string_view what) -> Result<std::pair<std::string, std::string>> {
      if (node.empty()) {
        return EvalError(std::string(function) + ": " + std::string(what) +
                         " cannot be used in this context");
      }
      return std::make_pair(node, instance);
    };
    if (name == "SELF") {
      return pick(scope.self_node, scope.self_instance, "SELF");
    }
    if (name == "SOURCE") {
      return pick(scope.source_node, scope.source_instance, "SOURCE");
    }
    if (name == "TARGET") {
      return pick(scope.target_node, scope.target_instance, "TARGET");
    }
    return std::make_pair(name, std::string());
  }

  static Result<std::string> StringArg(const json& value, std::string_view function) {
    if (!value.is_string()) {
      return EvalError(std::string(function) + " expects a string, got " + value.dump());
    }
    return value.get<std::string>();
  }

  Result<json> Call(Fn id, const std::string& name, const json& args, const FunctionScope& scope,
                    int depth) {
    if (id == Fn::kGetInput) {
      if (args.is_string()) {
        return context_.GetInput(args.get<std::string>());
      }
      if (args.is_array() && !args.empty() && args[0].is_string()) {
        CLOUDIFY_ASSIGN_OR_RETURN(json input, context_.GetInput(args[0].get<std::string>()));
        return WalkJsonPath(input, args, 1, "get_input");
      }
      return EvalError("get_input expects an input name or [name, key, ...], got " + args.dump());
    }
    if (id == Fn::kGetProperty) {
      if (!args.is_array() || args.size() < 2) {
        return EvalError("get_property expects [node, property, ...], got " + args.dump());
      }
      CLOUDIFY_ASSIGN_OR_RETURN(auto node, ResolveNode(args[0], scope, "get_property"));
      if (depth >= kMaxRecursion) {
        return EvalError("get_property: recursion deeper than " + std::to_string(kMaxRecursion) +
                         " (a property refers to itself?)");
      }
      json fetched;
      const json* properties = context_.FindNodeProperties(node.first);
      if (properties == nullptr) {
        CLOUDIFY_ASSIGN_OR_RETURN(fetched, context_.GetNodeProperties(node.first));
        properties = &fetched;
      }
      // [node, [a, b]] is the same as [node, a, b]. The path is copied only for the message.
      const json* found = properties;
      for (size_t i = 1; i < args.size() && found != nullptr; ++i) {
        if (args[i].is_array()) {
          for (const auto& part : args[i]) {
            found = found ? FindStep(*found, part) : nullptr;
          }
        } else {
          found = FindStep(*found, args[i]);
        }
      }
      if (found == nullptr) {
        json path = json::array();
        for (size_t i = 1; i < args.size(); ++i) {
          if (args[i].is_array()) {
            for (const auto& part : args[i]) {
              path.push_back(part);
            }
          } else {
            path.push_back(args[i]);
          }
        }
        return EvalError("get_property: node '" + node.first + "' has no property " +
                         Describe(path));
      }
      FunctionScope inner = scope;
      inner.self_node = node.first;
      inner.self_instance = node.second;
      return Eval(*found, inner, depth + 1);
    }
    if (id == Fn::kGetAttribute || id == Fn::kGetAttributesList || id == Fn::kGetAttributesDict) {
      if (!args.is_array() || args.size() < 2) {
        return EvalError(name + " expects [node, attribute, ...], got " + args.dump());
      }
      CLOUDIFY_ASSIGN_OR_RETURN(auto node, ResolveNode(args[0], scope, name));
      json path(args.begin() + 1, args.end());
      if (id == Fn::kGetAttribute) {
        return context_.GetAttribute(node.first, node.second, scope.self_instance, path);
      }
      CLOUDIFY_ASSIGN_OR_RETURN(json all, context_.GetAttributeOfAllInstances(node.first, path));
      if (id == Fn::kGetAttributesDict) {
        return all;
      }
      json list = json::array();
      for (const auto& item : all) {
        list.push_back(item);
      }
      return list;
    }
    if (id == Fn::kConcat) {
      if (!args.is_array()) {
        return EvalError("concat expects a list, got " + args.dump());
      }
      std::string out;
      for (const auto& item : args) {
        if (item.is_string()) {
          out += item.get_ref<const std::string&>();
        } else {
          out += PythonStr(item);
        }
      }
      return json(std::move(out));
    }
    if (id == Fn::kMerge) {
      if (!args.is_array()) {
        return EvalError("merge expects a list of dicts, got " + args.dump());
      }
      json out = json::object();
      for (const auto& item : args) {
        if (!item.is_object()) {
          return EvalError("merge expects a list of dicts, got an item " + item.dump());
        }
        for (auto it = item.begin(); it != item.end(); ++it) {
          out[it.key()] = it.value();
        }
      }
      return out;
    }
    if (id == Fn::kGetSecret) {
      if (args.is_string()) {
        return context_.GetSecret(args.get<std::string>());
      }
      if (args.is_array() && !args.empty() && args[0].is_string()) {
        CLOUDIFY_ASSIGN_OR_RETURN(json secret, context_.GetSecret(args[0].get<std::string>()));
        if (args.size() == 1) {
          return secret;
        }
        if (secret.is_string()) {
          json decoded = json::parse(secret.get<std::string>(), nullptr, false);
          if (decoded.is_discarded()) {
            return EvalError("get_secret: secret '" + args[0].get<std::string>() +
                             "' is not JSON, so it has no nested path");
          }
          secret = std::move(decoded);
        }
        return WalkJsonPath(secret, args, 1, "get_secret");
      }
      return EvalError("get_secret expects a key or [key, ...], got " + args.dump());
    }
    if (id == Fn::kGetCapability) {
      if (!args.is_array() || args.size() < 2 || !args[0].is_string() || !args[1].is_string()) {
        return EvalError("get_capability expects [deployment_id, capability, ...], got " +
                         args.dump());
      }
      CLOUDIFY_ASSIGN_OR_RETURN(json value, context_.GetCapability(args[0].get<std::string>(),
                                                                   args[1].get<std::string>()));
      return WalkJsonPath(value, args, 2, "get_capability");
    }
    if (id == Fn::kGetEnvironmentCapability) {
      if (args.is_string()) {
        return context_.GetEnvironmentCapability(args.get<std::string>());
      }
      if (args.is_array() && !args.empty() && args[0].is_string()) {
        CLOUDIFY_ASSIGN_OR_RETURN(json value,
                                  context_.GetEnvironmentCapability(args[0].get<std::string>()));
        return WalkJsonPath(value, args, 1, "get_environment_capability");
      }
      return EvalError("get_environment_capability expects a name or [name, ...], got " +
                       args.dump());
    }
    if (id == Fn::kGetGroupCapability) {
      if (!args.is_array() || args.size() < 2 || !args[0].is_string()) {
        return EvalError("get_group_capability expects [group_id, capability, ...], got " +
                         args.dump());
      }
      return context_.GetGroupCapability(args[0].get<std::string>(),
                                         json(args.begin() + 1, args.end()));
    }
    if (id == Fn::kGetLabel) {
      if (args.is_string()) {
        return context_.GetLabel(args.get<std::string>());
      }
      if (args.is_array() && args.size() == 2 && args[0].is_string() &&
          args[1].is_number_integer()) {
        CLOUDIFY_ASSIGN_OR_RETURN(json values, context_.GetLabel(args[0].get<std::string>()));
        return WalkJsonPath(values, args, 1, "get_label");
      }
      return EvalError("get_label expects a key or [key, index], got " + args.dump());
    }
    if (id == Fn::kGetSys) {
      if (!args.is_array() || args.size() != 2 || !args[0].is_string() || !args[1].is_string()) {
        return EvalError("get_sys expects [entity, property], got " + args.dump());
      }
      return context_.GetSys(args[0].get<std::string>(), args[1].get<std::string>());
    }
    if (id == Fn::kGetConsumers) {
      CLOUDIFY_ASSIGN_OR_RETURN(std::string what, StringArg(args, "get_consumers"));
      return context_.GetConsumers(what);
    }
    return CallString(id, name, args);
  }

  static Result<json> CallString(Fn id, const std::string& name, const json& args) {
    if (id == Fn::kStringLower || id == Fn::kStringUpper) {
      const json& arg = args.is_array() && args.size() == 1 ? args[0] : args;
      CLOUDIFY_ASSIGN_OR_RETURN(std::string s, StringArg(arg, name));
      for (char& c : s) {
        c = static_cast<char>(id == Fn::kStringLower ? std::tolower(static_cast<unsigned char>(c))
                                                     : std::toupper(static_cast<unsigned char>(c)));
      }
      return json(s);
    }
    if (!args.is_array() || args.size() < 2) {
      return EvalError(name + " expects a list of arguments, got " + args.dump());
    }
    CLOUDIFY_ASSIGN_OR_RETURN(std::string s, StringArg(args[0], name));
    CLOUDIFY_ASSIGN_OR_RETURN(std::string needle, StringArg(args[1], name));
    if (id == Fn::kStringFind) {
      size_t at = s.find(needle);
      return json(at == std::string::npos ? -1 : static_cast<long long>(at));
    }
    if (id == Fn::kStringReplace) {
      if (args.size() < 3) {
        return EvalError("string_replace expects [string, old, new(, count)], got " + args.dump());
      }
      CLOUDIFY_ASSIGN_OR_RETURN(std::string replacement, StringArg(args[2], name));
      long long count = -1;
      if (args.size() > 3) {
        if (!args[3].is_number_integer()) {
          return EvalError("string_replace: count must be an integer, got " + args[3].dump());
        }
        count = args[3].get<long long>();
      }
      if (needle.empty()) {
        return json(s);
      }
      std::string out;
      size_t pos = 0;
      long long done = 0;
      while (count < 0 || done < count) {
        size_t at = s.find(needle, pos);
        if (at == std::string::npos) {
          break;
        }
        out.append(s, pos, at - pos);
        out += replacement;
        pos = at + needle.size();
        ++done;
      }
      out.append(s, pos, std::string::npos);
      return json(out);
    }
    if (id == Fn::kStringSplit) {
      if (needle.empty()) {
        return EvalError("string_split: empty separator");
      }
      json parts = json::array();
      size_t pos = 0;
      while (true) {
        size_t at = s.find(needle, pos);
        parts.push_back(s.substr(pos, at == std::string::npos ? std::string::npos : at - pos));
        if (at == std::string::npos) {
          break;
        }
        pos = at + needle.size();
      }
      if (args.size() > 2) {
        if (!args[2].is_number_integer()) {
          return EvalError("string_split: index must be an integer, got " + args[2].dump());
        }
        return WalkJsonPath(parts, json::array({args[2]}), 0, "string_split");
      }
      return parts;
    }
    return EvalError("unknown function '" + name + "'");
  }

  FunctionContext& context_;
  EvaluationMode mode_;
};

}  // namespace

Result<json> EvaluateFunctions(const json& value, const FunctionScope& scope,
                               FunctionContext& context, EvaluationMode mode) {
  Evaluator evaluator(context, mode);
  return evaluator.Eval(value, scope, 0);
}

}  // namespace cloudify::dsl
