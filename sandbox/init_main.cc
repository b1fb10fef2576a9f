// toolgym-sandbox-init: PID 1 of a sandbox. Started by the host (launch.cc) inside fresh user,
// mount, PID, IPC, UTS and network namespaces with the control socket on fd 3. It builds the
// root filesystem once, then forks one command tree at a time on request, reaps every process
// (orphans reparent to it), and when a command's main process ends kills whatever is left with
// kill(-1, SIGKILL), which from PID 1 reaches every other process of the namespace and nothing
// outside it. When the host goes away the control socket reaches EOF, init exits, and the kernel
// kills the whole namespace.
//
// Single-threaded and fork-based: everything the child does before execve is safe here.
#include <fcntl.h>
#include <grp.h>
#include <linux/close_range.h>
#include <linux/seccomp.h>
#include <poll.h>
#include <sched.h>
#include <signal.h>
#include <sys/ioctl.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/signalfd.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstdio>
#include <cstring>
#include <string>
#include <vector>

#include "sandbox/mounts.h"
#include "sandbox/protocol.h"
#include "sandbox/seccomp_policy.h"

namespace toolgym::sandbox {
namespace {

using nlohmann::json;
namespace proto = protocol;

struct Job {
  pid_t pid = 0;
  UniqueFd listener;  // seccomp user-notification fd of this job's filter
  std::uint64_t utime_us = 0, stime_us = 0;
  long maxrss_kb = 0;
  bool sigxcpu = false, sigxfsz = false;
  std::string violation;
  std::string exec_error;
};

struct Init {
  RootSpec root;
  std::string bpf;
  bool seccomp = true;
  bool overlay = false;
  UniqueFd sigfd;
  Job job;
  bool job_active = false;
};

void Reply(const json& body) {
  Status st = proto::Send(proto::kControlFd, body);
  if (!st.ok()) _exit(3);  // the host is gone; dying takes the namespace with us
}

void ReplyError(const std::string& step, const Status& st) {
  Reply({{"type", "error"}, {"step", step}, {"message", st.message()}});
}

void Account(Job& job, pid_t pid, int status, const rusage& ru) {
  (void)pid;
  job.utime_us += static_cast<std::uint64_t>(ru.ru_utime.tv_sec) * 1000000 + ru.ru_utime.tv_usec;
  job.stime_us += static_cast<std::uint64_t>(ru.ru_stime.tv_sec) * 1000000 + ru.ru_stime.tv_usec;
  job.maxrss_kb = std::max(job.maxrss_kb, ru.ru_maxrss);
  if (WIFSIGNALED(status)) {
    if (WTERMSIG(status) == SIGXCPU) job.sigxcpu = true;
    if (WTERMSIG(status) == SIGXFSZ) job.sigxfsz = true;
  }
}

// Kills every process of the namespace but init and reaps them all. kill(-1) from PID 1 is
// atomic with respect to fork (tasklist lock), so one pass normally suffices; loop anyway.
void KillAndReapAll(Init& init) {
  for (;;) {
    ::kill(-1, SIGKILL);
    int status;
    rusage ru{};
    pid_t p = ::wait4(-1, &status, __WALL, &ru);
    if (p < 0) {
      if (errno == EINTR) continue;
      break;  // ECHILD: nothing left
    }
    if (init.job_active) Account(init.job, p, status, ru);
  }
}

void FinishJob(Init& init, int main_status) {
  KillAndReapAll(init);
  Job& j = init.job;
  Reply({{"type", "exited"},
         {"status", main_status},
         {"utime_us", j.utime_us},
         {"stime_us", j.stime_us},
         {"maxrss_kb", j.maxrss_kb},
         {"sigxcpu", j.sigxcpu},
         {"sigxfsz", j.sigxfsz},
         {"violation", j.violation},
         {"exec_error", j.exec_error}});
  init.job = Job{};
  init.job_active = false;
}

void ReapAvailable(Init& init) {
  for (;;) {
    int status;
    rusage ru{};
    pid_t p = ::wait4(-1, &status, WNOHANG | __WALL, &ru);
    if (p <= 0) return;
    if (!init.job_active) continue;
    Account(init.job, p, status, ru);
    if (p == init.job.pid) {
      FinishJob(init, status);
      return;
    }
  }
}

// The child's half of a spawn: everything between fork and execve, in the order that keeps
// each step possible (rlimits and uid change need privileges that the last steps remove).
// Failures before execve are reported on `status_sock` with the step and errno.
[[noreturn]] void RunChild(const Init& init, const json& req, std::vector<UniqueFd>& fds,
                           int status_sock) {
  auto fail = [&](const char* step, int err) {
    json msg = {{"type", "exec_error"}, {"step", step}, {"errno", err}};
    (void)proto::Send(status_sock, msg);
    const std::string& prog = req["argv"][0].get_ref<const std::string&>();
    dprintf(2, "toolgym: %s: %s: %s\n", step, prog.c_str(), std::strerror(err));
    _exit(err == ENOENT ? 127 : 126);
  };
  sigset_t none;
  sigemptyset(&none);
  sigprocmask(SIG_SETMASK, &none, nullptr);
  for (int s : {SIGPIPE, SIGCHLD, SIGTERM, SIGINT, SIGHUP}) signal(s, SIG_DFL);

  if (::setsid() < 0) fail("setsid", errno);
  // A private IPC namespace per command: SysV objects and POSIX queues die with the command.
  if (::unshare(CLONE_NEWIPC) != 0) fail("unshare ipc", errno);

  // Move the passed fds to 0..n-1. Dup to high numbers first so no target is clobbered.
  std::vector<int> high;
  for (auto& fd : fds) {
    int h = ::fcntl(fd.get(), F_DUPFD_CLOEXEC, 64);
    if (h < 0) fail("dup", errno);
    high.push_back(h);
  }
  for (size_t i = 0; i < high.size(); ++i)
    if (::dup2(high[i], static_cast<int>(i)) < 0) fail("dup2", errno);
  // Everything else closes at execve (status_sock must survive until then).
  if (::syscall(SYS_close_range, static_cast<unsigned>(high.size()), ~0u, CLOSE_RANGE_CLOEXEC) != 0)
    fail("close_range", errno);

  const std::string& cwd = req["cwd"].get_ref<const std::string&>();
  if (::chdir(cwd.c_str()) != 0) fail("chdir", errno);

  const json& lim = req["rlimits"];
  auto setlim = [&](int resource, const char* key, std::uint64_t extra) {
    std::uint64_t v = lim.value(key, std::uint64_t{0});
    rlimit rl{};
    rl.rlim_cur = v == 0 ? RLIM_INFINITY : v;
    rl.rlim_max = v == 0 ? RLIM_INFINITY : v + extra;
    if (::setrlimit(resource, &rl) != 0) fail(key, errno);
  };
  setlim(RLIMIT_CPU, "cpu_s", 1);  // soft: SIGXCPU, hard one second later: SIGKILL
  setlim(RLIMIT_AS, "as", 0);
  setlim(RLIMIT_NPROC, "nproc", 0);
  setlim(RLIMIT_FSIZE, "fsize", 0);
  setlim(RLIMIT_NOFILE, "nofile", 0);
  rlimit zero{0, 0};
  if (::setrlimit(RLIMIT_CORE, &zero) != 0) fail("rlimit core", errno);

  // Leaving uid 0 (of the user namespace) clears the permitted and effective capability sets;
  // the bounding set was emptied at init start-up and ambient ones are cleared explicitly.
  const unsigned uid = init.root.uid;
  if (::prctl(PR_CAP_AMBIENT, PR_CAP_AMBIENT_CLEAR_ALL, 0, 0, 0) != 0) fail("clear ambient caps", errno);
  if (::setgroups(0, nullptr) != 0) fail("setgroups", errno);
  if (::setresgid(uid, uid, uid) != 0) fail("setresgid", errno);
  if (::setresuid(uid, uid, uid) != 0) fail("setresuid", errno);
  if (::prctl(PR_SET_PDEATHSIG, SIGKILL) != 0) fail("PR_SET_PDEATHSIG", errno);
  if (::prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) != 0) fail("PR_SET_NO_NEW_PRIVS", errno);

  std::vector<std::string> args = req["argv"].get<std::vector<std::string>>();
  std::vector<std::string> envs = req["env"].get<std::vector<std::string>>();
  std::vector<char*> argv, envp;
  for (auto& a : args) argv.push_back(a.data());
  argv.push_back(nullptr);
  for (auto& e : envs) envp.push_back(e.data());
  envp.push_back(nullptr);
  environ = envp.data();  // execvp searches the command's PATH, not init's

  // Last step before execve: the seccomp filter.
  if (init.seccomp) {
    int err = 0;
    int listener = InstallSeccompBpf(init.bpf, &err);
    if (listener < 0) fail("seccomp", err);
    const int fds_out[1] = {listener};
    if (!proto::Send(status_sock, json{{"type", "listener"}}, fds_out).ok()) _exit(126);
    ::close(listener);
  }
  ::execvp(argv[0], argv.data());
  fail("execve", errno);
  _exit(127);
}

void Spawn(Init& init, proto::Message& msg) {
  if (init.job_active) {
    ReplyError("spawn", FailedPreconditionError("a command is already running in this sandbox"));
    return;
  }
  if (Status st = RefreshScratchMounts(init.root); !st.ok()) {
    ReplyError("refresh /tmp", st);
    return;
  }
  int sp[2];
  if (::socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, sp) != 0) {
    ReplyError("spawn", ErrnoError("socketpair", errno));
    return;
  }
  UniqueFd ours(sp[0]), theirs(sp[1]);
  pid_t pid = ::fork();
  if (pid < 0) {
    ReplyError("spawn", ErrnoError("fork", errno));
    return;
  }
  if (pid == 0) {
    ours.Reset();
    RunChild(init, msg.body, msg.fds, theirs.get());
  }
  theirs.Reset();
  msg.fds.clear();  // the child has its copies; ours would keep pipes open
  init.job = Job{};
  init.job.pid = pid;
  init.job_active = true;
  // Wait for execve: EOF (close-on-exec) means it happened; messages carry the listener fd or
  // the failing step.
  for (;;) {
    auto r = proto::Recv(ours.get());
    if (!r.ok()) break;
    const std::string& type = r->body["type"].get_ref<const std::string&>();
    if (type == "listener" && !r->fds.empty()) {
      init.job.listener = std::move(r->fds[0]);
    } else if (type == "exec_error") {
      const int err = r->body.value("errno", 0);
      init.job.exec_error = r->body.value("step", std::string("execve")) + ": " +
                            (strerrorname_np(err) ? strerrorname_np(err) : "?") + " (" +
                            std::strerror(err) + ")";
    }
  }
  Reply({{"type", "spawned"}, {"pid", pid}});
}

void HandleNotification(Init& init) {
  seccomp_notif_sizes sizes{};
  if (::syscall(SYS_seccomp, SECCOMP_GET_NOTIF_SIZES, 0, &sizes) != 0) return;
  std::vector<char> buf(std::max<size_t>(sizes.seccomp_notif, sizeof(seccomp_notif)));
  auto* req = reinterpret_cast<seccomp_notif*>(buf.data());
  std::memset(buf.data(), 0, buf.size());
  if (::ioctl(init.job.listener.get(), SECCOMP_IOCTL_NOTIF_RECV, req) != 0) {
    // ENOENT: the caller died meanwhile. Any other error: the filter is gone (all users dead).
    if (errno != ENOENT && errno != EINTR) init.job.listener.Reset();
    return;
  }
  if (init.job.violation.empty())
    init.job.violation = SyscallName(req->data.arch, req->data.nr);
  // The whole tree goes: a violation is a verdict, not an error the command may retry.
  ::kill(-1, SIGKILL);
}

Status Configure(Init& init, const json& cfg) {
  RootSpec& r = init.root;
  r.workspace_path = cfg.at("workspace_path").get<std::string>();
  r.workspace_bytes = cfg.at("workspace_bytes").get<std::uint64_t>();
  r.tmp_bytes = cfg.at("tmp_bytes").get<std::uint64_t>();
  r.hostname = cfg.at("hostname").get<std::string>();
  r.own_network = cfg.at("own_network").get<bool>();
  r.uid = cfg.at("uid").get<unsigned>();
  r.ro_binds = cfg.at("ro_binds").get<std::vector<std::pair<std::string, std::string>>>();
  r.etc_binds = cfg.at("etc_binds").get<std::vector<std::string>>();
  r.etc_files = cfg.at("etc_files").get<std::map<std::string, std::string>>();
  init.seccomp = cfg.at("seccomp").get<bool>();
  const std::string hex = cfg.at("bpf").get<std::string>();
  init.bpf.resize(hex.size() / 2);
  for (size_t i = 0; i < init.bpf.size(); ++i)
    init.bpf[i] = static_cast<char>(std::stoi(hex.substr(2 * i, 2), nullptr, 16));
  return OkStatus();
}

}  // namespace
}  // namespace toolgym::sandbox

int main() {
  using namespace toolgym::sandbox;
  using toolgym::Status;
  namespace proto = protocol;
  // Only the control socket is ours; anything else the host leaked (fds opened without
  // O_CLOEXEC by other threads of the host) closes now.
  ::syscall(SYS_close_range, 4u, ~0u, 0u);
  ::prctl(PR_SET_NAME, "toolgym-init");
  signal(SIGPIPE, SIG_IGN);

  Init init;
  auto cfg = proto::Recv(proto::kControlFd);
  if (!cfg.ok()) return 2;
  try {
    if (Status st = Configure(init, cfg->body); !st.ok()) {
      ReplyError("config", st);
      return 1;
    }
  } catch (const std::exception& e) {
    ReplyError("config", toolgym::InvalidArgumentError("bad config message: {}", e.what()));
    return 1;
  }
  if (Status st = BuildRoot(init.root); !st.ok()) {
    ReplyError("build root", st);
    return 1;
  }
  if (Status st = DropBoundingSet(); !st.ok()) {
    ReplyError("drop capabilities", st);
    return 1;
  }
  sigset_t chld;
  sigemptyset(&chld);
  sigaddset(&chld, SIGCHLD);
  sigprocmask(SIG_BLOCK, &chld, nullptr);
  init.sigfd.Reset(::signalfd(-1, &chld, SFD_CLOEXEC | SFD_NONBLOCK));
  if (!init.sigfd.valid()) {
    ReplyError("signalfd", toolgym::ErrnoError("signalfd", errno));
    return 1;
  }
  Reply({{"type", "ready"}});

  for (;;) {
    pollfd pfds[3] = {{proto::kControlFd, POLLIN, 0}, {init.sigfd.get(), POLLIN, 0}, {-1, POLLIN, 0}};
    nfds_t n = 2;
    if (init.job_active && init.job.listener.valid()) {
      pfds[2].fd = init.job.listener.get();
      n = 3;
    }
    if (::poll(pfds, n, -1) < 0) {
      if (errno == EINTR) continue;
      return 4;
    }
    if (n == 3 && (pfds[2].revents & POLLIN)) HandleNotification(init);
    if (n == 3 && (pfds[2].revents & (POLLHUP | POLLERR)) && !(pfds[2].revents & POLLIN))
      init.job.listener.Reset();  // every process using the filter is gone
    if (pfds[1].revents & POLLIN) {
      signalfd_siginfo si;
      while (::read(init.sigfd.get(), &si, sizeof si) > 0) {
      }
      ReapAvailable(init);
    }
    if (pfds[0].revents & (POLLIN | POLLHUP | POLLERR)) {
      auto msg = proto::Recv(proto::kControlFd, 0);
      if (!msg.ok()) {
        if (msg.status().code() == toolgym::StatusCode::kDeadlineExceeded) continue;
        return 0;  // host gone: exiting as PID 1 kills every process of the sandbox
      }
      const std::string type = msg->body.value("type", "");
      if (type == "spawn") {
        Spawn(init, *msg);
      } else if (type == "kill") {
        if (init.job_active) ::kill(-1, SIGKILL);
      } else if (type == "mount_workspace") {
        if (init.job_active) {
          ReplyError("mount workspace", toolgym::FailedPreconditionError("a command is running"));
          continue;
        }
        KillAndReapAll(init);
        Status st = MountWorkspace(init.root, &init.overlay);
        if (st.ok()) {
          Reply({{"type", "ok"}, {"overlay", init.overlay}});
        } else {
          ReplyError("mount workspace", st);
        }
      } else {
        ReplyError("request", toolgym::InvalidArgumentError("unknown request type '{}'", type));
      }
    }
  }
}
