#include "cloudify/files.h"

#include <fstream>
#include <sstream>

namespace cloudify {

Result<std::string> ReadFileBytes(const std::filesystem::path& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) {
    return NotFoundError("cannot read " + path.string());
  }
  std::ostringstream bytes;
  bytes << in.rdbuf();
  return bytes.str();
}

ScopedRemoval::~ScopedRemoval() {
  std::error_code ec;
  std::filesystem::remove_all(path_, ec);
}

}  // namespace cloudify
