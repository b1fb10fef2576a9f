// Many sandboxes at once: 64 sandboxes on one io_context run by 4 threads (handlers on
// per-sandbox strands), threads that each own sandboxes and call the blocking Run(), and
// sessions on a shared io_context. Every result is checked against per-sandbox expectations,
// so a result delivered to the wrong sandbox or handler shows up as a mismatch.
#include <gtest/gtest.h>
#include <signal.h>

#include <atomic>
#include <boost/asio/executor_work_guard.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/post.hpp>
#include <chrono>
#include <condition_variable>
#include <future>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "sandbox/sandbox.h"
#include "sandbox/session.h"

namespace toolgym::sandbox {
namespace {

namespace asio = boost::asio;

constexpr int kThreads = 4;

SandboxConfig BaseConfig() {
  SandboxConfig c;
  c.limits.wall_time_s = 10;
  c.limits.memory_bytes = 128ull << 20;
  return c;
}

// An io_context run by kThreads threads for the lifetime of the object.
class ThreadPool {
 public:
  ThreadPool() : work_(asio::make_work_guard(io_)) {
    for (int i = 0; i < kThreads; ++i) threads_.emplace_back([this] { io_.run(); });
  }
  ~ThreadPool() {
    work_.reset();
    io_.stop();
    for (auto& t : threads_) t.join();
  }
  asio::io_context& io() { return io_; }

 private:
  asio::io_context io_;
  asio::executor_work_guard<asio::io_context::executor_type> work_;
  std::vector<std::thread> threads_;
};

// Counts completions; Wait returns false on timeout.
class Countdown {
 public:
  explicit Countdown(int n) : left_(n) {}
  void Done() {
    std::lock_guard<std::mutex> lock(mu_);
    if (--left_ == 0) cv_.notify_all();
  }
  bool Wait(std::chrono::seconds timeout) {
    std::unique_lock<std::mutex> lock(mu_);
    return cv_.wait_for(lock, timeout, [this] { return left_ == 0; });
  }

 private:
  std::mutex mu_;
  std::condition_variable cv_;
  int left_;
};

// Command k of sandbox i prints a tag unique to (i, k) and exits with a code derived from both.
std::string Tag(int i, int k) { return "sb" + std::to_string(i) + "-cmd" + std::to_string(k); }
int Code(int i, int k) { return (i * 7 + k * 3) % 5; }
RunOptions Command(int i, int k) {
  return {.argv = {"sh", "-c", "echo \"$0\"; echo \"err:$0\" >&2; exit $1", Tag(i, k),
                   std::to_string(Code(i, k))}};
}
// Some commands of the big test hit their wall-time limit instead, so that timers fire and
// kills travel through the shared threads while other sandboxes' output is being read.
bool TimesOut(int i, int k) { return i % 8 == 3 && k == 2; }
RunOptions TimingOutCommand(int i, int k) {
  Limits l;
  l.wall_time_s = 0.3;
  return {.argv = {"sh", "-c", "echo \"$0\"; exec sleep 10", Tag(i, k)}, .limits = l};
}

struct Observed {
  Verdict verdict = Verdict::kSandboxError;
  int exit_code = -1;
  std::string stdout_data, stderr_data, error;
};

TEST(ConcurrencyTest, SixtyFourSandboxesOnOneIoContextWithFourThreads) {
  constexpr int kSandboxes = 64;
  constexpr int kCommands = 6;
  ThreadPool pool;
  std::vector<std::unique_ptr<Sandbox>> sandboxes;
  for (int i = 0; i < kSandboxes; ++i) {
    auto sb = Sandbox::Create(BaseConfig(), pool.io().get_executor());
    ASSERT_TRUE(sb.ok()) << "sandbox " << i << ": " << sb.status().ToString();
    EXPECT_TRUE((*sb)->warnings().empty()) << "sandbox " << i << ": " << (*sb)->warnings().front();
    sandboxes.push_back(std::move(sb).value());
  }
  // results[i] is written only from sandbox i's strand, and read after the countdown.
  std::vector<std::vector<Observed>> results(kSandboxes);
  Countdown done(kSandboxes);
  std::function<void(int, int)> run_next = [&](int i, int k) {
    if (k == kCommands) {
      done.Done();
      return;
    }
    sandboxes[i]->AsyncRun(
        TimesOut(i, k) ? TimingOutCommand(i, k) : Command(i, k), [&, i, k](RunResult r) {
          results[i].push_back({r.verdict, r.exit_code, r.stdout_data, r.stderr_data, r.error});
          run_next(i, k + 1);
        });
  };
  const auto start = std::chrono::steady_clock::now();
  for (int i = 0; i < kSandboxes; ++i) run_next(i, 0);
  ASSERT_TRUE(done.Wait(std::chrono::seconds(60))) << "not every sandbox finished";
  const double took =
      std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();

  for (int i = 0; i < kSandboxes; ++i) {
    ASSERT_EQ(results[i].size(), static_cast<size_t>(kCommands)) << "sandbox " << i;
    for (int k = 0; k < kCommands; ++k) {
      const Observed& o = results[i][k];
      if (TimesOut(i, k)) {
        EXPECT_EQ(o.verdict, Verdict::kWallTimeLimit) << Tag(i, k) << " " << o.error;
        EXPECT_EQ(o.stdout_data, Tag(i, k) + "\n");
        continue;
      }
      const int code = Code(i, k);
      EXPECT_EQ(o.verdict, code == 0 ? Verdict::kOk : Verdict::kNonzeroExit)
          << Tag(i, k) << " " << o.error;
      EXPECT_EQ(o.exit_code, code) << Tag(i, k);
      EXPECT_EQ(o.stdout_data, Tag(i, k) + "\n");
      EXPECT_EQ(o.stderr_data, "err:" + Tag(i, k) + "\n");
    }
  }
  RecordProperty("seconds", std::to_string(took));
  sandboxes.clear();
}

TEST(ConcurrencyTest, BlockingRunOnAnExternalExecutorFromManyThreads) {
  // Run() on a sandbox with an external executor, called from threads outside the pool.
  constexpr int kSandboxes = 8;
  ThreadPool pool;
  std::vector<std::unique_ptr<Sandbox>> sandboxes;
  for (int i = 0; i < kSandboxes; ++i) {
    auto sb = Sandbox::Create(BaseConfig(), pool.io().get_executor());
    ASSERT_TRUE(sb.ok()) << sb.status().ToString();
    sandboxes.push_back(std::move(sb).value());
  }
  std::vector<std::string> failures(kSandboxes);
  std::vector<std::thread> callers;
  for (int i = 0; i < kSandboxes; ++i) {
    callers.emplace_back([&, i] {
      for (int k = 0; k < 5; ++k) {
        RunResult r = sandboxes[i]->Run(Command(i, k));
        if (r.exit_code != Code(i, k) || r.stdout_data != Tag(i, k) + "\n") {
          failures[i] = Tag(i, k) + ": " + r.Summary() + " stdout=" + r.stdout_data;
          return;
        }
      }
    });
  }
  for (auto& t : callers) t.join();
  for (int i = 0; i < kSandboxes; ++i) EXPECT_EQ(failures[i], "") << "sandbox " << i;
}

TEST(ConcurrencyTest, ThreadsEachOwningSandboxesWithBlockingRun) {
  constexpr int kPerThread = 4;
  constexpr int kCommands = 5;
  std::vector<std::string> failures(kThreads);
  std::vector<int> completed(kThreads, 0);
  // All sandboxes exist before any is destroyed, so creation never races a destruction.
  std::mutex mu;
  std::condition_variable cv;
  int created = 0;
  std::vector<std::thread> threads;
  for (int t = 0; t < kThreads; ++t) {
    threads.emplace_back([&, t] {
      std::vector<std::unique_ptr<Sandbox>> mine;
      std::string error;
      for (int j = 0; j < kPerThread; ++j) {
        SandboxConfig c = BaseConfig();
        FileTree tpl;
        (void)tpl.AddFile("id.txt", std::to_string(t * kPerThread + j));
        c.workspace_template = tpl;
        auto sb = Sandbox::Create(c);
        if (!sb.ok()) {
          error = "create: " + sb.status().ToString();
          break;
        }
        mine.push_back(std::move(sb).value());
      }
      {
        std::unique_lock<std::mutex> lock(mu);
        ++created;
        cv.notify_all();
        cv.wait(lock, [&] { return created == kThreads; });
      }
      for (int k = 0; k < kCommands && error.empty(); ++k) {
        for (int j = 0; j < static_cast<int>(mine.size()) && error.empty(); ++j) {
          const int i = t * kPerThread + j;
          // Each sandbox appends to its own file: cross-talk would show in the final content.
          RunResult r =
              mine[j]->Run({.argv = {"sh", "-c", "echo \"$0\" >> log.txt; cat id.txt; exit $1",
                                     Tag(i, k), std::to_string(Code(i, k))}});
          if (r.exit_code != Code(i, k) || r.stdout_data != std::to_string(i)) {
            error = Tag(i, k) + ": " + r.Summary() + " stdout=" + r.stdout_data;
          }
          ++completed[t];
        }
      }
      for (int j = 0; j < static_cast<int>(mine.size()) && error.empty(); ++j) {
        const int i = t * kPerThread + j;
        std::string want;
        for (int k = 0; k < kCommands; ++k) want += Tag(i, k) + "\n";
        RunResult log = mine[j]->Run({.argv = {"cat", "log.txt"}});
        if (log.stdout_data != want)
          error = "log of sandbox " + std::to_string(i) + ": " + log.stdout_data;
      }
      failures[t] = error;
    });
  }
  for (auto& th : threads) th.join();
  for (int t = 0; t < kThreads; ++t) {
    EXPECT_EQ(failures[t], "") << "thread " << t;
    EXPECT_EQ(completed[t], kPerThread * kCommands) << "thread " << t;
  }
}

TEST(ConcurrencyTest, CreateAndDestroyChurnOnManyThreads) {
  // Sandboxes created while others are destroyed. Each must come up fully (with its cgroup, when
  // the host has cgroups) and run correctly.
  bool host_has_cgroups = false;
  {
    auto probe = Sandbox::Create(BaseConfig());
    ASSERT_TRUE(probe.ok()) << probe.status().ToString();
    host_has_cgroups = (*probe)->warnings().empty();
  }
  constexpr int kCycles = 15;
  std::vector<std::string> failures(kThreads), degraded(kThreads);
  std::vector<std::thread> threads;
  for (int t = 0; t < kThreads; ++t) {
    threads.emplace_back([&, t] {
      for (int c = 0; c < kCycles; ++c) {
        auto sb = Sandbox::Create(BaseConfig());
        if (!sb.ok()) {
          failures[t] = "create: " + sb.status().ToString();
          return;
        }
        if (host_has_cgroups && !(*sb)->warnings().empty() && degraded[t].empty())
          degraded[t] = (*sb)->warnings().front();
        const int i = t * kCycles + c;
        RunResult r = (*sb)->Run(Command(i, 0));
        if (r.exit_code != Code(i, 0) || r.stdout_data != Tag(i, 0) + "\n") {
          failures[t] = Tag(i, 0) + ": " + r.Summary();
          return;
        }
      }
    });
  }
  for (auto& th : threads) th.join();
  for (int t = 0; t < kThreads; ++t) EXPECT_EQ(failures[t], "") << "thread " << t;
  for (int t = 0; t < kThreads; ++t) {
    EXPECT_EQ(degraded[t], "") << "thread " << t;
  }
}

TEST(ConcurrencyTest, SessionsOnASharedIoContext) {
  constexpr int kSessions = 6;
  ThreadPool pool;
  std::vector<std::unique_ptr<Session>> sessions;
  for (int i = 0; i < kSessions; ++i) {
    auto s = Session::Create(BaseConfig(), pool.io().get_executor());
    ASSERT_TRUE(s.ok()) << s.status().ToString();
    sessions.push_back(std::move(s).value());
  }
  // Each session: set a variable and a directory of its own, then read both back several times.
  auto commands = [](int i) {
    const std::string n = std::to_string(i);
    return std::vector<std::pair<std::string, std::string>>{
        {"export V=" + n + "; mkdir -p d" + n + " && cd d" + n, ""},
        {"echo $V; pwd", n + "\n/workspace/d" + n + "\n"},
        {"echo session-" + n + " > f; cat f", "session-" + n + "\n"},
        {"sleep 0.0" + n + "; echo $V-$(cat f)", n + "-session-" + n + "\n"},
        {"exit " + n, ""},
        {"echo $V; pwd", n + "\n/workspace/d" + n + "\n"},
    };
  };
  std::vector<std::vector<RunResult>> results(kSessions);
  Countdown done(kSessions);
  std::function<void(int, size_t)> exec_next = [&](int i, size_t k) {
    auto cmds = commands(i);
    if (k == cmds.size()) {
      done.Done();
      return;
    }
    sessions[i]->AsyncExec(cmds[k].first, 5, [&, i, k](RunResult r) {
      results[i].push_back(std::move(r));
      exec_next(i, k + 1);
    });
  };
  for (int i = 0; i < kSessions; ++i) exec_next(i, 0);
  ASSERT_TRUE(done.Wait(std::chrono::seconds(30))) << "not every session finished";
  for (int i = 0; i < kSessions; ++i) {
    auto cmds = commands(i);
    ASSERT_EQ(results[i].size(), cmds.size()) << "session " << i;
    for (size_t k = 0; k < cmds.size(); ++k) {
      const RunResult& r = results[i][k];
      EXPECT_EQ(r.stdout_data, cmds[k].second)
          << "session " << i << " command " << k << ": " << r.Summary() << " " << r.stderr_data;
      if (k == 4) {
        EXPECT_EQ(r.exit_code, i) << "session " << i;
        EXPECT_TRUE(r.shell_restarted) << "session " << i;
      } else {
        EXPECT_EQ(r.verdict, Verdict::kOk)
            << "session " << i << " command " << k << ": " << r.Summary();
      }
    }
  }
  // The blocking form works from outside the pool too.
  for (int i = 0; i < kSessions; ++i) {
    RunResult r = sessions[i]->Exec("echo $V");
    EXPECT_EQ(r.stdout_data, std::to_string(i) + "\n");
  }
  sessions.clear();
}

// Destroying a sandbox on its strand while a command runs abandons the run: the timers and waits
// of that run fire later on the shared io_context and must not touch the destroyed sandbox
// (under ASan, a use after free), and the run's handler is never called.
TEST(ConcurrencyTest, DestroyingASandboxMidRunAbandonsTheRunSafely) {
  boost::asio::io_context io;
  auto work = boost::asio::make_work_guard(io);
  std::thread runner([&] { io.run(); });
  SandboxConfig c;
  c.limits.wall_time_s = 0.3;  // the run's wall timer fires after the sandbox is gone
  auto created = Sandbox::Create(c, io.get_executor());
  ASSERT_TRUE(created.ok()) << created.status().ToString();
  std::unique_ptr<Sandbox> sb = std::move(created).value();
  const pid_t init = sb->init_pid();
  std::atomic<bool> handler_called{false};
  sb->AsyncRun({.argv = {"sh", "-c", "echo started; sleep 5"}},
               [&](RunResult) { handler_called = true; });
  std::this_thread::sleep_for(std::chrono::milliseconds(100));
  std::promise<void> destroyed;
  boost::asio::post(sb->strand(), [&] {
    sb.reset();
    destroyed.set_value();
  });
  destroyed.get_future().wait();
  // Past the wall limit: the abandoned run's timer has fired by now.
  std::this_thread::sleep_for(std::chrono::milliseconds(600));
  // The io_context still serves other sandboxes.
  auto other = Sandbox::Create(SandboxConfig{}, io.get_executor());
  ASSERT_TRUE(other.ok()) << other.status().ToString();
  EXPECT_EQ((*other)->Run({.argv = {"echo", "fine"}}).stdout_data, "fine\n");
  work.reset();
  other->reset();
  io.stop();
  runner.join();
  EXPECT_FALSE(handler_called.load());
  EXPECT_NE(::kill(init, 0), 0) << "the destroyed sandbox's init still exists";
}

}  // namespace
}  // namespace toolgym::sandbox
