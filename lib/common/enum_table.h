// A table of (enum value, wire name) pairs and the two lookups every enum of the model needs.
// Linear scans: the tables are short and the lookups are not on hot paths that matter.
#pragma once

#include <optional>
#include <span>
#include <string_view>

namespace cloudify {

template <typename E>
struct EnumName {
  E value;
  std::string_view name;
};

// The name of `value`; `fallback` when the table lacks it (a programming error upstream).
template <typename E>
constexpr std::string_view NameOf(std::span<const EnumName<E>> table, E value,
                                  std::string_view fallback = "unknown") {
  for (const auto& entry : table) {
    if (entry.value == value) {
      return entry.name;
    }
  }
  return fallback;
}

template <typename E>
constexpr std::optional<E> ValueOf(std::span<const EnumName<E>> table, std::string_view name) {
  for (const auto& entry : table) {
    if (entry.name == name) {
      return entry.value;
    }
  }
  return std::nullopt;
}

}  // namespace cloudify
