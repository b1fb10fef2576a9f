// sandbox_bench: what a sandboxed command costs, side by side with its baselines.
//
// Cases (docs/benchmarks.md explains each and records a run):
//   fork+execve and posix_spawn of /bin/true from this process (no isolation),
//   Sandbox::Run(/bin/true) on one sandbox created once,
//   bubblewrap starting /bin/true in fresh namespaces (what a sandbox per command costs),
//   Session round trips (`echo hi`, a builtin; `/bin/true`, a fork+exec by the shell),
//   Sandbox::ResetWorkspace after 20 changed files, with 200- and 5,000-file templates,
//   throughput of 64 sandboxes sharing one io_context, confined to 1 CPU and to 2 CPUs.
// Prints a Markdown report (tables, ratios of medians, PASS/FAIL target lines) on stdout and
// progress on stderr; --json writes the same numbers and every sample. Exit status: 0 when every
// case ran and every command gave the expected result (targets do not affect it: timings are too
// noisy to gate on), 2 when a case failed, 1 on bad options.
//
// Why hand-written timing (std::chrono::steady_clock) and not Google Benchmark: the targets are
// ratios between cases (Sandbox::Run against fork+exec, bwrap against Sandbox::Run, 2 CPUs
// against 1), and a ratio of medians only means something when both medians saw the same machine.
// Google Benchmark runs each benchmark to completion before starting the next, so a stretch of
// noise (a neighbour VM, page-cache writeback, frequency changes) lands on one case only, and its
// repetitions and aggregates are per benchmark. Here each round runs every case in turn (the
// starting case rotates), and the throughput trials are spread over the rounds, so slow drift
// hits all cases alike and every ratio comes from one process and one run. Each sample is one
// operation (no batching), which also gives real percentiles rather than averages of batches.
#include <sched.h>
#include <spawn.h>
#include <sys/resource.h>
#include <sys/sysinfo.h>
#include <sys/utsname.h>
#include <sys/wait.h>
#include <unistd.h>

#include <CLI/CLI.hpp>
#include <algorithm>
#include <atomic>
#include <boost/asio/io_context.hpp>
#include <cerrno>
#include <chrono>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <nlohmann/json.hpp>
#include <optional>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

#include "bench/bench_util.h"
#include "common/status.h"
#include "sandbox/sandbox.h"
#include "sandbox/session.h"

extern char** environ;

namespace toolgym::bench {
namespace {

using sandbox::FileTree;
using sandbox::RunOptions;
using sandbox::RunResult;
using sandbox::Sandbox;
using sandbox::SandboxConfig;
using sandbox::Session;
using Clock = std::chrono::steady_clock;
using nlohmann::json;

double Seconds(Clock::duration d) { return std::chrono::duration<double>(d).count(); }

struct Options {
  int runs = 200;                // rounds; a case with reps_per_round r gets r * runs samples
  int warmup = 10;               // untimed rounds before the measured ones
  int trials = 20;               // throughput trials per CPU count (1 and 2)
  int sandboxes = 64;            // concurrent sandboxes in the throughput case
  int commands_per_sandbox = 8;  // back-to-back commands each sandbox runs per trial
  int throughput_cpus = 2;       // CPUs the throughput case is confined to
  std::string json_path;
  bool quick = false;
};

// One latency case. `once` does its own untimed preparation and returns the seconds of the
// timed part only.
struct LatencyCase {
  std::string id;
  std::string label;
  int reps_per_round = 1;
  std::function<StatusOr<double>()> once;
  std::vector<double> samples;  // seconds
  std::string skipped;          // why the case did not run; empty when it ran
};

LatencyCase MakeCase(std::string id, std::string label, int reps_per_round,
                     std::function<StatusOr<double>()> once) {
  LatencyCase c;
  c.id = std::move(id);
  c.label = std::move(label);
  c.reps_per_round = reps_per_round;
  c.once = std::move(once);
  return c;
}

Status CheckOk(const RunResult& r, const std::string& what) {
  if (r.ok()) return OkStatus();
  return InternalError("{}: {} (error '{}', stderr '{}')", what, r.Summary(), r.error,
                       r.stderr_data.substr(0, 200));
}

StatusOr<int> WaitChild(pid_t pid) {
  int status = 0;
  while (::waitpid(pid, &status, 0) < 0) {
    if (errno != EINTR) return ErrnoError("waitpid", errno);
  }
  return status;
}

// fork + execve + waitpid from this process. fork copies this process's page tables; the
// sandbox's init spawns with CLONE_VM | CLONE_VFORK instead, like posix_spawn below.
StatusOr<double> ForkExecOnce(const char* path, char* const argv[]) {
  const auto start = Clock::now();
  const pid_t pid = ::fork();
  if (pid < 0) return ErrnoError("fork", errno);
  if (pid == 0) {
    ::execve(path, argv, environ);
    _exit(127);
  }
  TG_ASSIGN_OR_RETURN(int status, WaitChild(pid));
  const double s = Seconds(Clock::now() - start);
  if (!WIFEXITED(status) || WEXITSTATUS(status) != 0)
    return InternalError("{} ended with wait status {:#x}", path, status);
  return s;
}

// posix_spawn: glibc's clone(CLONE_VM | CLONE_VFORK), the cheapest way to start a program.
StatusOr<double> PosixSpawnOnce(const char* path, char* const argv[]) {
  const auto start = Clock::now();
  pid_t pid = 0;
  if (int err = ::posix_spawn(&pid, path, nullptr, nullptr, argv, environ); err != 0)
    return ErrnoError("posix_spawn", err);
  TG_ASSIGN_OR_RETURN(int status, WaitChild(pid));
  const double s = Seconds(Clock::now() - start);
  if (!WIFEXITED(status) || WEXITSTATUS(status) != 0)
    return InternalError("{} ended with wait status {:#x}", path, status);
  return s;
}

std::optional<std::string> FindInPath(const std::string& name) {
  const char* path = std::getenv("PATH");
  std::stringstream ss(path ? path : "/usr/bin:/bin");
  std::string dir;
  while (std::getline(ss, dir, ':')) {
    const std::string p = (dir.empty() ? "." : dir) + "/" + name;
    if (::access(p.c_str(), X_OK) == 0) return p;
  }
  return std::nullopt;
}

// argv storage for execve: the strings and the char* array that points into them.
struct Argv {
  explicit Argv(std::vector<std::string> a) : args(std::move(a)) {
    for (auto& s : args) ptrs.push_back(s.data());
    ptrs.push_back(nullptr);
  }
  std::vector<std::string> args;
  std::vector<char*> ptrs;
};

// A template of `files` small files in directories of 50 ("src/d000/f0000.txt").
StatusOr<FileTree> MakeTemplate(int files) {
  FileTree tree;
  for (int i = 0; i < files; ++i) {
    TG_RETURN_IF_ERROR(tree.AddFile(fmt::format("src/d{:03}/f{:04}.txt", i / 50, i),
                                    fmt::format("file {}\n{}\n", i, std::string(200, 'x'))));
  }
  return tree;
}

// Resets a workspace of `files` template files, 20 of which a command changed just before.
class ResetCase {
 public:
  static StatusOr<std::unique_ptr<ResetCase>> Create(int files) {
    SandboxConfig cfg;
    TG_ASSIGN_OR_RETURN(cfg.workspace_template, MakeTemplate(files));
    TG_ASSIGN_OR_RETURN(auto sb, Sandbox::Create(std::move(cfg)));
    std::unique_ptr<ResetCase> c(new ResetCase(std::move(sb)));
    std::string script = "for f in";
    for (int k = 0; k < 20; ++k) {
      const int i = k * (files / 20);
      c->changed_.push_back(fmt::format("src/d{:03}/f{:04}.txt", i / 50, i));
      script += " " + c->changed_.back();
    }
    script += "; do echo changed >> \"$f\"; done";
    c->change_.argv = {"/bin/sh", "-c", script};
    TG_RETURN_IF_ERROR(c->Verify());
    return c;
  }

  StatusOr<double> Once() {
    TG_RETURN_IF_ERROR(CheckOk(sb_->Run(change_), "changing 20 workspace files"));
    const auto start = Clock::now();
    Status st = sb_->ResetWorkspace();
    const double s = Seconds(Clock::now() - start);
    TG_RETURN_IF_ERROR(st.WithContext("ResetWorkspace"));
    return s;
  }

  // Checks that the change lands and that the reset undoes it, so the timed reset is real.
  Status Verify() {
    RunOptions cat;
    cat.argv = {"cat", changed_.back()};
    TG_RETURN_IF_ERROR(CheckOk(sb_->Run(change_), "changing 20 workspace files"));
    RunResult before = sb_->Run(cat);
    TG_RETURN_IF_ERROR(CheckOk(before, "cat"));
    if (!before.stdout_data.ends_with("changed\n"))
      return InternalError("the change did not reach {}", changed_.back());
    TG_RETURN_IF_ERROR(sb_->ResetWorkspace().WithContext("ResetWorkspace"));
    RunResult after = sb_->Run(cat);
    TG_RETURN_IF_ERROR(CheckOk(after, "cat"));
    if (after.stdout_data.find("changed") != std::string::npos)
      return InternalError("ResetWorkspace left the change in {}", changed_.back());
    return OkStatus();
  }

 private:
  explicit ResetCase(std::unique_ptr<Sandbox> sb) : sb_(std::move(sb)) {}
  std::unique_ptr<Sandbox> sb_;
  std::vector<std::string> changed_;
  RunOptions change_;
};

// The first `count` CPUs this process may use, or nothing when it may use `count` or fewer.
std::optional<cpu_set_t> FirstCpus(int count) {
  cpu_set_t all;
  CPU_ZERO(&all);
  if (::sched_getaffinity(0, sizeof all, &all) != 0 || CPU_COUNT(&all) <= count)
    return std::nullopt;
  cpu_set_t some;
  CPU_ZERO(&some);
  for (int cpu = 0, taken = 0; cpu < CPU_SETSIZE && taken < count; ++cpu) {
    if (CPU_ISSET(cpu, &all)) {
      CPU_SET(cpu, &some);
      ++taken;
    }
  }
  return some;
}

// User + system CPU time of this whole process (all threads).
double ProcessCpuSeconds() {
  rusage ru{};
  ::getrusage(RUSAGE_SELF, &ru);
  return static_cast<double>(ru.ru_utime.tv_sec + ru.ru_stime.tv_sec) +
         static_cast<double>(ru.ru_utime.tv_usec + ru.ru_stime.tv_usec) / 1e6;
}

// One throughput trial. The CPU split shows where the work goes: one io thread can at most
// deliver 1 / host_cpu_ms commands per ms, and N CPUs at most N / (sum of the three).
struct TrialResult {
  double commands_per_s = 0;
  double host_cpu_ms = 0;     // per command: this process (the io_context threads)
  double init_cpu_ms = 0;     // per command: the sandbox's init (protocol, clone, reaping)
  double command_cpu_ms = 0;  // per command: the command's tree (exec, ld.so, /bin/true, exit)
};

// Many sandboxes on one io_context; each runs /bin/true back to back through AsyncRun.
class ThroughputCase {
 public:
  Status Setup(const Options& o) {
    per_sandbox_ = o.commands_per_sandbox;
    cpus_ = FirstCpus(o.throughput_cpus);
    // A sandbox's init is cloned from the calling thread and inherits its CPU mask, and every
    // command inherits the init's: confining this thread while creating them confines the
    // whole case (io threads are confined in Trial).
    cpu_set_t saved;
    CPU_ZERO(&saved);
    if (cpus_) {
      ::sched_getaffinity(0, sizeof saved, &saved);
      ::sched_setaffinity(0, sizeof *cpus_, &*cpus_);
    }
    Status st;
    for (int i = 0; i < o.sandboxes && st.ok(); ++i) {
      auto sb = Sandbox::Create(SandboxConfig{}, io_.get_executor());
      if (sb.ok()) {
        sandboxes_.push_back(std::move(sb).value());
      } else {
        st = sb.status().WithContext(fmt::format("throughput sandbox {}", i));
      }
    }
    if (cpus_) ::sched_setaffinity(0, sizeof saved, &saved);
    return st;
  }

  bool confined() const { return cpus_.has_value(); }
  int commands_per_trial() const { return static_cast<int>(sandboxes_.size()) * per_sandbox_; }

  // Commands per second with the whole case confined to `cpus` CPUs: as many threads run the
  // io_context, and every sandbox's init (hence every command it forks, which inherits its
  // mask) may run on those CPUs only. The target compares 2 CPUs with one CPU's
  // throughput; the work is spread over the inits and their commands, not the io threads.
  StatusOr<TrialResult> Trial(int cpus) {
    const int threads = cpus;
    std::optional<cpu_set_t> mask = FirstCpus(cpus);
    cpu_set_t all;
    CPU_ZERO(&all);
    if (cpus_) {
      all = *cpus_;
    } else {
      ::sched_getaffinity(0, sizeof all, &all);
    }
    const cpu_set_t& use = mask ? *mask : all;
    for (const auto& sb : sandboxes_)
      if (::sched_setaffinity(sb->init_pid(), sizeof use, &use) != 0)
        return InternalError("sched_setaffinity of init {}: errno {}", sb->init_pid(), errno);
    struct Chain {
      Sandbox* sb;
      int left;
    };
    std::vector<Chain> chains;
    for (auto& sb : sandboxes_) chains.push_back({sb.get(), per_sandbox_});
    std::atomic<int> completed{0};
    std::atomic<std::int64_t> command_cpu_us{0};
    std::mutex error_mu;
    std::string error;
    // Each chain's handler runs on its own sandbox's strand, so `left` needs no lock.
    std::function<void(Chain*)> next = [&](Chain* c) {
      RunOptions opts;
      opts.argv = {"/bin/true"};
      c->sb->AsyncRun(std::move(opts), [&, c](RunResult r) {
        if (!r.ok()) {
          std::lock_guard<std::mutex> lock(error_mu);
          if (error.empty()) error = r.Summary() + " " + r.error;
        }
        command_cpu_us.fetch_add(static_cast<std::int64_t>(r.cpu_time_s * 1e6),
                                 std::memory_order_relaxed);
        completed.fetch_add(1, std::memory_order_relaxed);
        if (--c->left > 0) next(c);
      });
    };
    io_.restart();
    const double host_before = ProcessCpuSeconds();
    const double init_before = InitCpuSeconds();
    const auto start = Clock::now();
    for (Chain& c : chains) next(&c);
    std::vector<std::thread> pool;
    for (int t = 0; t < threads; ++t) {
      pool.emplace_back([this, &use] {
        ::sched_setaffinity(0, sizeof use, &use);
        io_.run();  // returns when every chain is done: each run holds work until it completes
      });
    }
    for (auto& t : pool) t.join();
    const double s = Seconds(Clock::now() - start);
    if (!error.empty()) return InternalError("throughput run failed: {}", error);
    const int n = completed.load();
    if (n != commands_per_trial())
      return InternalError("throughput trial completed {} of {} commands", n, commands_per_trial());
    TrialResult t;
    t.commands_per_s = n / s;
    t.host_cpu_ms = (ProcessCpuSeconds() - host_before) * 1e3 / n;
    t.init_cpu_ms = (InitCpuSeconds() - init_before) * 1e3 / n;
    t.command_cpu_ms = static_cast<double>(command_cpu_us.load()) / 1e3 / n;
    return t;
  }

 private:
  // CPU time of every sandbox's init (single-threaded) from /proc/PID/schedstat (ns precision).
  double InitCpuSeconds() const {
    double total = 0;
    for (const auto& sb : sandboxes_) {
      std::ifstream f(fmt::format("/proc/{}/schedstat", sb->init_pid()));
      double ns = 0;
      if (f >> ns) total += ns / 1e9;
    }
    return total;
  }

  boost::asio::io_context io_;
  std::vector<std::unique_ptr<Sandbox>> sandboxes_;
  std::optional<cpu_set_t> cpus_;
  int per_sandbox_ = 0;
};

struct Target {
  std::string text;  // what is compared, with the numbers
  bool pass = false;
  bool skipped = false;
};

json StatsJson(const Stats& s, double scale) {
  return {{"n", s.n},
          {"median", s.median * scale},
          {"p10", s.p10 * scale},
          {"p90", s.p90 * scale},
          {"mean", s.mean * scale},
          {"min", s.min * scale},
          {"max", s.max * scale}};
}

int Main(int argc, char** argv) {
  Options o;
  CLI::App app{"toolgym sandbox benchmark: prints a Markdown report of per-command costs"};
  app.add_option("--runs", o.runs, "measured rounds; fast cases run several times per round")
      ->check(CLI::PositiveNumber);
  app.add_option("--warmup", o.warmup, "untimed rounds first")->check(CLI::NonNegativeNumber);
  app.add_option("--trials", o.trials, "throughput trials per CPU count (1 and 2)")
      ->check(CLI::PositiveNumber);
  app.add_option("--sandboxes", o.sandboxes, "concurrent sandboxes in the throughput case")
      ->check(CLI::PositiveNumber);
  app.add_option("--commands-per-sandbox", o.commands_per_sandbox,
                 "back-to-back commands per sandbox per throughput trial")
      ->check(CLI::PositiveNumber);
  app.add_option("--throughput-cpus", o.throughput_cpus, "CPUs the throughput case is confined to")
      ->check(CLI::PositiveNumber);
  app.add_option("--json", o.json_path, "also write the results (and every sample) as JSON here");
  app.add_flag("--quick", o.quick,
               "a smoke run: few runs, warm-ups and trials (numbers are rough)");
  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& e) {
    return app.exit(e) == 0 ? 0 : 1;
  }
  if (o.quick) {
    if (app.count("--runs") == 0) o.runs = 20;
    if (app.count("--warmup") == 0) o.warmup = 2;
    if (app.count("--trials") == 0) o.trials = 1;
    if (app.count("--commands-per-sandbox") == 0) o.commands_per_sandbox = 2;
  }
  auto die = [](const Status& st) {
    std::fprintf(stderr, "sandbox_bench: %s\n", st.ToString().c_str());
    return 2;
  };

  std::fprintf(stderr, "sandbox_bench: setting up\n");
  const auto setup_start = Clock::now();
  static char* const kTrueArgv[] = {const_cast<char*>("true"), nullptr};
  std::vector<LatencyCase> cases;
  cases.push_back(MakeCase("fork_exec", "fork+execve+waitpid /bin/true (no isolation)", 5,
                           [] { return ForkExecOnce("/bin/true", kTrueArgv); }));
  cases.push_back(MakeCase("posix_spawn", "posix_spawn+waitpid /bin/true (no isolation)", 5,
                           [] { return PosixSpawnOnce("/bin/true", kTrueArgv); }));

  auto run_sb = Sandbox::Create(SandboxConfig{});
  if (!run_sb.ok()) return die(run_sb.status());
  std::shared_ptr<Sandbox> sb = std::move(run_sb).value();
  cases.push_back(MakeCase("sandbox_run", "Sandbox::Run /bin/true (sandbox created once)", 2,
                           [sb]() -> StatusOr<double> {
                             RunOptions opts;
                             opts.argv = {"/bin/true"};
                             const auto start = Clock::now();
                             RunResult r = sb->Run(std::move(opts));
                             const double s = Seconds(Clock::now() - start);
                             TG_RETURN_IF_ERROR(CheckOk(r, "Sandbox::Run /bin/true"));
                             return s;
                           }));

  auto bwrap_path = FindInPath("bwrap");
  auto bwrap_argv = std::make_shared<Argv>(
      std::vector<std::string>{"bwrap",     "--unshare-all", "--die-with-parent",
                               "--ro-bind", "/usr",          "/usr",
                               "--symlink", "usr/bin",       "/bin",
                               "--symlink", "usr/lib",       "/lib",
                               "--symlink", "usr/lib64",     "/lib64",
                               "--proc",    "/proc",         "--dev",
                               "/dev",      "--tmpfs",       "/tmp",
                               "/bin/true"});
  LatencyCase bwrap =
      MakeCase("bwrap", "bwrap --unshare-all ... /bin/true (namespaces per command)", 1,
               [bwrap_path, bwrap_argv] {
                 return ForkExecOnce(bwrap_path->c_str(), bwrap_argv->ptrs.data());
               });
  if (!bwrap_path) {
    bwrap.skipped = "bwrap not found in PATH";
  } else if (auto probe = bwrap.once(); !probe.ok()) {
    bwrap.skipped = "bwrap does not run here: " + probe.status().message();
  }
  cases.push_back(std::move(bwrap));

  auto session_or = Session::Create(SandboxConfig{});
  if (!session_or.ok()) return die(session_or.status());
  std::shared_ptr<Session> session = std::move(session_or).value();
  cases.push_back(MakeCase("session_echo", "Session::Exec(\"echo hi\") (bash builtin)", 5,
                           [session]() -> StatusOr<double> {
                             const auto start = Clock::now();
                             RunResult r = session->Exec("echo hi");
                             const double s = Seconds(Clock::now() - start);
                             TG_RETURN_IF_ERROR(CheckOk(r, "Session echo hi"));
                             if (r.stdout_data != "hi\n")
                               return InternalError("Session echo hi printed '{}'", r.stdout_data);
                             return s;
                           }));
  cases.push_back(MakeCase("session_true", "Session::Exec(\"/bin/true\") (fork+exec by the shell)",
                           2, [session]() -> StatusOr<double> {
                             const auto start = Clock::now();
                             RunResult r = session->Exec("/bin/true");
                             const double s = Seconds(Clock::now() - start);
                             TG_RETURN_IF_ERROR(CheckOk(r, "Session /bin/true"));
                             return s;
                           }));

  std::shared_ptr<ResetCase> reset_cases[2];
  const int reset_files[2] = {200, 5000};
  for (int i = 0; i < 2; ++i) {
    auto rc = ResetCase::Create(reset_files[i]);
    if (!rc.ok())
      return die(rc.status().WithContext(fmt::format("reset case, {} files", reset_files[i])));
    reset_cases[i] = std::move(rc).value();
    std::shared_ptr<ResetCase> c = reset_cases[i];
    cases.push_back(
        MakeCase(fmt::format("reset_{}", reset_files[i]),
                 fmt::format("ResetWorkspace, {}-file template, 20 changed", reset_files[i]), 1,
                 [c] { return c->Once(); }));
  }

  ThroughputCase throughput;
  if (Status st = throughput.Setup(o); !st.ok()) return die(st);
  std::vector<TrialResult> trials[2];  // on 1 and on 2 CPUs
  std::fprintf(stderr, "sandbox_bench: set up in %.2f s; %d warm-up and %d measured rounds\n",
               Seconds(Clock::now() - setup_start), o.warmup, o.runs);

  // Warm-up: page cache, allocator, the kernel's namespace and mount caches; also one
  // throughput trial per CPU count.
  for (int round = 0; round < o.warmup; ++round) {
    for (LatencyCase& c : cases) {
      if (!c.skipped.empty()) continue;
      for (int rep = 0; rep < c.reps_per_round; ++rep) {
        if (auto s = c.once(); !s.ok()) return die(s.status().WithContext(c.id + " (warm-up)"));
      }
    }
  }
  if (o.warmup > 0) {
    for (int threads : {1, 2}) {
      if (auto t = throughput.Trial(threads); !t.ok()) return die(t.status());
    }
  }

  const std::string load_before = LoadAverage();
  const auto measure_start = Clock::now();
  int trials_done = 0;
  for (int round = 0; round < o.runs; ++round) {
    for (std::size_t k = 0; k < cases.size(); ++k) {
      LatencyCase& c = cases[(static_cast<std::size_t>(round) + k) % cases.size()];
      if (!c.skipped.empty()) continue;
      for (int rep = 0; rep < c.reps_per_round; ++rep) {
        auto s = c.once();
        if (!s.ok()) return die(s.status().WithContext(c.id));
        c.samples.push_back(*s);
      }
    }
    // Throughput trials, spread evenly over the rounds; the order of 1 and 2 CPUs alternates.
    while (trials_done < o.trials &&
           static_cast<long>(round + 1) * o.trials >= static_cast<long>(trials_done + 1) * o.runs) {
      const int first = trials_done % 2 == 0 ? 1 : 2;
      for (int threads : {first, 3 - first}) {
        auto t = throughput.Trial(threads);
        if (!t.ok()) return die(t.status());
        trials[threads - 1].push_back(*t);
      }
      ++trials_done;
    }
    if (o.runs >= 10 && (round + 1) % (o.runs / 10) == 0)
      std::fprintf(stderr, "sandbox_bench: round %d/%d (%.1f s)\n", round + 1, o.runs,
                   Seconds(Clock::now() - measure_start));
  }
  for (auto& c : reset_cases) {
    if (Status st = c->Verify(); !st.ok()) return die(st.WithContext("after the runs"));
  }
  const double measure_s = Seconds(Clock::now() - measure_start);
  const std::string load_after = LoadAverage();

  // Report.
  const Machine m = DescribeMachine();
  std::map<std::string, Stats> stats;
  for (const LatencyCase& c : cases) stats[c.id] = Summarize(c.samples);
  // Per CPU count: commands/s, then the CPU split per command (ms).
  std::vector<double> tput[2], host_cpu[2], init_cpu[2], command_cpu[2];
  for (int i = 0; i < 2; ++i) {
    for (const TrialResult& t : trials[i]) {
      tput[i].push_back(t.commands_per_s);
      host_cpu[i].push_back(t.host_cpu_ms);
      init_cpu[i].push_back(t.init_cpu_ms);
      command_cpu[i].push_back(t.command_cpu_ms);
    }
  }
  const Stats t1 = Summarize(tput[0]), t2 = Summarize(tput[1]);
  auto median = [&](const std::string& id) -> std::optional<double> {
    auto it = stats.find(id);
    if (it == stats.end() || it->second.n == 0) return std::nullopt;
    return it->second.median;
  };

  std::string out;
  out += "# toolgym sandbox benchmark\n\n";
  out += fmt::format("Machine: {} online CPUs ({} allowed), {}, {}, {:.1f} GiB RAM\n\n",
                     m.cpus_online, m.cpus_allowed, m.cpu_model, m.kernel, m.memory_gib);
  out += fmt::format(
      "Runs: {} rounds after {} warm-up rounds, cases interleaved (fast cases several times per "
      "round); {} throughput trials per CPU count of {} sandboxes x {} commands; measured in "
      "{:.1f} s. Load average before: {}; after: {}.\n\n",
      o.runs, o.warmup, o.trials, o.sandboxes, o.commands_per_sandbox, measure_s, load_before,
      load_after);
  out += "| case | runs | median ms | p10 ms | p90 ms | mean ms | median / fork+exec |\n";
  out += "|---|---:|---:|---:|---:|---:|---:|\n";
  const auto fork_exec = median("fork_exec");
  for (const LatencyCase& c : cases) {
    if (!c.skipped.empty()) {
      out += fmt::format("| {} | 0 | skipped: {} | | | | |\n", c.label, c.skipped);
      continue;
    }
    const Stats& s = stats[c.id];
    out += fmt::format("| {} | {} | {:.3f} | {:.3f} | {:.3f} | {:.3f} | {:.2f}x |\n", c.label, s.n,
                       s.median * 1e3, s.p10 * 1e3, s.p90 * 1e3, s.mean * 1e3,
                       fork_exec ? s.median / *fork_exec : 0.0);
  }
  out += fmt::format(
      "\nThroughput: {} sandboxes on one io_context, each running /bin/true back to back "
      "({} commands per trial){}.\n\n",
      o.sandboxes, throughput.commands_per_trial(),
      throughput.confined() ? fmt::format(", confined to {} CPUs", o.throughput_cpus)
                            : fmt::format(", on all {} CPUs", m.cpus_allowed));
  out +=
      "| CPUs (= io threads) | trials | median cmd/s | p10 cmd/s | p90 cmd/s | mean cmd/s | CPU ms "
      "per command: host / init / command tree (medians) | CPUs busy (accounted) |\n";
  out += "|---:|---:|---:|---:|---:|---:|---|---:|\n";
  for (int i = 0; i < 2; ++i) {
    const Stats& s = i == 0 ? t1 : t2;
    const double host = Summarize(host_cpu[i]).median, init = Summarize(init_cpu[i]).median,
                 command = Summarize(command_cpu[i]).median;
    out += fmt::format(
        "| {} | {} | {:.0f} | {:.0f} | {:.0f} | {:.0f} | {:.3f} / {:.3f} / {:.3f} | {:.2f} |\n",
        i + 1, s.n, s.median, s.p10, s.p90, s.mean, host, init, command,
        s.median * (host + init + command) / 1e3);
  }
  out +=
      "\n(host: this process, i.e. the io_context threads; init: the sandboxes' PID 1, from "
      "/proc/PID/schedstat; command tree: RunResult::cpu_time_s; CPUs busy: median cmd/s x their "
      "sum. One io thread caps throughput at 1000 / host ms per second; N CPUs at N x 1000 / (host "
      "+ init + command tree).)\n";

  json ratios = json::object();
  auto ratio = [&](const std::string& name, std::optional<double> a,
                   std::optional<double> b) -> std::optional<double> {
    if (!a || !b || *b == 0) return std::nullopt;
    ratios[name] = *a / *b;
    return *a / *b;
  };
  const auto run_vs_fork = ratio("sandbox_run/fork_exec", median("sandbox_run"), fork_exec);
  const auto run_vs_spawn =
      ratio("sandbox_run/posix_spawn", median("sandbox_run"), median("posix_spawn"));
  const auto bwrap_vs_run = ratio("bwrap/sandbox_run", median("bwrap"), median("sandbox_run"));
  const auto true_vs_echo =
      ratio("session_true/session_echo", median("session_true"), median("session_echo"));
  const auto reset_ratio = ratio("reset_5000/reset_200", median("reset_5000"), median("reset_200"));
  const auto tput_ratio =
      ratio("throughput_2cpu/throughput_1cpu", t2.n ? std::optional(t2.median) : std::nullopt,
            t1.n ? std::optional(t1.median) : std::nullopt);
  auto fmt_ratio = [](std::optional<double> r) {
    return r ? fmt::format("{:.2f}", *r) : std::string("n/a");
  };
  out += "\nRatios of medians (same run):\n\n";
  out += fmt::format("- Sandbox::Run / fork+execve: {}\n", fmt_ratio(run_vs_fork));
  out += fmt::format("- Sandbox::Run / posix_spawn: {}\n", fmt_ratio(run_vs_spawn));
  out += fmt::format("- bwrap / Sandbox::Run: {}\n", fmt_ratio(bwrap_vs_run));
  out += fmt::format("- Session /bin/true / Session echo: {}\n", fmt_ratio(true_vs_echo));
  out += fmt::format("- reset 5,000 files / reset 200 files: {}\n", fmt_ratio(reset_ratio));
  out += fmt::format("- throughput 2 CPUs / 1 CPU: {}\n", fmt_ratio(tput_ratio));

  std::vector<Target> targets;
  auto ms = [](std::optional<double> s) {
    return s ? fmt::format("{:.3f} ms", *s * 1e3) : std::string("n/a");
  };
  targets.push_back({fmt::format("Sandbox::Run median {} <= 2 x fork+exec median {} (ratio {})",
                                 ms(median("sandbox_run")), ms(fork_exec), fmt_ratio(run_vs_fork)),
                     run_vs_fork && *run_vs_fork <= 2.0, !run_vs_fork});
  targets.push_back(
      {fmt::format("bwrap median {} / Sandbox::Run median {} = {} >= 4", ms(median("bwrap")),
                   ms(median("sandbox_run")), fmt_ratio(bwrap_vs_run)),
       bwrap_vs_run && *bwrap_vs_run >= 4.0, !bwrap_vs_run});
  targets.push_back(
      {fmt::format("Session builtin round trip median {} < 0.5 ms", ms(median("session_echo"))),
       median("session_echo") && *median("session_echo") < 0.5e-3, !median("session_echo")});
  for (int files : reset_files) {
    const auto r = median(fmt::format("reset_{}", files));
    targets.push_back({fmt::format("workspace reset ({} files) median {} < 2 ms", files, ms(r)),
                       r && *r < 2e-3, !r});
  }
  targets.push_back(
      {fmt::format("workspace reset 5,000 / 200 files = {}, roughly equal (0.8 to 1.25)",
                   fmt_ratio(reset_ratio)),
       reset_ratio && *reset_ratio >= 0.8 && *reset_ratio <= 1.25, !reset_ratio});
  targets.push_back(
      {fmt::format(
           "{}-sandbox throughput on 2 CPUs {:.0f} cmd/s / on 1 CPU {:.0f} cmd/s = {} >= 1.6",
           o.sandboxes, t2.median, t1.median, fmt_ratio(tput_ratio)),
       tput_ratio && *tput_ratio >= 1.6, !tput_ratio});
  out += "\nTargets:\n\n";
  for (const Target& t : targets)
    out += fmt::format("- {}: {}\n", t.skipped ? "SKIP" : (t.pass ? "PASS" : "FAIL"), t.text);
  if (o.quick) out += "\n(--quick: few runs; the numbers are rough)\n";
  std::fwrite(out.data(), 1, out.size(), stdout);
  std::fflush(stdout);

  if (!o.json_path.empty()) {
    json j;
    j["machine"] = {{"cpus_online", m.cpus_online},    {"cpus_allowed", m.cpus_allowed},
                    {"cpu_model", m.cpu_model},        {"kernel", m.kernel},
                    {"memory_gib", m.memory_gib},      {"load_average_before", load_before},
                    {"load_average_after", load_after}};
    j["options"] = {{"runs", o.runs},
                    {"warmup", o.warmup},
                    {"trials", o.trials},
                    {"sandboxes", o.sandboxes},
                    {"commands_per_sandbox", o.commands_per_sandbox},
                    {"throughput_cpus", o.throughput_cpus},
                    {"throughput_confined", throughput.confined()},
                    {"quick", o.quick}};
    json jcases = json::array();
    for (const LatencyCase& c : cases) {
      json jc = {{"id", c.id}, {"label", c.label}, {"unit", "ms"}};
      if (!c.skipped.empty()) {
        jc["skipped"] = c.skipped;
      } else {
        jc["stats"] = StatsJson(stats[c.id], 1e3);
        json samples = json::array();
        for (double s : c.samples) samples.push_back(s * 1e3);
        jc["samples"] = std::move(samples);
      }
      jcases.push_back(std::move(jc));
    }
    for (int i = 0; i < 2; ++i) {
      jcases.push_back(
          {{"id", fmt::format("throughput_{}cpu", i + 1)},
           {"label", fmt::format("{} sandboxes, {} io_context thread(s)", o.sandboxes, i + 1)},
           {"unit", "commands/s"},
           {"stats", StatsJson(i == 0 ? t1 : t2, 1)},
           {"samples", tput[i]},
           {"cpu_ms_per_command",
            {{"host", StatsJson(Summarize(host_cpu[i]), 1)},
             {"init", StatsJson(Summarize(init_cpu[i]), 1)},
             {"command_tree", StatsJson(Summarize(command_cpu[i]), 1)}}}});
    }
    j["cases"] = std::move(jcases);
    j["ratios"] = ratios;
    json jt = json::array();
    for (const Target& t : targets)
      jt.push_back(
          {{"target", t.text}, {"result", t.skipped ? "SKIP" : (t.pass ? "PASS" : "FAIL")}});
    j["targets"] = std::move(jt);
    std::ofstream f(o.json_path);
    f << j.dump(2) << "\n";
    if (!f) return die(InternalError("cannot write {}", o.json_path));
  }
  return 0;
}

}  // namespace
}  // namespace toolgym::bench

int main(int argc, char** argv) { return toolgym::bench::Main(argc, argv); }
