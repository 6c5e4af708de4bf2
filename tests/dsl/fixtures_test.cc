// Runs every fixture blueprint under tests/data/blueprints/ (and the shared sample blueprints)
// and checks the verdict written in its header (see tests/data/blueprints/README.md).
#include <filesystem>
#include <fstream>
#include <sstream>
#include <string>
#include <vector>

#include <doctest/doctest.h>

#include "cloudify/dsl/deployment_plan.h"
#include "cloudify/dsl/parser.h"

namespace cloudify::dsl {
namespace {

namespace fs = std::filesystem;

struct Expectation {
  bool valid = false;
  size_t nodes = 0;
  size_t instances = 0;
  std::string code;
  int line = 0;
  int column = 0;
  std::string fragment;
  std::string file;  // where the error is, when not the fixture itself
  nlohmann::json inputs = nlohmann::json::object();
};

Expectation ReadExpectation(const fs::path& file) {
  std::ifstream in(file);
  std::string line;
  Expectation e;
  while (std::getline(in, line) && line.rfind("# ", 0) == 0) {
    if (line.rfind("# expect: valid", 0) == 0) {
      e.valid = true;
      std::sscanf(line.c_str(), "# expect: valid nodes=%zu instances=%zu", &e.nodes, &e.instances);
    } else if (line.rfind("# expect: ", 0) == 0) {
      std::istringstream words(line.substr(10));
      std::string where;
      words >> e.code >> where;
      // "L:C" or "file:L:C" (an error located in an imported file)
      size_t last = where.rfind(':');
      size_t middle = where.rfind(':', last - 1);
      if (middle != std::string::npos) {
        e.file = where.substr(0, middle);
        where = where.substr(middle + 1);
      }
      std::sscanf(where.c_str(), "%d:%d", &e.line, &e.column);
      std::getline(words >> std::ws, e.fragment);
    } else if (line.rfind("# inputs: ", 0) == 0) {
      e.inputs = nlohmann::json::parse(line.substr(10));
    }
  }
  return e;
}

std::vector<fs::path> Fixtures(const fs::path& dir) {
  std::vector<fs::path> out;
  for (const auto& entry : fs::directory_iterator(dir)) {
    if (entry.is_regular_file() && entry.path().extension() == ".yaml") {
      out.push_back(entry.path());
    }
  }
  std::sort(out.begin(), out.end());
  return out;
}

// The verdict of parse + deployment plan.
Status Verdict(const fs::path& file, const nlohmann::json& inputs, size_t& nodes,
               size_t& instances) {
  auto plan = ParseBlueprintFile(file);
  if (!plan.ok()) {
    return plan.status();
  }
  IdGenerator ids(7);
  auto deployment = PrepareDeploymentPlan(*plan, inputs, ids);
  if (!deployment.ok()) {
    return deployment.status();
  }
  nodes = deployment->nodes.size();
  instances = deployment->node_instances.size();
  return Status::Ok();
}

TEST_CASE("Fixtures: valid blueprints parse and plan with the expected counts") {
  auto files = Fixtures(fs::path(CLOUDIFY_SOURCE_DIR) / "tests/data/blueprints/valid");
  REQUIRE(files.size() >= 8);
  for (const auto& file : files) {
    CAPTURE(file.filename().string());
    Expectation e = ReadExpectation(file);
    REQUIRE(e.valid);
    size_t nodes = 0;
    size_t instances = 0;
    Status status = Verdict(file, e.inputs, nodes, instances);
    CHECK_MESSAGE(status.ok(), status.ToString());
    CHECK(nodes == e.nodes);
    CHECK(instances == e.instances);
  }
}

TEST_CASE("Fixtures: invalid blueprints fail with the expected code, location and message") {
  auto files = Fixtures(fs::path(CLOUDIFY_SOURCE_DIR) / "tests/data/blueprints/invalid");
  REQUIRE(files.size() >= 30);
  for (const auto& file : files) {
    CAPTURE(file.filename().string());
    Expectation e = ReadExpectation(file);
    REQUIRE_FALSE(e.valid);
    REQUIRE_FALSE(e.code.empty());
    size_t nodes = 0;
    size_t instances = 0;
    Status status = Verdict(file, e.inputs, nodes, instances);
    CAPTURE(status.ToString());
    REQUIRE_FALSE(status.ok());
    CHECK(ErrorCodeName(status.code()) == e.code);
    CHECK(status.message().find(e.fragment) != std::string::npos);
    if (e.line == 0) {
      CHECK_FALSE(status.location().has_value());
    } else {
      REQUIRE(status.location().has_value());
      CHECK(status.location()->line == e.line);
      CHECK(status.location()->column == e.column);
      // Errors name the file by its path relative to the blueprint folder.
      CHECK(status.location()->file == (e.file.empty() ? file.filename().string() : e.file));
    }
  }
}

TEST_CASE("Fixtures: every shared sample blueprint is valid and plans") {
  fs::path dir = fs::path(CLOUDIFY_SHARED_DIR) / "blueprints";
  REQUIRE(fs::is_directory(dir));
  size_t count = 0;
  for (const auto& entry : fs::recursive_directory_iterator(dir)) {
    if (entry.path().filename() != "blueprint.yaml") {
      continue;
    }
    CAPTURE(entry.path().string());
    ++count;
    size_t nodes = 0;
    size_t instances = 0;
    Status status = Verdict(entry.path(), nlohmann::json::object(), nodes, instances);
    CHECK_MESSAGE(status.ok(), status.ToString());
    CHECK(nodes > 0);
    CHECK(instances >= nodes);
  }
  CHECK(count >= 1);
}

}  // namespace
}  // namespace cloudify::dsl
