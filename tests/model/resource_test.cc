#include "cloudify/model/resource.h"

#include <doctest/doctest.h>

namespace cloudify::model {
namespace {

TEST_CASE("visibility may only be widened") {
  using V = Visibility;
  CHECK(CheckVisibilityChange(V::kPrivate, V::kTenant).ok());
  CHECK(CheckVisibilityChange(V::kTenant, V::kGlobal).ok());
  CHECK(CheckVisibilityChange(V::kPrivate, V::kGlobal).ok());
  CHECK(CheckVisibilityChange(V::kTenant, V::kTenant).ok());
  Status narrow = CheckVisibilityChange(V::kGlobal, V::kPrivate);
  CHECK(narrow.code() == ErrorCode::kIllegalAction);
  CHECK(narrow.message().find("private") != std::string::npos);
  CHECK(CheckVisibilityChange(V::kTenant, V::kPrivate).code() == ErrorCode::kIllegalAction);
}

TEST_CASE("visibility names round-trip") {
  for (auto v : {Visibility::kPrivate, Visibility::kTenant, Visibility::kGlobal}) {
    CHECK(*ParseVisibility(VisibilityName(v)) == v);
  }
  CHECK_FALSE(ParseVisibility("public").has_value());
}

}  // namespace
}  // namespace cloudify::model
