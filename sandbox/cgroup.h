// A cgroup per sandbox for the memory and pids limits and for OOM accounting. cgroup v1 (the
// memory and pids hierarchies) and v2 (one unified directory) are both supported. Created under
// the host process's own cgroup so the host's limits still bound every sandbox.
#pragma once

#include <sys/types.h>

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "common/status.h"

namespace toolgym::sandbox {

class Cgroup {
 public:
  // kFailedPrecondition when no usable cgroup (neither v1 memory+pids nor a delegated v2
  // subtree) exists; the caller then runs on rlimits only and says so.
  static StatusOr<std::unique_ptr<Cgroup>> Create(const std::string& name);
  ~Cgroup();  // removes the directories; every process must be gone by then
  Cgroup(const Cgroup&) = delete;
  Cgroup& operator=(const Cgroup&) = delete;

  Status AddProcess(pid_t pid);
  Status SetMemoryLimit(std::uint64_t bytes);  // 0: no limit
  Status SetPidsLimit(std::uint64_t count);    // 0: no limit
  // Bytes of tmpfs files (shmem) charged to this cgroup.
  StatusOr<std::uint64_t> ShmemBytes() const;
  // How many times the OOM killer has fired in this cgroup so far.
  StatusOr<std::uint64_t> OomKillCount() const;
  bool v2() const { return v2_; }
  std::string Describe() const;

 private:
  Cgroup() = default;
  bool v2_ = false;
  std::string memory_dir_;            // v1 memory hierarchy, or the v2 directory
  std::string pids_dir_;              // v1 pids hierarchy, or the v2 directory
  std::vector<std::string> created_;  // leaf first, for removal
  int oom_fd_ = -1;
  int stat_fd_ = -1;  // memory.stat, kept open: read before every command  // memory.oom_control /
                      // memory.events, kept open: read after every command
};

}  // namespace toolgym::sandbox
