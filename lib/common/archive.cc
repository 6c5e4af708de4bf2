#include "cloudify/archive.h"

#include <algorithm>
#include <fstream>
#include <memory>
#include <string>
#include <vector>

#include <archive.h>
#include <archive_entry.h>
#include <sys/stat.h>
#include <unistd.h>

#include "cloudify/ids.h"

namespace cloudify {
namespace fs = std::filesystem;
namespace {

struct ReadCloser {
  void operator()(archive* a) const { archive_read_free(a); }
};
struct WriteCloser {
  void operator()(archive* a) const { archive_write_free(a); }
};
struct EntryFree {
  void operator()(archive_entry* e) const { archive_entry_free(e); }
};
using ArchiveReader = std::unique_ptr<archive, ReadCloser>;
using ArchiveWriter = std::unique_ptr<archive, WriteCloser>;

Status Refuse(const std::string& entry, const std::string& why) {
  return BadParametersError("archive entry '" + entry + "' refused: " + why);
}

Status ArchiveError(archive* a, const std::string& what) {
  const char* detail = archive_error_string(a);
  return BadParametersError(what + ": " + (detail != nullptr ? detail : "unknown archive error"));
}

// A relative path that stays inside the tree: no root, no "..", not empty.
Result<fs::path> SafeRelativePath(const std::string& name) {
  fs::path path(name);
  if (name.empty() || path.is_absolute() || path.has_root_name() || path.has_root_directory()) {
    return Refuse(name, "absolute or empty path");
  }
  fs::path clean;
  for (const auto& part : path) {
    if (part == "..") {
      return Refuse(name, "path leaves the archive ('..')");
    }
    if (part == "." || part.empty()) {
      continue;
    }
    clean /= part;
  }
  if (clean.empty()) {
    return Refuse(name, "empty path");
  }
  return clean;
}

// A symlink target, resolved from the link's folder, must stay inside the tree.
Status CheckLinkTarget(const std::string& name, const fs::path& link, const char* target) {
  if (target == nullptr || *target == '\0') {
    return Refuse(name, "link without a target");
  }
  fs::path t(target);
  if (t.is_absolute()) {
    return Refuse(name, "link points to an absolute path");
  }
  fs::path resolved = (link.parent_path() / t).lexically_normal();
  if (resolved.empty() || *resolved.begin() == "..") {
    return Refuse(name, "link points outside the archive");
  }
  return Status::Ok();
}

Status CopyData(archive* reader, archive* writer, const std::string& name, uint64_t& total,
                uint64_t max_total) {
  const void* block = nullptr;
  size_t size = 0;
  la_int64_t offset = 0;
  while (true) {
    int r = archive_read_data_block(reader, &block, &size, &offset);
    if (r == ARCHIVE_EOF) {
      return Status::Ok();
    }
    if (r < ARCHIVE_WARN) {
      return ArchiveError(reader, "reading '" + name + "'");
    }
    total += size;  // counted as written, whatever the header claimed
    if (total > max_total) {
      return Refuse(name,
                    "archive exceeds the size limit of " + std::to_string(max_total) + " bytes");
    }
    if (archive_write_data_block(writer, block, size, offset) < ARCHIVE_WARN) {
      return ArchiveError(writer, "writing '" + name + "'");
    }
  }
}

Status ExtractInto(archive* reader, const fs::path& staging, const ExtractOptions& options) {
  ArchiveWriter writer(archive_write_disk_new());
  // Entry names were checked above and are rewritten to absolute paths under the staging
  // folder, so libarchive's own no-absolute-path guard cannot be used; its symlink and ".."
  // guards stay on as a second line.
  archive_write_disk_set_options(writer.get(), ARCHIVE_EXTRACT_SECURE_SYMLINKS |
                                                   ARCHIVE_EXTRACT_SECURE_NODOTDOT |
                                                   ARCHIVE_EXTRACT_PERM | ARCHIVE_EXTRACT_TIME);
  uint64_t entries = 0;
  uint64_t total = 0;
  archive_entry* entry = nullptr;
  while (true) {
    int r = archive_read_next_header(reader, &entry);
    if (r == ARCHIVE_EOF) {
      break;
    }
    if (r < ARCHIVE_WARN) {
      return ArchiveError(reader, "not a readable archive");
    }
    const char* raw_name = archive_entry_pathname(entry);
    std::string name = raw_name != nullptr ? raw_name : "";
    if (++entries > options.max_entries) {
      return Refuse(name,
                    "archive has more than " + std::to_string(options.max_entries) + " entries");
    }
    CLOUDIFY_ASSIGN_OR_RETURN(fs::path relative, SafeRelativePath(name));
    switch (archive_entry_filetype(entry)) {
      case AE_IFREG:
      case AE_IFDIR:
        break;
      case AE_IFLNK:
        CLOUDIFY_RETURN_IF_ERROR(CheckLinkTarget(name, relative, archive_entry_symlink(entry)));
        break;
      default:
        return Refuse(name, "only files, folders and links are allowed");
    }
    if (const char* hardlink = archive_entry_hardlink(entry); hardlink != nullptr) {
      CLOUDIFY_ASSIGN_OR_RETURN(fs::path target, SafeRelativePath(hardlink));
      archive_entry_copy_hardlink(entry, (staging / target).c_str());
    }
    if (archive_entry_size_is_set(entry) != 0 && archive_entry_size(entry) > 0 &&
        total + static_cast<uint64_t>(archive_entry_size(entry)) > options.max_total_bytes) {
      return Refuse(name, "archive exceeds the size limit of " +
                              std::to_string(options.max_total_bytes) + " bytes");
    }
    archive_entry_copy_pathname(entry, (staging / relative).c_str());
    archive_entry_set_uid(entry, getuid());
    archive_entry_set_gid(entry, getgid());
    if (archive_write_header(writer.get(), entry) < ARCHIVE_WARN) {
      return ArchiveError(writer.get(), "extracting '" + name + "'");
    }
    if (archive_entry_filetype(entry) == AE_IFREG) {
      CLOUDIFY_RETURN_IF_ERROR(
          CopyData(reader, writer.get(), name, total, options.max_total_bytes));
    }
    if (archive_write_finish_entry(writer.get()) < ARCHIVE_WARN) {
      return ArchiveError(writer.get(), "extracting '" + name + "'");
    }
  }
  if (archive_write_close(writer.get()) < ARCHIVE_WARN) {
    return ArchiveError(writer.get(), "finishing extraction");
  }
  return Status::Ok();
}

Result<fs::path> SingleTopDir(const fs::path& staging) {
  std::vector<fs::path> top;
  for (const auto& child : fs::directory_iterator(staging)) {
    top.push_back(child.path());
  }
  if (top.size() != 1 || !fs::is_directory(fs::symlink_status(top.front()))) {
    return BadParametersError(
        "a blueprint archive must contain exactly one top-level folder, found " +
        std::to_string(top.size()) + " top-level entries");
  }
  return top.front().filename();
}

Result<fs::path> Extract(ArchiveReader reader, const fs::path& requested,
                         const ExtractOptions& options) {
  std::error_code ec;
  const fs::path destination = fs::absolute(requested, ec).lexically_normal();
  if (fs::exists(fs::symlink_status(destination, ec))) {
    return ConflictError("extraction destination " + destination.string() + " already exists");
  }
  fs::path parent = destination.parent_path().empty() ? fs::path(".") : destination.parent_path();
  fs::create_directories(parent, ec);
  fs::path staging = parent / ("." + destination.filename().string() + ".partial-" + NewUuid());
  if (!fs::create_directory(staging, ec)) {
    return InternalError("cannot create " + staging.string() + ": " + ec.message());
  }
  auto result = [&]() -> Result<fs::path> {
    CLOUDIFY_RETURN_IF_ERROR(ExtractInto(reader.get(), staging, options));
    fs::path content;
    if (options.require_single_top_dir) {
      CLOUDIFY_ASSIGN_OR_RETURN(content, SingleTopDir(staging));
    }
    std::error_code rename_ec;
    fs::rename(staging, destination, rename_ec);
    if (rename_ec) {
      return InternalError("cannot move extracted archive into " + destination.string() + ": " +
                           rename_ec.message());
    }
    return content.empty() ? destination : destination / content;
  }();
  if (!result.ok()) {
    fs::remove_all(staging, ec);
  }
  return result;
}

ArchiveReader NewReader() {
  ArchiveReader reader(archive_read_new());
  archive_read_support_filter_gzip(reader.get());
  archive_read_support_filter_bzip2(reader.get());
  archive_read_support_filter_xz(reader.get());
  archive_read_support_format_tar(reader.get());
  archive_read_support_format_gnutar(reader.get());
  archive_read_support_format_zip(reader.get());
  return reader;
}

}  // namespace

Result<fs::path> ExtractArchive(std::string_view bytes, const fs::path& destination,
                                const ExtractOptions& options) {
  ArchiveReader reader = NewReader();
  if (archive_read_open_memory(reader.get(), bytes.data(), bytes.size()) != ARCHIVE_OK) {
    return ArchiveError(reader.get(), "not a readable archive");
  }
  return Extract(std::move(reader), destination, options);
}

Result<fs::path> ExtractArchiveFile(const fs::path& path, const fs::path& destination,
                                    const ExtractOptions& options) {
  ArchiveReader reader = NewReader();
  if (archive_read_open_filename(reader.get(), path.c_str(), 64 * 1024) != ARCHIVE_OK) {
    return ArchiveError(reader.get(), "cannot open archive " + path.string());
  }
  return Extract(std::move(reader), destination, options);
}

Status CreateTarGz(const fs::path& folder, const fs::path& output, std::string_view top_dir) {
  std::error_code ec;
  if (!fs::is_directory(folder, ec)) {
    return NotFoundError("folder " + folder.string() + " not found");
  }
  const fs::path top =
      top_dir.empty() ? fs::absolute(folder).lexically_normal().filename() : fs::path(top_dir);
  std::vector<fs::path> paths;
  for (auto it = fs::recursive_directory_iterator(folder, ec);
       !ec && it != fs::recursive_directory_iterator(); it.increment(ec)) {
    paths.push_back(it->path());
  }
  if (ec) {
    return InternalError("cannot list " + folder.string() + ": " + ec.message());
  }
  std::sort(paths.begin(), paths.end());  // reproducible archives

  ArchiveWriter writer(archive_write_new());
  archive_write_add_filter_gzip(writer.get());
  archive_write_set_format_pax_restricted(writer.get());
  if (archive_write_open_filename(writer.get(), output.c_str()) != ARCHIVE_OK) {
    return ArchiveError(writer.get(), "cannot create " + output.string());
  }
  std::unique_ptr<archive_entry, EntryFree> entry(archive_entry_new());
  auto add = [&](const fs::path& source, const fs::path& name) -> Status {
    struct stat st {};
    if (lstat(source.c_str(), &st) != 0) {
      return InternalError("cannot stat " + source.string());
    }
    archive_entry_clear(entry.get());
    archive_entry_copy_stat(entry.get(), &st);
    archive_entry_copy_pathname(entry.get(), name.c_str());
    if (S_ISLNK(st.st_mode)) {
      std::error_code link_ec;
      fs::path target = fs::read_symlink(source, link_ec);
      archive_entry_copy_symlink(entry.get(), target.c_str());
    }
    if (archive_write_header(writer.get(), entry.get()) != ARCHIVE_OK) {
      return ArchiveError(writer.get(), "adding " + name.string());
    }
    if (S_ISREG(st.st_mode)) {
      std::ifstream in(source, std::ios::binary);
      std::vector<char> buffer(64 * 1024);
      while (in) {
        in.read(buffer.data(), static_cast<std::streamsize>(buffer.size()));
        std::streamsize n = in.gcount();
        if (n > 0 && archive_write_data(writer.get(), buffer.data(), static_cast<size_t>(n)) < 0) {
          return ArchiveError(writer.get(), "adding " + name.string());
        }
      }
    }
    return Status::Ok();
  };
  CLOUDIFY_RETURN_IF_ERROR(add(folder, top));
  for (const auto& path : paths) {
    CLOUDIFY_RETURN_IF_ERROR(add(path, top / path.lexically_relative(folder)));
  }
  if (archive_write_close(writer.get()) != ARCHIVE_OK) {
    return ArchiveError(writer.get(), "finishing " + output.string());
  }
  return Status::Ok();
}

}  // namespace cloudify
