#include "cloudify/model/blueprint.h"

#include <doctest/doctest.h>

namespace cloudify::model {
namespace {

TEST_CASE("blueprint states have the original's names") {
  using S = BlueprintState;
  CHECK(BlueprintStateName(S::kFailedExtractingToFileServer) == "failed_extracting_to_file_server");
  for (int i = 0; i <= static_cast<int>(S::kValidating); ++i) {
    auto s = static_cast<S>(i);
    CHECK(*ParseBlueprintState(BlueprintStateName(s)) == s);
  }
}

TEST_CASE("failed states are exactly the ones a new upload may replace") {
  using S = BlueprintState;
  for (S s : {S::kFailedUploading, S::kFailedExtracting, S::kFailedParsing,
              S::kFailedExtractingToFileServer, S::kInvalid}) {
    CHECK(IsFailedBlueprintState(s));
  }
  for (S s :
       {S::kPending, S::kUploading, S::kExtracting, S::kParsing, S::kUploaded, S::kValidating}) {
    CHECK_FALSE(IsFailedBlueprintState(s));
  }
}

TEST_CASE("a new blueprint is uploading, tenant-visible, in default_tenant") {
  Blueprint b;
  CHECK(b.state == BlueprintState::kUploading);
  CHECK(b.main_file_name == "blueprint.yaml");
  CHECK(b.meta.visibility == Visibility::kTenant);
  CHECK(b.meta.tenant_name == "default_tenant");
}

}  // namespace
}  // namespace cloudify::model
