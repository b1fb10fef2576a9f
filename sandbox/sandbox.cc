#include "sandbox/sandbox.h"

#include <fcntl.h>
#include <signal.h>
#include <sys/fsuid.h>
#include <sys/wait.h>
#include <unistd.h>

#include <boost/asio/bind_executor.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/steady_timer.hpp>
#include <chrono>
#include <future>
#include <mutex>

#include "common/check.h"
#include "sandbox/output_capture.h"
#include "sandbox/protocol.h"
#include "sandbox/seccomp_policy.h"

namespace toolgym::sandbox {
namespace asio = boost::asio;
using nlohmann::json;

namespace {

constexpr int kStartTimeoutMs = 10000;
constexpr auto kKillGrace = std::chrono::seconds(5);
constexpr unsigned kSandboxUid = 1000;

// Host /etc entries a shell, coreutils and Python need; everything else of /etc stays hidden.
const std::vector<std::string> kEtcBinds = {
    "ld.so.cache", "ld.so.conf", "ld.so.conf.d", "alternatives", "localtime",  "protocols",
    "services",    "mime.types", "ssl",          "python3",      "python3.11", "magic",
};

std::string Hex(const std::string& bytes) {
  static constexpr char kDigits[] = "0123456789abcdef";
  std::string out;
  out.reserve(bytes.size() * 2);
  for (unsigned char c : bytes) {
    out.push_back(kDigits[c >> 4]);
    out.push_back(kDigits[c & 15]);
  }
  return out;
}

// BPF programs are pure functions of (options, network); compile each once per process.
StatusOr<std::string> CachedBpf(const SeccompOptions& options, NetworkMode network) {
  static std::mutex mu;
  static std::map<std::tuple<bool, bool, int>, std::string> cache;
  std::lock_guard<std::mutex> lock(mu);
  auto key = std::make_tuple(options.enabled, options.kill_on_violation, static_cast<int>(network));
  if (auto it = cache.find(key); it != cache.end()) return it->second;
  TG_ASSIGN_OR_RETURN(std::string bpf, BuildSeccompBpf(options, network));
  cache[key] = bpf;
  return bpf;
}

bool PathUnder(const std::string& path, const std::string& dir) {
  return path == dir || path.starts_with(dir + "/");
}

}  // namespace

Verdict DecideVerdict(const JobExit& e, bool timed_out, bool output_killed, bool oom,
                      double cpu_limit_s, std::string* violation) {
  if (!e.sandbox_error.empty()) return Verdict::kSandboxError;
  if (!e.violation.empty()) {
    *violation = e.violation;
    return Verdict::kSeccompViolation;
  }
  const bool signaled = WIFSIGNALED(e.wait_status);
  const int sig = signaled ? WTERMSIG(e.wait_status) : 0;
  if (sig == SIGSYS) {
    // Only the bad-ABI rule kills with SIGSYS; every other rule is reported by name.
    *violation = "foreign syscall ABI (i386 int 0x80 or x32)";
    return Verdict::kSeccompViolation;
  }
  if (timed_out) return Verdict::kWallTimeLimit;
  // A shell reports a child killed by a signal as exit status 128 + signal: `bash -c 'prog'` whose
  // prog hit RLIMIT_CPU exits 152. Processes the init does not reap itself are seen only so.
  const int code = WIFEXITED(e.wait_status) ? WEXITSTATUS(e.wait_status) : -1;
  if (output_killed || e.sigxfsz || code == 128 + SIGXFSZ) return Verdict::kOutputLimit;
  if (oom) return Verdict::kMemoryLimit;
  if (e.sigxcpu || sig == SIGXCPU || code == 128 + SIGXCPU ||
      (sig == SIGKILL && cpu_limit_s > 0 && e.cpu_time_s >= cpu_limit_s))
    return Verdict::kCpuTimeLimit;
  if (signaled) return Verdict::kSignaled;
  return WEXITSTATUS(e.wait_status) == 0 ? Verdict::kOk : Verdict::kNonzeroExit;
}

struct Sandbox::ActiveJob {
  ExitHandler on_exit;
};

struct Sandbox::RunState {
  explicit RunState(asio::strand<asio::any_io_executor>& strand) : timer(strand) {}
  RunOptions options;
  Limits limits;
  RunHandler handler;
  std::unique_ptr<asio::posix::stream_descriptor> out[2];  // stdout, stderr
  std::unique_ptr<asio::posix::stream_descriptor> in;
  std::size_t stdin_offset = 0;
  OutputCapture capture[2];
  bool eof[2] = {false, false};
  asio::steady_timer timer;
  bool exited = false;
  JobExit exit;
  bool timed_out = false;
  bool output_killed = false;
  bool done = false;
  std::chrono::steady_clock::time_point start;
};

Status ValidateConfig(const SandboxConfig& c) {
  const std::string& ws = c.workspace_path;
  if (ws.empty() || ws.front() != '/' || ws == "/")
    return InvalidArgumentError("workspace_path must be an absolute path other than '/', got '{}'",
                                ws);
  if (Status st = ValidateRelativePath(ws.substr(1)); !st.ok())
    return InvalidArgumentError("workspace_path '{}' is not normalized", ws);
  for (const char* sys : {"/usr", "/bin", "/sbin", "/lib", "/lib32", "/lib64", "/libx32", "/etc",
                          "/dev", "/proc", "/sys", "/tmp", "/.toolgym"}) {
    if (PathUnder(ws, sys) || PathUnder(sys, ws))
      return InvalidArgumentError("workspace_path '{}' overlaps the system path '{}'", ws, sys);
  }
  if (c.hostname.empty() || c.hostname.size() > 63 ||
      c.hostname.find_first_not_of(
          "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789-") != std::string::npos)
    return InvalidArgumentError("hostname must be 1-63 letters, digits or '-', got '{}'",
                                c.hostname);
  if (!(c.limits.wall_time_s > 0))
    return InvalidArgumentError("limits.wall_time_s must be > 0, got {}", c.limits.wall_time_s);
  if (c.limits.cpu_time_s < 0)
    return InvalidArgumentError("limits.cpu_time_s must be >= 0, got {}", c.limits.cpu_time_s);
  if (c.workspace_bytes == 0) return InvalidArgumentError("workspace_bytes must be > 0");
  if (c.tmp_bytes == 0) return InvalidArgumentError("tmp_bytes must be > 0");
  if (c.workspace_template.total_bytes() > c.workspace_bytes)
    return InvalidArgumentError("workspace template holds {} bytes, more than workspace_bytes = {}",
                                c.workspace_template.total_bytes(), c.workspace_bytes);
  for (const auto& [host, inside] : c.extra_ro_binds) {
    if (host.empty() || host.front() != '/' || inside.empty() || inside.front() != '/')
      return InvalidArgumentError("extra_ro_binds entries must be absolute paths, got '{}' -> '{}'",
                                  host, inside);
    if (::access(host.c_str(), F_OK) != 0)
      return InvalidArgumentError("extra_ro_binds: host path '{}' does not exist", host);
    if (PathUnder(inside, ws))
      return InvalidArgumentError("extra_ro_binds: '{}' lies inside the workspace", inside);
  }
  for (const auto& [k, v] : c.env)
    if (k.empty() || k.find('=') != std::string::npos || k.find('\0') != std::string::npos)
      return InvalidArgumentError("env: invalid variable name '{}'", k);
  return OkStatus();
}

Sandbox::Sandbox(SandboxConfig config, std::unique_ptr<asio::io_context> own_io,
                 const asio::any_io_executor& executor)
    : config_(std::move(config)),
      own_io_(std::move(own_io)),
      strand_(asio::make_strand(executor)) {}

StatusOr<std::unique_ptr<Sandbox>> Sandbox::Create(SandboxConfig config) {
  auto io = std::make_unique<asio::io_context>(1);
  auto exec = io->get_executor();
  std::unique_ptr<Sandbox> sb(new Sandbox(std::move(config), std::move(io), exec));
  TG_RETURN_IF_ERROR(sb->Start().WithContext("creating sandbox"));
  return sb;
}

StatusOr<std::unique_ptr<Sandbox>> Sandbox::Create(SandboxConfig config,
                                                   asio::any_io_executor executor) {
  std::unique_ptr<Sandbox> sb(new Sandbox(std::move(config), nullptr, std::move(executor)));
  TG_RETURN_IF_ERROR(sb->Start().WithContext("creating sandbox"));
  return sb;
}

Status Sandbox::Start() {
  TG_RETURN_IF_ERROR(ValidateConfig(config_));
  if (config_.seccomp.enabled) {
    TG_RETURN_IF_ERROR(CheckSeccompSupport());
    TG_ASSIGN_OR_RETURN(bpf_, CachedBpf(config_.seccomp, config_.network));
  }
  TG_ASSIGN_OR_RETURN(std::string init_path, FindInitHelper(config_.init_path));
  if (uid_.host_uid() == 0) {
    TG_ASSIGN_OR_RETURN(uid_, UidSlot::Allocate());
  }
  if (config_.use_cgroups && !cgroup_) {
    auto cg = Cgroup::Create("sb-" + std::to_string(uid_.host_uid()));
    if (cg.ok()) {
      cgroup_ = std::move(cg).value();
    } else {
      warnings_.push_back("no cgroup (" + cg.status().message() +
                          "): memory is limited by RLIMIT_AS and processes by RLIMIT_NPROC only");
    }
  }
  if (cgroup_) {
    // +1: the init lives in the cgroup too.
    TG_RETURN_IF_ERROR(
        cgroup_->SetPidsLimit(config_.limits.max_processes ? config_.limits.max_processes + 1 : 0));
    cgroup_pids_ = config_.limits.max_processes;
    auto ooms = cgroup_->OomKillCount();
    oom_kills_ = ooms.ok() ? *ooms : 0;
  }

  LaunchSpec spec;
  spec.init_path = init_path;
  spec.own_network = config_.network != NetworkMode::kHost;
  spec.host_uid = uid_.host_uid();
  spec.sandbox_uid = kSandboxUid;
  Cgroup* cg = cgroup_.get();
  spec.before_start = [cg](pid_t pid) -> Status {
    return cg ? cg->AddProcess(pid).WithContext("joining cgroup") : OkStatus();
  };
  TG_ASSIGN_OR_RETURN(init_, LaunchInit(spec));
  control_ = std::make_unique<asio::posix::stream_descriptor>(strand_, ::dup(init_.control.get()));
  broken_ = false;

  const std::string home = config_.home.value_or(config_.workspace_path);
  std::map<std::string, std::string> etc = {
      {"passwd", "root:x:0:0:root:/root:/usr/sbin/nologin\nuser:x:1000:1000:user:" + home +
                     ":/bin/bash\nnobody:x:65534:65534:nobody:/nonexistent:/usr/sbin/nologin\n"},
      {"group", "root:x:0:\nuser:x:1000:\nnogroup:x:65534:\n"},
      {"hostname", config_.hostname + "\n"},
      {"hosts", "127.0.0.1\tlocalhost " + config_.hostname + "\n::1\tlocalhost\n"},
      {"nsswitch.conf", "passwd: files\ngroup: files\nhosts: files dns\n"},
      {"resolv.conf", ""},
  };
  std::vector<std::string> etc_binds = kEtcBinds;
  if (config_.network == NetworkMode::kHost) {
    etc.erase("resolv.conf");
    etc_binds.push_back("resolv.conf");
  }
  json ro_binds = json::array();
  for (const auto& [host, inside] : config_.extra_ro_binds)
    ro_binds.push_back({protocol::EncodeBytes(host), protocol::EncodeBytes(inside)});
  json etc_json = json::object();
  for (const auto& [name, contents] : etc) etc_json[name] = protocol::EncodeBytes(contents);
  json cfg = {{"type", "config"},
              {"workspace_path", protocol::EncodeBytes(config_.workspace_path)},
              {"workspace_bytes", config_.workspace_bytes},
              {"tmp_bytes", config_.tmp_bytes},
              {"hostname", config_.hostname},
              {"own_network", config_.network != NetworkMode::kHost},
              {"uid", kSandboxUid},
              {"ro_binds", ro_binds},
              {"etc_binds", etc_binds},
              {"etc_files", etc_json},
              {"seccomp", config_.seccomp.enabled},
              {"bpf", Hex(bpf_)}};
  json reply;
  TG_RETURN_IF_ERROR(RequestReply(cfg, &reply));
  if (reply["type"] != "ready")
    return InternalError("sandbox init failed at '{}': {}", reply.value("step", "?"),
                         reply.value("message", "?"));

  // The pristine workspace template goes into the init's hidden lower layer, written from the
  // host side through /proc/PID/root before any untrusted code has run there.
  const std::string lower = "/proc/" + std::to_string(init_.pid) + "/root/.toolgym/lower";
  UniqueFd lower_fd(::open(lower.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC));
  if (!lower_fd.valid()) return ErrnoError("open " + lower, errno);
  {
    // The tmpfs belongs to the sandbox's user namespace, where host root is unmapped (creating
    // files as uid 0 fails with EOVERFLOW). Create them as the sandbox user; setfsuid is
    // per-thread, and all paths are resolved beneath the fd opened above as root.
    const uid_t u = uid_.host_uid();
    ::setfsgid(u);
    ::setfsuid(u);
    Status st = config_.workspace_template.WriteBeneath(lower_fd.get(), u, u);
    ::setfsuid(0);
    ::setfsgid(0);
    TG_RETURN_IF_ERROR(st.WithContext("writing workspace template"));
  }
  TG_RETURN_IF_ERROR(RequestReply({{"type", "mount_workspace"}}, &reply));
  if (reply["type"] != "ok")
    return InternalError("mounting the workspace failed: {}", reply.value("message", "?"));
  overlay_ = reply.value("overlay", false);
  if (!overlay_)
    warnings_.push_back("no overlayfs in user namespaces: workspace reset copies the template");
  return OkStatus();
}

Sandbox::~Sandbox() {
  // A run still in flight on an external executor: its handlers hold the RunState, not this
  // Sandbox; marking it done and cancelling its waits makes each of them return untouched.
  if (auto run = current_run_.lock()) {
    run->done = true;
    run->timer.cancel();
    boost::system::error_code ec;
    for (auto& d : run->out)
      if (d) d->close(ec);
    if (run->in) run->in->close(ec);
  }
  job_.reset();
  if (control_) {
    boost::system::error_code ec;
    control_->close(ec);
  }
  KillInit(init_);
}

Status Sandbox::Restart() {
  if (job_) FailJob("sandbox restarted");
  if (control_) {
    boost::system::error_code ec;
    control_->close(ec);
    control_.reset();
  }
  KillInit(init_);
  return Start().WithContext("restarting sandbox");
}

Status Sandbox::RequestReply(const json& request, json* reply) {
  if (job_) return FailedPreconditionError("a command is running in this sandbox");
  Status st = protocol::Send(init_.control.get(), request);
  if (st.ok()) {
    auto r = protocol::Recv(init_.control.get(), kStartTimeoutMs);
    if (r.ok()) {
      *reply = std::move(r->body);
      return OkStatus();
    }
    st = r.status();
  }
  broken_ = true;
  return st.WithContext("sandbox init did not answer '" + request.value("type", "") + "'");
}

Status Sandbox::ResetWorkspace() {
  if (broken_) return Restart();
  json reply;
  TG_RETURN_IF_ERROR(RequestReply({{"type", "mount_workspace"}}, &reply));
  if (reply["type"] != "ok")
    return InternalError("workspace reset failed: {}", reply.value("message", "?"));
  return OkStatus();
}

Status Sandbox::ResetWorkspace(const FileTree& contents) {
  TG_RETURN_IF_ERROR(ResetWorkspace());
  if (contents.empty()) return OkStatus();
  if (contents.total_bytes() > config_.workspace_bytes)
    return ResourceExhaustedError("workspace contents of {} bytes exceed workspace_bytes = {}",
                                  contents.total_bytes(), config_.workspace_bytes);
  const std::string path = "/proc/" + std::to_string(init_.pid) + "/root" + config_.workspace_path;
  UniqueFd fd(::open(path.c_str(), O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC));
  if (!fd.valid()) return ErrnoError("open workspace " + path, errno);
  // As for the template in Start(): files are created as the sandbox user (setfsuid is
  // per-thread) beneath an fd opened as root; no command has run since the reset.
  const uid_t u = uid_.host_uid();
  ::setfsgid(u);
  ::setfsuid(u);
  Status st = contents.WriteBeneath(fd.get(), u, u);
  ::setfsuid(0);
  ::setfsgid(0);
  return st.WithContext("writing workspace contents");
}

StatusOr<FileTree> Sandbox::SnapshotWorkspace() {
  const std::string path = "/proc/" + std::to_string(init_.pid) + "/root" + config_.workspace_path;
  UniqueFd fd(::open(path.c_str(), O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC));
  if (!fd.valid()) return ErrnoError("open workspace " + path, errno);
  return FileTree::ReadBeneath(fd.get(), config_.workspace_bytes + (1u << 20));
}

StatusOr<std::unique_ptr<Sandbox>> Sandbox::Fork() {
  TG_ASSIGN_OR_RETURN(FileTree tree, SnapshotWorkspace());
  SandboxConfig cfg = config_;
  cfg.workspace_template = std::move(tree);
  if (own_io_) return Create(std::move(cfg));
  return Create(std::move(cfg), strand_.get_inner_executor());
}

Status Sandbox::StartJob(const JobSpec& spec, std::vector<int> fds, ExitHandler on_exit) {
  if (job_) return FailedPreconditionError("sandbox busy: a command is already running");
  if (broken_) TG_RETURN_IF_ERROR(Restart());
  if (spec.argv.empty()) return InvalidArgumentError("argv is empty");
  std::map<std::string, std::string> env = config_.env;
  env["HOME"] = config_.home.value_or(config_.workspace_path);
  for (const auto& [k, v] : spec.env) {
    if (k.empty() || k.find('=') != std::string::npos)
      return InvalidArgumentError("env: invalid variable name '{}'", k);
    env[k] = v;
  }
  std::vector<std::string> envv;
  for (const auto& [k, v] : env) envv.push_back(k + "=" + v);
  for (const std::string& a : spec.argv)
    if (a.find('\0') != std::string::npos) return InvalidArgumentError("argv contains a NUL byte");
  const Limits& l = spec.limits;
  if (cgroup_) {
    // Files the workspace already holds are tmpfs pages charged to this cgroup. The limit is
    // memory_bytes above them, so a command gets memory_bytes for its processes and for the
    // files it writes itself, however much earlier commands left in the workspace.
    std::uint64_t limit = 0;
    if (l.memory_bytes != 0) {
      auto shmem = cgroup_->ShmemBytes();
      limit = l.memory_bytes + (shmem.ok() ? *shmem : 0);
    }
    if (limit != cgroup_memory_) {
      TG_RETURN_IF_ERROR(cgroup_->SetMemoryLimit(limit));
      cgroup_memory_ = limit;
    }
    if (l.max_processes != cgroup_pids_) {
      TG_RETURN_IF_ERROR(cgroup_->SetPidsLimit(l.max_processes ? l.max_processes + 1 : 0));
      cgroup_pids_ = l.max_processes;
    }
  }
  json req = {{"type", "spawn"},
              {"argv", protocol::EncodeBytesList(spec.argv)},
              {"env", protocol::EncodeBytesList(envv)},
              {"cwd", protocol::EncodeBytes(spec.cwd.empty() ? config_.workspace_path : spec.cwd)},
              {"rlimits",
               {{"cpu_s", static_cast<std::uint64_t>(std::ceil(l.cpu_time_s))},
                {"as", l.address_space_bytes},
                {"nproc", l.max_processes},
                {"fsize", l.file_size_bytes},
                {"nofile", l.open_files}}}};
  if (Status st = protocol::Send(init_.control.get(), req, fds); !st.ok()) {
    // A request refused before anything was sent (too large) leaves the sandbox as it was.
    if (st.code() != StatusCode::kInvalidArgument) broken_ = true;
    return st.WithContext("sending spawn to sandbox init");
  }
  job_ = std::make_shared<ActiveJob>();
  job_->on_exit = std::move(on_exit);
  WaitControl();
  return OkStatus();
}

void Sandbox::KillJob() {
  if (!job_) return;
  if (!protocol::Send(init_.control.get(), {{"type", "kill"}}).ok())
    FailJob("sandbox init is gone");
}

void Sandbox::WaitControl() {
  std::weak_ptr<ActiveJob> weak = job_;
  control_->async_wait(asio::posix::stream_descriptor::wait_read,
                       asio::bind_executor(strand_, [this, weak](boost::system::error_code ec) {
                         if (ec || weak.expired() || job_ != weak.lock()) return;
                         for (;;) {
                           auto msg = protocol::Recv(init_.control.get(), 0);
                           if (!msg.ok()) {
                             if (msg.status().code() == StatusCode::kDeadlineExceeded) break;
                             broken_ = true;
                             FailJob("sandbox init exited unexpectedly: " + msg.status().message());
                             return;
                           }
                           OnControlMessage(msg->body);
                           if (!job_) return;
                         }
                         WaitControl();
                       }));
}

void Sandbox::OnControlMessage(const json& body) {
  if (!job_) return;
  const std::string type = body.value("type", "");
  if (type == "error") {
    FailJob("sandbox init: " + body.value("step", std::string("?")) + ": " +
            body.value("message", std::string("?")));
  } else if (type == "exited") {
    JobExit e;
    e.wait_status = body.value("status", 0);
    e.cpu_time_s = (body.value("utime_us", 0.0) + body.value("stime_us", 0.0)) / 1e6;
    e.peak_memory_bytes = body.value("maxrss_kb", std::uint64_t{0}) * 1024;
    e.sigxcpu = body.value("sigxcpu", false);
    e.sigxfsz = body.value("sigxfsz", false);
    e.violation = body.value("violation", "");
    e.exec_error = body.value("exec_error", "");
    auto job = std::move(job_);
    job->on_exit(std::move(e));
  }
}

void Sandbox::FailJob(const std::string& error) {
  if (!job_) return;
  JobExit e;
  e.sandbox_error = error;
  auto job = std::move(job_);
  if (broken_) {
    if (control_) {
      boost::system::error_code ec;
      control_->cancel(ec);
    }
  }
  job->on_exit(std::move(e));
}

void Sandbox::AsyncRun(RunOptions options, RunHandler handler) {
  auto state = std::make_shared<RunState>(strand_);
  state->options = std::move(options);
  state->handler = std::move(handler);
  asio::post(strand_, [this, state] { DoRun(state); });
}

RunResult Sandbox::Run(RunOptions options) {
  RunResult result;
  if (own_io_) {
    own_io_->restart();
    AsyncRun(std::move(options), [&result](RunResult r) { result = std::move(r); });
    own_io_->run();
    return result;
  }
  TG_CHECK(!strand_.running_in_this_thread());
  std::promise<RunResult> promise;
  auto future = promise.get_future();
  AsyncRun(std::move(options), [&promise](RunResult r) { promise.set_value(std::move(r)); });
  return future.get();
}

void Sandbox::DoRun(std::shared_ptr<RunState> state) {
  auto fail_now = [&](const std::string& msg) {
    RunResult r;
    r.verdict = Verdict::kSandboxError;
    r.error = msg;
    r.warnings = warnings_;
    state->handler(std::move(r));
  };
  if (job_) return fail_now("sandbox busy: a command is already running");
  if (state->options.argv.empty()) return fail_now("argv is empty: nothing to run");
  state->limits = state->options.limits.value_or(config_.limits);
  if (!(state->limits.wall_time_s > 0)) return fail_now("limits.wall_time_s must be > 0");

  auto out = MakePipe();
  auto err = MakePipe();
  if (!out.ok() || !err.ok()) return fail_now("cannot create output pipes");
  UniqueFd child_in;
  UniqueFd host_in;
  if (state->options.stdin_data.empty()) {
    // One /dev/null per process, dup'd per command: an empty stdin is the common case.
    static const int kDevNull = ::open("/dev/null", O_RDONLY | O_CLOEXEC);
    child_in.Reset(::fcntl(kDevNull, F_DUPFD_CLOEXEC, 0));
  } else {
    auto in = MakePipe();
    if (!in.ok()) return fail_now("cannot create stdin pipe");
    child_in = std::move(in->read);
    host_in = std::move(in->write);
  }
  JobSpec spec;
  spec.argv = state->options.argv;
  spec.env = state->options.env;
  spec.cwd = state->options.cwd;
  spec.limits = state->limits;
  state->start = std::chrono::steady_clock::now();
  current_run_ = state;
  Status st = StartJob(spec, {child_in.get(), out->write.get(), err->write.get()},
                       [this, state](JobExit e) {
                         state->exited = true;
                         state->exit = std::move(e);
                         state->timer.cancel();
                         FinishRunIfDone(state);
                       });
  if (!st.ok()) return fail_now(st.message());
  // The command holds the write ends now; ours must close or EOF never comes.
  child_in.Reset();
  out->write.Reset();
  err->write.Reset();
  state->out[0] = std::make_unique<asio::posix::stream_descriptor>(strand_, out->read.Release());
  state->out[1] = std::make_unique<asio::posix::stream_descriptor>(strand_, err->read.Release());
  state->out[0]->non_blocking(true);
  state->out[1]->non_blocking(true);
  if (host_in.valid()) {
    state->in = std::make_unique<asio::posix::stream_descriptor>(strand_, host_in.Release());
    state->in->non_blocking(true);
    WriteStdin(state);
  }
  ReadOutput(state, 0);
  ReadOutput(state, 1);
  state->timer.expires_after(std::chrono::duration_cast<std::chrono::steady_clock::duration>(
      std::chrono::duration<double>(state->limits.wall_time_s)));
  state->timer.async_wait(asio::bind_executor(strand_, [this, state](boost::system::error_code ec) {
    if (ec || state->exited || state->done) return;
    state->timed_out = true;
    KillJob();
    state->timer.expires_after(kKillGrace);
    state->timer.async_wait(
        asio::bind_executor(strand_, [this, state](boost::system::error_code ec2) {
          if (ec2 || state->exited || state->done) return;
          // The init did not deliver the exit within the grace period: take the whole sandbox down.
          broken_ = true;
          KillInit(init_);
          FailJob("sandbox init did not answer a kill within 5 s; sandbox restarted on next use");
        }));
  }));
}

void Sandbox::ReadOutput(const std::shared_ptr<RunState>& state, int which) {
  state->out[which]->async_wait(
      asio::posix::stream_descriptor::wait_read,
      asio::bind_executor(strand_, [this, state, which](boost::system::error_code ec) {
        if (state->done) return;  // finished, or abandoned by ~Sandbox
        if (ec) {
          state->eof[which] = true;
          FinishRunIfDone(state);
          return;
        }
        const std::uint64_t cap =
            which == 0 ? state->limits.stdout_bytes : state->limits.stderr_bytes;
        auto read_state = state->capture[which].ReadFrom(state->out[which]->native_handle(), cap);
        if (state->limits.output_kill_bytes != 0 && !state->output_killed &&
            state->capture[0].total + state->capture[1].total > state->limits.output_kill_bytes) {
          state->output_killed = true;
          KillJob();
        }
        if (read_state == OutputCapture::ReadState::kEof) {
          state->eof[which] = true;
          FinishRunIfDone(state);
          return;
        }
        ReadOutput(state, which);
      }));
}

void Sandbox::WriteStdin(const std::shared_ptr<RunState>& state) {
  state->in->async_wait(asio::posix::stream_descriptor::wait_write,
                        asio::bind_executor(strand_, [this, state](boost::system::error_code ec) {
                          if (ec || !state->in || state->done) return;
                          const std::string& data = state->options.stdin_data;
                          while (state->stdin_offset < data.size()) {
                            ssize_t n = WriteNoSigpipe(state->in->native_handle(),
                                                       data.data() + state->stdin_offset,
                                                       data.size() - state->stdin_offset);
                            if (n > 0) {
                              state->stdin_offset += static_cast<std::size_t>(n);
                              continue;
                            }
                            if (n < 0 && errno == EINTR) continue;
                            if (n < 0 && errno == EAGAIN) return WriteStdin(state);
                            break;  // EPIPE: the command stopped reading
                          }
                          state->in.reset();  // EOF for the command
                        }));
}

void Sandbox::FinishRunIfDone(const std::shared_ptr<RunState>& state) {
  if (state->done || !state->exited || !state->eof[0] || !state->eof[1]) return;
  state->done = true;
  state->timer.cancel();
  state->in.reset();
  state->out[0].reset();
  state->out[1].reset();
  const JobExit& e = state->exit;
  RunResult r;
  r.wall_time_s =
      std::chrono::duration<double>(std::chrono::steady_clock::now() - state->start).count();
  bool oom = false;
  if (cgroup_ && e.sandbox_error.empty()) {
    auto n = cgroup_->OomKillCount();
    if (n.ok()) {
      oom = *n > oom_kills_;
      oom_kills_ = *n;
    }
  }
  r.verdict = DecideVerdict(e, state->timed_out, state->output_killed, oom,
                            state->limits.cpu_time_s, &r.violation_syscall);
  if (r.verdict == Verdict::kSandboxError) {
    r.error = e.sandbox_error;
  } else {
    if (WIFEXITED(e.wait_status)) r.exit_code = WEXITSTATUS(e.wait_status);
    if (WIFSIGNALED(e.wait_status)) r.term_signal = WTERMSIG(e.wait_status);
    r.error = e.exec_error;
  }
  r.cpu_time_s = e.cpu_time_s;
  r.peak_memory_bytes = e.peak_memory_bytes;
  r.stdout_data = std::move(state->capture[0].data);
  r.stderr_data = std::move(state->capture[1].data);
  r.stdout_truncated = state->capture[0].truncated;
  r.stderr_truncated = state->capture[1].truncated;
  r.stdout_total_bytes = state->capture[0].total;
  r.stderr_total_bytes = state->capture[1].total;
  r.warnings = warnings_;
  auto handler = std::move(state->handler);
  handler(std::move(r));
}

}  // namespace toolgym::sandbox
