// Session: a long-lived bash (no profile, no rc files), or a Python interpreter, in one sandbox
// for a whole episode. cwd, environment variables (bash), interpreter state (Python) and
// workspace files persist between commands.
//
// Protocol: each command is sent to the shell's stdin as an ANSI-C quoted string that the shell
// evals with stdin from /dev/null and fd 3 closed; afterwards the shell writes a status record
// (exit code, $PWD, `export -p`) framed by a per-command random nonce to fd 3, a pipe only the
// shell holds. Command output therefore never mixes with the framing: look-alike markers,
// binary data and missing trailing newlines are just output. When the shell dies (`exit`,
// `exec`, a timeout, a seccomp kill) the session starts a new shell with the last known cwd and
// exported variables and says so in the result (shell_restarted).
//
// Thread-safety: like Sandbox, one thread (or strand) at a time.
#pragma once

#include <boost/asio/posix/stream_descriptor.hpp>
#include <boost/asio/steady_timer.hpp>
#include <functional>
#include <memory>
#include <string>

#include "common/status.h"
#include "sandbox/sandbox.h"

namespace toolgym::sandbox {

// What the session keeps alive between commands.
enum class Interpreter {
  kBash,  // bash --noprofile --norc; a command is a bash script
  // Debian's python3 in isolated mode (-I) running a small driver: a command is a cell of Python
  // executed in one persistent namespace, like a notebook; the value of a final expression is
  // printed (repr), an uncaught exception prints its traceback and gives exit code 1. The
  // workspace is first on sys.path. Exports are not tracked; cwd is (os.chdir persists).
  kPython,
};

struct SessionOptions {
  Interpreter interpreter = Interpreter::kBash;
  std::string python_path = "/usr/bin/python3";
};

class Session {
 public:
  static StatusOr<std::unique_ptr<Session>> Create(SandboxConfig config,
                                                   SessionOptions options = {});
  static StatusOr<std::unique_ptr<Session>> Create(SandboxConfig config,
                                                   boost::asio::any_io_executor executor,
                                                   SessionOptions options = {});
  ~Session();

  using ExecHandler = std::function<void(RunResult)>;
  // Runs `command` in the shell. timeout_s <= 0 uses the config's wall_time_s. The result has
  // the command's exit code, output (capped as in Limits) and wall time; cpu time and peak
  // memory are not measured per command.
  void AsyncExec(std::string command, double timeout_s, ExecHandler handler);
  RunResult Exec(const std::string& command, double timeout_s = 0);

  // A new session whose workspace is a snapshot of this one's and whose shell starts in the
  // same cwd with the same exported variables.
  StatusOr<std::unique_ptr<Session>> Fork();
  // Workspace back to the template and a fresh shell in the workspace.
  Status Reset();
  // Workspace back to the template with `contents` written over it, and a fresh shell. With the
  // session's own io_context this kills the shell and remounts the workspace in place (well
  // under a millisecond plus the shell's start); with an external executor it restarts the
  // sandbox.
  Status Reset(const FileTree& contents);
  // Ends the shell (if alive) and runs one fresh process tree in the sandbox, seeing the
  // workspace as the session left it; the next Exec starts a new shell with the last cwd and
  // exports. For verifiers and test runners. Own io_context only (sessions made without an
  // executor); with an external executor it returns kSandboxError.
  RunResult RunFresh(RunOptions options);
  Interpreter interpreter() const { return options_.interpreter; }

  const std::string& cwd() const { return cwd_; }
  // `export -p` of the shell after the last command.
  const std::string& exported() const { return exported_; }
  Sandbox& sandbox() { return *sandbox_; }

 private:
  struct Pending;
  Session(std::unique_ptr<Sandbox> sandbox, SessionOptions options);
  Status StartShell();
  // Kills the shell and waits for its tree to be gone (own io_context only).
  Status StopShell();
  std::string EncodeCommand(const std::string& command, const std::string& nonce) const;
  void OnShellExit(const JobExit& e);
  void DoExec(std::shared_ptr<Pending> p);
  void WaitStatus(const std::shared_ptr<Pending>& p);
  void WaitOutput(const std::shared_ptr<Pending>& p, int which);
  void Drain(int which, Pending& p);
  void Complete(const std::shared_ptr<Pending>& p);  // the shell lives on
  void FillResult(Pending& p, RunResult& r);

  std::unique_ptr<Sandbox> sandbox_;
  SessionOptions options_;
  std::unique_ptr<boost::asio::posix::stream_descriptor> stdin_, out_[2], status_;
  std::string status_buf_;
  bool shell_alive_ = false;
  std::shared_ptr<Pending> pending_;
  std::string cwd_;
  std::string exported_;
  std::uint64_t generation_ = 0;  // bumps on every shell start; stale handlers check it
};

}  // namespace toolgym::sandbox
