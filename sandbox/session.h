// Session: a long-lived bash (no profile, no rc files) in one sandbox for a whole episode.
// cwd, environment variables and workspace files persist between commands.
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

class Session {
 public:
  static StatusOr<std::unique_ptr<Session>> Create(SandboxConfig config);
  static StatusOr<std::unique_ptr<Session>> Create(SandboxConfig config,
                                                   boost::asio::any_io_executor executor);
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

  const std::string& cwd() const { return cwd_; }
  // `export -p` of the shell after the last command.
  const std::string& exported() const { return exported_; }
  Sandbox& sandbox() { return *sandbox_; }

 private:
  struct Pending;
  explicit Session(std::unique_ptr<Sandbox> sandbox);
  Status StartShell();
  void OnShellExit(const JobExit& e);
  void DoExec(std::shared_ptr<Pending> p);
  void WaitStatus(const std::shared_ptr<Pending>& p);
  void WaitOutput(const std::shared_ptr<Pending>& p, int which);
  void Drain(int which, Pending& p);
  void Complete(const std::shared_ptr<Pending>& p);  // the shell lives on
  void FillResult(Pending& p, RunResult& r);

  std::unique_ptr<Sandbox> sandbox_;
  std::unique_ptr<boost::asio::posix::stream_descriptor> stdin_, out_[2], status_;
  std::string status_buf_;
  bool shell_alive_ = false;
  std::shared_ptr<Pending> pending_;
  std::string cwd_;
  std::string exported_;
  std::uint64_t generation_ = 0;  // bumps on every shell start; stale handlers check it
};

}  // namespace toolgym::sandbox
