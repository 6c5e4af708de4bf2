#include "cloudify/ids.h"

#include <cstdio>

namespace cloudify {
namespace {

constexpr std::string_view kInstanceSuffixAlphabet = "abcdefghijklmnopqrstuvwxyz0123456789";
constexpr size_t kMaxResourceIdLength = 256;

bool IsIdChar(char c) {
  return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '.' ||
         c == '_' || c == '~' || c == '-';
}

}  // namespace

IdGenerator::IdGenerator() : engine_(std::random_device{}()) {}
IdGenerator::IdGenerator(uint64_t seed) : engine_(seed) {}

std::string IdGenerator::NodeInstanceId(std::string_view node_name) {
  std::string id(node_name);
  id += '_';
  std::uniform_int_distribution<size_t> pick(0, kInstanceSuffixAlphabet.size() - 1);
  for (int i = 0; i < 6; ++i) {
    id += kInstanceSuffixAlphabet[pick(engine_)];
  }
  return id;
}

std::string IdGenerator::Uuid() {
  uint64_t hi = engine_();
  uint64_t lo = engine_();
  hi = (hi & 0xffffffffffff0fffULL) | 0x0000000000004000ULL;  // version 4
  lo = (lo & 0x3fffffffffffffffULL) | 0x8000000000000000ULL;  // RFC 4122 variant
  char buf[37];
  std::snprintf(buf, sizeof buf, "%08x-%04x-%04x-%04x-%012llx", unsigned(hi >> 32),
                unsigned((hi >> 16) & 0xffff), unsigned(hi & 0xffff), unsigned(lo >> 48),
                static_cast<unsigned long long>(lo & 0xffffffffffffULL));
  return buf;
}

std::string NewUuid() {
  thread_local IdGenerator generator;
  return generator.Uuid();
}

Status ValidateResourceId(std::string_view id, std::string_view kind) {
  if (id.empty() || id.size() > kMaxResourceIdLength) {
    return BadParametersError("The `" + std::string(kind) +
                              "` id must be 1 to 256 characters long");
  }
  for (char c : id) {
    if (!IsIdChar(c)) {
      return BadParametersError("The `" + std::string(kind) + "` id '" + std::string(id) +
                                "' contains illegal characters; only letters, digits and . _ ~ - "
                                "are allowed");
    }
  }
  return Status::Ok();
}

Status ValidateBlueprintId(std::string_view id) {
  CLOUDIFY_RETURN_IF_ERROR(ValidateResourceId(id, "blueprint"));
  char c = id.front();
  if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z'))) {
    return BadParametersError("The blueprint id '" + std::string(id) +
                              "' must start with a letter");
  }
  return Status::Ok();
}

}  // namespace cloudify
