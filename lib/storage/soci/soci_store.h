// The SOCI implementation of Store, for SQLite and PostgreSQL. Only store_factory.cc includes it.
#pragma once

#include <memory>

#include "cloudify/storage/store.h"
#include "cloudify/url.h"

namespace cloudify::storage::soci_backend {

// `url` has scheme "sqlite" or "postgresql" (the factory checked it).
Result<std::unique_ptr<Store>> OpenSociStore(const Url& url, const StoreOptions& options);

}  // namespace cloudify::storage::soci_backend
