#include "sandbox/workspace.h"

#include <dirent.h>
#include <fcntl.h>
#include <linux/openat2.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <cerrno>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <vector>

#include "sandbox/fd.h"

namespace toolgym::sandbox {
namespace {

int OpenAt2(int dirfd, const std::string& path, int flags, mode_t mode = 0) {
  open_how how{};
  how.flags = static_cast<std::uint64_t>(flags | O_CLOEXEC);
  how.mode = mode;
  how.resolve = RESOLVE_BENEATH | RESOLVE_NO_SYMLINKS | RESOLVE_NO_MAGICLINKS;
  return static_cast<int>(::syscall(SYS_openat2, dirfd, path.c_str(), &how, sizeof how));
}

std::pair<std::string, std::string> SplitParent(const std::string& path) {
  auto slash = path.rfind('/');
  if (slash == std::string::npos) return {".", path};
  return {path.substr(0, slash), path.substr(slash + 1)};
}

Status ReadDirRecursive(int dirfd, const std::string& prefix, std::uint64_t max_bytes,
                        std::uint64_t& total, FileTree& tree) {
  int dup = ::fcntl(dirfd, F_DUPFD_CLOEXEC, 0);
  if (dup < 0) return ErrnoError("dup", errno);
  DIR* dir = ::fdopendir(dup);
  if (dir == nullptr) {
    ::close(dup);
    return ErrnoError("fdopendir " + prefix, errno);
  }
  std::vector<std::string> names;
  while (dirent* de = ::readdir(dir)) {
    std::string name = de->d_name;
    if (name != "." && name != "..") names.push_back(std::move(name));
  }
  ::closedir(dir);
  for (const std::string& name : names) {
    const std::string rel = prefix.empty() ? name : prefix + "/" + name;
    struct stat st {};
    if (::fstatat(dirfd, name.c_str(), &st, AT_SYMLINK_NOFOLLOW) != 0) {
      if (errno == ENOENT) continue;  // removed meanwhile
      return ErrnoError("fstatat " + rel, errno);
    }
    const std::uint32_t mode = st.st_mode & 07777;
    if (S_ISDIR(st.st_mode)) {
      UniqueFd sub(::openat(dirfd, name.c_str(), O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC));
      if (!sub.valid()) {
        if (errno == ENOENT || errno == ELOOP || errno == ENOTDIR) continue;
        return ErrnoError("open directory " + rel, errno);
      }
      TG_RETURN_IF_ERROR(tree.AddDirectory(rel, mode));
      TG_RETURN_IF_ERROR(ReadDirRecursive(sub.get(), rel, max_bytes, total, tree));
    } else if (S_ISLNK(st.st_mode)) {
      std::string target(4096, '\0');
      ssize_t n = ::readlinkat(dirfd, name.c_str(), target.data(), target.size());
      if (n < 0) continue;
      target.resize(static_cast<size_t>(n));
      TG_RETURN_IF_ERROR(tree.AddSymlink(rel, std::move(target)));
    } else if (S_ISREG(st.st_mode)) {
      // O_NONBLOCK: if the entry was swapped for a FIFO after fstatat, open must not block.
      UniqueFd f(::openat(dirfd, name.c_str(), O_RDONLY | O_NOFOLLOW | O_NONBLOCK | O_CLOEXEC));
      if (!f.valid()) continue;
      struct stat fst {};
      if (::fstat(f.get(), &fst) != 0 || !S_ISREG(fst.st_mode)) continue;
      std::string data;
      char buf[65536];
      for (;;) {
        ssize_t n = ::read(f.get(), buf, sizeof buf);
        if (n < 0 && errno == EINTR) continue;
        if (n <= 0) break;
        total += static_cast<std::uint64_t>(n);
        if (max_bytes != 0 && total > max_bytes)
          return ResourceExhaustedError("workspace holds more than {} bytes", max_bytes);
        data.append(buf, static_cast<size_t>(n));
      }
      TG_RETURN_IF_ERROR(tree.AddFile(rel, std::move(data), fst.st_mode & 07777));
    }
    // FIFOs, sockets and devices are not part of a workspace's state.
  }
  return OkStatus();
}

}  // namespace

Status ValidateRelativePath(const std::string& path) {
  if (path.empty()) return InvalidArgumentError("workspace path is empty");
  if (path.front() == '/')
    return InvalidArgumentError("workspace path '{}' must be relative", path);
  if (path.find('\0') != std::string::npos)
    return InvalidArgumentError("workspace path contains a NUL byte");
  std::stringstream ss(path);
  std::string part;
  while (std::getline(ss, part, '/')) {
    if (part.empty() || part == "." || part == "..")
      return InvalidArgumentError("workspace path '{}' has an empty, '.' or '..' component", path);
  }
  if (path.back() == '/') return InvalidArgumentError("workspace path '{}' ends with '/'", path);
  return OkStatus();
}

Status FileTree::Add(const std::string& path, FileEntry entry) {
  TG_RETURN_IF_ERROR(ValidateRelativePath(path));
  entries_[path] = std::move(entry);
  return OkStatus();
}

Status FileTree::AddFile(const std::string& path, std::string contents, std::uint32_t mode) {
  return Add(path, FileEntry{FileEntry::Type::kFile, mode & 07777, std::move(contents)});
}
Status FileTree::AddDirectory(const std::string& path, std::uint32_t mode) {
  return Add(path, FileEntry{FileEntry::Type::kDirectory, mode & 07777, ""});
}
Status FileTree::AddSymlink(const std::string& path, std::string target) {
  if (target.empty()) return InvalidArgumentError("symlink '{}' has an empty target", path);
  return Add(path, FileEntry{FileEntry::Type::kSymlink, 0777, std::move(target)});
}

std::uint64_t FileTree::total_bytes() const {
  std::uint64_t n = 0;
  for (const auto& [path, e] : entries_) n += e.data.size();
  return n;
}

StatusOr<FileTree> FileTree::FromDirectory(const std::string& dir) {
  UniqueFd fd(::open(dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC));
  if (!fd.valid()) return ErrnoError("open template directory " + dir, errno);
  FileTree tree;
  std::uint64_t total = 0;
  TG_RETURN_IF_ERROR(ReadDirRecursive(fd.get(), "", 0, total, tree));
  return tree;
}

StatusOr<FileTree> FileTree::ReadBeneath(int dirfd, std::uint64_t max_bytes) {
  FileTree tree;
  std::uint64_t total = 0;
  TG_RETURN_IF_ERROR(ReadDirRecursive(dirfd, "", max_bytes, total, tree));
  return tree;
}

Status FileTree::WriteBeneath(int dirfd, uid_t uid, gid_t gid) const {
  // Parents first: std::map orders "a" before "a/b"; implied parents are made on demand.
  auto ensure_dir = [&](const std::string& rel, std::uint32_t mode) -> Status {
    std::string so_far;
    std::stringstream ss(rel);
    std::string part;
    while (std::getline(ss, part, '/')) {
      so_far = so_far.empty() ? part : so_far + "/" + part;
      const bool last = so_far.size() == rel.size();
      if (::mkdirat(dirfd, so_far.c_str(), last ? mode : 0755) == 0) {
        if (::fchownat(dirfd, so_far.c_str(), uid, gid, AT_SYMLINK_NOFOLLOW) != 0)
          return ErrnoError("chown " + so_far, errno);
        if (last && ::fchmodat(dirfd, so_far.c_str(), mode, 0) != 0)
          return ErrnoError("chmod " + so_far, errno);
      } else if (errno != EEXIST) {
        return ErrnoError("mkdir " + so_far, errno);
      }
    }
    return OkStatus();
  };
  for (const auto& [path, e] : entries_) {
    auto [parent, name] = SplitParent(path);
    if (parent != ".") TG_RETURN_IF_ERROR(ensure_dir(parent, 0755));
    UniqueFd pfd(OpenAt2(dirfd, parent, O_RDONLY | O_DIRECTORY));
    if (!pfd.valid()) return ErrnoError("open " + parent + " beneath workspace", errno);
    switch (e.type) {
      case FileEntry::Type::kDirectory:
        TG_RETURN_IF_ERROR(ensure_dir(path, e.mode));
        break;
      case FileEntry::Type::kSymlink:
        if (::symlinkat(e.data.c_str(), pfd.get(), name.c_str()) != 0)
          return ErrnoError("symlink " + path, errno);
        if (::fchownat(pfd.get(), name.c_str(), uid, gid, AT_SYMLINK_NOFOLLOW) != 0)
          return ErrnoError("chown " + path, errno);
        break;
      case FileEntry::Type::kFile: {
        UniqueFd f(::openat(pfd.get(), name.c_str(),
                            O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0600));
        if (!f.valid()) return ErrnoError("create " + path, errno);
        TG_RETURN_IF_ERROR(WriteAll(f.get(), e.data).WithContext("writing " + path));
        if (::fchown(f.get(), uid, gid) != 0) return ErrnoError("chown " + path, errno);
        if (::fchmod(f.get(), e.mode) != 0) return ErrnoError("chmod " + path, errno);
        break;
      }
    }
  }
  return OkStatus();
}

}  // namespace toolgym::sandbox
