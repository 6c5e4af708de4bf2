// The library's version and the Cloudify Manager version whose REST API it speaks.
#pragma once

#include <string_view>

namespace cloudify {

// Kept equal to the CMake project version (a test checks it).
inline constexpr std::string_view kVersion = "0.1.0";
// The REST API version the official clients default to.
inline constexpr std::string_view kApiVersion = "v3.1";
// The Cloudify Manager release whose API and DSL behaviour we follow.
inline constexpr std::string_view kCompatibleManagerVersion = "7.1.0";

}  // namespace cloudify
