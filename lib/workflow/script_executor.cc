#include "cloudify/workflow/script_executor.h"

#include <cerrno>
#include <cstdlib>
#include <cstring>
#include <deque>
#include <fstream>
#include <sstream>

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include "cloudify/dsl/parser.h"
#include "cloudify/process.h"
#include "cloudify/workflow/ctx_proxy.h"
#include "cloudify/workflow/ctx_resolver.h"

#ifndef CLOUDIFY_INSTALL_BINDIR
#define CLOUDIFY_INSTALL_BINDIR ""
#endif

namespace cloudify::workflow {
namespace {

namespace fs = std::filesystem;
using nlohmann::json;

// Stderr lines kept for the failure message.
constexpr size_t kStderrTailLines = 5;

// Python's str() of an input value, as the original exports it; dicts, lists and booleans are
// JSON.
std::string EnvValue(const json& v) {
  switch (v.type()) {
    case json::value_t::string:
      return v.get<std::string>();
    case json::value_t::null:
      return "None";
    default:
      return v.dump(-1, ' ', false, json::error_handler_t::replace);
  }
}

bool ValidEnvName(const std::string& name) {
  return !name.empty() && name.find('=') == std::string::npos &&
         name.find('\0') == std::string::npos;
}

bool IsExecutableFile(const fs::path& p) {
  std::error_code ec;
  return fs::is_regular_file(p, ec) && access(p.c_str(), X_OK) == 0;
}

// A private dir for one run, removed with everything in it when the run ends.
class WorkDir {
 public:
  static Result<std::unique_ptr<WorkDir>> Make(const fs::path& root_option) {
    std::error_code ec;
    fs::path root = root_option.empty() ? fs::temp_directory_path(ec) : root_option;
    if (ec) {
      return InternalError("no temp dir for script operations: " + ec.message());
    }
    fs::create_directories(root, ec);
    std::string pattern = (root / "cfy-op-XXXXXX").string();
    if (mkdtemp(pattern.data()) == nullptr) {  // mode 0700
      return InternalError("cannot make a work dir under " + root.string() + ": " +
                           std::strerror(errno));
    }
    return std::unique_ptr<WorkDir>(new WorkDir(pattern));
  }
  ~WorkDir() {
    std::error_code ec;
    fs::remove_all(path_, ec);
  }
  const fs::path& path() const { return path_; }

 private:
  explicit WorkDir(fs::path path) : path_(std::move(path)) {}
  fs::path path_;
};

// Output lines into the execution's logs, bounded in line length and in total.
class OutputLog {
 public:
  OutputLog(Logger& logger, const ScriptOptions& options, const char* prefix, size_t& budget,
            std::deque<std::string>* tail)
      : logger_(logger), options_(options), prefix_(prefix), budget_(budget), tail_(tail) {}

  // RunProcess hands a line longer than max_line_bytes over in pieces of exactly that size:
  // the first is logged (marked cut), the rest of that line is dropped.
  void Line(std::string_view piece) {
    const bool full = piece.size() >= options_.max_line_bytes;
    if (in_long_line_) {
      dropped_bytes_ += piece.size();
      in_long_line_ = full;
      return;
    }
    in_long_line_ = full;
    if (tail_ != nullptr) {
      tail_->emplace_back(piece.substr(0, 200));
      if (tail_->size() > kStderrTailLines) {
        tail_->pop_front();
      }
    }
    if (piece.size() > budget_) {
      ++dropped_lines_;
      dropped_bytes_ += piece.size();
      return;
    }
    budget_ -= piece.size();
    std::string text = prefix_;
    text.append(piece);
    if (full) {
      text += " [line cut at " + std::to_string(options_.max_line_bytes) + " bytes]";
    }
    logger_.Write(LogLevel::kInfo, text, {});
  }

  void Summary() {
    if (dropped_lines_ > 0 || dropped_bytes_ > 0) {
      logger_.Write(LogLevel::kWarning,
                    std::string(prefix_) + "output truncated: " + std::to_string(dropped_lines_) +
                        " lines and " + std::to_string(dropped_bytes_) + " bytes not logged",
                    {});
    }
  }

 private:
  Logger& logger_;
  const ScriptOptions& options_;
  const char* prefix_;
  size_t& budget_;
  std::deque<std::string>* tail_;
  bool in_long_line_ = false;
  size_t dropped_lines_ = 0;
  size_t dropped_bytes_ = 0;
};

// Writes `in` to a new file of mode 0700. The descriptor is close-on-exec so that a process
// forked meanwhile by another operation does not keep it open for writing (which would make
// executing the script fail with ETXTBSY).
Status WriteExecutable(const fs::path& path, std::istream& in) {
  int fd = open(path.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0700);
  if (fd < 0) {
    return InternalError("cannot write " + path.string() + ": " + std::strerror(errno));
  }
  char buffer[16 * 1024];
  bool ok = true;
  while (ok && in) {
    in.read(buffer, sizeof buffer);
    const char* p = buffer;
    size_t left = static_cast<size_t>(in.gcount());
    while (ok && left > 0) {
      ssize_t n = write(fd, p, left);
      if (n < 0 && errno == EINTR) {
        continue;
      }
      ok = n > 0;
      p += ok ? n : 0;
      left -= ok ? static_cast<size_t>(n) : left;
    }
  }
  ok = close(fd) == 0 && ok && !in.bad();
  if (!ok) {
    return InternalError("cannot write " + path.string());
  }
  return Status::Ok();
}

struct Prepared {
  fs::path script;    // the executable copy in the work dir
  std::string shown;  // the script as the blueprint names it, for messages
  fs::path blueprint_dir;
};

// A script named by URL, fetched into the work dir under the URL's last path segment.
Result<Prepared> FetchScript(const std::string& url, const ScriptOptions& options,
                             const fs::path& work_dir, Prepared& out) {
  const bool http = url.rfind("http://", 0) == 0 || url.rfind("https://", 0) == 0;
  if (!http) {
    return BadParametersError("script " + url + ": only http:// and https:// URLs are fetched");
  }
  if (!options.fetch_url) {
    return BadParametersError("script " + url +
                              ": this manager has no URL fetcher to download scripts with");
  }
  auto body = options.fetch_url(url);
  if (!body.ok()) {
    return Status(body.status().code(), "script " + url + ": " + body.status().message());
  }
  std::string name = url.substr(0, url.find_first_of("?#"));
  name = name.substr(name.find_last_of('/') + 1);
  if (name.empty() || name == "." || name == "..") {
    name = "script";
  }
  out.script = work_dir / name;
  std::istringstream in(*body);
  CLOUDIFY_RETURN_IF_ERROR(WriteExecutable(out.script, in));
  return std::move(out);
}

Result<Prepared> PrepareScript(OperationContext& ctx, const ScriptOptions& options,
                               const fs::path& work_dir) {
  const json& inputs = ctx.inputs();
  Prepared out;
  if (options.blueprint_dir) {
    auto dir = options.blueprint_dir(ctx.tenant(), ctx.blueprint_id());
    if (dir.ok()) {
      out.blueprint_dir = *dir;
    }
  }
  const json* path =
      inputs.is_object() && inputs.contains("script_path") ? &inputs["script_path"] : nullptr;
  const json* source =
      inputs.is_object() && inputs.contains("script_source") ? &inputs["script_source"] : nullptr;
  if ((path != nullptr) == (source != nullptr)) {
    return BadParametersError(
        "a script operation needs exactly one of script_path and "
        "script_source");
  }
  if (source != nullptr) {
    if (!source->is_string()) {
      return BadParametersError("script_source must be a string");
    }
    out.script = work_dir / "script";
    out.shown = "inline script";
    std::istringstream in(source->get<std::string>());
    CLOUDIFY_RETURN_IF_ERROR(WriteExecutable(out.script, in));
  } else {
    if (!path->is_string() || path->get<std::string>().empty()) {
      return BadParametersError("script_path must be a non-empty string");
    }
    const std::string relative = path->get<std::string>();
    out.shown = relative;
    if (relative.find("://") != std::string::npos) {
      return FetchScript(relative, options, work_dir, out);
    }
    if (out.blueprint_dir.empty()) {
      return NotFoundError("script " + relative + ": the blueprint's files of '" +
                           ctx.blueprint_id() + "' are not available to the script executor");
    }
    auto full = ResolveBlueprintResource(out.blueprint_dir, relative);
    if (!full.ok()) {
      return Status(full.status().code(), "script " + relative + ": " + full.status().message());
    }
    std::error_code ec;
    if (fs::is_directory(*full, ec)) {
      return BadParametersError("script " + relative + " is a directory, not a script");
    }
    if (!fs::is_regular_file(*full, ec)) {
      return BadParametersError("script " + relative + " is not a regular file");
    }
    std::ifstream in(*full, std::ios::binary);
    if (!in) {
      return BadParametersError("script " + relative + " cannot be read");
    }
    out.script = work_dir / full->filename();
    CLOUDIFY_RETURN_IF_ERROR(WriteExecutable(out.script, in));
  }
  return out;
}

std::string FailureText(const std::string& shown, const ProcessResult& r,
                        const std::deque<std::string>& tail) {
  std::string text = "script " + shown;
  if (r.term_signal != 0) {
    text += " was killed by signal " + std::to_string(r.term_signal);
  } else {
    text += " exited with code " + std::to_string(r.exit_code);
  }
  if (!tail.empty()) {
    text += "; last stderr lines:";
    for (const auto& line : tail) {
      text += "\n  " + line;
    }
  }
  return text;
}

}  // namespace

bool IsScriptOperation(const model::OperationSpec& spec) {
  const std::string& p = spec.plugin;
  const bool script_plugin = p.size() >= 6 && p.compare(p.size() - 6, 6, "script") == 0;
  return script_plugin && spec.operation == kScriptRunTask;
}

fs::path DefaultCtxDirectory() {
  std::error_code ec;
  fs::path self = fs::read_symlink("/proc/self/exe", ec);
  if (!ec && IsExecutableFile(self.parent_path() / "ctx")) {
    return self.parent_path();
  }
  const fs::path installed = CLOUDIFY_INSTALL_BINDIR;
  if (!installed.empty() && IsExecutableFile(installed / "ctx")) {
    return installed;
  }
  return {};
}

void RunScriptOperation(OperationContext& ctx, const ScriptOptions& options) {
  auto work = WorkDir::Make(options.work_root);
  if (!work.ok()) {
    ctx.Fail(work.status().message(), /*recoverable=*/true);
    return;
  }
  const fs::path& work_dir = (*work)->path();
  auto prepared = PrepareScript(ctx, options, work_dir);
  if (!prepared.ok()) {
    // A script that is missing or outside the blueprint does not appear by retrying; a server
    // that did not answer may answer later.
    ctx.Fail(prepared.status().message(),
             /*recoverable=*/prepared.status().code() == ErrorCode::kUnavailable);
    return;
  }

  const json& inputs = ctx.inputs();
  const json process =
      inputs.is_object() && inputs.contains("process") && inputs["process"].is_object()
          ? inputs["process"]
          : json::object();

  ProcessOptions run;
  const json no_inputs = json::object();
  for (const auto& [name, value] : (inputs.is_object() ? inputs : no_inputs).items()) {
    if (name == "script_path" || name == "script_source" || name == "process" ||
        name == "ssl_cert_content" || !ValidEnvName(name)) {
      continue;
    }
    run.env[name] = EnvValue(value);
  }
  if (process.contains("env") && process["env"].is_object()) {
    for (const auto& [name, value] : process["env"].items()) {
      if (ValidEnvName(name)) {
        run.env[name] = EnvValue(value);
      }
    }
  }

  const fs::path python_dir =
      options.python_dir.empty() ? dsl::DefaultResourcesDir() / "python" : options.python_dir;
  CtxResolver resolver(
      ctx,
      {.blueprint_dir = prepared->blueprint_dir, .work_dir = work_dir, .python_dir = python_dir});
  auto proxy =
      CtxProxy::Start(work_dir, [&resolver](const json& args) { return resolver.Handle(args); });
  if (!proxy.ok()) {
    ctx.Fail("starting the ctx proxy: " + proxy.status().message(), /*recoverable=*/true);
    return;
  }
  run.env["CTX_SOCKET_URL"] = (*proxy)->url();
  run.env["CTX_TOKEN"] = (*proxy)->token();
  // Absolute: the script runs in its own work dir, where a relative PATH entry finds nothing.
  std::error_code ignored;
  const fs::path ctx_dir =
      options.ctx_dir.empty() ? DefaultCtxDirectory() : fs::absolute(options.ctx_dir, ignored);
  std::string path_value = run.env.count("PATH") != 0       ? run.env["PATH"]
                           : std::getenv("PATH") != nullptr ? std::getenv("PATH")
                                                            : "/usr/local/bin:/usr/bin:/bin";
  if (!ctx_dir.empty()) {
    path_value = ctx_dir.string() + ":" + path_value;
  }
  run.env["PATH"] = path_value;
  // Our `cloudify` package first, so `from cloudify import ctx` finds the proxying one.
  const char* python_path = std::getenv("PYTHONPATH");
  run.env["PYTHONPATH"] =
      run.env.count("PYTHONPATH") != 0 ? python_dir.string() + ":" + run.env["PYTHONPATH"]
      : python_path != nullptr && *python_path != '\0' ? python_dir.string() + ":" + python_path
                                                       : python_dir.string();
  json parameters = inputs.is_object() ? inputs : json::object();
  parameters.erase("process");
  parameters.erase("script_source");
  run.env["CLOUDIFY_CTX_PARAMETERS"] =
      parameters.dump(-1, ' ', false, json::error_handler_t::replace);

  // The original evaluates .py scripts (and any with eval_python: true) in its own Python with
  // `ctx` at hand; ours runs them under our runner, which gives them the proxying `ctx`.
  const auto eval_python = process.find("eval_python");
  const bool evaluate = eval_python != process.end() && eval_python->is_boolean()
                            ? eval_python->get<bool>()
                            : prepared->script.extension() == ".py";

  std::string prefix = process.contains("command_prefix") && process["command_prefix"].is_string()
                           ? process["command_prefix"].get<std::string>()
                           : "";
  if (evaluate) {
    prefix = "python3 -m cloudify.script_runner";
  } else if (prefix.empty()) {
    // No `#!` line: a .py file runs with python3, anything else with /bin/sh (what a shell
    // does with such a file).
    std::ifstream head(prepared->script);
    char magic[2] = {0, 0};
    head.read(magic, 2);
    if (magic[0] != '#' || magic[1] != '!') {
      prefix = prepared->script.extension() == ".py" ? "python3" : "/bin/sh";
    }
  }
  std::string args_text;
  if (process.contains("args") && process["args"].is_array()) {
    for (const auto& a : process["args"]) {
      args_text += " " + EnvValue(a);
    }
  }
  if (evaluate && args_text.empty()) {
    run.argv = {"python3", "-m", "cloudify.script_runner", prepared->script.string()};
  } else if (prefix.empty() && args_text.empty()) {
    run.argv = {prepared->script.string()};
  } else if (args_text.empty() && prefix.find_first_of(" \t'\"\\$") == std::string::npos) {
    run.argv = {prefix, prepared->script.string()};  // one word: no shell needed
  } else {
    std::string command = prefix.empty() ? "" : prefix + " ";
    command += ShellQuote(prepared->script.string()) + args_text;
    run.argv = {"/bin/sh", "-c", command};
  }
  run.cwd = process.contains("cwd") && process["cwd"].is_string()
                ? fs::path(process["cwd"].get<std::string>())
                : work_dir;
  run.timeout = ctx.timeout();
  run.max_line_bytes = std::max<size_t>(options.max_line_bytes, 16);

  size_t budget = options.max_logged_output_bytes;
  std::deque<std::string> stderr_tail;
  OutputLog out_log(ctx.logger(), options, "<out> ", budget, nullptr);
  OutputLog err_log(ctx.logger(), options, "<err> ", budget, &stderr_tail);
  auto flag = [&process](const char* key) {  // anything but a boolean false means true
    auto it = process.find(key);
    return it == process.end() || !it->is_boolean() || it->get<bool>();
  };
  const bool log_stdout = flag("log_stdout");
  const bool log_stderr = flag("log_stderr");
  run.on_stdout_line = [&](std::string_view line) {
    if (log_stdout) {
      out_log.Line(line);
    }
  };
  run.on_stderr_line = [&](std::string_view line) {
    if (log_stderr) {
      err_log.Line(line);
    }
  };

  // Another thread may have forked between our write and close of the script: its child holds
  // the descriptor until it execs, and exec meanwhile fails with ETXTBSY. That passes at once.
  const std::string busy = std::strerror(ETXTBSY);
  auto result = RunProcess(run);
  for (int attempt = 0;
       attempt < 50 && !result.ok() && result.status().message().find(busy) != std::string::npos;
       ++attempt) {
    usleep(2000);
    result = RunProcess(run);
  }
  // From here on no ctx call is answered: the outcome below is final.
  (*proxy)->Close();
  out_log.Summary();
  err_log.Summary();

  if (!result.ok()) {
    ctx.Fail("script " + prepared->shown + " could not be started: " + result.status().message(),
             /*recoverable=*/false);
    return;
  }
  if (resolver.stop_requested()) {
    return;  // abort_operation / retry_operation set the outcome
  }
  if (result->timed_out) {
    const double seconds = run.timeout ? run.timeout->count() / 1000.0 : 0;
    char text[32];
    std::snprintf(text, sizeof text, "%g", seconds);
    ctx.Fail("script " + prepared->shown + " timed out after " + text +
                 " s and was killed with its process group",
             ctx.timeout_recoverable());
    return;
  }
  if (!result->succeeded()) {
    ctx.Fail(FailureText(prepared->shown, *result, stderr_tail), /*recoverable=*/true);
  }
}

}  // namespace cloudify::workflow
