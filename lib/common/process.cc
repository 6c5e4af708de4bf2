#include "cloudify/process.h"

#include <algorithm>
#include <array>
#include <cerrno>
#include <cstring>

#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <spawn.h>
#include <sys/wait.h>
#include <unistd.h>

extern char** environ;

namespace cloudify {
namespace {

// Splits a stream into lines for a callback, bounding what it holds to max_line_bytes.
class LineSplitter {
 public:
  LineSplitter(const std::function<void(std::string_view)>& sink, size_t max_line)
      : sink_(sink), max_line_(max_line) {}

  void Feed(std::string_view data) {
    while (!data.empty()) {
      size_t newline = data.find('\n');
      size_t take = newline == std::string_view::npos ? data.size() : newline;
      size_t room = max_line_ - pending_.size();
      if (take > room) {
        take = room;
        newline = std::string_view::npos;
      }
      pending_.append(data.substr(0, take));
      data.remove_prefix(take);
      if (newline != std::string_view::npos) {
        data.remove_prefix(1);
        Emit();
      } else if (pending_.size() >= max_line_) {
        Emit();
      }
    }
  }

  void Finish() {
    if (!pending_.empty()) {
      Emit();
    }
  }

 private:
  void Emit() {
    if (sink_) {
      sink_(pending_);
    }
    pending_.clear();
  }

  const std::function<void(std::string_view)>& sink_;
  const size_t max_line_;
  std::string pending_;
};

struct Pipe {
  int read = -1;
  int write = -1;
  ~Pipe() {
    if (read >= 0) {
      close(read);
    }
    if (write >= 0) {
      close(write);
    }
  }
};

Status MakePipe(Pipe& p) {
  int fds[2];
  if (pipe2(fds, O_CLOEXEC) != 0) {
    return InternalError(std::string("pipe: ") + std::strerror(errno));
  }
  p.read = fds[0];
  p.write = fds[1];
  return Status::Ok();
}

std::vector<std::string> MergedEnvironment(const std::map<std::string, std::string>& extra) {
  std::vector<std::string> out;
  for (char** e = environ; *e != nullptr; ++e) {
    std::string_view entry(*e);
    std::string key(entry.substr(0, entry.find('=')));
    if (extra.find(key) == extra.end()) {
      out.emplace_back(entry);
    }
  }
  for (const auto& [key, value] : extra) {
    out.push_back(key + "=" + value);
  }
  return out;
}

}  // namespace

std::string ShellQuote(std::string_view value) {
  std::string out = "'";
  for (char c : value) {
    if (c == '\'') {
      out += "'\\''";  // close the quote, an escaped quote, open again
    } else {
      out += c;
    }
  }
  out += "'";
  return out;
}

Result<ProcessResult> RunProcess(const ProcessOptions& options) {
  if (options.argv.empty()) {
    return BadParametersError("no program to run");
  }
  Pipe out, err;
  CLOUDIFY_RETURN_IF_ERROR(MakePipe(out));
  CLOUDIFY_RETURN_IF_ERROR(MakePipe(err));

  std::vector<std::string> env_strings = MergedEnvironment(options.env);
  std::vector<char*> envp;
  for (auto& s : env_strings) {
    envp.push_back(s.data());
  }
  envp.push_back(nullptr);
  std::vector<std::string> argv_strings = options.argv;
  std::vector<char*> argv;
  for (auto& s : argv_strings) {
    argv.push_back(s.data());
  }
  argv.push_back(nullptr);
  const std::string cwd = options.cwd.string();

  // posix_spawn, not fork: glibc starts the child with CLONE_VM|CLONE_VFORK, so a large,
  // many-threaded parent (a manager) does not pay for copying its page tables on every
  // script run. The child gets its own process group (so a timeout kills its children too),
  // the pipes as stdout/stderr, /dev/null as stdin and no blocked signals (the parent may
  // block signals it sigwaits on).
  posix_spawn_file_actions_t actions;
  posix_spawnattr_t attr;
  posix_spawn_file_actions_init(&actions);
  posix_spawnattr_init(&attr);
  posix_spawn_file_actions_adddup2(&actions, out.write, STDOUT_FILENO);
  posix_spawn_file_actions_adddup2(&actions, err.write, STDERR_FILENO);
  posix_spawn_file_actions_addopen(&actions, STDIN_FILENO, "/dev/null", O_RDONLY, 0);
  if (!cwd.empty()) {
    posix_spawn_file_actions_addchdir_np(&actions, cwd.c_str());
  }
  sigset_t none;
  sigemptyset(&none);
  posix_spawnattr_setsigmask(&attr, &none);
  posix_spawnattr_setpgroup(&attr, 0);
  posix_spawnattr_setflags(&attr, POSIX_SPAWN_SETPGROUP | POSIX_SPAWN_SETSIGMASK);

  const auto start = std::chrono::steady_clock::now();
  pid_t pid = -1;
  int spawn_error = posix_spawnp(&pid, argv[0], &actions, &attr, argv.data(), envp.data());
  posix_spawn_file_actions_destroy(&actions);
  posix_spawnattr_destroy(&attr);
  if (spawn_error != 0) {
    return NotFoundError("cannot run '" + options.argv[0] + "'" +
                         (cwd.empty() ? "" : " in " + cwd) + ": " + std::strerror(spawn_error));
  }
  close(out.write);
  close(err.write);
  out.write = err.write = -1;

  ProcessResult result;
  LineSplitter stdout_lines(options.on_stdout_line, options.max_line_bytes);
  LineSplitter stderr_lines(options.on_stderr_line, options.max_line_bytes);
  std::array<pollfd, 2> fds{{{out.read, POLLIN, 0}, {err.read, POLLIN, 0}}};
  std::array<char, 16 * 1024> buffer{};
  int open_streams = 2;
  int status = 0;
  bool exited = false;
  // Reads what is ready within wait_ms; false when nothing was.
  auto pump = [&](int wait_ms) {
    int ready = poll(fds.data(), fds.size(), wait_ms);
    if (ready <= 0) {
      return false;
    }
    for (size_t i = 0; i < fds.size(); ++i) {
      if (fds[i].fd < 0 || (fds[i].revents & (POLLIN | POLLHUP | POLLERR)) == 0) {
        continue;
      }
      ssize_t n = read(fds[i].fd, buffer.data(), buffer.size());
      if (n > 0) {
        (i == 0 ? stdout_lines : stderr_lines).Feed(std::string_view(buffer.data(), size_t(n)));
      } else if (n == 0 || errno != EINTR) {
        fds[i].fd = -1;  // poll ignores negative descriptors
        --open_streams;
      }
    }
    return true;
  };
  constexpr int kPollSliceMs = 50;
  while (!exited) {
    int wait_ms = kPollSliceMs;
    if (options.timeout) {
      auto left = *options.timeout - std::chrono::duration_cast<std::chrono::milliseconds>(
                                         std::chrono::steady_clock::now() - start);
      if (left.count() <= 0) {
        result.timed_out = true;
        kill(-pid, SIGKILL);  // the whole group: the script and whatever it started
        waitpid(pid, &status, 0);
        break;
      }
      wait_ms = static_cast<int>(std::min<int64_t>(left.count(), kPollSliceMs));
    }
    if (open_streams > 0) {
      pump(wait_ms);
      exited = waitpid(pid, &status, WNOHANG) == pid;
    } else if (!options.timeout) {
      exited = waitpid(pid, &status, 0) == pid;  // nothing left to read: just wait
    } else {
      exited = waitpid(pid, &status, WNOHANG) == pid;
      if (!exited) {
        usleep(1000);
      }
    }
  }
  // Drain what the process wrote before it ended. A child it left in the background may hold
  // the pipes open for ever, so this stops at the first quiet moment instead of waiting for EOF.
  while (open_streams > 0 && pump(result.timed_out ? 0 : 10)) {
  }
  stdout_lines.Finish();
  stderr_lines.Finish();

  result.duration = std::chrono::duration_cast<std::chrono::milliseconds>(
      std::chrono::steady_clock::now() - start);
  if (WIFEXITED(status)) {
    result.exit_code = WEXITSTATUS(status);
  } else if (WIFSIGNALED(status)) {
    result.term_signal = WTERMSIG(status);
  }
  return result;
}

}  // namespace cloudify
