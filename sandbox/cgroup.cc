#include "sandbox/cgroup.h"

#include <dirent.h>
#include <fcntl.h>
#include <signal.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstdlib>
#include <cstring>
#include <mutex>
#include <sstream>

#include "sandbox/fd.h"

namespace toolgym::sandbox {
namespace {

constexpr char kRoot[] = "/sys/fs/cgroup";

// The host process's path in a hierarchy: "memory" for v1, "" for the v2 line ("0::/path").
std::string OwnPath(const std::string& controller) {
  auto text = ReadSmallFile("/proc/self/cgroup");
  if (!text.ok()) return "";
  std::stringstream ss(*text);
  std::string line;
  while (std::getline(ss, line)) {
    auto a = line.find(':');
    auto b = line.find(':', a + 1);
    if (a == std::string::npos || b == std::string::npos) continue;
    std::string ctrls = line.substr(a + 1, b - a - 1);
    std::string path = line.substr(b + 1);
    if (controller.empty()
            ? (line.substr(0, a) == "0" && ctrls.empty())
            : (("," + ctrls + ",").find("," + controller + ",") != std::string::npos))
      return path == "/" ? "" : path;
  }
  return "";
}

bool IsDir(const std::string& p) {
  struct stat st {};
  return ::stat(p.c_str(), &st) == 0 && S_ISDIR(st.st_mode);
}

Status MakeDir(const std::string& p, std::vector<std::string>* created) {
  if (::mkdir(p.c_str(), 0755) == 0) {
    if (created) created->insert(created->begin(), p);
    return OkStatus();
  }
  if (errno == EEXIST) return OkStatus();
  return ErrnoError("mkdir " + p, errno);
}

// Removes the per-process directories ("toolgym-<pid>") of toolgym processes that are gone, e.g.
// after a crash. Their sandboxes died with them (each init exits when its host does), so the
// leaf cgroups are empty and rmdir succeeds; a directory still in use fails with EBUSY and stays.
void RemoveStaleGroups(const std::string& parent) {
  DIR* d = ::opendir(parent.c_str());
  if (d == nullptr) return;
  std::vector<std::string> stale;
  while (dirent* e = ::readdir(d)) {
    std::string name = e->d_name;
    if (!name.starts_with("toolgym-")) continue;
    char* end = nullptr;
    long pid = std::strtol(name.c_str() + 8, &end, 10);
    if (*end != '\0' || pid <= 0 || pid == ::getpid()) continue;
    if (::kill(static_cast<pid_t>(pid), 0) != 0 && errno == ESRCH)
      stale.push_back(parent + "/" + name);
  }
  ::closedir(d);
  for (const std::string& dir : stale) {
    if (DIR* sub = ::opendir(dir.c_str())) {
      std::vector<std::string> leaves;
      while (dirent* e = ::readdir(sub))
        if (e->d_type == DT_DIR && e->d_name[0] != '.') leaves.push_back(dir + "/" + e->d_name);
      ::closedir(sub);
      for (const std::string& leaf : leaves) ::rmdir(leaf.c_str());
    }
    ::rmdir(dir.c_str());
  }
}

}  // namespace

StatusOr<std::unique_ptr<Cgroup>> Cgroup::Create(const std::string& name) {
  static std::once_flag cleaned;
  std::call_once(cleaned, [] {
    for (const std::string& parent :
         {std::string(kRoot) + "/memory" + OwnPath("memory"),
          std::string(kRoot) + "/pids" + OwnPath("pids"), std::string(kRoot) + OwnPath("")})
      RemoveStaleGroups(parent);
  });
  std::unique_ptr<Cgroup> cg(new Cgroup());
  const std::string group = "toolgym-" + std::to_string(::getpid());
  const std::string v1_mem = std::string(kRoot) + "/memory";
  const std::string v1_pids = std::string(kRoot) + "/pids";
  if (IsDir(v1_mem) && IsDir(v1_pids) && ::access((v1_mem + "/cgroup.procs").c_str(), W_OK) == 0) {
    const std::string mem_parent = v1_mem + OwnPath("memory") + "/" + group;
    const std::string pids_parent = v1_pids + OwnPath("pids") + "/" + group;
    TG_RETURN_IF_ERROR(MakeDir(mem_parent, nullptr));
    TG_RETURN_IF_ERROR(MakeDir(pids_parent, nullptr));
    cg->memory_dir_ = mem_parent + "/" + name;
    cg->pids_dir_ = pids_parent + "/" + name;
    TG_RETURN_IF_ERROR(MakeDir(cg->memory_dir_, &cg->created_));
    TG_RETURN_IF_ERROR(MakeDir(cg->pids_dir_, &cg->created_));
    return cg;
  }
  if (::access((std::string(kRoot) + "/cgroup.controllers").c_str(), R_OK) == 0) {
    // v2: controllers must be enabled in the parent's subtree_control; that works in the root
    // cgroup or in a delegated subtree whose own cgroup holds no processes.
    const std::string parent = std::string(kRoot) + OwnPath("") + "/" + group;
    TG_RETURN_IF_ERROR(MakeDir(parent, nullptr));
    Status st = WriteSmallFile(parent + "/cgroup.subtree_control", "+memory +pids");
    if (!st.ok())
      return FailedPreconditionError(
          "cgroup v2 at {} cannot enable the memory and pids controllers ({}); delegate a "
          "subtree to toolgym or run it in its own cgroup",
          parent, st.message());
    cg->v2_ = true;
    cg->memory_dir_ = cg->pids_dir_ = parent + "/" + name;
    TG_RETURN_IF_ERROR(MakeDir(cg->memory_dir_, &cg->created_));
    return cg;
  }
  return FailedPreconditionError(
      "no writable cgroup hierarchy with memory and pids controllers under {}", kRoot);
}

Cgroup::~Cgroup() {
  if (oom_fd_ >= 0) ::close(oom_fd_);
  if (stat_fd_ >= 0) ::close(stat_fd_);
  for (const std::string& dir : created_) ::rmdir(dir.c_str());
  // The per-process parent ("toolgym-<pid>") stays: removing it when it looks empty races with a
  // concurrent Create in this process. RemoveStaleGroups removes it after the process is gone.
}

Status Cgroup::AddProcess(pid_t pid) {
  const std::string p = std::to_string(pid);
  TG_RETURN_IF_ERROR(WriteSmallFile(memory_dir_ + "/cgroup.procs", p));
  if (!v2_) TG_RETURN_IF_ERROR(WriteSmallFile(pids_dir_ + "/cgroup.procs", p));
  return OkStatus();
}

Status Cgroup::SetMemoryLimit(std::uint64_t bytes) {
  if (v2_) {
    TG_RETURN_IF_ERROR(
        WriteSmallFile(memory_dir_ + "/memory.max", bytes ? std::to_string(bytes) : "max"));
    // No swap: a limited sandbox must not page out instead of failing.
    (void)WriteSmallFile(memory_dir_ + "/memory.swap.max", "0");
    return OkStatus();
  }
  return WriteSmallFile(memory_dir_ + "/memory.limit_in_bytes",
                        bytes ? std::to_string(bytes) : "-1");
}

Status Cgroup::SetPidsLimit(std::uint64_t count) {
  return WriteSmallFile(pids_dir_ + "/pids.max", count ? std::to_string(count) : "max");
}

StatusOr<std::uint64_t> Cgroup::OomKillCount() const {
  if (oom_fd_ < 0) {
    const std::string path = memory_dir_ + (v2_ ? "/memory.events" : "/memory.oom_control");
    const_cast<Cgroup*>(this)->oom_fd_ = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
    if (oom_fd_ < 0) return ErrnoError("open " + path, errno);
  }
  char buf[512];
  ssize_t n = ::pread(oom_fd_, buf, sizeof buf - 1, 0);  // seq_file: offset 0 regenerates it
  if (n < 0) return ErrnoError("read OOM counter", errno);
  std::string text(buf, static_cast<size_t>(n));
  auto pos = text.find("oom_kill ");
  if (pos == std::string::npos) return std::uint64_t{0};
  return static_cast<std::uint64_t>(std::stoull(text.substr(pos + 9)));
}

StatusOr<std::uint64_t> Cgroup::ShmemBytes() const {
  if (stat_fd_ < 0) {
    const std::string path = memory_dir_ + "/memory.stat";
    const_cast<Cgroup*>(this)->stat_fd_ = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
    if (stat_fd_ < 0) return ErrnoError("open " + path, errno);
  }
  char buf[8192];
  ssize_t n = ::pread(stat_fd_, buf, sizeof buf - 1, 0);
  if (n < 0) return ErrnoError("read memory.stat", errno);
  buf[n] = '\0';
  // "shmem N" is the first or a later line; v1 and v2 both name it so.
  const char* p = std::strstr(buf, "shmem ");
  while (p != nullptr && p != buf && p[-1] != '\n') p = std::strstr(p + 1, "shmem ");
  if (p == nullptr) return std::uint64_t{0};
  return static_cast<std::uint64_t>(std::strtoull(p + 6, nullptr, 10));
}

std::string Cgroup::Describe() const {
  return v2_ ? "cgroup v2 " + memory_dir_ : "cgroup v1 " + memory_dir_ + " and " + pids_dir_;
}

}  // namespace toolgym::sandbox
