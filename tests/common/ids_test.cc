#include "cloudify/ids.h"

#include <regex>
#include <set>

#include <doctest/doctest.h>

namespace cloudify {
namespace {

TEST_CASE("node instance ids have the original's <node>_<6 chars a-z0-9> form") {
  IdGenerator ids(42);
  std::regex form("vm_[a-z0-9]{6}");
  std::set<std::string> seen;
  for (int i = 0; i < 1000; ++i) {
    std::string id = ids.NodeInstanceId("vm");
    CHECK(std::regex_match(id, form));
    seen.insert(id);
  }
  CHECK(seen.size() == 1000);  // 36^6 ids: a collision in 1000 would be a broken generator
}

TEST_CASE("a seeded generator is reproducible") {
  IdGenerator a(7);
  IdGenerator b(7);
  CHECK(a.NodeInstanceId("web") == b.NodeInstanceId("web"));
  CHECK(a.Uuid() == b.Uuid());
}

TEST_CASE("uuids are version 4 in canonical form") {
  std::regex form("[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}");
  IdGenerator ids;
  for (int i = 0; i < 100; ++i) {
    CHECK(std::regex_match(ids.Uuid(), form));
  }
  CHECK(std::regex_match(NewUuid(), form));
  CHECK(NewUuid() != NewUuid());
}

TEST_CASE("resource ids follow the REST API's rules") {
  CHECK(ValidateResourceId("web-1.prod_x~y", "deployment").ok());
  CHECK(ValidateResourceId(std::string(256, 'a'), "deployment").ok());
  for (const std::string& bad : {std::string(), std::string(257, 'a'), std::string("a/b"),
                                 std::string("a b"), std::string("../etc"), std::string("é")}) {
    CAPTURE(bad);
    Status s = ValidateResourceId(bad, "deployment");
    CHECK(s.code() == ErrorCode::kBadParameters);
  }
  CHECK(ValidateResourceId("a b", "deployment").message().find("deployment") != std::string::npos);
}

TEST_CASE("blueprint ids must also start with a letter") {
  CHECK(ValidateBlueprintId("webapp").ok());
  CHECK(ValidateBlueprintId("1webapp").code() == ErrorCode::kBadParameters);
  CHECK(ValidateBlueprintId("-x").code() == ErrorCode::kBadParameters);
  CHECK(ValidateBlueprintId("").code() == ErrorCode::kBadParameters);
}

}  // namespace
}  // namespace cloudify
