#include "envs/workspace_view.h"

#include <fcntl.h>
#include <linux/openat2.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "sandbox/fd.h"

namespace toolgym::envs {

using sandbox::UniqueFd;

SandboxWorkspace::SandboxWorkspace(sandbox::Sandbox* sandbox, RunFn run)
    : sandbox_(sandbox), run_(std::move(run)) {}

void SandboxWorkspace::Rebind(sandbox::Sandbox* sandbox, RunFn run) {
  sandbox_ = sandbox;
  run_ = std::move(run);
}

StatusOr<int> SandboxWorkspace::OpenBeneath(const std::string& path, int flags) {
  std::string rel = path;
  while (rel.starts_with("./")) rel.erase(0, 2);
  if (rel.empty() || rel == ".")
    rel = ".";
  else
    TG_RETURN_IF_ERROR(sandbox::ValidateRelativePath(rel));
  const std::string root =
      "/proc/" + std::to_string(sandbox_->init_pid()) + "/root" + sandbox_->config().workspace_path;
  UniqueFd dir(::open(root.c_str(), O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC));
  if (!dir.valid()) return ErrnoError("open workspace " + root, errno);
  struct open_how how = {};
  how.flags = static_cast<std::uint64_t>(flags | O_CLOEXEC | O_NOFOLLOW);
  how.resolve = RESOLVE_BENEATH | RESOLVE_NO_SYMLINKS | RESOLVE_NO_MAGICLINKS;
  const long fd = ::syscall(SYS_openat2, dir.get(), rel.c_str(), &how, sizeof how);
  if (fd < 0) return -errno;
  return static_cast<int>(fd);
}

StatusOr<std::optional<WorkspaceView::FileStat>> SandboxWorkspace::Stat(const std::string& path) {
  // O_PATH: no open of the file itself (a FIFO cannot block); the last component may be a
  // symlink, which O_NOFOLLOW|O_PATH opens as the link.
  TG_ASSIGN_OR_RETURN(int fd, OpenBeneath(path, O_PATH));
  if (fd < 0) {
    if (-fd == ENOENT || -fd == ENOTDIR) return std::optional<FileStat>();
    if (-fd == ELOOP || -fd == EXDEV) {
      // A symlink in a parent component: the path does not name a file beneath the workspace.
      return std::optional<FileStat>();
    }
    return ErrnoError("stat " + path, -fd);
  }
  UniqueFd f(fd);
  struct stat st;
  if (::fstat(f.get(), &st) != 0) return ErrnoError("fstat " + path, errno);
  FileStat out;
  if (S_ISDIR(st.st_mode)) {
    out.type = sandbox::FileEntry::Type::kDirectory;
  } else if (S_ISLNK(st.st_mode)) {
    out.type = sandbox::FileEntry::Type::kSymlink;
  } else if (S_ISREG(st.st_mode)) {
    out.type = sandbox::FileEntry::Type::kFile;
  } else {
    return std::optional<FileStat>();  // FIFOs, sockets, devices count as no file
  }
  out.mode = st.st_mode & 07777;
  out.size = static_cast<std::uint64_t>(st.st_size);
  return std::optional<FileStat>(out);
}

StatusOr<std::string> SandboxWorkspace::ReadFile(const std::string& path, std::uint64_t max_bytes) {
  TG_ASSIGN_OR_RETURN(int fd, OpenBeneath(path, O_RDONLY | O_NONBLOCK));
  if (fd < 0) {
    if (-fd == ELOOP) return InvalidArgumentError("'{}' is a symbolic link", path);
    return Status(StatusCode::kNotFound,
                  "cannot read '" + path + "': " + std::string(std::strerror(-fd)));
  }
  UniqueFd f(fd);
  struct stat st;
  if (::fstat(f.get(), &st) != 0) return ErrnoError("fstat " + path, errno);
  if (!S_ISREG(st.st_mode)) return InvalidArgumentError("'{}' is not a regular file", path);
  if (static_cast<std::uint64_t>(st.st_size) > max_bytes)
    return ResourceExhaustedError("'{}' has {} bytes, more than the {} allowed", path, st.st_size,
                                  max_bytes);
  std::string data;
  char buf[65536];
  for (;;) {
    ssize_t n = ::read(f.get(), buf, sizeof buf);
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) return ErrnoError("read " + path, errno);
    if (n == 0) break;
    data.append(buf, static_cast<size_t>(n));
    if (data.size() > max_bytes)
      return ResourceExhaustedError("'{}' grew past the {} bytes allowed", path, max_bytes);
  }
  return data;
}

sandbox::RunResult SandboxWorkspace::Run(const sandbox::RunOptions& options) {
  return run_(options);
}

}  // namespace toolgym::envs
