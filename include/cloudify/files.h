// Small file helpers every layer uses: a whole file's bytes, and a path removed when a scope
// ends (staging folders that must not outlive an upload, whatever way it ends).
#pragma once

#include <filesystem>
#include <string>
#include <utility>

#include "cloudify/status.h"

namespace cloudify {

// The bytes of `path`. kNotFound naming it when it cannot be opened.
Result<std::string> ReadFileBytes(const std::filesystem::path& path);

// Removes `path` (recursively, errors ignored) when destroyed.
class ScopedRemoval {
 public:
  explicit ScopedRemoval(std::filesystem::path path) : path_(std::move(path)) {}
  ~ScopedRemoval();
  ScopedRemoval(const ScopedRemoval&) = delete;
  ScopedRemoval& operator=(const ScopedRemoval&) = delete;

 private:
  std::filesystem::path path_;
};

}  // namespace cloudify
