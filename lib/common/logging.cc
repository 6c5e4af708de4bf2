#include "cloudify/logging.h"

#include <array>
#include <iostream>
#include <mutex>

#include "cloudify/clock.h"

#include "common/enum_table.h"

namespace cloudify {
namespace {

constexpr std::array<EnumName<LogLevel>, 4> kLevelNames{{
    {LogLevel::kDebug, "debug"},
    {LogLevel::kInfo, "info"},
    {LogLevel::kWarning, "warning"},
    {LogLevel::kError, "error"},
}};

class StreamLogger final : public Logger {
 public:
  StreamLogger(std::ostream& out, LogLevel min_level) : out_(out), min_level_(min_level) {}

  bool Enabled(LogLevel level) const override { return level >= min_level_; }

  void Write(LogLevel level, std::string_view message,
             std::initializer_list<LogField> fields) override {
    std::string line = FormatTimestamp(SystemClock().Now());
    line += ' ';
    for (char c : LogLevelName(level)) {
      line += static_cast<char>(c - 'a' + 'A');
    }
    line += ' ';
    line += message;
    for (const auto& field : fields) {
      line += ' ';
      line += field.key;
      line += '=';
      line += field.value;
    }
    line += '\n';
    std::lock_guard lock(mu_);
    out_ << line << std::flush;
  }

 private:
  std::mutex mu_;
  std::ostream& out_;
  const LogLevel min_level_;
};

}  // namespace

std::string_view LogLevelName(LogLevel level) { return NameOf<LogLevel>(kLevelNames, level); }

std::optional<LogLevel> ParseLogLevel(std::string_view name) {
  std::string lower;
  for (char c : name) {
    lower += (c >= 'A' && c <= 'Z') ? static_cast<char>(c - 'A' + 'a') : c;
  }
  if (lower == "warn") {
    return LogLevel::kWarning;
  }
  return ValueOf<LogLevel>(kLevelNames, lower);
}

std::unique_ptr<Logger> MakeStreamLogger(std::ostream& out, LogLevel min_level) {
  return std::make_unique<StreamLogger>(out, min_level);
}

Logger& DefaultLogger() {
  static Logger* logger = MakeStreamLogger(std::cerr).release();  // never destroyed
  return *logger;
}

}  // namespace cloudify
