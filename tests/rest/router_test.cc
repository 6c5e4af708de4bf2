#include "cloudify/rest/router.h"

#include <doctest/doctest.h>
#include <nlohmann/json.hpp>

#include "cloudify/version.h"

namespace cloudify::rest {
namespace {

HttpRequest Get(std::string path) { return HttpRequest{.method = "GET", .path = std::move(path)}; }

TEST_CASE("/api/v3.1/ok answers OK as text") {
  Router router;
  HttpResponse r = router.Handle(Get("/api/v3.1/ok"));
  CHECK(r.status == 200);
  CHECK(r.body == "OK");
  CHECK(r.content_type == "text/plain");
}

TEST_CASE("/api/version answers the version the client reads") {
  Router router;
  for (const char* path : {"/api/version", "/api/v3.1/version"}) {
    HttpResponse r = router.Handle(Get(path));
    CHECK(r.status == 200);
    auto body = nlohmann::json::parse(r.body);
    CHECK(body["version"] == std::string(kCompatibleManagerVersion));
    CHECK(body["edition"] == "community");
    CHECK(body["distro_release"] == std::string(kVersion));
  }
}

TEST_CASE("unknown routes are 404 with a message that says not found") {
  Router router;
  HttpResponse r = router.Handle(Get("/api/v3.1/nothing-here"));
  CHECK(r.status == 404);
  auto body = nlohmann::json::parse(r.body);
  CHECK(body["error_code"] == "not_found_error");
  CHECK(body["message"].get<std::string>().find("not found") != std::string::npos);
}

TEST_CASE("wrong methods are 405") {
  Router router;
  HttpResponse r = router.Handle(HttpRequest{.method = "DELETE", .path = "/api/v3.1/ok"});
  CHECK(r.status == 405);
  CHECK(nlohmann::json::parse(r.body)["error_code"] == "method_not_allowed_error");
}

}  // namespace
}  // namespace cloudify::rest
