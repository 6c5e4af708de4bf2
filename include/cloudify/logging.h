// Structured logging for the library's own diagnostics (not the execution logs users see;
// those are model::Log records stored with events).
//
// A Logger takes a level, a message and key/value fields. The default writes one line per
// record to stderr: "<timestamp> <LEVEL> <message> key=value ...".
//
// Thread-safety: Logger implementations must accept calls from any thread.
#pragma once

#include <initializer_list>
#include <memory>
#include <optional>
#include <ostream>
#include <string>
#include <string_view>

namespace cloudify {

// The original's log levels, in increasing severity.
enum class LogLevel { kDebug, kInfo, kWarning, kError };

// "debug", "info", "warning", "error".
std::string_view LogLevelName(LogLevel level);
// Accepts the names above case-insensitively, and "warn".
std::optional<LogLevel> ParseLogLevel(std::string_view name);

struct LogField {
  std::string_view key;
  std::string value;
};

class Logger {
 public:
  virtual ~Logger() = default;

  // Records below the logger's level may be dropped without formatting.
  virtual bool Enabled(LogLevel level) const = 0;
  virtual void Write(LogLevel level, std::string_view message,
                     std::initializer_list<LogField> fields) = 0;

  void Debug(std::string_view message, std::initializer_list<LogField> fields = {}) {
    Log(LogLevel::kDebug, message, fields);
  }
  void Info(std::string_view message, std::initializer_list<LogField> fields = {}) {
    Log(LogLevel::kInfo, message, fields);
  }
  void Warning(std::string_view message, std::initializer_list<LogField> fields = {}) {
    Log(LogLevel::kWarning, message, fields);
  }
  void Error(std::string_view message, std::initializer_list<LogField> fields = {}) {
    Log(LogLevel::kError, message, fields);
  }

 private:
  void Log(LogLevel level, std::string_view message, std::initializer_list<LogField> fields) {
    if (Enabled(level)) {
      Write(level, message, fields);
    }
  }
};

// A logger writing one line per record to `out` (which must outlive it), records at `min_level`
// and above. Lines from several threads never interleave.
std::unique_ptr<Logger> MakeStreamLogger(std::ostream& out, LogLevel min_level = LogLevel::kInfo);

// The process-wide default: a stream logger on stderr at kInfo. Never null.
Logger& DefaultLogger();

}  // namespace cloudify
