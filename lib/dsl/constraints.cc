#include <algorithm>
#include <regex>

#include "cloudify/dsl/functions.h"

#include "dsl/internal.h"

namespace cloudify::dsl {
namespace {

using nlohmann::json;

constexpr std::string_view kBaseTypes[] = {"string", "integer", "float", "boolean",
                                           "list",   "dict",    "regex", "textarea"};
constexpr std::string_view kObjectTypes14[] = {"blueprint_id",  "deployment_id", "capability_value",
                                               "scaling_group", "node_id",       "node_type",
                                               "node_instance", "secret_key"};

bool Comparable(const json& a, const json& b) {
  return (a.is_number() && b.is_number()) || (a.is_string() && b.is_string());
}

// a < b, a == b for numbers and strings.
int Compare(const json& a, const json& b) {
  if (a.is_number() && b.is_number()) {
    double x = a.get<double>();
    double y = b.get<double>();
    return x < y ? -1 : (x > y ? 1 : 0);
  }
  const auto& x = a.get_ref<const std::string&>();
  const auto& y = b.get_ref<const std::string&>();
  return x < y ? -1 : (x > y ? 1 : 0);
}

// Python's len() of a str: code points, not UTF-8 bytes.
size_t CodePoints(const std::string& text) {
  return static_cast<size_t>(std::count_if(text.begin(), text.end(), [](char c) {
    return (static_cast<unsigned char>(c) & 0xC0) != 0x80;
  }));
}

}  // namespace

bool IsPrimitiveType(std::string_view type, int minor) {
  for (auto t : kBaseTypes) {
    if (t == type) {
      return true;
    }
  }
  if (minor >= 4) {
    for (auto t : kObjectTypes14) {
      if (t == type) {
        return true;
      }
    }
  }
  return minor >= 5 && type == "operation_name";
}

bool MatchesPrimitiveType(const json& value, std::string_view type) {
  if (value.is_null()) {
    return true;
  }
  if (type == "integer") {
    return value.is_number_integer();
  }
  if (type == "float") {
    return value.is_number();
  }
  if (type == "boolean") {
    return value.is_boolean();
  }
  if (type == "list") {
    return value.is_array();
  }
  if (type == "dict") {
    return value.is_object();
  }
  if (type == "regex") {
    if (!value.is_string()) {
      return false;
    }
    try {
      std::regex compiled(value.get<std::string>());
    } catch (const std::regex_error&) {
      return false;
    }
    return true;
  }
  return true;  // string, textarea and the object-based types accept any value
}

std::string ConstraintsShapeError(const json& constraints, int minor) {
  if (!constraints.is_array()) {
    return "constraints must be a list";
  }
  for (const auto& item : constraints) {
    if (!item.is_object() || item.empty()) {
      return "each constraint must be a dict with one operator, got " + item.dump();
    }
    size_t operators = 0;
    for (auto it = item.begin(); it != item.end(); ++it) {
      const std::string& op = it.key();
      const json& arg = it.value();
      if (op == "error_message") {
        if (minor < 5) {
          return "constraint 'error_message' is not supported in this DSL version, it was added "
                 "in cloudify_dsl_1_5";
        }
        if (!arg.is_string()) {
          return "constraint error_message must be a string";
        }
        continue;
      }
      ++operators;
      if (IsFunctionCall(arg)) {
        continue;  // evaluated when a deployment is created, then checked as a value
      }
      // As the original: the comparison and length operators take a number (never a boolean
      // or a string), in_range takes two numbers.
      if (op == "equal" || op == "greater_than" || op == "greater_or_equal" || op == "less_than" ||
          op == "less_or_equal" || op == "length" || op == "min_length" || op == "max_length") {
        if (!arg.is_number()) {
          return "constraint '" + op + "' needs a number, got " + arg.dump();
        }
      } else if (op == "in_range") {
        auto bound = [](const json& b) { return b.is_number() || IsFunctionCall(b); };
        if (!arg.is_array() || arg.size() != 2 || !bound(arg[0]) || !bound(arg[1])) {
          return "constraint 'in_range' needs [min, max] of numbers, got " + arg.dump();
        }
      } else if (op == "valid_values") {
        if (!arg.is_array()) {
          return "constraint 'valid_values' needs a list, got " + arg.dump();
        }
      } else if (op == "pattern") {
        if (!arg.is_string()) {
          return "constraint 'pattern' needs a regular expression string, got " + arg.dump();
        }
        try {
          std::regex compiled(arg.get<std::string>());
        } catch (const std::regex_error&) {
          return "constraint 'pattern' is not a valid regular expression: " + arg.dump();
        }
      } else if (op == "filter_id" || op == "deployment_id") {
        if (!arg.is_string()) {
          return "constraint '" + op + "' needs a string, got " + arg.dump();
        }
      } else if (op == "labels") {
        if (!arg.is_array()) {
          return "constraint 'labels' needs a list of {key: value}, got " + arg.dump();
        }
      } else if (op == "tenants") {
        if (!arg.is_array()) {
          return "constraint 'tenants' needs a list, got " + arg.dump();
        }
      } else if (op == "name_pattern") {
        if (!arg.is_object()) {
          return "constraint 'name_pattern' needs a dict, got " + arg.dump();
        }
        for (auto p = arg.begin(); p != arg.end(); ++p) {
          if (p.key() != "starts_with" && p.key() != "ends_with" && p.key() != "contains" &&
              p.key() != "equals") {
            return "constraint 'name_pattern' has unknown key '" + p.key() + "'";
          }
        }
      } else {
        return "unknown constraint operator '" + op + "'";
      }
    }
    if (operators != 1) {
      return "each constraint must have exactly one operator, got " + item.dump();
    }
  }
  return "";
}

bool ConstraintsHaveFunctions(const json& constraints) {
  if (!constraints.is_array()) {
    return false;
  }
  for (const auto& item : constraints) {
    for (auto it = item.begin(); item.is_object() && it != item.end(); ++it) {
      if (it.key() != "error_message" && ContainsFunctionCall(it.value())) {
        return true;
      }
    }
  }
  return false;
}

std::string ConstraintViolation(const json& value, const json& constraints,
                                const std::string& what) {
  if (value.is_null() || !constraints.is_array()) {
    return "";
  }
  for (const auto& item : constraints) {
    if (ConstraintsHaveFunctions(json::array({item}))) {
      continue;  // checked once its arguments are evaluated
    }
    std::string custom;
    if (auto m = item.find("error_message"); m != item.end() && m->is_string()) {
      custom = m->get<std::string>();
    }
    for (auto it = item.begin(); it != item.end(); ++it) {
      const std::string& op = it.key();
      const json& arg = it.value();
      bool ok = true;
      if (op == "error_message") {
        continue;
      } else if (op == "equal") {
        ok = value == arg;
      } else if (op == "greater_than" || op == "greater_or_equal" || op == "less_than" ||
                 op == "less_or_equal") {
        if (!Comparable(value, arg)) {
          ok = false;
        } else {
          int c = Compare(value, arg);
          ok = op == "greater_than"       ? c > 0
               : op == "greater_or_equal" ? c >= 0
               : op == "less_than"        ? c < 0
                                          : c <= 0;
        }
      } else if (op == "in_range") {
        ok = arg.is_array() && arg.size() == 2 && Comparable(value, arg[0]) &&
             Comparable(value, arg[1]) && Compare(value, arg[0]) >= 0 &&
             Compare(value, arg[1]) <= 0;
      } else if (op == "valid_values") {
        ok = arg.is_array() && std::find(arg.begin(), arg.end(), value) != arg.end();
      } else if (op == "length" || op == "min_length" || op == "max_length") {
        if (!value.is_string() && !value.is_array() && !value.is_object()) {
          ok = false;
        } else {
          auto size = static_cast<double>(
              value.is_string() ? CodePoints(value.get_ref<const std::string&>()) : value.size());
          double n = arg.get<double>();
          ok = op == "length" ? size == n : (op == "min_length" ? size >= n : size <= n);
        }
      } else if (op == "pattern") {
        if (!value.is_string()) {
          ok = false;
        } else {
          try {
            std::regex re(arg.get<std::string>());
            // Python's re.match: anchored at the start only.
            ok = std::regex_search(value.get<std::string>(), re,
                                   std::regex_constants::match_continuous);
          } catch (const std::regex_error&) {
            ok = false;
          }
        }
      }
      if (!ok) {
        if (!custom.empty()) {
          return what + ": " + custom;
        }
        return what + ": value " + value.dump() + " violates constraint " + op + " " + arg.dump();
      }
    }
  }
  return "";
}

}  // namespace cloudify::dsl
