// Hostile containment suite: every case runs code that tries to break out of, exhaust or outlive
// the sandbox, and shows that the attempt was blocked rather than never made. A hostile program
// exits with kSentinel only if the forbidden thing worked and prints what it observed
// ("key=value" lines, errno names); the test asserts the verdict, the observations and that the
// sentinel was not reached. Every case also checks the host side (HostileTest::TearDown): a canary
// file and a canary process (host uid 1000, the sandbox user's number) are untouched, no process
// of the run survives it (by host uid and by PID namespace), the init has no children left, and
// the sandbox still runs the next command.
#include <arpa/inet.h>
#include <fcntl.h>
#include <grp.h>
#include <gtest/gtest.h>
#include <netinet/in.h>
#include <signal.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <chrono>
#include <climits>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <map>
#include <memory>
#include <random>
#include <set>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

#include "sandbox/sandbox.h"

namespace toolgym::sandbox {
namespace {

namespace fs = std::filesystem;

// Exit status of a hostile program whose forbidden action worked.
constexpr int kSentinel = 42;
// The sandbox user's uid inside; the host canary process runs as this number on the host.
constexpr uid_t kSandboxUserUid = 1000;

// ---------------------------------------------------------------------------------------------
// Host-side observation helpers.

std::string ReadFile(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

bool WriteFile(const std::string& path, const std::string& data) {
  std::ofstream out(path, std::ios::binary | std::ios::trunc);
  out << data;
  return static_cast<bool>(out);
}

// What must not change about a host file: contents, inode, modification and change times.
struct Fingerprint {
  bool exists = false;
  std::string content;
  ino_t ino = 0;
  std::int64_t mtime_ns = 0;
  std::int64_t ctime_ns = 0;
  bool operator==(const Fingerprint&) const = default;
};

Fingerprint TakeFingerprint(const std::string& path) {
  Fingerprint f;
  struct stat st {};
  if (::lstat(path.c_str(), &st) != 0) return f;
  f.exists = true;
  f.ino = st.st_ino;
  f.mtime_ns = st.st_mtim.tv_sec * 1000000000LL + st.st_mtim.tv_nsec;
  f.ctime_ns = st.st_ctim.tv_sec * 1000000000LL + st.st_ctim.tv_nsec;
  if (S_ISREG(st.st_mode)) f.content = ReadFile(path);
  return f;
}

std::vector<pid_t> HostPids() {
  std::vector<pid_t> pids;
  std::error_code ec;
  for (const auto& e : fs::directory_iterator("/proc", ec)) {
    const std::string name = e.path().filename();
    if (!name.empty() && std::all_of(name.begin(), name.end(), ::isdigit))
      pids.push_back(static_cast<pid_t>(std::stol(name)));
  }
  return pids;
}

// "Uid:" and "Gid:" lines of /proc/PID/status: real, effective, saved, filesystem.
bool HasId(pid_t pid, uid_t id) {
  std::istringstream ss(ReadFile("/proc/" + std::to_string(pid) + "/status"));
  std::string line;
  while (std::getline(ss, line)) {
    if (!line.starts_with("Uid:") && !line.starts_with("Gid:")) continue;
    std::istringstream ls(line.substr(4));
    unsigned long v;
    while (ls >> v)
      if (v == id) return true;
  }
  return false;
}

std::string Describe(pid_t pid) {
  std::string comm = ReadFile("/proc/" + std::to_string(pid) + "/comm");
  if (!comm.empty() && comm.back() == '\n') comm.pop_back();
  return std::to_string(pid) + " (" + comm + ")";
}

std::vector<std::string> HostProcessesWithId(uid_t id) {
  std::vector<std::string> out;
  for (pid_t p : HostPids())
    if (HasId(p, id)) out.push_back(Describe(p));
  return out;
}

std::string PidNamespace(pid_t pid) {
  std::error_code ec;
  auto target = fs::read_symlink("/proc/" + std::to_string(pid) + "/ns/pid", ec);
  return ec ? "" : target.string();
}

// Processes in the PID namespace whose PID 1 is `init`, other than the init.
std::vector<std::string> OthersInPidNamespaceOf(pid_t init) {
  std::vector<std::string> out;
  const std::string ns = PidNamespace(init);
  if (ns.empty()) return out;
  for (pid_t p : HostPids())
    if (p != init && PidNamespace(p) == ns) out.push_back(Describe(p));
  return out;
}

// Concatenation of /proc/PID/task/*/children: empty when the process has no children.
std::string ChildrenOf(pid_t pid) {
  std::string all;
  std::error_code ec;
  for (const auto& t : fs::directory_iterator("/proc/" + std::to_string(pid) + "/task", ec))
    all += ReadFile(t.path().string() + "/children");
  return all;
}

std::string Joined(const std::vector<std::string>& v) {
  std::string s;
  for (const auto& x : v) s += (s.empty() ? "" : ", ") + x;
  return s;
}

// Every process of the sandbox's runs is gone: none has the sandbox's host uid, none but the init
// lives in its PID namespace, and the init has no children.
void ExpectNoSurvivors(Sandbox& sb, const std::string& where) {
  EXPECT_EQ(Joined(HostProcessesWithId(sb.host_uid())), "")
      << where << ": processes with the sandbox's host uid " << sb.host_uid() << " survived";
  EXPECT_EQ(Joined(OthersInPidNamespaceOf(sb.init_pid())), "")
      << where << ": processes survived in the sandbox's PID namespace";
  EXPECT_EQ(ChildrenOf(sb.init_pid()), "") << where << ": the init still has children";
  EXPECT_EQ(::kill(sb.init_pid(), 0), 0) << where << ": the init is gone";
}

// "key=value" lines of a hostile program's output.
std::map<std::string, std::string> Observations(const std::string& out) {
  std::map<std::string, std::string> m;
  std::istringstream ss(out);
  std::string line;
  while (std::getline(ss, line)) {
    auto eq = line.find('=');
    if (eq != std::string::npos) m[line.substr(0, eq)] = line.substr(eq + 1);
  }
  return m;
}

std::string Reversed(std::string s) {
  std::reverse(s.begin(), s.end());
  return s;
}

std::string RandomToken() {
  std::random_device rd;
  std::mt19937_64 gen((static_cast<std::uint64_t>(rd()) << 32) ^ rd() ^ ::getpid());
  static const char* kHex = "0123456789abcdef";
  std::string s;
  for (int i = 0; i < 24; ++i) s.push_back(kHex[gen() % 16]);
  return s;
}

// Peak resident set of this (host) process; reset with ResetPeakRss().
std::uint64_t PeakRssBytes() {
  std::istringstream ss(ReadFile("/proc/self/status"));
  std::string line;
  while (std::getline(ss, line))
    if (line.starts_with("VmHWM:")) return std::stoull(line.substr(6)) * 1024;
  return 0;
}
void ResetPeakRss() { WriteFile("/proc/self/clear_refs", "5"); }

// Compiles a C program on the host; returns the executable's bytes ("" on failure).
std::string CompileC(const std::string& source) {
  char dir[] = "/tmp/toolgym-hostile-cc-XXXXXX";
  if (::mkdtemp(dir) == nullptr) return "";
  const std::string src = std::string(dir) + "/prog.c", bin = std::string(dir) + "/prog";
  WriteFile(src, source);
  const std::string cmd = "gcc -O1 -w -o " + bin + " " + src + " >" + dir + "/log 2>&1";
  std::string out = std::system(cmd.c_str()) == 0 ? ReadFile(bin) : "";
  if (out.empty()) ADD_FAILURE() << "gcc failed: " << ReadFile(std::string(dir) + "/log");
  std::error_code ec;
  fs::remove_all(dir, ec);
  return out;
}

// A TCP listener on 127.0.0.1 and an abstract unix socket in the host's network namespace.
struct HostListeners {
  int tcp = -1, unix_abstract = -1;
  int port = 0;
  std::string abstract_name;  // without the leading NUL
  ~HostListeners() {
    if (tcp >= 0) ::close(tcp);
    if (unix_abstract >= 0) ::close(unix_abstract);
  }
  bool Open() {
    tcp = ::socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    sockaddr_in a{};
    a.sin_family = AF_INET;
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    socklen_t len = sizeof a;
    if (tcp < 0 || ::bind(tcp, reinterpret_cast<sockaddr*>(&a), sizeof a) != 0 ||
        ::listen(tcp, 16) != 0 || ::getsockname(tcp, reinterpret_cast<sockaddr*>(&a), &len) != 0)
      return false;
    port = ntohs(a.sin_port);
    abstract_name = "toolgym-test-" + std::to_string(::getpid());
    unix_abstract = ::socket(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    sockaddr_un u{};
    u.sun_family = AF_UNIX;
    std::memcpy(u.sun_path + 1, abstract_name.data(), abstract_name.size());
    const socklen_t ulen = offsetof(sockaddr_un, sun_path) + 1 + abstract_name.size();
    return unix_abstract >= 0 &&
           ::bind(unix_abstract, reinterpret_cast<sockaddr*>(&u), ulen) == 0 &&
           ::listen(unix_abstract, 16) == 0;
  }
  // Connections that reached a listener (accepted and closed).
  static int Accepted(int fd) {
    int n = 0;
    for (int c; (c = ::accept4(fd, nullptr, nullptr, SOCK_CLOEXEC)) >= 0; ++n) ::close(c);
    return n;
  }
};

// ---------------------------------------------------------------------------------------------
// Hostile programs.

// Prepended to every Python program: raw syscalls with 64-bit arguments and errno names.
constexpr char kPrelude[] = R"py(import ctypes, errno, os, signal, socket, sys, time
libc = ctypes.CDLL(None, use_errno=True)
libc.syscall.restype = ctypes.c_long
def arg(a):
    return ctypes.c_ulong(a & 0xFFFFFFFFFFFFFFFF) if isinstance(a, int) else a
def sc(nr, *args):
    ctypes.set_errno(0)
    r = libc.syscall(ctypes.c_long(nr), *[arg(a) for a in args])
    return r, (ctypes.get_errno() if r < 0 else 0)
def en(e):
    return errno.errorcode.get(e, str(e)) if e else "OK"
def obs(key, value):
    print(f"{key}={value}", flush=True)
def tryop(fn):
    try:
        fn()
        return "OK"
    except OSError as e:
        return en(e.errno) if e.errno else type(e).__name__
def heartbeat(path):
    i = 0
    while True:
        i += 1
        with open(path + ".tmp", "w") as f:
            f.write(str(i))
        os.rename(path + ".tmp", path)
        time.sleep(0.02)
def beats(path):
    try:
        return int(open(path).read() or 0)
    except (OSError, ValueError):
        return 0
def wait_beats(path, n):
    deadline = time.time() + 2
    while beats(path) < n and time.time() < deadline:
        time.sleep(0.01)
    return "started" if beats(path) >= n else "missing"
)py";

std::vector<std::string> Python(const std::string& body, std::vector<std::string> args = {}) {
  std::vector<std::string> argv = {"python3", "-c", std::string(kPrelude) + body};
  argv.insert(argv.end(), args.begin(), args.end());
  return argv;
}

std::vector<std::string> Bash(const std::string& script) { return {"bash", "-c", script}; }

Limits FastLimits(double wall_s = 3) {
  Limits l;
  l.wall_time_s = wall_s;
  l.cpu_time_s = wall_s;
  return l;
}

// i386 getpid through `int 0x80`; exits with the sentinel if the kernel answered.
constexpr char kInt80Source[] = R"c(
#include <stdio.h>
int main(void) {
  long r;
  printf("attempt int 0x80\n");
  fflush(stdout);
  __asm__ volatile("mov $20, %%eax\n\tint $0x80\n\tmov %%rax, %0" : "=r"(r) : : "rax", "memory");
  printf("returned=%ld\n", r);
  return r >= 0 ? 42 : 1;
}
)c";

// x32 getpid (nr 39 with __X32_SYSCALL_BIT) through `syscall`.
constexpr char kX32Source[] = R"c(
#include <stdio.h>
int main(void) {
  long r;
  printf("attempt x32\n");
  fflush(stdout);
  __asm__ volatile("mov $0x40000027, %%eax\n\tsyscall\n\tmov %%rax, %0"
                   : "=r"(r) : : "rax", "rcx", "r11", "memory");
  printf("returned=%ld\n", r);
  return r >= 0 ? 42 : 1;
}
)c";

// Reports its real, effective and saved uids; the sentinel if running it gained any.
constexpr char kUidProbeSource[] = R"c(
#include <stdio.h>
#include <unistd.h>
int main(void) {
  uid_t r, e, s;
  getresuid(&r, &e, &s);
  printf("probe=%u/%u/%u\n", r, e, s);
  return (e != r || s != r) ? 42 : 0;
}
)c";

// ---------------------------------------------------------------------------------------------
// Fixture.

class HostileTest : public ::testing::Test {
 protected:
  void SetUp() override {
    char dir[] = "/tmp/toolgym-hostile-XXXXXX";
    ASSERT_NE(::mkdtemp(dir), nullptr);
    canary_dir_ = dir;
    canary_path_ = canary_dir_ + "/canary.txt";
    canary_content_ = "CANARY-" + RandomToken();
    ASSERT_TRUE(WriteFile(canary_path_, canary_content_));
    canary_before_ = TakeFingerprint(canary_path_);
    passwd_before_ = TakeFingerprint("/etc/passwd");
    hostname_before_ = ReadFile("/proc/sys/kernel/hostname");

    // A host process with the sandbox user's uid number: a namespace failure would let
    // kill(-1) from inside reach it.
    canary_pid_ = ::fork();
    ASSERT_GE(canary_pid_, 0);
    if (canary_pid_ == 0) {
      ::prctl(PR_SET_PDEATHSIG, SIGKILL);
      if (::setgroups(0, nullptr) != 0 ||
          ::setresgid(kSandboxUserUid, kSandboxUserUid, kSandboxUserUid) != 0 ||
          ::setresuid(kSandboxUserUid, kSandboxUserUid, kSandboxUserUid) != 0)
        _exit(127);
      ::execl("/bin/sleep", "sleep", "600", static_cast<char*>(nullptr));
      _exit(127);
    }
  }

  void TearDown() override {
    for (auto& sb : sandboxes_) {
      // The sandbox still works after whatever the test ran.
      RunResult r = sb->Run({.argv = {"echo", "healthy"}, .limits = FastLimits()});
      EXPECT_EQ(r.verdict, Verdict::kOk) << "sandbox unusable after the test: " << r.Summary();
      EXPECT_EQ(r.stdout_data, "healthy\n");
      ExpectNoSurvivors(*sb, "teardown");
    }
    std::vector<pid_t> inits;
    for (auto& sb : sandboxes_) inits.push_back(sb->init_pid());
    sandboxes_.clear();
    for (pid_t p : inits) EXPECT_NE(::kill(p, 0), 0) << "init " << p << " outlived its Sandbox";

    EXPECT_EQ(TakeFingerprint(canary_path_), canary_before_) << "host canary file changed";
    std::vector<std::string> names;
    std::error_code ec;
    for (const auto& e : fs::directory_iterator(canary_dir_, ec))
      names.push_back(e.path().filename());
    EXPECT_EQ(names, std::vector<std::string>{"canary.txt"}) << "host canary directory changed";
    EXPECT_EQ(TakeFingerprint("/etc/passwd"), passwd_before_) << "host /etc/passwd changed";
    EXPECT_EQ(ReadFile("/proc/sys/kernel/hostname"), hostname_before_) << "host hostname changed";
    if (canary_pid_ > 0) {
      int status = 0;
      EXPECT_EQ(::waitpid(canary_pid_, &status, WNOHANG), 0)
          << "host canary process died (status " << status << ")";
      ::kill(canary_pid_, SIGKILL);
      ::waitpid(canary_pid_, &status, 0);
    }
    fs::remove_all(canary_dir_, ec);
  }

  // A sandbox kept until TearDown, which checks it once more.
  Sandbox* MakeSandbox(SandboxConfig config = {}) {
    auto sb = Sandbox::Create(std::move(config));
    EXPECT_TRUE(sb.ok()) << sb.status().ToString();
    if (!sb.ok()) return nullptr;
    sandboxes_.push_back(std::move(sb).value());
    return sandboxes_.back().get();
  }

  // Runs and checks at once that nothing of the run survived it.
  RunResult RunChecked(Sandbox& sb, RunOptions options) {
    std::string what;
    for (std::string arg : options.argv) {
      if (arg.starts_with(kPrelude)) arg = "<prelude>" + arg.substr(std::strlen(kPrelude));
      what += (what.empty() ? "" : " ") + arg;
    }
    what = what.substr(0, 300);
    if (!options.limits) options.limits = FastLimits();
    RunResult r = sb.Run(std::move(options));
    if (std::getenv("TOOLGYM_HOSTILE_VERBOSE") != nullptr)
      std::fprintf(stderr, "--- %s\n%s\nstdout: %s\nstderr: %s\n", what.c_str(),
                   r.Summary().c_str(), r.stdout_data.substr(0, 2000).c_str(),
                   r.stderr_data.substr(0, 2000).c_str());
    ExpectNoSurvivors(sb, "after running `" + what + "`");
    return r;
  }

  // A process started by an earlier run that wrote `path` in the workspace every 20 ms is dead:
  // the host sees the file unchanged over 200 ms, and so does a new run inside.
  void ExpectHeartbeatStopped(Sandbox& sb, const std::string& path) {
    auto before = sb.SnapshotWorkspace();
    ASSERT_TRUE(before.ok()) << before.status().ToString();
    ASSERT_TRUE(before->entries().contains(path)) << "the daemon never wrote " << path;
    std::this_thread::sleep_for(std::chrono::milliseconds(200));
    auto after = sb.SnapshotWorkspace();
    ASSERT_TRUE(after.ok()) << after.status().ToString();
    EXPECT_EQ(after->entries().at(path), before->entries().at(path)) << "heartbeat went on";
    RunResult r = RunChecked(sb, {.argv = Python(R"py(
a = open(sys.argv[1]).read()
time.sleep(0.2)
b = open(sys.argv[1]).read()
obs("heartbeat", f"{a}->{b}")
sys.exit(42 if a != b else 0)
)py",
                                                 {path})});
    EXPECT_EQ(r.verdict, Verdict::kOk) << r.Summary() << r.stdout_data << r.stderr_data;
    EXPECT_NE(r.exit_code, kSentinel) << r.stdout_data;
  }

  std::string canary_dir_, canary_path_, canary_content_;
  Fingerprint canary_before_, passwd_before_;
  std::string hostname_before_;
  pid_t canary_pid_ = -1;
  std::vector<std::unique_ptr<Sandbox>> sandboxes_;
};

#define EXPECT_NOT_SENTINEL(r) \
  EXPECT_NE((r).exit_code, kSentinel) << "forbidden action worked: " << (r).stdout_data

// ---------------------------------------------------------------------------------------------
// Resource exhaustion.

TEST_F(HostileTest, ShellForkBombIsCappedByTheProcessLimit) {
  Sandbox* sb = MakeSandbox();
  ASSERT_NE(sb, nullptr);
  Limits l = FastLimits();
  l.max_processes = 32;
  // After the bomb only builtins run (fork fails): wait on a fifo, count /proc.
  RunResult r = RunChecked(*sb, {.argv = Bash(R"sh(
mkfifo /tmp/f; exec 3<>/tmp/f
:(){ :|:& };:
read -t 1.2 -u 3 x
n=0; for p in /proc/[0-9]*; do n=$((n+1)); done
echo procs=$n
[ $n -gt 33 ] && exit 42; exit 0
)sh"),
                                 .limits = l});
  EXPECT_EQ(r.verdict, Verdict::kOk) << r.Summary() << r.stderr_data.substr(0, 500);
  EXPECT_NOT_SENTINEL(r);
  const int procs = std::atoi(Observations(r.stdout_data)["procs"].c_str());
  EXPECT_LE(procs, 33) << "32 processes + the init";
  EXPECT_GE(procs, 16) << "the bomb never got going";
}

TEST_F(HostileTest, PythonForkBombIsCappedAndReaped) {
  Sandbox* sb = MakeSandbox();
  ASSERT_NE(sb, nullptr);
  Limits l = FastLimits();
  l.max_processes = 32;
  RunResult r = RunChecked(*sb, {.argv = Python(R"py(
if os.fork() == 0:
    errs = set()
    while True:
        try:
            os.fork()
        except OSError as e:
            if e.errno not in errs:
                errs.add(e.errno)
                print("fork_error=" + en(e.errno), file=sys.stderr, flush=True)
            time.sleep(0.01)
time.sleep(1.0)
n = len([d for d in os.listdir("/proc") if d.isdigit()])
obs("procs", n)
sys.exit(42 if n > 33 else 0)
)py"),
                                 .limits = l});
  EXPECT_EQ(r.verdict, Verdict::kOk) << r.Summary() << r.stderr_data.substr(0, 500);
  EXPECT_NOT_SENTINEL(r);
  const int procs = std::atoi(Observations(r.stdout_data)["procs"].c_str());
  EXPECT_LE(procs, 33);
  EXPECT_GE(procs, 16);
  EXPECT_NE(r.stderr_data.find("fork_error=EAGAIN"), std::string::npos) << r.stderr_data;
}

TEST_F(HostileTest, ThreadBombIsCapped) {
  Sandbox* sb = MakeSandbox();
  ASSERT_NE(sb, nullptr);
  Limits l = FastLimits();
  l.max_processes = 32;
  RunResult r = RunChecked(*sb, {.argv = Python(R"py(
import threading
n = 0
err = "none"
while n < 1000:
    try:
        t = threading.Thread(target=time.sleep, args=(30,), daemon=True)
        t.start()
        n += 1
    except RuntimeError as e:
        err = str(e)
        break
obs("threads", n)
obs("error", err)
os._exit(42 if n >= 32 else 0)
)py"),
                                 .limits = l});
  EXPECT_EQ(r.verdict, Verdict::kOk) << r.Summary() << r.stderr_data;
  EXPECT_NOT_SENTINEL(r);
  auto o = Observations(r.stdout_data);
  EXPECT_EQ(o["error"], "can't start new thread");
  EXPECT_LT(std::atoi(o["threads"].c_str()), 32);
}

TEST_F(HostileTest, MemoryBombIsKilledByTheCgroup) {
  Sandbox* sb = MakeSandbox();
  ASSERT_NE(sb, nullptr);
  Limits l = FastLimits();
  l.memory_bytes = 64 << 20;
  RunResult r = RunChecked(*sb, {.argv = Python(R"py(
chunks = []
for i in range(512):
    chunks.append(bytearray(1 << 20))  # zero-filled: every page is touched
    if i % 32 == 0:
        obs("allocated_mb", i)
sys.exit(42)
)py"),
                                 .limits = l});
  EXPECT_EQ(r.verdict, Verdict::kMemoryLimit) << r.Summary() << r.stderr_data;
  EXPECT_NOT_SENTINEL(r);
  EXPECT_EQ(r.term_signal, SIGKILL);
  EXPECT_LT(std::atoi(Observations(r.stdout_data)["allocated_mb"].c_str()), 64);
}

TEST_F(HostileTest, WorkspaceDataOfAnEarlierRunDoesNotEatTheMemoryLimit) {
  Sandbox* sb = MakeSandbox();
  ASSERT_NE(sb, nullptr);
  Limits l = FastLimits();
  l.memory_bytes = 64 << 20;
  // 40 MiB of workspace files: well inside workspace_bytes (256 MiB), kept by design.
  RunResult r =
      RunChecked(*sb, {.argv = Bash("head -c 40M /dev/zero > /workspace/data"), .limits = l});
  ASSERT_EQ(r.verdict, Verdict::kOk) << r.Summary();
  // A later command that itself uses 40 MiB, inside its 64 MiB limit.
  r = RunChecked(*sb, {.argv = Python("b = bytearray(40 << 20)\nobs('allocated', len(b) >> 20)\n"),
                       .limits = l});
  EXPECT_EQ(r.verdict, Verdict::kOk) << r.Summary() << r.stderr_data;
  EXPECT_EQ(Observations(r.stdout_data)["allocated"], "40");
}

TEST_F(HostileTest, AddressSpaceLimitRefusesHugeAllocation) {
  Sandbox* sb = MakeSandbox();
  ASSERT_NE(sb, nullptr);
  Limits l = FastLimits();
  l.address_space_bytes = 256 << 20;
  RunResult r = RunChecked(*sb, {.argv = Python(R"py(
try:
    b = bytearray(512 << 20)
    obs("alloc", "OK")
    sys.exit(42)
except MemoryError:
    obs("alloc", "MemoryError")
)py"),
                                 .limits = l});
  EXPECT_EQ(r.verdict, Verdict::kOk) << r.Summary() << r.stderr_data;
  EXPECT_NOT_SENTINEL(r);
  EXPECT_EQ(Observations(r.stdout_data)["alloc"], "MemoryError");
}

// Writes 1 MiB chunks to `path` until an error; the sentinel past `limit` MiB.
constexpr char kFillProgram[] = R"py(
path, limit = sys.argv[1], int(sys.argv[2])
written, err = 0, "none"
try:
    with open(path, "wb", buffering=0) as f:
        while written < 4 * limit:
            f.write(b"x" * (1 << 20))
            written += 1
except OSError as e:
    err = en(e.errno)
obs("written_mb", written)
obs("error", err)
sys.exit(42 if written > limit else 0)
)py";

TEST_F(HostileTest, FillingTmpAndShmHitsEnospcInsideOnly) {
  SandboxConfig config;
  config.tmp_bytes = 8 << 20;
  Sandbox* sb = MakeSandbox(config);
  ASSERT_NE(sb, nullptr);
  const std::string name = "toolgym-hostile-fill-" + std::to_string(::getpid());
  for (const std::string dir : {"/tmp/", "/dev/shm/"}) {
    RunResult r = RunChecked(*sb, {.argv = Python(kFillProgram, {dir + name, "8"})});
    EXPECT_EQ(r.verdict, Verdict::kOk) << dir << r.Summary() << r.stderr_data;
    EXPECT_NOT_SENTINEL(r);
    EXPECT_EQ(Observations(r.stdout_data)["error"], "ENOSPC") << dir << r.stdout_data;
    EXPECT_FALSE(fs::exists(dir + name)) << "the file appeared on the host";
  }
}

TEST_F(HostileTest, FillingTheWorkspaceHitsEnospc) {
  SandboxConfig config;
  config.workspace_bytes = 8 << 20;
  Sandbox* sb = MakeSandbox(config);
  ASSERT_NE(sb, nullptr);
  RunResult r = RunChecked(*sb, {.argv = Python(kFillProgram, {"/workspace/fill", "8"})});
  EXPECT_EQ(r.verdict, Verdict::kOk) << r.Summary() << r.stderr_data;
  EXPECT_NOT_SENTINEL(r);
  EXPECT_EQ(Observations(r.stdout_data)["error"], "ENOSPC") << r.stdout_data;
}

TEST_F(HostileTest, FileSizeBombIsOutputLimit) {
  Sandbox* sb = MakeSandbox();
  ASSERT_NE(sb, nullptr);
  Limits l = FastLimits();
  l.file_size_bytes = 1 << 20;
  // head takes SIGXFSZ at the limit.
  RunResult r =
      RunChecked(*sb, {.argv = Bash("exec head -c 4M /dev/zero > /workspace/big"), .limits = l});
  EXPECT_EQ(r.verdict, Verdict::kOutputLimit) << r.Summary();
  EXPECT_EQ(r.term_signal, SIGXFSZ);
  auto tree = sb->SnapshotWorkspace();
  ASSERT_TRUE(tree.ok()) << tree.status().ToString();
  ASSERT_TRUE(tree->entries().contains("big"));
  EXPECT_EQ(tree->entries().at("big").data.size(), 1u << 20);

  // Python ignores SIGXFSZ: the write fails with EFBIG instead, and the program copes with it.
  r = RunChecked(*sb, {.argv = Python(kFillProgram, {"/workspace/big2", "1"}), .limits = l});
  EXPECT_EQ(r.verdict, Verdict::kOk) << r.Summary();
  EXPECT_NOT_SENTINEL(r);
  EXPECT_EQ(Observations(r.stdout_data)["error"], "EFBIG") << r.stdout_data;
}

TEST_F(HostileTest, CpuSpinIsCpuTimeLimit) {
  Sandbox* sb = MakeSandbox();
  ASSERT_NE(sb, nullptr);
  Limits l = FastLimits(3);
  l.cpu_time_s = 1;
  RunResult r = RunChecked(*sb, {.argv = Python(R"py(
while time.process_time() < 2.5:
    pass
sys.exit(42)
)py"),
                                 .limits = l});
  EXPECT_EQ(r.verdict, Verdict::kCpuTimeLimit) << r.Summary();
  EXPECT_NOT_SENTINEL(r);
  EXPECT_EQ(r.term_signal, SIGXCPU);
  // rusage can read below the RLIMIT_CPU that fired (seen: 0.78 s for 1 s on this VM).
  EXPECT_GE(r.cpu_time_s, 0.6);
  EXPECT_LT(r.cpu_time_s, 2.2);
}

TEST_F(HostileTest, SleepPastTheWallLimit) {
  Sandbox* sb = MakeSandbox();
  ASSERT_NE(sb, nullptr);
  RunResult r = RunChecked(*sb, {.argv = {"sleep", "100"}, .limits = FastLimits(1)});
  EXPECT_EQ(r.verdict, Verdict::kWallTimeLimit) << r.Summary();
  EXPECT_EQ(r.term_signal, SIGKILL);
  EXPECT_GE(r.wall_time_s, 1.0);
  EXPECT_LT(r.wall_time_s, 2.5);
}

TEST_F(HostileTest, BlockedFifoAndStdinReadsPastTheWallLimit) {
  Sandbox* sb = MakeSandbox();
  ASSERT_NE(sb, nullptr);
  // Opening a fifo with no writer blocks in open().
  RunResult r =
      RunChecked(*sb, {.argv = Bash("mkfifo /tmp/f; exec cat /tmp/f"), .limits = FastLimits(1)});
  EXPECT_EQ(r.verdict, Verdict::kWallTimeLimit) << r.Summary();
  EXPECT_LT(r.wall_time_s, 2.5);
  // stdin replaced by a fifo the reader itself holds open for writing: read() never returns.
  r = RunChecked(*sb, {.argv = Bash("mkfifo /tmp/p; exec 0<>/tmp/p; exec cat"),
                       .stdin_data = "ignored\n",
                       .limits = FastLimits(1)});
  EXPECT_EQ(r.verdict, Verdict::kWallTimeLimit) << r.Summary();
  EXPECT_LT(r.wall_time_s, 2.5);
}

TEST_F(HostileTest, StdoutFloodIsOutputLimit) {
  Sandbox* sb = MakeSandbox();
  ASSERT_NE(sb, nullptr);
  Limits l = FastLimits();
  l.output_kill_bytes = 4 << 20;
  RunResult r = RunChecked(*sb, {.argv = {"yes", "flood"}, .limits = l});
  EXPECT_EQ(r.verdict, Verdict::kOutputLimit) << r.Summary();
  EXPECT_TRUE(r.stdout_truncated);
  EXPECT_EQ(r.stdout_data.size(), l.stdout_bytes);
  EXPECT_TRUE(r.stdout_data.starts_with("flood\nflood\n"));
  EXPECT_GT(r.stdout_total_bytes, l.output_kill_bytes);
  EXPECT_LT(r.wall_time_s, 2.5);
}

TEST_F(HostileTest, BothStreamsFloodedWithAnEndlessLineAreCapped) {
  Sandbox* sb = MakeSandbox();
  ASSERT_NE(sb, nullptr);
  Limits l = FastLimits(1.5);
  l.output_kill_bytes = 0;  // never killed for output: only the caps bound what is kept
  l.stdout_bytes = 64 << 10;
  l.stderr_bytes = 32 << 10;
  ResetPeakRss();
  const std::uint64_t rss_before = PeakRssBytes();
  RunResult r =
      RunChecked(*sb, {.argv = Bash("yes flood >&2 & tr '\\0' A < /dev/zero"), .limits = l});
  const std::uint64_t rss_growth = PeakRssBytes() - rss_before;
  EXPECT_EQ(r.verdict, Verdict::kWallTimeLimit) << r.Summary();
  EXPECT_TRUE(r.stdout_truncated);
  EXPECT_TRUE(r.stderr_truncated);
  EXPECT_EQ(r.stdout_data, std::string(64 << 10, 'A'));  // one endless line, cut at the cap
  EXPECT_EQ(r.stderr_data.size(), 32u << 10);
  EXPECT_TRUE(r.stderr_data.starts_with("flood\nflood\n"));
  EXPECT_GT(r.stdout_total_bytes, 8u << 20);
  EXPECT_GT(r.stderr_total_bytes, 8u << 20);
  EXPECT_LT(rss_growth, 16u << 20) << "host memory grew with the flood ("
                                   << r.stdout_total_bytes + r.stderr_total_bytes << " bytes)";
}

TEST_F(HostileTest, BinaryOutputRoundTripsExactly) {
  Sandbox* sb = MakeSandbox();
  ASSERT_NE(sb, nullptr);
  Limits l = FastLimits();
  l.stdout_bytes = 2 << 20;
  std::string all_bytes;
  for (int rep = 0; rep < 4096; ++rep)
    for (int b = 0; b < 256; ++b) all_bytes.push_back(static_cast<char>(b));
  RunResult r = RunChecked(
      *sb, {.argv = Python("sys.stdout.buffer.write(bytes(range(256)) * 4096)\n"), .limits = l});
  EXPECT_EQ(r.verdict, Verdict::kOk) << r.Summary() << r.stderr_data;
  EXPECT_FALSE(r.stdout_truncated);
  EXPECT_TRUE(r.stdout_data == all_bytes) << "binary stdout differs";

  // Random bytes (NULs included), more than a pipe buffer, in through stdin and back out.
  std::mt19937 gen(7);
  std::string input(300000, '\0');
  for (char& c : input) c = static_cast<char>(gen() & 0xff);
  r = RunChecked(*sb, {.argv = {"cat"}, .stdin_data = input, .limits = l});
  EXPECT_EQ(r.verdict, Verdict::kOk) << r.Summary();
  EXPECT_EQ(r.stdout_total_bytes, input.size());
  EXPECT_TRUE(r.stdout_data == input) << "stdin -> stdout round trip differs";
}

TEST_F(HostileTest, CommandClosingStdinDoesNotKillTheHost) {
  // The command closes stdin while the host still has megabytes to write to it. Run in a child
  // process of the test, so that a SIGPIPE takes down only that child.
  const pid_t child = ::fork();
  ASSERT_GE(child, 0);
  if (child == 0) {
    auto sb = Sandbox::Create(SandboxConfig{});
    if (!sb.ok()) _exit(3);
    int bad = 0;
    for (int i = 0; i < 3; ++i) {
      RunResult r = (*sb)->Run({.argv = Bash("exec 0<&-; sleep 0.1; echo done"),
                                .stdin_data = std::string(8 << 20, 'x'),
                                .limits = FastLimits()});
      bad += r.verdict != Verdict::kOk || r.stdout_data != "done\n";
    }
    sb->reset();
    _exit(bad == 0 ? 0 : 4);
  }
  int status = 0;
  ASSERT_EQ(::waitpid(child, &status, 0), child);
  EXPECT_TRUE(WIFEXITED(status) && WEXITSTATUS(status) == 0) << "child status " << status;
}

// ---------------------------------------------------------------------------------------------
// Processes that try to outlive their run or reach outside it.

TEST_F(HostileTest, DoubleForkDaemonIsKilledAtTheEnd) {
  Sandbox* sb = MakeSandbox();
  ASSERT_NE(sb, nullptr);
  RunResult r = RunChecked(*sb, {.argv = Python(R"py(
HB = "/workspace/hb"
if os.fork() == 0:
    os.setsid()
    if os.fork() == 0:
        for fd in (0, 1, 2):
            os.close(fd)
        for s in (signal.SIGTERM, signal.SIGHUP, signal.SIGINT):
            signal.signal(s, signal.SIG_IGN)
        heartbeat(HB)
    os._exit(0)
os.wait()
obs("daemon", wait_beats(HB, 3))
)py")});
  EXPECT_EQ(r.verdict, Verdict::kOk) << r.Summary() << r.stderr_data;
  EXPECT_EQ(Observations(r.stdout_data)["daemon"], "started");
  ExpectHeartbeatStopped(*sb, "hb");
}

TEST_F(HostileTest, SetsidDaemonIsKilledAtTheEnd) {
  Sandbox* sb = MakeSandbox();
  ASSERT_NE(sb, nullptr);
  RunResult r = RunChecked(*sb, {.argv = Bash(R"sh(
setsid -f nohup bash -c 'i=0; while :; do i=$((i+1)); echo $i > /workspace/hb.tmp; mv -f /workspace/hb.tmp /workspace/hb; sleep 0.02; done' </dev/null >/dev/null 2>&1
for i in $(seq 200); do [ "$(cat /workspace/hb 2>/dev/null)" -ge 3 ] 2>/dev/null && break; sleep 0.01; done
[ "$(cat /workspace/hb)" -ge 3 ] && echo daemon=started
)sh")});
  EXPECT_EQ(r.verdict, Verdict::kOk) << r.Summary() << r.stderr_data;
  EXPECT_EQ(Observations(r.stdout_data)["daemon"], "started");
  ExpectHeartbeatStopped(*sb, "hb");
}

TEST_F(HostileTest, SetpgidEscapeIsKilledAtTheEnd) {
  Sandbox* sb = MakeSandbox();
  ASSERT_NE(sb, nullptr);
  RunResult r = RunChecked(*sb, {.argv = Python(R"py(
HB = "/workspace/hb"
child = os.fork()
if child == 0:
    os.setpgid(0, 0)
    for s in (signal.SIGTERM, signal.SIGHUP, signal.SIGINT):
        signal.signal(s, signal.SIG_IGN)
    heartbeat(HB)
obs("daemon", wait_beats(HB, 3))
obs("own_group", os.getpgid(child) == child != os.getpgid(0))
)py")});
  EXPECT_EQ(r.verdict, Verdict::kOk) << r.Summary() << r.stderr_data;
  EXPECT_EQ(Observations(r.stdout_data)["daemon"], "started");
  EXPECT_EQ(Observations(r.stdout_data)["own_group"], "True");
  ExpectHeartbeatStopped(*sb, "hb");
}

TEST_F(HostileTest, SelfStoppedProcessesAreKilled) {
  Sandbox* sb = MakeSandbox();
  ASSERT_NE(sb, nullptr);
  // The main process stops itself: only the wall limit ends it.
  RunResult r = RunChecked(*sb, {.argv = Bash("kill -STOP $$; exit 42"), .limits = FastLimits(1)});
  EXPECT_EQ(r.verdict, Verdict::kWallTimeLimit) << r.Summary();
  EXPECT_NOT_SENTINEL(r);
  EXPECT_LT(r.wall_time_s, 2.5);
  // A stopped child left behind when the main process exits.
  r = RunChecked(*sb, {.argv = Python(R"py(
pid = os.fork()
if pid == 0:
    os.kill(os.getpid(), signal.SIGSTOP)
    os._exit(0)
_, status = os.waitpid(pid, os.WUNTRACED)
obs("child", "stopped" if os.WIFSTOPPED(status) else status)
)py")});
  EXPECT_EQ(r.verdict, Verdict::kOk) << r.Summary() << r.stderr_data;
  EXPECT_EQ(Observations(r.stdout_data)["child"], "stopped");
}

TEST_F(HostileTest, ZombiesAreReaped) {
  Sandbox* sb = MakeSandbox();
  ASSERT_NE(sb, nullptr);
  const std::string program = R"py(
for _ in range(20):
    if os.fork() == 0:
        os._exit(0)
time.sleep(0.3)
me = str(os.getpid())
z = 0
for d in os.listdir("/proc"):
    if d.isdigit():
        try:
            st = open(f"/proc/{d}/stat").read().rsplit(")", 1)[1].split()
        except OSError:
            continue
        z += st[0] == "Z" and st[1] == me
obs("zombies", z)
if len(sys.argv) > 1:
    time.sleep(30)
)py";
  RunResult r = RunChecked(*sb, {.argv = Python(program)});
  EXPECT_EQ(r.verdict, Verdict::kOk) << r.Summary() << r.stderr_data;
  EXPECT_EQ(Observations(r.stdout_data)["zombies"], "20");
  // Zombies whose parent is still running when the wall limit strikes.
  r = RunChecked(*sb, {.argv = Python(program, {"wait"}), .limits = FastLimits(1)});
  EXPECT_EQ(r.verdict, Verdict::kWallTimeLimit) << r.Summary();
  EXPECT_EQ(Observations(r.stdout_data)["zombies"], "20");
}

TEST_F(HostileTest, KillAllAndKillingTheParentLeaveTheInitAlive) {
  Sandbox* sb = MakeSandbox();
  ASSERT_NE(sb, nullptr);
  const pid_t init = sb->init_pid();
  RunResult r = RunChecked(*sb, {.argv = Python(R"py(
child = os.fork()
if child == 0:
    time.sleep(30)
    os._exit(0)
obs("ppid", os.getppid())
obs("kill_init", tryop(lambda: os.kill(1, signal.SIGKILL)))
obs("kill_parent", tryop(lambda: os.kill(os.getppid(), signal.SIGKILL)))
obs("kill_all", tryop(lambda: os.kill(-1, signal.SIGKILL)))
_, status = os.waitpid(child, 0)
obs("own_child", "killed" if os.WIFSIGNALED(status) and os.WTERMSIG(status) == 9 else status)
time.sleep(0.1)
init = tryop(lambda: os.kill(1, 0))
obs("init_alive", init)
sys.exit(42 if init == "ESRCH" or os.getppid() != 1 else 0)
)py")});
  EXPECT_EQ(r.verdict, Verdict::kOk) << r.Summary() << r.stderr_data;
  EXPECT_NOT_SENTINEL(r);
  auto o = Observations(r.stdout_data);
  EXPECT_EQ(o["ppid"], "1");
  EXPECT_EQ(o["kill_init"], "EPERM");
  EXPECT_EQ(o["kill_parent"], "EPERM");
  EXPECT_EQ(o["kill_all"], "OK");       // it reached the sandbox's own child...
  EXPECT_EQ(o["own_child"], "killed");  // ...and nothing outside (canary checked at teardown)
  EXPECT_EQ(o["init_alive"], "EPERM");  // exists, not signallable
  EXPECT_EQ(sb->init_pid(), init);
  EXPECT_EQ(::kill(init, 0), 0);
}

TEST_F(HostileTest, NeighbourSandboxIsInvisibleAndUntraceable) {
  Sandbox* victim = MakeSandbox();
  Sandbox* attacker = MakeSandbox();
  ASSERT_NE(victim, nullptr);
  ASSERT_NE(attacker, nullptr);
  RunResult victim_result;
  std::thread victim_thread([&] {
    victim_result = victim->Run({.argv = Bash("sleep 1.5; echo alive"), .limits = FastLimits(3)});
  });
  // The victim's `sleep`, by host pid.
  pid_t target = -1;
  for (int i = 0; i < 200 && target < 0; ++i) {
    for (pid_t p : HostPids())
      if (HasId(p, victim->host_uid()) &&
          ReadFile("/proc/" + std::to_string(p) + "/comm") == "sleep\n")
        target = p;
    if (target < 0) std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
  ASSERT_GT(target, 0) << "victim's command not found on the host";
  // The survivor checks see a live run (so their silence after a run means something).
  EXPECT_NE(Joined(HostProcessesWithId(victim->host_uid())), "");
  EXPECT_NE(Joined(OthersInPidNamespaceOf(victim->init_pid())), "");
  EXPECT_NE(ChildrenOf(victim->init_pid()), "");
  const std::string pid = std::to_string(target);

  RunResult r = RunChecked(*attacker, {.argv = Python(R"py(
pid = int(sys.argv[1])
visible = os.path.exists(f"/proc/{pid}")
obs("visible", visible)
obs("kill", tryop(lambda: os.kill(pid, 0)))
obs("pidfd", tryop(lambda: os.pidfd_open(pid)))
print("attempt ptrace", flush=True)
r, e = sc(101, 16, pid, 0, 0)  # PTRACE_ATTACH
obs("ptrace", en(e))
sys.exit(42 if visible or r >= 0 else 1)
)py",
                                                      {pid})});
  EXPECT_EQ(r.verdict, Verdict::kSeccompViolation) << r.Summary() << r.stderr_data;
  EXPECT_EQ(r.violation_syscall, "ptrace");
  EXPECT_NOT_SENTINEL(r);
  auto o = Observations(r.stdout_data);
  EXPECT_EQ(o["visible"], "False");
  EXPECT_EQ(o["kill"], "ESRCH");
  EXPECT_EQ(o["pidfd"], "ESRCH");
  EXPECT_FALSE(o.contains("ptrace")) << "ptrace returned instead of being a violation";

  r = RunChecked(*attacker, {.argv = Python(R"py(
pid = int(sys.argv[1])
buf = ctypes.create_string_buffer(64)
local = (ctypes.c_void_p * 2)(ctypes.addressof(buf), 64)
remote = (ctypes.c_void_p * 2)(0x400000, 64)
print("attempt process_vm_readv", flush=True)
r, e = sc(310, pid, local, 1, remote, 1, 0)
obs("process_vm_readv", en(e))
sys.exit(42 if r >= 0 else 1)
)py",
                                            {pid})});
  EXPECT_EQ(r.verdict, Verdict::kSeccompViolation) << r.Summary() << r.stderr_data;
  EXPECT_EQ(r.violation_syscall, "process_vm_readv");
  EXPECT_EQ(r.stdout_data, "attempt process_vm_readv\n");

  victim_thread.join();
  EXPECT_EQ(victim_result.verdict, Verdict::kOk) << victim_result.Summary();
  EXPECT_EQ(victim_result.stdout_data, "alive\n");
}

TEST_F(HostileTest, SetuidBinariesGainNoPrivilege) {
  // A setuid-root probe from the host, bound read-only into the sandbox, plus the host's real
  // setuid binaries under /usr.
  const std::string probe = CompileC(kUidProbeSource);
  ASSERT_FALSE(probe.empty());
  char dir[] = "/var/tmp/toolgym-hostile-suid-XXXXXX";
  ASSERT_NE(::mkdtemp(dir), nullptr);
  const std::string probe_path = std::string(dir) + "/probe";
  ASSERT_TRUE(WriteFile(probe_path, probe));
  ASSERT_EQ(::chown(probe_path.c_str(), 0, 0), 0);
  ASSERT_EQ(::chmod(probe_path.c_str(), 04755), 0);
  ASSERT_EQ(::chmod(dir, 0755), 0);
  SandboxConfig config;
  config.extra_ro_binds = {{dir, "/opt/suid"}};
  Sandbox* sb = MakeSandbox(config);
  if (sb != nullptr) {
    RunResult r = RunChecked(*sb, {.argv = Bash(R"sh(
ls -l /opt/suid/probe /usr/bin/su /usr/bin/passwd >&2
/opt/suid/probe; p=$?
su root -c 'exit 42' </dev/null; echo su=$?
passwd -d user </dev/null; echo passwd=$?
echo id=$(id -u)
[ $p = 42 ] && exit 42
[ "$(id -u)" != 1000 ] && exit 42
exit 0
)sh")});
    EXPECT_EQ(r.verdict, Verdict::kOk) << r.Summary() << r.stderr_data;
    EXPECT_NOT_SENTINEL(r);
    auto o = Observations(r.stdout_data);
    EXPECT_EQ(o["probe"], "1000/1000/1000");
    EXPECT_NE(o["su"], "42");
    EXPECT_NE(o["su"], "0");
    EXPECT_NE(o["passwd"], "0");
    EXPECT_EQ(o["id"], "1000");
  }
  std::error_code ec;
  fs::remove_all(dir, ec);
}

// ---------------------------------------------------------------------------------------------
// Network.

constexpr char kConnectProgram[] = R"py(
port, name = int(sys.argv[1]), sys.argv[2]
def tcp(host, family):
    s = socket.socket(family, socket.SOCK_STREAM)
    s.settimeout(1)
    s.connect((host, port))
def abstract():
    s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    s.settimeout(1)
    s.connect("\0" + name)
results = {
    "tcp4": tryop(lambda: tcp("127.0.0.1", socket.AF_INET)),
    "tcp6": tryop(lambda: tcp("::1", socket.AF_INET6)),
    "abstract": tryop(abstract),
}
for k, v in results.items():
    obs(k, v)
obs("abstract_listed", name in open("/proc/net/unix").read())
sys.exit(42 if "OK" in results.values() else 0)
)py";

TEST_F(HostileTest, HostTcpAndAbstractUnixListenersAreUnreachable) {
  HostListeners host;
  ASSERT_TRUE(host.Open()) << std::strerror(errno);
  const std::vector<std::string> args = {std::to_string(host.port), host.abstract_name};

  Sandbox* none = MakeSandbox();
  ASSERT_NE(none, nullptr);
  RunResult r = RunChecked(*none, {.argv = Python(kConnectProgram, args)});
  EXPECT_EQ(r.verdict, Verdict::kOk) << r.Summary() << r.stderr_data;
  EXPECT_NOT_SENTINEL(r);
  auto o = Observations(r.stdout_data);
  EXPECT_EQ(o["tcp4"], "EACCES");  // seccomp refuses inet sockets
  EXPECT_EQ(o["tcp6"], "EACCES");
  EXPECT_EQ(o["abstract"], "ECONNREFUSED");  // abstract names are per network namespace
  EXPECT_EQ(o["abstract_listed"], "False");

  SandboxConfig loopback;
  loopback.network = NetworkMode::kLoopback;
  Sandbox* lo = MakeSandbox(loopback);
  ASSERT_NE(lo, nullptr);
  r = RunChecked(*lo, {.argv = Python(kConnectProgram, args)});
  EXPECT_EQ(r.verdict, Verdict::kOk) << r.Summary() << r.stderr_data;
  EXPECT_NOT_SENTINEL(r);
  o = Observations(r.stdout_data);
  EXPECT_EQ(o["tcp4"], "ECONNREFUSED");  // the sandbox's own lo, not the host's
  EXPECT_EQ(o["tcp6"], "ECONNREFUSED");
  EXPECT_EQ(o["abstract"], "ECONNREFUSED");

  EXPECT_EQ(HostListeners::Accepted(host.tcp), 0) << "a connection reached the host listener";
  EXPECT_EQ(HostListeners::Accepted(host.unix_abstract), 0)
      << "a connection reached the host's abstract socket";
}

TEST_F(HostileTest, DnsResolutionFails) {
  constexpr char kProgram[] = R"py(
def resolve(name):
    try:
        return ",".join(sorted({a[4][0] for a in socket.getaddrinfo(name, 80)}))
    except socket.gaierror as e:
        return "gaierror"
obs("localhost", resolve("localhost"))
ext = resolve("example.com")
obs("example", ext)
def udp():
    s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    s.sendto(b"\0" * 12, ("10.255.255.53", 53))
obs("udp53", tryop(udp))
sys.exit(42 if ext != "gaierror" else 0)
)py";
  Sandbox* none = MakeSandbox();
  ASSERT_NE(none, nullptr);
  RunResult r = RunChecked(*none, {.argv = Python(kProgram)});
  EXPECT_EQ(r.verdict, Verdict::kOk) << r.Summary() << r.stderr_data;
  EXPECT_NOT_SENTINEL(r);
  auto o = Observations(r.stdout_data);
  EXPECT_EQ(o["example"], "gaierror");
  EXPECT_EQ(o["udp53"], "EACCES");
  EXPECT_NE(o["localhost"].find("127.0.0.1"), std::string::npos) << "the resolver itself works";

  SandboxConfig loopback;
  loopback.network = NetworkMode::kLoopback;
  Sandbox* lo = MakeSandbox(loopback);
  ASSERT_NE(lo, nullptr);
  r = RunChecked(*lo, {.argv = Python(kProgram)});
  EXPECT_EQ(r.verdict, Verdict::kOk) << r.Summary() << r.stderr_data;
  EXPECT_NOT_SENTINEL(r);
  o = Observations(r.stdout_data);
  EXPECT_EQ(o["example"], "gaierror");
  EXPECT_EQ(o["udp53"], "ENETUNREACH");  // no route out of the sandbox's own namespace
}

TEST_F(HostileTest, RawPacketAndVsockSocketsAreRefused) {
  constexpr char kProgram[] = R"py(
cases = {
    "inet_raw": (socket.AF_INET, socket.SOCK_RAW, socket.IPPROTO_ICMP),
    "inet6_raw": (socket.AF_INET6, socket.SOCK_RAW, socket.IPPROTO_ICMPV6),
    "packet": (socket.AF_PACKET, socket.SOCK_RAW, 0),
    "packet_dgram": (socket.AF_PACKET, socket.SOCK_DGRAM, 0),
    "vsock": (socket.AF_VSOCK, socket.SOCK_STREAM, 0),
}
ok = False
for k, (f, t, p) in cases.items():
    v = tryop(lambda: socket.socket(f, t, p))
    obs(k, v)
    ok |= v == "OK"
sys.exit(42 if ok else 0)
)py";
  Sandbox* none = MakeSandbox();
  ASSERT_NE(none, nullptr);
  RunResult r = RunChecked(*none, {.argv = Python(kProgram)});
  EXPECT_EQ(r.verdict, Verdict::kOk) << r.Summary() << r.stderr_data;
  EXPECT_NOT_SENTINEL(r);
  auto o = Observations(r.stdout_data);
  for (const char* k : {"inet_raw", "inet6_raw", "packet", "packet_dgram", "vsock"})
    EXPECT_EQ(o[k], "EACCES") << k;

  SandboxConfig loopback;
  loopback.network = NetworkMode::kLoopback;
  Sandbox* lo = MakeSandbox(loopback);
  ASSERT_NE(lo, nullptr);
  r = RunChecked(*lo, {.argv = Python(kProgram)});
  EXPECT_EQ(r.verdict, Verdict::kOk) << r.Summary() << r.stderr_data;
  EXPECT_NOT_SENTINEL(r);
  o = Observations(r.stdout_data);
  EXPECT_EQ(o["inet_raw"], "EPERM");  // allowed by seccomp, but no CAP_NET_RAW
  EXPECT_EQ(o["inet6_raw"], "EPERM");
  EXPECT_EQ(o["packet"], "EACCES");
  EXPECT_EQ(o["vsock"], "EACCES");
}

// ---------------------------------------------------------------------------------------------
// Filesystem.

TEST_F(HostileTest, HostSecretFilesAreInvisible) {
  Sandbox* sb = MakeSandbox();
  ASSERT_NE(sb, nullptr);
  RunResult r = RunChecked(*sb, {.argv = Python(R"py(
def read(p):
    if os.path.isdir(p):
        os.listdir(p)
    else:
        open(p, "rb").read()
paths = {
    "shadow": "/etc/shadow", "gshadow": "/etc/gshadow", "sudoers": "/etc/sudoers",
    "root": "/root", "root_ssh": "/root/.ssh", "repo": "/work/main", "repo_file": "/work/main/CMakeLists.txt",
    "home": "/home", "var_log": "/var/log", "sys": "/sys/kernel",
    "init_environ": "/proc/1/environ", "init_root": "/proc/1/root/", "init_cwd": "/proc/1/cwd/",
    "init_fd": "/proc/1/fd", "init_mem": "/proc/1/mem", "hidden": "/.toolgym", "lower": "/.toolgym/lower",
}
ok = False
for k, p in paths.items():
    v = tryop(lambda: read(p))
    obs(k, v)
    ok |= v == "OK"
obs("root_listing", ",".join(sorted(os.listdir("/"))))
sys.exit(42 if ok else 0)
)py")});
  EXPECT_EQ(r.verdict, Verdict::kOk) << r.Summary() << r.stderr_data;
  EXPECT_NOT_SENTINEL(r);
  auto o = Observations(r.stdout_data);
  for (const char* k : {"shadow", "gshadow", "sudoers", "root", "root_ssh", "repo", "repo_file",
                        "home", "var_log", "sys"})
    EXPECT_EQ(o[k], "ENOENT") << k;
  for (const char* k :
       {"init_environ", "init_root", "init_cwd", "init_fd", "init_mem", "hidden", "lower"})
    EXPECT_EQ(o[k], "EACCES") << k;
  EXPECT_EQ(o["root_listing"], ".toolgym,bin,dev,etc,lib,lib32,lib64,proc,sbin,tmp,usr,workspace");
}

TEST_F(HostileTest, HostEnvironmentSecretAppearsNowhere) {
  const std::string secret = "TOOLGYM-SECRET-" + RandomToken();
  ASSERT_EQ(::setenv("TOOLGYM_CANARY_SECRET", secret.c_str(), 1), 0);
  Sandbox* sb = MakeSandbox();
  ASSERT_NE(sb, nullptr);
  // The program gets the secret reversed so that its own argv does not contain it.
  RunResult r = RunChecked(*sb, {.argv = Python(R"py(
secret = sys.argv[1][::-1].encode()
hits, scanned = [], 0
def scan(path):
    global scanned
    try:
        with open(path, "rb") as f:
            data = f.read(1 << 20)
    except OSError:
        return
    scanned += 1
    if secret in data:
        hits.append(path)
for d in os.listdir("/proc"):
    if d.isdigit() or d == "self":
        for f in ("environ", "cmdline"):
            scan(f"/proc/{d}/{f}")
for top in ("/etc", "/tmp", "/dev/shm", "/workspace"):
    for root, dirs, files in os.walk(top):
        for f in files:
            scan(os.path.join(root, f))
obs("in_environ", any(secret.decode() in v for v in os.environ.values()))
obs("hits", ",".join(hits))
obs("scanned", scanned)
sys.exit(42 if hits else 0)
)py",
                                                {Reversed(secret)})});
  ::unsetenv("TOOLGYM_CANARY_SECRET");
  EXPECT_EQ(r.verdict, Verdict::kOk) << r.Summary() << r.stderr_data;
  EXPECT_NOT_SENTINEL(r);
  auto o = Observations(r.stdout_data);
  EXPECT_EQ(o["hits"], "");
  EXPECT_EQ(o["in_environ"], "False");
  EXPECT_GT(std::atoi(o["scanned"].c_str()), 10) << "the scan read (almost) nothing";
}

TEST_F(HostileTest, SystemDirectoriesAreReadOnly) {
  Sandbox* sb = MakeSandbox();
  ASSERT_NE(sb, nullptr);
  const std::string name = "toolgym-hostile-" + std::to_string(::getpid());
  RunResult r = RunChecked(*sb, {.argv = Python(R"py(
name = sys.argv[1]
ops = {
    "usr_bin": lambda: open("/usr/bin/" + name, "w"),
    "usr_lib_mkdir": lambda: os.mkdir("/usr/lib/" + name),
    "usr_chmod": lambda: os.chmod("/usr/bin/python3", 0o777),
    "bin": lambda: open("/bin/" + name, "w"),
    "etc_passwd": lambda: open("/etc/passwd", "a"),
    "etc_new": lambda: open("/etc/" + name, "w"),
    "root_mkdir": lambda: os.mkdir("/" + name),
    "dev_new": lambda: open("/dev/" + name, "w"),
    "proc_new": lambda: open("/proc/" + name, "w"),
}
ok = False
for k, fn in ops.items():
    v = tryop(fn)
    obs(k, v)
    ok |= v == "OK"
sys.exit(42 if ok else 0)
)py",
                                                {name})});
  EXPECT_EQ(r.verdict, Verdict::kOk) << r.Summary() << r.stderr_data;
  EXPECT_NOT_SENTINEL(r);
  const std::set<std::string> refused = {"EROFS", "EACCES", "EPERM", "ENOENT"};
  for (const auto& [k, v] : Observations(r.stdout_data))
    EXPECT_TRUE(refused.contains(v)) << k << "=" << v;
  EXPECT_EQ(Observations(r.stdout_data)["usr_bin"], "EROFS");
  EXPECT_FALSE(fs::exists("/usr/bin/" + name));
  EXPECT_FALSE(fs::exists("/usr/lib/" + name));
  EXPECT_FALSE(fs::exists("/" + name));
}

TEST_F(HostileTest, TemplateSymlinksCannotReachHostFiles) {
  // Links planted in the template, pointing at the host's files by absolute and relative paths.
  SandboxConfig config;
  ASSERT_TRUE(config.workspace_template.AddSymlink("passwd_link", "/etc/passwd").ok());
  ASSERT_TRUE(
      config.workspace_template.AddSymlink("rel_link", "../../../../../../etc/passwd").ok());
  ASSERT_TRUE(config.workspace_template.AddSymlink("canary_link", canary_path_).ok());
  ASSERT_TRUE(config.workspace_template.AddSymlink("root_link", "/").ok());
  Sandbox* sb = MakeSandbox(config);
  ASSERT_NE(sb, nullptr);
  const std::string host_passwd = ReadFile("/etc/passwd");
  ASSERT_NE(host_passwd.find("daemon:x:"), std::string::npos) << "host passwd lacks the marker";
  RunResult r = RunChecked(*sb, {.argv = Python(R"py(
canary = sys.argv[1][::-1]
escaped = False
for link in ("passwd_link", "rel_link", "canary_link"):
    try:
        data = open(link).read()
        obs(link + "_read", "OK")
        escaped |= "daemon:x:" in data or canary in data
    except OSError as e:
        obs(link + "_read", en(e.errno))
    def write():
        with open(link, "a") as f:
            f.write("pwned\n")
    obs(link + "_write", tryop(write))
obs("root_link_has_work", "work" in os.listdir("root_link"))
escaped |= "work" in os.listdir("root_link")
sys.exit(42 if escaped else 0)
)py",
                                                {Reversed(canary_content_)})});
  EXPECT_EQ(r.verdict, Verdict::kOk) << r.Summary() << r.stderr_data;
  EXPECT_NOT_SENTINEL(r);
  auto o = Observations(r.stdout_data);
  EXPECT_EQ(o["passwd_link_read"], "OK");  // the sandbox's generated passwd
  // The generated /etc/passwd is root's, on the read-only root.
  const std::set<std::string> refused = {"EACCES", "EROFS"};
  EXPECT_TRUE(refused.contains(o["passwd_link_write"])) << o["passwd_link_write"];
  EXPECT_TRUE(refused.contains(o["rel_link_write"])) << o["rel_link_write"];
  EXPECT_EQ(o["canary_link_read"], "ENOENT");
  EXPECT_EQ(o["canary_link_write"], "ENOENT");
  EXPECT_EQ(o["root_link_has_work"], "False");
  EXPECT_EQ(ReadFile("/etc/passwd"), host_passwd);
}

TEST_F(HostileTest, TemplateCannotWriteThroughItsOwnSymlinkOnTheHost) {
  // The host writes the template; a link followed by a file "beneath" it must not lead the
  // writer into the host directory.
  SandboxConfig config;
  ASSERT_TRUE(config.workspace_template.AddSymlink("d", canary_dir_).ok());
  ASSERT_TRUE(config.workspace_template.AddFile("d/evil", "pwned").ok());
  auto sb = Sandbox::Create(std::move(config));
  EXPECT_FALSE(sb.ok()) << "a template writing beneath a symlink was accepted";
  if (!sb.ok()) {
    EXPECT_NE(sb.status().message().find("workspace template"), std::string::npos)
        << sb.status().ToString();
  }
  EXPECT_FALSE(fs::exists(canary_dir_ + "/evil"));  // and TearDown checks the whole directory
}

TEST_F(HostileTest, HardlinksOutOfTheWorkspaceFail) {
  Sandbox* sb = MakeSandbox();
  ASSERT_NE(sb, nullptr);
  RunResult r = RunChecked(*sb, {.argv = Python(R"py(
open("/tmp/mine", "w").write("x")
srcs = {"etc_passwd": "/etc/passwd", "usr_su": "/usr/bin/su", "python": "/usr/bin/python3",
        "tmp": "/tmp/mine", "proc": "/proc/self/status"}
ok = False
for k, src in srcs.items():
    v = tryop(lambda: os.link(src, "/workspace/hl_" + k))
    obs(k, v)
    ok |= v == "OK"
AT_EMPTY_PATH = 0x1000
fd = os.open("/etc/passwd", os.O_RDONLY)
r, e = sc(265, fd, b"", -100, b"/workspace/hl_fd", AT_EMPTY_PATH)  # linkat
obs("linkat_empty_path", en(e))
ok |= r >= 0
sys.exit(42 if ok else 0)
)py")});
  EXPECT_EQ(r.verdict, Verdict::kOk) << r.Summary() << r.stderr_data;
  EXPECT_NOT_SENTINEL(r);
  auto o = Observations(r.stdout_data);
  for (const char* k : {"etc_passwd", "usr_su", "python", "tmp", "proc"})
    EXPECT_EQ(o[k], "EXDEV") << k;
  // ENOENT without CAP_DAC_READ_SEARCH; kernels that allow it for the opener's own fd reach the
  // cross-device check.
  EXPECT_TRUE(o["linkat_empty_path"] == "ENOENT" || o["linkat_empty_path"] == "EXDEV")
      << o["linkat_empty_path"];
}

TEST_F(HostileTest, ProcSysAndSysAreNotWritable) {
  Sandbox* sb = MakeSandbox();
  ASSERT_NE(sb, nullptr);
  const std::string core_pattern = ReadFile("/proc/sys/kernel/core_pattern");
  RunResult r = RunChecked(*sb, {.argv = Python(R"py(
def write(p, v):
    with open(p, "w") as f:
        f.write(v)
ops = {
    "hostname": ("/proc/sys/kernel/hostname", "pwned"),
    "core_pattern": ("/proc/sys/kernel/core_pattern", "|/tmp/x"),
    "drop_caches": ("/proc/sys/vm/drop_caches", "3"),
    "sysrq": ("/proc/sysrq-trigger", "h"),
    "sys_uevent": ("/sys/kernel/uevent_helper", "/tmp/x"),
    "cgroup": ("/sys/fs/cgroup/cgroup.procs", "1"),
    "oom_score_adj": ("/proc/self/oom_score_adj", "-1000"),
}
ok = False
for k, (p, v) in ops.items():
    res = tryop(lambda: write(p, v))
    obs(k, res)
    ok |= res == "OK"
libc.sethostname.argtypes = [ctypes.c_char_p, ctypes.c_size_t]
rc = libc.sethostname(b"pwned", 5)
obs("sethostname", en(ctypes.get_errno()) if rc != 0 else "OK")
ok |= rc == 0
sys.exit(42 if ok else 0)
)py")});
  EXPECT_EQ(r.verdict, Verdict::kOk) << r.Summary() << r.stderr_data;
  EXPECT_NOT_SENTINEL(r);
  auto o = Observations(r.stdout_data);
  for (const char* k : {"hostname", "core_pattern", "drop_caches"}) EXPECT_EQ(o[k], "EROFS") << k;
  // Read-only where the kernel has it (CONFIG_MAGIC_SYSRQ), absent otherwise.
  EXPECT_TRUE(o["sysrq"] == "EROFS" || o["sysrq"] == "ENOENT") << o["sysrq"];
  EXPECT_EQ(o["sys_uevent"], "ENOENT");  // no /sys at all
  EXPECT_EQ(o["cgroup"], "ENOENT");
  EXPECT_EQ(o["oom_score_adj"], "EACCES");
  EXPECT_EQ(o["sethostname"], "EPERM");
  EXPECT_EQ(ReadFile("/proc/sys/kernel/core_pattern"), core_pattern);
}

TEST_F(HostileTest, SnapshotDoesNotFollowHostileLinksOrBlockOnFifos) {
  Sandbox* sb = MakeSandbox();
  ASSERT_NE(sb, nullptr);
  RunResult r = RunChecked(*sb, {.argv = Python(R"py(
os.symlink("/etc/passwd", "escape")
os.symlink("/proc/1/root", "proot")
os.symlink("loop", "loop")
os.mkdir("dir")
os.symlink("/", "dir/up")
os.mkfifo("fifo")
open("real.txt", "w").write("real")
)py")});
  ASSERT_EQ(r.verdict, Verdict::kOk) << r.Summary() << r.stderr_data;
  const auto start = std::chrono::steady_clock::now();
  auto tree = sb->SnapshotWorkspace();
  const double took =
      std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  ASSERT_TRUE(tree.ok()) << tree.status().ToString();
  EXPECT_LT(took, 1.0);
  const auto& e = tree->entries();
  ASSERT_TRUE(e.contains("escape"));
  EXPECT_EQ(e.at("escape").type, FileEntry::Type::kSymlink);
  EXPECT_EQ(e.at("escape").data, "/etc/passwd");
  EXPECT_EQ(e.at("proot").type, FileEntry::Type::kSymlink);
  EXPECT_EQ(e.at("loop").type, FileEntry::Type::kSymlink);
  EXPECT_EQ(e.at("dir/up").type, FileEntry::Type::kSymlink);
  EXPECT_FALSE(e.contains("dir/up/etc"));
  EXPECT_FALSE(e.contains("fifo"));
  EXPECT_EQ(e.at("real.txt").data, "real");
  for (const auto& [path, entry] : e)
    EXPECT_EQ(entry.data.find(canary_content_), std::string::npos) << path;
}

TEST_F(HostileTest, SnapshotOfADeepHostileTreeIsBounded) {
  SandboxConfig config;
  config.workspace_bytes = 8 << 20;
  Sandbox* sb = MakeSandbox(config);
  ASSERT_NE(sb, nullptr);
  // No file data at all, but 4000 names at the bottom of 60 levels of 250-byte directory names:
  // relative paths of ~15 KB each, longer than PATH_MAX, built with *at() calls.
  RunResult r = RunChecked(*sb, {.argv = Python(R"py(
fd = os.open(".", os.O_RDONLY)
for i in range(60):
    os.mkdir("d" * 250, dir_fd=fd)
    nfd = os.open("d" * 250, os.O_RDONLY, dir_fd=fd)
    os.close(fd)
    fd = nfd
for i in range(4000):
    os.close(os.open("f%05d" % i + "x" * 200, os.O_CREAT | os.O_WRONLY, dir_fd=fd))
obs("created", 4000)
)py")});
  ASSERT_EQ(r.verdict, Verdict::kOk) << r.Summary() << r.stderr_data;
  ResetPeakRss();
  const std::uint64_t rss_before = PeakRssBytes();
  auto tree = sb->SnapshotWorkspace();
  const std::uint64_t rss_growth = PeakRssBytes() - rss_before;
  if (tree.ok()) {
    std::size_t longest = 0;
    for (const auto& [path, entry] : tree->entries()) longest = std::max(longest, path.size());
    EXPECT_LT(longest, static_cast<std::size_t>(PATH_MAX));
  } else {
    EXPECT_EQ(tree.status().code(), StatusCode::kResourceExhausted) << tree.status().ToString();
  }
  EXPECT_LT(rss_growth, 2 * (config.workspace_bytes + (1 << 20)));
}

TEST_F(HostileTest, DeviceNodesCannotBeCreatedOrReached) {
  Sandbox* sb = MakeSandbox();
  ASSERT_NE(sb, nullptr);
  RunResult r = RunChecked(*sb, {.argv = Python(R"py(
import stat
ops = {
    "mknod_mem": lambda: os.mknod("/workspace/mem", stat.S_IFCHR | 0o666, os.makedev(1, 1)),
    "mknod_sda": lambda: os.mknod("/tmp/sda", stat.S_IFBLK | 0o666, os.makedev(8, 0)),
    "dev_mem": lambda: open("/dev/mem", "rb"),
    "dev_kmsg": lambda: open("/dev/kmsg", "rb"),
    "dev_tty": lambda: open("/dev/tty", "rb"),
}
ok = False
for k, fn in ops.items():
    v = tryop(fn)
    obs(k, v)
    ok |= v == "OK"
def full():
    with open("/dev/full", "wb", buffering=0) as f:
        f.write(b"x")
obs("dev_full", tryop(full))
obs("dev_listing", ",".join(sorted(os.listdir("/dev"))))
sys.exit(42 if ok else 0)
)py")});
  EXPECT_EQ(r.verdict, Verdict::kOk) << r.Summary() << r.stderr_data;
  EXPECT_NOT_SENTINEL(r);
  auto o = Observations(r.stdout_data);
  EXPECT_EQ(o["mknod_mem"], "EPERM");
  EXPECT_EQ(o["mknod_sda"], "EPERM");
  EXPECT_EQ(o["dev_mem"], "ENOENT");
  EXPECT_EQ(o["dev_kmsg"], "ENOENT");
  EXPECT_EQ(o["dev_tty"], "ENOENT");
  EXPECT_EQ(o["dev_full"], "ENOSPC");
  EXPECT_EQ(o["dev_listing"], "fd,full,null,random,shm,stderr,stdin,stdout,urandom,zero");
}

// ---------------------------------------------------------------------------------------------
// Seccomp.

struct SyscallCase {
  std::string label;     // test name suffix
  std::string expected;  // violation name, or errno name for ErrnoRuleTest
  std::string call;      // Python expression returning (ret, errno), via sc()
};

void PrintTo(const SyscallCase& c, std::ostream* os) { *os << c.label << " -> " << c.expected; }

std::string SyscallProgram(const SyscallCase& c) {
  return "print('attempt " + c.label + "', flush=True)\nr, e = " + c.call +
         "\nobs('result', f'{r} {en(e)}')\n"
         "sys.exit(42 if r >= 0 else (0 if en(e) == '" +
         c.expected + "' else 1))\n";
}

class EscapeSyscallTest : public HostileTest, public ::testing::WithParamInterface<SyscallCase> {};

TEST_P(EscapeSyscallTest, KillsTheTreeAndNamesTheSyscall) {
  Sandbox* sb = MakeSandbox();
  ASSERT_NE(sb, nullptr);
  const SyscallCase& c = GetParam();
  // A background child shows that the whole tree goes, not only the caller.
  RunResult r =
      RunChecked(*sb, {.argv = Python("if os.fork() == 0:\n    time.sleep(30)\n    os._exit(0)\n" +
                                      SyscallProgram(c))});
  EXPECT_EQ(r.verdict, Verdict::kSeccompViolation) << r.Summary() << r.stdout_data << r.stderr_data;
  EXPECT_EQ(r.violation_syscall, c.expected);
  EXPECT_NOT_SENTINEL(r);
  EXPECT_EQ(r.stdout_data, "attempt " + c.label + "\n") << "the call returned";
}

constexpr char kTimespec[] = "(ctypes.c_long * 2)(int(time.time()), 0)";
const std::string kBuf = "ctypes.create_string_buffer(4096)";

INSTANTIATE_TEST_SUITE_P(
    Hostile, EscapeSyscallTest,
    ::testing::Values(
        SyscallCase{"ptrace_traceme", "ptrace", "sc(101, 0, 0, 0, 0)"},
        SyscallCase{"process_vm_readv", "process_vm_readv", "sc(310, os.getpid(), 0, 0, 0, 0, 0)"},
        SyscallCase{"process_vm_writev", "process_vm_writev",
                    "sc(311, os.getpid(), 0, 0, 0, 0, 0)"},
        SyscallCase{"pidfd_getfd", "pidfd_getfd", "sc(438, os.pidfd_open(os.getpid()), 0, 0)"},
        SyscallCase{"mount", "mount", "sc(165, b'none', b'/tmp', b'tmpfs', 0, 0)"},
        SyscallCase{"umount2", "umount2", "sc(166, b'/tmp', 2)"},
        SyscallCase{"pivot_root", "pivot_root", "sc(155, b'/tmp', b'/tmp')"},
        SyscallCase{"chroot", "chroot", "sc(161, b'/tmp')"},
        SyscallCase{"unshare_user", "unshare", "sc(272, 0x10000000)"},
        SyscallCase{"unshare_files", "unshare", "sc(272, 0x400)"},
        SyscallCase{"setns", "setns", "sc(308, os.open('/proc/self/ns/uts', os.O_RDONLY), 0)"},
        SyscallCase{"clone_newnet", "clone", "sc(56, 0x40000000 | 17, 0, 0, 0, 0)"},
        SyscallCase{"clone_newuser", "clone", "sc(56, 0x10000000 | 17, 0, 0, 0, 0)"},
        SyscallCase{"fsopen", "fsopen", "sc(430, b'tmpfs', 0)"},
        SyscallCase{"fsmount", "fsmount", "sc(432, 3, 0, 0)"},
        SyscallCase{"open_tree", "open_tree", "sc(428, -100, b'/tmp', 1)"},
        SyscallCase{"move_mount", "move_mount", "sc(429, -100, b'/tmp', -100, b'/usr', 0)"},
        SyscallCase{"mount_setattr", "mount_setattr", "sc(442, -100, b'/tmp', 0, 0, 0)"},
        SyscallCase{"bpf", "bpf", "sc(321, 5, " + kBuf + ", 128)"},
        SyscallCase{"userfaultfd", "userfaultfd", "sc(323, 0)"},
        SyscallCase{"add_key", "add_key", "sc(248, b'user', b'k', b'v', 1, -3)"},
        SyscallCase{"request_key", "request_key", "sc(249, b'user', b'k', 0, 0)"},
        SyscallCase{"keyctl", "keyctl", "sc(250, 0, -3, 0)"},
        SyscallCase{"init_module", "init_module", "sc(175, " + kBuf + ", 16, b'')"},
        SyscallCase{"finit_module", "finit_module", "sc(313, 0, b'', 0)"},
        SyscallCase{"delete_module", "delete_module", "sc(176, b'ext4', 0)"},
        SyscallCase{"kexec_load", "kexec_load", "sc(246, 0, 0, 0, 0)"},
        SyscallCase{"reboot", "reboot", "sc(169, 0xfee1dead, 672274793, 0, 0)"},
        SyscallCase{"open_by_handle_at", "open_by_handle_at", "sc(304, -100, " + kBuf + ", 0)"},
        SyscallCase{"clock_settime", "clock_settime", std::string("sc(227, 0, ") + kTimespec + ")"},
        SyscallCase{"settimeofday", "settimeofday", "sc(164, 0, 0)"},
        SyscallCase{"swapon", "swapon", "sc(167, b'/tmp/swap', 0)"},
        SyscallCase{"acct", "acct", "sc(163, 0)"}, SyscallCase{"iopl", "iopl", "sc(172, 3)"},
        SyscallCase{"ioperm", "ioperm", "sc(173, 0x80, 1, 1)"},
        SyscallCase{"modify_ldt", "modify_ldt", "sc(154, 0, " + kBuf + ", 16)"},
        SyscallCase{"quotactl", "quotactl", "sc(179, 0, b'/', 0, 0)"},
        SyscallCase{"vhangup", "vhangup", "sc(153)"},
        SyscallCase{"ioctl_TIOCSTI", "ioctl", "sc(16, 0, 0x5412, ctypes.c_char_p(b'x'))"},
        SyscallCase{"ioctl_TIOCSTI_high_bits", "ioctl",
                    "sc(16, 0, 0xffffffff00005412, ctypes.c_char_p(b'x'))"},
        SyscallCase{"ioctl_TIOCLINUX", "ioctl", "sc(16, 0, 0x541C, " + kBuf + ")"}),
    [](const ::testing::TestParamInfo<SyscallCase>& info) { return info.param.label; });

class ErrnoRuleTest : public HostileTest, public ::testing::WithParamInterface<SyscallCase> {};

TEST_P(ErrnoRuleTest, FailsWithTheErrnoAndTheCommandGoesOn) {
  Sandbox* sb = MakeSandbox();
  ASSERT_NE(sb, nullptr);
  const SyscallCase& c = GetParam();
  RunResult r = RunChecked(*sb, {.argv = Python(SyscallProgram(c))});
  EXPECT_EQ(r.verdict, Verdict::kOk) << r.Summary() << r.stdout_data << r.stderr_data;
  EXPECT_NOT_SENTINEL(r);
  EXPECT_EQ(Observations(r.stdout_data)["result"], "-1 " + c.expected);
}

INSTANTIATE_TEST_SUITE_P(
    Hostile, ErrnoRuleTest,
    ::testing::Values(
        SyscallCase{"clone3", "ENOSYS", "sc(435, " + kBuf + ", 88)"},
        SyscallCase{"io_uring_setup", "ENOSYS", "sc(425, 8, " + kBuf + ")"},
        SyscallCase{"io_uring_enter", "ENOSYS", "sc(426, 0, 1, 0, 0, 0, 0)"},
        SyscallCase{"io_uring_register", "ENOSYS", "sc(427, 0, 0, 0, 0)"},
        SyscallCase{"perf_event_open", "EACCES", "sc(298, " + kBuf + ", 0, -1, -1, 0)"},
        SyscallCase{"kcmp", "EPERM", "sc(312, os.getpid(), os.getpid(), 0, 0, 0)"},
        SyscallCase{"syslog", "EPERM", "sc(103, 3, " + kBuf + ", 100)"},
        SyscallCase{"adjtimex", "EPERM", "sc(159, " + kBuf + ")"},
        SyscallCase{"clock_adjtime", "EPERM", "sc(305, 0, " + kBuf + ")"},
        SyscallCase{"personality_no_aslr", "EPERM", "sc(135, 0x0040000)"},
        // EOPNOTSUPP, which Python's errno table names ENOTSUP (the same value on Linux).
        SyscallCase{"name_to_handle_at", "ENOTSUP",
                    "sc(303, -100, b'/', " + kBuf + ", " + kBuf + ", 0)"}),
    [](const ::testing::TestParamInfo<SyscallCase>& info) { return info.param.label; });

TEST_F(HostileTest, Clone3IsEnosysWhileThreadsAndSubprocessesWork) {
  Sandbox* sb = MakeSandbox();
  ASSERT_NE(sb, nullptr);
  RunResult r = RunChecked(*sb, {.argv = Python(R"py(
import subprocess, threading
r, e = sc(435, ctypes.create_string_buffer(88), 88)
obs("clone3", en(e))
out = []
ts = [threading.Thread(target=out.append, args=(i,)) for i in range(8)]
for t in ts: t.start()
for t in ts: t.join()
obs("threads", len(out))
obs("subprocess", subprocess.run(["echo", "sub"], capture_output=True).stdout.decode().strip())
sys.exit(42 if r >= 0 else 0)
)py")});
  EXPECT_EQ(r.verdict, Verdict::kOk) << r.Summary() << r.stderr_data;
  EXPECT_NOT_SENTINEL(r);
  auto o = Observations(r.stdout_data);
  EXPECT_EQ(o["clone3"], "ENOSYS");
  EXPECT_EQ(o["threads"], "8");
  EXPECT_EQ(o["subprocess"], "sub");
}

TEST_F(HostileTest, PersonalityQueryIsAllowedWhileUnsafeFlagsAreRefused) {
  Sandbox* sb = MakeSandbox();
  ASSERT_NE(sb, nullptr);
  RunResult r = RunChecked(*sb, {.argv = Python(R"py(
r, e = sc(135, 0xffffffff)
obs("query", "OK" if r >= 0 else en(e))
r2, e2 = sc(135, 0x0040000)  # ADDR_NO_RANDOMIZE
obs("no_aslr", en(e2))
r3, e3 = sc(135, 0x0400000)  # READ_IMPLIES_EXEC
obs("read_implies_exec", en(e3))
sys.exit(42 if r2 >= 0 or r3 >= 0 else 0)
)py")});
  EXPECT_EQ(r.verdict, Verdict::kOk) << r.Summary() << r.stderr_data;
  EXPECT_NOT_SENTINEL(r);
  auto o = Observations(r.stdout_data);
  EXPECT_EQ(o["no_aslr"], "EPERM");
  EXPECT_EQ(o["read_implies_exec"], "EPERM");
  EXPECT_EQ(o["query"], "OK");
}

TEST_F(HostileTest, NamespaceToolsAreViolations) {
  Sandbox* sb = MakeSandbox();
  ASSERT_NE(sb, nullptr);
  RunResult r = RunChecked(*sb, {.argv = Bash("unshare -U -r id; exit 42")});
  EXPECT_EQ(r.verdict, Verdict::kSeccompViolation) << r.Summary() << r.stderr_data;
  EXPECT_EQ(r.violation_syscall, "unshare");
  EXPECT_NOT_SENTINEL(r);
  r = RunChecked(*sb, {.argv = Bash("chroot /tmp /bin/true; exit 42")});
  EXPECT_EQ(r.verdict, Verdict::kSeccompViolation) << r.Summary() << r.stderr_data;
  EXPECT_EQ(r.violation_syscall, "chroot");
  EXPECT_NOT_SENTINEL(r);
}

TEST_F(HostileTest, ViolationsFailWithEpermWhenNotKilling) {
  SandboxConfig config;
  config.seccomp.kill_on_violation = false;
  Sandbox* sb = MakeSandbox(config);
  ASSERT_NE(sb, nullptr);
  RunResult r = RunChecked(*sb, {.argv = Python(R"py(
calls = {
    "mount": lambda: sc(165, b"none", b"/tmp", b"tmpfs", 0, 0),
    "unshare": lambda: sc(272, 0x10000000),
    "ptrace": lambda: sc(101, 0, 0, 0, 0),
    "chroot": lambda: sc(161, b"/tmp"),
    "keyctl": lambda: sc(250, 0, -3, 0),
    "bpf": lambda: sc(321, 5, ctypes.create_string_buffer(128), 128),
    "TIOCSTI": lambda: sc(16, 0, 0xffffffff00005412, ctypes.c_char_p(b"x")),
}
ok = False
for k, fn in calls.items():
    r, e = fn()
    obs(k, en(e))
    ok |= r >= 0
sys.exit(42 if ok else 0)
)py")});
  EXPECT_EQ(r.verdict, Verdict::kOk) << r.Summary() << r.stderr_data;
  EXPECT_NOT_SENTINEL(r);
  auto o = Observations(r.stdout_data);
  for (const char* k : {"mount", "unshare", "ptrace", "chroot", "keyctl", "bpf", "TIOCSTI"})
    EXPECT_EQ(o[k], "EPERM") << k;
}

TEST_F(HostileTest, ForeignAbiSyscallsAreKilled) {
  const std::string int80 = CompileC(kInt80Source);
  const std::string x32 = CompileC(kX32Source);
  ASSERT_FALSE(int80.empty());
  ASSERT_FALSE(x32.empty());
  SandboxConfig config;
  ASSERT_TRUE(config.workspace_template.AddFile("int80", int80, 0755).ok());
  ASSERT_TRUE(config.workspace_template.AddFile("x32", x32, 0755).ok());
  Sandbox* sb = MakeSandbox(config);
  ASSERT_NE(sb, nullptr);
  for (const char* prog : {"./int80", "./x32"}) {
    RunResult r = RunChecked(*sb, {.argv = {prog}});
    EXPECT_EQ(r.verdict, Verdict::kSeccompViolation) << prog << r.Summary();
    EXPECT_NE(r.violation_syscall.find("foreign syscall ABI"), std::string::npos)
        << r.violation_syscall;
    EXPECT_EQ(r.term_signal, SIGSYS);
    EXPECT_NOT_SENTINEL(r);
    EXPECT_TRUE(r.stdout_data.starts_with("attempt")) << r.stdout_data;
    EXPECT_EQ(r.stdout_data.find("returned"), std::string::npos) << r.stdout_data;
  }
}

// ---------------------------------------------------------------------------------------------
// Leaks between the host and a run, and between runs.

TEST_F(HostileTest, OnlyStdioFdsAreInherited) {
  // Host fds without O_CLOEXEC, at low and high numbers.
  const int leaked = ::open(canary_path_.c_str(), O_RDONLY);
  ASSERT_GE(leaked, 0);
  const int leaked_high = ::dup2(leaked, 100);
  const int leaked_sock = ::socket(AF_UNIX, SOCK_STREAM, 0);
  Sandbox* sb = MakeSandbox();
  ASSERT_NE(sb, nullptr);
  RunResult r = RunChecked(*sb, {.argv = Bash("ls /proc/self/fd")});
  EXPECT_EQ(r.verdict, Verdict::kOk) << r.Summary() << r.stderr_data;
  EXPECT_EQ(r.stdout_data, "0\n1\n2\n3\n");  // 3 is ls's own directory handle
  r = RunChecked(*sb, {.argv = Python(R"py(
open_fds = []
for fd in range(3, 1024):
    try:
        os.fstat(fd)
        open_fds.append(f"{fd}:{os.readlink(f'/proc/self/fd/{fd}')}")
    except OSError:
        pass
obs("extra_fds", ",".join(open_fds))
obs("stdin", os.readlink("/proc/self/fd/0"))
sys.exit(42 if open_fds else 0)
)py")});
  ::close(leaked);
  ::close(leaked_high);
  ::close(leaked_sock);
  EXPECT_EQ(r.verdict, Verdict::kOk) << r.Summary() << r.stderr_data;
  EXPECT_NOT_SENTINEL(r);
  auto o = Observations(r.stdout_data);
  EXPECT_EQ(o["extra_fds"], "");
  EXPECT_EQ(o["stdin"], "/dev/null");
}

TEST_F(HostileTest, EnvironmentIsExactlyTheConfiguredOne) {
  ASSERT_EQ(::setenv("TOOLGYM_CANARY_SECRET", "host-only", 1), 0);
  Sandbox* sb = MakeSandbox();
  ASSERT_NE(sb, nullptr);
  RunResult r = RunChecked(*sb, {.argv = {"/usr/bin/env"}, .env = {{"EXTRA", "1"}}});
  ::unsetenv("TOOLGYM_CANARY_SECRET");
  EXPECT_EQ(r.verdict, Verdict::kOk) << r.Summary();
  std::set<std::string> lines;
  std::istringstream ss(r.stdout_data);
  for (std::string line; std::getline(ss, line);) lines.insert(line);
  const std::set<std::string> expected = {
      "EXTRA=1",
      "HOME=/workspace",
      "LANG=C.UTF-8",
      "LOGNAME=user",
      "PATH=/usr/local/bin:/usr/bin:/bin:/usr/local/sbin:/usr/sbin:/sbin",
      "TERM=dumb",
      "USER=user"};
  EXPECT_EQ(lines, expected);
}

TEST_F(HostileTest, RunStateDoesNotLeakIntoTheNextRun) {
  SandboxConfig config;
  ASSERT_TRUE(config.workspace_template.AddFile("keep.txt", "template").ok());
  Sandbox* sb = MakeSandbox(config);
  ASSERT_NE(sb, nullptr);
  RunResult r = RunChecked(*sb, {.argv = Python(R"py(
open("/tmp/marker", "w").write("tmp")
open("/dev/shm/marker", "w").write("shm")
open("/workspace/marker", "w").write("ws")
open("/workspace/keep.txt", "w").write("changed")
libc.shmget.restype = ctypes.c_int
obs("shmget", libc.shmget(0x746f6f6c, 4096, 0o1000 | 0o600))  # IPC_CREAT
libc.msgget.restype = ctypes.c_int
obs("msgget", libc.msgget(0x746f6f6d, 0o1000 | 0o600))
libc.semget.restype = ctypes.c_int
obs("semget", libc.semget(0x746f6f6e, 1, 0o1000 | 0o600))
rt = ctypes.CDLL("librt.so.1", use_errno=True)
rt.mq_open.restype = ctypes.c_int
q = rt.mq_open(b"/toolgym", os.O_CREAT | os.O_RDWR, 0o600, None)
obs("mq_open", q if q >= 0 else en(ctypes.get_errno()))
if os.fork() == 0:
    os.setsid()
    heartbeat("/workspace/hb")
time.sleep(0.1)
)py")});
  ASSERT_EQ(r.verdict, Verdict::kOk) << r.Summary() << r.stderr_data;
  auto o = Observations(r.stdout_data);
  EXPECT_GE(std::atoi(o["shmget"].c_str()), 0);
  EXPECT_GE(std::atoi(o["msgget"].c_str()), 0);
  EXPECT_GE(std::atoi(o["semget"].c_str()), 0);
  EXPECT_EQ(o["mq_open"], "EMFILE");  // RLIMIT_MSGQUEUE is 0: no POSIX queue can exist

  constexpr char kProbe[] = R"py(
obs("tmp", os.path.exists("/tmp/marker"))
obs("shm", os.path.exists("/dev/shm/marker"))
libc.shmget.restype = ctypes.c_int
obs("sysv_shm", "OK" if libc.shmget(0x746f6f6c, 0, 0) >= 0 else en(ctypes.get_errno()))
libc.msgget.restype = ctypes.c_int
obs("sysv_msg", "OK" if libc.msgget(0x746f6f6d, 0) >= 0 else en(ctypes.get_errno()))
libc.semget.restype = ctypes.c_int
obs("sysv_sem", "OK" if libc.semget(0x746f6f6e, 0, 0) >= 0 else en(ctypes.get_errno()))
rt = ctypes.CDLL("librt.so.1", use_errno=True)
rt.mq_open.restype = ctypes.c_int
obs("mq", "OK" if rt.mq_open(b"/toolgym", os.O_RDWR) >= 0 else en(ctypes.get_errno()))
procs = sorted(int(d) for d in os.listdir("/proc") if d.isdigit())
obs("others", ",".join(str(p) for p in procs if p not in (1, os.getpid())))
obs("workspace", open("/workspace/marker").read() if os.path.exists("/workspace/marker") else "missing")
obs("keep", open("/workspace/keep.txt").read())
leaked = os.path.exists("/tmp/marker") or os.path.exists("/dev/shm/marker")
leaked |= libc.shmget(0x746f6f6c, 0, 0) >= 0 or libc.msgget(0x746f6f6d, 0) >= 0
leaked |= libc.semget(0x746f6f6e, 0, 0) >= 0 or rt.mq_open(b"/toolgym", os.O_RDWR) >= 0
sys.exit(42 if leaked else 0)
)py";
  r = RunChecked(*sb, {.argv = Python(kProbe)});
  EXPECT_EQ(r.verdict, Verdict::kOk) << r.Summary() << r.stderr_data;
  EXPECT_NOT_SENTINEL(r);
  o = Observations(r.stdout_data);
  EXPECT_EQ(o["tmp"], "False");
  EXPECT_EQ(o["shm"], "False");
  EXPECT_EQ(o["sysv_shm"], "ENOENT");
  EXPECT_EQ(o["sysv_msg"], "ENOENT");
  EXPECT_EQ(o["sysv_sem"], "ENOENT");
  EXPECT_EQ(o["mq"], "ENOENT");
  EXPECT_EQ(o["others"], "");       // the first run's background process is gone
  EXPECT_EQ(o["workspace"], "ws");  // the workspace persists by design
  EXPECT_EQ(o["keep"], "changed");
  ExpectHeartbeatStopped(*sb, "hb");

  // Until the workspace is reset to the template.
  ASSERT_TRUE(sb->ResetWorkspace().ok());
  r = RunChecked(*sb, {.argv = Python(kProbe)});
  EXPECT_EQ(r.verdict, Verdict::kOk) << r.Summary() << r.stderr_data;
  o = Observations(r.stdout_data);
  EXPECT_EQ(o["workspace"], "missing");
  EXPECT_EQ(o["keep"], "template");
}

// ---------------------------------------------------------------------------------------------
// Exit status edge cases.

TEST_F(HostileTest, Exit255IsNonzeroExit) {
  Sandbox* sb = MakeSandbox();
  ASSERT_NE(sb, nullptr);
  RunResult r = RunChecked(*sb, {.argv = Bash("exit 255")});
  EXPECT_EQ(r.verdict, Verdict::kNonzeroExit) << r.Summary();
  EXPECT_EQ(r.exit_code, 255);
  EXPECT_EQ(r.term_signal, 0);
}

TEST_F(HostileTest, SigabrtIsSignaled) {
  Sandbox* sb = MakeSandbox();
  ASSERT_NE(sb, nullptr);
  RunResult r = RunChecked(*sb, {.argv = Python("os.abort()\n")});
  EXPECT_EQ(r.verdict, Verdict::kSignaled) << r.Summary();
  EXPECT_EQ(r.term_signal, SIGABRT);
  EXPECT_EQ(r.exit_code, -1);
}

TEST_F(HostileTest, MissingInterpreterAndUnexecutableFilesFailWithAMessage) {
  SandboxConfig config;
  ASSERT_TRUE(config.workspace_template.AddFile("script", "#!/nonexistent\necho hi\n", 0755).ok());
  ASSERT_TRUE(config.workspace_template.AddFile("noexec", "#!/bin/sh\necho hi\n", 0644).ok());
  Sandbox* sb = MakeSandbox(config);
  ASSERT_NE(sb, nullptr);
  RunResult r = RunChecked(*sb, {.argv = {"./script"}});
  EXPECT_EQ(r.verdict, Verdict::kNonzeroExit) << r.Summary();
  EXPECT_EQ(r.exit_code, 127);
  EXPECT_NE(r.error.find("ENOENT"), std::string::npos) << r.error;
  EXPECT_NE(r.stderr_data.find("No such file or directory"), std::string::npos) << r.stderr_data;
  EXPECT_EQ(r.stdout_data, "");

  r = RunChecked(*sb, {.argv = {"./noexec"}});
  EXPECT_EQ(r.verdict, Verdict::kNonzeroExit) << r.Summary();
  EXPECT_EQ(r.exit_code, 126);
  EXPECT_NE(r.error.find("EACCES"), std::string::npos) << r.error;

  r = RunChecked(*sb, {.argv = {"no-such-program-anywhere"}});
  EXPECT_EQ(r.verdict, Verdict::kNonzeroExit) << r.Summary();
  EXPECT_EQ(r.exit_code, 127);
  EXPECT_NE(r.error.find("ENOENT"), std::string::npos) << r.error;
}

}  // namespace
}  // namespace toolgym::sandbox
