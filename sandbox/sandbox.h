// Sandbox: one isolated environment (namespaces, root filesystem, cgroup, seccomp policy) that
// runs commands one at a time, each as a fresh process tree that dies completely when it ends.
//
// Creating a sandbox costs a few milliseconds (namespaces, mounts); each command then costs
// about one fork+exec, because the sandbox's init process forks it inside the existing
// namespaces.
//
// Thread-safety: a Sandbox is used by one thread at a time (or one strand). Many sandboxes may
// share one io_context run by several threads; their handlers run on per-sandbox strands.
#pragma once

#include <boost/asio/any_io_executor.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/posix/stream_descriptor.hpp>
#include <boost/asio/strand.hpp>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "common/status.h"
#include "sandbox/cgroup.h"
#include "sandbox/config.h"
#include "sandbox/launch.h"
#include "sandbox/result.h"
#include "sandbox/workspace.h"

namespace toolgym::sandbox {

struct RunOptions {
  std::vector<std::string> argv;           // argv[0] is looked up in the command's PATH
  std::string stdin_data;                  // given on stdin, then EOF
  std::map<std::string, std::string> env;  // added to SandboxConfig::env
  std::string cwd;                         // default: the workspace
  std::optional<Limits> limits;            // default: SandboxConfig::limits
};

// A long-lived process in the sandbox with caller-provided fds (used by Session). The job's
// exit is reported once; the sandbox kills the rest of its tree then.
struct JobSpec {
  std::vector<std::string> argv;
  std::map<std::string, std::string> env;
  std::string cwd;
  Limits limits;
};
struct JobExit {
  int wait_status = 0;
  double cpu_time_s = 0;
  std::uint64_t peak_memory_bytes = 0;
  bool sigxcpu = false, sigxfsz = false;
  std::string violation;      // seccomp violation that killed the tree
  std::string exec_error;     // "execve: ENOENT (No such file or directory)"
  std::string sandbox_error;  // the init failed; the sandbox is unusable until restarted
};

// The verdict of a finished job, in the precedence of result.h, for Sandbox::Run and Session
// alike. `timed_out`/`output_killed`: the host killed the tree for that reason; `oom`: the
// cgroup OOM killer fired during the job. Sets *violation for kSeccompViolation.
Verdict DecideVerdict(const JobExit& e, bool timed_out, bool output_killed, bool oom,
                      double cpu_limit_s, std::string* violation);

class Sandbox {
 public:
  // A sandbox with its own io_context, for synchronous use through Run().
  static StatusOr<std::unique_ptr<Sandbox>> Create(SandboxConfig config);
  // A sandbox whose asynchronous operations run on `executor` (a strand is made from it).
  static StatusOr<std::unique_ptr<Sandbox>> Create(SandboxConfig config,
                                                   boost::asio::any_io_executor executor);
  // Kills every process of the sandbox and frees its cgroup. A run in flight is abandoned: its
  // handler is not called. With an external executor, destroy the sandbox on its strand (or
  // when no handler of it can be running).
  ~Sandbox();
  Sandbox(const Sandbox&) = delete;
  Sandbox& operator=(const Sandbox&) = delete;

  using RunHandler = std::function<void(RunResult)>;
  // Runs one command; `handler` is called on the sandbox's strand. One command at a time: a
  // second call while one runs completes at once with kSandboxError ("busy").
  void AsyncRun(RunOptions options, RunHandler handler);
  // Blocking form. With an external executor, must not be called from one of its threads.
  RunResult Run(RunOptions options);

  // Returns the workspace to the template. O(1) in the template's size with overlayfs.
  Status ResetWorkspace();
  // Returns the workspace to the template, then writes `contents` over it (an episode's task
  // files on a shared base template). Costs O(contents), written from the host side before any
  // command runs there. Fails while a command or job runs.
  Status ResetWorkspace(const FileTree& contents);
  // The workspace's current contents, read without following links (hostile-safe).
  StatusOr<FileTree> SnapshotWorkspace();
  // A new sandbox with the same configuration whose workspace starts from a snapshot of this
  // one. The two share nothing writable.
  StatusOr<std::unique_ptr<Sandbox>> Fork();

  const SandboxConfig& config() const { return config_; }
  // Host-side facts worth showing a user: the cgroup in use, overlay or copy workspace, and
  // anything degraded ("no cgroup: ..."). Copied into every result's warnings when degraded.
  const std::vector<std::string>& warnings() const { return warnings_; }
  bool uses_overlay() const { return overlay_; }
  pid_t init_pid() const { return init_.pid; }
  uid_t host_uid() const { return uid_.host_uid(); }

  // Lower-level job interface used by Session. StartJob sends the fds (they are dup'd into the
  // command as 0, 1, 2, 3...) and calls on_exit once, on the strand, when the job's tree is gone.
  using ExitHandler = std::function<void(JobExit)>;
  Status StartJob(const JobSpec& spec, std::vector<int> fds, ExitHandler on_exit);
  // Kills the running job's whole tree; its exit handler follows.
  void KillJob();
  bool job_active() const { return job_ != nullptr; }
  boost::asio::strand<boost::asio::any_io_executor>& strand() { return strand_; }
  boost::asio::io_context* own_io_context() { return own_io_.get(); }
  // Restarts the init after it died or stopped answering: a fresh sandbox, same config.
  Status Restart();

 private:
  struct RunState;
  struct ActiveJob;
  Sandbox(SandboxConfig config, std::unique_ptr<boost::asio::io_context> own_io,
          const boost::asio::any_io_executor& executor);
  Status Start();
  Status RequestReply(const nlohmann::json& request, nlohmann::json* reply);
  void WaitControl();
  void OnControlMessage(const nlohmann::json& body);
  void FailJob(const std::string& error);
  void DoRun(std::shared_ptr<RunState> state);
  void FinishRunIfDone(const std::shared_ptr<RunState>& state);
  void ReadOutput(const std::shared_ptr<RunState>& state, int which);
  void WriteStdin(const std::shared_ptr<RunState>& state);

  SandboxConfig config_;
  std::unique_ptr<boost::asio::io_context> own_io_;
  boost::asio::strand<boost::asio::any_io_executor> strand_;
  std::string bpf_;
  UidSlot uid_;
  std::unique_ptr<Cgroup> cgroup_;
  LaunchedInit init_;
  std::unique_ptr<boost::asio::posix::stream_descriptor> control_;
  std::shared_ptr<ActiveJob> job_;
  std::weak_ptr<RunState> current_run_;  // the run in flight, cancelled by the destructor
  bool overlay_ = false;
  bool broken_ = false;
  std::uint64_t oom_kills_ = 0;
  std::uint64_t cgroup_memory_ = 0, cgroup_pids_ = 0;
  std::vector<std::string> warnings_;
};

// Validates a configuration without creating anything; errors name the field and the value.
Status ValidateConfig(const SandboxConfig& config);

}  // namespace toolgym::sandbox
