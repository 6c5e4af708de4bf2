// Every field the DSL puts in a plan survives the store: a parsed blueprint's plan read back
// equals the one written (the JSON codec and the DSL's plan must grow together).
#include <filesystem>

#include <doctest/doctest.h>

#include "cloudify/dsl/parser.h"
#include "cloudify/model/json.h"
#include "cloudify/storage/store.h"

namespace cloudify::storage {
namespace {

namespace fs = std::filesystem;

TEST_CASE("plans parsed from the sample and fixture blueprints round-trip through the store") {
  std::vector<fs::path> files = {fs::path(CLOUDIFY_SHARED_DIR) / "blueprints" / "webapp" /
                                 "blueprint.yaml"};
  const fs::path valid = fs::path(CLOUDIFY_SOURCE_DIR) / "tests" / "data" / "blueprints" / "valid";
  if (fs::exists(valid)) {
    for (const auto& entry : fs::directory_iterator(valid)) {
      if (entry.path().extension() == ".yaml") {
        files.push_back(entry.path());
      }
    }
  }
  auto store = OpenStore("sqlite://:memory:");
  REQUIRE(store.ok());
  const CallerContext caller = CallerContext::System();
  int parsed = 0;
  for (const auto& file : files) {
    CAPTURE(file.string());
    auto plan = dsl::ParseBlueprintFile(file);
    if (!plan.ok()) {
      continue;  // fixtures needing inputs or resolvers are covered by the dsl tests
    }
    ++parsed;
    model::Blueprint bp;
    bp.id = "bp" + std::to_string(parsed);
    bp.plan = *plan;
    bp.state = model::BlueprintState::kUploaded;
    REQUIRE(store.value()->CreateBlueprint(caller, bp).ok());
    auto back = store.value()->GetBlueprint(caller, bp.id);
    REQUIRE_MESSAGE(back.ok(), back.status().ToString());
    CHECK_MESSAGE(back->plan == *plan,
                  nlohmann::json::diff(model::ToJson(*plan), model::ToJson(back->plan)).dump());
  }
  CHECK(parsed >= 5);
}

}  // namespace
}  // namespace cloudify::storage
