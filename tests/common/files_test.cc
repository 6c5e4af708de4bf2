#include "cloudify/files.h"

#include <fstream>
#include <string>

#include <doctest/doctest.h>

#include "support/temp_dir.h"

namespace cloudify {
namespace {

namespace fs = std::filesystem;

TEST_CASE("ReadFileBytes returns every byte, and names a file it cannot open") {
  testing::TempDir tmp;
  const std::string bytes("a\0b\r\n\xff", 6);
  std::ofstream(tmp.path() / "data.bin", std::ios::binary) << bytes;
  auto read = ReadFileBytes(tmp.path() / "data.bin");
  REQUIRE(read.ok());
  CHECK(*read == bytes);
  auto missing = ReadFileBytes(tmp.path() / "absent.bin");
  REQUIRE_FALSE(missing.ok());
  CHECK(missing.status().code() == ErrorCode::kNotFound);
  CHECK(missing.status().message().find("absent.bin") != std::string::npos);
}

TEST_CASE("ScopedRemoval removes its folder tree when the scope ends, and a missing one quietly") {
  testing::TempDir tmp;
  const fs::path staging = tmp.path() / "staging";
  {
    ScopedRemoval cleanup(staging);
    fs::create_directories(staging / "a" / "b");
    std::ofstream(staging / "a" / "b" / "file") << "x";
    CHECK(fs::exists(staging / "a" / "b" / "file"));
  }
  CHECK_FALSE(fs::exists(staging));
  { ScopedRemoval never_made(tmp.path() / "never"); }
  CHECK(fs::exists(tmp.path()));
}

}  // namespace
}  // namespace cloudify
