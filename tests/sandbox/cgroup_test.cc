// Cgroup: creation under the test process's own cgroup, membership, limits as the kernel shows
// them, OOM accounting, and removal. Skipped where the host offers no usable cgroup.
#include "sandbox/cgroup.h"

#include <fcntl.h>
#include <gtest/gtest.h>
#include <signal.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <atomic>
#include <cstring>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "sandbox/fd.h"

namespace toolgym::sandbox {
namespace {

bool IsDir(const std::string& p) {
  struct stat st {};
  return ::stat(p.c_str(), &st) == 0 && S_ISDIR(st.st_mode);
}

std::string Trim(std::string s) {
  while (!s.empty() && (s.back() == '\n' || s.back() == ' ')) s.pop_back();
  return s;
}

std::string ReadTrimmed(const std::string& path) {
  auto text = ReadSmallFile(path);
  return text.ok() ? Trim(*text) : "<unreadable: " + text.status().message() + ">";
}

// The directories a Cgroup uses, parsed from Describe() ("cgroup v1 MEM and PIDS" or
// "cgroup v2 DIR").
struct Dirs {
  std::string memory, pids;
};
Dirs DirsOf(const Cgroup& cg) {
  const std::string d = cg.Describe();
  if (cg.v2()) {
    const std::string dir = d.substr(std::string("cgroup v2 ").size());
    return {dir, dir};
  }
  const std::string rest = d.substr(std::string("cgroup v1 ").size());
  const auto sep = rest.find(" and ");
  return {rest.substr(0, sep), rest.substr(sep + 5)};
}

std::string UniqueName(const char* what) {
  static std::atomic<int> n{0};
  return std::string("test-") + what + "-" + std::to_string(::getpid()) + "-" + std::to_string(n++);
}

// A forked child that waits for a byte on a pipe, then runs `body` and exits with its result.
class Child {
 public:
  template <typename F>
  explicit Child(F body) {
    int p[2];
    if (::pipe2(p, O_CLOEXEC) != 0) return;
    pid_ = ::fork();
    if (pid_ == 0) {
      ::close(p[1]);
      char c;
      if (::read(p[0], &c, 1) != 1) _exit(100);
      _exit(body());
    }
    ::close(p[0]);
    go_.Reset(p[1]);
  }
  ~Child() {
    if (pid_ > 0) {
      ::kill(pid_, SIGKILL);
      Wait();
    }
  }
  pid_t pid() const { return pid_; }
  void Go() {
    char c = 'g';
    (void)::write(go_.get(), &c, 1);
    go_.Reset();
  }
  // The wait status, or -1.
  int Wait() {
    if (pid_ <= 0) return -1;
    int status = 0;
    pid_t r = ::waitpid(pid_, &status, 0);
    pid_ = -1;
    return r > 0 ? status : -1;
  }

 private:
  pid_t pid_ = -1;
  UniqueFd go_;
};

class CgroupTest : public ::testing::Test {
 protected:
  void SetUp() override {
    auto cg = Cgroup::Create(UniqueName("setup"));
    if (!cg.ok()) GTEST_SKIP() << "no usable cgroup on this host: " << cg.status().ToString();
  }
};

TEST_F(CgroupTest, CreateMakesDirectoriesAndDestructionRemovesThem) {
  auto cg = Cgroup::Create(UniqueName("dirs"));
  ASSERT_TRUE(cg.ok()) << cg.status().ToString();
  const Dirs dirs = DirsOf(**cg);
  EXPECT_TRUE(IsDir(dirs.memory)) << dirs.memory;
  EXPECT_TRUE(IsDir(dirs.pids)) << dirs.pids;
  EXPECT_NE(dirs.memory.find("/sys/fs/cgroup"), std::string::npos) << dirs.memory;
  EXPECT_NE(dirs.memory.find("toolgym-" + std::to_string(::getpid())), std::string::npos)
      << dirs.memory;
  cg->reset();
  EXPECT_FALSE(IsDir(dirs.memory)) << dirs.memory;
  EXPECT_FALSE(IsDir(dirs.pids)) << dirs.pids;
}

TEST_F(CgroupTest, LimitsAreVisibleInTheCgroupFiles) {
  auto cg = Cgroup::Create(UniqueName("limits"));
  ASSERT_TRUE(cg.ok()) << cg.status().ToString();
  const Dirs dirs = DirsOf(**cg);
  const std::string mem_file =
      dirs.memory + ((*cg)->v2() ? "/memory.max" : "/memory.limit_in_bytes");

  ASSERT_TRUE((*cg)->SetMemoryLimit(64ull << 20).ok());
  EXPECT_EQ(ReadTrimmed(mem_file), std::to_string(64ull << 20));
  ASSERT_TRUE((*cg)->SetPidsLimit(17).ok());
  EXPECT_EQ(ReadTrimmed(dirs.pids + "/pids.max"), "17");

  // 0 lifts the limit.
  ASSERT_TRUE((*cg)->SetPidsLimit(0).ok());
  EXPECT_EQ(ReadTrimmed(dirs.pids + "/pids.max"), "max");
  ASSERT_TRUE((*cg)->SetMemoryLimit(0).ok());
  const std::string unlimited = ReadTrimmed(mem_file);
  EXPECT_TRUE(unlimited == "max" || std::stoull(unlimited) > (1ull << 40)) << unlimited;
}

TEST_F(CgroupTest, AddProcessMovesTheProcessIntoBothHierarchies) {
  auto cg = Cgroup::Create(UniqueName("procs"));
  ASSERT_TRUE(cg.ok()) << cg.status().ToString();
  const Dirs dirs = DirsOf(**cg);
  Child child([] { return 0; });
  ASSERT_GT(child.pid(), 0);
  ASSERT_TRUE((*cg)->AddProcess(child.pid()).ok());
  const std::string pid = std::to_string(child.pid());
  EXPECT_EQ(ReadTrimmed(dirs.memory + "/cgroup.procs"), pid);
  EXPECT_EQ(ReadTrimmed(dirs.pids + "/cgroup.procs"), pid);
  // The kernel's view from the process side names our cgroup.
  auto self = ReadSmallFile("/proc/" + pid + "/cgroup");
  ASSERT_TRUE(self.ok());
  const std::string leaf = dirs.memory.substr(dirs.memory.rfind('/') + 1);
  EXPECT_NE(self->find(leaf), std::string::npos) << *self;
  EXPECT_EQ(ReadTrimmed(dirs.pids + "/pids.current"), "1");

  child.Go();
  int status = child.Wait();
  EXPECT_TRUE(WIFEXITED(status) && WEXITSTATUS(status) == 0);
  EXPECT_EQ(ReadTrimmed(dirs.memory + "/cgroup.procs"), "");
}

TEST_F(CgroupTest, AddProcessOfAMissingPidFails) {
  auto cg = Cgroup::Create(UniqueName("missing"));
  ASSERT_TRUE(cg.ok()) << cg.status().ToString();
  EXPECT_FALSE((*cg)->AddProcess(999999999).ok());
}

TEST_F(CgroupTest, PidsLimitStopsForks) {
  auto cg = Cgroup::Create(UniqueName("pids"));
  ASSERT_TRUE(cg.ok()) << cg.status().ToString();
  ASSERT_TRUE((*cg)->SetPidsLimit(1).ok());
  // The child itself is the one allowed process: its fork must fail with EAGAIN.
  Child child([] {
    pid_t p = ::fork();
    if (p == 0) _exit(0);
    if (p > 0) {
      ::waitpid(p, nullptr, 0);
      return 1;  // the fork worked: limit not applied
    }
    return errno == EAGAIN ? 0 : 2;
  });
  ASSERT_TRUE((*cg)->AddProcess(child.pid()).ok());
  child.Go();
  int status = child.Wait();
  ASSERT_TRUE(WIFEXITED(status));
  EXPECT_EQ(WEXITSTATUS(status), 0) << "1: fork succeeded past pids.max=1; 2: other errno";
}

TEST_F(CgroupTest, OomKillCountIncrementsWhenAChildExceedsTheLimit) {
  auto cg = Cgroup::Create(UniqueName("oom"));
  ASSERT_TRUE(cg.ok()) << cg.status().ToString();
  ASSERT_TRUE((*cg)->SetMemoryLimit(32ull << 20).ok());
  auto before = (*cg)->OomKillCount();
  ASSERT_TRUE(before.ok()) << before.status().ToString();
  EXPECT_EQ(*before, 0u);

  Child child([] {
    const size_t size = 128ull << 20;
    void* p = ::mmap(nullptr, size, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    if (p == MAP_FAILED) return 3;
    std::memset(p, 1, size);  // touch every page: the cgroup must OOM-kill us here
    return 0;
  });
  ASSERT_TRUE((*cg)->AddProcess(child.pid()).ok());
  child.Go();
  int status = child.Wait();
  ASSERT_TRUE(WIFSIGNALED(status))
      << "child survived 128 MiB under a 32 MiB limit, status " << status;
  EXPECT_EQ(WTERMSIG(status), SIGKILL);
  auto after = (*cg)->OomKillCount();
  ASSERT_TRUE(after.ok()) << after.status().ToString();
  EXPECT_EQ(*after, *before + 1);
}

TEST_F(CgroupTest, OomKillCountIsPerCgroup) {
  auto a = Cgroup::Create(UniqueName("oom-a"));
  auto b = Cgroup::Create(UniqueName("oom-b"));
  ASSERT_TRUE(a.ok() && b.ok());
  ASSERT_TRUE((*a)->SetMemoryLimit(16ull << 20).ok());
  Child child([] {
    const size_t size = 64ull << 20;
    void* p = ::mmap(nullptr, size, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    if (p == MAP_FAILED) return 3;
    std::memset(p, 1, size);
    return 0;
  });
  ASSERT_TRUE((*a)->AddProcess(child.pid()).ok());
  child.Go();
  child.Wait();
  auto oom_a = (*a)->OomKillCount();
  auto oom_b = (*b)->OomKillCount();
  ASSERT_TRUE(oom_a.ok() && oom_b.ok());
  EXPECT_EQ(*oom_a, 1u);
  EXPECT_EQ(*oom_b, 0u);
}

TEST_F(CgroupTest, ConcurrentCreateAndDestroyAlwaysSucceeds) {
  // Sandboxes come and go on many threads. The per-process parent directory is removed by the
  // destructor of the last cgroup; a Create racing with that removal must still succeed.
  std::atomic<int> failures{0};
  std::string first_error;
  std::mutex mu;
  std::vector<std::thread> threads;
  for (int t = 0; t < 4; ++t) {
    threads.emplace_back([&, t] {
      for (int i = 0; i < 300; ++i) {
        auto cg = Cgroup::Create(UniqueName(("race" + std::to_string(t)).c_str()));
        if (!cg.ok()) {
          std::lock_guard<std::mutex> lock(mu);
          if (failures++ == 0) first_error = cg.status().ToString();
        }
      }
    });
  }
  for (auto& th : threads) th.join();
  EXPECT_EQ(failures.load(), 0) << "first error: " << first_error;
}

}  // namespace
}  // namespace toolgym::sandbox
