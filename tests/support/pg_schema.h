// A PostgreSQL schema of the test server's database for one test, dropped with everything in
// it when the test ends, so test runs leave nothing behind on the shared server.
#pragma once

#include <random>
#include <string>

#include <doctest/doctest.h>
#include <soci/postgresql/soci-postgresql.h>
#include <soci/soci.h>
#include <unistd.h>

#include "cloudify/url.h"

#include "support/env.h"

namespace cloudify::testing {

// libpq keyword form of the test server's URL (SOCI 4.0 mangles URIs).
inline std::string PostgresConnInfo() {
  Result<Url> url = ParseUrl(PostgresTestUrl());
  REQUIRE(url.ok());
  return "host=" + url->host + " port=" + std::to_string(url->port) +
         " dbname=" + url->path.substr(1) + " user=" + url->user + " password=" + url->password;
}

class ScratchPgSchema {
 public:
  // `prefix` names the test's kind; the process id and a random number keep parallel tests apart.
  explicit ScratchPgSchema(const std::string& prefix) {
    std::random_device rd;
    name_ = prefix + "_" + std::to_string(getpid()) + "_" + std::to_string(rd() % 1000000);
  }
  ScratchPgSchema(const ScratchPgSchema&) = delete;
  ScratchPgSchema& operator=(const ScratchPgSchema&) = delete;
  ~ScratchPgSchema() {
    try {
      soci::session sql(soci::postgresql, PostgresConnInfo());
      sql << "SET client_min_messages TO WARNING";
      sql << "DROP SCHEMA IF EXISTS \"" + name_ + "\" CASCADE";
    } catch (const std::exception& e) {
      MESSAGE("could not drop test schema " << name_ << ": " << e.what());
    }
  }

  const std::string& name() const { return name_; }
  // The test server's URL with this schema selected.
  std::string url() const {
    const std::string base = PostgresTestUrl();
    return base + (base.find('?') == std::string::npos ? "?" : "&") + "schema=" + name_;
  }

 private:
  std::string name_;
};

}  // namespace cloudify::testing
