#include "cloudify/archive.h"

#include <fstream>
#include <sstream>
#include <string>
#include <vector>

#include <archive.h>
#include <archive_entry.h>
#include <doctest/doctest.h>

#include "support/temp_dir.h"

namespace cloudify {
namespace {

namespace fs = std::filesystem;

// One entry of a hand-made archive: a file with content, a folder, or a symlink.
struct Entry {
  std::string name;
  std::string content;
  char kind = 'f';  // 'f' file, 'd' folder, 'l' symlink (content = target), 'c' char device
};

// Builds an archive in memory with libarchive, so tests can make entries no tool would.
std::string MakeArchive(const std::vector<Entry>& entries, bool zip = false) {
  archive* a = archive_write_new();
  if (zip) {
    archive_write_set_format_zip(a);
  } else {
    archive_write_add_filter_gzip(a);
    archive_write_set_format_pax_restricted(a);
  }
  std::vector<char> buffer(1 << 20);
  size_t used = 0;
  REQUIRE(archive_write_open_memory(a, buffer.data(), buffer.size(), &used) == ARCHIVE_OK);
  for (const Entry& e : entries) {
    archive_entry* entry = archive_entry_new();
    archive_entry_set_pathname(entry, e.name.c_str());
    archive_entry_set_perm(entry, 0755);
    switch (e.kind) {
      case 'd':
        archive_entry_set_filetype(entry, AE_IFDIR);
        break;
      case 'l':
        archive_entry_set_filetype(entry, AE_IFLNK);
        archive_entry_set_symlink(entry, e.content.c_str());
        break;
      case 'c':
        archive_entry_set_filetype(entry, AE_IFCHR);
        break;
      default:
        archive_entry_set_filetype(entry, AE_IFREG);
        archive_entry_set_size(entry, static_cast<la_int64_t>(e.content.size()));
    }
    REQUIRE(archive_write_header(a, entry) == ARCHIVE_OK);
    if (e.kind == 'f') {
      archive_write_data(a, e.content.data(), e.content.size());
    }
    archive_entry_free(entry);
  }
  archive_write_close(a);
  archive_write_free(a);
  return std::string(buffer.data(), used);
}

std::string ReadFile(const fs::path& path) {
  std::ifstream in(path);
  std::stringstream s;
  s << in.rdbuf();
  return s.str();
}

TEST_CASE("a tar.gz blueprint archive extracts into its single top folder") {
  testing::TempDir tmp;
  std::string bytes = MakeArchive({{"webapp", "", 'd'},
                                   {"webapp/blueprint.yaml", "tosca_definitions_version: x\n"},
                                   {"webapp/scripts/create.sh", "#!/bin/sh\n"}});
  auto content = ExtractArchive(bytes, tmp.path() / "bp", {.require_single_top_dir = true});
  REQUIRE_MESSAGE(content.ok(), content.status().ToString());
  CHECK(*content == tmp.path() / "bp" / "webapp");
  CHECK(ReadFile(*content / "blueprint.yaml") == "tosca_definitions_version: x\n");
  CHECK(fs::exists(*content / "scripts" / "create.sh"));
}

TEST_CASE("zip archives extract too") {
  testing::TempDir tmp;
  std::string bytes = MakeArchive({{"bp/", "", 'd'}, {"bp/blueprint.yaml", "a: 1\n"}}, true);
  auto content = ExtractArchive(bytes, tmp.path() / "out", {.require_single_top_dir = true});
  REQUIRE_MESSAGE(content.ok(), content.status().ToString());
  CHECK(ReadFile(*content / "blueprint.yaml") == "a: 1\n");
}

TEST_CASE("CreateTarGz packs a folder that ExtractArchiveFile gives back") {
  testing::TempDir tmp;
  fs::create_directories(tmp.path() / "src" / "scripts");
  std::ofstream(tmp.path() / "src" / "blueprint.yaml") << "hello\n";
  std::ofstream(tmp.path() / "src" / "scripts" / "run.sh") << "#!/bin/sh\necho hi\n";
  fs::create_symlink("blueprint.yaml", tmp.path() / "src" / "alias.yaml");
  REQUIRE(CreateTarGz(tmp.path() / "src", tmp.path() / "bp.tar.gz", "webapp").ok());
  auto content = ExtractArchiveFile(tmp.path() / "bp.tar.gz", tmp.path() / "out",
                                    {.require_single_top_dir = true});
  REQUIRE_MESSAGE(content.ok(), content.status().ToString());
  CHECK(content->filename() == "webapp");
  CHECK(ReadFile(*content / "blueprint.yaml") == "hello\n");
  CHECK(ReadFile(*content / "scripts" / "run.sh") == "#!/bin/sh\necho hi\n");
  CHECK(fs::is_symlink(*content / "alias.yaml"));
  CHECK(ReadFile(*content / "alias.yaml") == "hello\n");
  CHECK(CreateTarGz(tmp.path() / "missing", tmp.path() / "x.tar.gz").code() ==
        ErrorCode::kNotFound);
}

TEST_CASE("entries that would escape the destination are refused and nothing is left") {
  struct Case {
    const char* what;
    std::vector<Entry> entries;
    const char* fragment;
  };
  const std::vector<Case> cases = {
      {"dot-dot path", {{"bp/../../evil.sh", "x"}}, "'..'"},
      {"absolute path", {{"/etc/evil", "x"}}, "absolute"},
      {"absolute symlink", {{"bp", "", 'd'}, {"bp/l", "/etc/passwd", 'l'}}, "absolute"},
      {"escaping symlink", {{"bp", "", 'd'}, {"bp/l", "../../outside", 'l'}}, "outside"},
      {"device file", {{"bp/dev", "", 'c'}}, "only files"},
  };
  for (const Case& c : cases) {
    CAPTURE(c.what);
    testing::TempDir tmp;
    auto result = ExtractArchive(MakeArchive(c.entries), tmp.path() / "dest");
    REQUIRE_FALSE(result.ok());
    CHECK(result.status().code() == ErrorCode::kBadParameters);
    CHECK(result.status().message().find(c.fragment) != std::string::npos);
    // Nothing extracted, no staging folder left behind.
    CHECK(fs::is_empty(tmp.path()));
  }
}

TEST_CASE("size and entry-count limits are enforced") {
  testing::TempDir tmp;
  std::string big = MakeArchive({{"bp", "", 'd'}, {"bp/big", std::string(10000, 'x')}});
  auto too_big = ExtractArchive(big, tmp.path() / "a", {.max_total_bytes = 4096});
  REQUIRE_FALSE(too_big.ok());
  CHECK(too_big.status().message().find("size limit") != std::string::npos);

  std::vector<Entry> many = {{"bp", "", 'd'}};
  for (int i = 0; i < 20; ++i) {
    many.push_back({"bp/f" + std::to_string(i), "x"});
  }
  auto too_many = ExtractArchive(MakeArchive(many), tmp.path() / "b", {.max_entries = 10});
  REQUIRE_FALSE(too_many.ok());
  CHECK(too_many.status().message().find("more than 10 entries") != std::string::npos);
  CHECK(fs::is_empty(tmp.path()));
}

TEST_CASE("blueprint archives need exactly one top-level folder") {
  testing::TempDir tmp;
  std::string two = MakeArchive({{"a/x.yaml", "1"}, {"b/y.yaml", "2"}});
  auto result = ExtractArchive(two, tmp.path() / "d", {.require_single_top_dir = true});
  REQUIRE_FALSE(result.ok());
  CHECK(result.status().message().find("exactly one top-level folder") != std::string::npos);
  CHECK(ExtractArchive(two, tmp.path() / "e").ok());  // fine when the rule is not asked for
}

TEST_CASE("garbage, an existing destination and a missing file are clear errors") {
  testing::TempDir tmp;
  auto garbage = ExtractArchive("this is not an archive at all", tmp.path() / "g");
  REQUIRE_FALSE(garbage.ok());
  CHECK(garbage.status().code() == ErrorCode::kBadParameters);

  fs::create_directory(tmp.path() / "exists");
  auto exists = ExtractArchive(MakeArchive({{"bp/a", "1"}}), tmp.path() / "exists");
  CHECK(exists.status().code() == ErrorCode::kConflict);

  auto missing = ExtractArchiveFile(tmp.path() / "nope.tar.gz", tmp.path() / "m");
  CHECK_FALSE(missing.ok());
}

}  // namespace
}  // namespace cloudify
