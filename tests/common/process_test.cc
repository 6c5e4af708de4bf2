#include "cloudify/process.h"

#include <fstream>
#include <string>
#include <thread>
#include <vector>

#include <doctest/doctest.h>
#include <signal.h>

#include "support/temp_dir.h"

namespace cloudify {
namespace {

using std::chrono::milliseconds;

ProcessOptions Shell(std::string script) {
  ProcessOptions options;
  options.argv = {"/bin/sh", "-c", std::move(script)};
  return options;
}

TEST_CASE("output is streamed line by line to the callbacks, exit code reported") {
  std::vector<std::string> out, err;
  ProcessOptions options = Shell("echo one; echo two >&2; printf 'three'; exit 3");
  options.on_stdout_line = [&](std::string_view l) { out.emplace_back(l); };
  options.on_stderr_line = [&](std::string_view l) { err.emplace_back(l); };
  auto result = RunProcess(options);
  REQUIRE_MESSAGE(result.ok(), result.status().ToString());
  CHECK(result->exit_code == 3);
  CHECK_FALSE(result->succeeded());
  CHECK(out == std::vector<std::string>{"one", "three"});
  CHECK(err == std::vector<std::string>{"two"});
}

TEST_CASE("ShellQuote makes any text one word that the shell hands over unchanged") {
  for (const std::string& text :
       {std::string(""), std::string("plain"), std::string("it's"),
        std::string("$HOME `id` \"q\" ; rm -rf x"), std::string("a\\b '' ' end")}) {
    std::vector<std::string> out;
    ProcessOptions options = Shell("printf '%s|' " + ShellQuote(text) + "; echo");
    options.on_stdout_line = [&](std::string_view l) { out.emplace_back(l); };
    auto result = RunProcess(options);
    REQUIRE_MESSAGE(result.ok(), result.status().ToString());
    CHECK(result->succeeded());
    CHECK(out == std::vector<std::string>{text + "|"});
  }
}

TEST_CASE("environment and working folder reach the child") {
  testing::TempDir tmp;
  std::vector<std::string> out;
  ProcessOptions options = Shell("echo \"$GREETING\"; pwd");
  options.env = {{"GREETING", "hello world"}};
  options.cwd = tmp.path();
  options.on_stdout_line = [&](std::string_view l) { out.emplace_back(l); };
  auto result = RunProcess(options);
  REQUIRE(result.ok());
  CHECK(result->succeeded());
  REQUIRE(out.size() == 2);
  CHECK(out[0] == "hello world");
  CHECK(out[1] == tmp.path().string());
}

TEST_CASE("a timeout kills the whole process group, children included") {
  testing::TempDir tmp;
  const auto marker = tmp.path() / "child-survived";
  // The child would write the marker after 1.5 s if it outlived the timeout.
  ProcessOptions options = Shell("(sleep 1.5; touch '" + marker.string() + "') & sleep 30");
  options.timeout = milliseconds(200);
  auto result = RunProcess(options);
  REQUIRE(result.ok());
  CHECK(result->timed_out);
  CHECK_FALSE(result->succeeded());
  CHECK(result->duration < milliseconds(5000));
  std::this_thread::sleep_for(milliseconds(2000));
  CHECK_FALSE(std::filesystem::exists(marker));
}

TEST_CASE("a background child holding the pipes does not hold up the result") {
  ProcessOptions options = Shell("sleep 20 & echo started");
  std::vector<std::string> out;
  options.on_stdout_line = [&](std::string_view l) { out.emplace_back(l); };
  auto result = RunProcess(options);
  REQUIRE(result.ok());
  CHECK(result->succeeded());
  CHECK(result->duration < milliseconds(5000));
  CHECK(out == std::vector<std::string>{"started"});
}

TEST_CASE("huge lines are delivered in bounded pieces") {
  std::vector<size_t> sizes;
  ProcessOptions options = Shell("head -c 300000 /dev/zero | tr '\\0' 'x'; echo");
  options.max_line_bytes = 1000;
  options.on_stdout_line = [&](std::string_view l) { sizes.push_back(l.size()); };
  auto result = RunProcess(options);
  REQUIRE(result.ok());
  size_t total = 0;
  for (size_t s : sizes) {
    CHECK(s <= 1000);
    total += s;
  }
  CHECK(total == 300000);
}

TEST_CASE("a program that cannot run is not found, an empty argv is bad parameters") {
  ProcessOptions missing;
  missing.argv = {"/no/such/program"};
  auto r = RunProcess(missing);
  REQUIRE_FALSE(r.ok());
  CHECK(r.status().code() == ErrorCode::kNotFound);
  CHECK(r.status().message().find("/no/such/program") != std::string::npos);

  ProcessOptions bad_cwd = Shell("true");
  bad_cwd.cwd = "/no/such/folder";
  CHECK(RunProcess(bad_cwd).status().code() == ErrorCode::kNotFound);

  CHECK(RunProcess(ProcessOptions{}).status().code() == ErrorCode::kBadParameters);
}

TEST_CASE("a process killed by a signal reports the signal") {
  auto result = RunProcess(Shell("kill -TERM $$"));
  REQUIRE(result.ok());
  CHECK(result->term_signal == SIGTERM);
  CHECK_FALSE(result->succeeded());
}

}  // namespace
}  // namespace cloudify
