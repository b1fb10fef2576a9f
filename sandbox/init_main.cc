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
#include <sys/ipc.h>
#include <sys/msg.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/sem.h>
#include <sys/shm.h>
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

void Account(Job& job, int status, const rusage& ru) {
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
    if (init.job_active) Account(init.job, status, ru);
  }
}

// Removes every SysV shared memory segment, semaphore set and message queue a command left in
// the sandbox's IPC namespace. Three *_INFO calls when there is nothing (the usual case): much
// cheaper than a fresh IPC namespace per command, whose teardown is deferred kernel work.
void ClearSysVIpc() {
  shm_info si{};
  int max = ::shmctl(0, SHM_INFO, reinterpret_cast<shmid_ds*>(&si));
  if (max >= 0 && si.used_ids > 0) {
    for (int i = 0; i <= max; ++i) {
      shmid_ds ds{};
      int id = ::shmctl(i, SHM_STAT, &ds);
      if (id >= 0) ::shmctl(id, IPC_RMID, nullptr);
    }
  }
  seminfo sem{};
  max = ::semctl(0, 0, SEM_INFO, &sem);
  if (max >= 0 && sem.semusz > 0) {
    for (int i = 0; i <= max; ++i) {
      semid_ds ds{};
      int id = ::semctl(i, 0, SEM_STAT, &ds);
      if (id >= 0) ::semctl(id, 0, IPC_RMID);
    }
  }
  msginfo mi{};
  max = ::msgctl(0, MSG_INFO, reinterpret_cast<msqid_ds*>(&mi));
  if (max >= 0 && mi.msgpool > 0) {
    for (int i = 0; i <= max; ++i) {
      msqid_ds ds{};
      int id = ::msgctl(i, MSG_STAT, &ds);
      if (id >= 0) ::msgctl(id, IPC_RMID, nullptr);
    }
  }
}

void FinishJob(Init& init, int main_status) {
  KillAndReapAll(init);
  ClearSysVIpc();
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
    Account(init.job, status, ru);
    if (p == init.job.pid) {
      FinishJob(init, status);
      return;
    }
  }
}

// Everything the command's process needs before execve, prepared by the init so that the child
// makes system calls only: it runs on a borrowed address space (CLONE_VM | CLONE_VFORK, as
// posix_spawn does), which spares the init a page-table copy and the child an mm teardown at exec.
struct ChildArgs {
  std::vector<std::string> args, envs, path_dirs;
  std::vector<char*> argv, envp;
  std::string cwd;
  struct Limit {
    int resource;
    const char* name;
    rlimit value;
  };
  std::vector<Limit> limits;
  std::vector<int> fds;  // become 0, 1, 2, ...
  int status_sock = -1;
  unsigned uid = 0;
  const std::string* bpf = nullptr;  // null: no seccomp
};

// A fixed-size text buffer for messages the child writes without allocating.
struct Text {
  char data[768];
  size_t len = 0;
  void Add(const char* s) {
    while (*s && len + 1 < sizeof data) data[len++] = *s++;
  }
  void AddInt(long v) {
    char tmp[24];
    int n = 0;
    bool neg = v < 0;
    unsigned long u = neg ? static_cast<unsigned long>(-v) : static_cast<unsigned long>(v);
    do {
      tmp[n++] = static_cast<char>('0' + u % 10);
      u /= 10;
    } while (u != 0);
    if (neg) tmp[n++] = '-';
    while (n > 0 && len + 1 < sizeof data) data[len++] = tmp[--n];
  }
};

[[noreturn]] void ChildFail(const ChildArgs& a, const char* step, int err) {
  Text msg;
  msg.Add("{\"type\":\"exec_error\",\"step\":\"");
  msg.Add(step);
  msg.Add("\",\"errno\":");
  msg.AddInt(err);
  msg.Add("}");
  (void)!::write(a.status_sock, msg.data, msg.len);
  Text line;
  line.Add("toolgym: ");
  line.Add(step);
  line.Add(": ");
  line.Add(a.argv[0]);
  line.Add(": ");
  line.Add(strerrordesc_np(err) ? strerrordesc_np(err) : "error");
  line.Add("\n");
  (void)!::write(2, line.data, line.len);
  ::syscall(SYS_exit_group, err == ENOENT ? 127 : 126);
  __builtin_unreachable();
}

// The child's half of a spawn, in the order that keeps each step possible (rlimits and the uid
// change need privileges that the last steps remove). Raw syscalls only; see ChildArgs.
int ChildMain(void* arg) {
  const ChildArgs& a = *static_cast<const ChildArgs*>(arg);
  sigset_t none;
  sigemptyset(&none);
  ::syscall(SYS_rt_sigprocmask, SIG_SETMASK, &none, nullptr, sizeof(std::uint64_t));
  struct kernel_sigaction {
    void* handler;
    unsigned long flags;
    void* restorer;
    std::uint64_t mask;
  } dfl{};
  for (int s : {SIGPIPE, SIGCHLD, SIGTERM, SIGINT, SIGHUP})
    ::syscall(SYS_rt_sigaction, s, &dfl, nullptr, sizeof(std::uint64_t));

  if (::syscall(SYS_setsid) < 0) ChildFail(a, "setsid", errno);
  // Move the passed fds to 0..n-1; dup to high numbers first so no target is clobbered.
  int high[protocol::kMaxFds];
  for (size_t i = 0; i < a.fds.size(); ++i) {
    high[i] = static_cast<int>(::syscall(SYS_fcntl, a.fds[i], F_DUPFD_CLOEXEC, 64));
    if (high[i] < 0) ChildFail(a, "dup", errno);
  }
  for (size_t i = 0; i < a.fds.size(); ++i)
    if (::syscall(SYS_dup2, high[i], static_cast<int>(i)) < 0) ChildFail(a, "dup2", errno);
  // Everything else closes at execve (status_sock must survive until then).
  if (::syscall(SYS_close_range, static_cast<unsigned>(a.fds.size()), ~0u, CLOSE_RANGE_CLOEXEC) !=
      0)
    ChildFail(a, "close_range", errno);
  if (::syscall(SYS_chdir, a.cwd.c_str()) != 0) ChildFail(a, "chdir", errno);
  for (const auto& l : a.limits)
    if (::syscall(SYS_prlimit64, 0, l.resource, &l.value, nullptr) != 0)
      ChildFail(a, l.name, errno);
  // When the cgroup runs out of memory the OOM killer must pick the command, never PID 1.
  // Raising one's own oom_score_adj needs no privilege.
  int oom = static_cast<int>(
      ::syscall(SYS_openat, AT_FDCWD, "/proc/self/oom_score_adj", O_WRONLY | O_CLOEXEC));
  if (oom >= 0) {
    ::syscall(SYS_write, oom, "1000", 4);
    ::syscall(SYS_close, oom);
  }
  // Leaving uid 0 (of the user namespace) clears the permitted and effective capability sets;
  // the bounding set was emptied at init start-up and ambient ones are cleared explicitly.
  if (::syscall(SYS_prctl, PR_CAP_AMBIENT, PR_CAP_AMBIENT_CLEAR_ALL, 0, 0, 0) != 0)
    ChildFail(a, "clear ambient caps", errno);
  if (::syscall(SYS_setgroups, 0, nullptr) != 0) ChildFail(a, "setgroups", errno);
  if (::syscall(SYS_setresgid, a.uid, a.uid, a.uid) != 0) ChildFail(a, "setresgid", errno);
  if (::syscall(SYS_setresuid, a.uid, a.uid, a.uid) != 0) ChildFail(a, "setresuid", errno);
  if (::syscall(SYS_prctl, PR_SET_PDEATHSIG, SIGKILL, 0, 0, 0) != 0)
    ChildFail(a, "PR_SET_PDEATHSIG", errno);
  if (::syscall(SYS_prctl, PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) != 0)
    ChildFail(a, "PR_SET_NO_NEW_PRIVS", errno);

  // Last step before execve: the seccomp filter; its listener goes to the init.
  if (a.bpf != nullptr) {
    int err = 0;
    int listener = InstallSeccompBpf(*a.bpf, &err);
    if (listener < 0) ChildFail(a, "seccomp", err);
    const char body[] = "{\"type\":\"listener\"}";
    iovec iov{const_cast<char*>(body), sizeof body - 1};
    alignas(cmsghdr) char control[CMSG_SPACE(sizeof(int))] = {};
    msghdr msg{};
    msg.msg_iov = &iov;
    msg.msg_iovlen = 1;
    msg.msg_control = control;
    msg.msg_controllen = sizeof control;
    cmsghdr* c = CMSG_FIRSTHDR(&msg);
    c->cmsg_level = SOL_SOCKET;
    c->cmsg_type = SCM_RIGHTS;
    c->cmsg_len = CMSG_LEN(sizeof(int));
    std::memcpy(CMSG_DATA(c), &listener, sizeof(int));
    if (::syscall(SYS_sendmsg, a.status_sock, &msg, MSG_NOSIGNAL) < 0)
      ChildFail(a, "send listener", errno);
    ::syscall(SYS_close, listener);
  }
  // execvp's PATH search over the command's own PATH (not the init's environment).
  const char* prog = a.argv[0];
  if (std::strchr(prog, '/') != nullptr) {
    ::syscall(SYS_execve, prog, a.argv.data(), a.envp.data());
    ChildFail(a, "execve", errno);
  }
  int err = ENOENT;
  bool eacces = false;
  for (const std::string& dir : a.path_dirs) {
    char full[4096];
    const size_t dl = dir.size(), pl = std::strlen(prog);
    if (dl + pl + 2 > sizeof full) continue;
    std::memcpy(full, dir.data(), dl);
    full[dl] = '/';
    std::memcpy(full + dl + 1, prog, pl + 1);
    ::syscall(SYS_execve, full, a.argv.data(), a.envp.data());
    err = errno;
    if (err == EACCES) eacces = true;
    if (err != ENOENT && err != ENOTDIR && err != EACCES) break;
  }
  ChildFail(a, "execve", eacces && (err == ENOENT || err == ENOTDIR) ? EACCES : err);
}

std::uint64_t Limit(const json& lim, const char* key) { return lim.value(key, std::uint64_t{0}); }

rlimit MakeLimit(std::uint64_t v, std::uint64_t extra) {
  rlimit rl{};
  rl.rlim_cur = v == 0 ? RLIM_INFINITY : v;
  rl.rlim_max = v == 0 ? RLIM_INFINITY : v + extra;
  return rl;
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
  ChildArgs a;
  try {
    a.args = proto::DecodeBytesList(msg.body.at("argv"));
    a.envs = proto::DecodeBytesList(msg.body.at("env"));
    a.cwd = proto::DecodeBytes(msg.body.at("cwd").get_ref<const std::string&>());
    const json& lim = msg.body.at("rlimits");
    a.limits = {
        {RLIMIT_CPU, "rlimit cpu",
         MakeLimit(Limit(lim, "cpu_s"), 1)},  // SIGXCPU, SIGKILL 1 s later
        {RLIMIT_AS, "rlimit as", MakeLimit(Limit(lim, "as"), 0)},
        {RLIMIT_NPROC, "rlimit nproc", MakeLimit(Limit(lim, "nproc"), 0)},
        {RLIMIT_FSIZE, "rlimit fsize", MakeLimit(Limit(lim, "fsize"), 0)},
        {RLIMIT_NOFILE, "rlimit nofile", MakeLimit(Limit(lim, "nofile"), 0)},
        {RLIMIT_CORE, "rlimit core", rlimit{0, 0}},
        // No POSIX message queues (they would outlive the command in the sandbox's IPC
        // namespace); SysV objects are removed after every command instead (ClearSysVIpc).
        {RLIMIT_MSGQUEUE, "rlimit msgqueue", rlimit{0, 0}},
    };
  } catch (const std::exception& e) {
    ReplyError("spawn", InvalidArgumentError("bad spawn request: {}", e.what()));
    return;
  }
  if (a.args.empty() || msg.fds.size() > static_cast<size_t>(proto::kMaxFds)) {
    ReplyError("spawn",
               InvalidArgumentError("spawn needs argv and at most {} fds", proto::kMaxFds));
    return;
  }
  for (auto& s : a.args) a.argv.push_back(s.data());
  a.argv.push_back(nullptr);
  for (auto& s : a.envs) {
    a.envp.push_back(s.data());
    if (s.starts_with("PATH=")) {
      std::string dirs = s.substr(5);
      size_t pos = 0;
      while (pos <= dirs.size()) {
        size_t colon = dirs.find(':', pos);
        if (colon == std::string::npos) colon = dirs.size();
        std::string d = dirs.substr(pos, colon - pos);
        a.path_dirs.push_back(d.empty() ? "." : d);
        pos = colon + 1;
      }
    }
  }
  a.envp.push_back(nullptr);
  for (auto& fd : msg.fds) a.fds.push_back(fd.get());
  a.uid = init.root.uid;
  a.bpf = init.seccomp ? &init.bpf : nullptr;

  int sp[2];
  if (::socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, sp) != 0) {
    ReplyError("spawn", ErrnoError("socketpair", errno));
    return;
  }
  UniqueFd ours(sp[0]), theirs(sp[1]);
  a.status_sock = theirs.get();
  // The child's stack; the init is suspended until the child execs or exits (CLONE_VFORK).
  static std::vector<char> stack(256 * 1024);
  pid_t pid = ::clone(ChildMain, stack.data() + stack.size(), CLONE_VM | CLONE_VFORK | SIGCHLD, &a);
  if (pid < 0) {
    ReplyError("spawn", ErrnoError("clone", errno));
    return;
  }
  theirs.Reset();
  msg.fds.clear();  // the child has its copies; ours would keep pipes open
  init.job = Job{};
  init.job.pid = pid;
  init.job_active = true;
  // The child has exec'd or died: its messages (the listener fd, or the failing step) are queued.
  for (;;) {
    auto r = proto::Recv(ours.get(), 0);
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
  // No "spawned" reply: the host learns everything from "exited" (one wake-up per command).
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
  if (IsPersonalityNotification(req->data.arch, req->data.nr)) {
    std::vector<char> rbuf(std::max<size_t>(sizes.seccomp_notif_resp, sizeof(seccomp_notif_resp)));
    auto* resp = reinterpret_cast<seccomp_notif_resp*>(rbuf.data());
    resp->id = req->id;
    // CONTINUE is safe here: personality's argument is a value, not a pointer the caller could
    // change after this check.
    if (PersonalityAllowed(req->data.args[0])) {
      resp->flags = SECCOMP_USER_NOTIF_FLAG_CONTINUE;
    } else {
      resp->error = -EPERM;
    }
    ::ioctl(init.job.listener.get(), SECCOMP_IOCTL_NOTIF_SEND, resp);  // ENOENT: caller died
    return;
  }
  if (init.job.violation.empty()) init.job.violation = SyscallName(req->data.arch, req->data.nr);
  // The whole tree goes: a violation is a verdict, not an error the command may retry.
  ::kill(-1, SIGKILL);
}

Status Configure(Init& init, const json& cfg) {
  RootSpec& r = init.root;
  r.workspace_path = proto::DecodeBytes(cfg.at("workspace_path").get_ref<const std::string&>());
  r.workspace_bytes = cfg.at("workspace_bytes").get<std::uint64_t>();
  r.tmp_bytes = cfg.at("tmp_bytes").get<std::uint64_t>();
  r.hostname = cfg.at("hostname").get<std::string>();
  r.own_network = cfg.at("own_network").get<bool>();
  r.uid = cfg.at("uid").get<unsigned>();
  for (const auto& bind : cfg.at("ro_binds"))
    r.ro_binds.emplace_back(proto::DecodeBytes(bind.at(0).get_ref<const std::string&>()),
                            proto::DecodeBytes(bind.at(1).get_ref<const std::string&>()));
  r.etc_binds = cfg.at("etc_binds").get<std::vector<std::string>>();
  for (const auto& [name, contents] : cfg.at("etc_files").items())
    r.etc_files[name] = proto::DecodeBytes(contents.get_ref<const std::string&>());
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
    pollfd pfds[3] = {
        {proto::kControlFd, POLLIN, 0}, {init.sigfd.get(), POLLIN, 0}, {-1, POLLIN, 0}};
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
