#include "cli/session.h"

#include <cstdlib>
#include <sstream>

#include <doctest/doctest.h>
#include <sys/stat.h>

#include "cloudify/cli/cfy.h"

#include "support/temp_dir.h"

namespace cloudify::cli {
namespace {

using nlohmann::json;

// Points cfy's profile folder at a temp dir for one test.
struct WorkDirScope {
  WorkDirScope() { setenv("CFY_WORKDIR", dir.path().c_str(), 1); }
  ~WorkDirScope() { unsetenv("CFY_WORKDIR"); }
  testing::TempDir dir;
};

struct Run {
  int code;
  std::string out;
  std::string err;
};

Run Cfy(std::vector<std::string> args) {
  args.insert(args.begin(), "cfy");
  std::ostringstream out;
  std::ostringstream err;
  int code = RunCfy(args, out, err);
  return Run{code, out.str(), err.str()};
}

TEST_CASE("tables have the original's rules and centred cells") {
  std::string table = RenderTable({"id", "state"}, {{"web", "started"}, {"database", ""}});
  CHECK(table ==
        "+----------+---------+\n"
        "|    id    |  state  |\n"
        "+----------+---------+\n"
        "|   web    | started |\n"
        "| database |         |\n"
        "+----------+---------+\n");
}

TEST_CASE("cells: timestamps readable, lists joined, labels as key:value, null empty") {
  CHECK(CellText("2026-11-25T04:00:01.123Z") == "2026-11-25 04:00:01.123");
  CHECK(CellText(json::array({"a", "b"})) == "a,b");
  CHECK(CellText(json::parse(R"([{"key": "env", "value": "prod"}])")) == "env:prod");
  CHECK(CellText(nullptr).empty());
  CHECK(CellText(3) == "3");
  CHECK(CellText(false) == "false");
}

TEST_CASE("events print as the original CLI prints them") {
  json event = {{"type", "cloudify_event"},
                {"reported_timestamp", "2026-11-25T04:00:01.123Z"},
                {"deployment_id", "web-1"},
                {"node_instance_id", "vm_abc123"},
                {"operation", "cloudify.interfaces.lifecycle.create"},
                {"source_id", nullptr},
                {"message", "Task succeeded 'script.run'"}};
  CHECK(FormatEvent(event) ==
        "2026-11-25 04:00:01.123  CFY <web-1> [vm_abc123.create] Task succeeded 'script.run'");
  json log = {{"type", "cloudify_log"},
              {"timestamp", "2026-11-25T04:00:02.000Z"},
              {"deployment_id", "web-1"},
              {"level", "info"},
              {"source_id", "app_1"},
              {"target_id", "db_2"},
              {"operation", "cloudify.interfaces.relationship_lifecycle.preconfigure"},
              {"message", "copied"}};
  CHECK(FormatEvent(log) ==
        "2026-11-25 04:00:02.000  LOG <web-1> [app_1->db_2|preconfigure] INFO: copied");
  json workflow = {{"type", "cloudify_event"},
                   {"timestamp", "2026-11-25T04:00:03.000Z"},
                   {"deployment_id", "web-1"},
                   {"message", "Starting 'install' workflow execution"}};
  CHECK(FormatEvent(workflow) ==
        "2026-11-25 04:00:03.000  CFY <web-1> Starting 'install' workflow execution");
}

TEST_CASE("profiles are stored owner-only and the last used one is active") {
  WorkDirScope scope;
  Run first = Cfy({"profiles", "use", "10.0.0.5", "-u", "alice", "-p", "s3cret", "-t", "team",
                   "--rest-port", "8080", "--skip-credentials-validation"});
  CHECK(first.code == 0);
  Run second = Cfy({"profiles", "use", "10.0.0.6", "--skip-credentials-validation"});
  CHECK(second.code == 0);

  auto profile = LoadProfile("10.0.0.5");
  REQUIRE(profile.ok());
  CHECK(profile->username == "alice");
  CHECK(profile->password == "s3cret");
  CHECK(profile->tenant == "team");
  CHECK(profile->port == 8080);
  struct stat info {};
  REQUIRE(stat((WorkDir() / "profiles" / "10.0.0.5" / "context.json").c_str(), &info) == 0);
  CHECK((info.st_mode & 0777) == 0600);
  CHECK(ActiveProfileName().value_or("") == "10.0.0.6");

  Run list = Cfy({"profiles", "list", "--json"});
  REQUIRE(list.code == 0);
  json profiles = json::parse(list.out);
  REQUIRE(profiles.size() == 2);
  CHECK(profiles[0]["name"] == "10.0.0.5");
  CHECK(profiles[0]["manager_tenant"] == "team");

  // `use` again keeps what is not given again.
  CHECK(Cfy({"profiles", "use", "10.0.0.5", "--skip-credentials-validation"}).code == 0);
  CHECK(LoadProfile("10.0.0.5")->username == "alice");
  CHECK(ActiveProfileName().value_or("") == "10.0.0.5");

  Run removed = Cfy({"profiles", "delete", "10.0.0.5"});
  CHECK(removed.code == 0);
  CHECK_FALSE(LoadProfile("10.0.0.5").ok());
  CHECK_FALSE(ActiveProfileName().ok());
  CHECK(Cfy({"profiles", "delete", "../etc"}).code == 1);
}

TEST_CASE("commands without a profile, or with the manager down, fail with one clear line") {
  WorkDirScope scope;
  Run none = Cfy({"blueprints", "list"});
  CHECK(none.code == 1);
  CHECK(none.err.find("cfy profiles use") != std::string::npos);

  // Port 1 on loopback: nothing listens there.
  REQUIRE(Cfy({"profiles", "use", "127.0.0.1", "--rest-port", "1", "--skip-credentials-validation"})
              .code == 0);
  Run down = Cfy({"deployments", "list"});
  CHECK(down.code == 1);
  CHECK(down.err ==
        "Error: cannot reach the manager at http://127.0.0.1:1: connection "
        "refused or host unreachable (service_unavailable_error)\n");
  Run use = Cfy({"profiles", "use", "127.0.0.1", "--rest-port", "1"});
  CHECK(use.code == 1);
  CHECK(use.err.find("cannot reach the manager") != std::string::npos);
}

TEST_CASE("the bash completion script knows every command and its flags") {
  Run completion = Cfy({"completion", "bash"});
  REQUIRE(completion.code == 0);
  CHECK(completion.out.find("complete -o default -F _cfy_complete cfy") != std::string::npos);
  CHECK(completion.out.find("\"executions start\") words=") != std::string::npos);
  CHECK(completion.out.find("--deployment-id") != std::string::npos);
  CHECK(completion.out.find("\"profiles\") words=\"use list show-current delete") !=
        std::string::npos);
}

TEST_CASE("cfy --version and usage errors") {
  Run version = Cfy({"--version"});
  CHECK(version.code == 0);
  CHECK(version.out.rfind("cfy (libcloudify) ", 0) == 0);
  CHECK(Cfy({"executions", "start"}).code != 0);  // the workflow and -d are required
  CHECK(Cfy({"no-such-command"}).code != 0);
}

}  // namespace
}  // namespace cloudify::cli
