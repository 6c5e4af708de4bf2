// Running a child process the way script operations need it: in its own process group, with
// its own environment and working folder, stdout and stderr streamed line by line to callbacks
// (never buffered whole), and a timeout that kills the whole group.
//
// Thread-safety: RunProcess may be called from many threads at once; the callbacks run on the
// calling thread.
#pragma once

#include <chrono>
#include <cstddef>
#include <filesystem>
#include <functional>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "cloudify/status.h"

namespace cloudify {

struct ProcessOptions {
  // The program and its arguments; argv[0] is looked up in PATH when it has no '/'. A file
  // without a `#!` line is not run through /bin/sh: that is the caller's choice.
  std::vector<std::string> argv;
  // Variables added to (or replacing those of) the parent's environment.
  std::map<std::string, std::string> env;
  // Working folder. Default: the parent's.
  std::filesystem::path cwd;
  // Kill the process group after this long. Default: none.
  std::optional<std::chrono::milliseconds> timeout;
  // A longer line is delivered in pieces of this size. Default: 64 KiB.
  size_t max_line_bytes = 64 * 1024;
  // Called with each line of output, without its newline.
  std::function<void(std::string_view)> on_stdout_line;
  std::function<void(std::string_view)> on_stderr_line;
};

struct ProcessResult {
  int exit_code = -1;      // valid when the process exited
  int term_signal = 0;     // the signal that ended it, 0 when it exited
  bool timed_out = false;  // killed (with its group) at the timeout
  std::chrono::milliseconds duration{0};

  bool succeeded() const { return term_signal == 0 && !timed_out && exit_code == 0; }
};

// Runs the process to its end (or its timeout). kNotFound when the program cannot be run;
// kBadParameters for an empty argv; a non-zero exit is a result, not an error.
Result<ProcessResult> RunProcess(const ProcessOptions& options);

// `value` as one single-quoted word of a POSIX shell command line, whatever it holds.
std::string ShellQuote(std::string_view value);

}  // namespace cloudify
