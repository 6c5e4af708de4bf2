// Identifiers: the forms the original manager uses and the rules it applies to ids in paths.
//
// Thread-safety: IdGenerator is not thread-safe (give each thread its own, or lock);
// the free functions are.
#pragma once

#include <cstdint>
#include <random>
#include <string>
#include <string_view>

#include "cloudify/status.h"

namespace cloudify {

// Makes node-instance ids and uuids. Seeded for reproducible tests, random by default.
class IdGenerator {
 public:
  // Seeded from std::random_device.
  IdGenerator();
  explicit IdGenerator(uint64_t seed);

  // "<node>_<6 chars of a-z0-9>", the original's node-instance id form, e.g. "vm_ke9e2d".
  std::string NodeInstanceId(std::string_view node_name);
  // A random (version 4) UUID in lowercase canonical form, as execution and task ids.
  std::string Uuid();

 private:
  std::mt19937_64 engine_;
};

// A random UUID from a per-thread generator; for callers that keep no IdGenerator.
std::string NewUuid();

// Ids used in PUT paths (blueprints, deployments, secrets, tenants...): 1 to 256 characters of
// [A-Za-z0-9._~-]. kBadParameters naming `kind` otherwise.
Status ValidateResourceId(std::string_view id, std::string_view kind);
// Blueprint ids additionally start with a letter.
Status ValidateBlueprintId(std::string_view id);

}  // namespace cloudify
