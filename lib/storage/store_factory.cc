#include "cloudify/storage/store.h"
#include "cloudify/url.h"

#include "storage/soci/soci_store.h"

namespace cloudify::storage {

CallerContext CallerContext::System(std::string tenant) {
  CallerContext caller;
  caller.tenant = std::move(tenant);
  caller.user = std::string(model::kBootstrapAdmin);
  caller.is_admin = true;
  return caller;
}

Result<std::unique_ptr<Store>> OpenStore(std::string_view url, const StoreOptions& options) {
  Result<Url> parsed = ParseUrl(url);
  if (!parsed.ok()) {
    return parsed.status().WithContext("store URL");
  }
  if (parsed->scheme == "sqlite" || parsed->scheme == "postgresql" ||
      parsed->scheme == "postgres") {
    return soci_backend::OpenSociStore(*parsed, options);
  }
  return BadParametersError("unknown store URL scheme `" + parsed->scheme + "` in `" +
                            parsed->Redacted() +
                            "`: expected sqlite:///path, sqlite://:memory: or postgresql://...");
}

}  // namespace cloudify::storage
