#include "cloudify/logging.h"

#include <regex>
#include <sstream>
#include <thread>
#include <vector>

#include <doctest/doctest.h>

namespace cloudify {
namespace {

TEST_CASE("a stream logger writes one structured line per record at or above its level") {
  std::ostringstream out;
  auto logger = MakeStreamLogger(out, LogLevel::kInfo);
  logger->Debug("hidden");
  logger->Info("execution started", {{"execution_id", "e1"}, {"workflow", "install"}});
  logger->Error("boom");
  std::string text = out.str();
  CHECK(text.find("hidden") == std::string::npos);
  std::regex line(
      R"(\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z INFO execution started execution_id=e1 workflow=install\n)"
      R"(\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z ERROR boom\n)");
  CHECK(std::regex_match(text, line));
  CHECK_FALSE(logger->Enabled(LogLevel::kDebug));
  CHECK(logger->Enabled(LogLevel::kWarning));
}

TEST_CASE("lines from many threads never interleave") {
  std::ostringstream out;
  auto logger = MakeStreamLogger(out, LogLevel::kDebug);
  std::vector<std::thread> threads;
  for (int t = 0; t < 4; ++t) {
    threads.emplace_back([&logger, t] {
      for (int i = 0; i < 200; ++i) {
        logger->Info("message", {{"thread", std::to_string(t)}, {"i", std::to_string(i)}});
      }
    });
  }
  for (auto& th : threads) {
    th.join();
  }
  std::istringstream in(out.str());
  std::regex line(R"(\S+ INFO message thread=\d i=\d+)");
  int count = 0;
  for (std::string l; std::getline(in, l); ++count) {
    CHECK(std::regex_match(l, line));
  }
  CHECK(count == 800);
}

TEST_CASE("log level names are the original's") {
  CHECK(LogLevelName(LogLevel::kWarning) == "warning");
  CHECK(*ParseLogLevel("WARN") == LogLevel::kWarning);
  CHECK(*ParseLogLevel("Error") == LogLevel::kError);
  CHECK(*ParseLogLevel("debug") == LogLevel::kDebug);
  CHECK_FALSE(ParseLogLevel("loud").has_value());
}

}  // namespace
}  // namespace cloudify
