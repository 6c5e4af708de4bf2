// Blueprint archives: safe extraction of uploaded archives (tar, tar.gz, tar.bz2, zip) and
// packing a folder as tar.gz (what `cfy blueprints upload` sends).
//
// Extraction refuses, with kBadParameters naming the entry, anything that could write outside
// the destination: absolute paths, ".." components, symbolic or hard links whose target leaves
// the archive's tree, device files and FIFOs; and it enforces limits on the total size and the
// number of entries. It extracts into a private folder first and moves it into place only when
// every entry passed, so a refused archive leaves nothing behind.
//
// Thread-safety: the functions keep no state; concurrent calls with distinct destinations are
// safe.
#pragma once

#include <cstdint>
#include <filesystem>
#include <string_view>

#include "cloudify/status.h"

namespace cloudify {

struct ExtractOptions {
  // Largest sum of the entries' sizes. Default: 1 GiB.
  uint64_t max_total_bytes = uint64_t{1} << 30;
  // Most entries (files, folders, links). Default: 100,000.
  uint64_t max_entries = 100'000;
  // Blueprint archives hold exactly one top-level folder (the original's rule); when set, any
  // other shape is kBadParameters. Default: false.
  bool require_single_top_dir = false;
};

// Extracts the archive in memory `bytes` into `destination`, which must not exist yet (it is
// created). Returns the folder the content lives in: `destination`, or its single top-level
// folder when options.require_single_top_dir is set.
Result<std::filesystem::path> ExtractArchive(std::string_view bytes,
                                             const std::filesystem::path& destination,
                                             const ExtractOptions& options = {});

// The same for an archive file.
Result<std::filesystem::path> ExtractArchiveFile(const std::filesystem::path& archive,
                                                 const std::filesystem::path& destination,
                                                 const ExtractOptions& options = {});

// Packs `folder` into a gzip-compressed tar at `output`, every entry under the top-level name
// `top_dir` (the folder's own name when empty). Symbolic links are stored as links.
Status CreateTarGz(const std::filesystem::path& folder, const std::filesystem::path& output,
                   std::string_view top_dir = {});

}  // namespace cloudify
