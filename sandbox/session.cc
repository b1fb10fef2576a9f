#include "sandbox/session.h"

#include <fcntl.h>
#include <sys/random.h>
#include <sys/wait.h>
#include <unistd.h>

#include <boost/asio/bind_executor.hpp>
#include <boost/asio/post.hpp>
#include <chrono>
#include <future>
#include <sstream>

#include "common/check.h"
#include "sandbox/output_capture.h"

namespace toolgym::sandbox {
namespace asio = boost::asio;

namespace {

std::string RandomNonce() {
  unsigned char bytes[16];
  size_t got = 0;
  while (got < sizeof bytes) {
    ssize_t n = ::getrandom(bytes + got, sizeof bytes - got, 0);
    if (n > 0) got += static_cast<size_t>(n);
  }
  static constexpr char kHex[] = "0123456789abcdef";
  std::string out;
  for (unsigned char b : bytes) {
    out.push_back(kHex[b >> 4]);
    out.push_back(kHex[b & 15]);
  }
  return out;
}

// $'...' quoting that round-trips every byte but NUL through bash.
std::string AnsiCQuote(const std::string& s) {
  static constexpr char kHex[] = "0123456789abcdef";
  std::string out = "$'";
  for (unsigned char c : s) {
    if (c >= 0x20 && c < 0x7f && c != '\'' && c != '\\') {
      out.push_back(static_cast<char>(c));
    } else {
      out += "\\x";
      out.push_back(kHex[c >> 4]);
      out.push_back(kHex[c & 15]);
    }
  }
  out += "'";
  return out;
}

// `export -p` lines worth restoring in a new shell (not the shell's own bookkeeping).
std::string RestorableExports(const std::string& exported) {
  std::stringstream in(exported), out;
  std::string line;
  bool skipping = false;
  while (std::getline(in, line)) {
    if (line.starts_with("declare -x ")) {
      std::string name = line.substr(11);
      name = name.substr(0, name.find_first_of("=\n"));
      skipping = name == "PWD" || name == "OLDPWD" || name == "SHLVL" || name == "_";
    }
    if (!skipping) out << line << "\n";
  }
  return out.str();
}

// The Python session's driver (Interpreter::kPython). Reads cells framed as
// "<nonce> <length>\n<bytes>" from a private duplicate of stdin (the cell's own stdin is
// /dev/null), runs each in one namespace and writes the status record the bash protocol uses
// ("\nB<nonce>\n<rc>\n<cwd>\nE<nonce>\n") to fd 3. Its own names live in a function so that
// cells see a clean __main__-like namespace.
constexpr char kPythonDriver[] = R"PY(
def _tg_driver():
    import ast, os, sys, traceback
    ctl = os.dup(0)
    null = os.open(os.devnull, os.O_RDONLY)
    os.dup2(null, 0)
    os.close(null)
    status = os.dup(3)
    os.close(3)
    sys.path.insert(0, os.getcwd())
    ns = {"__name__": "__main__", "__builtins__": __builtins__}
    pending = b""
    def read_exact(n):
        nonlocal pending
        while len(pending) < n:
            chunk = os.read(ctl, max(65536, n - len(pending)))
            if not chunk:
                return None
            pending += chunk
        out, pending = pending[:n], pending[n:]
        return out
    def read_line():
        nonlocal pending
        while b"\n" not in pending:
            chunk = os.read(ctl, 65536)
            if not chunk:
                return None
            pending += chunk
        line, _, pending = pending.partition(b"\n")
        return line
    while True:
        header = read_line()
        if header is None:
            return
        nonce, _, size = header.partition(b" ")
        code = read_exact(int(size))
        if code is None:
            return
        rc = 0
        try:
            tree = ast.parse(code.decode("utf-8", "surrogateescape"), "<cell>", "exec")
            last = None
            if tree.body and isinstance(tree.body[-1], ast.Expr):
                last = ast.Expression(tree.body.pop().value)
            exec(compile(tree, "<cell>", "exec"), ns)
            if last is not None:
                value = eval(compile(last, "<cell>", "eval"), ns)
                if value is not None:
                    print(repr(value))
        except SystemExit as e:
            rc = e.code if isinstance(e.code, int) else (0 if e.code is None else 1)
            if e.code is not None and not isinstance(e.code, int):
                print(e.code, file=sys.stderr)
        except BaseException as e:
            tb = e.__traceback__
            while tb is not None and tb.tb_frame.f_code.co_filename != "<cell>":
                tb = tb.tb_next
            sys.stderr.write("".join(traceback.format_exception(type(e), e, tb)))
            rc = 1
        try:
            sys.stdout.flush()
            sys.stderr.flush()
        except BaseException:
            pass
        try:
            cwd = os.getcwd().encode("utf-8", "surrogateescape")
        except OSError:
            cwd = b"/"
        record = b"\nB" + nonce + b"\n" + str(rc & 255).encode() + b"\n" + cwd + b"\nE" + nonce + b"\n"
        while record:
            record = record[os.write(status, record):]
_tg_driver()
)PY";

}  // namespace

struct Session::Pending {
  explicit Pending(asio::strand<asio::any_io_executor>& s) : timer(s) {}
  std::string command;
  double timeout_s = 0;
  ExecHandler handler;
  std::string nonce;
  OutputCapture capture[2];
  asio::steady_timer timer;
  bool timed_out = false;
  bool output_killed = false;
  bool resend = false;
  int exit_code = -1;
  std::chrono::steady_clock::time_point start;
  Limits limits;
};

Session::Session(std::unique_ptr<Sandbox> sandbox, SessionOptions options)
    : sandbox_(std::move(sandbox)), options_(std::move(options)) {
  cwd_ = sandbox_->config().workspace_path;
}

Session::~Session() {
  // Handlers of a command in flight check their error code first: cancelled, they return
  // without touching this Session.
  if (pending_) pending_->timer.cancel();
  pending_.reset();
  for (auto* d : {&stdin_, &out_[0], &out_[1], &status_}) d->reset();
  sandbox_.reset();
}

StatusOr<std::unique_ptr<Session>> Session::Create(SandboxConfig config, SessionOptions options) {
  TG_ASSIGN_OR_RETURN(auto sb, Sandbox::Create(std::move(config)));
  std::unique_ptr<Session> s(new Session(std::move(sb), std::move(options)));
  TG_RETURN_IF_ERROR(s->StartShell());
  return s;
}

StatusOr<std::unique_ptr<Session>> Session::Create(SandboxConfig config,
                                                   asio::any_io_executor executor,
                                                   SessionOptions options) {
  TG_ASSIGN_OR_RETURN(auto sb, Sandbox::Create(std::move(config), std::move(executor)));
  std::unique_ptr<Session> s(new Session(std::move(sb), std::move(options)));
  TG_RETURN_IF_ERROR(s->StartShell());
  return s;
}

Status Session::StartShell() {
  TG_ASSIGN_OR_RETURN(Pipe in, MakePipe());
  TG_ASSIGN_OR_RETURN(Pipe out, MakePipe());
  TG_ASSIGN_OR_RETURN(Pipe err, MakePipe());
  TG_ASSIGN_OR_RETURN(Pipe status, MakePipe());
  JobSpec spec;
  if (options_.interpreter == Interpreter::kPython) {
    spec.argv = {options_.python_path, "-I", "-u", "-c", kPythonDriver};
  } else {
    spec.argv = {"/bin/bash", "--noprofile", "--norc"};
  }
  spec.cwd = sandbox_->config().workspace_path;
  spec.limits = sandbox_->config().limits;
  const std::uint64_t gen = ++generation_;
  TG_RETURN_IF_ERROR(sandbox_->StartJob(
      spec, {in.read.get(), out.write.get(), err.write.get(), status.write.get()},
      [this, gen](JobExit e) {
        if (gen == generation_) OnShellExit(std::move(e));
      }));
  auto& strand = sandbox_->strand();
  stdin_ = std::make_unique<asio::posix::stream_descriptor>(strand, in.write.Release());
  out_[0] = std::make_unique<asio::posix::stream_descriptor>(strand, out.read.Release());
  out_[1] = std::make_unique<asio::posix::stream_descriptor>(strand, err.read.Release());
  status_ = std::make_unique<asio::posix::stream_descriptor>(strand, status.read.Release());
  for (auto* d : {&out_[0], &out_[1], &status_}) (*d)->non_blocking(true);
  status_buf_.clear();
  shell_alive_ = true;
  // Restore the state of the previous shell (after a restart or in a fork). A new Python
  // interpreter starts from nothing: its state cannot be carried over.
  if (options_.interpreter == Interpreter::kPython) {
    cwd_ = sandbox_->config().workspace_path;
    return OkStatus();
  }
  std::string preamble;
  if (cwd_ != sandbox_->config().workspace_path)
    preamble += "cd -- " + AnsiCQuote(cwd_) + " 2>/dev/null\n";
  preamble += RestorableExports(exported_);
  if (!preamble.empty()) {
    Status st = WriteAll(stdin_->native_handle(), preamble);
    if (!st.ok()) return st.WithContext("restoring shell state");
  }
  return OkStatus();
}

void Session::AsyncExec(std::string command, double timeout_s, ExecHandler handler) {
  auto p = std::make_shared<Pending>(sandbox_->strand());
  p->command = std::move(command);
  p->timeout_s = timeout_s;
  p->handler = std::move(handler);
  asio::post(sandbox_->strand(), [this, p] { DoExec(p); });
}

RunResult Session::Exec(const std::string& command, double timeout_s) {
  RunResult result;
  bool done = false;
  if (auto* io = sandbox_->own_io_context()) {
    io->restart();
    AsyncExec(command, timeout_s, [&](RunResult r) {
      result = std::move(r);
      done = true;
    });
    while (!done && io->run_one() > 0) {
    }
    return result;
  }
  TG_CHECK(!sandbox_->strand().running_in_this_thread());
  std::promise<RunResult> promise;
  auto future = promise.get_future();
  AsyncExec(command, timeout_s, [&promise](RunResult r) { promise.set_value(std::move(r)); });
  return future.get();
}

void Session::DoExec(std::shared_ptr<Pending> p) {
  auto fail_now = [&](const std::string& msg) {
    RunResult r;
    r.verdict = Verdict::kSandboxError;
    r.error = msg;
    p->handler(std::move(r));
  };
  if (pending_ && pending_ != p) return fail_now("session busy: a command is already running");
  if (p->command.find('\0') != std::string::npos) return fail_now("command contains a NUL byte");
  if (!shell_alive_) {
    if (Status st = StartShell(); !st.ok())
      return fail_now("cannot start the shell: " + st.message());
  }
  pending_ = p;
  p->limits = sandbox_->config().limits;
  p->nonce = RandomNonce();
  p->start = std::chrono::steady_clock::now();
  const std::string script = EncodeCommand(p->command, p->nonce);
  if (Status st = WriteAll(stdin_->native_handle(), script); !st.ok()) {
    // The shell died between commands; its exit handler restarts it and sends this again.
    p->resend = true;
    sandbox_->KillJob();
    return;
  }
  const double timeout = p->timeout_s > 0 ? p->timeout_s : p->limits.wall_time_s;
  p->timer.expires_after(std::chrono::duration_cast<std::chrono::steady_clock::duration>(
      std::chrono::duration<double>(timeout)));
  p->timer.async_wait(
      asio::bind_executor(sandbox_->strand(), [this, p](boost::system::error_code ec) {
        if (ec || pending_ != p) return;
        p->timed_out = true;
        sandbox_->KillJob();  // the shell and everything it started; OnShellExit completes
      }));
  WaitStatus(p);
  WaitOutput(p, 0);
  WaitOutput(p, 1);
}

std::string Session::EncodeCommand(const std::string& command, const std::string& nonce) const {
  if (options_.interpreter == Interpreter::kPython)
    return nonce + " " + std::to_string(command.size()) + "\n" + command;
  // One line: bash reads a pipe byte by byte and parses a whole line before running it, so while
  // the command runs nothing of this script (the nonce above all) is left in the pipe for it to
  // read through the copy of stdin bash keeps during the redirection.
  return "__tg_cmd=" + AnsiCQuote(command) +
         "; { eval \"$__tg_cmd\"; } </dev/null 3>&-; __tg_rc=$?; "
         "{ printf '\\nB%s\\n%d\\n%s\\n' '" +
         nonce + "' \"$__tg_rc\" \"$PWD\"; export -p; printf 'E%s\\n' '" + nonce + "'; } >&3\n";
}

void Session::Drain(int which, Pending& p) {
  if (!out_[which]) return;
  const std::uint64_t cap = which == 0 ? p.limits.stdout_bytes : p.limits.stderr_bytes;
  p.capture[which].ReadFrom(out_[which]->native_handle(), cap);
  if (p.limits.output_kill_bytes != 0 && !p.output_killed &&
      p.capture[0].total + p.capture[1].total > p.limits.output_kill_bytes) {
    p.output_killed = true;
    sandbox_->KillJob();
  }
}

void Session::WaitOutput(const std::shared_ptr<Pending>& p, int which) {
  const std::uint64_t gen = generation_;
  out_[which]->async_wait(
      asio::posix::stream_descriptor::wait_read,
      asio::bind_executor(sandbox_->strand(), [this, p, which, gen](boost::system::error_code ec) {
        if (ec || pending_ != p || gen != generation_ || !shell_alive_) return;
        Drain(which, *p);
        if (pending_ == p && shell_alive_) WaitOutput(p, which);
      }));
}

void Session::WaitStatus(const std::shared_ptr<Pending>& p) {
  const std::uint64_t gen = generation_;
  status_->async_wait(
      asio::posix::stream_descriptor::wait_read,
      asio::bind_executor(sandbox_->strand(), [this, p, gen](boost::system::error_code ec) {
        if (ec || pending_ != p || gen != generation_ || !shell_alive_) return;
        char buf[8192];
        for (;;) {
          ssize_t n = ::read(status_->native_handle(), buf, sizeof buf);
          if (n > 0) {
            status_buf_.append(buf, static_cast<size_t>(n));
            continue;
          }
          if (n < 0 && errno == EINTR) continue;
          if (n == 0) return;  // shell gone: OnShellExit completes
          break;
        }
        const std::string begin = "\nB" + p->nonce + "\n";
        const std::string end = "E" + p->nonce + "\n";
        auto b = status_buf_.find(begin);
        auto e = b == std::string::npos ? std::string::npos : status_buf_.find(end, b);
        if (e == std::string::npos) return WaitStatus(p);
        std::string rec = status_buf_.substr(b + begin.size(), e - b - begin.size());
        status_buf_.erase(0, e + end.size());
        auto nl1 = rec.find('\n');
        auto nl2 = rec.find('\n', nl1 + 1);
        p->exit_code = std::atoi(rec.substr(0, nl1).c_str());
        cwd_ = rec.substr(nl1 + 1, nl2 - nl1 - 1);
        exported_ = rec.substr(nl2 + 1);
        // Output written before the status record is already in the pipes.
        Drain(0, *p);
        Drain(1, *p);
        if (pending_ == p) Complete(p);
      }));
}

void Session::OnShellExit(const JobExit& e) {
  shell_alive_ = false;
  std::shared_ptr<Pending> p = pending_;
  if (p) {
    Drain(0, *p);
    Drain(1, *p);
  }
  for (auto* d : {&stdin_, &out_[0], &out_[1], &status_}) d->reset();
  if (!p) return;  // died between commands: restarted by the next Exec
  if (p->resend) {
    p->resend = false;
    pending_.reset();
    DoExec(p);
    return;
  }
  std::string violation;
  const Verdict v = DecideVerdict(e, p->timed_out, p->output_killed, /*oom=*/false,
                                  p->limits.cpu_time_s, &violation);
  const bool signaled = WIFSIGNALED(e.wait_status);
  p->exit_code = WIFEXITED(e.wait_status) ? WEXITSTATUS(e.wait_status) : -1;
  Status restart = StartShell();
  RunResult r;
  r.verdict = v;
  r.violation_syscall = violation;
  r.term_signal = signaled ? WTERMSIG(e.wait_status) : 0;
  r.error = !e.sandbox_error.empty() ? e.sandbox_error : e.exec_error;
  if (!restart.ok())
    r.error += (r.error.empty() ? "" : "; ") + ("shell restart failed: " + restart.message());
  pending_.reset();
  p->timer.cancel();
  FillResult(*p, r);
  r.shell_restarted = true;
  p->handler(std::move(r));
}

void Session::FillResult(Pending& p, RunResult& r) {
  r.exit_code = p.exit_code;
  r.wall_time_s = std::chrono::duration<double>(std::chrono::steady_clock::now() - p.start).count();
  r.stdout_data = std::move(p.capture[0].data);
  r.stderr_data = std::move(p.capture[1].data);
  r.stdout_truncated = p.capture[0].truncated;
  r.stderr_truncated = p.capture[1].truncated;
  r.stdout_total_bytes = p.capture[0].total;
  r.stderr_total_bytes = p.capture[1].total;
  r.warnings = sandbox_->warnings();
}

void Session::Complete(const std::shared_ptr<Pending>& p) {
  pending_.reset();
  p->timer.cancel();
  boost::system::error_code ec;
  for (auto* d : {&out_[0], &out_[1], &status_})
    if (*d) (*d)->cancel(ec);
  RunResult r;
  r.verdict = p->output_killed ? Verdict::kOutputLimit
                               : (p->exit_code == 0 ? Verdict::kOk : Verdict::kNonzeroExit);
  FillResult(*p, r);
  p->handler(std::move(r));
}

StatusOr<std::unique_ptr<Session>> Session::Fork() {
  if (pending_) return FailedPreconditionError("cannot fork a session while a command runs");
  TG_ASSIGN_OR_RETURN(auto sb, sandbox_->Fork());
  std::unique_ptr<Session> s(new Session(std::move(sb), options_));
  s->cwd_ = cwd_;
  s->exported_ = exported_;
  TG_RETURN_IF_ERROR(s->StartShell());
  return s;
}

Status Session::StopShell() {
  // Handlers of the old shell see a new generation and return; its descriptors go now.
  ++generation_;
  for (auto* d : {&stdin_, &out_[0], &out_[1], &status_}) d->reset();
  shell_alive_ = false;
  auto* io = sandbox_->own_io_context();
  if (io == nullptr) return FailedPreconditionError("StopShell needs the session's own io_context");
  if (!sandbox_->job_active()) return OkStatus();
  sandbox_->KillJob();
  io->restart();
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(5);
  while (sandbox_->job_active() && std::chrono::steady_clock::now() < deadline)
    io->run_one_for(std::chrono::milliseconds(100));
  if (sandbox_->job_active()) return sandbox_->Restart().WithContext("shell did not die");
  return OkStatus();
}

Status Session::Reset(const FileTree& contents) {
  if (pending_) return FailedPreconditionError("cannot reset a session while a command runs");
  if (sandbox_->own_io_context() == nullptr) {
    ++generation_;
    for (auto* d : {&stdin_, &out_[0], &out_[1], &status_}) d->reset();
    shell_alive_ = false;
    TG_RETURN_IF_ERROR(sandbox_->Restart());
  } else {
    TG_RETURN_IF_ERROR(StopShell());
  }
  cwd_ = sandbox_->config().workspace_path;
  exported_.clear();
  TG_RETURN_IF_ERROR(sandbox_->ResetWorkspace(contents));
  return StartShell();
}

RunResult Session::RunFresh(RunOptions options) {
  RunResult r;
  if (pending_) {
    r.error = "session busy: a command is already running";
    return r;
  }
  if (Status st = StopShell(); !st.ok()) {
    r.error = st.message();
    return r;
  }
  return sandbox_->Run(std::move(options));
}

Status Session::Reset() {
  if (pending_) return FailedPreconditionError("cannot reset a session while a command runs");
  // The shell's tree must be gone before the workspace is remounted; a fresh sandbox start is
  // the simplest way to guarantee that from any thread.
  ++generation_;
  for (auto* d : {&stdin_, &out_[0], &out_[1], &status_}) d->reset();
  shell_alive_ = false;
  cwd_ = sandbox_->config().workspace_path;
  exported_.clear();
  TG_RETURN_IF_ERROR(sandbox_->Restart());
  return StartShell();
}

}  // namespace toolgym::sandbox
